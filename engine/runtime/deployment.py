"""Deployment: BPMN files become immutable process definition versions; definitions are listed.

Like every runtime command, these take `(session, clock, …, actor)` and change nothing unless
they succeed: refused by the permission policy → Forbidden (403), bad input → InvalidInput (422).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from engine.auth import policy
from engine.auth.roles import Actor
from engine.errors import InvalidInput
from engine.models.runtime import ProcessDefinition
from engine.runtime import definitions as defs
from engine.runtime.forms import form_of


@dataclass(frozen=True)
class Deployed:
    definition: ProcessDefinition
    created: bool  # False: the same content was deployed before (same version returned)


def deploy_definition(session: Session, clock: Any, xml: bytes, filename: str, actor: Actor) -> list[Deployed]:
    """Parse, check and store every executable process of one BPMN file (all or nothing)."""
    policy.require_deploy(actor)
    if not xml or not xml.strip():
        raise InvalidInput(f"BPMN 文件 {filename} 为空", [f"{filename}: 文件为空"])
    parsed = defs.parse_bpmn(xml, filename)
    stored = defs.store_definitions(session, parsed, xml, filename, clock.now(), actor.username)
    return [Deployed(row, created) for row, created in stored]


def deploy_directory(session: Session, clock: Any, path: Path, actor: Actor) -> list[Deployed]:
    """Deploy every *.bpmn of a directory; a bad file stops all of them, with every problem listed."""
    policy.require_deploy(actor)
    files = sorted(Path(path).glob("*.bpmn"))
    parsed_files: list[tuple[str, bytes, list[defs.ParsedProcess]]] = []
    problems: list[str] = []
    for file in files:
        xml = file.read_bytes()
        try:
            parsed_files.append((file.name, xml, defs.parse_bpmn(xml, file.name)))
        except InvalidInput as exc:
            problems += exc.problems or [exc.message]
    if problems:
        raise InvalidInput(f"目录 {path} 中的流程定义有误，未部署任何文件", problems)
    results: list[Deployed] = []
    for name, xml, parsed in parsed_files:
        stored = defs.store_definitions(session, parsed, xml, name, clock.now(), actor.username)
        results += [Deployed(row, created) for row, created in stored]
    return results


def list_definitions(session: Session, process_id: str | None = None, all_versions: bool = False) -> list[ProcessDefinition]:
    """Definitions, newest version of each process first (or every version with all_versions)."""
    query = select(ProcessDefinition)
    if process_id:
        query = query.where(ProcessDefinition.process_id == process_id)
    rows = list(session.exec(query.order_by(col(ProcessDefinition.process_id), col(ProcessDefinition.version).desc())))
    if all_versions:
        return rows
    latest: dict[str, ProcessDefinition] = {}
    for row in rows:
        latest.setdefault(row.process_id, row)
    return list(latest.values())


def get_definition(session: Session, definition_id: int) -> ProcessDefinition:
    return defs.get_definition(session, definition_id)


def definition_tasks(definition: ProcessDefinition) -> list[dict[str, Any]]:
    """The human steps of a definition: id, Chinese name, lane, stage and form fields."""
    result = []
    for spec in defs.human_task_specs(definition):
        props = defs.task_properties(spec)
        result.append({
            "task_spec": spec.name, "name": spec.bpmn_name or spec.name, "lane": spec.lane,
            "stage": props.get("stage"), "properties": {k: v for k, v in props.items() if not k.startswith("form.")},
            "form": [f.as_dict() for f in form_of(props)],
        })
    return result
