"""Unit tests for services.risk.ogrs3 against /work/shared/risk-model.md.

Expected values are written out here independently of the module's tables, copied from the
document, so a typo in either place fails a test.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.risk import ogrs3
from services.risk.ogrs3 import (
    MODEL_VERSION,
    Ogrs3InputError,
    StaticFacts,
    age_band,
    age_on,
    band_for,
    missing_facts,
    score,
    validate,
)

# --- Independent copies of the document's tables ---------------------------------------------

DOC_AGE_SEX: dict[int, tuple[float, float]] = {  # lower bound: (male, female)
    10: (0, -0.785038489),
    12: (0.083922902, -0.613852078),
    14: (0.075775765, -0.669521331),
    16: (-0.061594199, -0.959179629),
    18: (-0.625103618, -0.897480934),
    21: (-1.051515067, -1.028488454),
    25: (-1.166679288, -1.052777806),
    30: (-1.325976554, -1.129127959),
    35: (-1.368045933, -1.42187494),
    40: (-1.499690953, -1.524652221),
    50: (-2.025261458, -2.44983716),
}
BOUNDS = sorted(DOC_AGE_SEX)

DOC_OFFENCE: dict[str, float] = {
    "VIOLENCE": 0,
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


def logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def add_years(d: date, years: int) -> date:
    """Anniversary of ``d``; 29 Feb maps to 1 Mar in a common year (as the module does)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return date(d.year + years, 3, 1)


# Worked example from the document.
WORKED = StaticFacts(
    sex="FEMALE",
    date_of_birth=date(1972, 9, 9),
    first_sanction_date=date(1986, 9, 9),
    previous_sanctions=3,
    current_offence="CRIMINAL_DAMAGE",
    current_conviction_date=date(2009, 9, 9),
)
WORKED_ON = date(2015, 9, 15)


def facts_for_age(sex: str, born: date, on: date) -> StaticFacts:
    """Valid facts whose age now is set by ``on``; sanction history fixed at the 10th birthday."""
    tenth = add_years(born, 10)
    return StaticFacts(
        sex=sex,
        date_of_birth=born,
        first_sanction_date=tenth,
        previous_sanctions=2,
        current_offence="VIOLENCE",
        current_conviction_date=tenth,
    )


# --- Worked example ----------------------------------------------------------------------------


def test_worked_example_matches_document_formula() -> None:
    y = -1.524652221 + 0.463062792 + 1.251124464 * math.log(4 / 33) + 0.204960477
    expected_two = logistic(y + 2.121705678)
    expected_one = logistic(y + 1.402562384)

    result = score(WORKED, WORKED_ON)

    assert result.age_now == 43
    assert result.age_at_current_conviction == 37
    assert result.age_at_first_sanction == 14
    assert result.copas == pytest.approx(math.log(4 / 33), abs=1e-12)
    assert result.copas_term == pytest.approx(1.251124464 * math.log(4 / 33), abs=1e-12)
    assert result.age_band == 40
    assert result.age_sex_weight == -1.524652221
    assert result.offence_weight == 0.204960477
    assert result.previous_term == 0.463062792
    assert result.y == pytest.approx(y, abs=1e-9)
    assert result.p_two_year == pytest.approx(expected_two, abs=1e-9)
    assert result.p_one_year == pytest.approx(expected_one, abs=1e-9)
    assert expected_two < 0.5
    assert result.band == "LOW"
    assert result.model_version == MODEL_VERSION == "ogrs3-1"


def test_worked_example_explain_shows_the_arithmetic() -> None:
    lines = score(WORKED, WORKED_ON).explain()
    text = "\n".join(lines)
    assert "copas rate ln((1+3)/(10+37-14)) = -2.1102 x 1.251124464 = -2.6401" in text
    assert "age/sex weight FEMALE 40-49: -1.524652221" in text
    assert "offence weight CRIMINAL_DAMAGE: 0.204960477" in text
    assert "previous sanctions 3 (one or more): 0.463062792" in text
    assert lines[-1].startswith("two-year probability")
    assert lines[-1].endswith("= 0.2018 -> band LOW")


