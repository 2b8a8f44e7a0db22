"""The access table in code: what the contract allows, and the README generated from it."""

from __future__ import annotations

import pytest

from iomkit import topics
from iomkit.access import (
    AGENCY_WRITABLE,
    FUTURE_SERVICES,
    SERVICES,
    AccessError,
    Operation,
    Pattern,
    Resource,
    agency,
    with_table,
)
from iomkit.settings import ROOT


def test_readme_table_is_generated_from_the_code() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme == with_table(readme), "stale: run python -m iomkit.access --write"


def test_nobody_but_the_operator_reads_audit_and_every_service_appends_to_it() -> None:
    for grant in (*SERVICES.values(), *FUTURE_SERVICES.values()):
        reads = {a.name for a in grant.acls() if a.operation == Operation.READ}
        assert topics.AUDIT.name not in reads, grant.principal
        assert topics.AUDIT.name in grant.produce, grant.principal
        assert topics.DEAD_LETTERS.name in grant.produce, grant.principal
        # Nobody is given DELETE, ALTER or ALL on anything.
        assert {a.operation.name for a in grant.acls()} <= {
            "READ", "WRITE", "CREATE", "DESCRIBE_CONFIGS"}


def test_every_contract_topic_a_service_writes_has_exactly_one_writing_service() -> None:
    writers: dict[str, list[str]] = {}
    for grant in SERVICES.values():
        for name in grant.produce:
            writers.setdefault(name, []).append(grant.principal)
    shared = {topics.AUDIT.name, topics.DEAD_LETTERS.name, topics.OFFENDER_EVENTS.name,
              topics.CRIMES_REPORTED.name, topics.REFERRALS.name}
    for name, who in writers.items():
        if name not in shared:
            assert len(who) == 1, (name, who)
    assert not AGENCY_WRITABLE & {topics.GPS_HITS.name, topics.RISK_GRADES.name,
                                  topics.NOTIFICATIONS.name, topics.AUDIT.name}


def test_a_service_owns_its_internal_topics_and_groups_by_prefix() -> None:
    risk = SERVICES["risk"].acls()
    owned = [a for a in risk if a.pattern == Pattern.PREFIXED and a.resource == Resource.TOPIC]
    assert {a.name for a in owned} == {"throughcare-risk-"}
    assert {a.operation for a in owned} == {Operation.CREATE, Operation.READ, Operation.WRITE,
                                            Operation.DESCRIBE_CONFIGS}
    groups = [a for a in risk if a.resource == Resource.GROUP]
    assert [(a.name, a.pattern, a.operation) for a in groups] == [
        ("throughcare-risk", Pattern.PREFIXED, Operation.READ)]


def test_an_agency_gets_exactly_what_it_asked_for() -> None:
    kent = agency("police-kent", [topics.CRIMES_REPORTED.name], [topics.GPS_HITS.name])
    assert {(a.name, a.operation) for a in kent.acls() if a.resource == Resource.TOPIC} == {
        (topics.CRIMES_REPORTED.name, Operation.WRITE), (topics.GPS_HITS.name, Operation.READ)}
    assert [a.name for a in kent.acls() if a.resource == Resource.GROUP] == ["police-kent-"]


@pytest.mark.parametrize(("name", "produce", "consume", "problem"), [
    ("police-kent", [topics.GPS_HITS.name], [], "written by a service"),
    ("police-kent", [], [topics.AUDIT.name], "nobody but the operator"),
    ("police-kent", [], ["throughcare-risk-views"], "not a contract topic"),
    ("risk", [], [topics.GPS_HITS.name], "service or the operator"),
    ("admin", [], [], "service or the operator"),
    ("kent police", [], [], "letters, digits"),
])
def test_an_agency_grant_the_contract_forbids_is_refused(
    name: str, produce: list[str], consume: list[str], problem: str
) -> None:
    with pytest.raises(AccessError, match=problem):
        agency(name, produce, consume)
