"""The ``iom`` command line: publish and tail records, manage topics, replay dead letters,
make and revoke principals on the broker."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson
import typer
from aiokafka.structs import TopicPartition
from rich.progress import Progress

from iomkit import deadletters, kafka, kernel
from iomkit import headers as h
from iomkit.audittrail.cli import audit_app
from iomkit.codec import Codec, DecodeError, SchemaRegistry
from iomkit.jsonconv import RecordError, from_json, to_json
from iomkit.settings import Settings, load
from iomkit.topics import ALL, BY_NAME, DEAD_LETTERS, OPERATOR_TOPICS, TopicSpec, key_of, spec

app = typer.Typer(help="Throughcare: publish, read and manage IOM records on Kafka.",
                  no_args_is_help=True, add_completion=False)
topics_app = typer.Typer(help="Create or describe the contract's topics.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
# the audit trail that answers (iomkit/audittrail/cli.py): iom audit load|who-saw|what-did
app.add_typer(audit_app, name="audit")


def _fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    raise typer.Exit(code)


def _topic(name: str) -> TopicSpec:
    try:
        return spec(name)
    except KeyError as exc:
        _fail(str(exc.args[0]), 2)
        raise  # unreachable: _fail exits


def _codec(settings: Settings) -> Codec:
    return Codec(SchemaRegistry(settings.schemas_dir))


# -- publish --------------------------------------------------------------------------------


def validate_lines(
    codec: Codec, topic: TopicSpec, lines: list[bytes]
) -> tuple[list[tuple[bytes | None, bytes]], list[str]]:
    """Every line as (key, Avro value), or the problems with their line numbers."""
    assert topic.record is not None
    schema = codec.registry.current(topic.record).raw
    encoded: list[tuple[bytes | None, bytes]] = []
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(f"line {number}: {topic.record}: not valid JSON ({exc})")
            continue
        try:
            value = from_json(schema, obj)
        except RecordError as exc:
            problems += [f"line {number}: {topic.record}.{_field(e.field)}: {e.problem}"
                         for e in exc.errors]
            continue
        encoded.append((key_of(topic, value), codec.encode(topic.record, value)))
    return encoded, problems


def _field(path: str) -> str:
    return path.split(".", 1)[1] if "." in path else path


async def produce_records(
    settings: Settings, topic: str, records: list[tuple[bytes | None, bytes]],
    record_name: str,
) -> None:
    """Publish every record, keyed as given, with the ``iom-schema`` header; returns once
    the broker has acknowledged them all, or raises. Batches per partition
    (``kafka.KeyedBatchProducer``), so large files publish at batch speed."""
    producer = kafka.producer(settings, enable_idempotence=True)
    await producer.start()
    try:
        batches = await kafka.KeyedBatchProducer.for_topic(
            producer, topic, headers=h.record_headers(record_name)
        )
        with Progress(transient=True, disable=len(records) < 1000) as progress:
            task = progress.add_task(f"publishing to {topic}", total=len(records))
            send, step = batches.send, 1000
            for start in range(0, len(records), step):
                for key, value in records[start:start + step]:
                    await send(key, value)
                progress.advance(task, min(step, len(records) - start))
            delivered = await batches.flush()  # raises the first delivery error
        if delivered != len(records):
            raise RuntimeError(f"{topic}: {delivered} of {len(records)} records acknowledged")
    finally:
        await producer.stop()


@app.command()
def publish(topic: str, file: Path) -> None:
    """Validate every line of FILE (JSON lines) and publish them all, or none."""
    settings = load()
    spec_ = _topic(topic)
    if spec_.record is None:
        _fail(f"{topic} carries original bytes, not records: use replay-dead-letters", 2)
    try:
        lines = file.read_bytes().splitlines()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}", 2)
    records, problems = validate_lines(_codec(settings), spec_, lines)
    if problems:
        _fail(f"{file}: refused, nothing published ({len(problems)} problems):\n"
              + "\n".join(problems))
    asyncio.run(produce_records(settings, topic, records, spec_.record or ""))
    sys.stdout.write(f"published {len(records)} {spec_.record} records to {topic}\n")


# -- tail -----------------------------------------------------------------------------------


def render(codec: Codec, message: Any, meta: bool) -> bytes:
    headers = h.as_dict(message.headers)
    try:
        value: Any = codec.decode(message.value).value
    except DecodeError as exc:
        value = {"undecodable": str(exc), "hex": (message.value or b"").hex()}
    if not meta:
        return to_json(value)
    return to_json({
        "topic": message.topic, "partition": message.partition, "offset": message.offset,
        "key": message.key.decode(errors="replace") if message.key else None,
        "headers": headers, "value": value,
    })


async def _tail(settings: Settings, topic: str, limit: int, idle: float, follow: bool,
                meta: bool) -> int:
    codec = _codec(settings)
    consumer = kafka.consumer(settings, topic, group_id=None)
    try:
        await consumer.start()
    except BaseException:
        await kafka.stop_consumer(consumer)  # refused (e.g. not authorized): no leak
        raise
    seen = 0
    try:
        quiet_since = asyncio.get_running_loop().time()
        while limit <= 0 or seen < limit:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            now = asyncio.get_running_loop().time()
            if not batches:
                if not follow and now - quiet_since > idle:
                    break
                continue
            quiet_since = now
            for records in batches.values():
                for message in records:
                    sys.stdout.buffer.write(render(codec, message, meta) + b"\n")
                    seen += 1
                    if 0 < limit <= seen:
                        break
            sys.stdout.flush()
    finally:
        await kafka.stop_consumer(consumer)
    return seen


@app.command()
def tail(
    topic: str,
    limit: int = typer.Option(0, "--max", help="stop after this many records (0: no limit)"),
    idle: float = typer.Option(3.0, help="without --follow, stop after this many quiet seconds"),
    follow: bool = typer.Option(False, "--follow", "-f", help="keep waiting for new records"),
    meta: bool = typer.Option(False, "--meta", help="wrap each value with topic, offset, key"),
) -> None:
    """Print TOPIC's records from the beginning, decoded, as JSON lines."""
    settings = load()
    _topic(topic)
    asyncio.run(_tail(settings, topic, limit, idle, follow, meta))


