"""The ops page's figures from Prometheus's answers: shaped by service and path, nothing
invented where Prometheus had no answer, alerts firing first, the page escaping all it
shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from iomkit.metrics import PATHS
from iomkit.opsfigures import ALL_FIGURES, SERVICE_FIGURES, SERVICES
from services.insights import ops

AT = datetime(2028, 2, 29, 23, 59, tzinfo=UTC)


def vector(*samples: tuple[dict[str, str], str]) -> list[dict]:
    return [{"metric": labels, "value": [1_835_000_000.0, value]} for labels, value in samples]


def test_every_figure_has_a_unique_key():
    keys = [f.key for f in ALL_FIGURES]
    assert len(keys) == len(set(keys))  # the page and the JSON find figures by key
    assert all(f.by in (None, "service", "path") for f in ALL_FIGURES)


def test_figures_by_service_and_path_with_no_answer_as_none():
    answers = {
        "records_in": vector(({"service": "risk"}, "120"), ({"service": "gps_stream"}, "7")),
        "workers_up": vector(({"service": "risk"}, "1"), ({"service": "dredd"}, "0")),
        "p99": vector(({"path": "fix_to_hit"}, "0.042"), ({"path": "event_to_grade"}, "NaN")),
        "hits_hour": vector(({}, "3")),
    }
    doc = ops.document(answers, [], AT)
    rows = {row["service"]: row for row in doc["services"]}
    # every service of the system, in its order, and one Prometheus knows that we do not
    assert [row["service"] for row in doc["services"]] == [*SERVICES, "dredd"]
    assert rows["risk"]["records_in"] == {"value": 120.0, "text": "120"}
    assert rows["referrals"]["records_in"] == {"value": None, "text": "–"}  # no answer
    assert rows["dredd"]["workers_up"]["value"] == 0.0
    paths = {row["path"]: row for row in doc["latency"]}
    assert list(paths) == list(PATHS)
    assert paths["fix_to_hit"]["p99"] == {"value": 0.042, "text": "42 ms"}
    assert paths["event_to_grade"]["p99"]["value"] is None  # NaN: a quantile of nothing
    assert doc["headline"]["hits_hour"]["value"] == 3.0
    assert doc["headline"]["fixes_rate"]["value"] is None
    assert doc["asked_at"] == AT.isoformat() and doc["error"] is None


def test_texts_by_unit():
    assert ops.text_of(1234.5, "per_s") == "1,234.5/s"
    assert ops.text_of(0.0005, "s") == "0 ms" and ops.text_of(2.5, "s") == "2.50 s"
    assert ops.text_of(3 * 2**20, "bytes") == "3.0 MiB" and ops.text_of(12, "bytes") == "12 B"
    assert ops.text_of(12_345.0, "") == "12,345" and ops.text_of(0.25, "") == "0.25"
    assert ops.text_of(None, "s") == "–"


def test_alerts_firing_first_with_their_summary():
    alerts = [
        {"labels": {"alertname": "DeadLettersAppearing", "severity": "ticket",
                    "service": "risk"}, "annotations": {"summary": "risk dead-lettered"},
         "state": "pending", "activeAt": "2028-02-29T23:58:00Z"},
        {"labels": {"alertname": "ServiceDown", "severity": "page", "service": "gps_stream"},
         "annotations": {"summary": "gps_stream at x is down"}, "state": "firing",
         "activeAt": "2028-02-29T23:50:00Z"},
    ]
    doc = ops.document({}, alerts, AT)
    assert [(a["alert"], a["state"], a["service"]) for a in doc["alerts"]] == [
        ("ServiceDown", "firing", "gps_stream"), ("DeadLettersAppearing", "pending", "risk")]
    assert doc["alerts"][0]["summary"] == "gps_stream at x is down"


def test_the_page_has_a_cell_for_every_figure_and_escapes_what_it_shows():
    answers = {"records_in": vector(({"service": "<script>x</script>"}, "1"))}
    alerts = [{"labels": {"alertname": "ServiceDown", "service": "risk"},
               "annotations": {"summary": "<b>bold</b>"}, "state": "firing"}]
    html = ops.render(ops.document(answers, alerts, AT), "n0nce", "http://127.0.0.1:9090")
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html
    keys = set(re.findall(r'data-figure="([^"]+)"', html))
    for service in SERVICES:
        assert {f"{service}.{f.key}" for f in SERVICE_FIGURES} <= keys
    assert "fix_to_hit.p99" in keys and "headline.hits_hour" in keys
    assert html.count('nonce="n0nce"') == 2  # its style and script only
    assert "http" not in re.sub(r'href="http://127\.0\.0\.1:9090/alerts"', "", html)


def test_prometheus_unreachable_is_said_not_shown_as_zeros():
    doc = ops.document({}, [], AT, "http://127.0.0.1:1: ClientConnectorError")
    html = ops.render(doc, "n", "http://127.0.0.1:1")
    assert 'id="status" data-error="1"' in html and "ClientConnectorError" in html
    assert all(cell["value"] is None for row in doc["services"]
               for key, cell in row.items() if key != "service")
