"""Runtime service: every operation on definitions, instances and tasks, as the API and CLI call it.

All functions take `(session, clock, …, actor)` and change nothing unless they succeed: wrong state
→ Conflict (409), refused by the permission policy (`engine.auth.policy`) → Forbidden (403), bad
input → InvalidInput (422), unknown ids → NotFound (404).

Concurrency: each task operation first takes its task row (`tasks.lock_task_row`: `SELECT … FOR
UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises writers), then reads the
instance, checks the state and acts; it leaves a row in the timing log (`timing_event`) and bumps
the instance's optimistic version, as completing a task does. So of N people claiming,
transferring, copying … one task at once exactly one wins; the others wait for the row, see the
winner's change and get 409. Locks are taken in one order (task rows, then the instance row),
the order every engine step writes in (`save_workflow` writes task rows before bumping the
version), so two task operations, or one and a completion, wait for each other but never deadlock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from engine.auth import policy
from engine.auth.roles import ADMIN, Actor
from engine.catalog import service as catalog
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.runtime import (
    BACKUP,
    HANDLER,
    READER,
    RUNNING,
    SUSPENDED,
    TASK_CANCELLED,
    TASK_COMPLETED,
    TRANSFER,
    ProcessDefinition,
    ProcessInstance,
    TimingEvent,
    WorkTask,
)
from engine.rawsql import Raw, Record, flush_pending, insert_row, set_loaded, update_row
from engine.runtime import definitions as defs
from engine.runtime import events as ev
from engine.runtime import tasks as tk
from engine.runtime import timers
from engine.runtime.forms import check_data_keys, form_of, validate_submission
from engine.runtime.instances import (
    bump_version,
    create_workflow,
    instance_record,
    load_workflow,
    restore_workflow,
    run_step,
    save_workflow,
)
from engine.runtime.scripting import (
    MultiInstanceInputs,
    multi_instance_inputs,
    multi_instance_problems,
    provided_names,
    workflow_inputs,
)
from engine.runtime.serializer import SPEC_CACHE

SYSTEM_ACTOR = Actor(username="system", roles=frozenset({ADMIN}), display_name="系统")
MAX_DATA_BYTES = 64 * 1024  # task data stays small; documents belong elsewhere (store references)


# ================================================================ definitions


@dataclass(frozen=True)
class Deployed:
    definition: ProcessDefinition
    created: bool  # False: the same content was deployed before (same version returned)


def deploy_definition(session: Session, clock, xml: bytes, filename: str, actor: Actor) -> list[Deployed]:
    """Parse, check and store every executable process of one BPMN file (all or nothing)."""
    policy.require_deploy(actor)
    if not xml or not xml.strip():
        raise InvalidInput(f"BPMN 文件 {filename} 为空", [f"{filename}: 文件为空"])
    parsed = defs.parse_bpmn(xml, filename)
    stored = defs.store_definitions(session, parsed, xml, filename, clock.now(), actor.username)
    return [Deployed(row, created) for row, created in stored]


def deploy_directory(session: Session, clock, path: Path, actor: Actor) -> list[Deployed]:
    """Deploy every *.bpmn of a directory; a bad file stops all of them, with every problem listed."""
    policy.require_deploy(actor)
    files = sorted(Path(path).glob("*.bpmn"))
    parsed_files, problems = [], []
    for file in files:
        xml = file.read_bytes()
        try:
            parsed_files.append((file.name, xml, defs.parse_bpmn(xml, file.name)))
        except InvalidInput as exc:
            problems += exc.problems or [exc.message]
    if problems:
        raise InvalidInput(f"目录 {path} 中的流程定义有误，未部署任何文件", problems)
    results = []
    for name, xml, parsed in parsed_files:
        stored = defs.store_definitions(session, parsed, xml, name, clock.now(), actor.username)
        results += [Deployed(row, created) for row, created in stored]
    return results


def list_definitions(session: Session, process_id: str | None = None, all_versions: bool = False) -> list[ProcessDefinition]:
    """Definitions, newest version of each process first (or every version with all_versions)."""
    query = select(ProcessDefinition)
    if process_id:
        query = query.where(ProcessDefinition.process_id == process_id)
    rows = list(session.exec(query.order_by(ProcessDefinition.process_id, ProcessDefinition.version.desc())))
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


# ================================================================ instances


def _check_data(data: Any, where: str = "data") -> dict[str, Any]:
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


def _check_collections(data: dict[str, Any], inputs: MultiInstanceInputs, where: str = "data") -> None:
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
    version = catalog.current_version(session)
    if version is not None:
        try:
            catalog.get_duty(session, version.id, duty_code)
        except NotFound:
            raise InvalidInput(f"权责清单中没有事项 '{duty_code}'", [f"data.duty_code: 未知事项 '{duty_code}'"]) from None
    return duty_code


def start_instance(session: Session, clock, process_id: str, data: dict[str, Any], actor: Actor,
                   version: int | None = None) -> Record:
    """Start a case of the newest (or the given) version of a process with `data` on its Start task;
    returns the instance row as a Record (every column, as saved; engine.rawsql).

    Start data a process script refuses (a rule violation raised by a script function: unknown
    unit, incomplete complaint, …) is the starter's mistake: the DutyflowError (422/409) reaches
    the caller and no instance is created. A genuine process error during the first steps leaves
    the instance `failed` (with a `failed` event and the message in `error`) rather than raising.
    """
    defs.load_script_libraries()  # their function names are reserved in task data
    data = _check_data(data or {})
    definition = _definition_for(session, process_id, version)
    policy.require_start(session, actor, definition.process_id, data)
    _check_collections(data, multi_instance_inputs(*defs.spec_of(definition)))
    duty_code = _check_duty(session, data.get("duty_code"))
    now = clock.now()
    subject = str(data.get("subject") or data.get("applicant") or "")[:300]
    values = dict(
        definition_id=definition.id, process_id=definition.process_id, status=RUNNING, duty_code=duty_code,
        subject=subject, start_data=data, state_json="{}", version=1, started_at=now, started_by=actor.username,
        starter_staff_id=actor.staff_id, updated_at=now, ended_at=None, error=None,
    )
    flush_pending(session)
    instance = Record(id=insert_row(session, ProcessInstance, values), **values)
    instance.__dict__["spec_key"] = definition.content_hash
    timers.note_new_instance(session, instance.id)  # its first step needs not look for timer/deadline rows
    workflow = create_workflow(definition, {**data, "instance_id": instance.id})
    ev.log_event(session, instance.id, "instance_started", now, actor=actor, since=now,
                 detail={"process_id": definition.process_id, "version": definition.version, "data_keys": sorted(data)})
    run_step(session, clock, instance, workflow, workflow.do_engine_steps, actor)
    save_workflow(session, instance, workflow, clock, actor)
    return instance


_LATEST_DEFINITION = Raw(
    core_select(ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.version,
                ProcessDefinition.content_hash)
    .where(ProcessDefinition.process_id == bindparam("p_process")).order_by(ProcessDefinition.version.desc()).limit(1)
)


def _definition_for(session: Session, process_id: str, version: int | None):
    if version is None:
        flush_pending(session)
        found = _LATEST_DEFINITION.first(session, {"p_process": process_id})
        if found is not None and SPEC_CACHE.get(found[3]) is not None:
            # The parsed spec is in memory: the few columns a start needs, not the BPMN text.
            return Record(id=found[0], process_id=found[1], version=found[2], content_hash=found[3])
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
    return list(session.exec(query.order_by(ProcessInstance.id.desc()).offset(max(offset, 0)).limit(min(max(limit, 1), 1000))))


def instance_data(session: Session, instance_id: int) -> dict[str, Any]:
    """The case data as it stands: the data of the last completed step (start data before that)."""
    instance, workflow = load_workflow(session, instance_id)
    task = workflow.last_task
    data = dict(task.data) if task is not None else dict(instance.start_data)
    return {k: v for k, v in data.items() if not k.startswith("_")}


def instance_tasks(session: Session, instance_id: int, open_only: bool = False) -> list[WorkTask]:
    query = select(WorkTask).where(WorkTask.instance_id == instance_id)
    if open_only:
        query = query.where(WorkTask.state == "ready")
    return list(session.exec(query.order_by(WorkTask.id)))


def suspend_instance(session: Session, clock, instance_id: int, actor: Actor, reason: str = "") -> ProcessInstance:
    policy.require_suspend(actor)
    instance = get_instance(session, instance_id)
    if instance.status != RUNNING:
        raise Conflict(f"流程实例 {instance_id} 当前状态为 {instance.status}，不能挂起", [f"instance.status: {instance.status}"])
    now = clock.now()
    bump_version(session, instance, status=SUSPENDED, updated_at=now)
    ev.log_event(session, instance.id, "suspended", now, actor=actor, detail={"reason": reason})
    return instance


def resume_instance(session: Session, clock, instance_id: int, actor: Actor) -> ProcessInstance:
    policy.require_suspend(actor)
    instance = get_instance(session, instance_id)
    if instance.status != SUSPENDED:
        raise Conflict(f"流程实例 {instance_id} 未挂起，不能激活", [f"instance.status: {instance.status}"])
    now = clock.now()
    bump_version(session, instance, status=RUNNING, updated_at=now)
    # "reactivated", not "resumed": the timeline must not call an instance's reactivation 恢复计时.
    ev.log_event(session, instance.id, "reactivated", now, actor=actor)
    return instance


def timeline(session: Session, instance_id: int) -> list[TimingEvent]:
    get_instance(session, instance_id)
    return ev.timeline(session, instance_id)


# ================================================================ tasks


@dataclass(frozen=True)
class InboxEntry:
    task: WorkTask
    relation: str  # handler / backup / transfer / reader / done
    instance: ProcessInstance
    deadline: Any = None  # engine.runtime.deadlines.DeadlineView when the timers area tracks it


def task_deadline(session: Session, row: WorkTask, clock) -> Any:
    """The timers area's deadline view of a task (None when the step carries no limit)."""
    try:
        from engine.runtime import deadlines
    except ModuleNotFoundError:  # the timers area is optional for the core
        return None
    return deadlines.task_deadline(session, row, clock)


