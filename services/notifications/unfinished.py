"""Which notifications are unfinished, and which worker finishes each. Pure.

``iom.notifications`` is the outbox's durable log: every state a notification reaches is
published there. Every worker follows it and keeps the latest state of each notification
not yet DELIVERED, with the input partition it was made from (its ``iom-cause`` header,
``topic/partition/offset``). A worker queues again only the unfinished notifications made
from the partitions it owns, so two workers never both deliver one, and a partition given
to a worker (its owner gone) brings its unfinished notifications with it.
"""

from __future__ import annotations

from collections.abc import Collection, Set
from datetime import datetime
from typing import Any, Final

from iomkit import evidential
from services.notifications.recent import Recent

Notification = dict[str, Any]
Partition = tuple[str, int]  # an input (topic, partition) of the routing agent

#: Made by this worker and not read back yet: always its own to deliver.
OURS: Final[Partition] = ("", -1)
#: States in which a notification is still to be delivered (FAILED waits for a redeliver).
TO_DELIVER: Final[tuple[str, ...]] = ("PENDING", "RETRYING")


def partition_of(cause: str) -> Partition | None:
    """The input partition of an ``iom-cause`` header (``topic/partition/offset``), or None
    when the header is absent or not of that shape."""
    parts = cause.rsplit("/", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1])
    return None


class Unfinished:
    """The latest state of every notification not DELIVERED, and the input partition each
    was made from. Bounded by age: FAILED ones (and any for a recipient gone) would
    otherwise be kept for as long as the topic, forever (``forget_before``)."""

    def __init__(self) -> None:
        self.latest: dict[str, Notification] = {}
        self.made_from: dict[str, Partition] = {}
        self.finished = Recent()  # ids read back DELIVERED or FAILED lately, by any worker

    def keep(self, notification: Notification, cause: str) -> None:
        """A state read from the topic, with the record's ``iom-cause`` header ("" if none)."""
        nid = notification["notification_id"]
        if notification["state"] in ("DELIVERED", "FAILED"):
            self.finished.add(nid)
        if notification["state"] == "DELIVERED":  # finished: nothing more to do with it
            self.latest.pop(nid, None)
            self.made_from.pop(nid, None)
            return
        self.latest[nid] = notification
        partition = partition_of(cause)
        if nid not in self.made_from and partition is not None:
            self.made_from[nid] = partition

    def forget_before(self, cutoff: datetime) -> int:
        """Forget those made before ``cutoff``, whatever their state: by then a FAILED one
        is past redelivering and a PENDING one is for a recipient no longer subscribed (a
        subscribed one's retries end in DELIVERED or FAILED within minutes)."""
        old = [nid for nid, n in self.latest.items() if n["created_at"] < cutoff]
        for nid in old:
            del self.latest[nid]
            self.made_from.pop(nid, None)
        return len(old)

    def owned(self, notification: Notification, partitions: Set[Partition]) -> bool:
        """Whether this worker delivers it: made from one of ``partitions`` (the worker's),
        or made here and not read back yet."""
        return self.made_from.get(notification["notification_id"], OURS) in partitions | {OURS}

    def to_resume(self, partitions: Set[Partition], recipients: Collection[str],
                  evidence_from: datetime) -> list[Notification]:
        """Those still to deliver that were made from ``partitions`` (newly owned), for a
        recipient still subscribed, oldest first: the order they were created in. Without
        the evidence fixes recorded before ``evidence_from`` (see :func:`current`)."""
        return current(sorted((n for nid, n in list(self.latest.items())
                               if n["state"] in TO_DELIVER and n["recipient"] in recipients
                               and self.made_from.get(nid) in partitions),
                              key=lambda n: n["created_at"]), evidence_from)

    def failed(self, recipient: str, evidence_from: datetime) -> list[Notification]:
        """A recipient's FAILED notifications, oldest first (for a redelivery), without the
        evidence fixes recorded before ``evidence_from`` (see :func:`current`)."""
        return current(sorted((n for n in list(self.latest.values())
                               if n["recipient"] == recipient and n["state"] == "FAILED"),
                              key=lambda n: n["created_at"]), evidence_from)


def current(notifications: list[Notification], evidence_from: datetime) -> list[Notification]:
    """Notifications to send again, their payloads without the evidence fixes past the
    evidential period (iomkit.evidential): one whose every fix is past it is not sent again
    (its FAILED or PENDING state stays on the topic, the disclosure it was never made)."""
    kept = []
    for notification in notifications:
        text = evidential.payload(notification["payload"], evidence_from)
        if text is not None:
            kept.append(notification if text == notification["payload"]
                        else {**notification, "payload": text})
    return kept
