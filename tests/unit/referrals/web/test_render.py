"""Unit tests for services.referrals.web.render: parse each page and query it like a browser
would."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest

from services.referrals.web import render
from services.referrals.web.forms import REFERRAL_FIELDS

# --- A tiny DOM ------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


@dataclass(eq=False)
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def __getitem__(self, name: str) -> str | None:
        return self.attrs[name]

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    @property
    def text(self) -> str:
        """The text content, whitespace collapsed."""
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return " ".join("".join(parts).split())

    def walk(self) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants with this tag (any when None) whose attributes equal ``attrs``
        (``class_`` matches one class)."""
        wanted_class = attrs.pop("class_", None)
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
            and (wanted_class is None or wanted_class in n.classes)
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"expected one {tag} {attrs}, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Node:
        return self.one(id=element_id)

    def has_id(self, element_id: str) -> bool:
        return bool(self.all(id=element_id))


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root
        self.doctype: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        assert len(names) == len(set(names)), f"duplicate attribute in <{tag} {attrs}>"
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.current.tag == tag, f"</{tag}> closes <{self.current.tag}>"
        assert self.current.parent is not None
        self.current = self.current.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def dom(document: str) -> Node:
    """Parse a whole page, checking it is a well-nested HTML5 document with unique ids."""
    builder = _TreeBuilder()
    builder.feed(document)
    builder.close()
    assert builder.current is builder.root, f"<{builder.current.tag}> never closed"
    assert builder.doctype is not None and builder.doctype.lower() == "doctype html"
    ids = [n.get("id") for n in builder.root.walk() if n.get("id")]
    assert len(ids) == len(set(ids)), f"duplicate ids: {sorted(ids)}"
    return builder.root


def form_field_names(form: Node) -> list[str]:
    return [
        n["name"] or ""
        for n in form.walk()
        if n.tag in {"input", "select", "textarea"} and n.get("name")
    ]


def ancestors(node: Node) -> Iterator[Node]:
    while node.parent is not None:
        node = node.parent
        yield node


EVIL = '<script>alert("x")</script> & </textarea><b>'


# --- Fixtures ----------------------------------------------------------------------------------


def report_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "person_id": "P-100",
        "force": "Hampshire",
        "state": "REGISTERED",
        "cohort": "FIXED",
        "pathway": "CATCH_AND_CONTROL",
        "lead_officer": "PC A. Patel",
        "registered_on": "2026-01-06",
        "licence_end": "2026-09-30",
        "transition_opens": "2026-08-05",
        "grade": {
            "rag": "RED",
            "previous_rag": "AMBER",
            "reasons": ["arrested for burglary", "missed two appointments"],
            "static_score": 0.71,
            "graded_at": "2026-02-01T10:00:00+00:00",
        },
        "review": {"due": "2026-02-15", "overdue": False, "interval_days": 14},
        "reviews": [
            {"reviewed_on": "2026-02-01", "supervisor": "Sgt B. Jones", "finding": "Proportionate."}
        ],
        "deregistration_rationale": None,
        "referrals": [
            {
                "referral_id": "R-1",
                "status": "ACCEPTED",
                "proposed_cohort": "FIXED",
                "submitted_at": "2025-12-01T09:00:00+00:00",
                "urgent": False,
            }
        ],
        "timeline": [
            {"at": "2026-02-01T10:00:00+00:00", "kind": "GRADE", "summary": "RED", "ref": "g1"},
            {"at": "2026-01-20T08:00:00+00:00", "kind": "HIT", "summary": "near", "ref": "h1"},
            {
                "at": "2026-01-06T12:00:00+00:00",
                "kind": "COHORT_CHANGE",
                "summary": "in",
                "ref": "",
            },
            {"at": "2026-01-05T15:00:00+00:00", "kind": "DECISION", "summary": "ok", "ref": "d1"},
        ],
    }
    doc.update(changes)
    return doc


def no_changes() -> dict[str, list[Any]]:
    return {
        "new_reds": [],
        "hits": [],
        "breaches": [],
        "new_registrations": [],
        "licences_ending": [],
        "overdue_reviews": [],
    }