def inbox(session: Session, clock, actor: Actor, include_done: bool = False) -> list[InboxEntry]:
    """Tasks for the signed-in staff member: at their posts, delegated to them as B角, transfers
    waiting for their acceptance, copies to them, and (include_done) what they completed."""
    entries = []
    for row, relation in tk.inbox_rows(session, actor, include_done):
        instance = session.get(ProcessInstance, row.instance_id)
        deadline = task_deadline(session, row, clock) if row.state == "ready" else None
        entries.append(InboxEntry(task=row, relation=relation, instance=instance, deadline=deadline))
    return entries


def get_task(session: Session, task_id: int, actor: Actor | None = None) -> WorkTask:
    """A task row; with an actor, only when they may see it (post, B角, transfer, copy, supervisor)."""
    row = tk.get_task_row(session, task_id)
    if actor is not None:
        policy.require_read_task(session, actor, row)
    return row


def task_form(session: Session, row: WorkTask) -> list[dict[str, Any]]:
    """The form fields the task declares (for pages and API clients)."""
    definition = defs.get_definition(session, session.get(ProcessInstance, row.instance_id).definition_id)
    for spec in defs.human_task_specs(definition):
        if spec.name == row.task_spec:
            return [f.as_dict() for f in form_of(defs.task_properties(spec))]
    return []


