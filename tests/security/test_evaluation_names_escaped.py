"""Names from the catalog are shown, never run, on the 绩效考评 pages and their SVG charts.

The catalog is the legal office's file; a unit or person named `<svg onload=…>` or `"><script>`
must reach the efficiency office's year page (tables, the entry forms, the bar and trend charts'
labels and titles), a unit head's page and the years list as text. The pages' CSP forbids inline
script too; this checks the first line (escaping) on its own. Both backends.
"""

from __future__ import annotations

import pytest
import yaml

from engine.auth.demo import ensure_demo_users
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from tests.browser_helpers import DEMO_CATALOG, sign_in
from tests.evaluation_helpers import create_year

UNIT = '社会救助科"><svg onload=alert(1)>'
PERSON = "陈静<script>alert(2)</script>"
HEAD = "王芳</title><img src=x onerror=alert(3)>"


@pytest.fixture
def year_id(client, database, clock, tmp_path) -> int:
    document = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    for department in document["departments"]:
        for unit in department.get("units", []):
            if unit["code"] == "MZ-SHJZ":
                unit["name"] = UNIT
            for post in unit.get("posts", []):
                for holder in post.get("holders", []):
                    holder["name"] = {"S003": PERSON, "S001": HEAD}.get(holder["id"], holder["name"])
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(path), "test", clock.now())
        catalog.publish_version(session, version.id, "test", clock.now())
        ensure_demo_users(session, clock.now())
    return create_year(database, clock)[0]


def assert_escaped(html: str) -> None:
    for raw in (UNIT, PERSON, HEAD, "<svg onload", "<script>alert", "<img src=x"):
        assert raw not in html, raw
    assert "&lt;svg onload=alert(1)&gt;" in html or "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_the_offices_pages_show_hostile_names_as_text(client, year_id):
    sign_in(client, "s090")
    for path in (f"/evaluation/{year_id}", f"/evaluation/{year_id}/units/MZ-SHJZ", "/evaluation"):
        page = client.get(path)
        assert page.status_code == 200, path
        if path != "/evaluation":
            assert_escaped(page.text)


def test_a_unit_heads_page_shows_hostile_names_as_text(client, year_id):
    sign_in(client, "s001")  # the head of 办公室, named HEAD
    page = client.get(f"/evaluation/{year_id}/units/MZ-BGS")
    assert page.status_code == 200
    assert HEAD not in page.text and "&lt;/title&gt;&lt;img src=x onerror=alert(3)&gt;" in page.text
