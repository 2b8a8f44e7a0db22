"""A simulated world of tagged people, their GPS trails and a crime feed, with its own truth.

``simulate(seed, start)`` is pure and deterministic: no I/O, no clock; every time derives
from ``start``, every draw from ``random.Random(seed)``. Around Southampton (whatever
``force`` is called), people ``SIM-P-0001``... wear tags ``SIM-TAG-0001``..., all FITTED a day
before ``start``; one or two tags are REMOVED and FITTED again later (while off, the tag lies
where it came off and its fixes belong to nobody). A tag takes a fix a minute: nights at home,
days dwelling at a few places and walking (~1.4 m/s) or driving (~10 m/s) between them. Most
fixes are 5-25 m accurate and about that far off, some multipath (100 m and more), some
unusable (over 200 m). In signal gaps (10-60 min) a tag buffers and its pings arrive late, in
a burst, when the signal returns. Crimes come as ``CrimeReported`` values and as the police
crime file: a share a few tens of metres from where a tagged person was (on their trail), the
rest over 1 km from every fix of their window. ``truth`` is what the contract's hit rule
(rule_version 1) says, by brute force (``hit_truth``), independent of the services.
Publish with ``World.messages()`` (or upload ``crime_file`` instead of the crimes).
"""

from __future__ import annotations

import csv
import io
import math
import random
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from iomkit.crimefile import OFFENCES, london_to_utc

LONDON = ZoneInfo("Europe/London")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
R = 6_371_008.8  # the contract's earth radius
M_PER_DEG = R * math.pi / 180
BOX = (50.88, 50.96, -1.48, -1.33)  # lat min, lat max, lon min, lon max: around Southampton
SECOND, MINUTE = 1000, 60_000
HOUR, DAY = 60 * MINUTE, 24 * 60 * MINUTE
WALK, DRIVE = 1.4, 10.0  # m/s
WINDOW_MS, MAX_ACCURACY_M, BASE_M = 15 * MINUTE, 200.0, 100.0  # the hit rule's settings
LATE_MS = 20 * SECOND  # a ping on time arrives within 10 s; one held back by a gap 30 s+
FAR_M = 1_000.0  # a crime not on a trail is further than this from every fix of its window

TOPICS = {  # record -> (topic, key field), as the contract names them
    "Person": ("iom.people", "person_id"),
    "TagEnrolment": ("iom.tag.enrolments", "device_id"),
    "TagPing": ("iom.tag.pings", "device_id"),
    "CrimeReported": ("iom.crimes.reported", "crime_ref"),
}
CRIME_TYPES = {  # crime file type id -> (description, text, weight)
    "RB": ("Robbery of personal property", "Victim pushed over, phone and wallet taken", 3),
    "BIAD": ("Burglary - residential", "Entry by rear door, jewellery taken", 4),
    "AB": ("Aggravated burglary", "Occupant threatened with a knife, cash taken", 1),
    "BOTD": ("Burglary - business and community", "Shed broken into, tools taken", 2),
    "TOMV": ("Theft of a motor vehicle", "Van taken from the street overnight", 2),
    "TFMV": ("Theft from a motor vehicle", "Window smashed; bag taken, no witnesses", 4),
    "TFP": ("Theft from the person", 'Purse taken from a bag: "didn\'t feel a thing"', 2),
}
OGRS_OFFENCES = ("BURGLARY_DOMESTIC", "ROBBERY", "THEFT_NON_MOTOR", "TAKING_DRIVING_AWAY",
                 "THEFT_FROM_VEHICLE", "BURGLARY_OTHER", "DRUG_POSSESSION_SUPPLY", "VIOLENCE")

Leg = tuple[int, int, float, float, float, float]  # from ms, to ms, from lat/lon, to lat/lon


class Message(NamedTuple):
    at_ms: int  # when a live feed would publish it
    topic: str
    key: str
    record: str  # the schema's record name (the iom-schema header)
    value: dict[str, Any]


