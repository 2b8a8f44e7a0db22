"""notifications' own topics (JSON values), shared by the app and its commands."""

from __future__ import annotations

from iomkit.topics import CONDUIT_MS, TopicSpec

# Officers' qualifications of hits (compacted: the latest per hit), read by every worker.
QUALIFICATIONS = TopicSpec("throughcare-notifications-qualifications", "hit_id", None,
                           compacted=True)
# Operators' commands, e.g. redeliver a recipient's FAILED notifications.
COMMANDS = TopicSpec("throughcare-notifications-commands", "recipient", None,
                     retention_ms=CONDUIT_MS)
