"""Tag orders: GPS tagging on release checked against the licence. Pure: no I/O, no logging.

The rules are functions of a state and a clock; ``enrolment``, ``release`` and ``apply`` keep
the state in the dossier (``d["tags"]``) and raise the alerts.

Seed 003: "Offenders will be GPS-tagged on release from prison for the duration of their
licence period up to a maximum of 12 months." Three rules, each a CaseAlert raised once
(``dossier.raise_alert``: alert_id from the person, the kind and the subject below):

1. **Not fitted in time** (``TAG_NOT_FITTED``, subject: the release instant). A release
   (``RELEASED`` or ``RELEASED_ON_LICENCE``, at its ``occurred_at``) requires a tag when the
   licence is a neighbourhood-crime licence: the release event's
   ``details.neighbourhood_licence`` when it says, else the flag kept from the last
   ``RELEASE_DATE_SET`` (its ``details.neighbourhood_licence``, or the offence when it did
   not say; gate state), else, with no release date ever set, the person's current
   offence (the same reading as the pre-release checklist's TAG_FITTING item,
   ``casework._neighbourhood``). The tag is fitted in time when a FITTED enrolment of
   the person has ``effective_at`` within ``hours`` (a setting, 24) of the release, either
   side, both ends included: exactly 24 h after is in time (and a tag fitted at the gate
   just before the recorded release counts). The alert is raised at the first input or tick
   whose clock is strictly after release + hours with no such enrolment; a fitting that
   arrives later does not withdraw it (it was not fitted in time).
2. **Past the licence end** (``TAG_BEYOND_LICENCE``, subject: enrolment and licence end). A
   current FITTED enrolment (the latest of its device) whose ``monitoring_ends_at`` falls on a
   UK day after the licence end date (``Person.licence_end_date``; else the release event's
   ``details.licence_end_date``). The licence end date is the licence's last day: monitoring
   ending at any time that UK day is within it. An enrolment without ``monitoring_ends_at``
   runs past when the clock's UK day is after the licence end and it is still fitted.
3. **Past the maximum** (``TAG_BEYOND_MAXIMUM``, subject: enrolment and the last allowed
   day). The maximum runs from the first fitting of the monitoring (the earliest FITTED
   ``effective_at`` since the latest release's window, or of all kept enrolments when no
   release is known; a change of device does not restart it): its last allowed day is that
   UK day plus ``months`` (12) calendar months, clamped to the month's end (fitted 29
   February 2028: last day 28 February 2029; fitted 31 January: 31 January next year).
   Monitoring ending on a later UK day runs past; without an end, it runs past once the
   clock's UK day is after the last allowed day while still fitted.

The state (``d["tags"]``, JSON-able):

.. code-block:: python

    {"released_at": str | None, "requires_tag": bool, "release_licence_end": str | None,
     "release_checked": bool,  # rule 1 raised for this release: no more ticks for it
     "enrolments": {enrolment_id: {"device_id", "status", "effective_at",
                                   "monitoring_ends_at": str | None}}}

Bounded: on a release, enrolments no longer current and from before the release's window are
dropped; at most ``KEEP`` are kept (the oldest not current go first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from services.referrals.case.dossier import Outputs, raise_alert
from services.referrals.case.panel import uk_local_date
from services.referrals.case.youth import add_months
from services.referrals.config import ReferralsSettings

NOT_FITTED: Final = "TAG_NOT_FITTED"
BEYOND_LICENCE: Final = "TAG_BEYOND_LICENCE"
BEYOND_MAXIMUM: Final = "TAG_BEYOND_MAXIMUM"
FIT_HOURS: Final = 24.0
MAX_MONTHS: Final = 12
KEEP: Final = 20  # enrolments kept per person (a spell has one or a few: device swaps)
_TRUE: Final = ("true", "yes", "1")


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str
    summary: str
    details: dict[str, str]


def new() -> dict[str, Any]:
    return {"released_at": None, "requires_tag": False, "release_licence_end": None,
            "release_checked": False, "enrolments": {}}


def _at(text: str | None) -> datetime | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _text(moment: datetime | str | None) -> str | None:
    if moment is None or isinstance(moment, str):
        return None if moment is None else _text(_at(moment))
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat()


def requires_tag(event_details: Mapping[str, str], gate_flag: bool | None,
                 offence_says: bool) -> bool:
    """Rule 1's reading of whether the licence requires a tag (see the module doc)."""
    said = event_details.get("neighbourhood_licence")
    if said is not None:
        return said.strip().lower() in _TRUE
    if gate_flag is not None:
        return gate_flag
    return offence_says