@dataclass(frozen=True)
class World:
    seed: int
    start: datetime  # UTC, on a whole second
    end: datetime  # start + hours: the crime file is received then (crimefile.parse's now)
    force: str
    people: tuple[dict[str, Any], ...]  # Person
    enrolments: tuple[dict[str, Any], ...]  # TagEnrolment
    pings: tuple[tuple[int, dict[str, Any]], ...]  # (arrival ms, TagPing), by arrival
    crimes: tuple[dict[str, Any], ...]  # CrimeReported, version 1
    crime_file: str  # the same crimes as a 13-column police crime file
    truth: dict[str, set[str]]  # crime_ref -> person_ids, by the hit rule
    on_trail: dict[str, str]  # crime_ref -> the person whose trail it was placed on

    def summary(self) -> dict[str, int]:
        return {
            "people": len(self.people),
            "fixes": len(self.pings),
            "usable_fixes": sum(p["accuracy_m"] <= MAX_ACCURACY_M for _, p in self.pings),
            "late_fixes": sum(is_late(a, p) for a, p in self.pings),
            "crimes": len(self.crimes),
            "crimes_on_trail": len(self.on_trail),
            "crimes_with_hits": sum(bool(people) for people in self.truth.values()),
        }

    def messages(self) -> list[Message]:
        """Every record in the order a live feed would publish it: people a day before
        start, enrolments at effective_at, pings at arrival, crimes at reported_at."""
        timed = [(ms(self.start) - DAY, "Person", p) for p in self.people]
        timed += [(ms(e["effective_at"]), "TagEnrolment", e) for e in self.enrolments]
        timed += [(a, "TagPing", p) for a, p in self.pings]
        timed += [(ms(c["reported_at"]), "CrimeReported", c) for c in self.crimes]
        timed.sort(key=lambda m: m[0])  # stable: people before enrolments at the same time
        return [Message(at, TOPICS[name][0], value[TOPICS[name][1]], name, value)
                for at, name, value in timed]


def ms(at: datetime) -> int:
    return (at - EPOCH) // timedelta(milliseconds=1)


def at_ms(millis: int) -> datetime:
    return EPOCH + timedelta(milliseconds=millis)


def is_late(arrival_ms: int, ping: dict[str, Any]) -> bool:
    """Held back by a signal gap and sent in a burst when the signal came back."""
    return arrival_ms - ms(ping["recorded_at"]) > LATE_MS


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance on the contract's sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * R * math.asin(math.sqrt(a))


def _fitted_to(history: list[tuple[int, str, dict[str, Any]]], at: int) -> str | None:
    """Condition 1: the latest enrolment with effective_at <= at is FITTED and unexpired
    (history is sorted by effective_at, then enrolment_id)."""
    started = bisect_right(history, at, key=lambda h: h[0])
    latest = history[started - 1][2] if started else None
    if latest is None or latest["status"] != "FITTED":
        return None
    ends = latest["monitoring_ends_at"]
    return None if ends is not None and ms(ends) < at else latest["person_id"]