def pack_doc() -> dict[str, Any]:
    busy = no_changes() | {
        "new_reds": [{"person_id": "P-1", "previous_rag": "AMBER", "graded_on": "2026-03-02"}],
        "hits": [
            {"person_id": "P-2", "incident_id": "hit-9", "ref": "44/1", "detected_on": "2026-03-03"}
        ],
    }
    return {
        "since": "2026-02-26",
        "until": "2026-03-05",
        "forces": [
            {
                "force": "Hampshire",
                "cohort": [
                    {
                        "person_id": "P-1",
                        "rag": "RED",
                        "state": "REGISTERED",
                        "lead_officer": None,
                        "licence_end": "2026-09-30",
                        "review_due": "2026-03-10",
                    },
                    {
                        "person_id": "P-2",
                        "rag": "GREEN",
                        "state": "TRANSITION",
                        "lead_officer": "PC C. Dale",
                        "licence_end": "2026-04-01",
                        "review_due": "2026-03-20",
                    },
                ],
                "changes": busy,
            },
            {"force": "Isle of Wight", "cohort": [], "changes": no_changes()},
        ],
    }


def agenda_item(referral_id: str, urgent: bool, **referral: Any) -> dict[str, Any]:
    return {
        "referral": {
            "referral_id": referral_id,
            "person_id": f"P-{referral_id}",
            "referring_agency": "Probation Service",
            "proposed_cohort": "FLEX",
            "reason": "Needs accommodation and drug support to stop offending.",
            "urgent": urgent,
            "submitted_at": "2026-02-20T09:00:00+00:00",
            "index_offence": "Robbery",
        }
        | referral,
        "assessment": {"cohort": "FLEX", "reasons": ["under statutory supervision"]},
        "rag": "AMBER",
        "grade_reasons": ["two recent arrests"],
        "deferred_on": [],
    }


def agenda_doc() -> dict[str, Any]:
    return {
        "force": "Hampshire",
        "panel_date": "2026-03-03",
        "items": [agenda_item("R-9", True), agenda_item("R-1", False, reason=EVIL)],
    }


ALL_PAGES: list[tuple[str, Callable[[], str]]] = [
    ("referral_form", lambda: render.referral_form({"reason": EVIL}, {"reason": EVIL})),
    ("referral_received", lambda: render.referral_received({"referral_id": "R-1"}, None)),
    ("duplicate_referral", lambda: render.duplicate_referral({"referral_id": "R-1"})),
    ("report", lambda: render.report(report_doc())),
    ("map_pack", lambda: render.map_pack(pack_doc())),
    ("agenda", lambda: render.agenda(agenda_doc())),
    ("not_found", lambda: render.not_found("referral R-1")),
    ("refused", lambda: render.refused(409, "already open")),
]


# --- Every page --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "render"), ALL_PAGES, ids=[name for name, _ in ALL_PAGES])
def test_every_page_is_a_whole_document_that_loads_nothing(name: str, render: Callable[[], str]):
    root = dom(render())

    assert root.one("html")["lang"] == "en"
    assert root.one("title").text
    assert root.all("script") == []
    assert len(root.all("style")) == 1
    for node in root.walk():
        assert node.get("src") is None, f"{name}: <{node.tag}> loads {node['src']}"
        href = node.get("href") or ""
        assert not re.match(r"(?i)^(https?:)?//", href), f"{name}: link to {href}"
        assert node.get("style") is None, f"{name}: inline style attribute on <{node.tag}>"
    stylesheets = [n for n in root.all("link") if n.get("rel") == "stylesheet"]
    assert stylesheets == []


@pytest.mark.parametrize(("name", "render"), ALL_PAGES, ids=[name for name, _ in ALL_PAGES])
def test_the_page_policy_allows_exactly_its_own_stylesheet(name: str, render: Callable[[], str]):
    root = dom(render())
    policy = root.one("meta", http_equiv="Content-Security-Policy")["content"] or ""
    raw = "".join(c for c in root.one("style").children if isinstance(c, str))
    digest = base64.b64encode(hashlib.sha256(raw.encode()).digest()).decode()

    assert "default-src 'none'" in policy
    assert f"style-src 'sha256-{digest}'" in policy