# -- inputs ----------------------------------------------------------------------------------


def on_enrolment(state: Mapping[str, Any], enrolment: Mapping[str, Any]) -> dict[str, Any]:
    out = _copy(state)
    out["enrolments"][enrolment["enrolment_id"]] = {
        "device_id": enrolment["device_id"], "status": enrolment["status"],
        "effective_at": _text(enrolment["effective_at"]),
        "monitoring_ends_at": _text(enrolment.get("monitoring_ends_at"))}
    _bound(out)
    return out


def on_release(state: Mapping[str, Any], released_at: datetime, requires: bool,
               licence_end: str | None, hours: float = FIT_HOURS) -> dict[str, Any]:
    """A release: the window for rule 1 and the start of the maximum. Enrolments of earlier
    spells that are no longer current are forgotten."""
    out = _copy(state)
    out["released_at"] = _text(released_at)
    out["requires_tag"] = requires
    out["release_licence_end"] = licence_end
    out["release_checked"] = False
    since = _window_start(out, hours)
    current = _current_ids(out)
    out["enrolments"] = {k: e for k, e in out["enrolments"].items()
                         if k in current or since is None or _at(e["effective_at"]) >= since}
    return out


def _copy(state: Mapping[str, Any]) -> dict[str, Any]:
    return {**state, "enrolments": {k: dict(v) for k, v in state["enrolments"].items()}}


def _bound(state: dict[str, Any]) -> None:
    kept = state["enrolments"]
    if len(kept) <= KEEP:
        return
    current = _current_ids(state)
    oldest = sorted(kept, key=lambda k: (k in current, kept[k]["effective_at"], k))
    for key in oldest[:len(kept) - KEEP]:
        del kept[key]


def _current_ids(state: Mapping[str, Any]) -> set[str]:
    """FITTED enrolments that are their device's latest (by effective_at, then id)."""
    latest: dict[str, tuple[str, str]] = {}
    for key, e in state["enrolments"].items():
        held = latest.get(e["device_id"])
        if held is None or (e["effective_at"], key) > held:
            latest[e["device_id"]] = (e["effective_at"], key)
    return {key for _, key in latest.values() if state["enrolments"][key]["status"] == "FITTED"}


def _window_start(state: Mapping[str, Any], hours: float) -> datetime | None:
    released = _at(state["released_at"])
    return None if released is None else released - timedelta(hours=hours)


# -- the rules -------------------------------------------------------------------------------


def maximum_last_day(first_fitted: datetime, months: int = MAX_MONTHS) -> date:
    """The last UK day monitoring may run: the first fitting's UK day plus ``months``."""
    return add_months(uk_local_date(first_fitted), months)


def runs_past(ends_at: datetime | None, last_day: date, now: datetime) -> bool:
    """Whether monitoring ending ``ends_at`` (``None``: no end set, still fitted) runs past
    ``last_day`` (a UK date, itself allowed)."""
    if ends_at is None:
        return uk_local_date(now) > last_day
    return uk_local_date(ends_at) > last_day


def first_fitted(state: Mapping[str, Any], hours: float = FIT_HOURS) -> datetime | None:
    since = _window_start(state, hours)
    times = [_at(e["effective_at"]) for e in state["enrolments"].values()
             if e["status"] == "FITTED"]
    eligible = [t for t in times if t is not None and (since is None or t >= since)]
    return min(eligible, default=None)


def fitted_in_time(state: Mapping[str, Any], hours: float = FIT_HOURS) -> bool:
    released = _at(state["released_at"])
    if released is None:
        return False
    window = timedelta(hours=hours)
    return any(e["status"] == "FITTED" and abs(_at(e["effective_at"]) - released) <= window
               for e in state["enrolments"].values())


