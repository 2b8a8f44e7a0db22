"""Advisory IOM cohort assessment for a referred person. Pure: no I/O, no logging, stdlib only.

The practitioner guide (seed 003) defines three cohorts; the MACC selection panel decides, so
this module only *advises* and always says why, criterion by criterion, in plain words that a
panel member can read aloud:

- **FIXED** (mandated nationally): under statutory supervision, a neighbourhood crime
  (burglary, robbery, vehicle crime, theft but not shoplifting) and a high risk of reoffending.
- **FLEX**: statutory, not a neighbourhood crime (or one without high risk), but would benefit
  from the same approach (some elevated risk).
- **FREE**: matches a priority of the person's own force (default: domestic abuse
  perpetrators, as in Hampshire and the Isle of Wight). The only cohort open to someone who is
  not under statutory supervision.

Cohorts are tried in that order (FIXED, FLEX, FREE) because FIXED is the one a force *must*
run; a force-priority match is still reported when a higher cohort already fits, so the panel
can choose FREE instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from iomkit import offences

Cohort = Literal["FIXED", "FLEX", "FREE"]

#: The OGRS3 categories (risk-model.md) that are "neighbourhood crime" in the guide's sense:
#: robbery, burglary, vehicle crime ("car crime") and theft. THEFT_NON_MOTOR includes
#: shoplifting, which the guide excludes, so it only counts when the text rules that out.
NEIGHBOURHOOD_CATEGORIES: Final[frozenset[str]] = frozenset(
    {
        "ROBBERY",
        "BURGLARY_DOMESTIC",
        "BURGLARY_OTHER",
        "TAKING_DRIVING_AWAY",
        "THEFT_FROM_VEHICLE",
        "THEFT_NON_MOTOR",
    }
)
#: The one neighbourhood category that may hide shoplifting.
THEFT_CATEGORY: Final = "THEFT_NON_MOTOR"

#: The contract's category names (iomkit.offences), as the risk service scores them.
OFFENCE_CATEGORIES: Final[frozenset[str]] = frozenset(offences.OFFENCE_CATEGORIES)
#: What an older reader sees for an enum symbol added later (contract: never break on it).
UNKNOWN_SYMBOL: Final = "UNKNOWN"

RAG_GRADES: Final[frozenset[str]] = frozenset({"RED", "AMBER", "GREEN"})
STATIC_BANDS: Final[tuple[str, ...]] = offences.STATIC_BANDS
HIGH_BANDS: Final[frozenset[str]] = frozenset({"HIGH", "VERY_HIGH"})
#: MEDIUM or above: enough static risk that the IOM approach would plausibly help (FLEX).
ELEVATED_BANDS: Final[frozenset[str]] = frozenset({"MEDIUM", "HIGH", "VERY_HIGH"})
ELEVATED_GRADES: Final[frozenset[str]] = frozenset({"RED", "AMBER"})

DOMESTIC_ABUSE_PRIORITY: Final = "domestic abuse perpetrators"
DEFAULT_PRIORITIES: Final[tuple[str, ...]] = (DOMESTIC_ABUSE_PRIORITY,)
#: Priority flags (contract 1.1 ``Person.priority_flags``, codes such as DOMESTIC_ABUSE)
#: match a priority named the same in words (KNIFE_CRIME matches "knife crime"); these
#: flags also match a priority worded differently in the settings.
FLAG_ALIASES: Final[dict[str, str]] = {"domestic abuse": DOMESTIC_ABUSE_PRIORITY}

# Shoplifting is named many ways on charge sheets and referral forms ("shop lifting",
# "shop-lifting", "theft from a shop", "theft from shop"); any of them excludes the theft.
_SHOPLIFTING = re.compile(r"shop\s*-?\s*lift|theft\s+from\s+(?:a\s+)?shops?\b", re.IGNORECASE)


def _normalise(name: str) -> str:
    """Case-, spacing- and underscore-insensitive key, so "Knife  Crime" in settings matches
    "knife crime" and the flag KNIFE_CRIME."""
    return " ".join(name.replace("_", " ").split()).casefold()


def _words(category: str) -> str:
    """BURGLARY_DOMESTIC -> "burglary domestic": the enum spelled as plain words."""
    return category.replace("_", " ").lower()


def mentions_shoplifting(text: str | None) -> bool:
    """True when free offence text describes shoplifting (which is not neighbourhood crime)."""
    return bool(text) and _SHOPLIFTING.search(text or "") is not None


@dataclass(frozen=True, slots=True)
class Candidate:
    """The facts the assessment needs about one referred person.

    ``index_offence`` and ``recent_offences`` are OGRS3 categories (``UNKNOWN`` is accepted as
    "a category this version does not know"); ``offence_text`` is the free text of the index
    offence, used only to rule shoplifting out of a theft. ``rag`` is the current grade from
    ``iom.risk.grades`` and ``static_band`` the OGRS3 band; either may be ``None``.
    ``flags`` names any further force priorities the person matches (e.g. "knife crime");
    ``domestic_abuse_perpetrator`` is kept as its own field because it is the default priority.
    ``flags_from_person``: the flags are the person's own priority flags (contract 1.1), said
    in the reason. ``prolific`` is the offence history's verdict (selection.prolific) and
    ``prolific_reason`` its evidence in words; None when not computed.
    """

    person_id: str
    force: str
    under_statutory_supervision: bool
    index_offence: str | None = None
    offence_text: str | None = None
    recent_offences: tuple[str, ...] = ()
    rag: str | None = None
    static_band: str | None = None
    domestic_abuse_perpetrator: bool = False
    flags: frozenset[str] = frozenset()
    flags_from_person: bool = False
    prolific: bool = False
    prolific_reason: str | None = None

    def __post_init__(self) -> None:
        # A typo in a category would silently turn a burglar into "not neighbourhood crime";
        # refuse it naming the field instead. UNKNOWN (a newer writer's symbol) is allowed.
        known = OFFENCE_CATEGORIES | {UNKNOWN_SYMBOL}
        if self.index_offence is not None and self.index_offence not in known:
            raise ValueError(f"index_offence: {self.index_offence!r} is not an OGRS3 category")
        # Callers often hold a list; keep the dataclass hashable and immutable.
        object.__setattr__(self, "recent_offences", tuple(self.recent_offences))
        for position, category in enumerate(self.recent_offences):
            if category not in known:
                raise ValueError(
                    f"recent_offences[{position}]: {category!r} is not an OGRS3 category"
                )
        if self.rag is not None and self.rag not in RAG_GRADES | {UNKNOWN_SYMBOL}:
            raise ValueError(f"rag: {self.rag!r} is not RED, AMBER or GREEN")
        if self.static_band is not None and self.static_band not in STATIC_BANDS:
            raise ValueError(
                f"static_band: {self.static_band!r} is not one of {', '.join(STATIC_BANDS)}"
            )
        if isinstance(self.flags, str):
            raise ValueError("flags: give a collection of priority names, not one string")
        object.__setattr__(self, "flags", frozenset(self.flags))


@dataclass(frozen=True, slots=True)
class ForcePriorities:
    """FREE-cohort priorities per force (a setting).

    A force named in ``by_force`` has exactly the priorities listed for it (its own choice,
    which may or may not include domestic abuse); every other force gets ``default``. Force
    names and priority names are matched ignoring case and spacing.
    """

    default: tuple[str, ...] = DEFAULT_PRIORITIES
    by_force: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "default", _priority_list("default", self.default))
        normalised: dict[str, tuple[str, ...]] = {}
        for force, names in self.by_force.items():
            if not isinstance(force, str) or not force.strip():
                raise ValueError(f"by_force: force name {force!r} must be a non-empty string")
            normalised[_normalise(force)] = _priority_list(f"by_force[{force!r}]", names)
        object.__setattr__(self, "by_force", normalised)

    def for_force(self, force: str) -> tuple[str, ...]:
        """The priorities that apply to ``force``, as written in the settings."""
        return self.by_force.get(_normalise(force), self.default)


def _priority_list(where: str, names: Iterable[str]) -> tuple[str, ...]:
    # A bare string would iterate as characters ("k", "n", ...) and match nothing: refuse it.
    if isinstance(names, str):
        raise ValueError(f"{where}: give a list of priority names, not the string {names!r}")
    result = tuple(names)
    for name in result:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where}: priority name {name!r} must be a non-empty string")
    return result


@dataclass(frozen=True, slots=True)
class Assessment:
    """Advice for the panel: the cohort the person fits (``None``: none) and every reason."""

    person_id: str
    force: str
    cohort: Cohort | None
    reasons: tuple[str, ...]
    matched_priorities: tuple[str, ...] = ()


def _neighbourhood(candidate: Candidate, reasons: list[str]) -> bool:
    """Whether the offending is neighbourhood crime; appends one reason per offence looked at."""
    found = False
    index = candidate.index_offence
    if index is None:
        reasons.append("index offence not yet known")
    elif index == UNKNOWN_SYMBOL:
        reasons.append("index offence category not recognised by this version")
    elif index == THEFT_CATEGORY and mentions_shoplifting(candidate.offence_text):
        reasons.append(
            "index offence theft non motor is shoplifting, which is not a neighbourhood crime"
        )
    elif index in NEIGHBOURHOOD_CATEGORIES:
        reasons.append(f"index offence {_words(index)} is a neighbourhood crime")
        found = True
    else:
        reasons.append(f"index offence {_words(index)} is not a neighbourhood crime")

    # Recent offending shows whether the person is prolific in neighbourhood crime. A recent
    # non-motor theft carries no text, so it could be shoplifting: it is named, not counted.
    counted: list[str] = []
    uncertain = False
    for category in dict.fromkeys(candidate.recent_offences):
        if category == THEFT_CATEGORY:
            uncertain = True
        elif category in NEIGHBOURHOOD_CATEGORIES:
            counted.append(_words(category))
    if counted:
        reasons.append(f"recent neighbourhood crime: {', '.join(counted)}")
        found = True
    if uncertain:
        reasons.append(
            "recent theft non motor not counted as neighbourhood crime: it may be shoplifting"
        )
    # Prolific from the convictions on iom.offender.events (seed 003: "prolific in their
    # area"): a neighbourhood crime signal alongside what the referral says.
    if candidate.prolific_reason:
        reasons.append(candidate.prolific_reason)
    return found or candidate.prolific


def _risk(candidate: Candidate, reasons: list[str]) -> tuple[bool, bool]:
    """(high risk, elevated risk), appending the grade and band reasons.

    High = RED grade or HIGH/VERY_HIGH band; elevated (FLEX would help) = AMBER/RED or MEDIUM+.
    Either source suffices: the grade adds recent events to the band, the band stands in when
    no grade has been published yet.
    """
    rag = candidate.rag if candidate.rag in RAG_GRADES else None
    band = candidate.static_band
    if candidate.rag == UNKNOWN_SYMBOL:
        reasons.append("current grade not recognised by this version; using the static band")
    elif rag is None:
        reasons.append("no current RAG grade yet")
    elif rag == "RED":
        reasons.append("current grade RED: high risk of reoffending")
    elif rag == "AMBER":
        reasons.append("current grade AMBER: not high risk of reoffending, but elevated")
    else:
        reasons.append("current grade GREEN: low risk of reoffending")

    if band is None:
        reasons.append("no static band (OGRS3 facts missing)")
    elif band in HIGH_BANDS:
        reasons.append(f"static band {_words(band)}: high risk of reoffending")
    elif band == "MEDIUM":
        reasons.append("static band medium: not high risk of reoffending, but elevated")
    else:
        reasons.append("static band low: low risk of reoffending")

    high = rag == "RED" or band in HIGH_BANDS
    elevated = high or rag in ELEVATED_GRADES or band in ELEVATED_BANDS
    if rag is None and band is None:
        reasons.append("risk of reoffending unknown until graded")
    return high, elevated


def _priorities(
    candidate: Candidate, priorities: ForcePriorities, reasons: list[str]
) -> tuple[str, ...]:
    """The force priorities the candidate matches, appending why (or why not)."""
    applicable = priorities.for_force(candidate.force)
    held = {_normalise(flag) for flag in candidate.flags}
    held |= {_normalise(FLAG_ALIASES[flag]) for flag in held if flag in FLAG_ALIASES}
    if candidate.domestic_abuse_perpetrator:
        held.add(_normalise(DOMESTIC_ABUSE_PRIORITY))
    matched = tuple(name for name in applicable if _normalise(name) in held)
    if not applicable:
        reasons.append(f"force {candidate.force} has no FREE-cohort priorities")
    elif matched:
        source = " (the person's priority flags)" if candidate.flags_from_person else ""
        reasons.append(
            f"matches force priority of {candidate.force}: {', '.join(matched)}{source}")
    else:
        reasons.append(
            f"matches no force priority of {candidate.force} ({', '.join(applicable)})"
        )
    return matched


def assess(candidate: Candidate, priorities: ForcePriorities | None = None) -> Assessment:
    """Advise the panel which cohort ``candidate`` fits, with every criterion met or unmet."""
    priorities = priorities if priorities is not None else ForcePriorities()
    reasons: list[str] = []
    statutory = candidate.under_statutory_supervision
    if statutory:
        reasons.append("under statutory supervision")
    else:
        reasons.append("not under statutory supervision: only the FREE cohort can apply")
    neighbourhood = _neighbourhood(candidate, reasons)
    high, elevated = _risk(candidate, reasons)
    matched = _priorities(candidate, priorities, reasons)

    cohort: Cohort | None
    if statutory and neighbourhood and high:
        cohort = "FIXED"
        reasons.append("fits FIXED: statutory, neighbourhood crime and high risk of reoffending")
    elif statutory and elevated:
        cohort = "FLEX"
        why = "neighbourhood crime but not high risk" if neighbourhood else "no neighbourhood crime"
        reasons.append(f"fits FLEX: statutory, {why}, would benefit from the IOM approach")
    elif matched:
        cohort = "FREE"
        reasons.append("fits FREE: a force priority")
    else:
        cohort = None
        if statutory:
            reasons.append(
                "fits no cohort: risk of reoffending not shown to be elevated "
                "and no force priority matched"
            )
        else:
            reasons.append("fits no cohort: not statutory and no force priority matched")
    return Assessment(
        person_id=candidate.person_id,
        force=candidate.force,
        cohort=cohort,
        reasons=tuple(reasons),
        matched_priorities=matched,
    )
