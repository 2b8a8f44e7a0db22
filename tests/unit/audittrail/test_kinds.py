"""Every action the services write is one of the six kinds of processing of s.62."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iomkit.audittrail import kinds
from iomkit.settings import ROOT


def written_actions() -> set[str]:
    """The action strings passed to an audit call anywhere in services/ and iomkit/."""
    found: set[str] = set()
    for path in [*Path(ROOT, "services").rglob("*.py"), *Path(ROOT, "iomkit").rglob("*.py")]:
        text = path.read_text()
        found |= set(re.findall(r"audit\(\s*request,\s*(?:[\w\[\]\"'.]+,\s*)?\"([A-Z]+)\"", text))
        found |= set(re.findall(r"action=\"([A-Z]+)\"", text))
    return found


def test_every_action_written_has_its_kind():
    actions = written_actions()
    assert {"VIEW", "CONSULT", "ALTER", "COLLECT", "DISCLOSE"} <= actions
    assert {a: kinds.kind_of(a) for a in actions if kinds.kind_of(a) == kinds.UNCLASSIFIED} == {}


def test_every_schema_symbol_but_unknown_is_one_of_the_six():
    schema = (ROOT / "schemas" / "AuditRecord.avsc").read_text()
    symbols = re.search(r'"symbols": \[([^\]]*)\]', schema).group(1)
    named = {s.strip().strip('"') for s in symbols.split(",")}
    assert {kinds.kind_of(s) for s in named - {"UNKNOWN"}} == set(kinds.KINDS)
    assert kinds.kind_of("UNKNOWN") == kinds.UNCLASSIFIED


@pytest.mark.parametrize(("action", "kind"), [
    ("COLLECT", "COLLECTION"), ("ALTER", "ALTERATION"), ("VIEW", "CONSULTATION"),
    ("CONSULT", "CONSULTATION"), ("DISCLOSE", "DISCLOSURE"), ("COMBINE", "COMBINATION"),
    ("ERASE", "ERASURE"), ("SHRED", "UNCLASSIFIED")])
def test_kind_of(action, kind):
    assert kinds.kind_of(action) == kind


def test_refusals_and_people():
    assert kinds.refused({"outcome": "REFUSED"}) and not kinds.refused({})
    assert kinds.people_of("P-1", {"people": "P-2, P-1,,P-3"}) == ["P-1", "P-2", "P-3"]
    assert kinds.people_of(None, {}) == []


def test_parse_kinds():
    assert kinds.parse_kinds(["consultation", "Disclosure"]) == ("CONSULTATION", "DISCLOSURE")
    assert kinds.parse_kinds(["all"]) == (*kinds.KINDS, kinds.UNCLASSIFIED)
    with pytest.raises(ValueError, match="unknown kind 'viewing'"):
        kinds.parse_kinds(["viewing"])


def test_a_combination_written_again_is_the_same_record():
    from datetime import UTC, datetime

    from iomkit.audit import combination_record

    def made(minute: int) -> dict:
        return combination_record(service="gps_stream", person_id="P-1", what="hit",
                                  source_id="h1|2", at=datetime(2028, 2, 29, 0, minute,
                                                                tzinfo=UTC),
                                  details={"hit_id": "h1"})

    first, again = made(0), made(5)
    assert first["audit_id"] == again["audit_id"] and len(first["audit_id"]) == 32
    assert first["action"] == "COMBINE" and first["actor"] == "gps_stream"
    assert kinds.kind_of(first["action"]) == kinds.COMBINATION
    other = combination_record(service="gps_stream", person_id="P-1", what="hit",
                               source_id="h1|3", at=first["at"], details={})
    assert other["audit_id"] != first["audit_id"]
