"""Writes the BPMN-DI section (shapes and edges with coordinates) of a BPMN file.

The process files in `processes/` are written as semantic BPMN; this module computes a readable
left-to-right layout (lanes as horizontal bands inside one pool, nodes placed by their longest
distance from the start, back edges routed below) so the files open with a diagram in bpmn.io /
Camunda Modeler. `dutyflow processes layout` runs it; a modeler may move things afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

import networkx as nx

from engine.runtime.bpmn_graph import EVENT_KINDS, GATEWAY_KINDS, ProcessGraph, read_graph

POOL_X, POOL_Y = 100, 60
LANE_HEADER = 30  # the pool's title band on the left
COLUMN = 170
ROW = 120
LANE_PAD = 20
SIZES = {"event": (36, 36), "gateway": (50, 50), "task": (110, 80)}
_DI_SECTION = re.compile(r"\s*<bpmndi:BPMNDiagram\b.*?</bpmndi:BPMNDiagram>", re.DOTALL)


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def _size(kind: str) -> tuple[int, int]:
    if kind in EVENT_KINDS:
        return SIZES["event"]
    if kind in GATEWAY_KINDS:
        return SIZES["gateway"]
    return SIZES["task"]


def _ranks(graph: ProcessGraph) -> dict[str, int]:
    """Column of each node: the longest path from a start, ignoring back edges (loops)."""
    digraph = nx.DiGraph()
    digraph.add_nodes_from(n for n, node in graph.nodes.items() if not node.attached_to)
    for flow in graph.flows:
        source = graph.nodes[flow.source].attached_to or flow.source
        digraph.add_edge(source, flow.target)
    starts = [n for n, node in graph.nodes.items() if node.kind == "startEvent"] or list(digraph.nodes)[:1]
    back_edges = set()
    for start in starts:
        for u, v, direction in nx.dfs_labeled_edges(digraph, start):
            if direction == "nontree" and v in nx.ancestors(digraph, u) | {u}:
                if nx.has_path(digraph, v, u):
                    back_edges.add((u, v))
    dag = digraph.copy()
    dag.remove_edges_from(back_edges)
    while not nx.is_directed_acyclic_graph(dag):  # loops not reachable from a start
        dag.remove_edge(*nx.find_cycle(dag)[-1][:2])
    rank: dict[str, int] = {}
    for node in nx.topological_sort(dag):
        preds = list(dag.predecessors(node))
        rank[node] = max((rank[p] + 1 for p in preds), default=0)
    return rank


def layout(graph: ProcessGraph) -> dict[str, Box]:
    """Boxes for the pool ("__pool__"), every lane and every node."""
    rank = _ranks(graph)
    lane_ids: list[str | None] = [lane.id for lane in graph.lanes] or [None]
    cells: dict[tuple[str | None, int], list[str]] = {}
    for node_id in rank:
        lane = graph.lane_of(node_id) if graph.lanes else None
        cells.setdefault((lane, rank[node_id]), []).append(node_id)
    boxes: dict[str, Box] = {}
    lane_top = POOL_Y
    width = (max(rank.values(), default=0) + 1) * COLUMN + 2 * LANE_PAD
    for lane in lane_ids:
        rows = max((len(ids) for (ln, _), ids in cells.items() if ln == lane), default=1)
        height = rows * ROW + 2 * LANE_PAD
        for (ln, column), ids in cells.items():
            if ln != lane:
                continue
            for row, node_id in enumerate(ids):
                w, h = _size(graph.nodes[node_id].kind)
                cx = POOL_X + LANE_HEADER + LANE_PAD + column * COLUMN + COLUMN / 2
                cy = lane_top + LANE_PAD + row * ROW + ROW / 2
                boxes[node_id] = Box(cx - w / 2, cy - h / 2, w, h)
        if lane is not None:
            boxes[lane] = Box(POOL_X + LANE_HEADER, lane_top, width, height)
        lane_top += height
    boxes["__pool__"] = Box(POOL_X, POOL_Y, width + LANE_HEADER, lane_top - POOL_Y)
    _place_boundary_events(graph, boxes)
    return boxes


def _place_boundary_events(graph: ProcessGraph, boxes: dict[str, Box]) -> None:
    per_host: dict[str, int] = {}
    for node in graph.nodes.values():
        if node.attached_to and node.attached_to in boxes:
            host = boxes[node.attached_to]
            index = per_host.get(node.attached_to, 0)
            per_host[node.attached_to] = index + 1
            boxes[node.id] = Box(host.x + host.w - 28 - index * 40, host.y + host.h - 18, 36, 36)


def _waypoints(source: Box, target: Box, from_boundary: bool, bottom: float) -> list[tuple[float, float]]:
    if from_boundary:
        start = (source.cx, source.y + source.h)
        if target.x > source.cx:
            return [start, (source.cx, target.cy), (target.x, target.cy)]
        return [start, (source.cx, bottom), (target.cx, bottom), (target.cx, target.y + target.h)]
    if target.x > source.x + source.w:  # forward: right side to left side, one vertical jog
        start, end = (source.x + source.w, source.cy), (target.x, target.cy)
        if abs(start[1] - end[1]) < 1:
            return [start, end]
        mid = target.x - 25
        return [start, (mid, start[1]), (mid, end[1]), end]
    start = (source.cx, source.y + source.h)
    if target.y > source.y + source.h:  # backward into a lower lane: come down into its top
        channel = target.y - 20
        return [start, (start[0], channel), (target.cx, channel), (target.cx, target.y)]
    # backward (a loop): leave at the bottom, run below the lane, come up into the target
    end = (target.cx, target.y + target.h)
    return [start, (start[0], bottom), (end[0], bottom), end]


def _lane_bottom(graph: ProcessGraph, boxes: dict[str, Box], node_id: str) -> float:
    lane = graph.lane_of(node_id)
    box = boxes.get(lane, boxes["__pool__"]) if lane else boxes["__pool__"]
    return box.y + box.h - 8


def di_xml(graph: ProcessGraph, participant_id: str | None = None, collaboration_id: str | None = None) -> str:
    """The `<bpmndi:BPMNDiagram>` element for the graph, as text (the plane shows the collaboration
    when the process sits in a pool, else the process itself)."""
    boxes = layout(graph)
    plane_element = _attr(collaboration_id if participant_id and collaboration_id else graph.process_id)
    process_id = _attr(graph.process_id)
    lines = [f'  <bpmndi:BPMNDiagram id="{process_id}_diagram">',
             f'    <bpmndi:BPMNPlane id="{process_id}_plane" bpmnElement="{plane_element}">']
    if participant_id:
        lines.append(_shape(participant_id, boxes["__pool__"], ' isHorizontal="true"'))
    for lane in graph.lanes:
        lines.append(_shape(lane.id, boxes[lane.id], ' isHorizontal="true"'))
    for node_id, node in graph.nodes.items():
        extra = ' isMarkerVisible="true"' if node.kind == "exclusiveGateway" else ""
        lines.append(_shape(node_id, boxes[node_id], extra))
    for flow in graph.flows:
        bottom = _lane_bottom(graph, boxes, flow.source)
        points = _waypoints(boxes[flow.source], boxes[flow.target],
                            bool(graph.nodes[flow.source].attached_to), bottom)
        lines.append(f'      <bpmndi:BPMNEdge id="{_attr(flow.id)}_di" bpmnElement="{_attr(flow.id)}">')
        lines.extend(f'        <di:waypoint x="{x:.0f}" y="{y:.0f}" />' for x, y in points)
        lines.append("      </bpmndi:BPMNEdge>")
    lines += ["    </bpmndi:BPMNPlane>", "  </bpmndi:BPMNDiagram>"]
    return "\n".join(lines)


def _attr(value: str) -> str:
    """An id read from the file (already unescaped by the parser) written back as attribute text."""
    return escape(value, quote=True)


def _shape(element_id: str, box: Box, extra: str = "") -> str:
    element_id = _attr(element_id)
    return (f'      <bpmndi:BPMNShape id="{element_id}_di" bpmnElement="{element_id}"{extra}>\n'
            f'        <dc:Bounds x="{box.x:.0f}" y="{box.y:.0f}" width="{box.w:.0f}" height="{box.h:.0f}" />\n'
            f"      </bpmndi:BPMNShape>")


def with_diagram(xml: bytes) -> bytes:
    """The BPMN document with its diagram section replaced by a freshly computed layout."""
    text = xml.decode("utf-8")
    graph = read_graph(xml)
    participant = re.search(r'<bpmn:participant\b[^>]*\bid="([^"]+)"[^>]*processRef="' + re.escape(graph.process_id), text)
    collaboration = re.search(r'<bpmn:collaboration\b[^>]*\bid="([^"]+)"', text)
    participant_id = participant.group(1) if participant and collaboration else None
    collaboration_id = collaboration.group(1) if participant_id and collaboration else None
    text = _DI_SECTION.sub("", text)
    closing = text.rindex("</bpmn:definitions>")
    diagram = di_xml(graph, participant_id, collaboration_id)
    return (text[:closing].rstrip() + "\n" + diagram + "\n" + text[closing:]).encode("utf-8")
