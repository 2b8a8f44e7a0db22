"""Upload a police crime file: parse it, version it against what ``iom.crimes.reported``
already holds, and publish the new and changed crimes.

Versions are decided by reading the whole topic first (``known_versions``), so two uploads
of files about the same crime must not run at the same time: both would give it the same
next version. Uploads are meant to be run one at a time (the daily file of each force).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka.structs import TopicPartition

from iomkit import headers as h
from iomkit import kafka
from iomkit.codec import Codec, DecodeError
from iomkit.crimefile import (
    ENGLAND_AND_WALES_FORCES,
    Refusal,
    assign_versions,
    fingerprint,
    parse,
)
from iomkit.settings import Settings
from iomkit.topics import CRIMES_REPORTED

RECORD = "CrimeReported"


@dataclass
class UploadReport:
    """What an upload did: how many rows were accepted, which crimes were published (with
    their version), which were unchanged (not published), and every refusal."""

    accepted: int = 0
    published: list[tuple[str, int]] = field(default_factory=list)  # (crime_ref, version)
    unchanged: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def refused_rows(self) -> int:
        return len({r.line for r in self.refused})

    def summary(self) -> str:
        return (f"accepted {self.accepted}, published {len(self.published)}, "
                f"unchanged {len(self.unchanged)}, refused {self.refused_rows}")


async def known_versions(
    settings: Settings, codec: Codec, topic: str = CRIMES_REPORTED.name
) -> dict[str, tuple[int, str]]:
    """crime_ref -> (highest version, fingerprint of that version's facts), read from the
    beginning of ``topic`` up to its end offsets at the start of the call, without a
    consumer group. Values that do not decode, or are not CrimeReported, are skipped."""
    consumer = kafka.consumer(settings, group_id=None)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer._client.force_metadata_update()  # no public refresh exists
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            raise RuntimeError(f"{topic}: topic not found on the broker")
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        for tp in tps:
            if tp in pending and await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)  # emptied by retention: nothing left to read
        known: dict[str, tuple[int, str]] = {}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500, max_records=5000)
            for tp, messages in batches.items():
                for message in messages:
                    if message.offset >= ends[tp]:
                        break
                    _remember(codec, known, message.value)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return known
    finally:
        await kafka.stop_consumer(consumer)


def _remember(codec: Codec, known: dict[str, tuple[int, str]], raw: bytes | None) -> None:
    if raw is None:
        return
    try:
        decoded = codec.decode(raw, expect=RECORD)
    except DecodeError:
        return
    if decoded.name != RECORD:
        return
    value = decoded.value
    previous = known.get(value["crime_ref"])
    if previous is None or value["version"] >= previous[0]:
        known[value["crime_ref"]] = (value["version"], fingerprint(value))


async def publish(settings: Settings, codec: Codec, values: list[dict], topic: str) -> None:
    """Publish CrimeReported values keyed by crime_ref with the ``iom-schema`` header;
    returns once the broker acknowledged every one, or raises. All values are encoded
    before anything is sent."""
    encoded = [(v["crime_ref"].encode(), codec.encode(RECORD, v)) for v in values]
    if not encoded:
        return
    producer = kafka.producer(settings, enable_idempotence=True)
    await producer.start()
    try:
        batches = await kafka.KeyedBatchProducer.for_topic(
            producer, topic, headers=h.record_headers(RECORD)
        )
        for key, value in encoded:
            await batches.send(key, value)
        delivered = await batches.flush()
        if delivered != len(encoded):
            raise RuntimeError(f"{topic}: {delivered} of {len(encoded)} records acknowledged")
    finally:
        await producer.stop()


async def upload(
    settings: Settings,
    codec: Codec,
    text: str | Iterable[str],
    now: datetime,
    forces: Iterable[str] = ENGLAND_AND_WALES_FORCES,
    force_accuracy_m: Mapping[str, float] | None = None,
    topic: str = CRIMES_REPORTED.name,
) -> UploadReport:
    """Parse a crime file (its text, or its lines) received at ``now``, publish its new
    and changed crimes (refused rows never are; accepted ones are even when other rows are
    refused) and report."""
    parsed = parse(text, now, forces, force_accuracy_m)
    report = UploadReport(accepted=len(parsed.accepted), refused=parsed.refused)
    if not parsed.accepted:
        return report
    known = await known_versions(settings, codec, topic)
    to_publish, report.unchanged = assign_versions(parsed.accepted, known)
    await publish(settings, codec, to_publish, topic)
    report.published = [(v["crime_ref"], v["version"]) for v in to_publish]
    return report
