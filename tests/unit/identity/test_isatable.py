"""The data protection document's who-may-see-what table is the code's (isa.py)."""

from __future__ import annotations

from iomkit.identity import isatable
from iomkit.identity.isa import ROLES
from iomkit.settings import ROOT


def test_the_documents_table_is_the_codes():
    document = (ROOT / "docs" / "data-protection.md").read_text()
    assert isatable.START in document and isatable.END in document
    assert isatable.with_table(document) == document, \
        "stale: run python -m iomkit.identity.isatable --write"


def test_the_table_has_a_row_a_role_and_says_who_is_told_where_people_were():
    rows = {line.split("|")[1].strip(" `"): line for line in
            isatable.markdown_table().splitlines()[2:]}
    assert list(rows) == list(ROLES)
    assert rows["POLICE"].rstrip(" |").endswith("device_id, distance_m, fixes")
    assert rows["PARTNER_HOUSING"].rstrip(" |").endswith("never")
    assert "| nothing | never |" in rows["DATA_PROTECTION"]


def test_a_stale_table_is_replaced_whole():
    stale = f"before\n{isatable.START}\n| old |\n{isatable.END}\nafter\n"
    fresh = isatable.with_table(stale)
    assert "| old |" not in fresh and fresh.startswith("before\n") and fresh.endswith("after\n")
    assert isatable.markdown_table() in fresh
