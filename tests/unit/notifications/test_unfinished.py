"""Which notifications are unfinished and which worker resumes each: the latest state read
from iom.notifications, the input partition named by its cause."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.notifications.unfinished import OURS, Unfinished, partition_of
from tests.unit.notifications.support import T0


def state(nid: str, value: str, recipient: str = "police", minutes: int = 0
          ) -> dict[str, Any]:
    return {"notification_id": nid, "recipient": recipient, "state": value,
            "created_at": T0 + timedelta(minutes=minutes), "payload": "{}"}


def test_the_cause_names_the_input_partition() -> None:
    assert partition_of("iom.gps.hits/3/1207") == ("iom.gps.hits", 3)
    assert partition_of("a/b/c/4/9") == ("a/b/c", 4)  # a topic name with slashes
    assert partition_of("") is None
    assert partition_of("iom.gps.hits/x/1") is None
    assert partition_of("iom.gps.hits/3") is None


def test_a_delivered_notification_is_forgotten() -> None:
    u = Unfinished()
    u.keep(state("n1", "PENDING"), "iom.gps.hits/0/5")
    u.keep(state("n1", "RETRYING"), "")
    assert u.latest["n1"]["state"] == "RETRYING" and u.made_from["n1"] == ("iom.gps.hits", 0)
    u.keep(state("n1", "DELIVERED"), "")
    assert u.latest == {} and u.made_from == {}
    assert "n1" in u.finished  # read back finished: not to be made again
    u.keep(state("n2", "FAILED"), "iom.gps.hits/0/6")
    assert "n2" in u.finished and u.latest["n2"]["state"] == "FAILED"  # kept to redeliver
    u.keep(state("n3", "RETRYING"), "iom.gps.hits/0/7")
    assert "n3" not in u.finished


def test_the_first_cause_read_is_kept() -> None:
    u = Unfinished()
    u.keep(state("n1", "PENDING"), "iom.gps.hits/2/5")
    u.keep(state("n1", "RETRYING"), "iom.zone-breaches/4/9")
    assert u.made_from["n1"] == ("iom.gps.hits", 2)


def test_only_the_owner_of_the_input_partition_resumes_it_oldest_first() -> None:
    u = Unfinished()
    u.keep(state("late", "PENDING", minutes=5), "iom.gps.hits/0/9")
    u.keep(state("early", "RETRYING", minutes=1), "iom.gps.hits/0/3")
    u.keep(state("other", "PENDING"), "iom.gps.hits/1/3")
    u.keep(state("failed", "FAILED"), "iom.gps.hits/0/1")
    u.keep(state("gone", "PENDING", recipient="unsubscribed"), "iom.gps.hits/0/2")
    u.keep(state("causeless", "PENDING"), "")
    resumed = u.to_resume({("iom.gps.hits", 0)}, {"police"}, T0)
    assert [n["notification_id"] for n in resumed] == ["early", "late"]
    assert [n["notification_id"] for n in u.to_resume(set(), {"police"}, T0)] == []


def test_what_this_worker_delivers() -> None:
    u = Unfinished()
    u.keep(state("n1", "PENDING"), "iom.gps.hits/1/3")
    mine = {("iom.gps.hits", 0)}
    assert not u.owned(state("n1", "PENDING"), mine)
    assert u.owned(state("n1", "PENDING"), mine | {("iom.gps.hits", 1)})
    assert u.owned(state("new", "PENDING"), mine)  # made here, not read back yet: ours
    assert u.owned(state("new", "PENDING"), set())
    assert OURS not in mine


def test_a_redelivery_takes_the_recipients_failed_oldest_first() -> None:
    u = Unfinished()
    u.keep(state("b", "FAILED", minutes=2), "")
    u.keep(state("a", "FAILED", minutes=1), "")
    u.keep(state("c", "PENDING"), "")
    u.keep(state("d", "FAILED", recipient="housing"), "")
    assert [n["notification_id"] for n in u.failed("police", T0)] == ["a", "b"]
    assert [n["notification_id"] for n in u.failed("housing", T0)] == ["d"]


def test_those_made_before_the_cutoff_are_forgotten_whatever_their_state() -> None:
    u = Unfinished()
    u.keep(state("old-failed", "FAILED", minutes=0), "iom.gps.hits/0/1")
    u.keep(state("old-pending", "PENDING", recipient="gone", minutes=1), "iom.gps.hits/0/2")
    u.keep(state("new-failed", "FAILED", minutes=10), "iom.gps.hits/0/3")
    assert u.forget_before(T0 + timedelta(minutes=5)) == 2
    assert set(u.latest) == set(u.made_from) == {"new-failed"}
    assert [n["notification_id"] for n in u.failed("police", T0)] == ["new-failed"]