def test_explain_labels_last_age_band_as_open_ended() -> None:
    facts = facts_for_age("MALE", date(1950, 1, 1), date(2020, 1, 1))
    assert "age/sex weight MALE 50+: -2.025261458" in score(facts, date(2020, 1, 1)).explain()


def test_score_is_frozen() -> None:
    result = score(WORKED, WORKED_ON)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.band = "HIGH"  # type: ignore[misc]


# --- Tables --------------------------------------------------------------------------------------


def test_tables_match_document() -> None:
    assert {sex: dict(rows) for sex, rows in ogrs3.AGE_SEX.items()} == {
        "MALE": {b: m for b, (m, _) in DOC_AGE_SEX.items()},
        "FEMALE": {b: f for b, (_, f) in DOC_AGE_SEX.items()},
    }
    for rows in ogrs3.AGE_SEX.values():
        assert [b for b, _ in rows] == BOUNDS
    assert ogrs3.OFFENCE_WEIGHTS == DOC_OFFENCE
    assert len(ogrs3.OFFENCE_WEIGHTS) == 20


# --- Age band edges ------------------------------------------------------------------------------

BORN = date(1961, 6, 15)


@pytest.mark.parametrize("sex_index,sex", [(0, "MALE"), (1, "FEMALE")])
@pytest.mark.parametrize("bound", BOUNDS)
def test_age_band_edge_on_birthday(sex_index: int, sex: str, bound: int) -> None:
    on = add_years(BORN, bound)
    result = score(facts_for_age(sex, BORN, on), on)
    assert result.age_now == bound
    assert result.age_band == bound
    assert result.age_sex_weight == DOC_AGE_SEX[bound][sex_index]


@pytest.mark.parametrize("sex_index,sex", [(0, "MALE"), (1, "FEMALE")])
@pytest.mark.parametrize("bound", BOUNDS[1:])
def test_age_band_edge_day_before_birthday(sex_index: int, sex: str, bound: int) -> None:
    on = add_years(BORN, bound) - timedelta(days=1)
    previous_bound = BOUNDS[BOUNDS.index(bound) - 1]
    result = score(facts_for_age(sex, BORN, on), on)
    assert result.age_now == bound - 1
    assert result.age_band == previous_bound
    assert result.age_sex_weight == DOC_AGE_SEX[previous_bound][sex_index]


@pytest.mark.parametrize("sex", ["MALE", "FEMALE"])
def test_day_before_tenth_birthday_is_invalid(sex: str) -> None:
    on = add_years(BORN, 10) - timedelta(days=1)
    facts = facts_for_age(sex, BORN, on)
    with pytest.raises(Ogrs3InputError) as err:
        score(facts, on)
    assert err.value.field == "date_of_birth"
    assert "under 10" in str(err.value)


@pytest.mark.parametrize(
    "age,expected",
    [(10, 10), (11, 10), (13, 12), (20, 18), (24, 21), (49, 40), (50, 50), (99, 50)],
)
def test_age_band_lower_bound(age: int, expected: int) -> None:
    assert age_band(age) == expected


@pytest.mark.parametrize("age", [9, 0, -1])
def test_age_band_under_ten_raises(age: int) -> None:
    with pytest.raises(Ogrs3InputError):
        age_band(age)


# --- Offence weights -----------------------------------------------------------------------------


@pytest.mark.parametrize("category", sorted(DOC_OFFENCE))
def test_offence_weight_shifts_y_by_table_weight(category: str) -> None:
    base = score(dataclasses.replace(WORKED, current_offence="VIOLENCE"), WORKED_ON)
    other = score(dataclasses.replace(WORKED, current_offence=category), WORKED_ON)
    assert other.offence_weight == DOC_OFFENCE[category]
    assert other.y - base.y == pytest.approx(DOC_OFFENCE[category], abs=1e-12)


# --- Previous-sanctions flag ---------------------------------------------------------------------


