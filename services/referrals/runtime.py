"""The referrals service's Faust app, settings, internal topics and table: shared by the
agents (app.py) and the pages (web*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from iomkit.service import Service
from iomkit.topics import CONDUIT_MS, TopicSpec
from services.referrals import config

service = Service("referrals")
app = service.app
settings = service.settings
rs = config.load()

# from the pages
COMMANDS = TopicSpec("throughcare-referrals-commands", "person_id", None, retention_ms=CONDUIT_MS)
TICKS = TopicSpec("throughcare-referrals-ticks", "person_id", None,
                  retention_ms=CONDUIT_MS)  # dates passing
# iom.exclusion-zones re-keyed by person (app.zone_by_person), without the polygons.
ZONES = TopicSpec("throughcare-referrals-zones", "person_id", None, retention_ms=CONDUIT_MS)
# iom.tag.enrolments (keyed by device) handed on keyed by person (care/tagorders.py)
TAGS = TopicSpec("throughcare-referrals-tags", "person_id", None, retention_ms=CONDUIT_MS)
cases = service.table("cases", help="person_id -> the person's dossier")
# A view of one person is answered by the worker that holds their dossier (iomkit.routing).
PERSON = (cases, "person_id")


def dossiers() -> Iterator[dict[str, Any]]:
    """Every dossier this worker holds: its assigned partitions' (Faust iterates only
    those): a list gathers every worker's (web/common.gathered)."""
    for _, d in list(cases.items()):
        if d:
            yield d