# --- Referral form -----------------------------------------------------------------------------


def test_the_form_posts_exactly_the_referral_fields():
    root = dom(render.referral_form())
    form = root.one("form")

    assert form["method"] == "post" and form["action"] == "/referrals"
    assert form_field_names(form) == list(REFERRAL_FIELDS)
    assert form.one("select", name="proposed_cohort")
    assert form.one("textarea", name="reason")
    urgent = form.one("input", name="urgent")
    assert urgent["type"] == "checkbox" and urgent["value"] == "on"
    button = root.by_id("submit")
    assert button.tag == "button" and button["type"] == "submit" and button.get("name") is None


def test_every_field_has_a_label():
    root = dom(render.referral_form())
    labelled = {label["for"] for label in root.all("label")}
    assert set(REFERRAL_FIELDS) <= labelled
    for name in REFERRAL_FIELDS:
        assert root.by_id(name).get("name") == name


def test_the_cohort_choice_offers_the_three_cohorts():
    root = dom(render.referral_form())
    options = [o["value"] for o in root.one("select", name="proposed_cohort").all("option")]
    assert options == ["", "FIXED", "FLEX", "FREE"]


def test_the_form_gives_the_standard_guidance():
    root = dom(render.referral_form())
    cohorts = root.by_id("cohorts").text
    fixed, flex, free = (cohorts.split(name, 1)[1] for name in ("FIXED", "FLEX", "FREE"))

    assert "statutory" in fixed and "burglary" in fixed and "robbery" in fixed
    assert "vehicle" in fixed and "not shoplifting" in fixed and "high risk" in fixed
    assert "not a neighbourhood crime" in flex and "same IOM approach" in flex
    assert "force priority" in free and "domestic abuse" in free
    assert "statutory probation supervision" in root.by_id("criteria").text
    assert "Why would IOM help" in root.by_id("hint-reason").text


def test_a_clean_form_shows_no_errors():
    root = dom(render.referral_form())
    assert not root.has_id("errors")
    assert root.all(class_="error") == []


def test_errors_sit_next_to_their_fields_and_in_a_summary_at_the_top():
    errors = {"reason": "too short", "proposed_cohort": "required"}
    root = dom(render.referral_form({"reason": "help"}, errors))

    for name, message in errors.items():
        error = root.by_id(f"error-{name}")
        assert "error" in error.classes and error.text == message
        # Same container as the control it is about, and no other control in it.
        box = error.parent
        assert box is not None
        assert form_field_names(box) == [name]
    summary = root.by_id("errors")
    main = root.one("main")
    assert main.children.index(summary) < main.children.index(root.one("form"))
    assert {a["href"] for a in summary.all("a")} == {"#reason", "#proposed_cohort"}
    assert not root.has_id("error-person_id")
    assert root.one("title").text.startswith("Error")


def test_an_error_for_a_field_the_form_lacks_is_in_the_summary():
    root = dom(render.referral_form({}, {"colour": "not a field of a referral"}))
    assert "colour: not a field of a referral" in root.by_id("errors").text


def test_values_are_put_back_after_an_error():
    values = {
        "person_id": "P-100",
        "referring_agency": "Probation Service",
        "referrer": "J. Smith",
        "proposed_cohort": "FLEX",
        "reason": "Needs a home.",
        "urgent": "on",
        "index_offence": "Robbery",
    }
    root = dom(render.referral_form(values, {"reason": "too short"}))

    for name in ("person_id", "referring_agency", "referrer", "index_offence"):
        assert root.by_id(name)["value"] == values[name]
    selected = [
        o["value"] for o in root.by_id("proposed_cohort").all("option") if "selected" in o.attrs
    ]
    assert selected == ["FLEX"]
    assert root.by_id("reason").text == "Needs a home."
    assert "checked" in root.by_id("urgent").attrs


def test_an_unticked_box_stays_unticked():
    root = dom(render.referral_form({"urgent": ""}))
    assert "checked" not in root.by_id("urgent").attrs


