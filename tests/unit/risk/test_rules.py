"""Unit tests for services.risk.rules: the shipped rules file and line-numbered errors."""

from __future__ import annotations

import re

import pytest

from services.risk import rules
from services.risk.rules import DEFAULT_RULES, Rule, Rules, RulesError, parse

SOURCE = "my-rules.toml"

# A valid file; each test breaks one line of it. Line numbers are 1-based.
GOOD = """\
window_days = 28
step_down_days = 28

[[rule]]
name = "recall"
events = ["RECALLED"]
effect = "red"
reason = "recalled to prison on {date}"

[[rule]]
name = "drugs"
events = ["DRUG_TEST_POSITIVE",
          "BREACH_RAISED"]
offences = ["ROBBERY", "VIOLENCE"]
min_count = 1
effect = "step_up"
reason = "{count} x {event} ({offence}) on {date}"
"""
# Line of each key in the second rule of GOOD.
LINE = {
    "events": 12,
    "continuation": 13,
    "offences": 14,
    "min_count": 15,
    "effect": 16,
    "reason": 17,
}


def _error(text: str) -> str:
    with pytest.raises(RulesError) as info:
        parse(text, SOURCE)
    return str(info.value)


def _replace(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _names_line(message: str, line: int) -> None:
    assert message.startswith(f"{SOURCE}:{line}:"), message


# --- The shipped file --------------------------------------------------------------------------


def test_shipped_rules_load_with_ten_rules() -> None:
    loaded = rules.load()
    assert isinstance(loaded, Rules)
    assert len(loaded.rules) == 10
    assert loaded.window_days == 28
    assert loaded.step_down_days == 28
    assert len({r.name for r in loaded.rules}) == 10


def test_shipped_rules_match_the_risk_model_defaults() -> None:
    by_name = {r.name: r for r in rules.load(DEFAULT_RULES).rules}
    effects = {name: r.effect for name, r in by_name.items()}
    assert sorted(e for e in effects.values()) == sorted(
        ["red"] * 3 + ["step_up"] * 6 + ["protective"]
    )
    neighbourhood = by_name["arrest or charge for a neighbourhood crime"]
    assert neighbourhood.events == {"ARRESTED", "CHARGED"}
    assert neighbourhood.offences == {
        "ROBBERY",
        "BURGLARY_DOMESTIC",
        "BURGLARY_OTHER",
        "THEFT_NON_MOTOR",
        "TAKING_DRIVING_AWAY",
        "THEFT_FROM_VEHICLE",
    }
    assert by_name["missed appointments"].min_count == 2
    assert by_name["protective factors"].events == {
        "ACCOMMODATION_SECURED",
        "EMPLOYMENT_STARTED",
        "INTERVENTION_COMPLETED",
        "DRUG_TEST_NEGATIVE",
    }


def test_good_text_parses() -> None:
    parsed = parse(GOOD, SOURCE)
    assert [r.name for r in parsed.rules] == ["recall", "drugs"]
    drugs = parsed.rules[1]
    assert drugs == Rule(
        "drugs",
        frozenset({"DRUG_TEST_POSITIVE", "BREACH_RAISED"}),
        "step_up",
        "{count} x {event} ({offence}) on {date}",
        frozenset({"ROBBERY", "VIOLENCE"}),
        1,
    )
    assert drugs.applies_to("BREACH_RAISED", "ROBBERY")
    assert not drugs.applies_to("BREACH_RAISED", None)
    assert not drugs.applies_to("BREACH_RAISED", "FRAUD_FORGERY")
    assert parsed.rules[0].applies_to("RECALLED", None)


def test_defaults_when_settings_and_optional_keys_are_left_out() -> None:
    parsed = parse('[[rule]]\nname = "x"\nevents = ["RECALLED"]\neffect = "red"\n', SOURCE)
    assert (parsed.window_days, parsed.step_down_days) == (28, 28)
    (rule,) = parsed.rules
    assert rule.min_count == 1
    assert rule.offences is None
    assert rule.reason == "x on {date}"


# --- Errors name the file and the line -----------------------------------------------------------


def test_malformed_toml_names_file_and_tomllib_line() -> None:
    message = _error(_replace('effect = "step_up"', "effect = step_up"))
    assert message.startswith(f"{SOURCE}: malformed TOML")
    assert re.search(rf"\bline {LINE['effect']}\b", message), message


def test_unknown_event_type_names_the_line_holding_it() -> None:
    message = _error(_replace('"BREACH_RAISED"]', '"BREECH_RAISED"]'))
    _names_line(message, LINE["continuation"])
    assert "unknown event type 'BREECH_RAISED'" in message
    assert "'drugs'" in message


def test_unknown_event_type_in_the_first_rule() -> None:
    message = _error(_replace('["RECALLED"]', '["RECALL"]'))
    _names_line(message, 6)
    assert "unknown event type 'RECALL'" in message


def test_unknown_event_type_that_prefixes_a_known_one_is_still_located() -> None:
    text = _replace(
        '          "BREACH_RAISED"]', '          "DRUG_TEST_NEGATIVE",\n          "DRUG_TEST"]'
    )
    _names_line(_error(text), LINE["continuation"] + 1)


def test_unknown_effect_names_its_line() -> None:
    message = _error(_replace('effect = "step_up"', 'effect = "amber"'))
    _names_line(message, LINE["effect"])
    assert "effect must be one of red, step_up, protective" in message
    assert "'amber'" in message


def test_unknown_key_names_its_line() -> None:
    message = _error(_replace("min_count = 1", "min_cuont = 1"))
    _names_line(message, LINE["min_count"])
    assert "unknown key 'min_cuont'" in message


@pytest.mark.parametrize("value", ["0", "-1", "1.5", '"2"', "true"])
def test_bad_min_count_names_its_line(value: str) -> None:
    message = _error(_replace("min_count = 1", f"min_count = {value}"))
    _names_line(message, LINE["min_count"])
    assert "min_count must be a whole number >= 1" in message


def test_unknown_offence_category_names_its_line() -> None:
    message = _error(_replace('"VIOLENCE"]', '"UNKNOWN"]'))
    _names_line(message, LINE["offences"])
    assert "unknown offence category 'UNKNOWN'" in message


def test_empty_offences_names_its_line() -> None:
    message = _error(_replace('offences = ["ROBBERY", "VIOLENCE"]', "offences = []"))
    _names_line(message, LINE["offences"])


@pytest.mark.parametrize("reason", ["on {when}", "on {0}", "on {date", "{date:d}"])
def test_unknown_placeholder_in_reason_names_its_line(reason: str) -> None:
    message = _error(_replace("({offence}) on {date}", reason))
    _names_line(message, LINE["reason"])
    assert "reason has an unknown placeholder" in message


def test_attribute_placeholder_in_reason_is_a_rules_error() -> None:
    message = _error(_replace("({offence}) on {date}", "on {date.year}"))
    _names_line(message, LINE["reason"])


def test_reason_must_be_text() -> None:
    message = _error(_replace('reason = "{count} x {event} ({offence}) on {date}"', "reason = 3"))
    _names_line(message, LINE["reason"])


def test_events_must_be_a_non_empty_list() -> None:
    message = _error(_replace('events = ["RECALLED"]', "events = []"))
    _names_line(message, 4)  # the rule's header
    assert "events must be a list of event types" in message


@pytest.mark.parametrize("text", ["", "window_days = 28\n", "rule = []\n"])
def test_no_rules_names_the_file(text: str) -> None:
    message = _error(text)
    assert message.startswith(f"{SOURCE}: ")
    assert "no [[rule]] tables" in message


@pytest.mark.parametrize("setting", ["window_days", "step_down_days"])
@pytest.mark.parametrize("value", ["0", "-3", "2.5", "true"])
def test_window_and_step_down_must_be_positive_whole_days(setting: str, value: str) -> None:
    message = _error(_replace(f"{setting} = 28", f"{setting} = {value}"))
    assert message.startswith(f"{SOURCE}")
    assert setting in message
    assert "expected a whole number of days above 0" in message


def test_unknown_top_level_setting_names_the_file() -> None:
    message = _error("windows_days = 28\n" + GOOD)
    assert message.startswith(f"{SOURCE}: ")
    assert "unknown setting(s) windows_days" in message


def test_load_names_the_path(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(_replace('["RECALLED"]', '["RECALL"]'))
    with pytest.raises(RulesError, match=rf"^{re.escape(str(path))}:6: "):
        rules.load(path)