def check(state: Mapping[str, Any], licence_end: date | None, now: datetime, *,
          hours: float = FIT_HOURS, months: int = MAX_MONTHS) -> list[Finding]:
    """Every rule's finding as of ``now`` (the caller raises each once)."""
    found: list[Finding] = []
    released = _at(state["released_at"])
    if released is not None and state["requires_tag"]:
        deadline = released + timedelta(hours=hours)
        if now > deadline and not fitted_in_time(state, hours):
            found.append(Finding(
                NOT_FITTED, _text(released) or "",
                f"released {uk_local_date(released).isoformat()} on a licence requiring a GPS "
                f"tag: no tag fitted within {hours:g} hours",
                {"released_at": _text(released) or "", "deadline": _text(deadline) or "",
                 "hours": f"{hours:g}"}))
    current = _current_ids(state)
    start = first_fitted(state, hours)
    last_allowed = None if start is None else maximum_last_day(start, months)
    for key in sorted(current):
        e = state["enrolments"][key]
        ends = _at(e["monitoring_ends_at"])
        ends_text = e["monitoring_ends_at"] or "not set"
        if licence_end is not None and runs_past(ends, licence_end, now):
            found.append(Finding(
                BEYOND_LICENCE, f"{key}|{licence_end.isoformat()}",
                f"tag monitoring (ends {ends_text}) runs past the licence end "
                f"{licence_end.isoformat()}",
                {"enrolment_id": key, "monitoring_ends_at": ends_text,
                 "licence_end_date": licence_end.isoformat()}))
        if last_allowed is not None and start is not None and runs_past(ends, last_allowed, now):
            found.append(Finding(
                BEYOND_MAXIMUM, f"{key}|{last_allowed.isoformat()}",
                f"tag monitoring (ends {ends_text}) runs past the {months}-month maximum "
                f"({last_allowed.isoformat()})",
                {"enrolment_id": key, "monitoring_ends_at": ends_text,
                 "first_fitted_at": _text(start) or "",
                 "maximum_last_day": last_allowed.isoformat(), "months": str(months)}))
    return found


def needs_tick(state: Mapping[str, Any] | None, hours: float = FIT_HOURS) -> bool:
    """Whether dates passing can still raise something: a release whose fitting is still
    to be checked, or a current enrolment without an end set (live monitoring)."""
    if not state:
        return False
    if state["released_at"] is not None and state["requires_tag"] \
            and not state.get("release_checked") and not fitted_in_time(state, hours):
        return True
    return any(state["enrolments"][k]["monitoring_ends_at"] is None
               for k in _current_ids(state))


# -- on the dossier --------------------------------------------------------------------------


def _licence_end(d: Mapping[str, Any], state: Mapping[str, Any]) -> date | None:
    text = (d.get("person") or {}).get("licence_end_date") or state["release_licence_end"]
    return None if not text else date.fromisoformat(str(text)[:10])


def _state(d: dict[str, Any]) -> dict[str, Any]:
    held = d.get("tags")
    if held is None:
        held = d["tags"] = new()
    return held


def apply(d: dict[str, Any], now: datetime, out: Outputs, settings: ReferralsSettings) -> None:
    """Raise every finding once (the alert id is the person, the kind and the subject)."""
    state = d.get("tags")
    if state is None or d.get("person") is None:
        return  # until the person's record names their force and licence end
    for finding in check(state, _licence_end(d, state), now, hours=settings.tag_fit_hours,
                         months=settings.tag_max_months):
        raise_alert(d, out, finding.kind, finding.subject, finding.summary, now,
                    finding.details, settings)
        if finding.kind == NOT_FITTED:
            state["release_checked"] = True  # no more ticks needed for this release


def enrolment(d: dict[str, Any], value: Mapping[str, Any], now: datetime, out: Outputs,
              settings: ReferralsSettings) -> None:
    d["tags"] = on_enrolment(_state(d), value)
    apply(d, now, out, settings)


def release(d: dict[str, Any], event: Mapping[str, Any], gate_flag: bool | None,
            offence_says: bool, now: datetime, out: Outputs,
            settings: ReferralsSettings) -> None:
    details = event.get("details") or {}
    d["tags"] = on_release(_state(d), event["occurred_at"],
                           requires_tag(details, gate_flag, offence_says),
                           details.get("licence_end_date") or None, settings.tag_fit_hours)
    apply(d, now, out, settings)
