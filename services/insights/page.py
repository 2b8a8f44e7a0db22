"""The insights page and the monthly pack, as HTML drawn on the server: every chart (SVG,
charts.py) with its table beside it, each table downloadable as CSV and Parquet. Pure.

Nothing is loaded from elsewhere and nothing runs in the browser: the page is readable
printed, copied or read aloud. Each table cell carries its exact value (``data-value``, the
JSON the API gives) beside the figure shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import orjson

from services.insights import charts
from services.insights.report import Table, tables

RAG_COLOURS = {"RED": "#d62828", "AMBER": "#e9a100", "GREEN": "#2a9d3f",
               "ungraded": "#8a8a8a"}
PERCENT = frozenset({"binary_rate", "actual_rate", "mean_predicted", "difference",
                     "rate_treated", "rate_comparison", "survival", "share_usable",
                     "ci95_low", "ci95_high", "standard_error"})
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0 1rem 3rem;
color:#1b1b1b}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-top:1px solid #ccc;
padding-top:1rem}
.synthetic{background:#fff3cd;border:1px solid #e9a100;padding:.6rem 1rem}
.note{color:#444;font-size:.9rem}
.pair{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
.pair>figure{margin:0;flex:1 1 30rem}.pair>div{flex:1 1 24rem;overflow-x:auto}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #bbb;padding:.2rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
caption{text-align:left;font-weight:600;padding:.3rem 0}
dl.headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:.8rem}
dl.headline div{border:1px solid #ccc;padding:.6rem}dt{font-size:.85rem;color:#444}
dd{margin:0;font-size:1.4rem;font-weight:600}
form.scope{display:flex;gap:1rem;flex-wrap:wrap;align-items:end}
@media print{form,nav,.downloads{display:none}h2{break-before:auto}
table,figure{break-inside:avoid}}
"""


def _figure(value: Any, column: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if column in PERCENT or column.startswith("share"):
            return f"{value * 100:.1f}%"
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table_html(name: str, table: Table, query: str, *, downloads: bool = True) -> str:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in table.columns)
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td data-value="{escape(orjson.dumps(v).decode())}">'
            f"{escape(_figure(v, c))}</td>" for v, c in zip(row, table.columns, strict=True))
        body.append(f"<tr>{cells}</tr>")
    links = ""
    if downloads:
        q = f"?{escape(query)}" if query else ""
        links = (f'<p class="downloads">Download: <a href="/insights/tables/{name}.csv{q}">'
                 f'CSV</a> · <a href="/insights/tables/{name}.parquet{q}">Parquet</a></p>')
    return (f'<table id="table-{escape(name)}" data-table="{escape(name)}">'
            f"<caption>{escape(table.title)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{links}")


def _pair(chart: str, *parts: str) -> str:
    return f'<div class="pair"><figure>{chart}</figure><div>{"".join(parts)}</div></div>'


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _headline(document: dict[str, Any]) -> str:
    m, o = document["mi"], document["outcomes"]
    complete = [q for q in o["reoffending"]["quarters"] if q["complete"]]
    latest = complete[-1] if complete else None
    overall = o["calibration"]["overall"]
    comparison = o["comparison"]
    cost = o["cost"]
    items = [
        ("In the cohort now", _figure(m["cohort"]["size"], "size")),
        (f"Proven reoffending, {latest['quarter']} cohort" if latest else
         "Proven reoffending (no complete cohort yet)",
         _pct(latest["binary_rate"]) if latest else "–"),
        ("Predicted by OGRS3 (one year), all complete cohorts",
         _pct(overall["mean_predicted"])),
        ("Actual, all complete cohorts", _pct(overall["actual_rate"])),
        ("Against the comparison group (not randomised)", _versus(comparison)),
        ("Cost of offences prevented (estimate)",
         "not costed" if not cost["categories"] or cost["cost_prevented"] is None
         else f"£{cost['cost_prevented']:,.0f}"),
    ]
    return '<dl class="headline">' + "".join(
        f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in items) + "</dl>"


FEWEST_MATCHED = 20  # below this the headline does not give a difference (the table does)


def _versus(comparison: dict[str, Any]) -> str:
    """The difference in points with its 95% interval and how many it rests on; too few
    matched people and the headline says so rather than show a number that will not hold."""
    if comparison["difference"] is None:
        return "–"
    matched = comparison["matched_treated"]
    if matched is not None and matched < FEWEST_MATCHED:
        return f"too few matched to compare ({matched})"
    low, high = comparison["ci95_low"], comparison["ci95_high"]
    interval = ("" if low is None or high is None
                else f" (95% CI {low * 100:+.1f} to {high * 100:+.1f})")
    return (f"{comparison['difference'] * 100:+.1f} pts{interval}, "
            f"{'–' if matched is None else matched} matched")


def _columns(table: Table, *names: str) -> list[list[Any]]:
    index = [table.columns.index(n) for n in names]
    return [[row[i] for row in table.rows] for i in index]


