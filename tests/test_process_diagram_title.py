"""A process diagram is titled by the process's name (issue 13): graphviz writes the graph's name
as the SVG's <title> — the tooltip of the whole drawing, what a screen reader may announce — so the
name is the process's Chinese name, never its id, and it is text: a name full of markup and
escapes comes out as typed (a backslash as the full-width ＼, see engine.runtime.diagram). The
pages inline the diagram as it is rendered; only the id in the heading is left out there."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from engine.runtime.bpmn_graph import read_graph
from engine.runtime.diagram import render_svg
from tests.browser_helpers import load_demo, sign_in
from tests.security.test_diagrams import BPMN, _attr, assert_inert
from tests.test_pages_people_and_names import start

SVG = "{http://www.w3.org/2000/svg}"


def graph_title(svg: str) -> str | None:
    """The text of the drawing's own <title> (the first child of the outermost group)."""
    return ET.fromstring(svg).find(f"{SVG}g/{SVG}title").text


def named(name: str) -> str:
    xml = BPMN.read_text(encoding="utf-8").replace('name="受理审查决定（测试）"', f'name="{_attr(name)}"')
    return render_svg(read_graph(xml.encode("utf-8"))).decode("utf-8")


def test_the_svg_title_is_the_process_name_not_its_id():
    svg = render_svg(read_graph(BPMN.read_bytes())).decode("utf-8")
    assert graph_title(svg) == "受理审查决定（测试）"
    assert "<title>accept_review_decide</title>" not in svg and "Title: accept_review_decide" not in svg
    # The id stays in the drawn heading, for the diagrams/ files developers read.
    assert "受理审查决定（测试）（accept_review_decide）" in assert_inert(svg)


def test_a_hostile_process_name_is_text_in_the_title():
    # Markup, a comment end (graphviz also writes the title into an XML comment), quotes, an
    # entity and an ampersand: the title reads exactly as typed and adds no element or attribute.
    name = '限时--><script>alert(1)</script><!-- "引号" &amp; & <b onload="x">'
    svg = named(name)
    assert graph_title(svg) == name
    assert_inert(svg)
    assert "<script" not in svg and "<b " not in svg
    assert svg.count("-->") == svg.count("<!--")  # no comment closed early by the name


def test_a_backslash_in_the_name_is_shown_full_width():
    svg = named("受理\\N审查\\G")
    assert graph_title(svg) == "受理＼N审查＼G"  # never graphviz's \N (node name) or \G (graph name)
    assert "受理\\N审查\\G（accept_review_decide）" in assert_inert(svg)  # the heading, a label, as typed


def test_the_case_page_inlines_the_diagram_titled_by_the_name(client, database, clock):
    load_demo(database, clock)
    case_id, task_id = start(database, clock, {"duty_code": "MZ-GF-001", "applicant": "张三"})
    sign_in(client, "s003")
    for path in (f"/cases/{case_id}", f"/tasks/{task_id}"):
        page = client.get(path).text
        diagram = re.search(r'id="process-diagram".*?(<svg.*?</svg>)', page, re.S)
        assert diagram is not None, path
        assert graph_title(diagram.group(1)) == "限时办结"
        assert "time_limited_case" not in page
