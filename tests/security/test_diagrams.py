"""Issue 10, finding 5: names from catalogs and BPMN files are text in every diagram, never markup.

A department named as a graphviz HTML-like label with a `javascript:` link, or as a script tag,
goes through import → publish → analysis into /dashboard and /api/diagrams/*.svg; each test fails
if the SVG carries a link, an element or an attribute from a name, if the name is not drawn as
the literal text typed, or if the page answers 500.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from engine.runtime.bpmn_graph import read_graph
from engine.runtime.diagram import render_svg
from tests.auth_helpers import bearer_headers
from tests.browser_helpers import DEMO_CATALOG

HTML_LABEL = '<<TABLE><TR><TD HREF="javascript:alert(document.domain)">市煤炭局</TD></TR></TABLE>>'
SCRIPT = "<script>alert(1)</script>"
# graphviz's own escapes (\N node name, \G graph name, \l left-justified line end), a quote and
# an entity: all must be drawn as typed.
ESCAPES = '社会救助科\\N\\G\\l"引号" &lt;b&gt;'
SVG_NS = "{http://www.w3.org/2000/svg}"
BPMN = Path(__file__).resolve().parents[1] / "bpmn" / "accept_review_decide.bpmn"


def hostile_catalog() -> bytes:
    """The demo catalog with 市煤炭局 (MT) and 市安全生产监督管理局 (AJ) renamed: their 石膏矿
    overlap puts both names on the overlap graph; a unit of 市民政局 carries graphviz escapes."""
    data = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    for department in data["departments"]:
        if department["code"] == "MT":
            department["name"] = HTML_LABEL
        if department["code"] == "AJ":
            department["name"] = SCRIPT
        if department["code"] == "MZ":
            department["units"][0]["name"] = ESCAPES
    data["catalog"]["version"] = "2026.9"
    return yaml.safe_dump(data, allow_unicode=True).encode("utf-8")


def assert_inert(svg: str) -> list[str]:
    """The SVG parses as XML, has no link, script, foreign object or event attribute; its texts."""
    root = ET.fromstring(svg)
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        assert tag not in ("script", "foreignObject", "iframe"), tag
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1]
            assert local != "href", f"a link in the diagram: {value}"
            assert not local.lower().startswith("on"), f"an event handler in the diagram: {name}"
            assert "javascript:" not in value or local == "title", f"javascript: in {name}"
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


@pytest.fixture
def published(client, database, clock, settings) -> dict[str, dict[str, str]]:
    legal = bearer_headers(database, clock, settings, "fzb", ["legal_office"])
    coordinator = bearer_headers(database, clock, settings, "bb", ["establishment_office"])
    imported = client.post("/api/import", headers=legal, files={"file": ("hostile.yaml", hostile_catalog())})
    assert imported.status_code == 201, imported.text
    version_id = imported.json()["version"]["id"]
    assert client.post(f"/api/versions/{version_id}/publish", headers=legal).status_code == 200
    analysed = client.post("/api/analysis/run", headers=coordinator)
    assert analysed.status_code == 200, analysed.text
    return {"legal": legal, "coordinator": coordinator}


def test_hostile_department_names_are_text_on_the_dashboard(client, published):
    page = client.get("/dashboard", headers=published["coordinator"])
    assert page.status_code == 200
    graph = re.search(r'<div class="diagram" id="overlap-graph">(.*?)</div>', page.text, re.S)
    assert graph is not None
    texts = assert_inert(graph.group(1))
    assert HTML_LABEL in texts and SCRIPT in texts  # drawn as the literal names
    assert SCRIPT not in page.text and "<TD HREF" not in page.text  # nowhere as markup
    assert 'href="javascript:' not in page.text.lower()


@pytest.mark.parametrize("path", ["/api/diagrams/overlaps.svg", "/api/diagrams/taxonomy.svg",
                                  "/api/diagrams/sanding/MT.svg", "/api/diagrams/sanding/AJ.svg",
                                  "/api/diagrams/sanding/MZ.svg"])
def test_hostile_names_are_text_in_the_svg_diagrams(client, published, path):
    response = client.get(path, headers=published["coordinator"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    texts = assert_inert(response.text)
    joined = "\n".join(texts)
    if path.endswith("MZ.svg"):
        assert ESCAPES in texts  # \N, \G, \l, the quote and the entity as typed
    else:
        assert HTML_LABEL in joined or SCRIPT in joined
    assert "<TD HREF" not in response.text and SCRIPT not in response.text


def _hostile_bpmn() -> bytes:
    xml = BPMN.read_text(encoding="utf-8")
    xml = xml.replace('name="受理审查决定（测试）"', f'name="{_attr(SCRIPT)}"')
    xml = xml.replace('<bpmn:userTask id="accept" name="受理">', f'<bpmn:userTask id="accept" name="{_attr(HTML_LABEL)}">')
    xml = xml.replace('<bpmn:userTask id="review" name="审查">', f'<bpmn:userTask id="review" name="{_attr(ESCAPES)}">')
    return xml.encode("utf-8")


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def test_hostile_task_and_process_names_are_text_in_process_diagrams():
    graph = read_graph(_hostile_bpmn())
    assert graph.nodes["accept"].name == HTML_LABEL
    texts = assert_inert(render_svg(graph).decode("utf-8"))
    assert HTML_LABEL in texts and ESCAPES in texts
    assert f"{SCRIPT}（accept_review_decide）" in texts  # the process name in the title


def test_a_deployed_hostile_process_diagram_is_served_inert(client, database, clock, settings):
    admin = bearer_headers(database, clock, settings, "root", ["admin"])
    deployed = client.post("/api/definitions", headers=admin, files={"file": ("hostile.bpmn", _hostile_bpmn())})
    assert deployed.status_code == 201, deployed.text
    response = client.get("/api/definitions/accept_review_decide/diagram.svg", headers=admin)
    assert response.status_code == 200
    texts = assert_inert(response.text)
    assert HTML_LABEL in texts and ESCAPES in texts
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none'
    assert "sandbox" in response.headers["content-security-policy"]