# -- topics ---------------------------------------------------------------------------------


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the contract that does not exist yet (idempotent), and alter
    any topic whose retention or cleanup differs from deploy/retention.toml."""
    settings = load()
    for state in asyncio.run(kafka.create_topics(settings, OPERATOR_TOPICS, alter=True)):
        status = "created" if state.created else "altered" if state.altered else "exists"
        sys.stdout.write(f"{state.name:<24} {status:<8} partitions={state.partitions} "
                         f"{' '.join(f'{k}={v}' for k, v in sorted(state.config.items()))}\n")


@topics_app.command("describe")
def topics_describe() -> None:
    """Show partitions and retention of every contract topic on the broker."""
    settings = load()
    states = {s.name: s for s in asyncio.run(kafka.describe_topics(settings, BY_ORDER))}
    for name in BY_ORDER:
        state = states.get(name)
        if state is None:
            sys.stdout.write(f"{name:<24} missing\n")
            continue
        sys.stdout.write(f"{name:<24} partitions={state.partitions} "
                         f"{' '.join(f'{k}={v}' for k, v in sorted(state.config.items()))}\n")


BY_ORDER = [t.name for t in ALL]


# -- dead letters ---------------------------------------------------------------------------


async def _latest_offsets(settings: Settings, topic: str
                          ) -> dict[tuple[str, bytes], tuple[int, int]]:
    """Each key's latest (partition, offset) on a compacted topic (read whole: such topics
    hold one value a key, a few thousand people or zones)."""
    latest: dict[tuple[str, bytes], tuple[int, int]] = {}
    ends = await kafka.end_offsets(settings, topic)
    if not any(ends.values()):
        return latest
    reader = kafka.consumer(settings, group_id=None)
    await reader.start()
    try:
        reader.assign(list(ends))
        await reader.seek_to_beginning(*ends)
        while [tp for tp, end in ends.items() if await reader.position(tp) < end]:
            for records in (await reader.getmany(timeout_ms=1000, max_records=5000)).values():
                for record in records:
                    if record.key is not None:
                        latest[(topic, record.key)] = (record.partition, record.offset)
    finally:
        await kafka.stop_consumer(reader)
    return latest


async def _replay(settings: Settings, only_topic: str | None, dry_run: bool, group: str,
                  drop_refused: bool) -> dict[str, int]:
    codec = _codec(settings)
    consumer = kafka.consumer(settings, DEAD_LETTERS.name, group_id=group)
    producer = kernel.Outputs(kafka.producer(settings, enable_idempotence=True))
    await consumer.start()
    await producer.start()
    counts = dict.fromkeys(deadletters.ACTIONS, 0)
    latest: dict[tuple[str, bytes], tuple[int, int]] = {}
    loaded: set[str] = set()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1500, max_records=1000)
            if not batches:
                break
            commits: dict[TopicPartition, int] = {}
            for tp, records in batches.items():
                verdicts: list[tuple[int, str]] = []
                for message in records:
                    headers = h.as_dict(message.headers)
                    origin = BY_NAME.get(headers.get(h.DLQ_TOPIC, ""))
                    if origin is not None and origin.compacted and origin.name not in loaded:
                        latest |= await _latest_offsets(settings, origin.name)
                        loaded.add(origin.name)
                    verdict = deadletters.judge(
                        codec, headers, message.value, message.key, only_topic=only_topic,
                        latest=latest, drop_refused=drop_refused)
                    where = f"{DEAD_LETTERS.name}/{message.partition}/{message.offset}"
                    if verdict.action == deadletters.REPLAY and not dry_run:
                        assert verdict.origin is not None
                        kept = [(k, v) for k, v in (message.headers or ())
                                if not k.startswith("iom-dlq-")]
                        kept.append(("iom-replayed-from", where.encode()))
                        await producer.send(verdict.origin.name, message.value,
                                            key=message.key, headers=kept)
                    counts[verdict.action] += 1
                    out = sys.stdout if verdict.action == deadletters.REPLAY else sys.stderr
                    out.write(f"{where}: {verdict.action}: {verdict.reason}\n")
                    verdicts.append((message.offset, verdict.action))
                position = deadletters.committable(verdicts)
                if position is not None:
                    commits[tp] = position
                if any(action == deadletters.KEEP for _, action in verdicts):
                    # What follows a kept letter in its partition waits for the next run
                    # (read again then, never skipped): this run leaves the partition.
                    consumer.pause(tp)
            if dry_run:
                continue
            await producer.flush()  # raises if a replayed letter was not delivered
            if commits:
                await consumer.commit(commits)
    finally:
        await producer.stop()
        await consumer.stop()
    return counts


@app.command("replay-dead-letters")
def replay_dead_letters(
    topic: str = typer.Option(None, help="only records that came from this topic"),
    dry_run: bool = typer.Option(False, "--dry-run", help="list what it would do, do nothing"),
    group: str = typer.Option(None, help="consumer group: each dead letter is replayed once "
                                         "per group (default: one per --topic)"),
    drop_refused: bool = typer.Option(False, "--drop-refused",
                                      help="pass for good the letters that are still refused"),
) -> None:
    """Put dead letters that are now accepted back on the topic they came from.

    Committed only past what was replayed (and delivered), dropped or from another topic
    than --topic (each topic has its own group): a letter still refused is kept, with
    everything after it in its partition, for a later run (unless --drop-refused). A letter
    is refused when its origin is not a contract topic of records or it does not decode as
    that topic's record; on a compacted topic a letter older than its key's latest value is
    dropped, never put back over a newer one."""
    settings = load()
    group = group or "iom-replay-dead-letters" + (f"-{topic}" if topic else "")
    counts = asyncio.run(_replay(settings, topic, dry_run, group, drop_refused))
    verb = "would replay" if dry_run else "replayed"
    sys.stdout.write(f"{verb} {counts['replay']}; dropped {counts['drop']}; "
                     f"kept {counts['keep']} (still refused); "
                     f"{counts['other']} from other topics\n")


# -- crimes ---------------------------------------------------------------------------------


@app.command()
def simulate(
    seed: int = typer.Option(1, help="the same seed gives the same world"),
    people: int = typer.Option(50, help="tagged people"),
    hours: float = typer.Option(24.0, help="how long the world lasts"),
    crimes_per_day: int = typer.Option(40, help="crimes reported a day"),
    on_trail_share: float = typer.Option(0.25, help="the share of crimes on someone's trail"),
    force: str = typer.Option("Hampshire", help="the force of the people and the crimes"),
    start: str = typer.Option("", help="when the world starts (ISO-8601 with a zone); "
                              "default: HOURS before now, so it ends now"),
    speed: float = typer.Option(0.0, help="times real time (60: an hour a minute); 0: as "
                                "fast as the broker takes it"),
    truth: Path = typer.Option(  # noqa: B008 (typer's way)
        None, help="write the ground truth (crime -> people) here"),
) -> None:
    """Publish a simulated world: tagged people moving around Southampton with one fix a
    minute (errors, multipath, signal gaps whose fixes come late, tags removed and refitted)
    and a crime feed of which a known share lies on their trails."""
    from datetime import UTC, datetime, timedelta

    from iomkit import simulation, simulator

    settings = load()
    try:
        begins = (datetime.fromisoformat(start) if start
                  else datetime.now(UTC) - timedelta(hours=hours))
        world = simulator.simulate(seed, begins, people=people, hours=hours, force=force,
                                   crimes_per_day=crimes_per_day,
                                   on_trail_share=on_trail_share)
    except ValueError as exc:
        _fail(f"iom simulate: {exc}", 2)
    if truth is not None:
        truth.write_bytes(simulation.truth_json(world))
    sent = asyncio.run(simulation.play(settings, _codec(settings), world, speed,
                                       show=sys.stderr.isatty()))
    summary = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in world.summary().items())
    sys.stdout.write(f"simulated {world.start:%Y-%m-%d %H:%M} to {world.end:%Y-%m-%d %H:%M} "
                     f"UTC (seed {seed}): {summary}\n")
    for topic, n in sorted(sent.items()):
        sys.stdout.write(f"published {n:,} records to {topic}\n")


crimes_app = typer.Typer(help="Police crime files.", no_args_is_help=True)
app.add_typer(crimes_app, name="crimes")


def _accuracies(items: list[str]) -> dict[str, float]:
    accuracies: dict[str, float] = {}
    for item in items:
        force, _, metres = item.rpartition("=")
        try:
            value = float(metres)
        except ValueError:
            value = -1.0
        if not force.strip() or not value >= 0:
            _fail(f"--force-accuracy {item!r}: expected FORCE=METRES, e.g. Kent=50", 2)
        accuracies[force.strip()] = value
    return accuracies


@crimes_app.command("upload")
def crimes_upload(
    file: Path,
    extra_force: list[str] = typer.Option(  # noqa: B008 (typer's way)
        [], "--extra-force", help="accept this force too, beyond England and Wales's 43"
    ),
    force_accuracy: list[str] = typer.Option(  # noqa: B008 (typer's way)
        [], "--force-accuracy", help="FORCE=METRES: that force's location_accuracy_m"
    ),
) -> None:
    """Publish the accepted crimes of a police daily crime file (CSV, 13 columns, no header).

    Refused rows go to stderr, one line per problem, and are never published; new and
    changed crimes are (a change is a new version), unchanged ones are not. Exit code 0:
    nothing refused; 1: some rows refused (the others were published); 2: unreadable file.
    """

    from iomkit import crimeupload
    from iomkit.forces import ENGLAND_AND_WALES_FORCES

    settings = load()
    accuracies = _accuracies(force_accuracy)
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}", 2)
    except UnicodeDecodeError as exc:
        _fail(f"cannot read {file}: not UTF-8 text (byte {exc.start}: {exc.reason})", 2)
    now = settings.now()
    report = asyncio.run(crimeupload.upload(
        settings, _codec(settings), text, now,
        forces=[*ENGLAND_AND_WALES_FORCES, *extra_force], force_accuracy_m=accuracies,
    ))
    for refusal in report.refused:
        sys.stderr.write(f"{refusal}\n")
    sys.stdout.write(report.summary() + "\n")
    if report.refused:
        raise typer.Exit(1)


# -- credentials ----------------------------------------------------------------------------


credentials_app = typer.Typer(
    help="Principals on the broker: a SCRAM user with exactly its ACLs, and its client "
         "files (run as the operator: IOM_KAFKA_CLIENT_CONFIG names admin's).",
    no_args_is_help=True)
app.add_typer(credentials_app, name="credentials")

# `--produce A B C` as the issue spells it (Typer alone would want `--produce` per topic).
_LISTS = ("--produce", "--consume")


def _topic_lists(tokens: list[str]) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {flag: [] for flag in _LISTS}
    current: str | None = None
    for token in tokens:
        flag, eq, value = token.partition("=")
        if flag in _LISTS:
            current = flag
            if eq:
                lists[flag] += [v for v in value.split(",") if v]
        elif token.startswith("-") or current is None:
            _fail(f"unexpected {token!r}: expected --produce TOPIC... --consume TOPIC...", 2)
        else:
            lists[current] += [v for v in token.split(",") if v]
    return lists


def _credentials_folder(settings: Settings, name: str, out: Path | None) -> Path:
    return out or settings.store_dir.parent / "credentials" / name


def _issue(grant: Any, out: Path | None) -> None:
    from iomkit import principals

    settings = load()
    try:
        issued = asyncio.run(principals.create(
            settings, grant, _credentials_folder(settings, grant.principal, out)))
    except principals.PrincipalError as exc:
        _fail(f"{grant.principal}: {exc}")
    sys.stdout.write(
        f"principal User:{issued.principal}: {issued.acls} ACLs\n"
        f"  Kafka clients (console tools, iom, services): {issued.client_properties}\n"
        f"  librdkafka (kcat -F):                         {issued.librdkafka_properties}\n")


@credentials_app.command(
    "create", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def credentials_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="the agency's principal, e.g. police-kent"),
    out: Path | None = typer.Option(  # noqa: B008 (typer's way)
        None, help="folder for the client files (default var/credentials/NAME)"),
) -> None:
    """An agency's principal: --produce TOPIC... --consume TOPIC... (exactly those; what
    the contract lets an agency write, never iom.audit to read). Run again to rotate the
    password or change the topics."""
    from iomkit.access import AccessError, agency

    lists = _topic_lists(list(ctx.args))
    try:
        grant = agency(name, lists["--produce"], lists["--consume"])
    except AccessError as exc:
        _fail(f"{name}: {exc}", 2)
    _issue(grant, out)


@credentials_app.command("service")
def credentials_service(
    name: str = typer.Argument(..., help="referrals, risk, gps_stream, notifications"),
    out: Path | None = typer.Option(  # noqa: B008 (typer's way)
        None, help="folder for the client files (default var/credentials/NAME)"),
) -> None:
    """A service's principal, with the grant iomkit.access gives it (run again to rotate)."""
    from iomkit.access import AccessError, grant_of

    try:
        grant = grant_of(name)
    except AccessError as exc:
        _fail(str(exc), 2)
    _issue(grant, out)


