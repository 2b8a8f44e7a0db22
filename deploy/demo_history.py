"""A synthetic history of Integrated Offender Management, so the insights page has something
to show in the demo: people, referrals, panel decisions, cohort changes, offender events and
risk grades over the ``months`` before ``end``, as contract records in decoded form (UTC
datetimes, dates, enum symbols as strings), ready for ``Codec.encode``.

Pure and deterministic: the same seed, end and sizes give the same records; the clock is never
read. Everything is recognisably synthetic: ids start with ``SYN-``, free text says
"synthetic", agencies and officers are "Synthetic ...". The story is plausible, not precise:
risk is OGRS3 from the person's facts (clamped to 0.05-0.95); people the panel registers
reoffend within a year with probability 0.8 * p_one_year, people it rejects with p_one_year.
While registered, a person's casework (iom.case.records) has supervisor reviews every 28 days
(14 while RED), about 1 in 5 late, and 1-4 plan actions with partner agencies, most closed.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import random
from datetime import UTC, date, datetime, time, timedelta

TOPICS = ("iom.people", "iom.referrals", "iom.panel.decisions", "iom.cohort.changes",
          "iom.case.records", "iom.offender.events", "iom.risk.grades")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
AGENCIES = ("Synthetic Housing", "Synthetic DWP", "Synthetic Drug Service",
            "Synthetic Mental Health", "Synthetic Voluntary Org")
OFFICERS = tuple(f"PC Synthetic {n}" for n in range(1, 13))
PATHWAYS = ("CATCH_AND_CONTROL", "REHABILITATE_AND_RESETTLE", "PREVENT_AND_DETER")
COHORTS = {"FIXED": 50, "FLEX": 35, "FREE": 15}
# OGRS3 category: (how often it is the offence, its OGRS3 weight, risk-model.md)
OFFENCES = {
    "BURGLARY_DOMESTIC": (20, -0.12394352), "THEFT_NON_MOTOR": (20, 0.661244321),
    "ROBBERY": (12, -0.634795912), "DRUG_POSSESSION_SUPPLY": (14, 0.077165871),
    "VIOLENCE": (14, 0.0), "PUBLIC_ORDER": (4, 0.181917975),
    "CRIMINAL_DAMAGE": (4, 0.204960477), "THEFT_FROM_VEHICLE": (4, 0.427225615),
    "HANDLING_STOLEN_GOODS": (3, 0.351866973), "FRAUD_FORGERY": (2, 0.159910192),
    "OTHER": (3, -0.060667525),
}
# OGRS3 age band lower bound (adults): (male weight, female weight)
AGE_SEX = ((50, -2.025261458, -2.44983716), (40, -1.499690953, -1.524652221),
           (35, -1.368045933, -1.42187494), (30, -1.325976554, -1.129127959),
           (25, -1.166679288, -1.052777806), (21, -1.051515067, -1.028488454),
           (18, -0.625103618, -0.897480934))
RAGS = ("GREEN", "AMBER", "RED")
OFFENCE_WEIGHTS = {name: weight for name, (weight, _) in OFFENCES.items()}
NON_OFFENCE = {"APPOINTMENT_ATTENDED": 6, "APPOINTMENT_MISSED": 2, "DRUG_TEST_NEGATIVE": 2,
               "DRUG_TEST_POSITIVE": 1, "ACCOMMODATION_SECURED": 1, "EMPLOYMENT_STARTED": 1,
               "INTERVENTION_COMPLETED": 1}


def change_id(person_id: str, change: str, effective_at: datetime) -> str:
    """``CohortChange.change_id`` as the referrals service makes it (effective_at as epoch ms)."""
    millis = (effective_at.astimezone(UTC) - EPOCH) // timedelta(milliseconds=1)
    return hashlib.sha256(f"{person_id}|{change}|{millis}".encode()).hexdigest()[:32]


def record_id(person_id: str, kind: str, subject: str) -> str:
    """``CaseRecord.record_id`` as the referrals service makes it (like its alert ids)."""
    return hashlib.sha256(f"{person_id}|{kind}|{subject}".encode()).hexdigest()[:32]


def window_start(end: datetime, months: int) -> datetime:
    """``end`` moved back by calendar months, a 29th-31st clamped to the month's last day."""
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    day = min(end.day, calendar.monthrange(year, month + 1)[1])
    return end.replace(year=year, month=month + 1, day=day)


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _years(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _ogrs3(sex: str, born: date, first: date, convicted: date, previous: int, offence: str,
           day: date) -> float:
    """OGRS3 one-year probability (risk-model.md), clamped to 0.05-0.95."""
    copas = math.log((1 + previous) / (10 + _years(born, convicted) - _years(born, first)))
    male, female = next(ws for lower, *ws in AGE_SEX if _years(born, day) >= lower)
    age_weight = female if sex == "FEMALE" else male
    y = (1.251124464 * copas + (0.126142106 if previous == 0 else 0.463062792) + age_weight
         + OFFENCES[offence][1])
    return min(0.95, max(0.05, 1 / (1 + math.exp(-(y + 1.402562384)))))


def _band(two_year: float) -> str:
    return "LOW" if two_year < 0.5 else "MEDIUM" if two_year < 0.75 else (
        "HIGH" if two_year < 0.9 else "VERY_HIGH")


class _Story:
    """One run: the record lists, id counters and the random source."""

    def __init__(self, seed: int, end: datetime, force: str, months: int) -> None:
        self.rng, self.end, self.force = random.Random(seed), end, force
        # Casework draws from a source of its own: the other topics are as they were without it.
        self.case_rng = random.Random(f"{seed}|casework")
        # Whole seconds from a whole second: every time survives timestamp-millis unchanged.
        start = window_start(end, months)
        self.start = start.replace(microsecond=0) + (timedelta(seconds=1) if start.microsecond
                                                     else timedelta(0))
        self.out: dict[str, list[dict]] = {topic: [] for topic in TOPICS}
        self.ids = {"R": 0, "D": 0, "E": 0, "A": 0}

    def id(self, kind: str) -> str:
        self.ids[kind] += 1
        return f"SYN-{kind}-{self.ids[kind]:06d}"

    def at(self, lo: datetime, hi: datetime) -> datetime:
        """A random whole-second time in [lo, hi] (lo when the span is empty)."""
        return lo + timedelta(seconds=self.rng.randint(0, max(0, int((hi - lo).total_seconds()))))

    def emit(self, topic: str, when: datetime, record: dict) -> None:
        if self.start <= when <= self.end:  # nothing outside the window
            self.out[topic].append(record)

    def referral(self, pid: str, cohort: str, offence: str, at: datetime, why: str) -> str:
        rid = self.id("R")
        self.emit("iom.referrals", at, {
            "referral_id": rid, "person_id": pid, "proposed_cohort": cohort,
            "referring_agency": self.rng.choice(("Synthetic Police", "Synthetic Probation")),
            "referrer": f"Synthetic Referrer {self.rng.randint(1, 20)}",
            "reason": f"synthetic history for the demo: {why}", "urgent": self.rng.random() < 0.1,
            "index_offence": f"synthetic index offence: {offence.lower().replace('_', ' ')}",
            "submitted_at": at})
        return rid

    def decide(self, pid: str, rid: str, cohort: str, submitted: datetime, outcome: str | None
               ) -> tuple[str, datetime, str | None, str | None]:
        """The panel's decisions on a referral: (final outcome, decided_at, pathway, officer)."""
        at = submitted
        while True:
            panel = (at + self.rng.randint(3, 40) * DAY).date()
            at = datetime.combine(panel, time(10), UTC) + self.rng.randint(0, 300) * MINUTE
            roll = self.rng.random()
            now = outcome or ("ACCEPTED" if roll < 0.70 else "REJECTED" if roll < 0.95
                              else "DEFERRED")
            pathway = self.rng.choice(PATHWAYS) if now == "ACCEPTED" else None
            officer = self.rng.choice(OFFICERS) if now == "ACCEPTED" else None
            self.emit("iom.panel.decisions", at, {
                "decision_id": self.id("D"), "referral_id": rid, "person_id": pid,
                "outcome": now, "cohort": cohort, "pathway": pathway, "lead_officer": officer,
                "rationale": f"synthetic panel rationale: {now.lower()}", "panel_date": panel,
                "decided_at": at, "chair": "Synthetic Panel Chair",  # no rng: the rest stays
                "agencies_present": ["Synthetic Police", "Synthetic Probation", AGENCIES[0]]})
            if now != "DEFERRED":
                return now, at, pathway, officer
            outcome = "ACCEPTED" if self.rng.random() < 0.7 else "REJECTED"

    def change(self, pid: str, kind: str, at: datetime, state: dict, why: str) -> None:
        self.emit("iom.cohort.changes", at, {
            "person_id": pid, "change": kind, **state, "reason": f"synthetic: {why}",
            "effective_at": at, "change_id": change_id(pid, kind, at)})

    def register(self, pid: str, at: datetime, cohort: str, pathway, officer
                 ) -> list[tuple[datetime, datetime | None]]:
        """REGISTERED, maybe pathway and officer changes, maybe DEREGISTERED and back again.
        The registrations: (registered, de-registered or None)."""
        rng, state = self.rng, {"cohort": cohort, "pathway": pathway, "lead_officer": officer}
        self.change(pid, "REGISTERED", at, state, "accepted by the panel")
        leaves = at + rng.randint(182, 425) * DAY if rng.random() < 0.3 else None
        limit = leaves or at + 700 * DAY
        moves = [(self.at(at + 30 * DAY, limit - DAY), kind) for kind, p in
                 (("PATHWAY_CHANGED", 0.15), ("LEAD_OFFICER_CHANGED", 0.2)) if rng.random() < p]
        for when, kind in sorted(moves):
            field, pool = (("pathway", PATHWAYS) if kind == "PATHWAY_CHANGED"
                           else ("lead_officer", OFFICERS))
            state[field] = rng.choice([x for x in pool if x != state[field]])
            self.change(pid, kind, when, dict(state), f"{field.replace('_', ' ')} changed")
        if leaves is None:
            return [(at, None)]
        self.change(pid, "DEREGISTERED", leaves, dict(state), "no longer meets the criteria")
        if rng.random() < 1 / 6:  # about 5% of those registered come back
            cohort = _pick(rng, COHORTS)
            back = leaves + rng.randint(30, 180) * DAY
            rid = self.referral(pid, cohort, "OTHER", back, "re-referred after de-registration")
            _, decided, pathway, officer = self.decide(pid, rid, cohort, back, "ACCEPTED")
            state = {"cohort": cohort, "pathway": pathway, "lead_officer": officer}
            self.change(pid, "REGISTERED", decided, state, "accepted by the panel again")
            return [(at, leaves), (decided, None)]
        return [(at, leaves)]

    def casework(self, pid: str, since: datetime, until: datetime | None,
                 grades: list[tuple[datetime, str]]) -> None:
        """One registration's case records, none once it ends (de-registration or ``end``)."""
        rng = self.case_rng

        def record(kind: str, subject: str, on: date, hour: int, agency: str | None = None,
                   due: date | None = None, done: date | None = None) -> bool:
            at = datetime.combine(on, time(hour), UTC)
            if at > self.end or (until is not None and at >= until):
                return False
            self.emit("iom.case.records", at, {
                "record_id": record_id(pid, kind, subject), "person_id": pid,
                "force": self.force, "kind": kind, "subject": subject, "agency": agency,
                "due_on": due, "done_on": done, "recorded_at": at})
            return True

        last = since.date()  # reviews: due 28 days (14 if RED by then) after the last one
        while True:
            red = [rag for when, rag in grades if when.date() <= last + 14 * DAY][-1:] == ["RED"]
            due = last + (14 if red else 28) * DAY
            done = (due + rng.randint(1, 20) * DAY if rng.random() < 0.2
                    else due - rng.randint(0, 5) * DAY)
            if not record("SUPERVISOR_REVIEW", done.isoformat(), done, 10, due=due, done=done):
                break
            last = done
        final = min(self.end, until - MINUTE) if until else self.end
        days = (final - datetime.combine(since.date() + DAY, time(11), UTC)) // DAY
        for _ in range(rng.randint(1, 4) if days >= 0 else 0):  # plan actions, ~3 in 4 closed
            agreed = since.date() + (1 + rng.randint(0, days)) * DAY
            action, agency = self.id("A"), rng.choice(AGENCIES)
            due = agreed + rng.randint(14, 60) * DAY
            record("PLAN_ACTION_AGREED", action, agreed, 11, agency, due)
            if rng.random() < 0.75:
                done = (due + rng.randint(1, 30) * DAY if rng.random() < 0.25
                        else due - rng.randint(0, 10) * DAY)
                record("PLAN_ACTION_CLOSED", action, done, 12, agency, due, done)

    def event(self, pid: str, kind: str, at: datetime, offence=None, details=None) -> str:
        eid = self.id("E")
        source = "Synthetic Probation" if offence is None else "Synthetic Police"
        self.emit("iom.offender.events", at, {
            "event_id": eid, "person_id": pid, "type": kind, "occurred_at": at,
            "source_agency": source, "offence": offence,
            "details": {"synthetic": "true", **(details or {})}})
        return eid

    def offend(self, pid: str, at: datetime, usual: str) -> str:
        """An offence: ARRESTED when committed, CONVICTED 1-9 months later. Its event_id."""
        offence = usual if self.rng.random() < 0.5 else _pick(self.rng, OFFENCE_WEIGHTS)
        eid = self.event(pid, "ARRESTED", at, offence)
        details = {"disposal": "CAUTION" if self.rng.random() < 0.1 else "CONVICTION"}
        if self.rng.random() >= 0.03:
            details["offence_date"] = at.date().isoformat()
        self.event(pid, "CONVICTED", at + self.rng.randint(30, 270) * DAY, offence, details)
        return eid

    def grades(self, pid: str, at: datetime, p: float | None, triggers: list
               ) -> list[tuple[datetime, str]]:
        """Revision 1 at referral, RED on an arrest, a step up on a positive drug test, a step
        down after 28 days without either (never below the static base). (graded_at, rag)s."""
        two = None if p is None else 1 / (1 + math.exp(-(math.log(p / (1 - p)) + 0.719143294)))
        band = None if two is None else _band(two)
        base = {"LOW": 0, "MEDIUM": 1}.get(band, 2) if band else 1
        common = {"person_id": pid, "static_score": two, "p_one_year": p, "static_band": band,
                  "model_version": "synthetic-1", "force": self.force}
        grades: list[dict] = []

        def grade(when: datetime, level: int, why: str, cause: str | None = None) -> None:
            previous = grades[-1]["rag"] if grades else None
            grades.append({**common, "revision": len(grades) + 1, "rag": RAGS[level],
                           "previous_rag": previous, "changed": RAGS[level] != previous,
                           "reasons": [why, "synthetic grade for the demo"],
                           "graded_at": when, "cause_event_id": cause})

        grade(at + HOUR, base, "synthetic: graded on referral" if p is not None
              else "static score unavailable: synthetic person without sanction facts")
        level, raised = base, at
        for when, eid, kind in [*sorted(triggers), (self.end + DAY, None, None)]:
            while level > base and raised + 28 * DAY < when:
                raised += 28 * DAY
                level -= 1
                grade(raised, level, "synthetic review: 28 days without a raising event")
            if kind is None or when <= at + HOUR:
                continue
            new = 2 if kind == "ARRESTED" else min(2, level + 1)
            if new != level or self.rng.random() < 0.15:  # an unchanged grade now and then
                grade(when + HOUR, new, f"synthetic: {kind.lower()} on {when.date()}", eid)
            level, raised = new, when
        for g in grades:
            self.emit("iom.risk.grades", g["graded_at"], g)
        return [(g["graded_at"], g["rag"]) for g in grades]

    def person(self, n: int) -> None:
        rng, pid = self.rng, f"SYN-{n:04d}"
        referred = self.at(self.start, self.end - DAY)
        age = 18 + min(42, int(rng.gammavariate(2.0, 6.0)))
        born = referred.date() - timedelta(days=int((age + rng.random()) * 365.25) + 1)
        if n == 1 or rng.random() < 0.02:  # a 29 February birthday (SYN-0001 always)
            leap = [date(y, 2, 29) for y in range(born.year - 4, born.year + 5)
                    if calendar.isleap(y) and 18 <= _years(date(y, 2, 29), referred.date()) <= 60]
            born = min(leap, key=lambda day: abs(day - born))
        age = _years(born, referred.date())
        sex = "MALE" if rng.random() < 0.85 else "FEMALE"
        offence = _pick(rng, OFFENCE_WEIGHTS)
        previous = min(40, int(rng.expovariate(1 / 9)))
        convicted = referred.date() - timedelta(days=rng.randint(10, 200))
        first = convicted if previous == 0 else min(convicted, born + timedelta(
            days=int(rng.uniform(12, max(12.5, min(age, 30))) * 365.25)))
        known = rng.random() >= 0.03  # about 3% without the OGRS3 facts
        p = _ogrs3(sex, born, first, convicted, previous, offence, referred.date()) if known \
            else None
        supervised = rng.random() < 0.6
        self.out["iom.people"].append({
            "person_id": pid, "date_of_birth": born, "sex": sex, "force": self.force,
            "under_statutory_supervision": supervised,
            "licence_end_date": referred.date() + rng.randint(180, 720) * DAY if supervised
            else None,
            "first_sanction_date": first if known else None,
            "previous_sanctions": previous if known else None,
            "current_offence": offence if known else None,
            "current_conviction_date": convicted if known else None,
            "mappa_level": None, "ppo": False, "rosh_level": None, "priority_flags": []})
        risk = p if p is not None else 0.5
        lo, hi = max(self.start, referred - 365 * DAY), referred - DAY
        for _ in range(sum(rng.random() < risk for _ in range(2)) if hi > lo else 0):
            self.offend(pid, self.at(lo, hi), offence)  # 0-2 offences in the year before
        cohort = _pick(rng, COHORTS)
        rid = self.referral(pid, cohort, offence, referred, f"{age}-year-old, prolific offending")
        outcome, decided, pathway, officer = self.decide(pid, rid, cohort, referred, None)
        registrations = (self.register(pid, decided, cohort, pathway, officer)
                         if outcome == "ACCEPTED" else [])
        triggers = []
        if rng.random() < risk * (0.8 if outcome == "ACCEPTED" else 1.0):
            first_time = self.at(decided, decided + 364 * DAY)
            times = [first_time] + [self.at(first_time, first_time + 365 * DAY)
                                    for _ in range(rng.randint(0, 4))]
            triggers += [(t, self.offend(pid, t, offence), "ARRESTED") for t in sorted(times)]
        for _ in range(rng.randint(0, 4 if outcome == "ACCEPTED" else 1)):
            kind = _pick(rng, NON_OFFENCE)
            t = self.at(decided, decided + 365 * DAY)
            eid = self.event(pid, kind, t)
            if kind == "DRUG_TEST_POSITIVE":
                triggers.append((t, eid, kind))
        graded = self.grades(pid, referred, p, triggers)
        for since, until in registrations:
            self.casework(pid, since, until, graded)


def history(seed: int, end: datetime, *, people: int = 300, force: str = "Hampshire",
            months: int = 24) -> dict[str, list[dict]]:
    """Topic name -> its records in publishing order (event time; people by person_id), all
    dated in [window_start(end, months), end]. ``end`` must be timezone-aware."""
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    story = _Story(seed, end.astimezone(UTC), force, months)
    for n in range(1, people + 1):
        story.person(n)
    times = {"iom.referrals": "submitted_at", "iom.panel.decisions": "decided_at",
             "iom.cohort.changes": "effective_at", "iom.offender.events": "occurred_at",
             "iom.risk.grades": "graded_at", "iom.case.records": "recorded_at"}
    for topic, field in times.items():
        story.out[topic].sort(key=lambda r, f=field: r[f])  # stable: a person's order kept
    return story.out