def test_no_previous_sanctions_uses_0_126142106() -> None:
    result = score(dataclasses.replace(WORKED, previous_sanctions=0), WORKED_ON)
    assert result.previous_term == 0.126142106
    expected_y = 1.251124464 * math.log(1 / 33) + 0.126142106 - 1.524652221 + 0.204960477
    assert result.y == pytest.approx(expected_y, abs=1e-12)
    assert "previous sanctions 0 (none): 0.126142106" in result.explain()


@pytest.mark.parametrize("previous", [1, 2, 3, 50])
def test_some_previous_sanctions_uses_0_463062792(previous: int) -> None:
    result = score(dataclasses.replace(WORKED, previous_sanctions=previous), WORKED_ON)
    assert result.previous_term == 0.463062792
    expected_y = (
        1.251124464 * math.log((1 + previous) / 33) + 0.463062792 - 1.524652221 + 0.204960477
    )
    assert result.y == pytest.approx(expected_y, abs=1e-12)


def test_zero_to_one_previous_sanction_raises_y() -> None:
    # Going 0 -> 1 changes both the Copas rate (ln 1 -> ln 2) and the flag weight
    # (0.126142106 -> 0.463062792). Both move y up, so the published formula IS monotone here:
    # delta y = 1.251124464*ln 2 + 0.336920686 ~= 1.2041, whatever the ages.
    zero = score(dataclasses.replace(WORKED, previous_sanctions=0), WORKED_ON)
    one = score(dataclasses.replace(WORKED, previous_sanctions=1), WORKED_ON)
    expected_delta = 1.251124464 * math.log(2) + (0.463062792 - 0.126142106)
    assert one.y - zero.y == pytest.approx(expected_delta, abs=1e-12)
    assert one.p_two_year > zero.p_two_year
    assert one.p_one_year > zero.p_one_year


# --- Monotonicity (hypothesis) -------------------------------------------------------------------


@st.composite
def scoreable(draw: st.DrawFn) -> tuple[StaticFacts, date]:
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2005, 12, 31)))
    age_first = draw(st.integers(min_value=10, max_value=60))
    gap = draw(st.integers(min_value=0, max_value=40))
    later = draw(st.integers(min_value=0, max_value=30))
    first = add_years(born, age_first) + timedelta(days=draw(st.integers(0, 364)))
    conviction = add_years(first, gap) + timedelta(days=draw(st.integers(0, 364)))
    on = add_years(conviction, later) + timedelta(days=draw(st.integers(0, 364)))
    facts = StaticFacts(
        sex=draw(st.sampled_from(["MALE", "FEMALE"])),
        date_of_birth=born,
        first_sanction_date=first,
        previous_sanctions=draw(st.integers(min_value=0, max_value=300)),
        current_offence=draw(st.sampled_from(sorted(DOC_OFFENCE))),
        current_conviction_date=conviction,
    )
    return facts, on


@given(scoreable(), st.integers(min_value=1, max_value=300))
def test_more_previous_sanctions_never_lowers_p_two_year(
    case: tuple[StaticFacts, date], extra: int
) -> None:
    facts, on = case
    assert facts.previous_sanctions is not None
    fewer = score(facts, on)
    more = score(
        dataclasses.replace(facts, previous_sanctions=facts.previous_sanctions + extra), on
    )
    assert more.y > fewer.y
    assert more.p_two_year >= fewer.p_two_year
    assert more.p_one_year >= fewer.p_one_year
    order = ["LOW", "MEDIUM", "HIGH", "VERY_HIGH"]
    assert order.index(more.band) >= order.index(fewer.band)


def test_huge_previous_sanctions_do_not_overflow() -> None:
    result = score(dataclasses.replace(WORKED, previous_sanctions=10**400), WORKED_ON)
    assert result.p_two_year == pytest.approx(1.0)
    assert result.band == "VERY_HIGH"


# --- Band thresholds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "threshold,band_at,band_below",
    [(0.5, "MEDIUM", "LOW"), (0.75, "HIGH", "MEDIUM"), (0.9, "VERY_HIGH", "HIGH")],
)
def test_band_thresholds(threshold: float, band_at: str, band_below: str) -> None:
    assert band_for(threshold) == band_at
    assert band_for(math.nextafter(threshold, 0.0)) == band_below
    assert band_for(threshold - 1e-9) == band_below