def test_values_and_errors_are_escaped():
    attr = '"><script>alert(1)</script>'
    root = dom(render.referral_form({"reason": EVIL, "person_id": attr}, {"reason": EVIL}))

    assert root.all("script") == [] and root.all("b") == []
    assert root.by_id("reason").text == " ".join(EVIL.split())
    assert root.by_id("person_id")["value"] == attr
    assert root.by_id("error-reason").text == " ".join(EVIL.split())


# --- Referral outcomes -------------------------------------------------------------------------


def test_the_confirmation_names_the_referral_and_links_to_the_report():
    referral = {
        "referral_id": "3f2a",
        "person_id": "P-100",
        "proposed_cohort": "FIXED",
        "urgent": True,
        "submitted_at": "2026-03-04T09:30:00+00:00",
    }
    assessment = {"cohort": "FIXED", "reasons": ["under statutory supervision", EVIL]}
    root = dom(render.referral_received(referral, assessment))

    assert root.by_id("referral-id").text == "3f2a"
    assert root.by_id("report-link")["href"] == "/people/P-100/report"
    assert "outside the monthly panel" in root.one("main").text
    assert "fits FIXED" in root.one(class_="assessment").text
    assert root.all("script") == []


def test_the_confirmation_without_an_assessment_says_so():
    root = dom(render.referral_received({"referral_id": "r", "person_id": "P"}, None))
    assert "No advisory assessment yet" in root.one("main").text
    assert "next monthly MACC" in root.one("main").text


def test_a_person_id_is_one_path_segment_in_links():
    root = dom(render.referral_received({"referral_id": "r", "person_id": "../admin?x=1"}, None))
    assert root.by_id("report-link")["href"] == "/people/..%2Fadmin%3Fx%3D1/report"


def test_the_duplicate_page_links_to_the_open_referral():
    existing = {"referral_id": "abc123", "person_id": "P-100", "submitted_at": "2026-03-01"}
    root = dom(render.duplicate_referral(existing))

    link = root.by_id("existing-referral")
    assert link.tag == "a" and link["href"] == "/referrals/abc123"
    assert "already" in root.one("h1").text


# --- Management report -------------------------------------------------------------------------


def test_the_report_shows_the_lead_officer_state_and_grade():
    root = dom(render.report(report_doc()))

    assert root.by_id("lead-officer").text == "PC A. Patel"
    assert root.by_id("state").text == "REGISTERED"
    rag = root.by_id("rag")
    assert rag.text == "RED" and {"rag", "rag-red"} <= rag.classes
    assert "arrested for burglary" in root.one("main").text


@pytest.mark.parametrize("officer", [None, "", "   "])
def test_an_unallocated_lead_officer_is_said_plainly(officer: str | None):
    root = dom(render.report(report_doc(lead_officer=officer)))
    assert root.by_id("lead-officer").text == "not yet allocated"


def test_an_ungraded_person_is_not_graded():
    root = dom(render.report(report_doc(grade=None)))
    rag = root.by_id("rag")
    assert rag.text == "not graded" and "rag-red" not in rag.classes


@pytest.mark.parametrize("rag", ["AMBER", "GREEN"])
def test_the_badge_colour_follows_the_grade(rag: str):
    grade = report_doc()["grade"] | {"rag": rag}
    badge = dom(render.report(report_doc(grade=grade))).by_id("rag")
    assert badge.text == rag and f"rag-{rag.lower()}" in badge.classes


def test_an_overdue_review_is_marked_overdue():
    late = {"due": "2026-02-15", "overdue": True, "interval_days": 14}
    due = dom(render.report(report_doc(review=late))).by_id("review-due")
    assert "overdue" in due.classes and "2026-02-15" in due.text


def test_a_review_on_time_is_not_marked_overdue():
    due = dom(render.report(report_doc())).by_id("review-due")
    assert "overdue" not in due.classes and due.text == "2026-02-15"


def test_no_review_scheduled_still_has_the_element():
    due = dom(render.report(report_doc(review=None))).by_id("review-due")
    assert "overdue" not in due.classes and due.text == "not scheduled"


