"""gps_stream: tag pings and crimes bucketed into H3 cells for near-real-time hits.

Walking skeleton: enrolments are kept per device (Faust table); pings take the hot path,
a batched aiokafka consumer that decodes, validates and indexes fixes by H3 cell and
commits only after the batch is handled. The hit rule comes with the gps_stream issue.
"""

from __future__ import annotations

from collections.abc import Sequence

from iomkit import topics
from iomkit.batch import BatchConsumer, Item
from iomkit.records import TagEnrolment
from iomkit.service import Context, Service
from services.gps_stream.trail import InvalidFix, TrailIndex, fix_of

service = Service("gps_stream")
app = service.app
enrolments = service.table("enrolments")
trails = TrailIndex()


@service.agent(topics.TAG_ENROLMENTS)
async def enrolment_changed(enrolment: TagEnrolment, context: Context) -> None:
    enrolments[enrolment.device_id.encode()] = {
        "enrolment_id": enrolment.enrolment_id, "status": enrolment.status,
        "effective_at": enrolment.effective_at.isoformat(),
    }
    service.log.info("enrolment.changed", status=enrolment.status)


async def pings_received(items: Sequence[Item]) -> None:
    for item in items:
        try:
            trails.add(fix_of(item.value))
        except InvalidFix as exc:
            await pings.dead_letter(item.topic, item.partition, item.offset, item.key, item.raw,
                                    f"TagPing: {exc}", "invalid", item.headers)
    service.log.info("pings.indexed", batch=len(items), fixes=trails.count,
                     cells=len(trails.cells))


pings = BatchConsumer(
    service.name, [topics.TAG_PINGS], service.settings, f"{app.conf.id}-pings", service.codec,
    service.clock, handler=pings_received,
)
service.require_ready("pings", pings.ready)
service.track_lag(f"{app.conf.id}-pings", [topics.TAG_PINGS.name])


@app.task
async def ping_hot_path() -> None:
    await pings.run()


if __name__ == "__main__":
    service.main()