def task_items(session: Session, rows: list[WorkTask]) -> dict[int, dict[str, Any]]:
    """Task id → {"name", "value"} of the multi-instance item each task is about (e.g. which
    problem a rectification check concerns); tasks of ordinary steps are absent."""
    return tk.task_items(session, [row.id for row in rows])


def task_item(session: Session, row: WorkTask) -> dict[str, Any] | None:
    return task_items(session, [row]).get(row.id)


def bpmn_id(row: WorkTask) -> str:
    """The step's BPMN element id (a multi-instance task's spec name without " [child]")."""
    return tk.bpmn_id_of(row.task_spec)


def task_posts(session: Session, row: WorkTask) -> dict[str, list[str]]:
    """Posts by assignment kind: handler, backup, transfer, reader."""
    return {kind: tk.posts_of(session, row.id, kind) for kind in (HANDLER, BACKUP, TRANSFER, READER)}


def _open_task(session: Session, task_id: int) -> tuple[WorkTask, ProcessInstance]:
    """The task (locked until the transaction ends, read fresh) and its instance, both in a state
    that allows acting (409 otherwise)."""
    row = tk.lock_task_row(session, task_id)
    instance = get_instance(session, row.instance_id)
    tk.require_running(instance)
    tk.require_open(row)
    return row, instance


