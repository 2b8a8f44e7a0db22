"""make run's summary line of a simulated day: the figures added up from the services'
metric pages, the hits set against the ground truth."""

from __future__ import annotations

from iomkit import simulation

RISK = """# TYPE iom_risk_grades_total counter
iom_risk_grades_total{rag="RED",changed="true"} 3.0
iom_risk_grades_total{rag="GREEN",changed="false"} 9.0
# TYPE iom_consumer_lag gauge
iom_consumer_lag{service="risk",group="g",topic="t",partition="0"} 4.0
"""
GPS = """# TYPE iom_records_in_total counter
iom_records_in_total{service="gps_stream",topic="iom.tag.pings"} 1200.0
iom_records_in_total{service="gps_stream",topic="iom.crimes.reported"} 7.0
# TYPE iom_dead_letters_total counter
iom_dead_letters_total{service="gps_stream",topic="iom.tag.pings",kind="decode"} 2.0
# TYPE iom_consumer_lag gauge
iom_consumer_lag{service="gps_stream",group="g",topic="t",partition="1"} 6.0
"""


def test_figures_are_summed_over_the_services_and_matched_by_label():
    figures = simulation.totals([RISK, GPS])
    assert figures == {"fixes_in": 1200.0, "hits_out": 0.0, "grades_changed": 3.0,
                       "notified": 0.0, "dead_letters": 2.0, "lag": 10.0}


def test_the_line_sets_the_hits_against_the_truth():
    before = simulation.totals([GPS.replace("1200.0", "200.0")])
    now = simulation.totals([RISK, GPS])
    truth = {("C1", "P1"), ("C2", "P2"), ("C3", "P3")}
    found = {("C1", "P1"), ("C2", "P2"), ("C9", "P9")}
    line = simulation.summary_line(now, before, 5.0, found, truth)
    assert line.startswith("day: fixes 200/s (1,200 in); hits 2 of 3 in the ground truth, "
                           "1 not in it; grades changed 3;")
    assert line.endswith("dead letters 2; consumer lag 10")


class Read:
    def __init__(self, value: dict | None) -> None:
        self.value = value


def test_active_hits_are_the_latest_revisions_of_a_worlds_crimes():
    def hit(hid: str, revision: int, status: str, ref: str = "SIM/1/x") -> Read:
        return Read({"hit_id": hid, "revision": revision, "status": status,
                     "crime_ref": ref, "person_id": f"P-{hid}"})
    seen = [hit("a", 1, "ACTIVE"), hit("a", 2, "WITHDRAWN"), hit("b", 2, "ACTIVE"),
            hit("b", 1, "WITHDRAWN"), hit("c", 1, "ACTIVE", "OTHER/1"), Read(None)]
    assert simulation.active_hits(seen, "SIM/1/") == {("SIM/1/x", "P-b")}
    # another trail on the bus meeting the world's crime: not the world's to count
    seen.append(hit("d", 1, "ACTIVE"))
    assert simulation.active_hits(seen, "SIM/1/", {"P-b"}) == {("SIM/1/x", "P-b")}
    assert simulation.active_hits(seen, "SIM/1/") == {("SIM/1/x", "P-b"), ("SIM/1/x", "P-d")}
