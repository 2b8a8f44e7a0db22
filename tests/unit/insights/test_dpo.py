"""The DPO's page: the question from the query string, the answer from a constructed audit
store, every value escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from iomkit.audit import audit_record
from iomkit.audittrail.store import Store, rows_of
from services.insights import dpo


@pytest.fixture
def store() -> Store:
    s = Store(None)
    s.write([rows_of(audit_record(service="referrals", actor=actor, action=action,
                                  purpose="<b>report</b>", person_id=person,
                                  at=datetime(2028, 2, day, tzinfo=UTC)))
             for actor, action, person, day in (
                 ("pc-a", "VIEW", "P-1", 28), ("pc-b", "ALTER", "P-1", 29),
                 ("pc-a", "VIEW", "P-2", 29))], {0: 3})
    return s


def test_questions():
    assert dpo.question({}) is None
    q = dpo.question({"person": "P-1", "since": "2028-02-29"})
    assert q == dpo.Question("P-1", None, date(2028, 2, 29), None, ("CONSULTATION",
                                                                   "DISCLOSURE"))
    assert dpo.question({"user": "pc-a"}).kinds is None  # everything they did
    assert dpo.question({"user": "pc-a", "kind": "alteration"}).kinds == ("ALTERATION",)
    for query, why in (({"person": "P-1"}, "since"), ({"person": "P", "user": "u"}, "not both"),
                       ({"user": "u", "since": "2028-02-30"}, "since must be a date"),
                       ({"user": "u", "kind": "peeking"}, "unknown kind")):
        with pytest.raises(dpo.BadQuestion, match=why):
            dpo.question(query)


def test_who_saw_and_what_did(store):
    q = dpo.question({"person": "P-1", "since": "2028-02-28", "kind": "all"})
    entries = dpo.answer(store, q)
    assert [(e.actor, e.kind) for e in entries] == [("pc-a", "CONSULTATION"),
                                                    ("pc-b", "ALTERATION")]
    assert [e.person_id for e in dpo.answer(store, dpo.question({"user": "pc-a"}))] == \
        ["P-1", "P-2"]
    document = dpo.document(q, entries, None)
    assert document["by_kind"]["ALTERATION"] == 1 and document["person"] == "P-1"


def test_the_page_escapes_and_says_when_the_store_was_loaded(store):
    q = dpo.question({"person": "<P-1>", "since": "2028-02-28"})
    html = dpo.page(q, dpo.answer(store, dpo.question({"person": "P-1", "since": "2028-02-28"})),
                    datetime(2028, 3, 1, 9, tzinfo=UTC))
    assert "<b>" not in html and "&lt;b&gt;report&lt;/b&gt;" in html
    assert "Who saw &lt;P-1&gt;" in html and "2028-03-01 09:00 UTC" in html
    assert "<script" not in html
    assert "No audit store yet" in dpo.page(None, [], None)
    assert "id=error" in dpo.page(None, [], None, "since: which day?")