def _reason(text: str | None, field: str = "reason") -> str:
    if not text or not text.strip():
        raise InvalidInput("请填写理由", [f"{field}: 不能为空"])
    return text.strip()


def claim_task(session: Session, clock, task_id: int, actor: Actor) -> WorkTask:
    """签收: the task is the actor's from now on; colleagues in the same post can no longer act."""
    row, instance = _open_task(session, task_id)
    post = policy.require_claim(session, actor, row)
    if row.claimed_by:
        who = "您" if row.claimed_by == actor.username else row.claimed_by
        raise Conflict(f"任务「{row.name}」已由{who}签收", [f"task.claimed_by: {row.claimed_by}"])
    now = clock.now()
    row.claimed_by, row.claimed_staff_id, row.claimed_at = actor.username, actor.staff_id, now
    session.add(row)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, instance.id, "claimed", now, task_id=row.id, actor=actor, post_code=post)
    return row


def complete_task(session: Session, clock, task_id: int, data: dict[str, Any], actor: Actor) -> Record:
    """办结 a step with its form data (validated against the task's declared fields).

    The engine's hottest path: rows are read and written with raw statements (engine.rawsql);
    the returned task row is a Record."""
    row = tk.task_record(session, task_id)
    instance = instance_record(session, row.instance_id)
    tk.require_running(instance)
    tk.require_open(row)
    post = policy.require_act(session, actor, row)
    fields = _fields_of(session, instance, row)
    cleaned = _check_data(validate_submission(fields, data or {}, provided_names()))
    workflow = restore_workflow(session, instance)
    _check_collections(cleaned, workflow_inputs(workflow))
    task = tk.find_task(workflow, row.spiff_task_id)
    if task is None or not task.state == TaskState.READY:
        raise Conflict(f"任务「{row.name}」已不在待办状态，请刷新", ["task.state"])
    now = clock.now()
    values: dict[str, Any] = {
        "state": TASK_COMPLETED, "closed_reason": "completed", "completed_at": now, "completed_by": actor.username,
        "completed_staff_id": actor.staff_id, "completed_post": post, "form_data": cleaned,
    }
    detail: dict[str, Any] = {"fields": sorted(cleaned)}
    if row.transfer_to_post:
        detail["dropped_transfer_to"] = row.transfer_to_post
        values["transfer_to_post"] = None
        tk.unassign(session, row.id, TRANSFER)
    update_row(session, WorkTask, row.id, values)
    set_loaded(row, **values)
    ev.log_event(session, instance.id, "completed", now, task_id=row.id, actor=actor, post_code=post,
                 since=row.ready_at, detail=detail)
    task.data.update(cleaned)

    def step() -> None:
        task.run()
        workflow.do_engine_steps()

    run_step(session, clock, instance, workflow, step, actor)
    save_workflow(session, instance, workflow, clock, actor)
    return row


