"""Foundation suite: the Avro codec and the Kafka path for TagPing, against JSON (orjson).

Every row measures the project's own code, as the services and ``iom publish`` run it:

* codec encode / decode: ``Codec.encode`` / ``Codec.decode`` (for TagPing the compiled
  flat-record path of ``iomkit.fastcodec``, checked byte-identical to fastavro first on
  the first 20,000 pings), CPU only, ``Context.codec_n`` pings, best of
  ``Context.repeats``; results are discarded as they are made (as a streaming consumer
  does), the input objects are frozen out of the garbage collector's way.
* produce: N pings encoded with ``Codec.encode`` and published with
  ``iomkit.kafka.KeyedBatchProducer`` (keyed by device, the ``iom-schema`` header on every
  record, acks=all, linger 20 ms, 1 MiB batches), clocked until every batch is
  acknowledged. The placement is checked against the default partitioner's.
* consume + decode: a fresh consumer group reads the topic from the beginning with
  ``getmany(max_records=5000)`` and ``Codec.decode``s every record, until all N are read;
  clocked from the first batch to the last (the group join is reported separately).

The JSON baseline (orjson) goes through the same producer and consumer.

Every client connects over SASL_SSL (TLS, SCRAM) as in production. What TLS costs: the same
Avro pings are produced and consumed again through the broker's plaintext listener (opened
for the benchmark's own broker only), and shown as the baseline of two "TLS cost" rows.
"""

from __future__ import annotations

import gc
import io
import random
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib.metadata import version
from typing import Any

import fastavro
import orjson
from aiokafka.codec import has_lz4

from bench import Context
from bench.broker import PLAINTEXT_GROUPS, PLAINTEXT_TOPICS, allow_plaintext, fresh_topics
from bench.report import Row, SuiteResult, progress
from iomkit import headers as h
from iomkit import kafka, kernel
from iomkit.codec import HEADER_LEN, MAGIC, Codec, SchemaRegistry
from iomkit.kafka import KeyedBatchProducer, partition_of
from iomkit.settings import Settings
from iomkit.topics import TopicSpec, key_of

NAME = "foundation"
RECORD = "TagPing"
PARTITIONS = 6
TAG_PINGS = TopicSpec("bench.tag.pings", "device_id", RECORD, partitions=PARTITIONS)
JSON_PINGS = TopicSpec("bench.json.pings", "device_id", RECORD, partitions=PARTITIONS)
TOPICS = (TAG_PINGS, JSON_PINGS)
PLAIN_PINGS = TopicSpec(f"{PLAINTEXT_TOPICS}pings", "device_id", RECORD, partitions=PARTITIONS)


def _scratch(name: str) -> TopicSpec:
    return TopicSpec(name, "device_id", RECORD, partitions=PARTITIONS)


TARGET_CODEC = 300_000
TARGET_PRODUCE = 100_000
TARGET_CONSUME = 200_000

DEVICES = 2_000
START = datetime(2026, 11, 1, tzinfo=UTC)
STEP_MS = 15  # 2,000 tags each taking a fix every 30 s: one ping every 15 ms overall
MAX_RECORDS = 5_000
CALIBRATION_N = 100_000
LZ4_MARGIN = 1.05
STALL_S = 60.0  # a consumer that receives nothing for this long has failed

Encode = Callable[[dict[str, Any]], bytes]
Decode = Callable[[bytes], object]