def test_the_timeline_keeps_the_order_and_marks_each_kind():
    root = dom(render.report(report_doc()))
    rows = root.by_id("timeline").all(class_="event")

    kinds = [sorted(c for c in row.classes if c.startswith("kind-")) for row in rows]
    assert kinds == [["kind-grade"], ["kind-hit"], ["kind-cohort_change"], ["kind-decision"]]
    assert "2026-02-01T10:00:00+00:00" in rows[0].text


def test_an_empty_timeline_has_no_event_rows():
    root = dom(render.report(report_doc(timeline=[])))
    assert root.by_id("timeline").all(class_="event") == []


def test_a_hostile_kind_cannot_break_out_of_the_class():
    event = {"at": "x", "kind": 'NOTE" onclick="x', "summary": EVIL, "ref": "r"}
    root = dom(render.report(report_doc(timeline=[event])))

    row = root.by_id("timeline").one(class_="event")
    assert row.get("onclick") is None
    assert EVIL.split()[0] in row.text and root.all("script") == []


def test_deregistration_appears_only_with_a_rationale():
    assert not dom(render.report(report_doc())).has_id("deregistration")
    root = dom(
        render.report(report_doc(state="DEREGISTERED", deregistration_rationale="Licence ended."))
    )
    assert "Licence ended." in root.by_id("deregistration").text


def test_the_report_has_the_supervisor_review_form_and_json_link():
    root = dom(render.report(report_doc(person_id="P 7/1")))
    form = root.by_id("review-form")

    assert form["method"] == "post" and form["action"] == "/people/P%207%2F1/reviews"
    assert form_field_names(form) == ["supervisor", "finding", "reviewed_on"]
    assert form.one(name="finding").tag == "textarea"
    assert form.one(name="reviewed_on")["type"] == "date"
    assert form.by_id("record-review").tag == "button"
    assert root.by_id("report-json")["href"] == "/people/P%207%2F1/report.json"


def test_past_reviews_and_referrals_are_listed():
    root = dom(render.report(report_doc()))
    assert "Proportionate." in root.by_id("reviews").text
    assert root.by_id("referrals").one("a")["href"] == "/referrals/R-1"


# --- MAP pack ----------------------------------------------------------------------------------


def test_one_section_per_force():
    root = dom(render.map_pack(pack_doc()))
    forces = root.all("section", class_="force")
    assert [f["data-force"] for f in forces] == ["Hampshire", "Isle of Wight"]


def test_the_cohort_keeps_the_given_order_and_links_people():
    hampshire = dom(render.map_pack(pack_doc())).one("section", data_force="Hampshire")
    rows = hampshire.all("tr", class_="member")

    assert [r.one("a")["href"] for r in rows] == ["/people/P-1/report", "/people/P-2/report"]
    assert "not yet allocated" in rows[0].text and "PC C. Dale" in rows[1].text


def test_change_lists_show_items_or_none():
    root = dom(render.map_pack(pack_doc()))
    hampshire = root.one("section", data_force="Hampshire")

    reds = hampshire.one("section", data_change="new_reds")
    assert reds.one("a")["href"] == "/people/P-1/report" and "was AMBER" in reds.text
    hits = hampshire.one("section", data_change="hits")
    assert "hit-9" in hits.text and "44/1" in hits.text
    assert hampshire.one("section", data_change="breaches").one("li").text == "none"

    wight = root.one("section", data_force="Isle of Wight")
    changes = wight.all("section", class_="change")
    assert len(changes) == 7
    assert all([li.text for li in c.all("li")] == ["none"] for c in changes)


def test_the_pack_lists_referrals_waiting_with_their_sitting():
    doc = pack_doc()
    doc["forces"][0]["changes"]["referrals_waiting"] = [
        {"person_id": "P-7", "referral_id": "R-7", "urgent": True,
         "submitted_on": "2026-03-03", "sitting": "OUT_OF_CYCLE"},
        {"person_id": "P-8", "referral_id": "R-8", "urgent": False,
         "submitted_on": "2026-03-03", "sitting": "2026-04-07"}]
    hampshire = dom(render.map_pack(doc)).one("section", data_force="Hampshire")
    waiting = hampshire.one("section", data_change="referrals_waiting")
    urgent, routine = [li.text for li in waiting.all("li")]

    assert "P-7" in urgent and "out of cycle" in urgent
    assert "P-8" in routine and "2026-04-07" in routine


