"""The shape of a BPMN process as a plain graph: lanes, flow nodes and sequence flows.

Read straight from the BPMN XML (not from SpiffWorkflow's specs) because drawing needs what the
engine throws away: element kinds as the modeler sees them, lane documentation, flow names and
where boundary events are attached. Used by the graphviz renderer and the BPMN-DI layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from defusedxml import ElementTree

from engine.errors import InvalidInput

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_B = "{" + BPMN_NS + "}"

# Element kinds that are flow nodes, as their local tag names.
TASK_KINDS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess"}
EVENT_KINDS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAY_KINDS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
NODE_KINDS = TASK_KINDS | EVENT_KINDS | GATEWAY_KINDS


@dataclass
class Node:
    id: str
    kind: str
    name: str
    lane: str | None = None
    attached_to: str | None = None
    # "timer", "message", "terminate", … for events; "multi" for multi-instance activities.
    markers: list[str] = field(default_factory=list)


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str | None = None
    default: bool = False


@dataclass
class Lane:
    id: str
    name: str
    label: str


@dataclass
class ProcessGraph:
    process_id: str
    name: str
    lanes: list[Lane]
    nodes: dict[str, Node]
    flows: list[Flow]

    def lane_of(self, node_id: str) -> str | None:
        node = self.nodes[node_id]
        if node.lane is None and node.attached_to:
            return self.nodes[node.attached_to].lane
        return node.lane


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _doc_text(element) -> str:
    doc = element.find(f"{_B}documentation")
    return (doc.text or "").strip() if doc is not None else ""


def _markers(element) -> list[str]:
    markers = []
    for child in element:
        tag = _local(child.tag)
        if tag.endswith("EventDefinition"):
            markers.append(tag.removesuffix("EventDefinition"))
        elif tag == "multiInstanceLoopCharacteristics":
            markers.append("sequential" if child.get("isSequential") == "true" else "multi")
    if element.get("cancelActivity") == "false":
        markers.append("non_interrupting")
    return markers


def read_graph(xml: bytes, process_id: str | None = None) -> ProcessGraph:
    """The (first, or named) executable process of a BPMN document as a graph.

    Raises InvalidInput when the XML is malformed or holds no such process.
    """
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise InvalidInput("BPMN 文件不是合法的 XML", [str(exc)]) from exc
    processes = root.findall(f"{_B}process")
    if process_id is not None:
        processes = [p for p in processes if p.get("id") == process_id]
    if not processes:
        raise InvalidInput("BPMN 文件中没有找到流程", [f"process id: {process_id or '（任意）'}"])
    process = processes[0]
    lanes, lane_of_node = _read_lanes(process)
    nodes: dict[str, Node] = {}
    flows: list[Flow] = []
    defaults = {el.get("default") for el in process if el.get("default")}
    for element in process:
        tag = _local(element.tag)
        if tag in NODE_KINDS:
            node_id = element.get("id")
            nodes[node_id] = Node(
                id=node_id, kind=tag, name=element.get("name") or node_id, lane=lane_of_node.get(node_id),
                attached_to=element.get("attachedToRef"), markers=_markers(element),
            )
        elif tag == "sequenceFlow":
            condition = element.find(f"{_B}conditionExpression")
            flows.append(Flow(
                id=element.get("id"), source=element.get("sourceRef"), target=element.get("targetRef"),
                name=element.get("name") or "", default=element.get("id") in defaults,
                condition=(condition.text or "").strip() if condition is not None else None,
            ))
    return ProcessGraph(process_id=process.get("id"), name=process.get("name") or process.get("id"),
                        lanes=lanes, nodes=nodes, flows=flows)


def _read_lanes(process) -> tuple[list[Lane], dict[str, str]]:
    lanes: list[Lane] = []
    lane_of_node: dict[str, str] = {}
    for lane in process.iter(f"{_B}lane"):
        lane_id = lane.get("id")
        name = lane.get("name") or lane_id
        lanes.append(Lane(id=lane_id, name=name, label=_doc_text(lane) or name))
        for ref in lane.findall(f"{_B}flowNodeRef"):
            if ref.text:
                lane_of_node[ref.text.strip()] = lane_id
    return lanes, lane_of_node
