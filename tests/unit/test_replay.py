"""Dead-letter replay, the pure part: what is put back, kept or dropped, and what may be
committed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from iomkit import headers as h
from iomkit.codec import Codec, SchemaRegistry
from iomkit.deadletters import (
    DROP,
    KEEP,
    OTHER,
    REPLAY,
    committable,
    dead_letter_headers,
    judge,
)
from iomkit.jsonconv import from_json

ROOT = Path(__file__).resolve().parents[2]
CODEC = Codec(SchemaRegistry(ROOT / "schemas"))
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def encoded(name: str) -> bytes:
    raw = json.loads((ROOT / "schemas/examples" / f"{name}.json").read_text())
    return CODEC.encode(name, from_json(CODEC.registry.current(name).raw, raw))


def letter(topic: str, offset: int = 7, partition: int = 0) -> dict[str, str]:
    return h.as_dict(dead_letter_headers(topic, partition, offset, "risk", "a bug, since fixed",
                                         AT))


def test_a_letter_that_now_decodes_goes_back_to_its_topic() -> None:
    verdict = judge(CODEC, letter("iom.people"), encoded("Person"), b"P-1", only_topic=None,
                    latest={})
    assert verdict.action == REPLAY and verdict.origin is not None
    assert verdict.origin.name == "iom.people"


def test_a_letter_still_refused_is_kept_unless_told_to_drop() -> None:
    args = dict(only_topic=None, latest={})
    assert judge(CODEC, letter("iom.people"), b"\x00junk", b"P-1", **args).action == KEEP
    dropped = judge(CODEC, letter("iom.people"), b"\x00junk", b"P-1", drop_refused=True, **args)
    assert dropped.action == DROP and "still refused" in dropped.reason


def test_a_letter_of_another_record_than_its_topic_is_refused() -> None:
    verdict = judge(CODEC, letter("iom.people"), encoded("TagPing"), b"P-1", only_topic=None,
                    latest={})
    assert verdict.action == KEEP and "expected a Person record, got TagPing" in verdict.reason


def test_the_origin_header_is_not_trusted() -> None:
    for forged in ("iom.dead-letters", "nope", "throughcare-risk-views", ""):
        verdict = judge(CODEC, letter(forged), encoded("Person"), b"P-1", only_topic=None,
                        latest={})
        assert verdict.action == KEEP and "not a contract topic of records" in verdict.reason


def test_on_a_compacted_topic_an_older_letter_never_goes_back_over_a_newer_value() -> None:
    latest = {("iom.people", b"P-1"): (0, 9)}
    older = judge(CODEC, letter("iom.people", 7), encoded("Person"), b"P-1", only_topic=None,
                  latest=latest)
    newest = judge(CODEC, letter("iom.people", 9), encoded("Person"), b"P-1", only_topic=None,
                   latest=latest)
    assert older.action == DROP and "offset 9" in older.reason
    assert newest.action == REPLAY  # the letter is itself the latest value of its key
    elsewhere = judge(CODEC, letter("iom.people", 9, partition=3), encoded("Person"), b"P-1",
                      only_topic=None, latest=latest)
    assert elsewhere.action == DROP  # offsets are per partition: not the same record
    other_key = judge(CODEC, letter("iom.people", 7), encoded("Person"), b"P-2",
                      only_topic=None, latest=latest)
    assert other_key.action == REPLAY


def test_a_topic_that_keeps_every_record_replays_old_letters() -> None:
    verdict = judge(CODEC, letter("iom.offender.events", 1), encoded("OffenderEvent"), b"P-1",
                    only_topic=None, latest={("iom.offender.events", b"P-1"): (0, 9)})
    assert verdict.action == REPLAY


def test_letters_of_other_topics_are_passed_by_a_replay_of_one_topic() -> None:
    verdict = judge(CODEC, letter("iom.referrals"), b"\x00junk", b"P-1",
                    only_topic="iom.people", latest={})
    assert verdict.action == OTHER


def test_commits_go_past_what_was_done_and_stop_at_the_first_letter_kept() -> None:
    assert committable([(3, REPLAY), (4, DROP), (5, OTHER)]) == 6
    assert committable([(3, REPLAY), (4, KEEP), (5, REPLAY)]) == 4
    assert committable([(3, KEEP), (4, REPLAY)]) is None
    assert committable([]) is None
