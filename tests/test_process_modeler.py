"""Issue 4: every process file opens in bpmn.io (bpmn-js, the engine of Camunda Modeler) with its diagram.

Each `processes/*.bpmn` is imported by the real bpmn-js modeler in headless Chromium:
the import must succeed without warnings (bpmn-moddle warns about unknown attributes, broken
references and DI pointing at nothing), every lane, flow node and sequence flow must be drawn as a
shape or connection, and the spiffworkflow extension elements must survive an import/export
round trip (a modeler that dropped them would break the engine's forms and scripts on save).

bpmn-js comes from npm into the git-ignored `var/bpmnio/` (`bash scripts/dev.sh test` installs it);
a missing install or Chromium fails the test rather than skipping it, so CI cannot pass silently.
Screenshots go to artifacts/screenshots/bpmnio-<process id>.png (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from defusedxml import ElementTree

from engine.config import PROJECT_ROOT
from tests.browser_helpers import SCREENSHOTS, launch_chromium

# One process runs the module (pytest-xdist): Chromium with bpmn-js is loaded once.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("process_modeler")]

BPMNIO = PROJECT_ROOT / "var" / "bpmnio" / "node_modules" / "bpmn-js"
MODELER_JS = BPMNIO / "dist" / "bpmn-modeler.production.min.js"
STYLESHEETS = ("diagram-js.css", "bpmn-js.css", "bpmn-font/css/bpmn.css")
PROCESS_FILES = sorted((PROJECT_ROOT / "processes").glob("*.bpmn"))

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
# What a modeler must draw: lanes, sequence flows and flow nodes (tasks, events, gateways, sub-processes).
DRAWN_KINDS = {"lane", "sequenceFlow", "task", "subProcess", "callActivity", "transaction"}
DRAWN_SUFFIXES = ("Task", "Event", "Gateway")

# Runs in the page: import into a fresh modeler, report what bpmn-js made of the file.
IMPORT_SCRIPT = """
async (xml) => {
  document.querySelector('#canvas').innerHTML = '';
  const modeler = new BpmnJS({ container: '#canvas' });
  let warnings;
  try {
    ({ warnings } = await modeler.importXML(xml));
  } catch (err) {
    return { error: String(err && err.message || err),
             warnings: (err.warnings || []).map(w => String(w.message)) };
  }
  const canvas = modeler.get('canvas');
  canvas.zoom('fit-viewport');
  const registry = modeler.get('elementRegistry');
  const drawn = registry.getAll()
    .filter(e => e !== canvas.getRootElement())
    .map(e => ({
      id: e.id,
      type: e.type,
      connection: Array.isArray(e.waypoints),
      points: (e.waypoints || []).length,
      width: e.width || 0,
      height: e.height || 0,
      gfx: !!registry.getGraphics(e) && registry.getGraphics(e).getBBox().width > 0,
    }));
  const box = document.querySelector('#canvas .djs-container svg .viewport').getBBox();
  const { xml: exported } = await modeler.saveXML({ format: true });
  const extensions = [];
  for (const root of modeler.getDefinitions().rootElements) {
    for (const element of (root.flowElements || [])) {
      for (const value of ((element.extensionElements || {}).values || [])) {
        extensions.push(element.id + ' ' + value.$type);
      }
    }
  }
  window.modeler = modeler;
  return { warnings: warnings.map(w => String(w.message)), drawn, extensions, exported,
           canvas: { width: box.width, height: box.height } };
}
"""


def expected_elements(xml: bytes) -> dict[str, str]:
    """Every lane, flow node and sequence flow of the file's process(es): id → BPMN element name."""
    root = ElementTree.fromstring(xml)
    expected: dict[str, str] = {}
    for process in root.iter(f"{BPMN}process"):
        for element in process.iter():
            if element is process or not element.tag.startswith(BPMN):
                continue
            name = element.tag.removeprefix(BPMN)
            if element.get("id") and (name in DRAWN_KINDS or name.endswith(DRAWN_SUFFIXES)):
                expected[element.get("id")] = name
    return expected


