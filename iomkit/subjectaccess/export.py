"""Read every topic on the broker as the operator, keep a person's records, audit the
export, write the files. The operator is the only principal that may read every topic
(iom.audit included); a service's stores (RocksDB, the insights file) are built from the
topics and changelogs read here, so nothing they hold is missed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from iomkit import headers as h
from iomkit import kafka, snapshot
from iomkit.audit import audit_record
from iomkit.audittrail.cli import principal_of, write_audit
from iomkit.audittrail.load import SERVICE
from iomkit.codec import Codec
from iomkit.settings import Settings
from iomkit.subjectaccess import render, select
from iomkit.topics import ALL, TAG_ENROLMENTS

PURPOSE = "subject access request (DPA 2018 s.45)"


async def topic_names(settings: Settings) -> list[str]:
    """The contract's topics first (in the contract's order), then every other topic on the
    broker (the services' internal topics and changelogs, the identity's), none of
    Kafka's own."""
    client = await kafka.admin(settings)
    try:
        present = set(await client.list_topics())
    finally:
        await client.close()
    contract = [t.name for t in ALL if t.name in present]
    return contract + sorted(n for n in present - set(contract) if not n.startswith("__"))


async def _records(settings: Settings, topic: str) -> list[Any]:
    got: list[Any] = []

    async def keep(records: list[Any], positions: dict[int, int]) -> None:
        got.extend(records)

    await snapshot.read_to_end(settings, topic, keep)
    return got


async def collect(settings: Settings, codec: Codec, person: str, by: str
                  ) -> render.Export:
    export = render.Export(person, settings.now(), by)
    names = await topic_names(settings)
    enrolments = [codec.decode(r.value).value for r in await _records(
        settings, TAG_ENROLMENTS.name) if r.value is not None and _decodes(codec, r.value)]
    devices = select.fitted(person, enrolments)
    for topic in names:
        read = 0

        async def keep(records: list[Any], positions: dict[int, int], topic: str = topic
                       ) -> None:
            nonlocal read
            read += len(records)
            for r in records:
                value, how = select.decode(codec, topic, h.as_dict(r.headers), r.value)
                if value is not None and select.concerns(r.key, value, person, devices):
                    export.found.append(render.Found(
                        topic, r.partition, r.offset, r.timestamp or 0,
                        r.key.decode(errors="replace") if r.key is not None else None,
                        how, value))

        await snapshot.read_to_end(settings, topic, keep)
        export.topics_read[topic] = read
    return export


def _decodes(codec: Codec, raw: bytes) -> bool:
    try:
        codec.decode(raw, expect=TAG_ENROLMENTS.record)
    except Exception:  # a poison enrolment is not the person's interval
        return False
    return True


async def subject_access(settings: Settings, codec: Codec, person: str, out: Path, *,
                         by: str, recipient: str, reference: str = ""
                         ) -> tuple[render.Export, Path, Path]:
    """The person's records from every topic; the disclosure written to iom.audit (and
    acknowledged) before the files are."""
    export = await collect(settings, codec, person, by)
    await write_audit(settings, audit_record(
        service=SERVICE, actor=by, action="DISCLOSE", purpose=PURPOSE, person_id=person,
        recipient=recipient, at=settings.now(), details={
            "principal": principal_of(settings), "records": str(len(export.found)),
            "topics": str(len(export.counts())), **({"reference": reference[:200]}
                                                    if reference else {})}))
    data, page = await asyncio.to_thread(write, export, out)
    return export, data, page


def write(export: render.Export, out: Path) -> tuple[Path, Path]:
    """The JSON and the page, readable by their owner only (made so, never loosened)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = "subject-access-" + "".join(c if c.isalnum() or c in "-_" else "_"
                                       for c in export.person)
    data, page = out / f"{stem}.json", out / f"{stem}.html"
    for path, body in ((data, render.json_bytes(export)),
                       (page, render.html(export).encode())):
        path.unlink(missing_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(body)
    return data, page
