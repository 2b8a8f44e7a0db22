"""Every copy of a location obeys the evidential period (IOM_EVIDENCE_DAYS, 30 days): a
hit's fixes older than it are unreadable in gps_stream's published hits, in the
notifications console (its cards, maps and packs all read the board) and in a notification
sent again (recovered or redelivered), the clock injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from iomkit import evidential
from iomkit.identity.principal import Principal
from services.gps_stream.assembly import expire_published
from services.notifications.console import Board
from services.notifications.routing import Directory, payload_text
from services.notifications.unfinished import Unfinished

# A leap day and a month end: the cutoff is 30 days of 24 h, not a calendar month.
NOW = datetime(2028, 3, 1, 0, 30, tzinfo=UTC)  # 30 days before: 2028-01-31 00:30
OFFICER = Principal("hants", ("Hampshire",), "POLICE")


def fix(at: datetime, distance_m: float) -> dict[str, Any]:
    return {"recorded_at": at, "lat": 50.9, "lon": -1.4, "accuracy_m": 10.0,
            "distance_m": distance_m}


def hit(hit_id: str, *fixes: dict[str, Any], revision: int = 1) -> dict[str, Any]:
    nearest = min(fixes, key=lambda f: (f["distance_m"], f["recorded_at"]))
    return {"hit_id": hit_id, "revision": revision, "status": "ACTIVE", "crime_ref": "44/X/28",
            "crime_version": 1, "offence": "BURGLARY_DWELLING", "person_id": "P-1",
            "device_id": "TAG-1", "distance_m": nearest["distance_m"],
            "nearest_fix_at": nearest["recorded_at"], "fixes": list(fixes),
            "detected_at": NOW - timedelta(days=40), "rule_version": 1,
            "crime_force": "Hampshire"}


CUTOFF = evidential.cutoff(NOW, 30)
OLD = CUTOFF - timedelta(milliseconds=1)  # 30 days and a millisecond before NOW
EDGE = CUTOFF  # exactly 30 days: still readable
OLD_HIT = hit("old", fix(OLD, 5.0), fix(OLD - timedelta(minutes=3), 9.0))
MIXED = hit("mixed", fix(OLD, 5.0), fix(EDGE, 40.0), fix(EDGE + timedelta(minutes=2), 30.0))


def test_the_cutoff_is_thirty_days_across_a_leap_day() -> None:
    assert CUTOFF == datetime(2028, 1, 31, 0, 30, tzinfo=UTC)
    assert evidential.cutoff(datetime(2028, 2, 29, 12, tzinfo=UTC), 30) == \
        datetime(2028, 1, 30, 12, tzinfo=UTC)


def test_a_fix_past_the_period_leaves_the_hit_and_the_nearest_is_recomputed() -> None:
    assert evidential.current(OLD_HIT, CUTOFF) is None
    kept = evidential.current(MIXED, CUTOFF)
    assert kept is not None
    assert [f["recorded_at"] for f in kept["fixes"]] == [EDGE, EDGE + timedelta(minutes=2)]
    assert (kept["nearest_fix_at"], kept["distance_m"]) == (EDGE + timedelta(minutes=2), 30.0)
    assert len(MIXED["fixes"]) == 3  # the hit given is not changed
    # as the assembler keeps times (epoch ms), the same
    in_ms = {**MIXED, "fixes": [{**f, "recorded_at": int(f["recorded_at"].timestamp() * 1000)}
                                for f in MIXED["fixes"]]}
    assert len(evidential.current(in_ms, CUTOFF)["fixes"]) == 2  # type: ignore[index]
    withdrawn = {**OLD_HIT, "status": "WITHDRAWN", "fixes": []}
    assert evidential.current(withdrawn, CUTOFF) is None
    assert evidential.current({**withdrawn, "nearest_fix_at": EDGE}, CUTOFF) is not None


def test_gps_stream_published_hits_forget_old_evidence() -> None:
    published = {b"old": dict(OLD_HIT), b"mixed": dict(MIXED),
                 b"new": hit("new", fix(NOW - timedelta(days=1), 7.0))}
    assert expire_published(published, CUTOFF) == [b"old"]
    assert set(published) == {b"mixed", b"new"}
    assert all(f["recorded_at"] >= CUTOFF for h in published.values() for f in h["fixes"])
    assert len(published[b"new"]["fixes"]) == 1


def console(now: list[datetime]) -> Board:
    directory = Directory()
    directory.person("P-1", "Hampshire")
    return Board(directory, clock=lambda: now[0], evidence_days=30)


def test_the_console_never_shows_evidence_past_the_period() -> None:
    now = [NOW]
    board = console(now)
    assert not board.hit(OLD_HIT)  # all past the period: refused as it comes (a replay)
    assert board.get("old") is None
    assert board.hit(MIXED)
    shown = board.get("mixed")
    assert shown is not None and len(shown.record["fixes"]) == 2
    assert len(board.items["mixed"].record["fixes"]) == 2  # dropped as it came
    assert [i.id for i in board.visible(OFFICER)] == ["mixed"]
    card = board.card(shown, OFFICER, True)
    assert card["fields"]["fixes"] == 2
    # a day later, before the hourly purge: the view already hides what passed the period
    now[0] = NOW + timedelta(days=1)
    assert board.get("mixed") is None and list(board.visible(OFFICER)) == []
    assert "mixed" in board.items  # held until the purge...
    assert board.expire() == 1 and board.items == {}  # ...which drops it


def test_the_console_purge_drops_old_fixes_from_memory() -> None:
    now = [CUTOFF]  # every fix of MIXED readable when it came
    board = console(now)
    assert board.hit(MIXED)
    now[0] = NOW
    assert board.expire() == 0
    assert [f["recorded_at"] for f in board.items["mixed"].record["fixes"]] == [
        EDGE, EDGE + timedelta(minutes=2)]


def notification(nid: str, record: dict[str, Any], role: str = "POLICE") -> dict[str, Any]:
    shown = {k: v for k, v in record.items() if role == "POLICE" or k != "fixes"}
    return {"notification_id": nid, "recipient": "police", "state": "FAILED",
            "created_at": NOW - timedelta(days=2), "payload": payload_text(shown)}


def test_a_notification_sent_again_carries_no_fix_past_the_period() -> None:
    unfinished = Unfinished()
    for n in (notification("old", OLD_HIT), notification("mixed", MIXED),
              notification("no-fixes", OLD_HIT, role="PROBATION")):
        unfinished.keep(n, "iom.gps.hits/0/1")
    again = {n["notification_id"]: n for n in unfinished.failed("police", CUTOFF)}
    # every fix past the period: not sent again; a payload without fixes goes as it was
    assert set(again) == {"mixed", "no-fixes"}
    assert again["no-fixes"]["payload"] == unfinished.latest["no-fixes"]["payload"]
    sent = orjson.loads(again["mixed"]["payload"])
    assert [f["recorded_at"] for f in sent["fixes"]] == ["2028-01-31T00:30:00Z",
                                                         "2028-01-31T00:32:00Z"]
    assert (sent["nearest_fix_at"], sent["distance_m"]) == ("2028-01-31T00:32:00Z", 30.0)
    assert len(orjson.loads(unfinished.latest["mixed"]["payload"])["fixes"]) == 3  # as read
    # on the edge: the period given a millisecond later drops the fix at exactly 30 days
    later = unfinished.failed("police", CUTOFF + timedelta(milliseconds=1))
    assert len(orjson.loads(later[0]["payload"])["fixes"]) == 1