def spiff_extensions(xml: bytes) -> list[str]:
    """'<flow element id> spiffworkflow:<name>' for each extension element, as bpmn-moddle reports them."""
    root = ElementTree.fromstring(xml)
    found = []
    for process in root.iter(f"{BPMN}process"):
        for element in process.iter():
            container = element.find(f"{BPMN}extensionElements")
            if container is None:
                continue
            for value in container:
                if value.tag.startswith(SPIFF):
                    found.append(f"{element.get('id')} spiffworkflow:{value.tag.removeprefix(SPIFF)}")
    return found


@pytest.fixture(scope="module")
def modeler_page():
    """A blank page in headless Chromium with bpmn-js's modeler and its stylesheets loaded."""
    if not MODELER_JS.exists():
        pytest.fail(f"{MODELER_JS} 不存在：需要先安装 bpmn-js"
                    "（npm install --prefix var/bpmnio bpmn-js@18，或运行 bash scripts/dev.sh test）",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1800, "height": 1000})
        page.set_content('<!doctype html><html><body style="margin:0">'
                         '<div id="canvas" style="width:1800px;height:1000px"></div></body></html>')
        for stylesheet in STYLESHEETS:
            page.add_style_tag(path=str(BPMNIO / "dist" / "assets" / stylesheet))
        # The editing palette would cover the pool's title and the lane names in the screenshots.
        page.add_style_tag(content=".djs-palette { display: none; }")
        page.add_script_tag(path=str(MODELER_JS))
        assert page.evaluate("typeof BpmnJS") == "function", "bpmn-js 未能在页面中加载"
        yield page
        browser.close()


def test_every_process_file_is_checked():
    assert [p.stem for p in PROCESS_FILES] == [
        "accountability", "catalog_publication", "duty_dispute", "efficiency_complaint", "evaluation_admonition", "evaluation_quarterly_report",
        "evaluation_survey", "first_inquiry", "self_inspection_campaign", "time_limited_case"]


@pytest.mark.parametrize("path", PROCESS_FILES, ids=lambda p: p.stem)
def test_process_opens_in_bpmn_io_with_its_diagram(modeler_page, path: Path):
    xml = path.read_bytes()
    result = modeler_page.evaluate(IMPORT_SCRIPT, xml.decode("utf-8"))

    assert "error" not in result, f"{path.name}: bpmn-js 导入失败：{result.get('error')} {result.get('warnings')}"
    assert result["warnings"] == [], f"{path.name}: bpmn-js 导入警告：{result['warnings']}"

    drawn = {element["id"]: element for element in result["drawn"]}
    expected = expected_elements(xml)
    missing = sorted(f"{kind} {element_id}" for element_id, kind in expected.items() if element_id not in drawn)
    assert not missing, f"{path.name}: 模型中没有图形的元素（缺 BPMN-DI）：{missing}"
    for element_id, kind in expected.items():
        element = drawn[element_id]
        assert element["gfx"], f"{path.name}: {kind} {element_id} 没有绘制出来"
        if kind == "sequenceFlow":
            assert element["connection"] and element["points"] >= 2, f"{path.name}: 连线 {element_id} 没有路径点"
        else:
            assert not element["connection"] and element["width"] > 0 and element["height"] > 0, \
                f"{path.name}: {kind} {element_id} 没有形状"
    # The pool the lanes sit in is drawn too, and the canvas holds a real diagram.
    assert any(element["type"] == "bpmn:Participant" for element in result["drawn"])
    # (a one-lane process such as the survey is one band high, ~160 px)
    assert result["canvas"]["width"] > 500 and result["canvas"]["height"] > 120, result["canvas"]

    # bpmn-moddle keeps spiffworkflow's extension elements (an unknown namespace, read generically)
    # and writes them back out, so editing a file in the modeler does not lose forms or scripts.
    extensions = spiff_extensions(xml)
    assert sorted(result["extensions"]) == sorted(extensions)
    exported = result["exported"]
    for name in ("properties", "property", "preScript", "postScript"):
        assert exported.count(f"<spiffworkflow:{name}") == xml.decode("utf-8").count(f"<spiffworkflow:{name}"), name

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    modeler_page.locator("#canvas").screenshot(path=str(SCREENSHOTS / f"bpmnio-{path.stem}.png"))