def make_pings(n: int, devices: int = DEVICES, seed: int = 20261101) -> list[dict[str, Any]]:
    """n pings from ``devices`` tags in turn (TAG-0001, TAG-0002, ...): each tag stays near
    its own home in England (lat 50..55, lon -3..0), accuracy 5..60 m, time increasing."""
    rng = random.Random(seed)
    ids = [f"TAG-{d:04d}" for d in range(1, devices + 1)]
    homes = [(rng.uniform(50.2, 54.8), rng.uniform(-2.8, -0.2)) for _ in range(devices)]
    gauss, uniform = rng.gauss, rng.uniform
    pings = []
    for i in range(n):
        d = i % devices
        lat, lon = homes[d]
        pings.append({
            "device_id": ids[d],
            "recorded_at": START + timedelta(milliseconds=i * STEP_MS),
            "lat": round(min(55.0, max(50.0, lat + gauss(0, 0.01))), 6),
            "lon": round(min(0.0, max(-3.0, lon + gauss(0, 0.015))), 6),
            "accuracy_m": round(uniform(5, 60), 1),
        })
    return pings


def best_rate(fn: Callable[[Any], object], items: Sequence[Any], repeats: int) -> float:
    """Records/s of ``fn`` over ``items``, best of ``repeats``; results are dropped."""
    best = 0.0
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        deque(map(fn, items), maxlen=0)
        best = max(best, len(items) / (time.perf_counter() - start))
    return best


@dataclass(frozen=True)
class Produced:
    rate: float
    seconds: float
    failed: int


async def produce(
    settings: Settings, topic: TopicSpec, pings: Sequence[dict[str, Any]], encode: Encode,
    compression: str | None,
) -> Produced:
    """Encode and publish every ping with ``KeyedBatchProducer``, keyed by device, with the
    ``iom-schema`` header; clocked until every batch is acknowledged (``flush`` raises on a
    failed batch)."""
    producer = kafka.producer(
        settings, acks="all", linger_ms=20, max_batch_size=1024 * 1024,
        compression_type=compression, client_id="bench",
    )
    await producer.start()
    try:
        batches = await KeyedBatchProducer.for_topic(
            producer, topic.name, headers=h.record_headers(RECORD)
        )
        start = time.perf_counter()
        send = batches.send
        for ping in pings:
            await send(key_of(topic, ping), encode(ping))
        delivered = await batches.flush()
        seconds = time.perf_counter() - start
    finally:
        await producer.stop()
    return Produced(len(pings) / seconds, seconds, len(pings) - delivered)


@dataclass(frozen=True)
class Consumed:
    rate: float
    seconds: float
    join_s: float
    count: int


async def consume(settings: Settings, topic: TopicSpec, n: int, decode: Decode,
                  group_prefix: str = "bench-") -> Consumed:
    consumer = kafka.consumer(
        settings, topic.name, group_id=f"{group_prefix}{uuid.uuid4().hex[:12]}",
        client_id="bench",
    )
    await consumer.start()
    try:
        getmany = consumer.getmany
        count = 0
        asked = time.perf_counter()
        first = last = 0.0
        while count < n:
            batches = await getmany(timeout_ms=1000, max_records=MAX_RECORDS)
            if not batches:
                if time.perf_counter() - (last or asked) > STALL_S:
                    raise RuntimeError(f"{topic.name}: nothing for {STALL_S:.0f} s at {count}/{n}")
                continue
            if not first:
                first = time.perf_counter()
            for records in batches.values():
                for record in records:
                    decode(record.value)
                count += len(records)
            last = time.perf_counter()
    finally:
        await consumer.stop()
    # The first batch's records are counted but its fetch is not clocked: at 200 batches
    # and more, the error is below 0.5 %.
    seconds = last - first
    return Consumed(count / seconds if seconds > 0 else float("inf"), seconds, first - asked, count)


async def choose_compression(settings: Settings, pings: Sequence[dict[str, Any]],
                             encode: Encode) -> tuple[str | None, dict[str, float]]:
    """none, or lz4 when aiokafka can (cramjam installed) and produces >= 5 % faster."""
    candidates: list[str | None] = [None, "lz4"] if has_lz4() else [None]
    if len(candidates) == 1:
        return None, {}
    rates: dict[str, float] = {}
    for compression in candidates:
        spec = _scratch(f"bench.calibrate.{compression or 'none'}")
        await fresh_topics(settings, [spec])
        result = await produce(settings, spec, pings, encode, compression)
        rates[compression or "none"] = result.rate
        progress(f"calibration: compression {compression or 'none'}: {result.rate:,.0f}/s")
    # lz4 costs CPU on both sides: it must win clearly, not within the noise.
    chosen = "lz4" if rates["lz4"] > LZ4_MARGIN * rates["none"] else None
    return chosen, {k: round(v) for k, v in rates.items()}


