"""Formula injection through the 绩效考评 workbook (GET /api/evaluation/years/{id}/export.xlsx).

The workbook carries text people typed: the indicator tree's names (the efficiency office edits the
tree while the year is a draft; the first-level names are column headers), the catalog's unit and
staff names (the legal office's file), the reasons of a downgrade. A cell that starts with "=",
"+", "-" or "@" is read by a spreadsheet as a formula — `=HYPERLINK("https://evil.example", "详情")`
becomes a link that sends whoever clicks it away, and `-2+3` evaluates on the next edit. Before,
only "=" was handled and only in the data rows: a first-level indicator named `=HYPERLINK(…)` went
into the header row as a live formula, and "+", "-", "@" were left as editable formulas-to-be.

Every text cell starting like a formula must be stored as text (never as a formula) and marked
quote-prefixed (Excel then keeps it text on edit). Both backends.
"""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests import evaluation_helpers
from tests.auth_helpers import bearer_headers
from tests.browser_helpers import load_demo

HOSTILE = {
    "MGMT": '=HYPERLINK("https://evil.example","详情")',  # first level: a column header and a tree row
    "MGMT.LAW": "+1+2",
    "MGMT.INTEGRITY": "-2+3",
    "INNOV.IMPROVE": "@SUM(1,2)",
    "SATIS.STAFF": "\t=1+1",
}


def renamed(tree: list[dict]) -> list[dict]:
    for node in tree:
        node["name"] = HOSTILE.get(node["code"], node["name"])
        renamed(node["children"])
    return tree


@pytest.fixture
def workbook(client, database, clock, settings, monkeypatch):
    load_demo(database, clock)
    plain = evaluation_helpers.routine_subjective
    monkeypatch.setattr(evaluation_helpers, "routine_subjective", lambda tree: renamed(plain(tree)))
    year_id, _case = evaluation_helpers.create_year(database, clock)
    office = bearer_headers(database, clock, settings, "xnb", ["efficiency_office"])
    response = client.get(f"/api/evaluation/years/{year_id}/export.xlsx", headers=office)
    assert response.status_code == 200, response.text
    return load_workbook(BytesIO(response.content))


def test_no_cell_of_the_workbook_is_a_formula(workbook):
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert [(cell.coordinate, cell.value) for cell in cells if cell.data_type == "f"] == []


def test_text_starting_like_a_formula_is_kept_as_quoted_text(workbook):
    found = {}
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@", "\t")):
                    found.setdefault(cell.value, []).append((sheet.title, cell.quotePrefix, cell.data_type))
    # The header of 单位考评结果 and the 指标 sheet's rows (path names: first level alone, leaves
    # after " · ", so only the first-level name and nothing else starts with "=" there).
    header = workbook["单位考评结果"][1]
    assert HOSTILE["MGMT"] in [cell.value for cell in header]
    assert HOSTILE["MGMT"] in found
    for value, places in found.items():
        assert all(quoted and kind == "s" for _sheet, quoted, kind in places), (value, places)