def _charts(document: dict[str, Any], t: dict[str, Table]) -> dict[str, str]:
    months, *rag = _columns(t["cohort_by_month"], "month", "RED", "AMBER", "GREEN",
                            "ungraded")
    quarters = [q["quarter"] for q in document["outcomes"]["reoffending"]["quarters"]
                if q["complete"]]
    series: dict[str, list[float | None]] = {}
    for cohort, rows in [("ALL", document["outcomes"]["reoffending"]),
                         *document["outcomes"]["reoffending_by_cohort"].items()]:
        rates = {q["quarter"]: q["binary_rate"] for q in rows["quarters"] if q["complete"]}
        series[cohort] = [rates.get(q) for q in quarters]
    caseload = document["mi"]["caseload"]
    calibration = document["outcomes"]["calibration"]
    curves = {c: k["curve"] for c, k in document["outcomes"]["survival"]["cohorts"].items()}
    return {
        "cohort": charts.stacked_bars(
            "Cohort at each month's end, by RAG", months,
            dict(zip(("RED", "AMBER", "GREEN", "ungraded"), rag, strict=True)), RAG_COLOURS,
            chart_id="chart-cohort"),
        "caseload": charts.bars("Caseload per lead officer",
                                [c["lead_officer"] for c in caseload],
                                [c["people"] for c in caseload], x_label="people",
                                chart_id="chart-caseload"),
        "reoffending": charts.line_chart(
            "Proven reoffending by quarterly cohort", quarters, series,
            y_label="reoffended within a year", percent=True, chart_id="chart-reoffending"),
        "calibration": charts.calibration_plot(
            "Predicted against actual, by OGRS3 band",
            [b for b in calibration["bands"] if b["n"]], chart_id="chart-calibration"),
        "survival": charts.survival_curves(
            "Time to first proven reoffence, by cohort type", curves,
            chart_id="chart-survival"),
    }


def _section(title: str, anchor: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def _p(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{escape(text)}</p>'


def _frame(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")


def _banner(document: dict[str, Any]) -> str:
    parts = []
    if document.get("synthetic"):
        parts.append('<p class="synthetic" id="synthetic"><strong>Synthetic data.</strong> '
                     "The history behind these figures was generated for the demo "
                     "(people SYN-…); it describes no real person or force.</p>")
    below = document["scope"]["suppressed_below"]
    if below:
        parts.append(_p(f"These figures leave the force: counts from 1 to {below - 1} and "
                        "the rates of groups that small are suppressed (shown –)."))
    return "".join(parts)


def render(document: dict[str, Any], query: str) -> str:
    scope = document["scope"]
    t = tables(document)
    c = _charts(document, t)
    o = document["outcomes"]

    def table(name: str) -> str:
        return table_html(name, t[name], query)

    title = f"Insights: {scope['force']}, {scope['from']} to {scope['to']}"
    form = (
        '<form class="scope" method="get" action="/insights">'
        f'<label>Force <input name="force" value="{escape(_force_value(scope))}" '
        'placeholder="your force"></label>'
        f'<label>From <input type="date" name="from" value="{escape(scope["from"])}"></label>'
        f'<label>To <input type="date" name="to" value="{escape(scope["to"])}"></label>'
        '<button type="submit">Show</button> '
        f'<a href="/insights/pack?{escape(query)}">Monthly pack</a> · '
        f'<a href="/insights/report.json?{escape(query)}">All figures as JSON</a></form>')
    body = [
        f"<h1>{escape(title)}</h1>", _banner(document), form, _headline(document),
        _section("The cohort", "cohort", _pair(c["cohort"], table("cohort_by_month")),
                 table("cohort_now"), _pair(c["caseload"], table("caseload"))),
        _section("What the teams did in the range", "activity", table("activity"),
                 table("plan_actions")),
        _section("Proven reoffending", "reoffending",
                 _p("Ministry of Justice measure: an offence committed in the 12 months "
                    "from registration that leads to a conviction or caution within a "
                    "further 6 months. A quarterly cohort gets rates once all of it has had "
                    "its 18 months."),
                 _pair(c["reoffending"], table("reoffending"))),
        _section("Predicted against actual", "calibration",
                 _p("Each person's OGRS3 one-year probability on entry (their grade at "
                    "registration) against whether they were proven to reoffend. Points "
                    "below the diagonal: fewer reoffended than the model predicted."),
                 _pair(c["calibration"], table("calibration"))),
        _section("Against a comparison group", "comparison",
                 f'<p class="note" id="caveat"><strong>{escape(o["comparison"]["caveat"])}'
                 "</strong></p>", table("comparison"), table("comparison_strata")),
        _section("Time to first reoffence", "survival",
                 _pair(c["survival"], "<details><summary>The curves' table</summary>"
                       + table("survival") + "</details>")),
        _section("Offending before and during IOM", "before-during", table("before_during")),
        _section("Cost", "cost",
                 _p(f"Unit costs: {o['cost']['source']}. A category without a published "
                    "unit cost in the settings file is shown without a figure."),
                 table("cost")),
    ]
    return _frame(title, "".join(body))


def _force_value(scope: dict[str, Any]) -> str:
    return "" if scope["force"] == "all forces" else str(scope["force"])


def pack(document: dict[str, Any], month: str) -> str:
    """One month on one printable page: the headline, the month's activity, the cohort and
    the outcome tables (no downloads, no form)."""
    scope = document["scope"]
    t = tables(document)
    names: Sequence[str] = ("activity", "plan_actions", "cohort_now", "caseload",
                            "calibration",
                            "comparison", "before_during")
    body = [f"<h1>IOM monthly pack: {escape(scope['force'])}, {escape(month)}</h1>",
            _banner(document), _headline(document),
            *(table_html(name, t[name], "", downloads=False) for name in names),
            _p(document["outcomes"]["comparison"]["caveat"]),
            _p(f"Prepared {document['as_of'][:10]} by Throughcare insights.")]
    return _frame(f"IOM monthly pack: {scope['force']}, {month}", "".join(body))
