"""The role/field matrix: each role receives exactly its fields of each kind, no more."""

from __future__ import annotations

import pytest

from iomkit.identity.isa import (
    ACTION_KINDS,
    CASE_KINDS,
    FIELDS,
    HEALTH_KINDS,
    HEALTH_ROLES,
    KINDS,
    LOCATION_FIELDS,
    PARTNER_ROLES,
    ROLES,
    NotAllowed,
    allows,
    fields,
    investigates,
    minimise,
)
from tests.unit.notifications import support

CONTEXT = {"force": "Hampshire", "lead_officer": "PC Smith"}
RECORDS = {
    "HIT": support.hit(), "HIT_WITHDRAWN": support.hit(2, "WITHDRAWN"),
    "ZONE_BREACH": support.breach(), "TAG_ALERT": support.tag_alert(),
    "GRADE_CHANGE": support.grade(),
    **{kind: support.case_alert(kind) for kind in CASE_KINDS},
}

# The agreement, written out: what each role receives of a hit. A change here is a change to
# the ISA and must be deliberate.
EXPECTED_HIT = {
    "POLICE": {"hit_id", "revision", "status", "crime_ref", "crime_version", "offence",
               "person_id", "device_id", "distance_m", "nearest_fix_at", "fixes",
               "detected_at", "rule_version", "crime_force", "force", "lead_officer"},
    "CENTRAL": {"hit_id", "revision", "status", "crime_ref", "crime_version", "offence",
                "person_id", "device_id", "distance_m", "nearest_fix_at", "fixes",
                "detected_at", "rule_version", "crime_force", "force", "lead_officer"},
    "PROBATION": {"hit_id", "revision", "status", "crime_ref", "offence", "person_id",
                  "nearest_fix_at", "detected_at", "force", "lead_officer"},
}
EXPECTED_KINDS = {
    "POLICE": set(KINDS), "CENTRAL": set(KINDS) - HEALTH_KINDS, "PROBATION": set(KINDS),
    "PARTNER_HOUSING": {"GRADE_CHANGE", "TRANSITION_OPENED", "FURTHER_SUPPORT",
                        "CHECKLIST_OPENED", "ACTION_ASSIGNED", "ACTION_OVERDUE"},
    "POLICE_UPLOAD": set(),  # uploads crimes, receives nothing about anyone
    "OPERATIONS": set(),  # runs the system: nothing about anyone
    "DATA_PROTECTION": set(),  # the audit trail on its page: told of nothing
    # partners beyond housing: their own actions; the clinical ones SASH and the release
    "DRUG_ALCOHOL": {"ACTION_ASSIGNED", "ACTION_OVERDUE", "GRADE_CHANGE", "TRANSITION_OPENED",
                     "FURTHER_SUPPORT", "CHECKLIST_OPENED", "SASH", "RELEASE_HANDOVER"},
    "MENTAL_HEALTH": {"ACTION_ASSIGNED", "ACTION_OVERDUE", "GRADE_CHANGE", "TRANSITION_OPENED",
                      "FURTHER_SUPPORT", "SASH", "RELEASE_HANDOVER"},
    "LOCAL_AUTHORITY": {"ACTION_ASSIGNED", "ACTION_OVERDUE", "GRADE_CHANGE",
                        "TRANSITION_OPENED", "FURTHER_SUPPORT", "CHECKLIST_OPENED"},
    "VOLUNTARY": {"ACTION_ASSIGNED", "ACTION_OVERDUE", "GRADE_CHANGE", "TRANSITION_OPENED",
                  "FURTHER_SUPPORT"},
    "YOT": {"ACTION_ASSIGNED", "ACTION_OVERDUE", "YOUTH_TRANSFER_CANDIDATE"},
    "PRISON": {"ACTION_ASSIGNED", "ACTION_OVERDUE", "CHECKLIST_OPENED", "SASH",
               "RELEASE_HANDOVER"},
}
PARTNERS = ("PARTNER_HOUSING", "DRUG_ALCOHOL", "MENTAL_HEALTH", "YOT", "PRISON",
            "LOCAL_AUTHORITY", "VOLUNTARY")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", KINDS)
def test_each_role_receives_exactly_its_fields(role: str, kind: str) -> None:
    if kind not in EXPECTED_KINDS[role]:
        assert not allows(role, kind)
        with pytest.raises(NotAllowed):
            minimise(role, kind, RECORDS[kind], CONTEXT)
        return
    sent = minimise(role, kind, RECORDS[kind], CONTEXT)
    assert set(sent) == set(FIELDS[role][kind])
    for name, value in sent.items():
        assert value == {**RECORDS[kind], **CONTEXT}[name]  # passed unchanged


@pytest.mark.parametrize("role", ["POLICE", "CENTRAL", "PROBATION"])
def test_hit_fields_per_role(role: str) -> None:
    assert set(minimise(role, "HIT", support.hit(), CONTEXT)) == EXPECTED_HIT[role]


def test_only_police_roles_receive_location() -> None:
    for role in ROLES:
        for kind, names in FIELDS[role].items():
            if role not in ("POLICE", "CENTRAL"):
                assert not LOCATION_FIELDS & set(names), (role, kind)
    assert "fixes" in FIELDS["POLICE"]["HIT"]


def test_housing_gets_no_reasons_scores_or_details() -> None:
    sent = minimise("PARTNER_HOUSING", "GRADE_CHANGE", support.grade(), CONTEXT)
    assert set(sent) == {"person_id", "rag", "previous_rag", "graded_at", "force",
                         "lead_officer"}
    sent = minimise("PARTNER_HOUSING", "FURTHER_SUPPORT", support.case_alert("FURTHER_SUPPORT"),
                    CONTEXT)
    assert "details" not in sent