def _fields_of(session: Session, instance, row):
    spec_key = getattr(instance, "spec_key", None)
    cached = SPEC_CACHE.get(spec_key) if spec_key else None
    specs = defs.human_specs_of(*cached) if cached else defs.human_task_specs(
        defs.get_definition(session, instance.definition_id))
    for spec in specs:
        if spec.name == row.task_spec:
            return form_of(defs.task_properties(spec))
    return []


def transfer_task(session: Session, clock, task_id: int, to_post: str, reason: str, actor: Actor) -> WorkTask:
    """转办: ask another post to take the task over; the sender stays responsible until it accepts."""
    row, instance = _open_task(session, task_id)
    post = policy.require_act(session, actor, row)
    reason = _reason(reason)
    to_post = _known_post(session, to_post, "to_post")
    if row.transfer_to_post:
        raise Conflict(f"任务「{row.name}」已在转办给 {row.transfer_to_post}，等待对方接收", ["task.transfer_to_post"])
    if to_post in tk.posts_of(session, row.id, HANDLER):
        raise InvalidInput("不能转办给本岗位", [f"to_post: {to_post} 已是承办岗位"])
    now = clock.now()
    row.transfer_to_post, row.transfer_reason = to_post, reason
    session.add(row)
    tk.assign(session, row.id, to_post, TRANSFER, now)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, instance.id, "transferred", now, task_id=row.id, actor=actor, post_code=post,
                 target_post=to_post, detail={"reason": reason})
    return row


def _known_post(session: Session, code: str, field: str) -> str:
    code = (code or "").strip()
    version_id = tk.catalog_version_id(session)
    if not code or version_id is None:
        raise InvalidInput("岗位编码有误", [f"{field}: 请填写权责清单中的岗位编码"])
    try:
        resolved = catalog.resolve_posts(session, version_id, code)
    except NotFound:
        resolved = []
    if resolved != [code]:
        raise InvalidInput(f"'{code}' 不是岗位编码", [f"{field}: 未知岗位 '{code}'"])
    return code


def _require_transfer_target(session: Session, row: WorkTask, actor: Actor) -> None:
    # The state first: once one holder accepted (or refused), the others get 409, not 403.
    if not row.transfer_to_post:
        raise Conflict(f"任务「{row.name}」没有待接收的转办", ["task.transfer_to_post"])
    policy.require_receive_transfer(session, actor, row)


def accept_transfer(session: Session, clock, task_id: int, actor: Actor) -> WorkTask:
    """The receiving post takes the task over: it becomes the only handler post."""
    row, instance = _open_task(session, task_id)
    _require_transfer_target(session, row, actor)
    now = clock.now()
    sender = row.post_code
    new_post = row.transfer_to_post
    for kind in (HANDLER, TRANSFER, BACKUP):
        tk.unassign(session, row.id, kind)
    tk.assign(session, row.id, new_post, HANDLER, now)
    row.post_code, row.transfer_to_post = new_post, None
    row.claimed_by = row.claimed_staff_id = row.claimed_at = None
    row.delegated_post = None
    session.add(row)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, instance.id, "accepted", now, task_id=row.id, actor=actor, post_code=new_post,
                 target_post=new_post, detail={"from_post": sender})
    return row


def refuse_transfer(session: Session, clock, task_id: int, reason: str, actor: Actor) -> WorkTask:
    """The receiving post returns the transfer with a reason; the sender keeps the task."""
    row, instance = _open_task(session, task_id)
    _require_transfer_target(session, row, actor)
    reason = _reason(reason)
    now = clock.now()
    refused_post = row.transfer_to_post
    tk.unassign(session, row.id, TRANSFER)
    row.transfer_to_post = None
    session.add(row)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, instance.id, "refused", now, task_id=row.id, actor=actor, post_code=refused_post,
                 target_post=row.post_code, detail={"reason": reason})
    return row


