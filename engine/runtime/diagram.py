"""Graphviz renderings of processes: the definition (lanes as clusters, Chinese labels) and an
instance (current steps highlighted, finished ones shaded).

The layout is graphviz's, not the BPMN-DI one: it is for reading on a page, where a left-to-right
graph with one cluster per lane reads better than the modeler's canvas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import graphviz
from SpiffWorkflow.util.task import TaskState

from engine.catalog.in_force import catalog_version_id
from engine.catalog.service import post_name
from engine.graphviz_text import TextDigraph
from engine.runtime.bpmn_graph import EVENT_KINDS, GATEWAY_KINDS, Node, ProcessGraph, read_graph
from engine.runtime.definitions import get_definition, latest_definition
from engine.runtime.instances import load_workflow
from engine.runtime.workflow_tasks import all_tasks

FONT = "Noto Sans CJK SC"
ACTIVE, DONE, IDLE = "active", "done", "idle"

_GATEWAY_MARK = {"exclusiveGateway": "×", "parallelGateway": "+", "inclusiveGateway": "○", "eventBasedGateway": "◇"}
_EVENT_MARK = {"timer": "⏱", "message": "✉", "terminate": "●", "signal": "△", "escalation": "⇑", "error": "⚡"}
_TASK_MARK = {"scriptTask": "⚙ ", "callActivity": "⊞ ", "subProcess": "⊞ "}


@dataclass(frozen=True)
class Style:
    fill: str
    border: str
    pen: str
    font: str


_STYLES = {
    IDLE: Style(fill="white", border="#444444", pen="1.2", font="#222222"),
    ACTIVE: Style(fill="#ffd54f", border="#c62828", pen="3", font="#000000"),
    DONE: Style(fill="#dddddd", border="#888888", pen="1", font="#555555"),
}


def _label(node: Node) -> str:
    if node.kind in GATEWAY_KINDS:
        return _GATEWAY_MARK.get(node.kind, "◇")
    if node.kind in EVENT_KINDS:
        return next((_EVENT_MARK[m] for m in node.markers if m in _EVENT_MARK), "")
    marks = "（并行多实例）" if "multi" in node.markers else ("（顺序多实例）" if "sequential" in node.markers else "")
    return _TASK_MARK.get(node.kind, "") + node.name + marks


def _node_attrs(node: Node, state: str) -> dict[str, str]:
    style = _STYLES[state]
    attrs = {"label": _label(node), "style": "filled", "fillcolor": style.fill, "color": style.border,
             "penwidth": style.pen, "fontcolor": style.font, "fontname": FONT, "tooltip": f"{node.name} ({node.id})"}
    if node.kind in GATEWAY_KINDS:
        attrs.update(shape="diamond", width="0.5", height="0.5", fixedsize="true", fontsize="12")
        attrs["xlabel"] = node.name if node.name != node.id else ""
    elif node.kind in EVENT_KINDS:
        bold = node.kind == "endEvent"
        attrs.update(shape="doublecircle" if node.kind in ("intermediateCatchEvent", "boundaryEvent") else "circle",
                     width="0.35", height="0.35", fixedsize="true", fontsize="11",
                     penwidth="3" if bold and state == IDLE else attrs["penwidth"])
        attrs["xlabel"] = node.name if node.name != node.id else ""
        if "non_interrupting" in node.markers:
            attrs["style"] = "filled,dashed"
    else:
        # script steps run by the engine are drawn dashed: nobody works on them
        rounded = "filled,rounded,dashed" if node.kind == "scriptTask" else "filled,rounded"
        attrs.update(shape="box", style=rounded, fontsize="12", margin="0.15,0.08")
    return attrs


def build_graph(graph: ProcessGraph, states: dict[str, str] | None = None,
                lane_titles: dict[str, str] | None = None) -> graphviz.Digraph:
    """The graphviz graph of a process; `states` maps BPMN element ids to active/done;
    `lane_titles` names a lane for one instance (the post its variable resolved to)."""
    states = states or {}
    lane_titles = lane_titles or {}
    # Names, lanes and ids come from deployed BPMN files: every one is escaped as text (engine.graphviz_text).
    # graphviz titles the SVG (its <title>, the tooltip of the whole drawing) with the graph's name:
    # the process's name people know it by, not its id, which stays in the heading below for the
    # diagrams/ files developers read. graphviz writes a graph's name as it is, without reading
    # backslash escapes as it does in a label: the doubled backslash of the quoting would show
    # doubled, so a backslash is shown as the full-width ＼ (as in tooltips, engine.graphviz_text).
    dot = TextDigraph(name=(graph.name or graph.process_id).replace("\\", "＼"), format="svg")
    dot.attr(rankdir="LR", fontname=FONT, label=f"{graph.name}（{graph.process_id}）", labelloc="t",
             fontsize="18", nodesep="0.35", ranksep="0.45", newrank="true")
    dot.attr("node", fontname=FONT)
    dot.attr("edge", fontname=FONT, fontsize="10", color="#555555", arrowsize="0.7")
    lanes = {lane.id: lane for lane in graph.lanes}
    members: dict[str | None, list[Node]] = {}
    for node in graph.nodes.values():
        lane = graph.lane_of(node.id)
        members.setdefault(lane if lane in lanes else None, []).append(node)
    for lane_id, nodes in members.items():
        if lane_id is None:
            for node in nodes:
                dot.node(node.id, **_node_attrs(node, states.get(node.id, IDLE)))
            continue
        shown = lanes[lane_id]
        # People read a lane by its Chinese documentation (承办岗位, 效能办), never by the variable
        # or role code it resolves from ($handler_post, efficiency_office).
        title = lane_titles.get(lane_id) or shown.label
        with dot.subgraph(name=f"cluster_{lane_id}") as cluster:
            cluster.attr(label=title, style="rounded,filled", fillcolor="#f5f8fc", color="#9fb3c8",
                         fontname=FONT, fontsize="13", labeljust="l")
            for node in nodes:
                cluster.node(node.id, **_node_attrs(node, states.get(node.id, IDLE)))
    for node in graph.nodes.values():
        if node.attached_to:
            dot.edge(node.attached_to, node.id, style="dotted", arrowhead="none", color="#888888")
    for flow in graph.flows:
        attrs = {"label": flow.name} if flow.name else {}
        if flow.default:
            attrs["arrowtail"] = "odiamond"
            attrs["dir"] = "both"
        if states.get(flow.source) == DONE and states.get(flow.target) in (DONE, ACTIVE):
            attrs.update(color="#777777", penwidth="1.6")
        dot.edge(flow.source, flow.target, **attrs)
    return dot


def render_svg(graph: ProcessGraph, states: dict[str, str] | None = None,
               lane_titles: dict[str, str] | None = None) -> bytes:
    """SVG bytes of the process (with instance states when given)."""
    return build_graph(graph, states, lane_titles).pipe(format="svg")


def workflow_states(workflow) -> dict[str, str]:
    """BPMN element id → active (a step at work: ready or started) or done (completed), over the
    whole task tree including multi-instance children; an element both done and active shows
    active. A catch event that is only waiting (the red card of every open case, a request that
    may never come) has not happened and is not highlighted."""
    states: dict[str, str] = {}
    for task in all_tasks(workflow):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state in (TaskState.READY, TaskState.STARTED):
            states[bpmn_id] = ACTIVE
        elif task.state == TaskState.COMPLETED and states.get(bpmn_id) != ACTIVE:
            states[bpmn_id] = DONE
    return states


# ------------------------------------------------------------------ files and stored definitions
def render_file(path) -> tuple[str, bytes]:
    """(process id, SVG) of a BPMN file's process."""
    graph = read_graph(Path(path).read_bytes())
    return graph.process_id, render_svg(graph)