def test_unknown_role_is_refused() -> None:
    with pytest.raises(NotAllowed):
        minimise("PRESS", "HIT", support.hit(), CONTEXT)


def test_missing_field_is_a_bug_not_a_smaller_payload() -> None:
    record = support.hit()
    del record["fixes"]
    with pytest.raises(KeyError, match="fixes"):
        minimise("POLICE", "HIT", record, CONTEXT)


@pytest.mark.parametrize("kind", sorted(HEALTH_KINDS))
def test_health_information_reaches_only_roles_whose_agreement_allows_it(kind: str) -> None:
    from services.referrals.care.gate import may_share_health
    for role in ROLES:
        assert allows(role, kind) == may_share_health(role), role
    assert not allows("PARTNER_HOUSING", kind)


def test_a_partner_learns_the_checklist_opened_but_not_its_items_or_readiness() -> None:
    sent = minimise("PARTNER_HOUSING", "CHECKLIST_OPENED", RECORDS["CHECKLIST_OPENED"],
                    CONTEXT)
    assert "details" not in sent and "summary" not in sent
    assert not allows("PARTNER_HOUSING", "RELEASE_ITEMS_UNREADY")


def test_the_agreement_is_written_out_for_every_role() -> None:
    assert set(EXPECTED_KINDS) == set(ROLES) == set(FIELDS)
    assert PARTNER_ROLES == set(PARTNERS)


@pytest.mark.parametrize("role", PARTNERS)
def test_no_partner_ever_gets_location_reasons_or_the_handover(role: str) -> None:
    for kind, names in FIELDS[role].items():
        assert not LOCATION_FIELDS & set(names), kind
        assert not {"reasons", "static_score", "fixes"} & set(names), kind
    if allows(role, "RELEASE_HANDOVER"):  # that they were released, not the needs and plan
        assert "details" not in fields(role, "RELEASE_HANDOVER")
    if allows(role, "GRADE_CHANGE"):
        assert fields(role, "GRADE_CHANGE") == FIELDS["PARTNER_HOUSING"]["GRADE_CHANGE"]


@pytest.mark.parametrize("role", ROLES)
def test_mental_health_and_other_health_information_only_to_health_roles(role: str) -> None:
    """SASH (suicide and self-harm, mental health) and the release handover (needs,
    substance misuse) reach a role exactly when its agreement allows health information."""
    for kind in HEALTH_KINDS:
        assert allows(role, kind) == (role in HEALTH_ROLES), (role, kind)
    assert HEALTH_ROLES == {"POLICE", "PROBATION", "MENTAL_HEALTH", "DRUG_ALCOHOL", "PRISON"}


def test_every_partner_is_told_of_its_actions_and_police_and_probation_too() -> None:
    for role in (*PARTNERS, "POLICE", "PROBATION", "CENTRAL"):
        assert ACTION_KINDS <= set(FIELDS[role]), role
    assert not allows("OPERATIONS", "ACTION_ASSIGNED")
    assert not allows("POLICE_UPLOAD", "ACTION_OVERDUE")


# The police of the force that reported the crime (contract 1.1): the evidence and which
# force manages the person, not the case (no lead officer). Nobody else investigates.
EXPECTED_INVESTIGATING_HIT = EXPECTED_HIT["POLICE"] - {"lead_officer"}


@pytest.mark.parametrize("role", ROLES)
def test_only_police_of_the_crime_force_investigate(role: str) -> None:
    if role != "POLICE":
        assert not investigates(role, "HIT")
        with pytest.raises(NotAllowed):
            minimise(role, "HIT", RECORDS["HIT"], CONTEXT, investigating=True)
        return
    sent = minimise(role, "HIT", RECORDS["HIT"], CONTEXT, investigating=True)
    assert set(sent) == EXPECTED_INVESTIGATING_HIT
    assert sent["force"] == "Hampshire" and sent["fixes"] == RECORDS["HIT"]["fixes"]
    withdrawn = minimise(role, "HIT_WITHDRAWN", RECORDS["HIT_WITHDRAWN"], CONTEXT,
                         investigating=True)
    assert "lead_officer" not in withdrawn and "crime_force" in withdrawn
    for kind in set(KINDS) - {"HIT", "HIT_WITHDRAWN"}:
        assert not investigates(role, kind)


def test_a_hit_written_before_1_1_has_no_crime_force() -> None:
    old = {k: v for k, v in RECORDS["HIT"].items() if k != "crime_force"}
    assert minimise("POLICE", "HIT", old, CONTEXT)["crime_force"] is None


def test_the_readme_says_what_every_role_sees() -> None:
    from iomkit.settings import ROOT
    table = (ROOT / "README.md").read_text().split("**Who may see what**")[1].split("\n\n")[1]
    named = {word.strip("` ") for row in table.splitlines()[2:]
             for word in row.split("|")[1].replace(",", " ").split()}
    assert set(ROLES) <= named, set(ROLES) - named


def test_a_user_investigates_only_a_crime_of_their_force_about_another_forces_person() -> None:
    from iomkit.identity.principal import Principal

    tvp = Principal("tvp", ("Thames Valley",), "POLICE")
    assert tvp.investigates("HIT", "Hampshire", "Thames Valley")
    assert not tvp.investigates("HIT", "Thames Valley", "Thames Valley")  # their own person
    assert not tvp.investigates("HIT", "Hampshire", "Kent")
    assert not tvp.investigates("HIT", "Hampshire", None)  # a 1.0 hit names no crime force
    assert not tvp.investigates("ZONE_BREACH", "Hampshire", "Thames Valley")
    pdu = Principal("pdu", ("Thames Valley",), "PROBATION")
    assert not pdu.investigates("HIT", "Hampshire", "Thames Valley")