def delegate_to_backup(session: Session, clock, task_id: int, actor: Actor, reason: str = "") -> WorkTask:
    """AB角: hand the task to the B角 post of its post while the holder is away.

    Allowed for the holder, for the B角 post's staff taking it over, and for the efficiency office.
    """
    row, instance = _open_task(session, task_id)
    version_id = tk.catalog_version_id(session)
    backup = catalog.backup_post(session, version_id, row.post_code) if version_id and row.post_code else None
    if not backup:
        raise Conflict(f"岗位 {row.post_code} 没有设置 B角岗位", [f"post.backup: {row.post_code}"])
    if row.delegated_post == backup:
        raise Conflict(f"任务「{row.name}」已委派给 B角岗位 {backup}", ["task.delegated_post"])
    policy.require_delegate(session, actor, row, backup)
    now = clock.now()
    row.delegated_post = backup
    row.claimed_by = row.claimed_staff_id = row.claimed_at = None
    session.add(row)
    tk.assign(session, row.id, backup, BACKUP, now)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, instance.id, "delegated", now, task_id=row.id, actor=actor, post_code=row.post_code,
                 target_post=backup, detail={"reason": reason.strip()} if reason else {})
    return row


def send_back(session: Session, clock, task_id: int, to_task_spec: str, reason: str, actor: Actor) -> WorkTask:
    """退回: return the case to an earlier step of this path; that step becomes ready again."""
    row, instance = _open_task(session, task_id)
    post = policy.require_act(session, actor, row)
    reason = _reason(reason)
    instance, workflow = load_workflow(session, instance.id)
    current = tk.find_task(workflow, row.spiff_task_id)
    target = _earlier_step(current, to_task_spec)
    if target is None:
        raise InvalidInput(f"不能退回到 '{to_task_spec}'", [f"to_task_spec: '{to_task_spec}' 不是本任务之前已办结的人工步骤"])
    now = clock.now()
    row.state, row.closed_reason, row.completed_at = TASK_CANCELLED, "sent_back", now
    session.add(row)
    session.flush()
    ev.log_event(session, instance.id, "sent_back", now, task_id=row.id, actor=actor, post_code=post,
                 detail={"reason": reason, "to_task_spec": to_task_spec})

    def step() -> None:
        workflow.reset_from_task_id(target.id)
        workflow.do_engine_steps()

    run_step(session, clock, instance, workflow, step, actor)
    save_workflow(session, instance, workflow, clock, actor, closing_reason="sent_back")
    return row


def _earlier_step(current, spec_name: str):
    """The nearest completed ancestor of `current` whose spec is the human step `spec_name`."""
    node = current.parent if current is not None else None
    while node is not None:
        if node.task_spec.name == spec_name and node.state == TaskState.COMPLETED and defs.is_human_task(node.task_spec):
            return node
        node = node.parent
    return None


ACTING_KINDS = ("claimed", "transferred", "accepted", "refused", "delegated", "completed", "sent_back", "commented")


def withdraw(session: Session, clock, task_id: int, actor: Actor) -> WorkTask:
    """撤回: take back a step you completed, as long as the next step has not acted on it yet.

    `task_id` is the completed task; it becomes ready again and the steps it led to are closed.
    """
    row = tk.lock_task_row(session, task_id)
    instance = get_instance(session, row.instance_id)
    policy.require_withdraw(actor, row)
    tk.require_running(instance)
    if row.state != TASK_COMPLETED or row.completed_by != actor.username:
        raise Conflict("只能撤回自己办结的步骤", [f"task.state: {row.state}", f"task.completed_by: {row.completed_by}"])
    later = _acted_since(session, instance.id, row)
    if later:
        raise Conflict("下一步已经办理，不能撤回", [f"timing_event: {kind}（任务 {tid}）" for kind, tid in later])
    instance, workflow = load_workflow(session, instance.id)
    task = tk.find_task(workflow, row.spiff_task_id)
    if task is None:
        raise Conflict("该步骤已不在流程中，不能撤回", ["task.spiff_task_id"])
    if task.state != TaskState.COMPLETED:
        # Already withdrawn (by a request that won the race, or before): the step is open again.
        raise Conflict("该步骤已撤回，正在待办中", ["task.state: 已重新待办"])
    now = clock.now()
    ev.log_event(session, instance.id, "withdrawn", now, task_id=row.id, actor=actor, post_code=row.completed_post,
                 since=row.completed_at)

    def step() -> None:
        workflow.reset_from_task_id(task.id)
        workflow.do_engine_steps()

    run_step(session, clock, instance, workflow, step, actor)
    save_workflow(session, instance, workflow, clock, actor, closing_reason="withdrawn")
    return row