@pytest.mark.parametrize(
    "p,band", [(0.0, "LOW"), (0.2, "LOW"), (0.6, "MEDIUM"), (1.0, "VERY_HIGH")]
)
def test_band_for_range(p: float, band: str) -> None:
    assert band_for(p) == band


@pytest.mark.parametrize("p", [-0.1, 1.1, math.nan])
def test_band_for_rejects_non_probabilities(p: float) -> None:
    with pytest.raises(Ogrs3InputError):
        band_for(p)


# --- Validation ----------------------------------------------------------------------------------


def _field_of(facts: StaticFacts, on: date = WORKED_ON) -> str:
    with pytest.raises(Ogrs3InputError) as err:
        validate(facts, on)
    with pytest.raises(Ogrs3InputError) as err_from_score:
        score(facts, on)
    assert err_from_score.value.field == err.value.field
    assert str(err.value).startswith(f"{err.value.field}: ")
    return err.value.field


def test_valid_facts_pass_validation() -> None:
    validate(WORKED, WORKED_ON)


def test_future_date_of_birth() -> None:
    facts = dataclasses.replace(WORKED, date_of_birth=WORKED_ON + timedelta(days=1))
    assert _field_of(facts) == "date_of_birth"


def test_first_sanction_before_age_ten() -> None:
    born = WORKED.date_of_birth
    too_early = add_years(born, 10) - timedelta(days=1)
    assert _field_of(dataclasses.replace(WORKED, first_sanction_date=too_early)) == (
        "first_sanction_date"
    )
    validate(dataclasses.replace(WORKED, first_sanction_date=add_years(born, 10)), WORKED_ON)


def test_first_sanction_before_birth() -> None:
    facts = dataclasses.replace(WORKED, first_sanction_date=date(1970, 1, 1))
    assert _field_of(facts) == "first_sanction_date"


def test_negative_previous_sanctions() -> None:
    assert _field_of(dataclasses.replace(WORKED, previous_sanctions=-1)) == "previous_sanctions"


def test_boolean_previous_sanctions_rejected() -> None:
    facts = dataclasses.replace(WORKED, previous_sanctions=True)
    assert _field_of(facts) == "previous_sanctions"


def test_unknown_offence_category() -> None:
    facts = dataclasses.replace(WORKED, current_offence="ARSON")
    assert _field_of(facts) == "current_offence"


def test_offence_category_is_case_sensitive() -> None:
    facts = dataclasses.replace(WORKED, current_offence="criminal_damage")
    assert _field_of(facts) == "current_offence"


def test_current_conviction_before_first_sanction() -> None:
    facts = dataclasses.replace(WORKED, current_conviction_date=date(1986, 9, 8))
    assert _field_of(facts) == "current_conviction_date"


def test_conviction_on_first_sanction_day_is_valid() -> None:
    facts = dataclasses.replace(WORKED, current_conviction_date=WORKED.first_sanction_date)
    assert score(facts, WORKED_ON).copas == pytest.approx(math.log(4 / 10), abs=1e-12)


def test_age_now_under_ten() -> None:
    born = date(2010, 5, 1)
    on = date(2020, 4, 30)
    facts = StaticFacts("MALE", born, None, None, None, None)
    assert _field_of(facts, on) == "date_of_birth"


def test_unrecognised_sex_value() -> None:
    assert _field_of(dataclasses.replace(WORKED, sex="F")) == "sex"


# --- Missing facts -------------------------------------------------------------------------------


def test_missing_facts_none_when_complete() -> None:
    assert missing_facts(WORKED) == []


