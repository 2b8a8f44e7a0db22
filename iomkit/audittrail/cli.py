"""``iom audit``: bring the audit store up to date and ask it who saw a person, what a user
did. Run as the operator (IOM_KAFKA_CLIENT_CONFIG names admin's client.properties): the
only principal that may read ``iom.audit`` (contract, "Access"). Each question is itself
written to ``iom.audit`` (a consultation of the trail, actor ``--as``) before it is
answered."""

from __future__ import annotations

import asyncio
import getpass
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import typer

from iomkit.audit import audit_record
from iomkit.audittrail import kinds, queries
from iomkit.audittrail.load import SERVICE, load
from iomkit.audittrail.store import Store
from iomkit.codec import Codec, SchemaRegistry
from iomkit.settings import Settings
from iomkit.settings import load as load_settings
from iomkit.topics import AUDIT, key_of

audit_app = typer.Typer(help="The audit trail (iom.audit) as a store that answers: who saw "
                        "a person, what a user did (run as the operator).",
                        no_args_is_help=True)

STORE = typer.Option(None, "--store", help="the audit store file (default IOM_AUDIT_STORE)")
NO_LOAD = typer.Option(False, "--no-load", help="answer from the store as it is, without "
                       "reading iom.audit first")
AS = typer.Option("", "--as", help="who is asking (default: your login name); written to "
                  "iom.audit with the question")
JSON = typer.Option(False, "--json", help="JSON instead of a table")
KIND = typer.Option([], "--kind", help="s.62 kind(s): COLLECTION, ALTERATION, CONSULTATION, "
                    "DISCLOSURE, COMBINATION, ERASURE, or all")
UNTIL = typer.Option(None, help="up to this day, included (YYYY-MM-DD, UTC)")


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    raise typer.Exit(code)


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{name}: expected a date YYYY-MM-DD, got {text!r}")
        raise  # unreachable


def _kinds(named: list[str], default: tuple[str, ...] | None) -> tuple[str, ...] | None:
    try:
        return kinds.parse_kinds(named) if named else default
    except ValueError as exc:
        _fail(f"--kind: {exc}")
        raise  # unreachable


def codec_of(settings: Settings) -> Codec:
    return Codec(SchemaRegistry(settings.schemas_dir))


def _store(settings: Settings, path: Path | None, no_load: bool) -> Store:
    store = Store(path or settings.audit_store_file())
    opened(store)
    if not no_load:
        loaded = asyncio.run(load(settings, store, codec_of(settings)))
        sys.stderr.write(f"audit store {store.path}: {loaded.read} records read from "
                         f"{AUDIT.name}, {loaded.new} new, {loaded.dead_lettered} "
                         f"dead-lettered; {store.count()} held\n")
    return store


def opened(store: Store, tries: int = 20) -> None:
    """The DPO's page opens the file read only for a moment per question; DuckDB lets no
    writer in meanwhile: try again for a few seconds before saying so."""
    for attempt in range(tries):
        try:
            store.db  # noqa: B018 (opens it)
            return
        except duckdb.IOException as exc:
            if attempt == tries - 1:
                _fail(f"audit store {store.path} is held by another process: {exc}", 1)
            time.sleep(0.25)


async def write_audit(settings: Settings, record: dict[str, Any]) -> None:
    """One AuditRecord on iom.audit, acknowledged (the caller answers after)."""
    from iomkit.cli import produce_records

    codec = codec_of(settings)
    await produce_records(settings, AUDIT.name,
                          [(key_of(AUDIT, record), codec.encode("AuditRecord", record))],
                          "AuditRecord")


def asker(name: str) -> str:
    return name or getpass.getuser()


def _consulted(settings: Settings, actor: str, purpose: str, person: str | None,
               details: dict[str, str]) -> None:
    asyncio.run(write_audit(settings, audit_record(
        service=SERVICE, actor=actor, action="CONSULT", purpose=purpose, person_id=person,
        at=settings.now(), details={"principal": principal_of(settings), **details})))


def principal_of(settings: Settings) -> str:
    """The Kafka principal the command ran as (the operator's, normally)."""
    return settings.kafka_client().username or ""


@audit_app.command("load")
def load_command(store: Path = STORE) -> None:
    """Read iom.audit into the store, from where the last load ended."""
    settings = load_settings()
    _store(settings, store, False).close()


@audit_app.command("who-saw")
def who_saw(
    person: str,
    since: str = typer.Option(..., help="from this day (YYYY-MM-DD, UTC)"),
    until: str = UNTIL, kind: list[str] = KIND,
    refused: bool = typer.Option(False, "--refused", help="also the refused attempts"),
    as_json: bool = JSON, store: Path = STORE, no_load: bool = NO_LOAD,
    actor: str = AS,
) -> None:
    """Who consulted PERSON's data or had it disclosed to them since a day (other kinds
    with --kind; lists that named PERSON included)."""
    settings = load_settings()
    first, last = _day(since, "--since"), _day(until, "--until")
    wanted = _kinds(kind, kinds.SEEING)
    with _store(settings, store, no_load) as s:
        entries = queries.who_saw(s, person, first, last, wanted, refused)
    _consulted(settings, asker(actor), "audit trail: who saw a person", person,
               {"since": since, "until": until or "", "kinds": ",".join(wanted or ())})
    question = {"person": person, "since": since, "until": until,
                "kinds": list(wanted or ())}
    _answer(question, entries, as_json)


@audit_app.command("what-did")
def what_did(
    user: str,
    since: str = typer.Option(None, help="from this day (YYYY-MM-DD, UTC)"),
    until: str = UNTIL, kind: list[str] = KIND,
    as_json: bool = JSON, store: Path = STORE, no_load: bool = NO_LOAD,
    actor: str = AS,
) -> None:
    """Everything USER did (every kind, refusals included), oldest first."""
    settings = load_settings()
    first, last = _day(since, "--since"), _day(until, "--until")
    wanted = _kinds(kind, None)
    with _store(settings, store, no_load) as s:
        entries = queries.what_did(s, user, first, last, wanted)
    _consulted(settings, asker(actor), "audit trail: what a user did", None,
               {"user": user[:200], "since": since or "", "until": until or ""})
    question = {"user": user, "since": since, "until": until,
                "kinds": list(wanted) if wanted else "all"}
    _answer(question, entries, as_json)


def _answer(question: dict[str, Any], entries: list[queries.Entry], as_json: bool) -> None:
    if as_json:
        sys.stdout.buffer.write(queries.as_json(question, entries) + b"\n")
        return
    counts = ", ".join(f"{k.lower()} {n}" for k, n in queries.by_kind(entries).items() if n)
    sys.stdout.write(queries.table(entries))
    sys.stdout.write(f"{len(entries)} records{': ' + counts if counts else ''}\n")