def hit_truth(enrolments: Iterable[dict[str, Any]], pings: Iterable[dict[str, Any]],
              crimes: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """crime_ref -> person_ids with at least one evidence fix under the contract's hit rule
    (rule_version 1, default settings), for the latest version of each crime: every fix of
    the crime's window is tried (fixes are sorted by time only to find the window)."""
    history: dict[str, list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
    for e in enrolments:
        history[e["device_id"]].append((ms(e["effective_at"]), e["enrolment_id"], e))
    for h in history.values():
        h.sort(key=lambda x: x[:2])
    fixes = sorted(((ms(p["recorded_at"]), p) for p in pings), key=lambda f: f[0])
    times = [t for t, _ in fixes]
    latest: dict[str, dict[str, Any]] = {}
    for c in crimes:
        if c["crime_ref"] not in latest or c["version"] > latest[c["crime_ref"]]["version"]:
            latest[c["crime_ref"]] = c
    truth: dict[str, set[str]] = {}
    for ref, c in latest.items():
        near = truth.setdefault(ref, set())
        lo = bisect_left(times, ms(c["committed_from"]) - WINDOW_MS)  # condition 2
        hi = bisect_right(times, ms(c["committed_to"]) + WINDOW_MS)
        for t, p in fixes[lo:hi]:
            if p["accuracy_m"] > MAX_ACCURACY_M:  # condition 3
                continue
            reach = BASE_M + p["accuracy_m"] + c["location_accuracy_m"]
            if distance_m(p["lat"], p["lon"], c["lat"], c["lon"]) > reach:  # condition 4
                continue
            person = _fitted_to(history[p["device_id"]], t)  # condition 1
            if person is not None:
                near.add(person)
    return truth


def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    return lat + north_m / M_PER_DEG, lon + east_m / (M_PER_DEG * math.cos(math.radians(lat)))


def _around(rng: random.Random, lat: float, lon: float, lo_m: float, hi_m: float
            ) -> tuple[float, float]:
    """A point lo_m..hi_m from (lat, lon), kept inside the box."""
    d, b = rng.uniform(lo_m, hi_m), rng.uniform(0, 2 * math.pi)
    lat, lon = _offset(lat, lon, d * math.sin(b), d * math.cos(b))
    return min(max(lat, BOX[0]), BOX[1]), min(max(lon, BOX[2]), BOX[3])


def _in_box(rng: random.Random, grow: float = 0.0) -> tuple[float, float]:
    """A point in the box, or in the box grown by ``grow`` degrees of latitude each way."""
    return (rng.uniform(BOX[0] - grow, BOX[1] + grow),
            rng.uniform(BOX[2] - 1.6 * grow, BOX[3] + 1.6 * grow))


def _person(rng: random.Random, person_id: str, force: str, today: date) -> dict[str, Any]:
    conviction = today - timedelta(days=rng.randint(30, 1500))
    age = rng.randint(19, 50)  # at conviction
    born = conviction - timedelta(days=age * 365 + rng.randint(0, 364))
    first = born + timedelta(days=rng.randint(12, min(age, 25)) * 365 + rng.randint(0, 300))
    return {
        "person_id": person_id, "date_of_birth": born,
        "sex": "MALE" if rng.random() < 0.85 else "FEMALE", "force": force,
        "under_statutory_supervision": True,
        "licence_end_date": today + timedelta(days=rng.randint(60, 900)),
        "first_sanction_date": min(first, conviction),
        "previous_sanctions": rng.randint(3, 45),
        "current_offence": rng.choice(OGRS_OFFENCES), "current_conviction_date": conviction,
        # contract 1.1: none of the simulated people is MAPPA-managed, a PPO or RoSH-assessed
        "mappa_level": None, "ppo": False, "rosh_level": None, "priority_flags": [],
    }


def _enrolment(enrolment_id: str, device: str, person: str, status: str, t: int
               ) -> dict[str, Any]:
    return {"enrolment_id": enrolment_id, "device_id": device, "person_id": person,
            "status": status, "effective_at": at_ms(t), "monitoring_ends_at": None}


def _itinerary(rng: random.Random, home: tuple[float, float], t0: int, t1: int) -> list[Leg]:
    """Nights at home; by day dwell, then walk or drive (straight legs via a dog-leg) to
    one of a few places or home."""
    places = [_around(rng, *home, 300, 4000) for _ in range(rng.randint(2, 4))]
    legs: list[Leg] = []
    t, here = t0, rng.choice([home, home, *places])
    while t < t1:
        local = at_ms(t).astimezone(LONDON)
        if here == home and (local.hour >= 22 or local.hour < 7):  # asleep till morning
            day = local.date() + timedelta(days=local.hour >= 22)
            wake = ms(datetime.combine(day, time(7), LONDON)) + rng.randint(0, 120) * MINUTE
            legs.append((t, wake, *here, *here))
            t = wake
            continue
        stay = rng.randint(10, 120) if here == home else rng.randint(20, 150)
        legs.append((t, t + stay * MINUTE, *here, *here))
        t += stay * MINUTE
        late = at_ms(t).astimezone(LONDON).hour >= 21
        if here != home and (late or rng.random() < 0.35):
            there = home
        else:
            there = rng.choice([p for p in places if p != here] or [home])
        d = distance_m(*here, *there)
        speed = DRIVE if (d > 2000 and rng.random() < 0.6) or rng.random() < 0.1 else WALK
        speed *= rng.uniform(0.85, 1.15)
        k = rng.uniform(-0.2, 0.2)
        east = (there[1] - here[1]) * M_PER_DEG * math.cos(math.radians(here[0]))
        north = (there[0] - here[0]) * M_PER_DEG
        via = _offset((here[0] + there[0]) / 2, (here[1] + there[1]) / 2, -north * k, east * k)
        for a, b in ((here, via), (via, there)):
            dt = round(distance_m(*a, *b) / speed * SECOND)
            legs.append((t, t + dt, *a, *b))
            t += dt
        here = there
    return legs


def _where(legs: list[Leg], starts: list[int], t: int) -> tuple[float, float]:
    ta, tb, lat_a, lon_a, lat_b, lon_b = legs[bisect_right(starts, t) - 1]
    f = min(1.0, (t - ta) / (tb - ta)) if tb > ta else 0.0
    return lat_a + f * (lat_b - lat_a), lon_a + f * (lon_b - lon_a)


def _gaps(rng: random.Random, t0: int, t1: int) -> list[tuple[int, int]]:
    """Signal gaps of 10-60 minutes, about one a day (one overlapping another is dropped)."""
    count = sum(rng.random() < 1 / 24 for _ in range(math.ceil((t1 - t0) / HOUR)))
    gaps: list[tuple[int, int]] = []
    for s in sorted(rng.randrange(t0, t1, SECOND) for _ in range(count)):
        e = s + rng.randint(10, 60) * MINUTE
        if not gaps or s > gaps[-1][1]:
            gaps.append((s, e))
    return gaps


def _fix_error(rng: random.Random) -> tuple[float, float]:
    """(accuracy_m, metres actually off): mostly good, some multipath, some unusable."""
    u = rng.random()
    if u < 0.04:
        accuracy = rng.uniform(220, 900)
        return round(accuracy * 2) / 2, accuracy * rng.uniform(0.3, 1.0)
    if u < 0.10:
        accuracy = rng.uniform(100, 195)
        return round(accuracy * 2) / 2, accuracy * rng.uniform(0.5, 1.2)
    accuracy = rng.uniform(5, 25)  # half-metre steps: exact as an Avro float
    return round(accuracy * 2) / 2, accuracy * min(abs(rng.gauss(0, 0.6)), 1.5)


def _trail(rng: random.Random, device: str, legs: list[Leg], off: tuple[int, int] | None,
           t0: int, t1: int) -> list[tuple[int, dict[str, Any], tuple[float, float]]]:
    """(arrival ms, TagPing, true position) of one tag, a fix a minute."""
    starts = [leg[0] for leg in legs]
    gaps, burst, last_gap = _gaps(rng, t0, t1), 0, None
    out = []
    for t in range(t0 + rng.randint(0, 59) * SECOND, t1, MINUTE):
        removed = off is not None and off[0] <= t < off[1]  # the tag lies where it came off
        true = _where(legs, starts, off[0] if removed and off else t)
        accuracy, error = _fix_error(rng)
        b = rng.uniform(0, 2 * math.pi)
        lat, lon = _offset(*true, error * math.sin(b), error * math.cos(b))
        gap = next((g for g in gaps if g[0] <= t < g[1]), None)
        if gap is None:
            arrival = t + rng.randint(1, 10) * SECOND
        else:  # buffered: sent in a burst when the signal comes back
            burst, last_gap = (burst + 1 if gap == last_gap else 0), gap
            arrival = gap[1] + 30 * SECOND + burst * 250
        ping = {"device_id": device, "recorded_at": at_ms(t), "lat": round(lat, 6),
                "lon": round(lon, 6), "accuracy_m": accuracy}
        out.append((arrival, ping, true))
    return out


def _local(t: int) -> str:
    return at_ms(t).astimezone(LONDON).strftime("%Y%m%d%H%M%S")


def _unambiguous(t: int, later: bool) -> int:
    """t, or the nearest time outside the repeated hour of the autumn clock change (whose
    second pass a crime file cannot say: it reads as the first), moving earlier or later."""
    if ms(london_to_utc(_local(t))) == t:
        return t
    return t - t % HOUR + HOUR if later else t - t % HOUR - SECOND


def simulate(seed: int, start: datetime, *, people: int = 50, hours: float = 24.0,
             force: str = "Hampshire", crimes_per_day: int = 40, on_trail_share: float = 0.25
             ) -> World:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if people < 1 or hours < 1 or crimes_per_day < 0 or not 0 <= on_trail_share <= 1:
        raise ValueError("need people >= 1, hours >= 1, crimes_per_day >= 0, 0 <= share <= 1")
    rng = random.Random(seed)
    t0 = -(-ms(start) // SECOND) * SECOND
    t1 = t0 + round(hours * HOUR / SECOND) * SECOND
    persons, enrolments, tags = [], [], []
    for i in range(1, people + 1):
        person, device = f"SIM-P-{i:04d}", f"SIM-TAG-{i:04d}"
        persons.append(_person(rng, person, force, at_ms(t0).date()))
        enrolments.append(_enrolment(f"SIM-E-{i:04d}-1", device, person, "FITTED", t0 - DAY))
        tags.append((device, person, _itinerary(rng, _in_box(rng), t0, t1)))
    off: dict[str, tuple[int, int]] = {}
    for i in sorted(rng.sample(range(people), min(people, rng.randint(1, 2)))):
        device, person, _ = tags[i]
        removed = t0 + round(rng.uniform(0.1, 0.6) * (t1 - t0) / SECOND) * SECOND
        refitted = removed + min(rng.randint(45, 240) * MINUTE, (t1 - removed) // 2)
        off[device] = (removed, refitted)
        enrolments += [_enrolment(f"SIM-E-{i + 1:04d}-2", device, person, "REMOVED", removed),
                       _enrolment(f"SIM-E-{i + 1:04d}-3", device, person, "FITTED", refitted)]
    pings, anchors = [], []  # anchors: usable fixes while fitted, to put crimes on
    for device, person, legs in tags:
        for arrival, ping, true in _trail(rng, device, legs, off.get(device), t0, t1):
            pings.append((arrival, ping))
            t = ms(ping["recorded_at"])
            fitted = not (device in off and off[device][0] <= t < off[device][1])
            if fitted and ping["accuracy_m"] <= MAX_ACCURACY_M and t <= t1 - 10 * MINUTE:
                anchors.append((t, person, true))
    pings.sort(key=lambda p: (p[0], p[1]["device_id"], p[1]["recorded_at"]))
    fixes = sorted((ms(p["recorded_at"]), p["lat"], p["lon"]) for _, p in pings)
    crimes, on_trail = _crimes(rng, seed, force, t0, t1, crimes_per_day, on_trail_share,
                               anchors, fixes)
    truth = hit_truth(enrolments, (p for _, p in pings), crimes)
    return World(seed, at_ms(t0), at_ms(t1), force, tuple(persons), tuple(enrolments),
                 tuple(pings), tuple(crimes), crime_file(crimes), truth, on_trail)


def _far(fixes: list[tuple[int, float, float]], lat: float, lon: float, lo: int, hi: int
         ) -> bool:
    """Further than FAR_M from every fix recorded in lo..hi (a box first, then haversine)."""
    dlat = FAR_M * 1.01 / M_PER_DEG
    dlon = dlat / math.cos(math.radians(lat))
    first = bisect_left(fixes, (lo,))
    last = bisect_right(fixes, (hi, math.inf, math.inf))
    return not any(abs(f[1] - lat) < dlat and abs(f[2] - lon) < dlon
                   and distance_m(f[1], f[2], lat, lon) <= FAR_M for f in fixes[first:last])


def _crimes(rng: random.Random, seed: int, force: str, t0: int, t1: int, per_day: int,
            share: float, anchors: list[tuple[int, str, tuple[float, float]]],
            fixes: list[tuple[int, float, float]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    count = round(per_day * (t1 - t0) / DAY)
    placed = set(rng.sample(range(count), round(count * share) if anchors else 0))
    ids = list(CRIME_TYPES)
    weights = [CRIME_TYPES[i][2] for i in ids]
    batch = f"SIM-{seed}-{_local(t1)[:8]}"
    crimes, on_trail = [], {}
    for i in range(count):
        ref = f"SIM/{seed}/{_local(t0)[2:8]}/{i + 1:04d}"
        for attempt in range(1000):
            length = min(rng.randint(10, 180) * MINUTE, t1 - t0 - 5 * MINUTE)
            if i in placed:  # on a trail: a few tens of metres from where the person was
                t, person, (lat, lon) = rng.choice(anchors)
                frm = max(t0, t - rng.randint(0, length // SECOND) * SECOND)
                lat, lon = _around(rng, lat, lon, 5, 40)
            else:
                frm = t0 + rng.randint(0, (t1 - 5 * MINUTE - length - t0) // SECOND) * SECOND
                t, (lat, lon) = frm, _in_box(rng, grow=attempt // 50 * 0.01)  # busy: further
            to = min(t1 - 5 * MINUTE, frm + length)
            frm, to = _unambiguous(frm, later=False), _unambiguous(to, later=True)
            if to > t1 - 5 * MINUTE or not frm <= t <= to:
                continue
            if i in placed or _far(fixes, lat, lon, frm - WINDOW_MS, to + WINDOW_MS):
                break
        else:
            raise RuntimeError(f"could not place crime {ref}: too many fixes for the area")
        if i in placed:
            on_trail[ref] = person
        type_id = rng.choices(ids, weights)[0]
        description, text, _ = CRIME_TYPES[type_id]
        crimes.append({
            "crime_ref": ref, "version": 1, "offence": OFFENCES[type_id],
            "lat": round(lat, 6), "lon": round(lon, 6), "location_accuracy_m": 0.0,
            "committed_from": at_ms(frm), "committed_to": at_ms(to),
            "reported_at": at_ms(min(to + rng.randint(5, 240) * MINUTE, t1)), "force": force,
            "type_description": description, "batch_id": batch, "crime_text": text,
        })
    return crimes, on_trail


def crime_file(crimes: Iterable[dict[str, Any]]) -> str:
    """The crimes as the national 13-column crime file: no header, UK local times,
    latitude/longitude with datum WGS84 (easting/northing blank)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    type_ids = {offence: type_id for type_id, offence in OFFENCES.items()}
    for c in crimes:
        writer.writerow([
            c["force"], type_ids[c["offence"]], c["type_description"] or "",
            c["batch_id"] or "", c["crime_ref"], _local(ms(c["committed_from"])),
            _local(ms(c["committed_to"])), "", "", repr(c["lat"]), repr(c["lon"]), "WGS84",
            c["crime_text"] or "",
        ])
    return out.getvalue()