def render_directory(source, target) -> list:
    """Render every `*.bpmn` of `source` to `target/<process id>.svg`; the written paths."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(Path(source).glob("*.bpmn")):
        process_id, svg = render_file(path)
        out = target / f"{process_id}.svg"
        out.write_bytes(svg)
        written.append(out)
    return written


def definition_svg(session, process_id: str) -> bytes:
    """SVG of the newest deployed version of a process (NotFound when it is not deployed)."""
    definition = latest_definition(session, process_id)
    return render_svg(read_graph(definition.bpmn_xml.encode("utf-8"), definition.process_id))


def instance_svg(session, instance_id: int) -> bytes:
    """SVG of an instance's process version with its current steps highlighted and its lanes
    named by the posts they resolved to (承办岗位：低保审核岗)."""
    instance, workflow = load_workflow(session, instance_id)
    definition = get_definition(session, instance.definition_id)
    graph = read_graph(definition.bpmn_xml.encode("utf-8"), definition.process_id)
    return render_svg(graph, workflow_states(workflow), lane_titles(session, graph, workflow))


def lane_titles(session, graph: ProcessGraph, workflow) -> dict[str, str]:
    """`$variable` lanes named by the post the instance's data gives them, in the catalog in force."""
    version_id = catalog_version_id(session)
    data = workflow.data if isinstance(workflow.data, dict) else {}
    values: dict[str, str] = {}
    for task in all_tasks(workflow):  # lane variables are set by the first steps' scripts
        for key, value in (task.data or {}).items():
            if isinstance(value, str):
                values.setdefault(key, value)
    values.update({k: v for k, v in data.items() if isinstance(v, str)})
    titles: dict[str, str] = {}
    for lane in graph.lanes:
        if not lane.name.startswith("$") or version_id is None:
            continue
        code = values.get(lane.name[1:])
        name = post_name(session, version_id, code) if code else None
        if name:
            titles[lane.id] = f"{lane.label}：{name}"
    return titles
