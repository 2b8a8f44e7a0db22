"""The page and the pack: every table with its downloads, the charts, what the headline
says of a comparison resting on too few people, text escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.insights import page, report
from services.insights.config import UnitCosts
from services.insights.model import Change, Grade, History, Person


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def document() -> dict:
    people = {f"P{n}": Person(f"P{n}", "Hampshire", date(1990, 1, 1), "MALE", "ROBBERY")
              for n in range(3)}
    history = History(
        people=people,
        changes=[Change(p, "REGISTERED", "FIXED", at(2024, 1, 10), None, "<b>PC 1</b>")
                 for p in people],
        grades=[Grade(p, 1, "RED", at(2024, 1, 9), 0.6, 0.4, "MEDIUM") for p in people])
    built = report.build(history, start=at(2024, 1, 1), end=at(2025, 1, 1),
                         as_of=at(2026, 1, 1), costs=UnitCosts("a named source", {}))
    return {"scope": {"force": "Hampshire", "from": "2024-01-01", "to": "2024-12-31",
                      "as_of": "2026-01-01", "suppressed_below": None},
            "synthetic": True, **built}


def test_the_page_has_every_table_with_downloads_and_the_charts():
    html = page.render(document(), "force=Hampshire")
    for name in report.TABLE_NAMES:
        assert f'id="table-{name}"' in html, name
        assert f"/insights/tables/{name}.csv?force=Hampshire" in html, name
    assert html.count("<svg") == 5 and 'id="synthetic"' in html
    assert "&lt;b&gt;PC 1&lt;/b&gt;" in html and "<b>PC 1</b>" not in html


def test_the_headline_gives_no_difference_for_too_few_matched():
    few = {"difference": -0.5, "ci95_low": -0.73, "ci95_high": -0.27, "matched_treated": 3}
    assert page._versus(few) == "too few matched to compare (3)"
    many = {**few, "matched_treated": 400, "difference": -0.077}
    assert page._versus(many) == "-7.7 pts (95% CI -73.0 to -27.0), 400 matched"
    assert page._versus({**few, "difference": None}) == "–"


def test_the_pack_is_one_printable_page_without_downloads():
    html = page.pack(document(), "May 2024")
    assert "IOM monthly pack: Hampshire, May 2024" in html
    assert "Download:" not in html and "@media print" in html
