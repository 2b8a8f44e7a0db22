"""The management-information charts: well-formed, accessible SVG whose marks match the data,
with suppressed figures left undrawn but said so, and text escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from services.insights import charts

NS = {"s": "http://www.w3.org/2000/svg"}
S = "{http://www.w3.org/2000/svg}"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]


def parse(svg: str) -> ET.Element:
    """The SVG parsed (it must be well-formed XML), checked for what every chart has."""
    root = ET.fromstring(svg)
    assert root.tag == f"{S}svg"
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    title = root.find(f"s:title[@id='{title_id}']", NS)
    desc = root.find(f"s:desc[@id='{desc_id}']", NS)
    assert title is not None and title.text
    assert desc is not None and desc.text
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in svg and "@import" not in svg and "href" not in svg
    return root


def marks(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == cls]


def tooltip(element: ET.Element) -> str:
    title = element.find("s:title", NS)
    assert title is not None, ET.tostring(element)
    return title.text or ""


def tooltips(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{S}title")]


def y_of(element: ET.Element) -> float:
    """The vertical centre of a marker, whatever its shape."""
    if element.tag == f"{S}circle":
        return float(element.get("cy"))
    if element.tag == f"{S}rect":
        return float(element.get("y")) + float(element.get("height")) / 2
    ys = [float(v) for v in re.findall(r"[\d.]+ ([\d.]+)", element.get("d"))]
    return (min(ys) + max(ys)) / 2


# -- shared ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("high", "integer", "expected"), [
    (0, False, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (3, True, [0, 1, 2, 3]),
    (97, True, [0, 20, 40, 60, 80, 100]),
    (0.31, False, [0, 0.1, 0.2, 0.3, 0.4]),
    (0.95, False, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (12, False, [0, 2.5, 5, 7.5, 10, 12.5]),
    (12, True, [0, 5, 10, 15]),
    (1234, True, [0, 500, 1000, 1500]),
])
def test_nice_ticks_start_at_zero_and_reach_the_highest(high: float, integer: bool,
                                                        expected: list[float]) -> None:
    ticks = charts.nice_ticks(high, integer=integer)
    assert ticks == pytest.approx(expected)
    assert ticks[0] == 0 and ticks[-1] >= high and len(ticks) <= 6


def test_empty_data_says_no_data_yet() -> None:
    for svg in (charts.line_chart("Cohort", [], {}, y_label="people"),
                charts.line_chart("Cohort", MONTHS, {}, y_label="people"),
                charts.stacked_bars("RAG", [], {"RED": []}),
                charts.calibration_plot("Calibration", []),
                charts.survival_curves("Survival", {}),
                charts.survival_curves("Survival", {"A": [], "B": []}),
                charts.bars("Caseload", [], [])):
        root = parse(svg)
        assert [t.text for t in marks(root, "no-data")] == ["no data yet"]
        assert not marks(root, "point") and not marks(root, "bar")


def test_text_is_escaped_everywhere() -> None:
    evil = '<script>alert("x")</script> & "Smith"'
    svgs = [
        charts.line_chart(evil, [evil, "Feb"], {evil: [1, 2]}, y_label=evil),
        charts.stacked_bars(evil, [evil], {evil: [3], "RED": [None]},
                            colours={evil: '"><script>'}),
        charts.calibration_plot(evil, [{"band": evil, "n": 5, "mean_predicted": 0.2,
                                        "actual_rate": 0.3},
                                       {"band": evil, "n": 5, "mean_predicted": None,
                                        "actual_rate": 0.3}]),
        charts.survival_curves(evil, {evil: [{"day": 0, "survival": 1.0},
                                             {"day": 30, "survival": None}]},
                               y_label=evil, x_label=evil),
        charts.bars(evil, [evil, "b"], [1, None], x_label=evil),
        charts.bars(evil, [], []),
    ]
    for svg in svgs:
        root = parse(svg)  # parse() also checks no <script> got through unescaped
        assert "&lt;script&gt;" in svg
        assert any(evil in (t or "") for t in tooltips(root))
        assert root.find("s:title", NS).text == evil


def test_element_ids_are_unique_per_title_and_can_be_chosen() -> None:
    a = parse(charts.bars("Caseload", ["x"], [1]))
    b = parse(charts.bars("Caseload by team", ["x"], [1]))
    assert a.get("id") != b.get("id")
    c = parse(charts.bars("Caseload", ["x"], [1], chart_id="caseload-2"))
    assert c.get("aria-labelledby") == "caseload-2-title caseload-2-desc"
    with pytest.raises(ValueError, match="chart_id"):
        charts.bars("Caseload", ["x"], [1], chart_id='x" onload="')


# -- line chart -----------------------------------------------------------------------------


def test_line_chart_has_a_marker_per_value_and_higher_is_higher() -> None:
    values = [10, 30, 20, 50, 40, 0]
    root = parse(charts.line_chart("Cohort size", MONTHS, {"cohort": values},
                                   y_label="people"))
    points = marks(root, "point")
    assert len(points) == 6
    ys = [y_of(p) for p in points]
    for (v1, y1), (v2, y2) in pairwise(sorted(zip(values, ys, strict=True))):
        assert v1 < v2 and y1 > y2  # a larger value sits higher: a smaller y
    assert [tooltip(p) for p in points][:2] == ["cohort, Jan: 10", "cohort, Feb: 30"]
    path = marks(root, "line")[0].get("d")
    assert path.count("M") == 1 and path.count("L") == 5


def test_line_chart_legend_tells_series_apart_without_colour() -> None:
    series = {"Force A": [0.1, 0.2], "Force B": [0.3, 0.25], "Force C": [0.05, None]}
    root = parse(charts.line_chart("Reoffending", ["Q1", "Q2"], series, y_label="rate",
                                   percent=True))
    legend = [t.text for t in marks(root, "legend")[0].iter(f"{S}text")]
    assert legend == list(series)
    lines = marks(root, "line")
    dashes = {line.get("stroke-dasharray") for line in lines}
    shapes = {(p.tag, p.get("d", "")[:1]) for p in marks(root, "point")}
    assert len(dashes) == 3 and len(shapes) == 3
    assert "Force A, Q2: 20.0%" in tooltips(root)
    axis = [t.text for t in marks(root, "y-axis")[0].iter(f"{S}text")]
    assert axis[0] == "0%" and axis[-2].endswith("%") and axis[-1] == "rate"


def test_line_chart_breaks_at_a_suppressed_value_and_says_so() -> None:
    root = parse(charts.line_chart("Cohort", MONTHS, {"cohort": [5, 6, None, 8, 9, None],
                                                      "other": [1, 2, 3, 4, 5, 6]},
                                   y_label="people"))
    cohort = next(g for g in marks(root, "series") if g.get("data-series") == "cohort")
    assert len(marks(cohort, "point")) == 4
    d = marks(cohort, "line")[0].get("d")
    assert d.count("M") == 2 and d.count("L") == 2  # two runs: Jan-Feb, Apr-May
    gaps = marks(root, "suppressed")
    assert [tooltip(g) for g in gaps] == ["Mar: cohort suppressed", "Jun: cohort suppressed"]
    desc = root.find("s:desc", NS).text
    assert "2 figures suppressed" in desc and "latest 9 (May)" in desc


def test_line_chart_all_suppressed_draws_no_marks() -> None:
    root = parse(charts.line_chart("Cohort", ["Jan", "Feb"], {"cohort": [None, None]},
                                   y_label="people"))
    assert not marks(root, "point")
    assert len(marks(root, "suppressed")) == 2
    assert "cohort: all suppressed" in root.find("s:desc", NS).text


def test_line_chart_rejects_bad_data() -> None:
    with pytest.raises(ValueError, match="3 values for 2 labels"):
        charts.line_chart("x", ["a", "b"], {"s": [1, 2, 3]}, y_label="y")
    with pytest.raises(ValueError, match="not a number"):
        charts.line_chart("x", ["a"], {"s": [-1]}, y_label="y")
    with pytest.raises(ValueError, match="from 0 to 1"):
        charts.line_chart("x", ["a"], {"s": [45.0]}, y_label="y", percent=True)
    with pytest.raises(ValueError):
        charts.line_chart("x", ["a"], {"s": [float("nan")]}, y_label="y")


def test_many_x_labels_are_thinned_but_every_point_keeps_its_label() -> None:
    labels = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)]
    root = parse(charts.line_chart("Cohort", labels, {"c": list(range(24))},
                                   y_label="people", width=400))
    shown = [t.text for t in marks(root, "x-axis")[0].iter(f"{S}text")]
    assert shown[0] == "2024-01" and 2 < len(shown) < 24
    assert len(marks(root, "point")) == 24


# -- stacked bars ---------------------------------------------------------------------------


RAG = {"GREEN": [10, 12, 14], "AMBER": [5, None, 3], "RED": [2, 3, None]}


def test_stacked_bars_have_a_segment_per_known_count_and_totals() -> None:
    root = parse(charts.stacked_bars("Cohort by RAG", ["Jan", "Feb", "Mar"], RAG))
    segments = marks(root, "segment")
    assert len(segments) == 7  # nine counts, two suppressed
    assert all(s.tag == f"{S}rect" for s in segments)
    assert "AMBER, Jan: 5" in [tooltip(s) for s in segments]
    totals = marks(root, "total")
    assert [t.text for t in totals] == ["17", "≥ 15", "≥ 17"]
    assert tooltip(totals[1]) == "Feb: 15 shown; AMBER suppressed"
    assert tooltip(totals[2]) == "Mar: 17 shown; RED suppressed"


def test_stacked_segments_stack_upwards_and_heights_follow_counts() -> None:
    root = parse(charts.stacked_bars("Cohort", ["Jan", "Feb"],
                                     {"GREEN": [10, 20], "RED": [5, 5]}))
    jan, feb = marks(root, "stack")
    (green, red) = marks(jan, "segment")
    g_top, g_h = float(green.get("y")), float(green.get("height"))
    r_top, r_h = float(red.get("y")), float(red.get("height"))
    assert r_top + r_h == pytest.approx(g_top, abs=0.11)  # red sits on green
    assert g_h == pytest.approx(2 * r_h, abs=0.2)
    feb_top = min(float(s.get("y")) for s in marks(feb, "segment"))
    assert feb_top < r_top  # the larger total (25 > 15) reaches higher
    assert float(marks(feb, "total")[0].get("y")) < float(marks(jan, "total")[0].get("y"))


def test_rag_stacks_use_the_project_colours_and_distinct_patterns() -> None:
    svg = charts.stacked_bars("Cohort", ["Jan"], {"GREEN": [1], "AMBER": [2], "RED": [3]})
    root = parse(svg)
    patterns = root.findall(".//s:pattern", NS)
    fills = [p.find("s:rect", NS).get("fill") for p in patterns]
    assert fills == ["#2a9d3f", "#e9a100", "#d62828"]
    overlays = [b"".join(ET.tostring(c) for c in list(p)[1:]) for p in patterns]
    assert len(set(overlays)) == 3  # plain, striped, cross-hatched: not colour alone
    refs = {s.get("fill") for s in marks(root, "segment")}
    assert refs == {f"url(#{p.get('id')})" for p in patterns}
    legend = [t.text for t in marks(root, "legend")[0].iter(f"{S}text")]
    assert legend == ["GREEN", "AMBER", "RED"]


def test_stacked_colours_can_be_given() -> None:
    root = parse(charts.stacked_bars("Pathways", ["Jan"], {"Fixed": [4], "Flex": [2]},
                                     colours={"Flex": "#123456"}))
    fills = [p.find("s:rect", NS).get("fill") for p in root.findall(".//s:pattern", NS)]
    assert fills[1] == "#123456" and fills[0] != "#123456"


def test_a_wholly_suppressed_bar_has_no_segment_and_says_so() -> None:
    root = parse(charts.stacked_bars("Cohort", ["Jan", "Feb"],
                                     {"GREEN": [None, 4], "RED": [None, 1]}))
    jan = marks(root, "stack")[0]
    assert not marks(jan, "segment")
    total = marks(jan, "total")[0]
    assert total.text == "suppressed" and tooltip(total) == "Jan: all suppressed"


def test_stacked_bars_reject_ragged_input() -> None:
    with pytest.raises(ValueError, match="'RED' has 1 values for 2 labels"):
        charts.stacked_bars("x", ["a", "b"], {"GREEN": [1, 2], "RED": [1]})


# -- calibration ----------------------------------------------------------------------------


POINTS = [
    {"band": "low", "n": 400, "mean_predicted": 0.12, "actual_rate": 0.10},
    {"band": "medium", "n": 100, "mean_predicted": 0.35, "actual_rate": 0.41},
    {"band": "high", "n": 25, "mean_predicted": 0.71, "actual_rate": 0.66},
    {"band": "very high", "n": 3, "mean_predicted": 0.9, "actual_rate": None},
]


def test_calibration_has_a_circle_per_placed_band() -> None:
    root = parse(charts.calibration_plot("Calibration", POINTS))
    circles = {c.get("data-band"): c for c in marks(root, "point")}
    assert set(circles) == {"low", "medium", "high"}
    assert all(c.tag == f"{S}circle" for c in circles.values())
    labels = sorted(t.text for t in marks(root, "point-label"))
    assert labels == ["high", "low", "medium"]
    assert tooltip(circles["medium"]) == ("band medium (100 people): predicted 35.0%, "
                                          "actual 41.0%")
    r = {band: float(c.get("r")) for band, c in circles.items()}
    assert r["low"] > r["medium"] > r["high"]  # area follows n
    assert r["low"] / r["medium"] == pytest.approx(2, rel=0.02)  # 4 x the people, 2 x r
    cx = {band: float(c.get("cx")) for band, c in circles.items()}
    cy = {band: float(c.get("cy")) for band, c in circles.items()}
    assert cx["low"] < cx["medium"] < cx["high"]  # higher prediction further right
    assert cy["low"] > cy["medium"] > cy["high"]  # higher actual rate higher up


def test_calibration_draws_the_diagonal_and_names_undrawn_bands() -> None:
    root = parse(charts.calibration_plot("Calibration", POINTS))
    diagonal = marks(root, "diagonal")[0]
    assert float(diagonal.get("x1")) < float(diagonal.get("x2"))
    assert float(diagonal.get("y1")) > float(diagonal.get("y2"))
    assert float(diagonal.get("x2")) - float(diagonal.get("x1")) == pytest.approx(
        float(diagonal.get("y1")) - float(diagonal.get("y2")))  # square: 45 degrees
    assert any(t.text.startswith("as predicted") for t in marks(root, "key")[0].iter(f"{S}text"))
    note = marks(root, "suppressed")[0]
    assert note.text == "not drawn (suppressed): very high"
    assert tooltip(note) == "band very high: actual rate suppressed"


def test_calibration_point_on_the_diagonal_sits_on_it() -> None:
    root = parse(charts.calibration_plot("C", [{"band": "x", "n": 10,
                                                "mean_predicted": 0.5, "actual_rate": 0.5},
                                               {"band": "y", "n": None,
                                                "mean_predicted": 0.0, "actual_rate": 1.0}]))
    d = marks(root, "diagonal")[0]
    mid = ((float(d.get("x1")) + float(d.get("x2"))) / 2,
           (float(d.get("y1")) + float(d.get("y2"))) / 2)
    x = next(c for c in marks(root, "point") if c.get("data-band") == "x")
    assert (float(x.get("cx")), float(x.get("cy"))) == pytest.approx(mid, abs=0.11)
    y = next(c for c in marks(root, "point") if c.get("data-band") == "y")
    assert float(y.get("r")) == 3.0 and "number suppressed" in tooltip(y)


def test_calibration_all_suppressed_and_bad_rates() -> None:
    root = parse(charts.calibration_plot("C", [{"band": "a", "n": 2, "mean_predicted": None,
                                                "actual_rate": None}]))
    assert not marks(root, "point")
    assert tooltip(marks(root, "suppressed")[0]) == (
        "band a: predicted rate suppressed and actual rate suppressed")
    with pytest.raises(ValueError, match="band a"):
        charts.calibration_plot("C", [{"band": "a", "n": 2, "mean_predicted": 1.5,
                                       "actual_rate": 0.2}])


# -- survival -------------------------------------------------------------------------------


def path_points(d: str) -> list[tuple[float, float]]:
    """The (x, y) after each command of an M/H/V path."""
    points, x, y = [], 0.0, 0.0
    for command, args in re.findall(r"([MHV])([^MHV]*)", d):
        numbers = [float(n) for n in args.split()]
        if command == "M":
            x, y = numbers
        elif command == "H":
            x = numbers[0]
        else:
            y = numbers[0]
        points.append((x, y))
    return points


CURVES = {
    "2023 cohort": [{"day": 0, "survival": 1.0}, {"day": 40, "survival": 0.9, "at_risk": 90},
                    {"day": 120, "survival": 0.8}, {"day": 300, "survival": 0.7},
                    {"day": 365, "survival": 0.7}],
    "2024 cohort": [{"day": 0, "survival": 1.0}, {"day": 60, "survival": 0.95},
                    {"day": 200, "survival": None}, {"day": 250, "survival": 0.85},
                    {"day": 500, "survival": 0.5}],
}


def test_survival_steps_never_go_up_and_only_move_right() -> None:
    root = parse(charts.survival_curves("Time to reoffence", CURVES))
    paths = marks(root, "step")
    assert len(paths) == 2
    for path in paths:
        points = path_points(path.get("d"))
        for (x1, y1), (x2, y2) in pairwise(points):
            assert y2 >= y1  # survival never rises: y never gets smaller
            assert x2 >= x1
    first = path_points(paths[0].get("d"))
    assert first[0][1] < first[-1][1]  # it did fall


def test_survival_is_drawn_as_steps_over_the_horizon() -> None:
    root = parse(charts.survival_curves("Time to reoffence", CURVES))
    a, b = marks(root, "curve")
    d = marks(a, "step")[0].get("d")
    assert d.startswith("M") and "L" not in d and d.count("V") == 4
    xs = [x for x, _ in path_points(d)]
    assert xs[0] == pytest.approx(float(marks(root, "x-axis")[0].find("s:line", NS).get("x1")))
    b_xs = [x for x, _ in path_points(marks(b, "step")[0].get("d"))]
    assert max(b_xs) == pytest.approx(max(xs))  # day 500 carries the curve to day 365 only
    assert len(marks(a, "point")) == 5 and len(marks(b, "point")) == 3  # none past 365
    assert "2023 cohort, day 40: 90.0%, 90 at risk" in tooltips(root)
    axis = [t.text for t in marks(root, "x-axis")[0].iter(f"{S}text")]
    assert axis[0] == "0" and axis[-2] == "365" and axis[-1] == "days"


def test_a_suppressed_survival_step_breaks_the_curve_and_says_so() -> None:
    root = parse(charts.survival_curves("Time to reoffence", CURVES))
    b = marks(root, "curve")[1]
    d = marks(b, "step")[0].get("d")
    assert d.count("M") == 2  # broken at day 200, resumed at day 250
    assert not any("day 200" in tooltip(p) for p in marks(b, "point"))
    gap = marks(root, "suppressed")[0]
    assert tooltip(gap) == "2024 cohort, day 200: suppressed"
    assert "1 step suppressed" in root.find("s:desc", NS).text


def test_survival_curves_have_distinct_dashes_and_a_legend() -> None:
    curves = {f"c{i}": [{"day": 0, "survival": 1.0}, {"day": 10 * i + 5, "survival": 0.5}]
              for i in range(4)}
    curves["empty"] = []
    root = parse(charts.survival_curves("S", curves))
    dashes = [p.get("stroke-dasharray") for p in marks(root, "step")]
    colours = [p.get("stroke") for p in marks(root, "step")]
    assert len(set(dashes)) == 4 and len(set(colours)) == 4
    legend = [t.text for t in marks(root, "legend")[0].iter(f"{S}text")]
    assert legend == ["c0", "c1", "c2", "c3", "empty (no data yet)"]


def test_a_curve_without_day_0_starts_at_one() -> None:
    root = parse(charts.survival_curves("S", {"c": [{"day": 30, "survival": 0.8}]}))
    points = path_points(marks(root, "step")[0].get("d"))
    _, top_y = points[0]
    axis_100 = next(t for t in marks(root, "y-axis")[0].iter(f"{S}text") if t.text == "100%")
    assert top_y == pytest.approx(float(axis_100.get("y")) - 4, abs=0.11)
    assert len(marks(root, "point")) == 1  # the assumed start is not a data point


def test_a_rising_survival_curve_is_refused() -> None:
    with pytest.raises(ValueError, match="rises"):
        charts.survival_curves("S", {"c": [{"day": 0, "survival": 0.8},
                                           {"day": 5, "survival": None},
                                           {"day": 9, "survival": 0.9}]})


# -- horizontal bars ------------------------------------------------------------------------


def test_bars_are_as_long_as_their_values() -> None:
    labels = ["PC Able", "PC Baker", "DC Charlie", "PS Dog"]
    values = [12, 30, 0, 7]
    root = parse(charts.bars("Caseload per lead officer", labels, values))
    rects = marks(root, "bar")
    assert len(rects) == 4
    widths = [float(r.get("width")) for r in rects]
    for (v1, w1), (v2, w2) in pairwise(sorted(zip(values, widths, strict=True))):
        assert v1 < v2 and w1 < w2
    assert widths[2] == 0
    assert tooltip(rects[0]) == "PC Able: 12"
    assert [t.text for t in marks(root, "bar-value")] == ["12", "30", "0", "7"]
    ys = [float(r.get("y")) for r in rects]
    assert ys == sorted(ys)  # in the given order, top down


def test_bars_in_percent_and_suppressed() -> None:
    root = parse(charts.bars("Rate", ["A", "B", "C"], [0.25, None, 0.5], percent=True))
    assert len(marks(root, "bar")) == 2
    assert [t.text for t in marks(root, "bar-value")] == ["25.0%", "50.0%"]
    note = marks(root, "suppressed")[0]
    assert note.text == "suppressed" and tooltip(note) == "B: suppressed"
    assert "1 figure suppressed" in root.find("s:desc", NS).text


def test_long_bar_labels_are_shortened_with_the_whole_in_the_tooltip() -> None:
    long = "Detective Constable " + "Very-Long-Surname" * 5
    root = parse(charts.bars("Caseload", [long], [3]))
    label = marks(root, "bar-label")[0]
    assert label.text.endswith("…") and len(label.text) < len(long)
    assert tooltip(label) == long


def test_bars_height_grows_with_the_number_of_bars() -> None:
    short = parse(charts.bars("C", ["a"], [1]))
    tall = parse(charts.bars("C", list("abcdefghij"), list(range(10))))
    assert float(tall.get("height")) > float(short.get("height"))


def test_suppressed_bands_lie_beneath_every_curve() -> None:
    curves = {"a": [{"day": 0, "survival": 1.0}, {"day": 90, "survival": 0.9}],
              "b": [{"day": 0, "survival": 1.0}, {"day": 30, "survival": None},
                    {"day": 60, "survival": 0.8}]}
    order = [e.get("class") for e in parse(charts.survival_curves("S", curves)).iter()]
    assert order.index("suppressed") < order.index("step")