async def run(ctx: Context) -> SuiteResult:
    result = SuiteResult(NAME)
    settings, n, r = ctx.settings, ctx.n, ctx.repeats
    codec = Codec(SchemaRegistry(settings.schemas_dir))
    encode: Encode = partial(codec.encode, RECORD)

    progress(f"generating {n:,} pings from {DEVICES:,} tags")
    pings = make_pings(n)
    sample = pings[: ctx.codec_n]
    check_identical_to_fastavro(codec, sample[:20_000])
    avro_values = [codec.encode(RECORD, p) for p in sample]
    json_values = [orjson.dumps(p) for p in sample]
    gc.collect()
    gc.freeze()  # the inputs live all run long: keep them out of every collection
    try:
        progress(f"codec: {len(sample):,} pings, best of {r}")
        json_enc = best_rate(orjson.dumps, sample, r)
        json_dec = best_rate(orjson.loads, json_values, r)
        plain_dec = best_rate(codec.decode, avro_values, r)
        # The kernel's decode (iomkit.kernel) is what every consumer runs: the codec's plus
        # the record-type and NaN checks; its baseline here is the plain Codec.decode.
        kernel_dec = best_rate(partial(kernel.decode, codec, TAG_PINGS), avro_values, r)
        codec_rows = [
            Row("codec encode (Codec.encode)", best_rate(encode, sample, r), json_enc,
                TARGET_CODEC),
            Row("codec decode (Codec.decode)", plain_dec, json_dec, TARGET_CODEC),
            Row("kernel decode (poison checks; baseline: Codec.decode)", kernel_dec,
                plain_dec, TARGET_CODEC),
        ]

        await fresh_topics(settings, TOPICS)
        compression, calibration = await choose_compression(
            settings, pings[: min(n, CALIBRATION_N)], encode
        )
        label = compression or "none"

        async def timed_produce(topic: TopicSpec, fn: Encode) -> Produced:
            progress(f"produce: {n:,} to {topic.name} (compression {label})")
            produced = await produce(settings, topic, pings, fn, compression)
            progress(f"produce: {produced.rate:,.0f}/s in {produced.seconds:.1f} s")
            return produced

        async def timed_consume(topic: TopicSpec, fn: Decode) -> Consumed:
            progress(f"consume + decode: {topic.name}, fresh group")
            consumed = await consume(settings, topic, n, fn)
            progress(f"consume + decode: {consumed.rate:,.0f}/s in {consumed.seconds:.1f} s")
            return consumed

        plain = ctx.broker.plaintext if ctx.broker else None
        if plain is not None:
            await allow_plaintext(settings)
            await fresh_topics(settings, [PLAIN_PINGS])

        # Each plaintext run right after its SASL_SSL twin: on a shared machine the load
        # drifts, and the pair should meet the same load.
        avro_p = await timed_produce(TAG_PINGS, encode)
        if plain is not None:
            progress(f"produce: {n:,} to {PLAIN_PINGS.name} over plaintext (no TLS, no SASL)")
            plain_p = await produce(plain, PLAIN_PINGS, pings, encode, compression)
            progress(f"produce: {plain_p.rate:,.0f}/s in {plain_p.seconds:.1f} s")
        json_p = await timed_produce(JSON_PINGS, orjson.dumps)
        avro_c = await timed_consume(TAG_PINGS, codec.decode)
        if plain is not None:
            progress(f"consume + decode: {PLAIN_PINGS.name} over plaintext, fresh group")
            plain_c = await consume(plain, PLAIN_PINGS, n, codec.decode, PLAINTEXT_GROUPS)
            progress(f"consume + decode: {plain_c.rate:,.0f}/s in {plain_c.seconds:.1f} s")
        json_c = await timed_consume(JSON_PINGS, orjson.loads)
    finally:
        gc.unfreeze()

    produce_label = f"produce (KeyedBatchProducer), acks=all, {label}"
    result.rows += [
        *codec_rows,
        Row(produce_label, avro_p.rate, json_p.rate, TARGET_PRODUCE),
        Row("consume + decode (getmany 5000)", avro_c.rate, json_c.rate, TARGET_CONSUME),
    ]

    if plain is not None:
        result.rows += [
            Row("TLS cost: produce Avro over SASL_SSL (baseline: plaintext, same run)",
                avro_p.rate, plain_p.rate),
            Row("TLS cost: consume + decode over SASL_SSL (baseline: plaintext)",
                avro_c.rate, plain_c.rate),
        ]
        result.facts["plaintext_seconds"] = {"produce": round(plain_p.seconds, 2),
                                             "consume": round(plain_c.seconds, 2)}
        failed_plain = plain_p.failed
    else:
        result.notes.append("no plaintext listener on a --bootstrap broker: TLS cost not "
                            "measured")
        failed_plain = 0
    failed = avro_p.failed + json_p.failed + failed_plain
    if failed:
        raise RuntimeError(f"{failed} records not acknowledged")
    # where send(key=...) would have put them: the default partitioner's choice
    expected = [0] * PARTITIONS
    for ping in pings:
        expected[partition_of(ping["device_id"].encode(), PARTITIONS)] += 1
    placement = {}
    for topic in TOPICS:
        ends = await kafka.end_offsets(settings, topic.name)
        placement[topic.name] = [ends[tp] for tp in sorted(ends, key=lambda tp: tp.partition)]
        if placement[topic.name] != expected:
            raise RuntimeError(f"{topic.name}: {placement[topic.name]} per partition, "
                               f"not {expected} as send(key=...) places them")

    result.facts.update({
        "n": n,
        "codec_sample": len(sample),
        "partitions": PARTITIONS,
        "records_per_partition": placement[TAG_PINGS.name],
        "compression": label,
        "compression_tried": calibration or {"none": "only candidate (lz4 needs cramjam)"},
        "avro_mean_bytes": round(sum(map(len, avro_values)) / len(avro_values), 1),
        "json_mean_bytes": round(sum(map(len, json_values)) / len(json_values), 1),
        "produce_seconds": {"avro": round(avro_p.seconds, 2), "json": round(json_p.seconds, 2)},
        "consume_seconds": {"avro": round(avro_c.seconds, 2), "json": round(json_c.seconds, 2)},
        "group_join_seconds": round(avro_c.join_s, 2),
        "versions": {
            "python": sys.version.split()[0],
            **{p: version(p) for p in ("fastavro", "aiokafka", "orjson")},
        },
    })
    return result


def check_identical_to_fastavro(codec: Codec, pings: Sequence[dict[str, Any]]) -> None:
    """Raise unless ``Codec`` encodes exactly as fastavro and decodes its own output as
    fastavro does (the unit tests check much more; this guards the measured data)."""
    version = codec.registry.current(RECORD)
    header = MAGIC + version.fingerprint
    for ping in pings:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, version.parsed, ping, strict=True)
        reference = header + buf.getvalue()
        if codec.encode(RECORD, ping) != reference:
            raise AssertionError(f"Codec.encode differs from fastavro for {ping!r}")
        value = fastavro.schemaless_reader(io.BytesIO(reference[HEADER_LEN:]), version.parsed,
                                           None)
        if repr(codec.decode(reference).value) != repr(value):
            raise AssertionError(f"Codec.decode differs from fastavro for {reference!r}")
