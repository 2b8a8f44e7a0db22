"""From input records to Notification records: who, once, with what."""

from __future__ import annotations

import orjson

from services.notifications.once import Action
from services.notifications.routing import (
    Directory,
    Subject,
    case_alert_subject,
    grade_matters,
    notification_id,
    plan_hit,
    plan_once,
)
from tests.unit.notifications import support
from tests.unit.notifications.support import T0, recipient

POLICE = recipient("police", "POLICE", ("HIT", "GRADE_CHANGE", "ZONE_BREACH"))
PROBATION = recipient("pdu", "PROBATION", ("HIT", "GRADE_CHANGE"))
HOUSING = recipient("housing", "PARTNER_HOUSING", ("GRADE_CHANGE",))
KENT = recipient("kent", "POLICE", ("HIT",), ("Kent",))
ALL = [POLICE, PROBATION, HOUSING, KENT]


def directory() -> Directory:
    d = Directory()
    d.person("P-1", "Hampshire")
    return d


def test_directory_force_and_registration() -> None:
    d = directory()
    assert d.get("P-1") is not None and d.get("P-1").force == "Hampshire"
    assert d.get("P-2") is None
    assert d.get("P-2", force="Kent").force == "Kent"  # a record naming its force
    d.cohort("P-1", "REGISTERED", "PC Smith")
    assert d.get("P-1").registered and d.get("P-1").lead_officer == "PC Smith"
    d.cohort("P-1", "DEREGISTERED", None)
    assert not d.get("P-1").registered


def test_grades_that_matter() -> None:
    assert grade_matters(support.grade("RED"), registered=False)
    assert not grade_matters(support.grade("AMBER", "GREEN"), registered=False)
    assert grade_matters(support.grade("AMBER", "GREEN"), registered=True)
    assert not grade_matters(support.grade("RED", "RED", changed=False), registered=True)


def test_a_hit_pages_police_and_probation_of_the_force_minimised() -> None:
    subject = directory().get("P-1")
    plan = plan_hit(support.hit(), subject, ALL, {}, T0)
    by_recipient = {n["recipient"]: n for n in plan.notifications}
    assert set(by_recipient) == {"police", "pdu"}
    police = by_recipient["police"]
    assert police["notification_id"] == notification_id("h1", "police", "HIT")
    assert police["state"] == "PENDING" and police["kind"] == "HIT"
    assert len(orjson.loads(police["payload"])["fixes"]) == 3
    assert "fixes" not in orjson.loads(by_recipient["pdu"]["payload"])
    # the next revision updates nobody's pager
    again = plan_hit(support.hit(2), subject, ALL, plan.states, T0)
    assert again.notifications == [] and set(again.actions.values()) == {Action.UPDATE}
    withdrawn = plan_hit(support.hit(3, "WITHDRAWN"), subject, ALL, again.states, T0)
    assert [n["kind"] for n in withdrawn.notifications] == ["HIT_WITHDRAWN"] * 2


def test_notification_ids_are_deterministic() -> None:
    subject = directory().get("P-1")
    first = plan_hit(support.hit(), subject, ALL, {}, T0).notifications
    second = plan_hit(support.hit(), subject, ALL, {}, T0).notifications
    assert [n["notification_id"] for n in first] == [n["notification_id"] for n in second]
    assert len({n["notification_id"] for n in first}) == 2


def test_other_kinds_once_per_recipient() -> None:
    subject = directory().get("P-1")
    sent = plan_once("GRADE_CHANGE", "P-1#3", support.grade(), subject, ALL, [], T0)
    assert [n["recipient"] for n in sent] == ["police", "pdu", "housing"]
    housing = orjson.loads(sent[2]["payload"])
    assert set(housing) == {"person_id", "rag", "previous_rag", "graded_at", "force",
                            "lead_officer"}
    assert plan_once("GRADE_CHANGE", "P-1#3", support.grade(), subject, ALL,
                     ["police", "pdu"], T0)[0]["recipient"] == "housing"


def test_a_case_alert_goes_to_the_force_it_names() -> None:
    d = directory()  # P-1 is a Hampshire person on iom.people
    alert = {**support.case_alert(), "force": "Kent", "lead_officer": None}
    subject = case_alert_subject(alert, d.get("P-1"))
    assert subject.force == "Kent" and not subject.registered and subject.lead_officer is None
    d.cohort("P-1", "REGISTERED", "PC Jones")
    subject = case_alert_subject(alert, d.get("P-1"))
    assert subject.registered and subject.lead_officer == "PC Jones"
    named = case_alert_subject({**alert, "lead_officer": "PC Smith"}, d.get("P-1"))
    assert named.lead_officer == "PC Smith"  # the alert's own lead officer first


