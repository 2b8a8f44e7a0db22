"""The Grafana dashboards of docker-compose.yml (deploy/grafana/dashboards): what
deploy/grafana/build.py makes from iomkit/opsfigures.py now (so they never drift from the ops
page), every query valid PromQL for promtool and on metrics the project defines, each
service's dashboard about that service only, each dashboard with a stable uid and a title."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from deploy.grafana import build
from iomkit import metrics, opsfigures
from iomkit.settings import ROOT

BOARDS = build.dashboards()
DATASOURCE_FILE = ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml"


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row's


def queries(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in panels(board) for t in p.get("targets", [])]


def test_the_committed_dashboards_are_what_build_makes_now():
    folder = build.DASHBOARDS
    assert folder == ROOT / "deploy/grafana/dashboards"
    assert {p.name for p in folder.glob("*.json")} == set(BOARDS), (
        "run `.venv/bin/python deploy/grafana/build.py`")
    for name, board in BOARDS.items():
        assert (folder / name).read_text() == build.render(board), (
            f"{name} is not what deploy/grafana/build.py makes: run it and commit the result")


def test_the_build_is_deterministic(tmp_path: Path):
    assert build.write(tmp_path) == len(BOARDS) == 1 + len(opsfigures.SERVICES)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        name: build.render(board) for name, board in build.dashboards().items()}


def test_every_query_is_valid_promql(promtool: Path, tmp_path: Path):
    exprs = sorted({e for board in BOARDS.values() for e in queries(board)})
    rules = {"groups": [{"name": "grafana", "rules": [
        {"record": f"grafana:query_{n}", "expr": expr} for n, expr in enumerate(exprs)]}]}
    (tmp_path / "queries.yml").write_text(yaml.safe_dump(rules))
    done = subprocess.run([str(promtool), "check", "rules", "queries.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in done.stdout


def defined_metrics(kinds: str = "Counter|Gauge|Histogram") -> set[str]:
    """The iom_* names the project's source gives a metric of one of ``kinds``
    (prometheus_client's, under iomkit/ and services/)."""
    source = "\n".join(p.read_text() for folder in ("iomkit", "services")
                       for p in (ROOT / folder).rglob("*.py"))
    return set(re.findall(rf"\b(?:{kinds})\(\s*\"(iom_\w+)\"", source))


def test_every_metric_a_query_names_is_one_the_project_defines():
    defined, histograms = defined_metrics(), defined_metrics("Histogram")
    assert {"iom_records_in_total", "iom_arrival_to_output_seconds",
            "iom_risk_grades_total", "iom_insights_store_rows"} <= defined  # the regex works
    assert "iom_notification_delivery_seconds" in histograms
    used = {name for board in BOARDS.values() for e in queries(board)
            for name in re.findall(r"\b(iom_\w+)", e)}
    assert used
    for name in sorted(used):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        if base != name:  # a histogram's series
            assert base in histograms, f"{name}: no histogram {base} is defined"
        else:
            assert name in defined, f"{name} is no metric of iomkit/ or services/"


def test_each_dashboard_has_a_stable_uid_a_title_and_the_provisioned_data_source():
    [source] = yaml.safe_load(DATASOURCE_FILE.read_text())["datasources"]
    uids = {board["uid"] for board in BOARDS.values()}
    titles = {board["title"] for board in BOARDS.values()}
    assert len(uids) == len(titles) == len(BOARDS)
    for name, board in BOARDS.items():
        assert board["uid"] == "throughcare-" + name.removesuffix(".json").replace("_", "-")
        assert len(board["uid"]) <= 40 and re.fullmatch(r"[a-z0-9-]+", board["uid"])
        assert board["title"].startswith("Throughcare ")
        assert "id" not in board  # provisioned: Grafana gives it one
        ids = [p["id"] for p in panels(board)]
        assert ids == list(range(1, len(ids) + 1)), name
        for panel in panels(board):
            assert panel["title"], name
            for held in (panel, *panel.get("targets", [])):
                if "datasource" in held:
                    assert held["datasource"] == {"type": "prometheus", "uid": source["uid"]}
            x, w = panel["gridPos"]["x"], panel["gridPos"]["w"]
            assert 0 <= x and x + w <= build.GRID_WIDTH, (name, panel["title"])


def test_the_overview_draws_every_key_figure_and_the_alerts():
    overview = BOARDS["overview.json"]
    assert overview["uid"] == "throughcare-overview"
    drawn = queries(overview)
    for figure in opsfigures.ALL_FIGURES:
        assert figure.expr in drawn, f"{figure.key} is not on the overview"
    assert [p["type"] for p in panels(overview)].count("alertlist") == 1


def test_each_service_dashboard_is_about_that_service_only():
    for name in opsfigures.SERVICES:
        board = BOARDS[f"{name}.json"]
        exprs = queries(board)
        assert exprs
        for expr in exprs:
            assert re.findall(r'service="(\w+)"', expr) == [name], expr
        text = "\n".join(exprs)
        for metric in ("iom_records_in_total", "iom_records_out_total",
                       "iom_processing_seconds_bucket", "iom_consumer_lag",
                       "iom_dead_letters_total", "iom_store_entries", "iom_store_bytes"):
            assert metric in text, f"{name}: no {metric}"
        paths = build.PATHS_BY_SERVICE.get(name, ())
        for path in paths:
            assert path in text, f"{name}: no end-to-end latency of {path}"
        assert ("iom_arrival_to_output_seconds_bucket" in text) == bool(paths)
        assert ("iom_event_to_output_seconds_bucket" in text) == bool(paths)


def test_the_paths_are_the_ones_each_service_measures():
    assert sorted(p for paths in build.PATHS_BY_SERVICE.values() for p in paths) == sorted(
        metrics.PATHS)
    for name, paths in build.PATHS_BY_SERVICE.items():
        source = "\n".join(p.read_text() for p in (ROOT / "services" / name).rglob("*.py"))
        for path in paths:
            assert f'"{path}"' in source, f"services/{name} does not measure {path}"