@credentials_app.command("revoke")
def credentials_revoke(name: str) -> None:
    """Remove NAME's ACLs (refused from its next request, even on an open connection) and
    its SCRAM user (no new connection)."""
    from iomkit import principals

    settings = load()
    try:
        removed, existed = asyncio.run(principals.revoke(settings, name))
    except principals.PrincipalError as exc:
        _fail(f"{name}: {exc}")
    user = "user removed" if existed else "no such user"
    sys.stdout.write(f"revoked User:{name}: {removed} ACLs removed, {user}\n")


@credentials_app.command("table")
def credentials_table() -> None:
    """Who may write and read what (the README's table, from iomkit.access)."""
    from iomkit.access import markdown_table

    sys.stdout.write(markdown_table())


# -- subject access ---------------------------------------------------------------------------


@app.command("subject-access")
def subject_access(
    person: str,
    out: Path = typer.Option(  # noqa: B008 (typer's way)
        None, help="folder for the JSON and HTML (default var/subject-access/PERSON)"),
    by: str = typer.Option("", "--as", help="who makes the export (default: your login "
                           "name); written to iom.audit"),
    recipient: str = typer.Option("the data subject", help="to whom it is disclosed"),
    reference: str = typer.Option("", help="the request's reference, for the audit record"),
) -> None:
    """Everything held about PERSON, from every topic on the broker (contract topics, dead
    letters, the services' internal topics and changelogs), as JSON and a readable HTML
    summary; the export itself is written to iom.audit first. Run as the operator."""
    from iomkit.audittrail.cli import asker
    from iomkit.subjectaccess.export import subject_access as export

    settings = load()
    folder = out or settings.store_dir.parent / "subject-access" / person.replace("/", "_")
    made, data, page = asyncio.run(export(settings, _codec(settings), person, folder,
                                          by=asker(by), recipient=recipient,
                                          reference=reference))
    for topic, n in sorted(made.counts().items()):
        sys.stdout.write(f"{topic:<44} {n:>8} records\n")
    sys.stdout.write(f"{len(made.found)} records about {person} in {len(made.counts())} of "
                     f"{len(made.topics_read)} topics read\n  {data}\n  {page}\n")


def main() -> None:
    from aiokafka.errors import (
        GroupAuthorizationFailedError,
        KafkaConnectionError,
        TopicAuthorizationFailedError,
    )

    try:
        app()
    except (TopicAuthorizationFailedError, GroupAuthorizationFailedError) as exc:
        # The broker's answer, not a bug of ours: say it plainly, no traceback.
        what = exc.args[0] if exc.args else ""
        _exit_with(f"iom: refused by the broker: {type(exc).__name__}: {what} (this "
                   "principal's grant does not allow it; see `iom credentials table`)", 3)
    except KafkaConnectionError as exc:
        _exit_with(f"iom: cannot connect to Kafka: {exc} (is IOM_KAFKA_CLIENT_CONFIG this "
                   "principal's client.properties, and is its user still there?)", 3)


def _exit_with(message: str, code: int) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
