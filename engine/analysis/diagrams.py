"""Diagrams rendered with graphviz as SVG, Chinese labels in Noto Sans CJK SC.

- the 三定 tree of a department: department -> units -> posts (holders, backup) -> duties;
- the overlap graph: departments as nodes, one labelled edge per overlap (dashed: suspected);
- the object taxonomy, each object annotated with the departments whose duties cover it.
"""

from __future__ import annotations

from collections import defaultdict

import graphviz

from engine.analysis.overlaps import canonical_action, duty_object
from engine.analysis.report import AnalysisReport
from engine.catalog.document import CatalogDocument
from engine.catalog.taxonomy import Taxonomy
from engine.errors import NotFound
from engine.graphviz_text import TextDigraph

FONT = "Noto Sans CJK SC"
_NODE = {"fontname": FONT, "fontsize": "11", "shape": "box", "style": "rounded,filled", "fillcolor": "white"}


def _graph(name: str, direction: str = "TB") -> graphviz.Digraph:
    # Every name and label is escaped as text (engine.graphviz_text): catalog names are untrusted.
    graph = TextDigraph(name, format="svg")
    graph.attr(rankdir=direction, fontname=FONT, charset="UTF-8")
    graph.attr("node", **_NODE)
    graph.attr("edge", fontname=FONT, fontsize="10")
    return graph


def render_svg(graph: graphviz.Digraph) -> str:
    return graph.pipe(format="svg", encoding="utf-8")


def sanding_graph(document: CatalogDocument, department_code: str) -> graphviz.Digraph:
    """三定 tree of one department: its units, their posts with holders, and the duties at each post."""
    department = document.department_by_code().get(department_code)
    if department is None:
        raise NotFound(f"部门 {department_code} 不存在", [f"department: '{department_code}' 不在清单中"])
    graph = _graph(f"sanding_{department.code}")
    quota = f"\n编制 {department.staffing_quota}" if department.staffing_quota is not None else ""
    graph.node(f"d__{department.code}", f"{department.name}{quota}", fillcolor="#dbe9f6")
    duties_at_post: dict[str, list[str]] = defaultdict(list)
    for duty in document.duties:
        if duty.department == department.code:
            for assignment in duty.posts:
                duties_at_post[assignment.post].append(f"{duty.name}（{assignment.role}角）")
    for unit in department.units:
        holders = {h.id for p in unit.posts for h in p.holders}
        quota = f"\n编制 {unit.staffing_quota}，在岗 {len(holders)}" if unit.staffing_quota is not None else ""
        graph.node(f"u__{unit.code}", f"{unit.name}{quota}", fillcolor="#eef5e9")
        graph.edge(f"d__{department.code}", f"u__{unit.code}")
        for post in unit.posts:
            people = "、".join(h.name for h in post.holders) or "（空缺）"
            backup = f"\nB角：{post.backup}" if post.backup else "\n（未设B角）"
            fill = "#fde2e1" if not post.holders else "white"
            graph.node(f"p__{post.code}", f"{post.name}\n{people}{backup}", fillcolor=fill)
            graph.edge(f"u__{unit.code}", f"p__{post.code}")
            duties = duties_at_post.get(post.code)
            if duties:
                graph.node(f"t__{post.code}", "\n".join(duties), shape="note", fillcolor="#fff8dc")
                graph.edge(f"p__{post.code}", f"t__{post.code}", style="dashed", arrowhead="none")
    return graph


def overlap_graph(document: CatalogDocument, report: AnalysisReport) -> graphviz.Digraph:
    """Departments linked by their overlaps (solid, red) and suspected overlaps (dashed, orange)."""
    names = {d.code: d.name for d in document.departments}
    graph = _graph("overlaps", direction="LR")
    graph.attr("edge", dir="none")
    involved = sorted(
        {code for o in report.overlaps for code in o.departments}
        | {code for s in report.suspected_overlaps for code in s.departments}
    )
    for code in involved:
        graph.node(code, names.get(code, code), fillcolor="#dbe9f6")
    for overlap in report.overlaps:
        first, second = overlap.departments[0], overlap.departments[-1]
        label = f"{overlap.object} {overlap.action}\n{'、'.join(overlap.duties)}"
        graph.edge(first, second, label=label, color="#c0392b", fontcolor="#c0392b", penwidth="2")
    for suspected in report.suspected_overlaps:
        first, second = suspected.departments[0], suspected.departments[-1]
        label = f"疑似 {suspected.score:.2f}\n{'、'.join(suspected.duties)}"
        graph.edge(first, second, label=label, style="dashed", color="#e67e22", fontcolor="#e67e22")
    if not involved:
        graph.node("none", "未发现职责交叉", shape="plaintext", style="")
    return graph


DUTY_ROLE_LABELS = {"lead": "（牵头）", "partner": "（配合）", "sole": ""}


def taxonomy_graph(document: CatalogDocument, report: AnalysisReport | None = None) -> graphviz.Digraph:
    """The object taxonomy; each object lists the departments (and actions) whose duties name it.

    Objects where the report found an overlap are drawn red, other covered objects green.
    """
    taxonomy = Taxonomy(document.objects)
    names = {d.code: d.name for d in document.departments}
    covers: dict[str, set[str]] = defaultdict(set)
    for duty in document.duties:
        obj = duty_object(duty, taxonomy)
        if obj is not None and obj in taxonomy:
            action = canonical_action(duty.action, document.action_synonyms) or ""
            department = names.get(duty.department, duty.department)
            covers[obj].add(f"{department}{DUTY_ROLE_LABELS[duty.role.value]} {action}".strip())
    contested = {o.object for o in report.overlaps} if report else set()
    graph = _graph("taxonomy")
    for item in document.objects:
        aliases = f"\n（又称 {'、'.join(item.aliases)}）" if item.aliases else ""
        departments = covers.get(item.name)
        fill = "#fde2e1" if item.name in contested else ("#eef5e9" if departments else "white")
        listing = ("\n" + "\n".join(sorted(departments))) if departments else ""
        graph.node(f"o__{item.name}", f"{item.name}{aliases}{listing}", fillcolor=fill)
        if item.parent:
            graph.edge(f"o__{item.parent}", f"o__{item.name}")
    return graph
