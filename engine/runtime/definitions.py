"""Process definitions: parse and check BPMN, store immutable versions, find and cache specs.

A file is refused whole (InvalidInput naming file, element id and problem) when the XML is
malformed or carries a DTD, fails the BPMN/SpiffWorkflow XSD, names an unknown process, uses an
element this engine does not run (service and business-rule tasks), declares a bad form field or
lane, or holds any script, condition, timer expression or multi-instance expression that the
restricted compiler (engine.runtime.scripting) refuses — too long or too deeply nested included.
Files over MAX_DEFINITION_BYTES (413), with more than MAX_FLOW_ELEMENTS elements or more than
MAX_OUTGOING_FLOWS branches out of one element are refused before SpiffWorkflow parses them.
Each executable process of a valid file becomes a version: the same content again is the same
version, new content is version + 1. Versions are never changed afterwards, because a workflow
restored against a different spec breaks (running instances keep the version they started on).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins import ScriptTaskMixin as ScriptTask
from SpiffWorkflow.bpmn.specs.mixins import ServiceTaskMixin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from engine.auth.roles import EFFICIENCY_OFFICE, ESTABLISHMENT_OFFICE, LEGAL_OFFICE
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.runtime import ProcessDefinition
from engine.runtime import library, timer_functions
from engine.runtime.clocks.limits import check_step_properties
from engine.runtime.forms import form_problems
from engine.runtime.scripting import MAX_CARDINALITY, check_code
from engine.runtime.serializer import SPEC_CACHE, serialize_spec
from engine.runtime.workflow_tasks import is_human_task

ROLE_LANES = (LEGAL_OFFICE, ESTABLISHMENT_OFFICE, EFFICIENCY_OFFICE)
_ISO_LITERAL = re.compile(r"^(R\d*/)?P(\d|T)|^\d{4}-\d{2}-\d{2}T")
_BPMN_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
_BPMN_MODEL = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"

# Limits checked before SpiffWorkflow parses a file (parsing and every later engine step cost time
# in proportion to the file; a 1.5 MB file with 4,000 parallel branches parsed in 1.2 s and its
# start ran for minutes).
# The six shipped processes are 18–24 KB with their diagrams; 256 KB is ten times the largest.
MAX_DEFINITION_BYTES = 256 * 1024
# BPMN elements with an id (tasks, events, gateways, flows, lanes, data objects) in one file; the
# shipped processes have 47–60, so 500 leaves room for a large real process.
MAX_FLOW_ELEMENTS = 500
# Sequence flows leaving one element: the parallel fan-out of a gateway. The shipped processes
# have at most 3; 20 parallel branches is more than any duty procedure splits into, and bounds
# the branches one token can become (with MAX_FLOW_ELEMENTS, nested fan-outs stay in the hundreds).
MAX_OUTGOING_FLOWS = 20


class DefinitionTooLarge(InvalidInput):
    """A definition file over MAX_DEFINITION_BYTES: 413, like any over-size upload."""

    status_code = 413


@dataclass
class ParsedProcess:
    process_id: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any]
    spec_json: str
    content_hash: str


def task_properties(task_spec: Any) -> dict[str, str]:
    """The spiffworkflow:properties of a task spec ({} when it has none)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties") or {})


def load_script_libraries() -> None:
    """Register the script functions processes call — the process library's and the calendar
    functions of BPMN timers (due_after & co.) — before expressions are checked or run (idempotent)."""
    library.register_library()
    timer_functions.register_timer_functions()


def parse_bpmn(xml: bytes, filename: str) -> list[ParsedProcess]:
    """Every executable process of one BPMN file, checked; InvalidInput when anything is wrong."""
    load_script_libraries()
    if len(xml) > MAX_DEFINITION_BYTES:
        raise DefinitionTooLarge(f"BPMN 文件 {filename} 过大", [
            f"{filename}: {len(xml) // 1024} KB，上限 {MAX_DEFINITION_BYTES // 1024} KB"])
    root = _read_xml(xml, filename)
    size_problems = _size_problems(root, filename)
    if size_problems:
        raise InvalidInput(f"BPMN 文件 {filename} 超出规模限制", size_problems)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(root, filename=filename)
        process_ids = _executable_process_ids(root, filename)
        parsed = [_parse_process(parser, pid, xml, filename) for pid in process_ids]
    except ValidationException as exc:
        raise InvalidInput(f"BPMN 文件 {filename} 无效", [_describe_validation(exc, filename)]) from None
    return parsed


