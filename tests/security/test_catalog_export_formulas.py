"""Formula injection through the catalog's xlsx export (GET /api/export?format=xlsx, the exports on
/legal): a duty's free text — 收费, 问责情形 — comes from the departments' drafts. Text
starting with "=" is already written as text, never as a formula; text starting with "+", "-" or
"@" is written as text too but not marked quote-prefixed, so Excel turns it into a formula as soon
as someone edits the cell (F2, Enter): `@SUM(1,2)` becomes 3, `-2+3` becomes 1, and a crafted
`+HYPERLINK(…)` a live link. Every such cell must be quote-prefixed.

Every text cell of the export goes through `engine.xlsx_cells.keep_text`, as the evaluation's
export does.
"""

from __future__ import annotations

from io import BytesIO

import pytest
import yaml
from openpyxl import load_workbook

from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.config import PROJECT_ROOT
from tests.auth_helpers import bearer_headers

DEMO = PROJECT_ROOT / "examples" / "demo-catalog.yaml"
HOSTILE = ["@SUM(1,2)", "-2+3"]


@pytest.fixture
def exported(client, database, clock, settings, tmp_path):
    document = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    duty = next(d for d in document["duties"] if d["code"] == "MZ-GF-001")
    duty["accountability"] = HOSTILE[:1]
    duty["fee"] = HOSTILE[1]
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(path), "test", clock.now())
        catalog.publish_version(session, version.id, "test", clock.now())
        version_id = version.id
    headers = bearer_headers(database, clock, settings, "fzb", ["legal_office"])
    response = client.get(f"/api/export?version={version_id}&format=xlsx", headers=headers)
    assert response.status_code == 200, response.text
    return load_workbook(BytesIO(response.content))


def formula_like(workbook) -> list[tuple[str, str, bool, str]]:
    return [(sheet.title, cell.value, cell.quotePrefix, cell.data_type)
            for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
            if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@"))]


def test_no_catalog_cell_is_a_formula(exported):
    assert [c for c in formula_like(exported) if c[3] == "f"] == []


def test_catalog_text_starting_like_a_formula_is_quote_prefixed(exported):
    found = formula_like(exported)
    assert {value for _sheet, value, _q, _t in found} >= set(HOSTILE)
    assert all(quoted for _sheet, _value, quoted, _type in found), found
