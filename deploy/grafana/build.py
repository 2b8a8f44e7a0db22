"""Grafana dashboards for docker-compose.yml, generated from the key figures
(``iomkit/opsfigures.py``) and the services' metrics (``iomkit/metrics.py``), so the
dashboards and the ops page never say different things.

``python deploy/grafana/build.py`` writes ``deploy/grafana/dashboards/*.json``: the
overview (the shift's headline figures, an alert list, one row a service, end-to-end
latency by path) and one dashboard a service. The output is deterministic (sorted keys,
indent 2), so the files are committed and ``tests/unit/test_grafana.py`` checks they are
what this script makes now.

Every query is aggregated (by service, topic, path, store, recipient...): no metric label
carries a person id. Prometheus's scrape configuration gives every series of a worker its
``service`` label (deploy/prometheus/compose.yml), so a service's dashboard filters every
query by it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from iomkit.opsfigures import HEADLINE_FIGURES, JOB, LATENCY_FIGURES, SERVICE_FIGURES, SERVICES

HERE = Path(__file__).resolve().parent
DASHBOARDS = HERE / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # provisioning/datasources
TAG = "throughcare"
SCHEMA_VERSION = 39  # Grafana 10.4
GRID_WIDTH = 24
UNITS = {"": "short", "per_s": "cps", "s": "s", "bytes": "bytes", "ratio": "percentunit"}

# The end-to-end paths each service measures (iomkit.metrics.PATHS, observe_latency).
PATHS_BY_SERVICE: dict[str, tuple[str, ...]] = {
    "gps_stream": ("fix_to_hit", "crime_to_hit", "enrolment_to_hit"),
    "risk": ("event_to_grade",),
    "notifications": ("hit_to_webhook",),
}

Panel = dict[str, Any]


def uid_of(name: str) -> str:
    return f"{TAG}-{name.replace('_', '-')}"


def target(expr: str, ref: str = "A", legend: str = "", *, table: bool = False) -> Panel:
    found: Panel = {"datasource": DATASOURCE, "expr": expr, "refId": ref}
    if table:  # one row a label set, the value now
        found.update(format="table", instant=True)
    else:
        found.update(legendFormat=legend or "__auto", range=True)
    return found


def timeseries(title: str, targets: list[Panel], unit: str = "short", description: str = "",
               width: int = 12, height: int = 8) -> Panel:
    return {
        "datasource": DATASOURCE,
        "description": description,
        "fieldConfig": {"defaults": {"min": 0, "unit": unit}, "overrides": []},
        "gridPos": {"h": height, "w": width},
        "options": {"legend": {"calcs": [], "displayMode": "list", "placement": "bottom",
                               "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": targets,
        "title": title,
        "type": "timeseries",
    }


def stat(title: str, expr: str, unit: str = "short", description: str = "",
         width: int = 6, height: int = 4) -> Panel:
    return {
        "datasource": DATASOURCE,
        "description": description,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "gridPos": {"h": height, "w": width},
        "options": {"colorMode": "value", "graphMode": "area", "justifyMode": "auto",
                    "orientation": "auto", "textMode": "auto",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        "targets": [target(expr)],
        "title": title,
        "type": "stat",
    }


def row(title: str) -> Panel:
    return {"collapsed": False, "gridPos": {"h": 1, "w": GRID_WIDTH}, "panels": [],
            "title": title, "type": "row"}


def alert_list() -> Panel:
    """Prometheus's own alert rules (deploy/prometheus/alerts.yml) firing or pending: the
    unified alert list shows a data source's rules as well as Grafana's."""
    return {
        "gridPos": {"h": 7, "w": GRID_WIDTH},
        "options": {"alertInstanceLabelFilter": "", "alertName": "", "dashboardAlerts": False,
                    "groupBy": [], "groupMode": "default", "maxItems": 20, "sortOrder": 1,
                    "stateFilter": {"error": True, "firing": True, "noData": False,
                                    "normal": False, "pending": True},
                    "viewMode": "list"},
        "title": "Alerts firing or pending (deploy/prometheus/alerts.yml; docs/runbook.md)",
        "type": "alertlist",
    }


def service_table() -> Panel:
    """SERVICE_FIGURES: one row a service, one column a figure (instant queries merged on
    the service label)."""
    refs = [chr(ord("A") + n) for n in range(len(SERVICE_FIGURES))]
    rename = {"service": "Service"} | {f"Value #{ref}": figure.title
                                        for ref, figure in zip(refs, SERVICE_FIGURES, strict=True)}
    order = {"service": 0} | {f"Value #{ref}": n for n, ref in enumerate(refs, 1)}
    overrides = [{"matcher": {"id": "byName", "options": figure.title},
                  "properties": [{"id": "unit", "value": UNITS[figure.unit]}]}
                 for figure in SERVICE_FIGURES if figure.unit]
    return {
        "datasource": DATASOURCE,
        "description": "; ".join(f"{f.title}: {f.help}" for f in SERVICE_FIGURES if f.help),
        "fieldConfig": {"defaults": {"unit": "short"}, "overrides": overrides},
        "gridPos": {"h": 8, "w": GRID_WIDTH},
        "options": {"cellHeight": "sm", "showHeader": True,
                    "sortBy": [{"desc": False, "displayName": "Service"}]},
        "targets": [target(figure.expr, ref, table=True)
                    for ref, figure in zip(refs, SERVICE_FIGURES, strict=True)],
        "title": "By service",
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True},
                                           "indexByName": order, "renameByName": rename}},
        ],
        "type": "table",
    }


def overview() -> dict[str, Any]:
    panels = [row("The shift")]
    panels += [stat(f.title, f.expr, UNITS[f.unit], f.help) for f in HEADLINE_FIGURES]
    panels += [alert_list(), row("Services"), service_table(), row("End to end, by path")]
    panels += [timeseries(f.title, [target(f.expr, legend=f"{{{{{f.by}}}}}")], UNITS[f.unit],
                          f.help) for f in LATENCY_FIGURES]
    return dashboard("overview", "Throughcare overview", panels)


def service_dashboard(name: str) -> dict[str, Any]:
    only = f'service="{name}"'
    panels = [
        row("Workers"),
        stat("Workers up", f"sum(up{{{JOB}, {only}}})",
             description="workers Prometheus scraped at its last try"),
        stat("Streams stalled", f"sum(iom_stream_stalled{{{only}}})",
             description="workers whose agents handle nothing while records wait"),
        stat("Consumer lag", f"sum(max by (group, topic, partition) "
             f"(iom_consumer_lag{{{only}}}))",
             description="records waiting, all groups and partitions"),
        stat("Dead letters, last hour",
             f"sum(increase(iom_dead_letters_total{{{only}}}[1h]))"),
        row("Records"),
        timeseries("Records in /s by topic", [target(
            f"sum by (topic) (rate(iom_records_in_total{{{only}}}[1m]))", legend="{{topic}}")],
            "cps"),
        timeseries("Records out /s by topic", [target(
            f"sum by (topic) (rate(iom_records_out_total{{{only}}}[1m]))", legend="{{topic}}")],
            "cps"),
        timeseries("Processing p99 by topic", [target(
            f"histogram_quantile(0.99, sum by (topic, le) "
            f"(rate(iom_processing_seconds_bucket{{{only}}}[5m])))", legend="{{topic}}")],
            "s", "time to handle one record (one batch on batch consumers)"),
        timeseries("Consumer lag by topic and partition", [target(
            f"max by (group, topic, partition) (iom_consumer_lag{{{only}}})",
            legend="{{topic}} [{{partition}}] {{group}}")],
            description="end offset minus committed offset (every worker of a group "
                        "measures the whole group: max, not sum)"),
        timeseries("Dead letters by topic and kind, per 5 min", [target(
            f"sum by (topic, kind) (increase(iom_dead_letters_total{{{only}}}[5m]))",
            legend="{{topic}} {{kind}}")], description="docs/runbook.md#dead-letters"),
        row("Stores"),
        timeseries("Store entries by store", [target(
            f"sum by (store) (iom_store_entries{{{only}}})", legend="{{store}}")]),
        timeseries("Store on disk by worker", [target(
            f"sum by (instance) (iom_store_bytes{{{only}}})", legend="{{instance}}")],
            "bytes"),
    ]
    paths = PATHS_BY_SERVICE.get(name, ())
    if paths:
        chosen = f'{only}, path=~"{"|".join(paths)}"'
        panels.append(row("End to end, by path"))
        for metric, since in (("iom_arrival_to_output_seconds", "arrival on the bus"),
                              ("iom_event_to_output_seconds", "event time")):
            panels.append(timeseries(f"p99 since {since}", [target(
                f"histogram_quantile(0.99, sum by (path, le) "
                f"(rate({metric}_bucket{{{chosen}}}[5m])))", legend="{{path}}")], "s"))
    panels += EXTRAS.get(name, lambda: [])()
    return dashboard(name, f"Throughcare {name}", panels)


def risk_extras() -> list[Panel]:
    return [row("Grades"), timeseries("Grades published by rag, per 5 min", [target(
        'sum by (rag, changed) (increase(iom_risk_grades_total{service="risk"}[5m]))',
        legend="{{rag}} changed={{changed}}")], width=GRID_WIDTH)]


def notifications_extras() -> list[Panel]:
    only = 'service="notifications"'
    return [
        row("Notifications"),
        timeseries("Notifications by recipient and state, per 5 min", [target(
            f"sum by (recipient, state) (increase(iom_notifications_total{{{only}}}[5m]))",
            legend="{{recipient}} {{state}}")], description="docs/runbook.md#webhook-failures"),
        timeseries("Delivery time by recipient (created to delivered)", [
            target(f"histogram_quantile(0.5, sum by (recipient, le) "
                   f"(rate(iom_notification_delivery_seconds_bucket{{{only}}}[5m])))",
                   "A", "{{recipient}} p50"),
            target(f"histogram_quantile(0.99, sum by (recipient, le) "
                   f"(rate(iom_notification_delivery_seconds_bucket{{{only}}}[5m])))",
                   "B", "{{recipient}} p99"),
        ], "s"),
    ]


def insights_extras() -> list[Panel]:
    return [row("Analytical store"), timeseries("Store rows by table", [target(
        'max by (table) (iom_insights_store_rows{service="insights"})', legend="{{table}}")],
        width=GRID_WIDTH)]


EXTRAS = {"risk": risk_extras, "notifications": notifications_extras,
          "insights": insights_extras}


def laid_out(panels: list[Panel]) -> list[Panel]:
    """Ids in order and grid positions left to right, a new line when one is full."""
    x = y = line = 0
    for n, panel in enumerate(panels, 1):
        w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if x + w > GRID_WIDTH or panel["type"] == "row":
            x, y, line = 0, y + line, 0
        panel["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        panel["id"] = n
        x, line = x + w, max(line, h)
        if panel["type"] == "row":
            x = GRID_WIDTH  # a row is alone on its line
    return panels


def dashboard(name: str, title: str, panels: list[Panel]) -> dict[str, Any]:
    return {
        "annotations": {"list": []},
        "description": "Generated by deploy/grafana/build.py from iomkit/opsfigures.py: "
                       "edit those, not this file.",
        "editable": False,
        "graphTooltip": 1,
        "links": [{"asDropdown": True, "icon": "external link", "includeVars": False,
                   "keepTime": True, "tags": [TAG], "targetBlank": False,
                   "title": "Throughcare", "type": "dashboards"}],
        "panels": laid_out(panels),
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": [TAG],
        "templating": {"list": []},
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": title,
        "uid": uid_of(name),
        "version": 1,
    }


def dashboards() -> dict[str, dict[str, Any]]:
    """File name -> dashboard."""
    return {"overview.json": overview()} | {f"{name}.json": service_dashboard(name)
                                            for name in SERVICES}


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(folder: Path = DASHBOARDS) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    boards = dashboards()
    for file_name, board in boards.items():
        (folder / file_name).write_text(render(board))
    return len(boards)


if __name__ == "__main__":
    sys.stdout.write(f"wrote {write()} dashboards to {DASHBOARDS}\n")