def test_missing_facts_listed_by_name_in_order() -> None:
    facts = StaticFacts(
        sex="UNKNOWN",
        date_of_birth=date(1980, 1, 1),
        first_sanction_date=None,
        previous_sanctions=None,
        current_offence=None,
        current_conviction_date=None,
    )
    names = [
        "sex",
        "first_sanction_date",
        "previous_sanctions",
        "current_offence",
        "current_conviction_date",
    ]
    assert missing_facts(facts) == names
    validate(facts, WORKED_ON)  # missing is not invalid
    with pytest.raises(Ogrs3InputError) as err:
        score(facts, WORKED_ON)
    assert err.value.missing == tuple(names)
    assert err.value.field == ", ".join(names)
    assert "static score unavailable" in str(err.value)
    for name in names:
        assert name in str(err.value)


@pytest.mark.parametrize(
    "field_name",
    ["first_sanction_date", "previous_sanctions", "current_offence", "current_conviction_date"],
)
def test_each_missing_fact_blocks_the_score(field_name: str) -> None:
    facts = dataclasses.replace(WORKED, **{field_name: None})
    assert missing_facts(facts) == [field_name]
    with pytest.raises(Ogrs3InputError) as err:
        score(facts, WORKED_ON)
    assert err.value.missing == (field_name,)
    assert err.value.field == field_name


def test_unknown_sex_is_missing() -> None:
    facts = dataclasses.replace(WORKED, sex="UNKNOWN")
    assert missing_facts(facts) == ["sex"]
    with pytest.raises(Ogrs3InputError) as err:
        score(facts, WORKED_ON)
    assert err.value.field == "sex"


# --- Ages and 29 February ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "born,on,expected",
    [
        (date(1972, 9, 9), date(2015, 9, 8), 42),
        (date(1972, 9, 9), date(2015, 9, 9), 43),
        (date(1972, 9, 9), date(1972, 9, 9), 0),
        (date(2000, 12, 31), date(2001, 1, 1), 0),
        # 29 Feb births attain each age on 1 March in a common year.
        (date(2000, 2, 29), date(2001, 2, 28), 0),
        (date(2000, 2, 29), date(2001, 3, 1), 1),
        (date(2000, 2, 29), date(2004, 2, 28), 3),
        (date(2000, 2, 29), date(2004, 2, 29), 4),
        (date(2000, 2, 29), date(2100, 2, 28), 99),  # 2100 is not a leap year
        (date(2000, 2, 29), date(2100, 3, 1), 100),
        (date(1999, 3, 1), date(2000, 2, 29), 0),
        (date(1999, 3, 1), date(2000, 3, 1), 1),
    ],
)
def test_age_on(born: date, on: date, expected: int) -> None:
    assert age_on(born, on) == expected


def test_leap_day_birth_crosses_age_band_on_first_of_march() -> None:
    born = date(1996, 2, 29)
    before = date(2014, 2, 28)  # 2014 is a common year: still 17
    after = date(2014, 3, 1)  # 18th birthday in law
    young = score(facts_for_age("MALE", born, before), before)
    older = score(facts_for_age("MALE", born, after), after)
    assert (young.age_now, young.age_band, young.age_sex_weight) == (17, 16, -0.061594199)
    assert (older.age_now, older.age_band, older.age_sex_weight) == (18, 18, -0.625103618)


def test_leap_day_birth_first_sanction_on_28_feb_is_before_ten() -> None:
    born = date(2000, 2, 29)
    facts = StaticFacts(
        sex="FEMALE",
        date_of_birth=born,
        first_sanction_date=date(2010, 2, 28),
        previous_sanctions=0,
        current_offence="OTHER",
        current_conviction_date=date(2012, 5, 1),
    )
    assert _field_of(facts, date(2020, 1, 1)) == "first_sanction_date"
    ok = dataclasses.replace(facts, first_sanction_date=date(2010, 3, 1))
    assert score(ok, date(2020, 1, 1)).age_at_first_sanction == 10


def test_the_weights_cover_exactly_the_contracts_categories_and_bands():
    from iomkit import offences
    from services.risk.ogrs3 import BAND_THRESHOLDS, OFFENCE_WEIGHTS

    assert tuple(OFFENCE_WEIGHTS) == offences.OFFENCE_CATEGORIES
    assert tuple(name for _, name in BAND_THRESHOLDS) == offences.STATIC_BANDS