def test_a_case_alert_about_a_person_not_followed_yet_counts_as_registered() -> None:
    subject = case_alert_subject(support.case_alert(), None)
    assert subject == Subject("Hampshire", True, "PC Smith")


def test_a_plan_action_goes_to_the_force_and_to_the_partner_it_names_only() -> None:
    from services.notifications.subscriptions import Recipient
    drugs = Recipient(name="drugs", role="DRUG_ALCOHOL", kinds=frozenset({"ACTION_ASSIGNED"}),
                      forces=frozenset({"Hampshire"}), url="http://127.0.0.1:1/d",
                      secret=support.SECRET, agency="Inclusion Hampshire")
    mind = Recipient(name="mind", role="MENTAL_HEALTH", kinds=frozenset({"ACTION_ASSIGNED"}),
                     forces=frozenset({"Hampshire"}), url="http://127.0.0.1:1/m",
                     secret=support.SECRET, agency="Solent Mind")
    pdu = recipient("pdu2", "PROBATION", ("ACTION_ASSIGNED",))
    alert = {**support.case_alert("ACTION_ASSIGNED"),
             "details": {"action_id": "a1", "partner_agency": "inclusion hampshire",
                         "pathway": "REHABILITATE_AND_RESETTLE", "due": "2026-12-20"}}
    subject = case_alert_subject(alert, None)
    made = plan_once("ACTION_ASSIGNED", "c1", alert, subject, [drugs, mind, pdu], [], T0)
    assert [n["recipient"] for n in made] == ["drugs", "pdu2"]
    payload = orjson.loads(made[0]["payload"])
    assert payload["details"]["partner_agency"] == "inclusion hampshire"
    assert not {"lat", "lon", "fixes", "device_id"} & set(payload)
    assert plan_once("ACTION_ASSIGNED", "c1", alert, subject, [drugs, mind, pdu],
                     ["drugs", "pdu2"], T0) == []  # once per recipient


THAMES_VALLEY = recipient("tvp", "POLICE", ("HIT",), ("Thames Valley",))
TVP_PROBATION = recipient("tvp-pdu", "PROBATION", ("HIT",), ("Thames Valley",))


def test_a_cross_force_hit_also_pages_the_police_of_the_crime_force() -> None:
    """Contract 1.1: a crime Thames Valley reported, a Hampshire person near it: Hampshire's
    recipients as before, and Thames Valley's police as investigators (not its probation,
    which manages nobody here), without the case's lead officer."""
    subject = Subject("Hampshire", True, "PC Smith")
    everyone = [*ALL, THAMES_VALLEY, TVP_PROBATION]
    plan = plan_hit(support.hit(crime_force="Thames Valley"), subject, everyone, {}, T0)
    by_recipient = {n["recipient"]: orjson.loads(n["payload"]) for n in plan.notifications}
    assert set(by_recipient) == {"police", "pdu", "tvp"}
    tvp, hants = by_recipient["tvp"], by_recipient["police"]
    assert "lead_officer" not in tvp and hants["lead_officer"] == "PC Smith"
    assert tvp["crime_force"] == hants["crime_force"] == "Thames Valley"
    assert tvp["force"] == "Hampshire" and len(tvp["fixes"]) == 3
    # once per hit for them too: the next revision pages nobody, a withdrawal tells both
    again = plan_hit(support.hit(2, crime_force="Thames Valley"), subject, everyone,
                     plan.states, T0)
    assert again.notifications == [] and again.actions["tvp"] is Action.UPDATE
    withdrawn = plan_hit(support.hit(3, "WITHDRAWN", crime_force="Thames Valley"), subject,
                         everyone, again.states, T0)
    assert {n["recipient"] for n in withdrawn.notifications} == {"police", "pdu", "tvp"}


def test_a_hit_of_the_persons_own_force_or_of_no_crime_force_pages_nobody_else() -> None:
    subject = Subject("Hampshire")
    for crime_force in ("Hampshire", None):
        plan = plan_hit(support.hit(crime_force=crime_force), subject,
                        [*ALL, THAMES_VALLEY], {}, T0)
        assert {n["recipient"] for n in plan.notifications} == {"police", "pdu"}
    # a recipient of both forces is told once, as the person's force
    both = recipient("both", "POLICE", ("HIT",), ("Hampshire", "Thames Valley"))
    plan = plan_hit(support.hit(crime_force="Thames Valley"), subject, [both], {}, T0)
    assert len(plan.notifications) == 1
    assert "lead_officer" in orjson.loads(plan.notifications[0]["payload"])
