"""gps_stream: tag pings and crimes bucketed into H3 cells for near-real-time hits.

Walking skeleton: enrolments are kept per device (Faust table); pings take the hot path,
a batched aiokafka consumer that decodes, validates and indexes fixes by H3 cell and
commits only after the batch is handled. The hit rule comes with the gps_stream issue.
"""

from __future__ import annotations

from collections.abc import Sequence

from iomkit import kafka, topics
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
            await service.dead_letters(
                topic=item.topic, partition=item.partition, offset=item.offset, key=item.key,
                value=service.codec.encode("TagPing", item.value), reason=f"TagPing: {exc}",
                kind="invalid",
            )
    service.log.info("pings.indexed", batch=len(items), fixes=trails.count,
                     cells=len(trails.cells))


@app.task
async def ping_hot_path() -> None:
    settings = service.settings
    consumer = kafka.consumer(settings, topics.TAG_PINGS.name,
                              group_id=f"{app.conf.id}-pings", max_poll_records=5000)
    producer = kafka.producer(settings)
    await consumer.start()
    await producer.start()
    try:
        await BatchConsumer(
            service.name, topics.TAG_PINGS, consumer, producer, service.codec,
            service.dead_letters, pings_received,
        ).run()
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    service.main()
