"""The key figures ops teams watch, as PromQL over the services' own metrics: one list drawn
by both the ops page (insights' /ops, from Prometheus's HTTP API) and the Grafana dashboards
(deploy/grafana/build.py), so the two never say different things. Pure data.

Every figure is aggregated: by service, by path, or not at all. None names a person (no
metric label carries a person id), so none needs an audit record to be shown."""

from __future__ import annotations

from dataclasses import dataclass

from iomkit.processes import SERVICES as SERVICES  # the rows of the page and the dashboards

JOB = 'job="throughcare"'
# Every worker of a group reports the lag of all the group's partitions: counted once each.
LAG = "max by (service, group, topic, partition) (iom_consumer_lag)"


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    expr: str
    unit: str  # "" (a count), "per_s", "s", "bytes", "ratio"
    by: str | None = None  # the label the answer is broken down by (one row each)
    help: str = ""


# One row a service: workers and what they hold and handle.
SERVICE_FIGURES = (
    Figure("workers_up", "Workers up", f"sum by (service) (up{{{JOB}}})", "", "service",
           "workers Prometheus scraped at its last try"),
    Figure("workers", "Workers", f"count by (service) (up{{{JOB}}})", "", "service",
           "workers it is configured to scrape"),
    Figure("records_in_rate", "Records in /s",
           "sum by (service) (rate(iom_records_in_total[1m]))", "per_s", "service"),
    Figure("records_in", "Records in", "sum by (service) (iom_records_in_total)", "",
           "service", "since each worker started"),
    Figure("records_out", "Records out", "sum by (service) (iom_records_out_total)", "",
           "service", "since each worker started"),
    Figure("dead_letters", "Dead letters", "sum by (service) (iom_dead_letters_total)", "",
           "service", "since each worker started"),
    Figure("consumer_lag", "Consumer lag", f"sum by (service) ({LAG})", "",
           "service", "records waiting, all groups and partitions"),
    Figure("store_entries", "Store entries", "sum by (service) (iom_store_entries)", "",
           "service"),
    Figure("store_bytes", "Store on disk", "sum by (service) (iom_store_bytes)", "bytes",
           "service"),
)

# The system as a whole: the questions of a shift.
HEADLINE_FIGURES = (
    Figure("fixes_rate", "GPS fixes in /s",
           'sum(rate(iom_records_in_total{service="gps_stream", topic="iom.tag.pings"}[1m]))',
           "per_s"),
    Figure("hits_hour", "Hits published, last hour",
           'sum(increase(iom_records_out_total{service="gps_stream", topic="iom.gps.hits"}[1h]))',
           ""),
    Figure("grades_changed_hour", "Grades changed, last hour",
           'sum(increase(iom_risk_grades_total{changed="true"}[1h]))', ""),
    Figure("delivered_hour", "Notifications delivered, last hour",
           'sum(increase(iom_notifications_total{state="DELIVERED"}[1h]))', ""),
    Figure("failed_hour", "Notifications failed, last hour",
           'sum(increase(iom_notifications_total{state="FAILED"}[1h]))', ""),
    Figure("dead_letters_hour", "Dead letters, last hour",
           "sum(increase(iom_dead_letters_total[1h]))", ""),
    Figure("lag", "Consumer lag", f"sum({LAG})", ""),
)

# End to end, per path: the system's own latency (since arrival on the bus).
LATENCY_FIGURES = (
    Figure("p50", "p50 since arrival",
           "histogram_quantile(0.5, sum by (path, le) "
           "(rate(iom_arrival_to_output_seconds_bucket[5m])))", "s", "path"),
    Figure("p99", "p99 since arrival",
           "histogram_quantile(0.99, sum by (path, le) "
           "(rate(iom_arrival_to_output_seconds_bucket[5m])))", "s", "path"),
    Figure("p99_event", "p99 since event time",
           "histogram_quantile(0.99, sum by (path, le) "
           "(rate(iom_event_to_output_seconds_bucket[5m])))", "s", "path"),
    Figure("outputs", "Outputs measured",
           "sum by (path) (iom_arrival_to_output_seconds_count)", "", "path",
           "since each worker started"),
)

ALL_FIGURES = SERVICE_FIGURES + HEADLINE_FIGURES + LATENCY_FIGURES
