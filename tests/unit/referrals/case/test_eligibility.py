"""Unit tests for services.referrals.case.eligibility: every cohort rule of the practitioner
guide."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.referrals.case.eligibility import (
    DOMESTIC_ABUSE_PRIORITY,
    NEIGHBOURHOOD_CATEGORIES,
    OFFENCE_CATEGORIES,
    STATIC_BANDS,
    Candidate,
    ForcePriorities,
    assess,
    mentions_shoplifting,
)
from services.risk.ogrs3 import OFFENCE_WEIGHTS

NEIGHBOURHOOD = [
    "ROBBERY",
    "BURGLARY_DOMESTIC",
    "BURGLARY_OTHER",
    "TAKING_DRIVING_AWAY",
    "THEFT_FROM_VEHICLE",
    "THEFT_NON_MOTOR",
]
NOT_NEIGHBOURHOOD = [
    "VIOLENCE",
    "PUBLIC_ORDER",
    "CRIMINAL_DAMAGE",
    "DRUG_POSSESSION_SUPPLY",
    "HANDLING_STOLEN_GOODS",
    "FRAUD_FORGERY",
    "DRINK_DRIVING",
    "OTHER_MOTORING",
    "SEXUAL_NOT_CHILD",
    "OTHER",
]


def person(**facts: object) -> Candidate:
    base: dict[str, object] = {
        "person_id": "P-1",
        "force": "Hampshire",
        "under_statutory_supervision": True,
        "index_offence": "BURGLARY_DOMESTIC",
        "rag": "RED",
        "static_band": "HIGH",
    }
    base.update(facts)
    return Candidate(**base)  # type: ignore[arg-type]


def test_the_neighbourhood_set_is_the_six_categories_and_all_are_ogrs3_categories():
    assert set(NEIGHBOURHOOD) == NEIGHBOURHOOD_CATEGORIES
    assert NEIGHBOURHOOD_CATEGORIES <= set(OFFENCE_WEIGHTS)
    assert OFFENCE_CATEGORIES == set(OFFENCE_WEIGHTS)


# --- FIXED --------------------------------------------------------------------------------


@pytest.mark.parametrize("category", NEIGHBOURHOOD)
def test_statutory_neighbourhood_crime_with_a_red_grade_is_fixed(category):
    result = assess(person(index_offence=category, rag="RED", static_band="LOW"))

    words = category.replace("_", " ").lower()
    assert result.cohort == "FIXED"
    assert "under statutory supervision" in result.reasons
    assert f"index offence {words} is a neighbourhood crime" in result.reasons
    assert "current grade RED: high risk of reoffending" in result.reasons


@pytest.mark.parametrize("band", ["HIGH", "VERY_HIGH"])
@pytest.mark.parametrize("category", NEIGHBOURHOOD)
def test_statutory_neighbourhood_crime_with_a_high_band_is_fixed(category, band):
    result = assess(person(index_offence=category, rag="AMBER", static_band=band))

    assert result.cohort == "FIXED"
    assert f"static band {band.replace('_', ' ').lower()}: high risk of reoffending" in (
        result.reasons
    )


def test_the_example_reasons_read_in_plain_words():
    result = assess(person(index_offence="BURGLARY_DOMESTIC", rag="RED"))

    assert result.reasons[:3] == (
        "under statutory supervision",
        "index offence burglary domestic is a neighbourhood crime",
        "current grade RED: high risk of reoffending",
    )
    assert result.reasons[-1].startswith("fits FIXED")


@pytest.mark.parametrize("category", NEIGHBOURHOOD)
@pytest.mark.parametrize(("rag", "band"), [("AMBER", "MEDIUM"), ("GREEN", "MEDIUM"),
                                           ("AMBER", "LOW"), ("AMBER", None)])
def test_neighbourhood_crime_without_high_risk_is_flex_not_fixed(category, rag, band):
    result = assess(person(index_offence=category, rag=rag, static_band=band))

    assert result.cohort == "FLEX"
    assert any("neighbourhood crime but not high risk" in reason for reason in result.reasons)


@pytest.mark.parametrize("category", NEIGHBOURHOOD)
def test_neighbourhood_crime_with_low_risk_fits_no_cohort(category):
    result = assess(person(index_offence=category, rag="GREEN", static_band="LOW"))

    assert result.cohort is None
    assert "current grade GREEN: low risk of reoffending" in result.reasons
    assert "static band low: low risk of reoffending" in result.reasons


# --- shoplifting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Shoplifting", "shop lifting from Tesco", "Theft - shop-lifting", "theft from a shop",
     "THEFT FROM SHOP", "Theft from shops (x3)"],
)
def test_a_theft_that_is_shoplifting_is_not_neighbourhood_crime(text):
    result = assess(person(index_offence="THEFT_NON_MOTOR", offence_text=text, rag="RED"))

    assert mentions_shoplifting(text)
    assert result.cohort == "FLEX"
    assert (
        "index offence theft non motor is shoplifting, which is not a neighbourhood crime"
        in result.reasons
    )


@pytest.mark.parametrize("text", [None, "", "Theft from the person", "theft of pedal cycle",
                                  "theft from a shopkeeper's home"])
def test_a_theft_that_is_not_shoplifting_is_neighbourhood_crime(text):
    result = assess(person(index_offence="THEFT_NON_MOTOR", offence_text=text, rag="RED"))

    assert not mentions_shoplifting(text)
    assert result.cohort == "FIXED"


@pytest.mark.parametrize("category", [c for c in NEIGHBOURHOOD if c != "THEFT_NON_MOTOR"])
def test_the_word_shoplifting_only_excludes_a_theft(category):
    # A robbery in a shop is still a robbery.
    result = assess(person(index_offence=category, offence_text="robbery during shoplifting"))

    assert result.cohort == "FIXED"


# --- FLEX -----------------------------------------------------------------------------------


@pytest.mark.parametrize("category", NOT_NEIGHBOURHOOD)
@pytest.mark.parametrize(("rag", "band"), [("RED", "VERY_HIGH"), ("AMBER", "LOW"),
                                           ("GREEN", "MEDIUM"), (None, "MEDIUM")])
def test_statutory_non_neighbourhood_crime_with_elevated_risk_is_flex(category, rag, band):
    result = assess(person(index_offence=category, rag=rag, static_band=band))

    words = category.replace("_", " ").lower()
    assert result.cohort == "FLEX"
    assert f"index offence {words} is not a neighbourhood crime" in result.reasons
    assert result.reasons[-1].startswith("fits FLEX: statutory, no neighbourhood crime")


@pytest.mark.parametrize("category", NOT_NEIGHBOURHOOD)
def test_statutory_non_neighbourhood_crime_with_low_risk_fits_no_cohort(category):
    result = assess(person(index_offence=category, rag="GREEN", static_band="LOW"))

    assert result.cohort is None
    assert "not shown to be elevated" in result.reasons[-1]


# --- not statutory --------------------------------------------------------------------------


@pytest.mark.parametrize("category", NEIGHBOURHOOD + NOT_NEIGHBOURHOOD)
def test_without_statutory_supervision_neither_fixed_nor_flex_applies(category):
    result = assess(person(under_statutory_supervision=False, index_offence=category,
                           rag="RED", static_band="VERY_HIGH"))

    assert result.cohort is None
    assert result.reasons[0] == "not under statutory supervision: only the FREE cohort can apply"
    assert result.reasons[-1] == "fits no cohort: not statutory and no force priority matched"


def test_without_statutory_supervision_a_force_priority_gives_free():
    result = assess(person(under_statutory_supervision=False, index_offence="VIOLENCE",
                           domestic_abuse_perpetrator=True, rag="GREEN", static_band="LOW"))

    assert result.cohort == "FREE"
    assert "matches force priority of Hampshire: domestic abuse perpetrators" in result.reasons
    assert result.matched_priorities == (DOMESTIC_ABUSE_PRIORITY,)


# --- grade vs band, missing grade -----------------------------------------------------------


@pytest.mark.parametrize(
    ("rag", "band", "cohort"),
    [
        ("RED", None, "FIXED"),
        ("RED", "LOW", "FIXED"),
        ("AMBER", "HIGH", "FIXED"),
        ("GREEN", "VERY_HIGH", "FIXED"),
        ("AMBER", "MEDIUM", "FLEX"),
        ("GREEN", "MEDIUM", "FLEX"),
        ("AMBER", None, "FLEX"),
        ("GREEN", "LOW", None),
        ("GREEN", None, None),
        (None, "VERY_HIGH", "FIXED"),
        (None, "HIGH", "FIXED"),
        (None, "MEDIUM", "FLEX"),
        (None, "LOW", None),
        (None, None, None),
    ],
)
def test_high_risk_is_a_red_grade_or_a_high_band(rag, band, cohort):
    assert assess(person(index_offence="ROBBERY", rag=rag, static_band=band)).cohort == cohort


@pytest.mark.parametrize(("band", "cohort"), [("VERY_HIGH", "FIXED"), ("HIGH", "FIXED"),
                                              ("MEDIUM", "FLEX"), ("LOW", None)])
def test_a_missing_grade_is_said_and_the_static_band_decides(band, cohort):
    result = assess(person(index_offence="BURGLARY_OTHER", rag=None, static_band=band))

    assert "no current RAG grade yet" in result.reasons
    assert result.cohort == cohort


def test_no_grade_and_no_band_says_the_risk_is_unknown():
    result = assess(person(rag=None, static_band=None))

    assert result.cohort is None
    assert "no current RAG grade yet" in result.reasons
    assert "no static band (OGRS3 facts missing)" in result.reasons
    assert "risk of reoffending unknown until graded" in result.reasons


def test_an_unknown_grade_symbol_from_a_newer_writer_falls_back_to_the_band():
    result = assess(person(rag="UNKNOWN", static_band="HIGH"))

    assert result.cohort == "FIXED"
    assert any("not recognised" in reason for reason in result.reasons)


# --- index offence missing / recent offences ------------------------------------------------


def test_a_missing_index_offence_is_said_and_is_not_neighbourhood_crime():
    result = assess(person(index_offence=None, rag="RED"))

    assert "index offence not yet known" in result.reasons
    assert result.cohort == "FLEX"


@pytest.mark.parametrize("category", [c for c in NEIGHBOURHOOD if c != "THEFT_NON_MOTOR"])
def test_recent_neighbourhood_offending_counts_towards_fixed(category):
    result = assess(person(index_offence="CRIMINAL_DAMAGE", recent_offences=[category, "OTHER"]))

    assert result.cohort == "FIXED"
    assert f"recent neighbourhood crime: {category.replace('_', ' ').lower()}" in result.reasons


def test_recent_offences_given_as_a_list_are_kept_as_a_tuple():
    assert person(recent_offences=["ROBBERY"]).recent_offences == ("ROBBERY",)


def test_a_recent_theft_could_be_shoplifting_so_it_is_named_but_not_counted():
    result = assess(person(index_offence="VIOLENCE", recent_offences=("THEFT_NON_MOTOR",)))

    assert result.cohort == "FLEX"
    assert (
        "recent theft non motor not counted as neighbourhood crime: it may be shoplifting"
        in result.reasons
    )


# --- force priorities -----------------------------------------------------------------------


def test_the_default_priority_is_domestic_abuse_perpetrators():
    assert ForcePriorities().for_force("Anywhere") == (DOMESTIC_ABUSE_PRIORITY,)


def test_a_statutory_domestic_abuse_perpetrator_with_low_risk_is_free():
    result = assess(person(index_offence="VIOLENCE", rag="GREEN", static_band="LOW",
                           domestic_abuse_perpetrator=True))

    assert result.cohort == "FREE"
    assert result.reasons[-1] == "fits FREE: a force priority"


def test_a_higher_cohort_wins_but_the_priority_match_is_still_reported():
    result = assess(person(index_offence="VIOLENCE", rag="AMBER", domestic_abuse_perpetrator=True))

    assert result.cohort == "FLEX"
    assert result.matched_priorities == (DOMESTIC_ABUSE_PRIORITY,)
    assert "matches force priority of Hampshire: domestic abuse perpetrators" in result.reasons


def test_a_force_with_its_own_setting_uses_its_own_priorities():
    settings = ForcePriorities(by_force={"Thames Valley": ["domestic abuse perpetrators",
                                                           "Knife Crime"]})
    knife = person(force="thames  valley", under_statutory_supervision=False,
                   index_offence="VIOLENCE", flags={"knife crime"})
    elsewhere = person(force="Hampshire", under_statutory_supervision=False,
                       index_offence="VIOLENCE", flags={"knife crime"})

    assert assess(knife, settings).cohort == "FREE"
    reasons = assess(knife, settings).reasons
    assert "matches force priority of thames  valley: Knife Crime" in reasons
    assert assess(elsewhere, settings).cohort is None
    assert (
        "matches no force priority of Hampshire (domestic abuse perpetrators)"
        in assess(elsewhere, settings).reasons
    )


def test_a_force_setting_replaces_the_default_so_a_force_can_drop_domestic_abuse():
    settings = ForcePriorities(by_force={"Kent": ("knife crime",)})
    abuser = person(force="Kent", under_statutory_supervision=False,
                    domestic_abuse_perpetrator=True)

    assert assess(abuser, settings).cohort is None
    assert assess(person(force="Surrey", under_statutory_supervision=False,
                         domestic_abuse_perpetrator=True), settings).cohort == "FREE"


def test_a_force_with_no_priorities_says_so():
    settings = ForcePriorities(by_force={"Kent": ()})
    result = assess(person(force="Kent", under_statutory_supervision=False), settings)

    assert result.cohort is None
    assert "force Kent has no FREE-cohort priorities" in result.reasons


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"by_force": {"Kent": "knife crime"}}, "by_force['Kent']"),
        ({"by_force": {"Kent": ["knife crime", " "]}}, "by_force['Kent']"),
        ({"by_force": {"": ["knife crime"]}}, "by_force"),
        ({"default": "domestic abuse perpetrators"}, "default"),
    ],
)
def test_bad_priority_settings_are_refused_naming_the_setting(kwargs, field):
    with pytest.raises(ValueError) as refused:
        ForcePriorities(**kwargs)

    assert str(refused.value).startswith(f"{field}:")


# --- candidate validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"index_offence": "BURGLARY"}, "index_offence"),
        ({"recent_offences": ["ROBBERY", "SHOPLIFTING"]}, r"recent_offences\[1\]"),
        ({"rag": "PURPLE"}, "rag"),
        ({"static_band": "EXTREME"}, "static_band"),
        ({"flags": "knife crime"}, "flags"),
    ],
)
def test_a_candidate_with_an_unknown_value_is_refused_naming_the_field(facts, field):
    with pytest.raises(ValueError, match=rf"^{field}"):
        person(**facts)


# --- properties -----------------------------------------------------------------------------

categories = st.one_of(st.none(), st.sampled_from(sorted(OFFENCE_WEIGHTS)))
grades = st.sampled_from([None, "RED", "AMBER", "GREEN"])
bands = st.sampled_from([None, *STATIC_BANDS])


@given(statutory=st.booleans(), index=categories, rag=grades, band=bands,
       abuser=st.booleans(), recent=st.lists(st.sampled_from(sorted(OFFENCE_WEIGHTS)),
                                             max_size=4))
def test_cohort_rules_hold_for_any_facts(statutory, index, rag, band, abuser, recent):
    candidate = person(under_statutory_supervision=statutory, index_offence=index, rag=rag,
                       static_band=band, domestic_abuse_perpetrator=abuser,
                       recent_offences=recent)
    result = assess(candidate)
    high = rag == "RED" or band in {"HIGH", "VERY_HIGH"}
    neighbourhood = index in NEIGHBOURHOOD_CATEGORIES or any(
        category in NEIGHBOURHOOD_CATEGORIES - {"THEFT_NON_MOTOR"} for category in recent
    )

    assert result.reasons and all(isinstance(reason, str) and reason for reason in result.reasons)
    assert (result.cohort == "FIXED") == (statutory and neighbourhood and high)
    if not statutory:
        assert result.cohort in {"FREE", None}
        assert (result.cohort == "FREE") == abuser
    if result.cohort is None:
        assert not abuser
    assert assess(candidate) == result