def test_a_pack_without_forces_says_so():
    root = dom(render.map_pack({"since": "a", "until": "b", "forces": []}))
    assert root.all(class_="force") == [] and "No forces" in root.one("main").text


# --- Agenda ------------------------------------------------------------------------------------


def test_each_item_has_a_decision_form_for_its_referral():
    root = dom(render.agenda(agenda_doc()))
    items = root.all("section", class_="item")

    assert [i["data-referral-id"] for i in items] == ["R-9", "R-1"]
    for item in items:
        form = item.one("form")
        assert form["method"] == "post" and form["action"] == "/panel/decisions"
        assert form.one("input", name="referral_id")["value"] == item["data-referral-id"]
        assert form.one("input", name="panel_date")["value"] == "2026-03-03"
        assert sorted(form_field_names(form)) == sorted(
            [
                "referral_id",
                "panel_date",
                "outcome",
                "cohort",
                "pathway",
                "lead_officer",
                "rationale",
                "chair",
                "agencies_present",
            ]
        )
        outcomes = [o["value"] for o in form.one("select", name="outcome").all("option")]
        assert outcomes == ["", "ACCEPTED", "REJECTED", "DEFERRED"]
        pathways = [o["value"] for o in form.one("select", name="pathway").all("option")]
        assert pathways[1:] == [
            "CATCH_AND_CONTROL",
            "REHABILITATE_AND_RESETTLE",
            "PREVENT_AND_DETER",
        ]
        assert form.one("button")["type"] == "submit"


def test_urgent_items_are_flagged():
    root = dom(render.agenda(agenda_doc()))
    urgent, routine = root.all("section", class_="item")

    assert "urgent" in urgent.classes and urgent.one(class_="urgent-flag").text == "URGENT"
    assert "urgent" not in routine.classes and routine.all(class_="urgent-flag") == []


def test_the_cohort_starts_at_the_proposed_one():
    form = dom(render.agenda(agenda_doc())).all("form")[0]
    chosen = [o["value"] for o in form.one(name="cohort").all("option") if "selected" in o.attrs]
    assert chosen == ["FLEX"]


def test_the_agenda_escapes_the_referrer_text():
    root = dom(render.agenda(agenda_doc()))
    assert root.all("script") == [] and root.all("b") == []
    assert "<script>" in root.all(class_="reason")[1].text


def test_on_a_panel_day_the_next_sitting_is_listed_beneath_without_decision_forms():
    doc = agenda_doc() | {"next_sitting": {"panel_date": "2026-04-07",
                                           "items": [agenda_item("R-5", False)]}}
    root = dom(render.agenda(doc))
    following = root.by_id("next-sitting")

    assert "2026-04-07" in following.by_id("next-sitting-title").text
    assert [i["data-referral-id"] for i in following.all("section", class_="item")] == ["R-5"]
    assert following.all("form") == [] and "2026-04-07" in following.one(class_="not-yet").text
    assert len(root.all("form")) == 2  # today's sitting keeps its forms
    ids = [e["id"] for e in root.all() if "id" in e.attrs]
    assert len(ids) == len(set(ids))


def test_an_empty_agenda_says_so():
    root = dom(render.agenda({"force": "Hampshire", "panel_date": "2026-03-03", "items": []}))
    assert root.all("form") == [] and "No referrals" in root.one("main").text


# --- Small pages -------------------------------------------------------------------------------


def test_not_found_names_what_was_missing():
    root = dom(render.not_found("referral <R-1>"))
    assert root.by_id("not-found").text == "No referral <R-1> was found."


def test_refused_gives_status_and_reason():
    root = dom(render.refused(409, "a referral is already open"))
    assert root.one("h1").text == "Conflict"
    assert root.by_id("status").text == "409"
    assert root.by_id("why").text == "a referral is already open"
    assert dom(render.refused(499, "x")).one("h1").text == "Refused"