def _read_xml(xml: bytes, filename: str):
    # defusedxml first: refuses DTDs and entity tricks that lxml would otherwise resolve.
    try:
        safe_xml.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException:
        raise InvalidInput(f"BPMN 文件 {filename} 无效", [f"{filename}: 不允许 DTD 或实体声明"]) from None
    except safe_xml.ParseError as exc:
        raise InvalidInput(f"BPMN 文件 {filename} 不是合法的 XML", [f"{filename}: {exc}"]) from None
    try:
        return etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"BPMN 文件 {filename} 不是合法的 XML", [f"{filename}: {exc}"]) from None


def _size_problems(root, filename: str) -> list[str]:
    """Too many elements in the file, or too many branches out of one element."""
    problems = []
    elements = sum(1 for node in root.iter() if isinstance(node.tag, str)
                   and node.tag.startswith(_BPMN_MODEL) and node.get("id") is not None)
    if elements > MAX_FLOW_ELEMENTS:
        problems.append(f"{filename}: 有 {elements} 个流程元素，上限 {MAX_FLOW_ELEMENTS}")
    outgoing: dict[str, int] = {}
    for flow in root.iter(f"{_BPMN_MODEL}sequenceFlow"):
        source = flow.get("sourceRef") or ""
        outgoing[source] = outgoing.get(source, 0) + 1
    for source, count in outgoing.items():
        if count > MAX_OUTGOING_FLOWS:
            problems.append(f"{filename} 元素 {source}: 有 {count} 条出口连线（分支），上限 {MAX_OUTGOING_FLOWS}")
    return problems


def _executable_process_ids(root, filename: str) -> list[str]:
    nodes = root.xpath(".//bpmn:process[@isExecutable='true']", namespaces=_BPMN_NS)
    if not nodes:
        raise InvalidInput(f"BPMN 文件 {filename} 无效", [f"{filename}: 没有可执行的流程（isExecutable=\"true\"）"])
    return [node.get("id") for node in nodes]


def _describe_validation(exc: ValidationException, filename: str) -> str:
    place = filename
    if getattr(exc, "id", ""):
        place += f" 元素 {exc.id}"
    if getattr(exc, "tag", ""):
        place += f"（{exc.tag}）"
    if getattr(exc, "line_number", ""):
        place += f" 第 {exc.line_number} 行"
    return f"{place}: {exc}"


def _parse_process(parser: SpiffBpmnParser, process_id: str, xml: bytes, filename: str) -> ParsedProcess:
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    problems = []
    if not (spec.description or "").strip() or spec.description == process_id:
        problems.append(f"{filename} 流程 {process_id}: 缺少中文名称（process 的 name 属性）")
    for owner in [spec, *subprocess_specs.values()]:
        problems += spec_problems(owner, filename)
    if problems:
        raise InvalidInput(f"BPMN 文件 {filename} 中的流程 {process_id} 有误", problems)
    digest = hashlib.sha256(process_id.encode() + b"\0" + xml).hexdigest()
    return ParsedProcess(
        process_id=process_id,
        name=spec.description.strip(),
        spec=spec,
        subprocess_specs=subprocess_specs,
        spec_json=serialize_spec(spec, subprocess_specs),
        content_hash=digest,
    )


def spec_problems(spec: Any, filename: str) -> list[str]:
    """Everything wrong with one process spec's elements, each with its place."""
    problems = []
    for task_spec in spec.task_specs.values():
        place = f"{filename} 元素 {getattr(task_spec, 'bpmn_id', None) or task_spec.name}"
        problems += [f"{place}: {p}" for p in _element_problems(task_spec)]
        if is_human_task(task_spec):
            problems += check_step_properties(task_spec, place)  # stage_limit, clock
    return problems


def _element_problems(task_spec: Any) -> list[str]:
    if isinstance(task_spec, ServiceTaskMixin):
        return ["不支持服务任务（serviceTask）"]
    if isinstance(task_spec, BusinessRuleTaskMixin):
        return ["不支持业务规则任务（businessRuleTask）"]
    problems = []
    if is_human_task(task_spec):
        if not (getattr(task_spec, "bpmn_name", None) or "").strip():
            problems.append("人工任务缺少中文名称（name 属性）")
        problems += form_problems(task_properties(task_spec))
        problems += lane_problems(task_spec.lane)
    for text, mode, what in expressions_of(task_spec):
        problems += [f"{what}「{_short(text)}」：{p}" for p in _expression_problems(text, mode, what)]
    return problems


def lane_problems(lane: str | None) -> list[str]:
    if lane and lane.startswith("$"):
        variable = lane[1:]
        if not variable.isidentifier() or variable.startswith("_"):
            return [f"泳道 '{lane}': $ 后应为不以下划线开头的变量名"]
    return []


