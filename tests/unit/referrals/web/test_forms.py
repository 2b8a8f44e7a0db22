"""Unit tests for services.referrals.web.forms: referral, panel decision and review input."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from iomkit.codec import Codec, SchemaRegistry
from iomkit.settings import ROOT
from services.referrals.case.panel import decide
from services.referrals.web.forms import (
    MAX_TEXT,
    REFERRAL_FIELDS,
    FieldErrors,
    decision_from_input,
    referral_from_input,
    referral_id_for,
    review_from_input,
)

SUBMITTED = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
REASON = "Prolific burglar released on licence; accommodation lost, drug use."


def form(**changes: object) -> dict[str, object]:
    """A valid form-encoded referral (all strings; the checkbox unticked, so absent)."""
    values: dict[str, object] = {
        "person_id": "P-100",
        "referring_agency": "Probation Service",
        "referrer": "J. Smith",
        "proposed_cohort": "FIXED",
        "reason": REASON,
        "index_offence": "Burglary dwelling",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def parse(data: dict[str, object]) -> dict[str, object]:
    return referral_from_input(data, referral_id="R-1", submitted_at=SUBMITTED)


def errors_of(data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(FieldErrors) as caught:
        parse(data)
    return caught.value.errors


# --- referral_from_input ---------------------------------------------------------------------


def test_a_valid_form_gives_the_referral_record_with_every_contract_field():
    record = parse(form(person_id="  P-100 ", reason=f"\n {REASON}  "))

    assert record == {
        "referral_id": "R-1",
        "person_id": "P-100",
        "referring_agency": "Probation Service",
        "referrer": "J. Smith",
        "proposed_cohort": "FIXED",
        "reason": REASON,
        "urgent": False,
        "index_offence": "Burglary dwelling",
        "submitted_at": SUBMITTED,
    }


def test_the_record_encodes_as_a_contract_referral():
    codec = Codec(SchemaRegistry(ROOT / "schemas"))
    record = parse(form(urgent="on"))

    decoded = codec.decode(codec.encode("Referral", record), expect="Referral")

    assert decoded.value == record


def test_submitted_at_is_kept_as_aware_utc():
    summer = timezone(timedelta(hours=1))
    record = referral_from_input(
        form(), referral_id="R-1", submitted_at=datetime(2026, 6, 1, 10, 0, tzinfo=summer)
    )

    assert record["submitted_at"] == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert record["submitted_at"].utcoffset() == timedelta(0)


def test_a_naive_submission_time_is_refused():
    with pytest.raises(ValueError, match="submitted_at"):
        referral_from_input(form(), referral_id="R-1", submitted_at=datetime(2026, 3, 4, 9, 30))


@pytest.mark.parametrize("ticked", ["on", "true", "1", "yes", "ON", " Yes "])
def test_a_ticked_checkbox_means_urgent(ticked: str):
    assert parse(form(urgent=ticked))["urgent"] is True


@pytest.mark.parametrize("unticked", ["", "off", "false", "0", "no"])
def test_an_explicit_no_means_not_urgent(unticked: str):
    assert parse(form(urgent=unticked))["urgent"] is False


def test_an_absent_checkbox_means_not_urgent():
    assert "urgent" not in form()
    assert parse(form())["urgent"] is False


@pytest.mark.parametrize("value", [True, False])
def test_json_booleans_are_taken_as_they_are(value: bool):
    assert parse(form(urgent=value))["urgent"] is value


@pytest.mark.parametrize(("value", "problem"), [("maybe", "not true or false"), (1, "int")])
def test_anything_else_for_urgent_is_an_error(value: object, problem: str):
    assert problem in errors_of(form(urgent=value))["urgent"]


def test_every_problem_is_reported_at_once():
    errors = errors_of({"proposed_cohort": "fixed", "reason": "help", "colour": "blue"})

    assert set(errors) == {
        "person_id",
        "referring_agency",
        "referrer",
        "proposed_cohort",
        "reason",
        "index_offence",
        "colour",
    }
    assert errors["person_id"] == "required"
    assert "'fixed' is not a cohort" in errors["proposed_cohort"]
    assert "FIXED, FLEX, FREE" in errors["proposed_cohort"]
    assert "too short" in errors["reason"]
    assert errors["colour"] == "not a field of a referral"


def test_the_error_text_lists_field_and_message():
    with pytest.raises(FieldErrors) as caught:
        parse(form(referrer="", index_offence="   "))

    assert str(caught.value) == "referrer: required; index_offence: required"
    assert isinstance(caught.value, ValueError)


def test_blank_text_counts_as_missing():
    assert errors_of(form(referring_agency=" \t\n"))["referring_agency"] == "required"


def test_the_reason_length_is_counted_after_trimming():
    nineteen = "x" * 19
    assert "got 19" in errors_of(form(reason=f"   {nineteen}   "))["reason"]
    assert parse(form(reason=f"  {nineteen}y  "))["reason"] == nineteen + "y"


def test_overlong_text_is_refused_naming_the_limit():
    assert parse(form(reason="r" * MAX_TEXT))["reason"] == "r" * MAX_TEXT
    message = errors_of(form(reason="r" * (MAX_TEXT + 1)))["reason"]
    assert "too long" in message and str(MAX_TEXT) in message


@pytest.mark.parametrize("value", [42, ["P-1"], {"id": "P-1"}])
def test_a_non_text_value_is_a_type_error(value: object):
    message = errors_of(form(person_id=value))["person_id"]
    assert message.startswith("must be text, got ")


def test_json_null_is_missing():
    assert errors_of({**form(), "index_offence": None})["index_offence"] == "required"


@pytest.mark.parametrize("cohort", ["FIXED", "FLEX", "FREE"])
def test_every_cohort_is_accepted(cohort: str):
    assert parse(form(proposed_cohort=cohort))["proposed_cohort"] == cohort


def test_the_service_sets_the_id_and_time_not_the_submitter():
    errors = errors_of(form(referral_id="mine", submitted_at="2020-01-01"))

    assert set(errors) == {"referral_id", "submitted_at"}
    assert "set by the service" in errors["referral_id"]


def test_the_referral_fields_are_the_contract_fields_the_referrer_gives():
    record = parse(form())
    assert set(REFERRAL_FIELDS) == set(record) - {"referral_id", "submitted_at"}


# --- referral_id_for -------------------------------------------------------------------------


def test_the_referral_id_is_the_hash_of_person_time_and_referrer():
    expected = hashlib.sha256(b"P-1|2026-03-04T09:30:00+00:00|J. Smith").hexdigest()[:32]
    assert referral_id_for("P-1", SUBMITTED, "J. Smith") == expected


def test_the_referral_id_is_the_same_instant_whatever_the_offset():
    summer = timezone(timedelta(hours=1))
    same = SUBMITTED.astimezone(summer)
    assert referral_id_for("P-1", same, "J. Smith") == referral_id_for("P-1", SUBMITTED, "J. Smith")


def test_the_referral_id_changes_with_each_part():
    base = referral_id_for("P-1", SUBMITTED, "J. Smith")
    assert len(base) == 32
    assert referral_id_for("P-2", SUBMITTED, "J. Smith") != base
    assert referral_id_for("P-1", SUBMITTED + timedelta(seconds=1), "J. Smith") != base
    assert referral_id_for("P-1", SUBMITTED, "K. Jones") != base


# --- decision_from_input ---------------------------------------------------------------------


def decision_form(**changes: str) -> dict[str, str]:
    values = {
        "referral_id": "R-1",
        "outcome": "ACCEPTED",
        "cohort": "FIXED",
        "pathway": "CATCH_AND_CONTROL",
        "lead_officer": " PC A. Patel ",
        "rationale": "Meets FIXED criteria.",
        "panel_date": "2026-12-01",
    }
    values.update(changes)
    return values


def test_a_decision_form_is_typed():
    assert decision_from_input(decision_form()) == {
        "referral_id": "R-1",
        "outcome": "ACCEPTED",
        "cohort": "FIXED",
        "pathway": "CATCH_AND_CONTROL",
        "lead_officer": "PC A. Patel",
        "rationale": "Meets FIXED criteria.",
        "panel_date": date(2026, 12, 1),
        "chair": None,
        "agencies_present": [],
    }


def test_the_chair_and_agencies_present_come_from_a_form_or_json():
    typed = decision_from_input(decision_form(
        chair=" Supt Hale ", agencies_present="Hampshire Police\nProbation, Housing\n"))
    assert typed["chair"] == "Supt Hale"
    assert typed["agencies_present"] == ["Hampshire Police", "Probation", "Housing"]
    typed = decision_from_input({**decision_form(), "agencies_present": ["Probation", " "]})
    assert typed["agencies_present"] == ["Probation"]
    with pytest.raises(FieldErrors) as caught:
        decision_from_input({**decision_form(), "agencies_present": 3})
    assert "agencies_present" in caught.value.errors


def test_blank_optional_choices_become_none():
    typed = decision_from_input(
        decision_form(outcome="DEFERRED", cohort="", pathway=" ", lead_officer="", rationale="")
    )
    assert typed["cohort"] is None and typed["pathway"] is None
    assert typed["lead_officer"] is None and typed["rationale"] is None


def test_a_typed_decision_goes_straight_to_panel_decide():
    typed = decision_from_input(decision_form())
    referral = {"referral_id": typed.pop("referral_id"), "person_id": "P-1"}

    decided = decide(referral, decided_at=datetime(2026, 12, 1, 15, tzinfo=UTC), **typed)

    assert decided.decision["lead_officer"] == "PC A. Patel"
    assert decided.cohort_change is not None


def test_every_decision_problem_is_reported_at_once():
    with pytest.raises(FieldErrors) as caught:
        decision_from_input(
            {"outcome": "MAYBE", "cohort": "FIX", "pathway": "DETER", "panel_date": "", "x": "1"}
        )

    errors = caught.value.errors
    assert set(errors) == {"referral_id", "outcome", "cohort", "pathway", "panel_date", "x"}
    assert "not a panel outcome" in errors["outcome"]
    assert "not a pathway" in errors["pathway"]
    assert errors["panel_date"] == "required"
    assert errors["x"] == "not a field of a panel decision"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2026-02-30", "not a date in the calendar"),
        ("20261201", "expected YYYY-MM-DD"),
        ("01/12/2026", "expected YYYY-MM-DD"),
        ("2026-12-01T10:00", "expected YYYY-MM-DD"),
    ],
)
def test_panel_date_must_be_a_calendar_date(text: str, problem: str):
    with pytest.raises(FieldErrors) as caught:
        decision_from_input(decision_form(panel_date=text))
    assert problem in caught.value.errors["panel_date"]


# --- review_from_input -----------------------------------------------------------------------


def test_a_review_is_typed_and_reviewed_on_is_optional():
    assert review_from_input(
        {"supervisor": " Sgt B. Jones ", "finding": "Proportionate.", "reviewed_on": ""}
    ) == {"supervisor": "Sgt B. Jones", "finding": "Proportionate.", "reviewed_on": None}
    typed = review_from_input(
        {"supervisor": "Sgt B. Jones", "finding": "Proportionate.", "reviewed_on": "2026-02-28"}
    )
    assert typed["reviewed_on"] == date(2026, 2, 28)


def test_a_review_needs_supervisor_and_finding_and_a_real_date():
    with pytest.raises(FieldErrors) as caught:
        review_from_input({"supervisor": "", "reviewed_on": "2026-13-01", "rag": "RED"})

    assert caught.value.errors == {
        "supervisor": "required",
        "finding": "required",
        "reviewed_on": "'2026-13-01' is not a date in the calendar",
        "rag": "not a field of a supervisor review",
    }


# --- case records' forms -----------------------------------------------------------------------


def test_plan_steps_come_from_json_or_the_forms_numbered_rows_blank_rows_left_out():
    from services.referrals.web.forms import plan_steps_from_input

    assert plan_steps_from_input({"steps": [{"from": "2026-01-01"}]}, 3) == [
        {"from": "2026-01-01"}]
    form = {"from_0": "2026-01-01", "action_0": "weekly", "who_0": "OM", "contact_0": "WEEKLY",
            "from_1": "", "action_1": " ", "who_1": "", "contact_1": "",
            "from_2": "2026-02-01", "contact_2": "MONTHLY"}
    steps = plan_steps_from_input(form, 3)
    assert [s["from"] for s in steps] == ["2026-01-01", "2026-02-01"]
    assert steps[1]["who"] is None  # left for the plan's check to name


def test_minutes_come_from_the_packs_form():
    from services.referrals.web.forms import minutes_from_input

    form = {"force": "Hampshire", "meeting_date": "2026-11-24", "attendees": "A\nB",
            "discussed": "P-1\nP-2, ", "person_id_0": "P-1", "description_0": "drug test",
            "owner_agency_0": "DAS", "due_0": "2026-12-01", "person_id_1": ""}
    found = minutes_from_input(form, 2)
    assert found["discussed"] == ["P-1", "P-2"]
    assert found["actions"] == [{"person_id": "P-1", "description": "drug test",
                                 "owner_agency": "DAS", "due": "2026-12-01"}]
    assert "person_id_0" not in found
    body = {"discussed": [{"person_id": "P-1"}], "actions": []}
    assert minutes_from_input(body, 2) == body
