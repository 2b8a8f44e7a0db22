"""Assembling hits from per-partition evidence, including after a crash that lost the
assembler's table write but not what it had published."""

from __future__ import annotations

from datetime import UTC, datetime

from services.gps_stream.assembly import (
    ACTIVE,
    WITHDRAWN,
    align,
    assemble,
    published_evidence,
)
from services.gps_stream.trail import EPOCH

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def fix(minute: int) -> list:
    return [1_795_600_000_000 + minute * 60_000, 50.9, -1.4 + minute * 1e-5, 12.5,
            30.0 + minute]


def evidence(fixes: list[list], partition: int = 0, version: int = 1) -> dict:
    return {"hit_id": "h1", "crime_ref": "44/1/26", "crime_version": version,
            "offence": "ROBBERY", "person_id": "P-1", "partition": partition,
            "device_id": "TAG-1" if fixes else None, "fixes": fixes}


def run(messages: list[dict], state=None, published=None, restarted=False):
    """``restarted``: a new worker, which first aligns the state with the topic."""
    if restarted:
        state = align(state, published)
    out = []
    for message in messages:
        state, hit = assemble(state, message, NOW, 1)
        if hit is not None:
            out.append(hit)
    return state, out


def as_decoded(hit: dict) -> dict:
    """What a follower of iom.gps.hits holds: timestamps decoded to datetimes."""
    from datetime import timedelta
    return {**hit, "fixes": [{**f, "recorded_at": EPOCH + timedelta(milliseconds=f[
        "recorded_at"])} for f in hit["fixes"]]}


def test_new_evidence_publishes_a_revision_and_the_same_evidence_again_publishes_nothing():
    _, out = run([evidence([fix(0)]), evidence([fix(0), fix(1)]),
                      evidence([fix(0), fix(1)])])
    assert [h["revision"] for h in out] == [1, 2]
    assert [len(h["fixes"]) for h in out] == [1, 2]
    assert out[-1]["nearest_fix_at"] == fix(0)[0]


def test_evidence_from_two_partitions_is_published_as_its_union():
    _, out = run([evidence([fix(0)], partition=0), evidence([fix(5)], partition=3)])
    assert [f["recorded_at"] for f in out[-1]["fixes"]] == [fix(0)[0], fix(5)[0]]


def test_a_hit_whose_evidence_is_gone_is_withdrawn_once():
    _, out = run([evidence([fix(0)]), evidence([]), evidence([])])
    assert [(h["revision"], h["status"]) for h in out] == [(1, ACTIVE), (2, WITHDRAWN)]


def test_evidence_that_never_matched_publishes_nothing():
    assert run([evidence([])])[1] == []


def test_a_newer_crime_version_replaces_older_evidence_from_other_partitions():
    _, out = run([evidence([fix(0)], partition=0), evidence([fix(5)], partition=1, version=2)])
    assert out[-1]["crime_version"] == 2
    assert [f["recorded_at"] for f in out[-1]["fixes"]] == [fix(5)[0]]


def test_a_lost_table_write_neither_repeats_a_revision_nor_leaves_the_old_evidence_standing():
    _, before_crash = run([evidence([fix(0)]), evidence([fix(0), fix(1), fix(2)])])
    # The table's changelog lost everything; the topic kept revision 2 with three fixes.
    latest = as_decoded(before_crash[-1])
    state, out = run([evidence([fix(0), fix(1), fix(2), fix(3)])], published=latest,
                     restarted=True)
    assert [(h["revision"], len(h["fixes"])) for h in out] == [(3, 4)]
    assert state["revision"] == 3


def test_after_a_lost_table_write_evidence_already_published_is_not_published_again():
    _, before_crash = run([evidence([fix(0), fix(1)])])
    latest = as_decoded(before_crash[-1])
    state, out = run([evidence([fix(0), fix(1)])], published=latest, restarted=True)
    assert out == []
    assert state["revision"] == 1


def test_a_hit_whose_table_write_survived_but_whose_publication_was_lost_is_published():
    state, published = run([evidence([fix(0)]), evidence([fix(0), fix(1)])])
    # Revision 2 reached the local table store, but never the topic: revision 1 did.
    latest = as_decoded(published[0])
    _, out = run([evidence([fix(0), fix(1)])], state=state, published=latest, restarted=True)
    assert [(h["revision"], len(h["fixes"])) for h in out] == [(2, 2)]
    never, _ = run([evidence([fix(0)])])
    _, out = run([evidence([fix(0)])], state=never, published=None, restarted=True)
    assert [(h["revision"], len(h["fixes"])) for h in out] == [(1, 1)]


def test_published_evidence_reads_a_decoded_hit_exactly():
    _, out = run([evidence([fix(0), fix(1)])])
    assert published_evidence(as_decoded(out[0])) == published_evidence(out[0])
    assert published_evidence(out[0])["fixes"] == [fix(0), fix(1)]


def test_the_hit_carries_the_crime_force_of_the_newest_version() -> None:
    """Contract 1.1: CrimeHit.crime_force is the reporting force of the crime version the
    hit was worked out from; evidence sent before 1.1 (no crime_force) gives None."""
    first = {**evidence([fix(1)]), "crime_force": "Thames Valley"}
    newer = {**evidence([fix(2)], partition=1, version=2), "crime_force": "Hampshire"}
    _, hits = run([first, newer])
    assert [h["crime_force"] for h in hits] == ["Thames Valley", "Hampshire"]
    _, hits = run([evidence([fix(1)])])  # sent by a worker before 1.1
    assert hits[0]["crime_force"] is None
