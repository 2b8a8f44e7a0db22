"""The information sharing agreements in code: which role may receive which kinds, with
exactly which fields (notifications, the console), and which pages and APIs each role may
use (every service's routes name their roles from here). Pure.

The table is the agreement in code: a role receives a kind only if the kind is in its table,
and then only the fields listed (no more, no less). Police get the hit evidence (fixes,
distances) because they must rule a person in or out; probation gets that there was a hit and
its time, not where; partners (housing, drug and alcohol, mental health, youth offending,
prison, local authority, voluntary sector: seed 003's "other partner agencies") never receive
location data and only the kinds their work needs, and are told of the plan actions their own
agency owes (ACTION_ASSIGNED, ACTION_OVERDUE: routed to the agency named on the action only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

POLICE = "POLICE"
CENTRAL = "CENTRAL"  # the central processing team (electronic monitoring hub)
PROBATION = "PROBATION"
PARTNER_HOUSING = "PARTNER_HOUSING"
# A force's crime-file uploader (a system account or an analyst): uploads its own force's
# crimes and sees nothing about anyone.
POLICE_UPLOAD = "POLICE_UPLOAD"
# The team that runs the system: how it is doing (metrics, alerts), never a person.
OPERATIONS = "OPERATIONS"
# The data protection officer: the audit trail (who saw a person, what a user did; DPA 2018
# s.62 logs are for "verifying the lawfulness of processing", s.62(4)) and nothing else: no
# case, no grade, no location; told of nothing. Every force, as the trail is the whole
# system's (like OPERATIONS).
DATA_PROTECTION = "DATA_PROTECTION"
# Seed 003's partner agencies beyond housing: "local authorities, drug and alcohol support
# services, mental health services, accommodation providers and voluntary sector
# organisations", the youth offending team (the youth to adult transfer) and the prison
# (through the gate). Each user and recipient of these roles names its agency.
DRUG_ALCOHOL = "DRUG_ALCOHOL"
MENTAL_HEALTH = "MENTAL_HEALTH"
YOT = "YOT"
PRISON = "PRISON"
LOCAL_AUTHORITY = "LOCAL_AUTHORITY"
VOLUNTARY = "VOLUNTARY"
ROLES = (POLICE, CENTRAL, PROBATION, PARTNER_HOUSING, POLICE_UPLOAD, OPERATIONS,
         DRUG_ALCOHOL, MENTAL_HEALTH, YOT, PRISON, LOCAL_AUTHORITY, VOLUNTARY, DATA_PROTECTION)
# Agencies that deliver plan actions: each sees its own agency's actions and is told of them.
PARTNER_ROLES = frozenset({PARTNER_HOUSING, DRUG_ALCOHOL, MENTAL_HEALTH, YOT, PRISON,
                           LOCAL_AUTHORITY, VOLUNTARY})

# -- pages and APIs ------------------------------------------------------------------------
# Who manages a person's case (referrals, reports, plans, panel, MAP): police and
# probation of the person's force.
CASE_ROLES = frozenset({POLICE, PROBATION})
# Who may read a case (the report) without changing it: also the central team, without
# health information.
CASE_READERS = frozenset({POLICE, PROBATION, CENTRAL})
# Health information (needs, substance misuse, mental health, suicide and self-harm): only
# these roles. Police and probation manage the case (seed 004: the assessment "will include a
# risk assessment considering the harm the offender may cause ... to themselves"). The
# partners allowed are the clinical ones, bound by a duty of confidentiality of their own:
# - MENTAL_HEALTH: the health service itself; seed 003 names mental health services among
#   the partners that address "Finances and Health".
# - DRUG_ALCOHOL: a treatment service; substance misuse (pathway 4, "Alcohol and/or Drug
#   Misuse") is health information and the whole of its work, and the weeks after release,
#   when overdose and suicide risks peak, are when it must know of a SASH concern.
# - PRISON: prison healthcare and the custody SASH process are the prison's (the
#   GP_REGISTRATION checklist item is prison healthcare's).
# Not allowed: housing, the local authority, the voluntary sector (support, not clinical),
# the youth offending team (the transfer needs the order and the dates, not health; its own
# health workers are the health service's), the central team, upload and operations.
HEALTH_ROLES = frozenset({POLICE, PROBATION, MENTAL_HEALTH, DRUG_ALCOHOL, PRISON})
# Where a person was (trails, hit evidence): police and probation of the force, and only
# with a stated purpose.
EVIDENCE_ROLES = frozenset({POLICE, PROBATION})
# Risk grades and their reasons.
GRADE_ROLES = frozenset({POLICE, PROBATION, CENTRAL})
CRIME_UPLOAD_ROLES = frozenset({POLICE_UPLOAD})
# How the system is doing (the ops page): aggregates only, no person and no force's cases.
OPS_ROLES = frozenset({OPERATIONS, CENTRAL})
# The audit trail's page (insights' /audit, read from the audit store file): the DPO only.
AUDIT_ROLES = frozenset({DATA_PROTECTION})
# Who may be given every force ("*"): the central team (works every force's tag data),
# operations (sees the whole system, never a person) and the data protection officer (the
# trail of the whole system).
ALL_FORCE_ROLES = frozenset({CENTRAL, OPERATIONS, DATA_PROTECTION})
# Report sections that carry health information: removed for roles without it.
HEALTH_SECTIONS = ("needs", "sash", "health")

HIT = "HIT"
HIT_WITHDRAWN = "HIT_WITHDRAWN"
ZONE_BREACH = "ZONE_BREACH"
TAG_ALERT = "TAG_ALERT"
GRADE_CHANGE = "GRADE_CHANGE"
CASE_KINDS = ("URGENT_REFERRAL", "REVIEW_OVERDUE", "TRANSITION_OPENED", "FURTHER_SUPPORT",
              "YOUTH_TRANSFER_CANDIDATE", "CHECKLIST_OPENED", "RELEASE_HANDOVER",
              "RELEASE_ITEMS_UNREADY", "SASH", "PLAN_REVIEW_DUE",
              # selection at arrest: for the force's IOM team (police, probation), and the
              # central team as every non-health case kind; never partners
              "ARREST_CANDIDATE",
              "ACTION_ASSIGNED", "ACTION_OVERDUE", "TAG_NOT_FITTED", "TAG_BEYOND_LICENCE",
              "TAG_BEYOND_MAXIMUM")
# A plan action assigned to a partner agency (new) or past its due date: told to police and
# probation of the force, and to a partner only when the action names its agency
# (notifications routes these by details.partner_agency). Never health information: an
# action for a health need names neither the need nor the description (care/partners.py).
ACTION_KINDS = frozenset({"ACTION_ASSIGNED", "ACTION_OVERDUE"})
# Tag orders (seed 003: tagged on release for the licence, up to 12 months): no fitting
# within the hours after release, monitoring running past the licence end or the maximum.
TAG_ORDER_KINDS = frozenset({"TAG_NOT_FITTED", "TAG_BEYOND_LICENCE", "TAG_BEYOND_MAXIMUM"})
# Case alerts carrying health information (substance misuse and health needs, suicide and
# self-harm): only for roles whose agreement allows health information (HEALTH_ROLES: no
# partner but the clinical ones; the handover's needs and plan to police and probation only).
HEALTH_KINDS = frozenset({"RELEASE_HANDOVER", "SASH"})
KINDS = (HIT, HIT_WITHDRAWN, ZONE_BREACH, TAG_ALERT, GRADE_CHANGE, *CASE_KINDS)

# Fields that say where a person was: never for a role without a need for them.
LOCATION_FIELDS = frozenset({"fixes", "distance_m", "lat", "lon", "device_id"})

_CONTEXT = ("force", "lead_officer")  # added by routing from iom.people and cohort changes
_HIT_EVIDENCE = ("hit_id", "revision", "status", "crime_ref", "crime_version", "offence",
                 "person_id", "device_id", "distance_m", "nearest_fix_at", "fixes",
                 "detected_at", "rule_version", "crime_force", *_CONTEXT)
_WITHDRAWN = ("hit_id", "revision", "status", "crime_ref", "crime_version", "person_id",
              "detected_at", "force")
_CASE_FULL = ("alert_id", "person_id", "kind", "summary", "raised_at", "details", *_CONTEXT)
_GRADE = ("person_id", "rag", "previous_rag", "reasons", "static_score", "graded_at",
          "revision", *_CONTEXT)

_POLICE: dict[str, tuple[str, ...]] = {
    HIT: _HIT_EVIDENCE,
    HIT_WITHDRAWN: _WITHDRAWN,
    ZONE_BREACH: ("breach_id", "zone_id", "person_id", "device_id", "kind", "first_fix_at",
                  "detected_at", *_CONTEXT),
    TAG_ALERT: ("alert_id", "device_id", "person_id", "kind", "since", "detected_at",
                *_CONTEXT),
    GRADE_CHANGE: _GRADE,
    **{kind: _CASE_FULL for kind in CASE_KINDS},
}

FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    POLICE: _POLICE,
    # the central processing team works the tag data: no health information
    CENTRAL: {kind: f for kind, f in _POLICE.items() if kind not in HEALTH_KINDS},
    PROBATION: {
        HIT: ("hit_id", "revision", "status", "crime_ref", "offence", "person_id",
              "nearest_fix_at", "detected_at", *_CONTEXT),
        HIT_WITHDRAWN: _WITHDRAWN,
        ZONE_BREACH: ("breach_id", "zone_id", "person_id", "kind", "first_fix_at",
                      "detected_at", *_CONTEXT),
        TAG_ALERT: ("alert_id", "person_id", "kind", "since", "detected_at", *_CONTEXT),
        GRADE_CHANGE: (*_GRADE, "static_band", "p_one_year"),
        **{kind: _CASE_FULL for kind in CASE_KINDS},
    },
    PARTNER_HOUSING: {
        # whether to step up support, not why: no reasons, scores or case details
        GRADE_CHANGE: ("person_id", "rag", "previous_rag", "graded_at", *_CONTEXT),
        "TRANSITION_OPENED": ("alert_id", "person_id", "kind", "summary", "raised_at",
                              *_CONTEXT),
        "FURTHER_SUPPORT": ("alert_id", "person_id", "kind", "summary", "raised_at",
                            *_CONTEXT),
        # accommodation on release is theirs to arrange; which other items, and how ready
        # they are, is not theirs to know
        "CHECKLIST_OPENED": ("alert_id", "person_id", "kind", "raised_at", *_CONTEXT),
    },
    POLICE_UPLOAD: {},
    OPERATIONS: {},  # runs the system: receives nothing about anyone
    DATA_PROTECTION: {},  # reads the audit trail on its page: told of nothing
}

# -- partners beyond housing ---------------------------------------------------------------
# What every partner is told: the actions its agency owes (the action as its own actions page
# shows it; an action for a health need says neither the need nor what it is, see
# care/partners.py) and, for those working with the person in the community, whether to step
# up support (the grade, no reasons) and that the transition plan (seed 003: "IOM partners
# will provide a transition plan") or further support is to be worked on: a summary line,
# never the case details.
_ACTIONS = {kind: _CASE_FULL for kind in ACTION_KINDS}
_SUMMARY = ("alert_id", "person_id", "kind", "summary", "raised_at", *_CONTEXT)
_COMMUNITY = {
    **_ACTIONS,
    GRADE_CHANGE: FIELDS[PARTNER_HOUSING][GRADE_CHANGE],
    "TRANSITION_OPENED": _SUMMARY,
    "FURTHER_SUPPORT": _SUMMARY,
}
# Health partners (HEALTH_ROLES) are told of a suicide and self-harm concern in full, and of
# a release (a summary: the handover's needs, plan and grade are the lead officer's).
_HEALTH_PARTNER = {
    "SASH": _CASE_FULL,
    "RELEASE_HANDOVER": _SUMMARY,
}
FIELDS[PARTNER_HOUSING].update(_ACTIONS)
FIELDS[DRUG_ALCOHOL] = {
    **_COMMUNITY, **_HEALTH_PARTNER,
    # DRUG_ALCOHOL_CONTINUITY is one of the items: that the checklist opened, not its items
    "CHECKLIST_OPENED": FIELDS[PARTNER_HOUSING]["CHECKLIST_OPENED"],
}
FIELDS[MENTAL_HEALTH] = {**_COMMUNITY, **_HEALTH_PARTNER}
FIELDS[LOCAL_AUTHORITY] = {
    **_COMMUNITY,
    # accommodation on release ("local authority housing"): that the checklist opened
    "CHECKLIST_OPENED": FIELDS[PARTNER_HOUSING]["CHECKLIST_OPENED"],
}
FIELDS[VOLUNTARY] = dict(_COMMUNITY)
# The youth offending team: its own actions, and the youth to adult transfer it takes part in
# (the candidate's dates: the 18th birthday, the order's end; seed 003's transfer process).
FIELDS[YOT] = {**_ACTIONS, "YOUTH_TRANSFER_CANDIDATE": _CASE_FULL}
# The prison: its own actions, the pre-release checklist it works on in full (the items and
# who delivers them), and as a health partner SASH and the release.
FIELDS[PRISON] = {**_ACTIONS, **_HEALTH_PARTNER, "CHECKLIST_OPENED": _CASE_FULL}


# What the police of the force investigating a crime (CrimeHit.crime_force, contract 1.1)
# receive of a hit on a person another force manages: the evidence, to rule the person in
# or out, and which force manages them (to contact its IOM team); not the case itself (the
# lead officer, grades, case alerts stay with the managing force).
INVESTIGATING_ROLES = frozenset({POLICE})
INVESTIGATING: dict[str, dict[str, tuple[str, ...]]] = {
    POLICE: {
        HIT: tuple(f for f in _HIT_EVIDENCE if f != "lead_officer"),
        HIT_WITHDRAWN: (*_WITHDRAWN, "crime_force"),
    },
}


def investigates(role: str, kind: str) -> bool:
    """Whether ``role`` of a crime's force receives ``kind`` about another force's person."""
    return kind in INVESTIGATING.get(role, {})


class NotAllowed(Exception):
    """The agreement does not let this role receive this kind."""


def allows(role: str, kind: str) -> bool:
    return kind in FIELDS.get(role, {})


def fields(role: str, kind: str) -> tuple[str, ...]:
    try:
        return FIELDS[role][kind]
    except KeyError:
        raise NotAllowed(f"role {role} may not receive {kind}") from None


def minimise(role: str, kind: str, record: Mapping[str, Any],
             context: Mapping[str, Any] | None = None, *, investigating: bool = False
             ) -> dict[str, Any]:
    """Exactly the fields ``role`` may receive of a ``kind`` record: the record's own
    fields plus the routing context (force, lead officer). A field missing from both is a
    bug in the table, so it raises rather than sending less than the agreement says.
    ``investigating``: the role is the crime's force's, not the person's (INVESTIGATING)."""
    merged = {"crime_force": None, **record, **(context or {})}  # a 1.0 hit has none
    allowed = fields_of(role, kind, investigating)
    missing = [name for name in allowed if name not in merged]
    if missing:
        raise KeyError(f"{kind} for {role}: missing {', '.join(missing)}")
    return {name: merged[name] for name in allowed}


def fields_of(role: str, kind: str, investigating: bool = False) -> tuple[str, ...]:
    """The field table of ``role`` for ``kind``, as the person's force or (``investigating``)
    as the crime's force."""
    if not investigating:
        return fields(role, kind)
    try:
        return INVESTIGATING[role][kind]
    except KeyError:
        raise NotAllowed(f"role {role} of an investigating force may not receive "
                         f"{kind}") from None

