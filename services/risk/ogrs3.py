"""OGRS3 static reoffending score (model_version ``ogrs3-1``).

Implements the Offender Group Reconviction Scale v3 (Howard, Francis, Soothill & Humphreys
2009, Ministry of Justice) exactly as given in ``/work/shared/risk-model.md``, which is the
authoritative statement of the formula, the coefficient tables and the static bands.

Pure module: no I/O, no logging, standard library only. Missing facts never produce a guessed
score: :func:`score` raises :class:`Ogrs3InputError` naming them, so the caller can say
"static score unavailable: <missing facts>".
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date
from typing import Final

MODEL_VERSION: Final = "ogrs3-1"

# --- Published coefficients (risk-model.md; do not round or "tidy") --------------------------

COPAS_COEFFICIENT: Final = 1.251124464
NO_PREVIOUS_SANCTIONS_WEIGHT: Final = 0.126142106  # previous_sanctions == 0
PREVIOUS_SANCTIONS_WEIGHT: Final = 0.463062792  # previous_sanctions > 0
ONE_YEAR_INTERCEPT: Final = 1.402562384
TWO_YEAR_INTERCEPT: Final = 2.121705678

#: Band lower bounds in whole years; ages under 10 are invalid input.
AGE_BAND_LOWER_BOUNDS: Final[tuple[int, ...]] = (10, 12, 14, 16, 18, 21, 25, 30, 35, 40, 50)

#: Age/sex weights as (band lower bound, weight), ascending by lower bound.
AGE_SEX: Final[dict[str, tuple[tuple[int, float], ...]]] = {
    "MALE": (
        (10, 0.0),
        (12, 0.083922902),
        (14, 0.075775765),
        (16, -0.061594199),
        (18, -0.625103618),
        (21, -1.051515067),
        (25, -1.166679288),
        (30, -1.325976554),
        (35, -1.368045933),
        (40, -1.499690953),
        (50, -2.025261458),
    ),
    "FEMALE": (
        (10, -0.785038489),
        (12, -0.613852078),
        (14, -0.669521331),
        (16, -0.959179629),
        (18, -0.897480934),
        (21, -1.028488454),
        (25, -1.052777806),
        (30, -1.129127959),
        (35, -1.42187494),
        (40, -1.524652221),
        (50, -2.44983716),
    ),
}

#: Current-offence weights; the category names are the contract's values.
OFFENCE_WEIGHTS: Final[dict[str, float]] = {
    "VIOLENCE": 0.0,
    "ROBBERY": -0.634795912,
    "PUBLIC_ORDER": 0.181917975,
    "SEXUAL_NOT_CHILD": 0.003276327,
    "SEXUAL_CHILD": -0.653434071,
    "SOLICITING_PROSTITUTION": 0.760608858,
    "BURGLARY_DOMESTIC": -0.12394352,
    "BURGLARY_OTHER": 0.240604429,
    "CRIMINAL_DAMAGE": 0.204960477,
    "DRUG_POSSESSION_SUPPLY": 0.077165871,
    "THEFT_NON_MOTOR": 0.661244321,
    "HANDLING_STOLEN_GOODS": 0.351866973,
    "FRAUD_FORGERY": 0.159910192,
    "ABSCONDING_BAIL": 0.733378677,
    "TAKING_DRIVING_AWAY": 0.380059431,
    "THEFT_FROM_VEHICLE": 0.427225615,
    "OTHER_MOTORING": 0.262228428,
    "DRINK_DRIVING": -0.121439408,
    "DRUG_IMPORT_EXPORT_PRODUCTION": -0.795556373,
    "OTHER": -0.060667525,
}

#: Static bands on p_two_year: (inclusive lower threshold, band), ascending.
BAND_THRESHOLDS: Final[tuple[tuple[float, str], ...]] = (
    (0.0, "LOW"),
    (0.50, "MEDIUM"),
    (0.75, "HIGH"),
    (0.90, "VERY_HIGH"),
)

UNKNOWN_SEX: Final = "UNKNOWN"
MINIMUM_AGE: Final = 10


class Ogrs3InputError(ValueError):
    """The facts cannot be scored. ``field`` names the offending fact.

    When facts are missing, ``missing`` lists them (in :func:`missing_facts` order) and
    ``field`` is the same names joined with ", ".
    """

    def __init__(self, field: str, message: str, *, missing: tuple[str, ...] = ()) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.missing = missing


@dataclass(frozen=True, slots=True)
class StaticFacts:
    """The static facts OGRS3 needs. ``None`` (or sex ``"UNKNOWN"``) means not known."""

    sex: str
    date_of_birth: date
    first_sanction_date: date | None
    previous_sanctions: int | None
    current_offence: str | None
    current_conviction_date: date | None


@dataclass(frozen=True, slots=True)
class Ogrs3Score:
    """An OGRS3 result with every intermediate term, so the arithmetic can be checked."""

    copas: float
    copas_term: float
    previous_term: float
    age_sex_weight: float
    age_band: int
    offence_weight: float
    y: float
    p_one_year: float
    p_two_year: float
    band: str
    age_now: int
    age_at_current_conviction: int
    age_at_first_sanction: int
    sex: str
    current_offence: str
    previous_sanctions: int
    model_version: str = MODEL_VERSION

    def explain(self) -> list[str]:
        """Plain-English lines a supervisor can check the arithmetic with."""
        flag = "none" if self.previous_sanctions == 0 else "one or more"
        ages = (
            f"ages: now {self.age_now}, at current conviction {self.age_at_current_conviction}"
            f", at first sanction {self.age_at_first_sanction}"
        )
        copas = (
            f"copas rate ln((1+{self.previous_sanctions})/(10+{self.age_at_current_conviction}"
            f"-{self.age_at_first_sanction})) = {self.copas:.4f} x {COPAS_COEFFICIENT}"
            f" = {self.copas_term:.4f}"
        )
        y = (
            f"y = {self.copas_term:.4f} + {self.previous_term} + {self.age_sex_weight}"
            f" + {self.offence_weight} = {self.y:.4f}"
        )
        two_year = (
            f"two-year probability 1/(1+exp(-(y+{TWO_YEAR_INTERCEPT}))) = {self.p_two_year:.4f}"
            f" -> band {self.band}"
        )
        return [
            f"model {self.model_version} (OGRS3, Howard et al. 2009)",
            ages,
            copas,
            f"previous sanctions {self.previous_sanctions} ({flag}): {self.previous_term}",
            f"age/sex weight {self.sex} {_band_label(self.age_band)}: {self.age_sex_weight}",
            f"offence weight {self.current_offence}: {self.offence_weight}",
            y,
            f"one-year probability 1/(1+exp(-(y+{ONE_YEAR_INTERCEPT}))) = {self.p_one_year:.4f}",
            two_year,
        ]


def age_on(born: date, on: date) -> int:
    """Age in whole years on ``on``, exact to the birthday (negative if ``on`` precedes birth).

    A person born on 29 February attains each new age on 1 March in a common year. The Family
    Law Reform Act 1969 s9 (England and Wales) says an age is attained at the start of the
    relevant anniversary of the date of birth; in a common year the 29 February anniversary
    has not yet come on 28 February, so it is taken as 1 March. That is also what the Age of
    Legal Capacity (Scotland) Act 1991 s6(2) states expressly. So on 28 February of a common
    year the person is still the younger age.
    """
    if (born.month, born.day) == (2, 29) and not calendar.isleap(on.year):
        anniversary = (3, 1)
    else:
        anniversary = (born.month, born.day)
    age = on.year - born.year
    if (on.month, on.day) < anniversary:
        age -= 1
    return age


def age_band(age: int) -> int:
    """The lower bound of the OGRS3 age band containing ``age``; under 10 is invalid."""
    if age < MINIMUM_AGE:
        raise Ogrs3InputError("age", f"age {age} is under {MINIMUM_AGE}; OGRS3 does not apply")
    lower = AGE_BAND_LOWER_BOUNDS[0]
    for bound in AGE_BAND_LOWER_BOUNDS:
        if age >= bound:
            lower = bound
    return lower


def band_for(p_two_year: float) -> str:
    """Static band on the two-year probability (thresholds are inclusive lower bounds)."""
    if not 0.0 <= p_two_year <= 1.0:  # also rejects NaN
        raise Ogrs3InputError("p_two_year", f"probability {p_two_year!r} is not in [0, 1]")
    band = BAND_THRESHOLDS[0][1]
    for threshold, name in BAND_THRESHOLDS:
        if p_two_year >= threshold:
            band = name
    return band


def missing_facts(facts: StaticFacts) -> list[str]:
    """Names of the facts that are not known, in StaticFacts field order."""
    missing: list[str] = []
    if facts.sex is None or facts.sex == UNKNOWN_SEX:
        missing.append("sex")
    # date_of_birth is typed as required, but facts may come from untyped sources.
    if facts.date_of_birth is None:
        missing.append("date_of_birth")
    if facts.first_sanction_date is None:
        missing.append("first_sanction_date")
    if facts.previous_sanctions is None:
        missing.append("previous_sanctions")
    if facts.current_offence is None:
        missing.append("current_offence")
    if facts.current_conviction_date is None:
        missing.append("current_conviction_date")
    return missing


def validate(facts: StaticFacts, on: date) -> None:
    """Check the facts that are present; raise :class:`Ogrs3InputError` on the first problem.

    Missing facts are not an error here (see :func:`missing_facts`).
    """
    if facts.sex is not None and facts.sex != UNKNOWN_SEX and facts.sex not in AGE_SEX:
        raise Ogrs3InputError("sex", f"unknown sex {facts.sex!r}; expected MALE or FEMALE")
    born = facts.date_of_birth
    if born is not None and born > on:
        raise Ogrs3InputError(
            "date_of_birth", f"date of birth {born.isoformat()} is after {on.isoformat()}"
        )
    first = facts.first_sanction_date
    if born is not None and first is not None and age_on(born, first) < MINIMUM_AGE:
        raise Ogrs3InputError(
            "first_sanction_date",
            f"first sanction on {first.isoformat()} is before age {MINIMUM_AGE}"
            f" (born {born.isoformat()})",
        )
    previous = facts.previous_sanctions
    if previous is not None:
        if isinstance(previous, bool) or not isinstance(previous, int):
            raise Ogrs3InputError(
                "previous_sanctions", f"previous sanctions {previous!r} is not a whole number"
            )
        if previous < 0:
            raise Ogrs3InputError(
                "previous_sanctions", f"previous sanctions {previous} is negative"
            )
    offence = facts.current_offence
    if offence is not None and offence not in OFFENCE_WEIGHTS:
        raise Ogrs3InputError("current_offence", f"unknown offence category {offence!r}")
    conviction = facts.current_conviction_date
    if first is not None and conviction is not None and conviction < first:
        raise Ogrs3InputError(
            "current_conviction_date",
            f"current conviction on {conviction.isoformat()} is before the first sanction"
            f" on {first.isoformat()}",
        )
    if born is not None and (age_now := age_on(born, on)) < MINIMUM_AGE:
        raise Ogrs3InputError(
            "date_of_birth", f"age {age_now} on {on.isoformat()} is under {MINIMUM_AGE}"
        )


def score(facts: StaticFacts, on: date) -> Ogrs3Score:
    """Score ``facts`` with OGRS3 as at the grading date ``on``.

    Raises :class:`Ogrs3InputError` for invalid facts, or naming every missing fact.
    """
    validate(facts, on)
    missing = missing_facts(facts)
    if missing:
        names = ", ".join(missing)
        raise Ogrs3InputError(
            names, f"static score unavailable: missing {names}", missing=tuple(missing)
        )
    # missing_facts() returned nothing, so these are all present.
    assert facts.first_sanction_date is not None
    assert facts.previous_sanctions is not None
    assert facts.current_offence is not None
    assert facts.current_conviction_date is not None

    age_now = age_on(facts.date_of_birth, on)
    age_at_conviction = age_on(facts.date_of_birth, facts.current_conviction_date)
    age_at_first = age_on(facts.date_of_birth, facts.first_sanction_date)
    previous = facts.previous_sanctions

    # ln(a/b) as ln(a) - ln(b): math.log takes arbitrarily large ints; int/int may overflow.
    copas = math.log(1 + previous) - math.log(10 + age_at_conviction - age_at_first)
    copas_term = COPAS_COEFFICIENT * copas
    previous_term = NO_PREVIOUS_SANCTIONS_WEIGHT if previous == 0 else PREVIOUS_SANCTIONS_WEIGHT
    band_lower = age_band(age_now)
    age_sex_weight = dict(AGE_SEX[facts.sex])[band_lower]
    offence_weight = OFFENCE_WEIGHTS[facts.current_offence]
    y = copas_term + previous_term + age_sex_weight + offence_weight
    p_one_year = _logistic(y + ONE_YEAR_INTERCEPT)
    p_two_year = _logistic(y + TWO_YEAR_INTERCEPT)
    return Ogrs3Score(
        copas=copas,
        copas_term=copas_term,
        previous_term=previous_term,
        age_sex_weight=age_sex_weight,
        age_band=band_lower,
        offence_weight=offence_weight,
        y=y,
        p_one_year=p_one_year,
        p_two_year=p_two_year,
        band=band_for(p_two_year),
        age_now=age_now,
        age_at_current_conviction=age_at_conviction,
        age_at_first_sanction=age_at_first,
        sex=facts.sex,
        current_offence=facts.current_offence,
        previous_sanctions=previous,
    )


def _logistic(x: float) -> float:
    """1 / (1 + exp(-x)), the doc's form, without overflow for very negative x."""
    if x < -700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def _band_label(lower: int) -> str:
    """Label for a band lower bound, e.g. 40 -> 40-49; the last band is 50+."""
    index = AGE_BAND_LOWER_BOUNDS.index(lower)
    if index + 1 == len(AGE_BAND_LOWER_BOUNDS):
        return f"{lower}+"
    return f"{lower}-{AGE_BAND_LOWER_BOUNDS[index + 1] - 1}"
