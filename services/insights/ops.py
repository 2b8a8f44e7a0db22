"""The ops page: how the system is doing, drawn from Prometheus's HTTP API (the key figures
of iomkit.opsfigures, the same the Grafana dashboards draw) and its alerts. Pure: the web
view asks Prometheus and hands the answers here to be shaped and drawn.

Aggregates only (by service, by path, or the whole system): no person, no force's cases."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any

import orjson

from iomkit.identity.guard import script_csp
from iomkit.metrics import PATHS
from iomkit.opsfigures import (
    HEADLINE_FIGURES,
    LATENCY_FIGURES,
    SERVICE_FIGURES,
    SERVICES,
    Figure,
)

REFRESH_S = 5  # how often the open page asks again
Vector = list[dict[str, Any]]


def text_of(value: float | None, unit: str) -> str:
    """A figure as a person reads it; no answer (no data, or NaN from a quantile of nothing)
    is a dash, never a zero."""
    if value is None:
        return "–"
    if unit == "per_s":
        return f"{value:,.1f}/s"
    if unit == "s":
        return f"{value * 1000:,.0f} ms" if value < 1 else f"{value:,.2f} s"
    if unit == "bytes":
        for size, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if value >= size:
                return f"{value / size:,.1f} {name}"
        return f"{value:,.0f} B"
    if unit == "ratio":
        return f"{value:.1%}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _number(sample: Mapping[str, Any]) -> float | None:
    value = float(sample["value"][1])
    return value if math.isfinite(value) else None


def _cell(value: float | None, figure: Figure) -> dict[str, Any]:
    return {"value": value, "text": text_of(value, figure.unit)}


def _by(vector: Vector, label: str) -> dict[str, float | None]:
    return {str(s["metric"].get(label, "")): _number(s) for s in vector}


def _single(vector: Vector) -> float | None:
    return _number(vector[0]) if vector else None


def _rows(figures: Iterable[Figure], answers: Mapping[str, Vector], label: str,
          known: Iterable[str]) -> list[dict[str, Any]]:
    figures = list(figures)
    by_figure = {f.key: _by(answers.get(f.key, []), label) for f in figures}
    names = list(known) + sorted({n for values in by_figure.values() for n in values}
                                 - set(known) - {""})
    return [{label: name, **{f.key: _cell(by_figure[f.key].get(name), f) for f in figures}}
            for name in names]


def document(answers: Mapping[str, Vector], alerts: list[dict[str, Any]], asked_at: datetime,
             error: str | None = None) -> dict[str, Any]:
    """The page's figures from Prometheus's answers (figure key -> vector) and alerts."""
    return {
        "asked_at": asked_at.isoformat(),
        "error": error,
        "headline": {f.key: _cell(_single(answers.get(f.key, [])), f) for f in HEADLINE_FIGURES},
        "services": _rows(SERVICE_FIGURES, answers, "service", SERVICES),
        "latency": _rows(LATENCY_FIGURES, answers, "path", PATHS),
        "alerts": sorted(({
            "alert": a.get("labels", {}).get("alertname", ""),
            "state": a.get("state", ""),
            "severity": a.get("labels", {}).get("severity", ""),
            "service": a.get("labels", {}).get("service", ""),
            "summary": a.get("annotations", {}).get("summary", ""),
            "since": a.get("activeAt", ""),
        } for a in alerts), key=lambda a: (a["state"] != "firing", a["alert"], a["service"])),
    }


# -- the page ------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:0 1.5rem 2rem;color:#1b1b1b}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
.tiles{display:flex;flex-wrap:wrap;gap:.8rem}
.tile{border:1px solid #ccc;border-radius:6px;padding:.6rem .9rem;min-width:11rem}
.tile b{display:block;font-size:1.5rem}
table{border-collapse:collapse}th,td{padding:.25rem .7rem;border-bottom:1px solid #ddd}
td.n{text-align:right;font-variant-numeric:tabular-nums}
#status[data-error]{color:#a00}.firing{color:#a00;font-weight:bold}.pending{color:#a60}
"""

