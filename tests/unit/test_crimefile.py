"""iomkit.crimefile: the contract's crime-file rules, one broken column at a
time against a valid baseline row; BNG conversion; UK local time; versions.

Expected values are worked out here from the contract and published references, not from
the module.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime, timedelta

import pytest

from iomkit.crimefile import (
    ENGLAND_AND_WALES_FORCES,
    Refusal,
    assign_versions,
    fingerprint,
    london_to_utc,
    parse,
)

R = 6_371_008.8
NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)

# A valid row: Hampshire robbery, 21:30-21:50 on 1 Nov 2026 (GMT, so UTC), BNG position.
BASE = [
    "Hampshire", "RB", "Robbery of personal property", "HAM-20261102-01", "44/123456/26",
    "20261101213000", "20261101215000", "442000", "112000", "", "", "",
    "Phone and purse taken, near the junction",
]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(a))


def line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def row(**changes: str) -> list[str]:
    """The baseline row with some columns changed, by index: row(c5="...")."""
    cells = list(BASE)
    for name, value in changes.items():
        cells[int(name[1:])] = value
    return cells


def one(cells: list[str], now: datetime = NOW, **kwargs):
    return parse(line(cells), now, **kwargs)


def refusals(cells: list[str], **kwargs) -> list[Refusal]:
    parsed = one(cells, **kwargs)
    assert parsed.accepted == []
    assert parsed.refused, "expected the row to be refused"
    return parsed.refused


# -- the baseline -------------------------------------------------------------------------


def test_baseline_row_is_accepted_with_every_field():
    parsed = one(BASE)
    assert parsed.refused == []
    [value] = parsed.accepted
    assert "version" not in value
    assert value["crime_ref"] == "44/123456/26"
    assert value["offence"] == "ROBBERY"
    assert value["force"] == "Hampshire"
    assert value["committed_from"] == datetime(2026, 11, 1, 21, 30, tzinfo=UTC)
    assert value["committed_to"] == datetime(2026, 11, 1, 21, 50, tzinfo=UTC)
    assert value["reported_at"] == NOW
    assert value["location_accuracy_m"] == 0.0
    assert value["type_description"] == "Robbery of personal property"
    assert value["batch_id"] == "HAM-20261102-01"
    assert value["crime_text"] == "Phone and purse taken, near the junction"  # quoted comma
    for key in ("committed_from", "committed_to", "reported_at"):
        assert value[key].utcoffset() == timedelta(0)


def test_the_value_encodes_with_the_schema():
    from iomkit.codec import Codec, SchemaRegistry
    from iomkit.settings import ROOT

    codec = Codec(SchemaRegistry(ROOT / "schemas"))
    [value] = one(BASE).accepted
    decoded = codec.decode(codec.encode("CrimeReported", {**value, "version": 1})).value
    assert decoded == {**value, "version": 1}


def test_forty_three_forces_and_any_case_and_spacing():
    assert len(ENGLAND_AND_WALES_FORCES) == len(set(ENGLAND_AND_WALES_FORCES)) == 43
    [value] = one(row(c0="  greater   MANCHESTER ")).accepted
    assert value["force"] == "Greater Manchester"


def test_settings_may_add_a_force_and_give_forces_an_accuracy():
    forces = [*ENGLAND_AND_WALES_FORCES, "British Transport Police"]
    [value] = one(row(c0="british transport police"), forces=forces).accepted
    assert value["force"] == "British Transport Police"
    assert value["location_accuracy_m"] == 0.0
    [value] = one(BASE, force_accuracy_m={"HAMPSHIRE": 75}).accepted
    assert value["location_accuracy_m"] == 75.0


@pytest.mark.parametrize(("type_id", "offence"), [
    ("RB", "ROBBERY"), ("BIAD", "BURGLARY_DWELLING"), ("AB", "AGGRAVATED_BURGLARY"),
    ("BOTD", "BURGLARY_NON_DWELLING"), ("TOMV", "THEFT_OF_VEHICLE"),
    ("TFP", "THEFT_FROM_PERSON"), ("TFMV", "THEFT_FROM_VEHICLE"),
])
def test_type_ids_map_to_the_contracts_offences(type_id, offence):
    [value] = one(row(c1=type_id)).accepted
    assert value["offence"] == offence


def test_blank_free_text_columns_are_null():
    [value] = one(row(c2="", c3=" ", c12="")).accepted
    assert (value["type_description"], value["batch_id"], value["crime_text"]) == (
        None, None, None)


# -- one broken column at a time -------------------------------------------------------------

BROKEN = [
    # (id, cells, column, words in the reason)
    ("too few columns", BASE[:12], "row", "12 columns, expected 13"),
    ("too many columns", [*BASE, "x"], "row", "14 columns, expected 13"),
    ("blank force", row(c0=""), "0 police force", "blank"),
    ("unknown force", row(c0="Police Scotland"), "0 police force", "unknown police force"),
    ("blank type", row(c1=""), "1 crime type id", "blank"),
    ("unknown type", row(c1="CD"), "1 crime type id", "unknown crime type id 'CD'"),
    ("blank ref", row(c4="  "), "4 crime reference", "blank"),
    ("blank from", row(c5=""), "5 committed from", "blank"),
    ("blank to", row(c6=""), "6 committed to", "blank"),
    ("short time", row(c5="202611012130"), "5 committed from", "not a time yyyyMMddHHmmss"),
    ("iso time", row(c6="2026-11-01T21:50"), "6 committed to", "not a time"),
    ("impossible date", row(c5="20260230213000"), "5 committed from", "not a valid time"),
    ("hour 24", row(c6="20261101240000"), "6 committed to", "not a valid time"),
    ("from after to", row(c5="20261101220000"), "6 committed to", "before committed from"),
    ("window over 12 h", row(c5="20261101094959"), "6 committed to", "longer than 12 hours"),
    ("from in future", row(c5="20261102060001", c6="20261102060000"),
     "5 committed from", "in the future"),
    ("to in future", row(c6="20261102060001"), "6 committed to", "in the future"),
    ("easting not a number", row(c7="44200O"), "7 easting", "not a number"),
    ("northing missing", row(c8=""), "8 northing", "blank, but easting is filled"),
    ("easting nan", row(c7="nan"), "7 easting", "not a finite number"),
    ("easting negative", row(c7="-1"), "7 easting", "outside the British National Grid"),
    ("northing too big", row(c8="1300001"), "8 northing", "outside the British National Grid"),
    ("grid point at the grid's edge", row(c7="0", c8="0"), "7 easting",
     "outside OSTN15's coverage"),
    ("grid point in Northern Ireland", row(c7="146000", c8="530000"), "7 easting",
     "Ireland"),
    ("grid point in the North Sea", row(c7="680000", c8="300000"), "7 easting",
     "outside Great Britain and the Isle of Man"),
    ("northing beyond the OSTN15 grid", row(c8="1260000"), "8 northing",
     "outside the British National Grid as OSTN15 covers it (0..1250000)"),
    ("Irish Grid datum", row(c11="TM75"), "11 datum", "is the Irish Grid"),
    ("Irish Transverse Mercator", row(c11="itm"), "11 datum", "is the Irish Grid"),
    ("no position", row(c7="", c8=""), "7 easting", "no position"),
    ("latitude missing", row(c7="", c8="", c10="-1.404"), "9 latitude",
     "blank, but longitude is filled"),
    ("latitude south of GB", row(c7="", c8="", c9="49.79", c10="-1.4"), "9 latitude",
     "outside Great Britain"),
    ("longitude east of GB", row(c7="", c8="", c9="52.0", c10="1.81"), "10 longitude",
     "outside Great Britain"),
    ("longitude not a number", row(c7="", c8="", c9="50.9", c10="W1.4"), "10 longitude",
     "not a number"),
    ("unknown datum", row(c11="ETRS89"), "11 datum", "not WGS84, OSGB36 or blank"),
    ("datum WGS84 with only grid", row(c11="WGS84"), "11 datum",
     "latitude and longitude are blank"),
    ("datum OSGB36 with only lat/lon", row(c7="", c8="", c9="50.9", c10="-1.4", c11="OSGB36"),
     "11 datum", "easting and northing are blank"),
    ("both pairs, blank datum", row(c9="50.9", c10="-1.4"), "11 datum", "ambiguous"),
]


@pytest.mark.parametrize(("cells", "column", "reason"), [b[1:] for b in BROKEN],
                         ids=[b[0] for b in BROKEN])
def test_one_broken_column_refuses_the_row_naming_it(cells, column, reason):
    [refusal] = refusals(cells)
    assert refusal.line == 1
    assert refusal.column == column
    assert reason in refusal.reason
    expected_ref = cells[4].strip() if len(cells) > 4 else ""
    assert refusal.crime_ref == expected_ref
    assert str(refusal) == (f"line 1: crime {expected_ref}: column {column}: "
                            f"{refusal.reason}")


def test_exactly_twelve_hours_and_exactly_now_are_accepted():
    assert one(row(c5="20261101095000")).refused == []
    # 06:00 UTC on 2 Nov is 06:00 GMT in London
    assert one(row(c5="20261102055000", c6="20261102060000")).refused == []


def test_swapped_latitude_and_longitude_are_refused_with_a_hint():
    refused = refusals(row(c7="", c8="", c9="-1.404", c10="50.906"))
    assert [r.column for r in refused] == ["9 latitude", "10 longitude"]
    assert all("swapped?" in r.reason for r in refused)


def test_a_row_with_several_problems_lists_each():
    refused = refusals(row(c0="Nowhere", c1="XX", c5="20261301000000"))
    assert [r.column for r in refused] == ["0 police force", "1 crime type id",
                                           "5 committed from"]


def test_naive_now_is_a_programming_error():
    with pytest.raises(ValueError, match="timezone-aware"):
        parse(line(BASE), datetime(2026, 11, 2, 6))


# -- positions ------------------------------------------------------------------------------


def test_bng_point_in_southampton_converts_to_within_a_few_metres():
    [value] = one(BASE).accepted
    # 442000 E 112000 N is about 50.906 N, 1.404 W; 3 decimals is good to ~6 m here.
    assert haversine_m(value["lat"], value["lon"], 50.906, -1.404) < 10


def test_os_test_point_former_os_headquarters_converts_to_a_tenth_of_a_metre():
    # OSTN15 test point TP05 (the OS's published test data, tests/unit/ostn15_points.py):
    # 438710.920 E 114792.250 N is 50.93127937910 N, 1.45051433700 W (ETRS89).
    [value] = one(row(c7="438710.920", c8="114792.250")).accepted
    assert haversine_m(value["lat"], value["lon"], 50.93127937910, -1.45051433700) < 0.1


def test_every_grid_reference_of_a_file_converts_in_order_with_refusals_between():
    text = "".join(line(row(c4=f"G/{i}", c7=e, c8=n)) for i, (e, n) in enumerate([
        ("442000", "112000"), ("146000", "530000"), ("530624.974", "178388.464"),
        ("", ""), ("438710.920", "114792.250")]))
    parsed = parse(text, NOW)
    assert [v["crime_ref"] for v in parsed.accepted] == ["G/0", "G/2", "G/4"]
    assert [(r.line, r.crime_ref, r.column) for r in parsed.refused] == [
        (2, "G/1", "7 easting"), (4, "G/3", "7 easting")]
    london = parsed.accepted[1]  # TP09, Westminster
    assert haversine_m(london["lat"], london["lon"], 51.48936564950, -0.11992557180) < 0.1


def test_a_grid_reference_off_britain_is_refused_with_the_rows_other_problems():
    refused = refusals(row(c0="Atlantis", c7="146000", c8="530000"))
    assert [r.column for r in refused] == ["0 police force", "7 easting"]
    assert "146000, 530000 is in Ireland, Northern Ireland" in refused[1].reason


def test_latitude_longitude_are_taken_as_given():
    [value] = one(row(c7="", c8="", c9="50.9097", c10="-1.4044")).accepted
    assert (value["lat"], value["lon"]) == (50.9097, -1.4044)


@pytest.mark.parametrize("datum", ["WGS84", "wgs84 "])
def test_datum_chooses_when_both_pairs_are_filled_wgs84(datum):
    [value] = one(row(c9="51.5", c10="-0.1", c11=datum)).accepted
    assert (value["lat"], value["lon"]) == (51.5, -0.1)


def test_datum_chooses_when_both_pairs_are_filled_osgb36():
    [value] = one(row(c9="51.5", c10="-0.1", c11="OSGB36")).accepted
    assert haversine_m(value["lat"], value["lon"], 50.906, -1.404) < 10


def test_datum_agreeing_with_the_only_pair_is_accepted():
    assert one(row(c11="OSGB36")).refused == []
    assert one(row(c7="", c8="", c9="50.9", c10="-1.4", c11="WGS84")).refused == []


# -- UK local time --------------------------------------------------------------------------


def test_winter_time_is_utc_and_summer_time_is_utc_plus_one():
    assert london_to_utc("20260115120000") == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert london_to_utc("20260715120000") == datetime(2026, 7, 15, 11, 0, tzinfo=UTC)


def test_spring_gap_time_does_not_exist_and_is_refused():
    # Clocks go forward at 01:00 GMT on Sunday 29 March 2026: 01:30 never happens.
    [refusal] = refusals(row(c5="20260329013000", c6="20260329030000"))
    assert refusal.column == "5 committed from"
    assert "does not exist in UK local time" in refusal.reason
    # Either side of the gap is fine: 00:59 GMT and 02:00 BST are one minute apart.
    assert london_to_utc("20260329005900") == datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert london_to_utc("20260329020000") == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_autumn_fold_time_takes_the_first_occurrence_bst():
    # Clocks go back at 02:00 BST on Sunday 25 October 2026: 01:30 happens twice; the first
    # (BST, UTC+1) is taken, 00:30 UTC.
    assert london_to_utc("20261025013000") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    [value] = one(row(c5="20261025013000", c6="20261025013000")).accepted
    assert value["committed_from"] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_summer_row_becomes_utc():
    [value] = one(row(c5="20260715213000", c6="20260715215000")).accepted
    assert value["committed_from"] == datetime(2026, 7, 15, 20, 30, tzinfo=UTC)
    assert value["committed_to"] == datetime(2026, 7, 15, 20, 50, tzinfo=UTC)


def test_future_is_judged_in_utc_not_local_time():
    # 12:30 BST is 11:30 UTC: not in the future at 11:45 UTC, though 12:30 > 11:45.
    now = datetime(2026, 7, 15, 11, 45, tzinfo=UTC)
    assert one(row(c5="20260715120000", c6="20260715123000"), now=now).refused == []
    [refusal] = refusals(row(c5="20260715120000", c6="20260715125000"), now=now)
    assert refusal.column == "6 committed to"


# -- files ----------------------------------------------------------------------------------


def test_a_file_mixes_accepted_and_refused_rows_with_line_numbers():
    text = (
        "\ufeff" + line(row(c4="A/1"))
        + "\n"  # a blank line is skipped but counted
        + line(row(c4="A/2", c1="ZZ"))
        + line(row(c4="A/3", c12="two\nlines"))  # a quoted newline: one row, two lines
        + line(row(c4="A/4", c0="Atlantis"))
        + 'Hampshire,RB,x,b,"A/5,20261101213000\n'  # an unclosed quote swallows the rest
    )
    parsed = parse(text, NOW)
    assert [v["crime_ref"] for v in parsed.accepted] == ["A/1", "A/3"]
    assert parsed.accepted[1]["crime_text"] == "two\nlines"
    assert [(r.line, r.crime_ref, r.column) for r in parsed.refused] == [
        (3, "A/2", "1 crime type id"),
        (6, "A/4", "0 police force"),
        (7, "", "row"),
    ]
    assert parsed.refused_lines == [3, 6, 7]
    assert "not valid CSV" in parsed.refused[2].reason


def test_a_bad_quote_refuses_that_row_only():
    text = line(row(c4="B/1")) + 'Kent,RB,"x"y,b,B/2\n' + line(row(c4="B/3"))
    parsed = parse(text, NOW)
    assert [v["crime_ref"] for v in parsed.accepted] == ["B/1", "B/3"]
    assert [(r.line, r.column) for r in parsed.refused] == [(2, "row")]


def test_an_empty_file_has_nothing():
    parsed = parse("", NOW)
    assert (parsed.accepted, parsed.refused) == ([], [])


# -- versions -------------------------------------------------------------------------------


def accepted(*cells: list[str]) -> list[dict]:
    parsed = parse("".join(line(c) for c in cells), NOW)
    assert parsed.refused == []
    return parsed.accepted


def test_a_new_crime_is_version_one():
    values = accepted(BASE)
    to_publish, unchanged = assign_versions(values, {})
    assert [(v["crime_ref"], v["version"]) for v in to_publish] == [("44/123456/26", 1)]
    assert unchanged == []
    assert "version" not in values[0]  # the input is not changed


def test_an_unchanged_crime_is_not_published_even_with_another_batch_and_report_time():
    [first] = accepted(BASE)
    known = {"44/123456/26": (3, fingerprint(first))}
    later = parse(line(row(c3="HAM-20261103-01")), NOW + timedelta(days=1)).accepted
    assert assign_versions(later, known) == ([], ["44/123456/26"])


@pytest.mark.parametrize("changes", [
    {"c6": "20261101215500"}, {"c5": "20261101212000"}, {"c1": "TFP"},
    {"c7": "442001"}, {"c12": "Phone taken"}, {"c2": "Robbery"},
], ids=lambda c: next(iter(c)))
def test_a_changed_crime_is_the_next_version(changes):
    [first] = accepted(BASE)
    known = {"44/123456/26": (3, fingerprint(first))}
    to_publish, unchanged = assign_versions(accepted(row(**changes)), known)
    assert [v["version"] for v in to_publish] == [4]
    assert unchanged == []


def test_a_changed_force_accuracy_is_a_new_version():
    [first] = accepted(BASE)
    known = {"44/123456/26": (1, fingerprint(first))}
    later = one(BASE, force_accuracy_m={"Hampshire": 50}).accepted
    assert [v["version"] for v in assign_versions(later, known)[0]] == [2]


def test_the_same_crime_twice_in_one_file_the_later_row_wins():
    values = accepted(row(c4="C/1"), row(c4="C/2"), row(c4="C/1", c6="20261101220000"))
    to_publish, unchanged = assign_versions(values, {})
    assert [(v["crime_ref"], v["version"]) for v in to_publish] == [("C/2", 1), ("C/1", 1)]
    assert to_publish[1]["committed_to"] == datetime(2026, 11, 1, 22, 0, tzinfo=UTC)
    # and against a known version: one new version, from the later row
    known = {"C/1": (2, fingerprint(values[0]))}
    to_publish, unchanged = assign_versions(values, known)
    assert [(v["crime_ref"], v["version"]) for v in to_publish] == [("C/2", 1), ("C/1", 3)]
    # the later row repeating the known facts: unchanged, nothing for C/1
    known = {"C/1": (2, fingerprint(values[2]))}
    to_publish, unchanged = assign_versions(values, known)
    assert [v["crime_ref"] for v in to_publish] == ["C/2"]
    assert unchanged == ["C/1"]


def test_fingerprint_is_the_same_for_a_decoded_value():
    # times as epoch millis (another reader's view) give the same fingerprint
    [value] = accepted(BASE)
    millis = {k: int(value[k].timestamp() * 1000) for k in ("committed_from", "committed_to")}
    assert fingerprint({**value, **millis}) == fingerprint(value)
    assert fingerprint({**value, "batch_id": "other", "reported_at": NOW}) == fingerprint(value)
