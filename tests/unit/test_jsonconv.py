"""JSON input: conversions, and errors that name the record, the field and the problem."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from iomkit.jsonconv import FieldError, RecordError, from_json

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.avsc").read_text())


def example(name: str, **changes: Any) -> dict[str, Any]:
    obj = json.loads((SCHEMAS / "examples" / f"{name}.json").read_text())
    obj.update(changes)
    return obj


def errors_of(name: str, obj: Any) -> list[FieldError]:
    with pytest.raises(RecordError) as caught:
        from_json(schema(name), obj)
    assert caught.value.record == name
    assert str(caught.value).startswith(f"{name}: ")
    return caught.value.errors


def only_error(name: str, obj: Any) -> FieldError:
    errors = errors_of(name, obj)
    assert len(errors) == 1, errors
    return errors[0]


def test_missing_required_field() -> None:
    obj = example("Person")
    del obj["sex"]
    assert only_error("Person", obj) == FieldError("Person.sex", "missing required field")


def test_unknown_field() -> None:
    error = only_error("Person", example("Person", nickname="Jo"))
    assert error == FieldError("Person.nickname", "unknown field")


@pytest.mark.parametrize(
    ("field", "bad", "problem"),
    [
        ("force", 44, "expected a string, got 44"),
        ("under_statutory_supervision", "yes", 'expected true or false, got "yes"'),
        ("previous_sanctions", "3", 'expected a whole number, got "3"'),
        ("previous_sanctions", 3.5, "expected a whole number, got 3.5"),
        ("previous_sanctions", True, "expected a whole number, got true"),
    ],
)
def test_wrong_type(field: str, bad: Any, problem: str) -> None:
    error = only_error("Person", example("Person", **{field: bad}))
    assert error == FieldError(f"Person.{field}", problem)


def test_wrong_type_for_a_double() -> None:
    error = only_error("TagPing", example("TagPing", lat="50.9"))
    assert error == FieldError("TagPing.lat", 'expected a number, got "50.9"')


def test_bad_enum_symbol_lists_the_allowed_symbols() -> None:
    error = only_error("Person", example("Person", sex="F"))
    assert error.field == "Person.sex"
    assert error.problem == 'expected one of MALE, FEMALE, UNKNOWN; got "F"'


def test_bad_enum_symbol_in_a_nullable_field() -> None:
    error = only_error("Person", example("Person", current_offence="ARSON"))
    assert error.field == "Person.current_offence"
    assert error.problem.startswith("expected one of VIOLENCE, ROBBERY,")
    assert error.problem.endswith('; got "ARSON"')


@pytest.mark.parametrize("bad", ["1972-13-01", "09/09/1972", "1972-02-30", 19720909])
def test_bad_date(bad: Any) -> None:
    error = only_error("Person", example("Person", date_of_birth=bad))
    assert error.field == "Person.date_of_birth"
    assert error.problem.startswith("expected a date YYYY-MM-DD, got ")


def test_timestamp_without_zone() -> None:
    error = only_error("TagPing", example("TagPing", recorded_at="2026-11-01T21:42:10"))
    assert error == FieldError(
        "TagPing.recorded_at",
        "timestamp '2026-11-01T21:42:10' has no time zone; add Z for UTC",
    )


@pytest.mark.parametrize("bad", ["yesterday", "", 1.5e12, None])
def test_not_a_timestamp(bad: Any) -> None:
    error = only_error("TagPing", example("TagPing", recorded_at=bad))
    assert error.field == "TagPing.recorded_at"
    assert "ISO-8601 timestamp" in error.problem or "must not be null" in error.problem


@pytest.mark.parametrize("bad", [10**20, 2**63 - 1, -(10**18)])
def test_epoch_millis_out_of_range_is_a_field_error(bad: int) -> None:
    error = only_error("TagPing", example("TagPing", recorded_at=bad))
    assert error == FieldError("TagPing.recorded_at", f"epoch milliseconds {bad} are out of range")


@pytest.mark.parametrize("bad", [2**31, -(2**31) - 1])
def test_int_out_of_range(bad: int) -> None:
    error = only_error("Person", example("Person", previous_sanctions=bad))
    assert error == FieldError("Person.previous_sanctions", f"{bad} is out of range for int")


def test_int_range_edges_are_accepted() -> None:
    for edge in (2**31 - 1, -(2**31)):
        assert from_json(schema("Person"), example("Person", previous_sanctions=edge))[
            "previous_sanctions"
        ] == edge


def test_null_for_a_non_nullable_field() -> None:
    error = only_error("Person", example("Person", force=None))
    assert error == FieldError("Person.force", "expected a string, got null")
    error = only_error("Person", example("Person", sex=None))
    assert error.field == "Person.sex" and error.problem.endswith("got null")


def test_nested_array_item_error_names_its_path() -> None:
    obj = example("CrimeHit")
    fix = copy.deepcopy(obj["fixes"][0])
    obj["fixes"].append({**fix, "lat": "north"})
    assert only_error("CrimeHit", obj) == FieldError(
        "CrimeHit.fixes[1].lat", 'expected a number, got "north"'
    )


def test_nested_record_missing_and_unknown_fields() -> None:
    obj = example("CrimeHit")
    del obj["fixes"][0]["accuracy_m"]
    obj["fixes"][0]["speed"] = 3
    assert errors_of("CrimeHit", obj) == [
        FieldError("CrimeHit.fixes[0].speed", "unknown field"),
        FieldError("CrimeHit.fixes[0].accuracy_m", "missing required field"),
    ]


def test_nested_polygon_point_error() -> None:
    obj = example("ExclusionZone")
    obj["polygon"][2][1] = "west"
    error = only_error("ExclusionZone", obj)
    assert error == FieldError("ExclusionZone.polygon[2][1]", 'expected a number, got "west"')


def test_map_value_error() -> None:
    error = only_error("OffenderEvent", example("OffenderEvent", details={"custody_ref": 7}))
    assert error == FieldError("OffenderEvent.details.custody_ref", "expected a string, got 7")


def test_not_an_object() -> None:
    assert only_error("Person", ["P-1"]) == FieldError("Person", 'expected an object, got ["P-1"]')


def test_several_errors_are_reported_at_once() -> None:
    obj = example("Person", sex="X", previous_sanctions=-(2**40), colour="blue")
    del obj["person_id"]
    errors = errors_of("Person", obj)
    assert {e.field for e in errors} == {
        "Person.colour", "Person.person_id", "Person.sex", "Person.previous_sanctions",
    }
    message = str(RecordError("Person", errors))
    assert "Person.person_id: missing required field" in message
    assert "Person.colour: unknown field" in message


@pytest.mark.parametrize(
    "stamp",
    ["2026-11-01T21:42:10Z", "2026-11-01T21:42:10+00:00", "2026-11-01T22:42:10+01:00",
     "2026-11-01T16:42:10-05:00", "2026-11-01T21:42:10.000Z", 1793569330000],
)
def test_timestamps_accept_zones_and_epoch_millis(stamp: Any) -> None:
    value = from_json(schema("TagPing"), example("TagPing", recorded_at=stamp))
    assert value["recorded_at"] == datetime(2026, 11, 1, 21, 42, 10, tzinfo=UTC)
    assert value["recorded_at"].utcoffset() == timedelta(0)


def test_epoch_millis_keep_their_milliseconds() -> None:
    value = from_json(schema("TagPing"), example("TagPing", recorded_at=1793569330123))
    assert value["recorded_at"] == datetime(2026, 11, 1, 21, 42, 10, 123000, tzinfo=UTC)


def test_dates_become_dates() -> None:
    value = from_json(schema("Person"), example("Person"))
    assert value["date_of_birth"] == date(1972, 9, 9)
    assert value["licence_end_date"] == date(2027, 4, 8)


def test_nullable_fields_accept_null_and_a_value() -> None:
    person = schema("Person")
    assert from_json(person, example("Person", licence_end_date=None))["licence_end_date"] is None
    assert from_json(person, example("Person", current_offence=None))["current_offence"] is None
    assert from_json(person, example("Person", previous_sanctions=0))["previous_sanctions"] == 0
    grade = from_json(schema("RiskGrade"), example("RiskGrade", previous_rag="AMBER"))
    assert grade["previous_rag"] == "AMBER"
    grade = from_json(schema("RiskGrade"), example("RiskGrade", previous_rag=None))
    assert grade["previous_rag"] is None


def test_ints_are_accepted_for_doubles() -> None:
    value = from_json(schema("TagPing"), example("TagPing", lat=51, accuracy_m=10))
    assert value["lat"] == 51.0 and isinstance(value["lat"], float)


def test_defaults_fill_omitted_fields() -> None:
    obj = example("RiskGrade")
    for name in ("previous_rag", "cause_event_id", "p_one_year", "static_band", "force",
                 "revision"):
        del obj[name]
    value = from_json(schema("RiskGrade"), obj)
    assert value["previous_rag"] is None and value["static_band"] is None
    assert value["revision"] == 0
    event = example("OffenderEvent")
    del event["details"], event["offence"]
    value = from_json(schema("OffenderEvent"), event)
    assert value["details"] == {} and value["offence"] is None


def test_defaults_are_fresh_copies() -> None:
    offender = schema("OffenderEvent")
    event = example("OffenderEvent")
    del event["details"]
    first = from_json(offender, event)
    first["details"]["added"] = "by a caller"
    assert from_json(offender, event)["details"] == {}
    assert next(f for f in offender["fields"] if f["name"] == "details")["default"] == {}
