"""Partners told of the plan actions their agency owes, not only shown a page to poll. Pure.

Seed 003: "Contact between police officer case managers and their relevant partners can take
place on a daily basis"; "Criminogenic needs are responded to through priority access to
services". An action in the intervention plan names the partner agency that delivers it
(plans.py); that agency is told:

- ``ACTION_ASSIGNED`` once per action, when the Offender Manager agrees it (subject: the
  action id; a resubmission of the same action raises nothing new);
- ``ACTION_OVERDUE`` once per action and due date, on the first tick after the due day (the
  due day itself is on time, as for plan reviews) while the action has no outcome.

Both are CaseAlerts (``details``: action_id, partner_agency, pathway, due; and need and
description unless the need is a health need). notifications sends them to police and
probation of the force and to the partner whose subscription names that agency.

Health information: an action for a health need (``needs.HEALTH_NEEDS``: substance misuse,
health) carries neither the need nor the description in the alert, so the alert is never
health information whoever receives it; the agency reads them on its own actions page,
signed in (``GET /agencies/{agency}/actions``), where it is its own action.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from services.referrals.care import plans
from services.referrals.care.needs import HEALTH_NEEDS
from services.referrals.case.dossier import Outputs, raise_alert
from services.referrals.config import ReferralsSettings

ASSIGNED: Final = "ACTION_ASSIGNED"
OVERDUE: Final = "ACTION_OVERDUE"


def details(action: Mapping[str, Any]) -> dict[str, str]:
    """What the alert says of an action: never health information (see the module doc)."""
    out = {"action_id": action["action_id"], "partner_agency": action["partner_agency"],
           "pathway": action["pathway"], "due": action["due"]}
    if action["need"] not in HEALTH_NEEDS:
        out["need"] = action["need"]
        out["description"] = action["description"]
    return out


def _what(action: Mapping[str, Any]) -> str:
    if action["need"] in HEALTH_NEEDS:
        return "see the agency's actions page"
    return str(action["description"])


def assigned(d: dict[str, Any], action: Mapping[str, Any], now: datetime, out: Outputs,
             settings: ReferralsSettings) -> None:
    """A new action agreed for a partner agency: tell the agency, once."""
    raise_alert(d, out, ASSIGNED, action["action_id"],
                f"new plan action for {action['partner_agency']}, due {action['due']}: "
                f"{_what(action)}", now, details(action), settings)


def overdue(d: dict[str, Any], plan: Mapping[str, Any] | None, today: date, now: datetime,
            out: Outputs, settings: ReferralsSettings) -> None:
    """Every open action whose due day has passed (``today`` after it): tell its agency, once
    per action and due date."""
    for action in plans.open_actions(plan):
        if today > date.fromisoformat(action["due"]):
            raise_alert(d, out, OVERDUE, f"{action['action_id']}|{action['due']}",
                        f"plan action for {action['partner_agency']} due {action['due']} is "
                        f"overdue: {_what(action)}", now, details(action), settings)