def _acted_since(session: Session, instance_id: int, row: WorkTask) -> list[tuple[str, int | None]]:
    """Acting events on other tasks of the instance since `row` was completed; also refuses when a
    later step was completed (the row is then no longer the last step)."""
    events = session.exec(
        select(TimingEvent).where(
            TimingEvent.instance_id == instance_id,
            TimingEvent.kind.in_(ACTING_KINDS),
            TimingEvent.id > _completion_event_id(session, row),
        )
    ).all()
    return [(e.kind, e.task_id) for e in events if e.task_id != row.id]


def _completion_event_id(session: Session, row: WorkTask) -> int:
    event_id = session.exec(
        select(TimingEvent.id).where(TimingEvent.task_id == row.id, TimingEvent.kind == "completed")
        .order_by(TimingEvent.id.desc())
    ).first()
    return event_id or 0


def urge(session: Session, clock, task_id: int, actor: Actor, message: str = "") -> WorkTask:
    """催办: the efficiency office or the person who started the case presses for the task."""
    row, instance = _open_task(session, task_id)
    policy.require_urge(actor, instance)
    now = clock.now()
    row.urge_count += 1
    session.add(row)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, instance.id, "urged", now, task_id=row.id, actor=actor, target_post=row.post_code,
                 detail={"message": message.strip(), "count": row.urge_count})
    return row


def copy_to(session: Session, clock, task_id: int, posts: list[str], actor: Actor) -> WorkTask:
    """抄送: let other posts read the task (they see it in their inbox, may comment, may not act)."""
    row, instance = _open_task(session, task_id)
    relation = policy.require_copy(session, actor, row)
    if not posts:
        raise InvalidInput("请选择抄送岗位", ["posts: 不能为空"])
    problems, codes = [], []
    for i, code in enumerate(posts):
        try:
            codes.append(_known_post(session, code, f"posts[{i}]"))
        except InvalidInput as exc:
            problems += exc.problems
    if problems:
        raise InvalidInput("抄送岗位有误", problems)
    already = set(tk.posts_of(session, row.id, READER))
    new_codes = [code for code in dict.fromkeys(codes) if code not in already]
    if not new_codes:
        raise Conflict(f"任务「{row.name}」已抄送给 {'、'.join(dict.fromkeys(codes))}", ["posts: 均已抄送"])
    now = clock.now()
    for code in new_codes:
        tk.assign(session, row.id, code, READER, now)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, instance.id, "copied", now, task_id=row.id, actor=actor, post_code=relation.acting_post,
                 detail={"posts": new_codes})
    return row


def comment(session: Session, clock, task_id: int, text: str, actor: Actor) -> TimingEvent:
    """A remark on a task by anyone who may see it (open or closed)."""
    row = tk.get_task_row(session, task_id)
    policy.require_read_task(session, actor, row, policy.Action.COMMENT)
    text = _reason(text, "text")
    if len(text) > 2000:
        raise InvalidInput("意见过长", ["text: 最多 2000 字"])
    relation = policy.relation_of(session, row, actor)
    event_id = ev.log_event(session, row.instance_id, "commented", clock.now(), task_id=row.id, actor=actor,
                            post_code=relation.acting_post, detail={"text": text})
    return session.get(TimingEvent, event_id)
