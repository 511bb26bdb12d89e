"""Instance commands: start a case, read and list cases, suspend and reactivate them.

All commands take `(session, clock, …, actor)` and change nothing unless they succeed: wrong
state → Conflict (409), refused by the permission policy (`engine.auth.policy`) → Forbidden (403),
bad input → InvalidInput (422), unknown ids → NotFound (404).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select

from engine.auth import policy
from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id
from engine.db import core_connection
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.runtime import (
    RUNNING,
    SUSPENDED,
    ProcessDefinition,
    ProcessInstance,
    TimingEvent,
    WorkTask,
)
from engine.runtime import definitions as defs
from engine.runtime import events as ev
from engine.runtime import timers, workflow_cache
from engine.runtime.calendars import FINGERPRINT_COLUMNS, note_fingerprint
from engine.runtime.forms import check_data_keys
from engine.runtime.instances import (
    bump_version,
    create_workflow,
    load_instance,
    restore_workflow,
    run_step,
    save_workflow,
)
from engine.runtime.scripting import (
    MultiInstanceInputs,
    multi_instance_inputs,
    multi_instance_problems,
    provided_names,
)
from engine.runtime.serializer import SPEC_CACHE

MAX_DATA_BYTES = 64 * 1024  # task data stays small; documents belong elsewhere (store references)


def check_data(data: Any, where: str = "data") -> dict[str, Any]:
    """Start or task data: a JSON object of allowed names, at most MAX_DATA_BYTES."""
    if not isinstance(data, dict):
        raise InvalidInput("数据必须是 JSON 对象", [f"{where}: 应为对象"])
    problems = check_data_keys(data, provided_names(), where)
    try:
        size = len(json.dumps(data, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        problems.append(f"{where}: 只能包含 JSON 数据（文本、数字、真假、列表、对象）")
        size = 0
    if size > MAX_DATA_BYTES:
        problems.append(f"{where}: 数据过大（{size} 字节，上限 {MAX_DATA_BYTES}）；文件请存为附件引用")
    if problems:
        raise InvalidInput("数据有误", problems)
    return dict(data)


def check_collections(data: dict[str, Any], inputs: MultiInstanceInputs, where: str = "data") -> None:
    """Refuse data that would make a multi-instance task of the process create more branches than
    the bound, before anything is stored (SpiffWorkflow makes them without asking the engine)."""
    problems = multi_instance_problems(data, inputs, where)
    if problems:
        raise InvalidInput("数据中的列表过大：" + "；".join(problems), problems)


def _check_duty(session: Session, duty_code: Any) -> str | None:
    if duty_code is None:
        return None
    if not isinstance(duty_code, str) or not duty_code.strip():
        raise InvalidInput("事项编码有误", ["data.duty_code: 应为事项编码文本"])
    version_id = catalog_version_id(session)  # the id is enough: no need to load the version's row
    if version_id is not None:
        try:
            catalog.get_duty(session, version_id, duty_code)
        except NotFound:
            raise InvalidInput(f"权责清单中没有事项 '{duty_code}'", [f"data.duty_code: 未知事项 '{duty_code}'"]) from None
    return duty_code


def start_instance(session: Session, clock: Any, process_id: str, data: dict[str, Any], actor: Actor,
                   version: int | None = None) -> ProcessInstance:
    """Start a case of the newest (or the given) version of a process with `data` on its Start task;
    returns the instance row.

    Start data a process script refuses (a rule violation raised by a script function: unknown
    unit, incomplete complaint, …) is the starter's mistake: the DutyflowError (422/409) reaches
    the caller and no instance is created. A genuine process error during the first steps leaves
    the instance `failed` (with a `failed` event and the message in `error`) rather than raising.
    """
    defs.load_script_libraries()  # their function names are reserved in task data
    data = check_data(data or {})
    definition = _definition_for(session, process_id, version)
    policy.require_start(session, actor, definition.process_id, data)
    check_collections(data, multi_instance_inputs(*defs.spec_of(definition)))
    duty_code = _check_duty(session, data.get("duty_code"))
    now = clock.now()
    assert definition.id is not None
    # A Core insert and the row read back by primary key: half what constructing a model object
    # and flushing it costs. (Inserting with RETURNING every column and making the returned row the
    # session's object saves the read's round trip, but building the model object from it cost
    # more than the read: 0.46 M instructions a case on SQLite, bench/engine_instructions.py.)
    instance_id = core_connection(session).execute(_INSERT_INSTANCE, {
        "definition_id": definition.id, "process_id": definition.process_id, "status": RUNNING,
        "duty_code": duty_code, "subject": str(data.get("subject") or data.get("applicant") or "")[:300],
        "start_data": data, "state_json": "{}", "version": 1, "started_at": now, "started_by": actor.username,
        "starter_staff_id": actor.staff_id, "updated_at": now,
    }).scalar_one()
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None and instance.id is not None
    timers.note_new_instance(session, instance.id)  # its first step needs not look for rows of it
    workflow = create_workflow(definition, {**data, "instance_id": instance.id})
    ev.log_event(session, instance.id, "instance_started", now, actor=actor, since=now,
                 detail={"process_id": definition.process_id, "version": definition.version, "data_keys": sorted(data)})
    run_step(session, clock, instance, workflow, workflow.do_engine_steps, actor)
    save_workflow(session, instance, workflow, clock, actor)
    return instance


_INSTANCE_TABLE = ProcessInstance.__table__  # type: ignore[attr-defined]
_INSERT_INSTANCE = insert(_INSTANCE_TABLE).returning(_INSTANCE_TABLE.c.id)

# The newest version of a process with only the columns a start needs (not the BPMN text and the
# serialized spec) when its parsed spec is in memory, and the calendar's fingerprint (the start's
# first timing event would ask for it alone); built once.
_LATEST_DEFINITION = (
    select(ProcessDefinition, *FINGERPRINT_COLUMNS)
    .options(load_only(*(getattr(ProcessDefinition, name) for name in ("id", "process_id", "version", "content_hash"))))
    .where(ProcessDefinition.process_id == bindparam("p_process"))
    .order_by(col(ProcessDefinition.version).desc()).limit(1)
)


def _definition_for(session: Session, process_id: str, version: int | None) -> ProcessDefinition:
    if version is None:
        found = session.exec(_LATEST_DEFINITION, params={"p_process": process_id}).first()
        if found is not None:
            latest, years, newest, days = found
            note_fingerprint(session, years, newest, days)
            if SPEC_CACHE.get(latest.content_hash) is not None:
                return latest
        return defs.latest_definition(session, process_id)
    row = session.exec(
        select(ProcessDefinition).where(ProcessDefinition.process_id == process_id, ProcessDefinition.version == version)
    ).first()
    if row is None:
        raise NotFound(f"流程 '{process_id}' 没有第 {version} 版")
    return row


def get_instance(session: Session, instance_id: int, actor: Actor | None = None) -> ProcessInstance:
    """An instance, read fresh; with an actor, only when the policy lets them read it (403 otherwise)."""
    row = session.get(ProcessInstance, instance_id, populate_existing=True)
    if row is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    if actor is not None:
        policy.require_read_instance(session, actor, row)
    return row


def list_instances(session: Session, status: str | None = None, process_id: str | None = None,
                   duty_code: str | None = None, limit: int = 100, offset: int = 0,
                   actor: Actor | None = None) -> list[ProcessInstance]:
    """Instances, newest first; with a non-supervisor actor only the ones they may see."""
    query = select(ProcessInstance)
    visible = policy.visible_instances_clause(session, actor) if actor is not None else None
    if visible is not None:
        query = query.where(visible)
    if status:
        query = query.where(ProcessInstance.status == status)
    if process_id:
        query = query.where(ProcessInstance.process_id == process_id)
    if duty_code:
        query = query.where(ProcessInstance.duty_code == duty_code)
    query = query.order_by(col(ProcessInstance.id).desc()).offset(max(offset, 0)).limit(min(max(limit, 1), 1000))
    return list(session.exec(query))


def instance_data(session: Session, instance_id: int, saved: ProcessInstance | None = None) -> dict[str, Any]:
    """The case data as it stands: the data of the last completed step (start data before that).
    Read from the workflow this transaction saved, when it saved the instance (the answer to a
    start), instead of restoring it from the state just written. `saved`: the instance object
    this transaction saved (start_instance's answer): when its state is the one the transaction
    saved the workflow as, the row — locked by this transaction's update — is not read again."""
    if saved is not None and saved.id == instance_id:
        workflow = workflow_cache.saved_in_transaction(session, instance_id, saved.state_json)
        if workflow is not None:
            return _visible_data(workflow, saved)
    instance, spec_key = load_instance(session, instance_id)
    assert instance.id is not None
    workflow = workflow_cache.saved_in_transaction(session, instance.id, instance.state_json)
    if workflow is None:
        workflow = restore_workflow(session, instance, spec_key)
    return _visible_data(workflow, instance)


def _visible_data(workflow: Any, instance: ProcessInstance) -> dict[str, Any]:
    task = workflow.last_task
    data = dict(task.data) if task is not None else dict(instance.start_data)
    return {k: v for k, v in data.items() if not k.startswith("_")}


# A case's definition version and its task rows in id order (none: one row with no task), in one
# read: the answer to a start and to GET /api/instances/{id}. Built once.
_VERSION_AND_TASKS = (
    select(col(ProcessDefinition.version), WorkTask)
    .select_from(ProcessDefinition)
    .outerjoin(WorkTask, col(WorkTask.instance_id) == bindparam("p_instance"))
    .where(col(ProcessDefinition.id) == bindparam("p_definition"))
    .order_by(col(WorkTask.id))
)


def version_and_tasks(session: Session, instance: ProcessInstance) -> tuple[int, list[WorkTask]]:
    """The version of the instance's process definition and the instance's task rows (id order),
    in one statement."""
    found = session.exec(_VERSION_AND_TASKS, params={"p_instance": instance.id,
                                                     "p_definition": instance.definition_id}).all()
    if not found:
        raise NotFound(f"流程定义 {instance.definition_id} 不存在")
    return found[0][0], [task for _version, task in found if task is not None]


def instance_tasks(session: Session, instance_id: int, open_only: bool = False) -> list[WorkTask]:
    query = select(WorkTask).where(WorkTask.instance_id == instance_id)
    if open_only:
        query = query.where(WorkTask.status == "ready")
    return list(session.exec(query.order_by(col(WorkTask.id))))


def suspend_instance(session: Session, clock: Any, instance_id: int, actor: Actor, reason: str = "") -> ProcessInstance:
    policy.require_suspend(actor)
    instance = get_instance(session, instance_id)
    if instance.status != RUNNING:
        raise Conflict(f"流程实例 {instance_id} 当前状态为 {instance.status}，不能挂起", [f"instance.status: {instance.status}"])
    now = clock.now()
    bump_version(session, instance, status=SUSPENDED, updated_at=now)
    ev.log_event(session, instance_id, "suspended", now, actor=actor, detail={"reason": reason})
    return instance


def activate_instance(session: Session, clock: Any, instance_id: int, actor: Actor) -> ProcessInstance:
    policy.require_suspend(actor)
    instance = get_instance(session, instance_id)
    if instance.status != SUSPENDED:
        raise Conflict(f"流程实例 {instance_id} 未挂起，不能激活", [f"instance.status: {instance.status}"])
    now = clock.now()
    bump_version(session, instance, status=RUNNING, updated_at=now)
    # "reactivated", not "resumed": the timeline must not call an instance's reactivation 恢复计时.
    ev.log_event(session, instance_id, "reactivated", now, actor=actor)
    return instance


def timeline(session: Session, instance_id: int) -> list[TimingEvent]:
    get_instance(session, instance_id)
    return ev.timeline(session, instance_id)