_SCRIPT = """
const cells = () => document.querySelectorAll('[data-figure]');
function put(doc) {
  const find = {};
  for (const [k, c] of Object.entries(doc.headline)) find['headline.' + k] = c;
  for (const row of doc.services)
    for (const [k, c] of Object.entries(row)) if (k !== 'service') find[row.service + '.' + k] = c;
  for (const row of doc.latency)
    for (const [k, c] of Object.entries(row)) if (k !== 'path') find[row.path + '.' + k] = c;
  for (const td of cells()) {
    const c = find[td.dataset.figure];
    if (c) { td.textContent = c.text; td.dataset.value = JSON.stringify(c.value); }
  }
  const list = document.getElementById('alerts');
  list.replaceChildren(...(doc.alerts.length ? doc.alerts.map(a => {
    const li = document.createElement('li');
    li.className = a.state;
    li.dataset.alert = a.alert; li.dataset.service = a.service; li.dataset.state = a.state;
    li.textContent = a.state + ': ' + a.alert + ' · ' + a.summary;
    return li; }) : [Object.assign(document.createElement('li'), {textContent: 'none'})]));
  const status = document.getElementById('status');
  status.textContent = doc.error ? 'Prometheus: ' + doc.error : 'as of ' + doc.asked_at;
  if (doc.error) status.dataset.error = '1'; else delete status.dataset.error;
  document.body.dataset.asked = doc.asked_at;
}
async function refresh() {
  try {
    const r = await fetch('/ops/figures.json', {credentials: 'same-origin'});
    if (r.ok) put(await r.json());
  } catch (e) { document.getElementById('status').textContent = 'no answer: retrying'; }
}
setInterval(refresh, REFRESH_MS);
"""


def _figure(tag: str, key: str, cell: Mapping[str, Any]) -> str:
    """One figure's element: its text, and its exact value for the page's updates (and
    for tests)."""
    number = ' class="n"' if tag == "td" else ""
    return (f'<{tag}{number} data-figure="{escape(key)}" '
            f"data-value='{escape(orjson.dumps(cell['value']).decode())}'>"
            f"{escape(cell['text'])}</{tag}>")


def _table(rows: list[dict[str, Any]], label: str, figures: Iterable[Figure],
           id_: str) -> str:
    figures = list(figures)
    head = "".join(f'<th scope="col" title="{escape(f.help)}">{escape(f.title)}</th>'
                   for f in figures)
    body = "".join(
        f'<tr><th scope="row">{escape(row[label])}</th>'
        + "".join(_figure("td", f"{row[label]}.{f.key}", row[f.key]) for f in figures)
        + "</tr>"
        for row in rows)
    return (f'<table id="{id_}"><thead><tr><th scope="col">{escape(label)}</th>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table>")


def _alerts(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return "<li>none</li>"
    return "".join(
        f'<li class="{escape(a["state"])}" data-alert="{escape(a["alert"])}" '
        f'data-service="{escape(a["service"])}" data-state="{escape(a["state"])}">'
        f'{escape(a["state"])}: {escape(a["alert"])} · {escape(a["summary"])}</li>'
        for a in alerts)


def render(doc: Mapping[str, Any], nonce: str, prometheus_url: str) -> str:
    tiles = "".join(f'<div class="tile">{escape(f.title)}'
                    f'{_figure("b", "headline." + f.key, doc["headline"][f.key])}</div>'
                    for f in HEADLINE_FIGURES)
    status = (f'<p id="status" data-error="1">Prometheus: {escape(doc["error"])}</p>'
              if doc["error"] else f'<p id="status">as of {escape(doc["asked_at"])}</p>')
    script = _SCRIPT.replace("REFRESH_MS", str(REFRESH_S * 1000))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Throughcare: operations</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style nonce="{nonce}">{_STYLE}</style></head>
<body data-asked="{escape(doc["asked_at"])}"><main>
<h1>How the system is doing</h1>
{status}
<p>Live from Prometheus (<a href="{escape(prometheus_url)}/alerts">its alerts</a>), every
{REFRESH_S} s; the same figures as the Grafana dashboards. Counts since each worker
started unless the title says otherwise.</p>
<h2>Alerts</h2><ul id="alerts">{_alerts(doc["alerts"])}</ul>
<h2>The last hour</h2><div class="tiles" id="headline">{tiles}</div>
<h2>Services</h2>{_table(doc["services"], "service", SERVICE_FIGURES, "services")}
<h2>End to end, by path</h2>
<p>Since arrival: from the input reaching the bus to its output (the system's own latency;
the HitLatencyHigh alert's). Since event time: from when the fix was taken, the crime
reported or the event happened (a tag out of signal sends its fixes late).</p>
{_table(doc["latency"], "path", LATENCY_FIGURES, "latency")}
</main><script nonce="{nonce}">{script}</script></body></html>"""


def csp(nonce: str) -> str:
    """Its own script and requests only; nothing from anywhere else, no images."""
    return script_csp(nonce)
