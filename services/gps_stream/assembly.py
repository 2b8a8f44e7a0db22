"""Assembling a hit from the evidence each worker finds. Pure.

Pings are partitioned by device, so the evidence for one (crime, person) can come from
several partitions (a person whose tag was replaced) and so from several workers. Each
worker sends the evidence of its partition; the assembler keeps the latest per partition
(for the newest crime version seen), and publishes the union with one revision counter:
the same evidence again changes nothing, so replays and restarts republish nothing.

After a crash the assembler's table and the hits topic can disagree either way: a table
write lost after its hit was published, or (a local store written at once) a hit lost after
its table write. When a worker first touches a hit, the topic is the truth (`align`): the
table takes the published revision and evidence, so a restart neither repeats a revision,
nor leaves a hit at what was published before the crash, nor loses a hit never published.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, MutableMapping
from datetime import datetime
from typing import Any

from iomkit import evidential
from services.gps_stream.trail import epoch_ms

ACTIVE = "ACTIVE"
WITHDRAWN = "WITHDRAWN"


def evidence_message(update: Any, partition: int) -> dict[str, Any]:
    """What a worker sends about one HitUpdate of its partition (JSON-able)."""
    return {
        "hit_id": update.hit_id, "crime_ref": update.crime_ref,
        "crime_version": update.crime_version, "offence": update.offence,
        "person_id": update.person_id, "partition": partition,
        "crime_force": update.crime_force,
        "device_id": update.device_id if update.fixes else None,
        "fixes": [list(f) for f in update.fixes] if update.status == ACTIVE else [],
    }


def published_evidence(hit: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence a published CrimeHit stands on, as the assembler keeps it."""
    return {"status": hit["status"], "crime_version": hit["crime_version"],
            "offence": hit["offence"],
            "fixes": [[_ms(f["recorded_at"]), f["lat"], f["lon"], f["accuracy_m"],
                       f["distance_m"]] for f in hit["fixes"]]}


def _ms(at: datetime | int) -> int:
    return at if isinstance(at, int) else epoch_ms(at)  # decoded, or as assembled


def align(state: Mapping[str, Any] | None, published: Mapping[str, Any] | None
          ) -> dict[str, Any] | None:
    """The state as the hits topic says it was published (``published``: the latest
    CrimeHit for the hit_id, or None). The evidence per partition is kept."""
    if state is None and published is None:
        return None
    state = dict(state or _empty())
    if published is None:
        state["revision"], state["status"], state["evidence"] = 0, None, None
    else:
        state["revision"], state["status"] = published["revision"], published["status"]
        state["evidence"] = published_evidence(published)
    return state


def _empty() -> dict[str, Any]:
    return {"revision": 0, "status": None, "partitions": {}, "evidence": None,
            "device_id": "", "distance_m": 0.0, "nearest_fix_at": 0}


def assemble(state: Mapping[str, Any] | None, message: Mapping[str, Any], now: datetime,
             rule_version: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The hit's new state, and the CrimeHit to publish (None when nothing changed)."""
    state = dict(state or _empty())
    partitions = dict(state["partitions"])
    partitions[str(message["partition"])] = {
        "crime_version": message["crime_version"], "offence": message["offence"],
        "device_id": message["device_id"], "fixes": message["fixes"],
        "crime_force": message.get("crime_force"),  # absent from evidence sent before 1.1
    }
    state["partitions"] = partitions
    state["crime_ref"], state["person_id"] = message["crime_ref"], message["person_id"]
    newest = max(p["crime_version"] for p in partitions.values())
    current = [p for p in partitions.values() if p["crime_version"] == newest and p["fixes"]]
    fixes = sorted({tuple(f) for p in current for f in p["fixes"]})
    status = ACTIVE if fixes else WITHDRAWN
    if status == WITHDRAWN and state["status"] in (None, WITHDRAWN):
        return state, None  # never matched, or already withdrawn: nothing to say
    newest_part = next((p for p in partitions.values() if p["crime_version"] == newest), None)
    offence = newest_part["offence"] if newest_part else message["offence"]
    # Not part of the evidence compared below: the force is the crime's, not new evidence.
    crime_force = (newest_part or {}).get("crime_force") or message.get("crime_force")
    evidence = {"status": status, "crime_version": newest, "offence": offence,
                "fixes": [list(f) for f in fixes]}
    if evidence == state["evidence"]:
        return state, None  # the same evidence again: a replay or a restart
    if fixes:
        nearest = min(fixes, key=lambda f: (f[4], f[0]))
        state["distance_m"], state["nearest_fix_at"] = nearest[4], nearest[0]
        state["device_id"] = next(p["device_id"] for p in current if list(nearest) in p["fixes"])
    state["revision"] += 1
    state["status"] = status
    state["evidence"] = evidence
    hit = {
        "hit_id": message["hit_id"], "revision": state["revision"], "status": status,
        "crime_ref": message["crime_ref"], "crime_version": newest, "offence": offence,
        "person_id": message["person_id"], "device_id": state["device_id"],
        "distance_m": state["distance_m"], "nearest_fix_at": state["nearest_fix_at"],
        "fixes": [{"recorded_at": f[0], "lat": f[1], "lon": f[2], "accuracy_m": f[3],
                   "distance_m": f[4]} for f in fixes],
        "detected_at": now, "rule_version": rule_version, "crime_force": crime_force,
    }
    return state, hit


def settled(published: Mapping[bytes, Mapping[str, Any]], live_crimes: Container[str],
            cutoff: datetime) -> list[bytes]:
    """The published hits that can no longer change: their crime is gone (its window is
    past retention) and their nearest fix is older than the retention ``cutoff``, so no
    fix or crime version that could change them is still kept. The views and the alignment
    forget them (the hits topic keeps them)."""
    return [key for key, hit in list(published.items())
            if hit["crime_ref"] not in live_crimes and hit["nearest_fix_at"] < cutoff]


def expire_published(published: MutableMapping[bytes, dict[str, Any]], before: datetime
                     ) -> list[bytes]:
    """Drop from the published hits the evidence fixes recorded before ``before`` (the
    evidential period's cutoff, ``iomkit.evidential``); a hit with no evidence left is
    removed. Returns the keys removed (the alignment forgets them too)."""
    gone = []
    for key, hit in list(published.items()):
        kept = evidential.current(hit, before)
        if kept is None:
            del published[key]
            gone.append(key)
        elif len(kept["fixes"]) != len(hit["fixes"]):
            published[key] = kept
    return gone