def _expression_problems(text: str, mode: str, what: str) -> list[str]:
    problems = check_code(text, mode)
    if not problems and what == "定时表达式" and _ISO_LITERAL.match(text.strip()):
        problems.append("ISO 时间字面量必须加引号，例如 \"PT1H\"")
    if not problems and what == "多实例数量" and text.strip().isascii() and text.strip().isdigit() \
            and int(text.strip()) > MAX_CARDINALITY:
        problems.append(f"多实例数量 {text.strip()} 超过上限 {MAX_CARDINALITY}")
    return problems


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expressions_of(task_spec: Any) -> list[tuple[str, str, str]]:
    """(code, mode, what) for every script and expression the element will run."""
    found: list[tuple[str, str, str]] = []
    if isinstance(task_spec, ScriptTask) and task_spec.script:
        found.append((task_spec.script, "exec", "脚本"))
    for attr, what in (("prescript", "前置脚本"), ("postscript", "后置脚本")):
        script = getattr(task_spec, attr, None)
        if script:
            found.append((script, "exec", what))
    for condition, _target in getattr(task_spec, "cond_task_specs", None) or []:
        if condition is not None and getattr(condition, "args", None):
            found.append((condition.args[0], "eval", "条件表达式"))
    if isinstance(task_spec, (MultiInstanceTask, LoopTask)):
        for attr, what in (("cardinality", "多实例数量"), ("condition", "多实例表达式")):
            value = getattr(task_spec, attr, None)
            if isinstance(value, str) and value:
                found.append((value, "eval", what))
    event_definition = getattr(task_spec, "event_definition", None)
    if event_definition is not None:
        found += _event_expressions(event_definition)
    return found


def _event_expressions(event_definition: Any) -> list[tuple[str, str, str]]:
    found = []
    for sub in getattr(event_definition, "event_definitions", None) or []:
        found += _event_expressions(sub)
    expression = getattr(event_definition, "expression", None)
    if isinstance(expression, str) and expression.strip():
        kind = type(event_definition).__name__
        what = "定时表达式" if "Timer" in kind or "Duration" in kind or "Cycle" in kind or "TimeDate" in kind else "事件表达式"
        found.append((expression, "eval", what))
    return found


# ---------------------------------------------------------------- storage


def store_definitions(session: Session, parsed: list[ParsedProcess], xml: bytes, filename: str,
                      now: datetime, deployed_by: str) -> list[tuple[ProcessDefinition, bool]]:
    """Store each parsed process as a version; (row, created) — same content gives the old row."""
    results = []
    text = xml.decode("utf-8", errors="replace")
    for item in parsed:
        existing = session.exec(
            select(ProcessDefinition).where(
                ProcessDefinition.process_id == item.process_id,
                ProcessDefinition.content_hash == item.content_hash,
            )
        ).first()
        if existing is not None:
            results.append((existing, False))
            continue
        latest = session.exec(
            select(func.max(ProcessDefinition.version)).where(ProcessDefinition.process_id == item.process_id)
        ).one()
        row = ProcessDefinition(
            process_id=item.process_id, version=(latest or 0) + 1, name=item.name, filename=filename,
            content_hash=item.content_hash, bpmn_xml=text, spec_json=item.spec_json,
            deployed_at=now, deployed_by=deployed_by,
        )
        session.add(row)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise Conflict(f"流程 {item.process_id} 正在被同时部署，请重试") from None
        SPEC_CACHE.put(item.content_hash, item.spec, item.subprocess_specs)
        results.append((row, True))
    return results


def latest_definition(session: Session, process_id: str) -> ProcessDefinition:
    row = session.exec(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_id == process_id)
        .order_by(col(ProcessDefinition.version).desc())
    ).first()
    if row is None:
        raise NotFound(f"流程 '{process_id}' 尚未部署")
    return row


_DEFINITIONS_KEY = "dutyflow_definitions"


def get_definition(session: Session, definition_id: int) -> ProcessDefinition:
    """A definition row, read once per transaction: the session's identity map holds rows only
    weakly, and a step asks for its definition several times (form fields, restore, deadlines)."""
    held = session.info.setdefault(_DEFINITIONS_KEY, {})
    row = held.get(definition_id)
    if row is None:
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"流程定义 {definition_id} 不存在")
        held[definition_id] = row
    return row


def spec_of(definition: ProcessDefinition) -> tuple[Any, dict[str, Any]]:
    """The parsed spec of a definition version (cached in memory by content hash)."""
    return SPEC_CACHE.ensure(definition.content_hash, lambda: definition.spec_json)


def human_task_specs(definition: ProcessDefinition) -> list[Any]:
    """The user/manual task specs of a definition, in document order where possible."""
    return human_specs_of(*spec_of(definition))


def human_specs_of(spec: Any, subprocess_specs: dict[str, Any]) -> list[Any]:
    """The user/manual task specs of a parsed spec and its subprocess specs."""
    found = []
    for owner in [spec, *subprocess_specs.values()]:
        found += [ts for ts in owner.task_specs.values() if is_human_task(ts)]
    return found
