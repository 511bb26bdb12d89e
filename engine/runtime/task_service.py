"""Task operations: the inbox, reading a task, and what people do to a task — claim, complete,
transfer (and accept or refuse it), delegate to the B角, send back, withdraw, urge, copy, comment.

All operations take `(session, clock, …, actor)` and change nothing unless they succeed: wrong
state → Conflict (409), refused by the permission policy (`engine.auth.policy`) → Forbidden (403),
bad input → InvalidInput (422), unknown ids → NotFound (404).

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

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from engine.auth import policy
from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.runtime import (
    BACKUP,
    HANDLER,
    READER,
    TASK_CANCELLED,
    TASK_COMPLETED,
    TRANSFER,
    ProcessDefinition,
    ProcessInstance,
    TaskAssignment,
    TimingEvent,
    WorkTask,
)
from engine.runtime import definitions as defs
from engine.runtime import events as ev
from engine.runtime import rollups
from engine.runtime import tasks as tk
from engine.runtime.clocks.views import task_deadline
from engine.runtime.forms import FormField, form_of, validate_submission
from engine.runtime.instance_service import check_collections, check_data, get_instance
from engine.runtime.instances import (
    bump_version,
    load_task,
    load_workflow,
    restore_workflow,
    run_step,
    save_workflow,
)
from engine.runtime.scripting import provided_names, workflow_inputs
from engine.runtime.serializer import SPEC_CACHE
from engine.runtime.workflow_tasks import find_task, is_human_task


@dataclass(frozen=True)
class InboxEntry:
    task: WorkTask
    relation: str  # handler / backup / transfer / reader / done
    instance: ProcessInstance
    deadline: Any = None  # engine.runtime.clocks.views.DeadlineView of an open task with a limit


def inbox(session: Session, clock: Any, actor: Actor, include_done: bool = False) -> list[InboxEntry]:
    """Tasks for the signed-in staff member: at their posts, delegated to them as B角, transfers
    waiting for their acceptance, copies to them, and (include_done) what they completed."""
    entries = []
    for row, relation in tk.inbox_rows(session, actor, include_done):
        instance = session.get(ProcessInstance, row.instance_id)
        assert instance is not None  # the foreign key
        deadline = task_deadline(session, row, clock) if row.status == "ready" else None
        entries.append(InboxEntry(task=row, relation=relation, instance=instance, deadline=deadline))
    return entries


def get_task(session: Session, task_id: int, actor: Actor | None = None) -> WorkTask:
    """A task row; with an actor, only when they may see it (post, B角, transfer, copy, supervisor)."""
    row = tk.get_task_row(session, task_id)
    if actor is not None:
        policy.require_read_task(session, actor, row)
    return row


# A task's posts by assignment kind and its definition's content hash (the key of the parsed spec
# its form comes from), in one read: every task operation answers with both (api.routes.runtime),
# and the task page shows both. Built once.
_POSTS_AND_SPEC_KEY = (
    select(col(ProcessDefinition.content_hash), col(TaskAssignment.kind), col(TaskAssignment.post_code))
    .select_from(WorkTask)
    .join(ProcessInstance, col(ProcessInstance.id) == col(WorkTask.instance_id))
    .join(ProcessDefinition, col(ProcessDefinition.id) == col(ProcessInstance.definition_id))
    .outerjoin(TaskAssignment, col(TaskAssignment.task_id) == col(WorkTask.id))
    .where(col(WorkTask.id) == bindparam("p_task"))
    .order_by(col(TaskAssignment.id))
)


def task_posts_and_form(session: Session, row: WorkTask) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """The task's posts by assignment kind — handler, backup, transfer, reader, each kind in the
    order it was assigned — and the form fields it declares (for pages and API clients): one
    statement while the process's spec is parsed in this process (otherwise its definition is read
    and parsed too)."""
    assert row.id is not None
    found = session.execute(_POSTS_AND_SPEC_KEY, {"p_task": row.id}).all()
    posts: dict[str, list[str]] = {kind: [] for kind in (HANDLER, BACKUP, TRANSFER, READER)}
    for _spec_key, kind, post_code in found:
        if kind in posts:
            posts[kind].append(post_code)
    if not found:  # the row is gone (the foreign keys keep every other case out)
        return posts, []
    return posts, [field.as_dict() for field in _fields_of(session, found[0][0], row)]


def task_form(session: Session, row: WorkTask) -> list[dict[str, Any]]:
    """The form fields the task declares (for pages and API clients)."""
    return task_posts_and_form(session, row)[1]


def process_form_fields(session: Session, instance: ProcessInstance) -> dict[str, FormField]:
    """Every form field the instance's process declares, by name (the first declaration of a name
    wins): what pages label a case's data with."""
    definition = defs.get_definition(session, instance.definition_id)
    fields: dict[str, FormField] = {}
    for spec in defs.human_task_specs(definition):
        for field in form_of(defs.task_properties(spec)):
            fields.setdefault(field.name, field)
    return fields


def task_items(session: Session, rows: list[WorkTask]) -> dict[int, dict[str, Any]]:
    """Task id → {"name", "value"} of the multi-instance item each task is about (e.g. which
    problem a rectification check concerns); tasks of ordinary steps are absent."""
    return tk.task_items(session, rows)


def task_item(session: Session, row: WorkTask) -> dict[str, Any] | None:
    return task_items(session, [row]).get(row.id) if row.id is not None else None


def bpmn_id(row: WorkTask) -> str:
    """The step's BPMN element id (a multi-instance task's spec name without " [child]")."""
    return tk.bpmn_id_of(row.task_spec)


def task_posts(session: Session, row: WorkTask) -> dict[str, list[str]]:
    """Posts by assignment kind: handler, backup, transfer, reader (each kind in the order it was
    assigned)."""
    return task_posts_and_form(session, row)[0]


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


def claim_task(session: Session, clock: Any, task_id: int, actor: Actor) -> WorkTask:
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
    ev.log_event(session, row.instance_id, "claimed", now, task_id=task_id, actor=actor, post_code=post)
    return row


def complete_task(session: Session, clock: Any, task_id: int, data: dict[str, Any], actor: Actor) -> WorkTask:
    """办结 a step with its form data (validated against the task's declared fields)."""
    row, instance, spec_key = load_task(session, task_id)
    tk.require_running(instance)
    tk.require_open(row)
    post = policy.require_act(session, actor, row)
    fields = _fields_of(session, spec_key, row)
    cleaned = check_data(validate_submission(fields, data or {}, provided_names()))
    workflow = restore_workflow(session, instance, spec_key)
    check_collections(cleaned, workflow_inputs(workflow))
    task = find_task(workflow, row.spiff_task_id)
    if task is None or not task.state == TaskState.READY:
        raise Conflict(f"任务「{row.name}」已不在待办状态，请刷新", ["task.status"])
    now = clock.now()
    values: dict[str, Any] = {
        "status": TASK_COMPLETED, "closed_reason": "completed", "completed_at": now, "completed_by": actor.username,
        "completed_staff_id": actor.staff_id, "completed_post": post, "form_data": cleaned,
    }
    detail: dict[str, Any] = {"fields": sorted(cleaned)}
    if row.transfer_to_post:
        detail["dropped_transfer_to"] = row.transfer_to_post
        values["transfer_to_post"] = None
        tk.unassign(session, task_id, TRANSFER)
    tk.update_task(session, task_id, **values)  # written before the instance: the order every step locks in
    rollups.note_step(session, task_id, rollups.StepFacts(
        post_code=post if post is not None else (row.post_code or ""), process_id=instance.process_id,
        ready_at=row.ready_at, stage_id=row.stage_deadline_id))
    ev.log_event(session, row.instance_id, "completed", now, task_id=task_id, actor=actor, post_code=post,
                 since=row.ready_at, detail=detail)
    task.data.update(cleaned)

    def step() -> None:
        task.run()
        workflow.do_engine_steps()

    run_step(session, clock, instance, workflow, step, actor)
    save_workflow(session, instance, workflow, clock, actor)
    return row


def _fields_of(session: Session, spec_key: str, row: WorkTask) -> list[FormField]:
    """The task's form fields from its process's parsed spec (`spec_key`: its definition's content
    hash), parsed from the definition row first when this process has not parsed it yet."""
    cached = SPEC_CACHE.get(spec_key)
    if cached:
        specs = defs.human_specs_of(*cached)
    else:
        instance = session.get(ProcessInstance, row.instance_id)
        assert instance is not None  # the foreign key
        specs = defs.human_task_specs(defs.get_definition(session, instance.definition_id))
    for spec in specs:
        if spec.name == row.task_spec:
            return form_of(defs.task_properties(spec))
    return []


def transfer_task(session: Session, clock: Any, task_id: int, to_post: str, reason: str, actor: Actor) -> WorkTask:
    """转办: ask another post to take the task over; the sender stays responsible until it accepts."""
    row, instance = _open_task(session, task_id)
    post = policy.require_act(session, actor, row)
    reason = _reason(reason)
    to_post = _known_post(session, to_post, "to_post")
    if row.transfer_to_post:
        raise Conflict(f"任务「{row.name}」已在转办给 {row.transfer_to_post}，等待对方接收", ["task.transfer_to_post"])
    if to_post in tk.posts_of(session, task_id, HANDLER):
        raise InvalidInput("不能转办给本岗位", [f"to_post: {to_post} 已是承办岗位"])
    now = clock.now()
    row.transfer_to_post, row.transfer_reason = to_post, reason
    session.add(row)
    tk.assign(session, task_id, to_post, TRANSFER, now)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, row.instance_id, "transferred", now, task_id=task_id, actor=actor, post_code=post,
                 target_post=to_post, detail={"reason": reason})
    return row


def _known_post(session: Session, code: str, field: str) -> str:
    code = (code or "").strip()
    version_id = catalog_version_id(session)
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


def accept_transfer(session: Session, clock: Any, task_id: int, actor: Actor) -> WorkTask:
    """The receiving post takes the task over: it becomes the only handler post."""
    row, instance = _open_task(session, task_id)
    _require_transfer_target(session, row, actor)
    now = clock.now()
    sender = row.post_code
    new_post = row.transfer_to_post
    for kind in (HANDLER, TRANSFER, BACKUP):
        tk.unassign(session, task_id, kind)
    assert new_post is not None  # checked by _require_transfer_target
    tk.assign(session, task_id, new_post, HANDLER, now)
    row.post_code, row.transfer_to_post = new_post, None
    row.claimed_by = row.claimed_staff_id = row.claimed_at = None
    row.delegated_post = None
    session.add(row)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, row.instance_id, "accepted", now, task_id=task_id, actor=actor, post_code=new_post,
                 target_post=new_post, detail={"from_post": sender})
    return row


def refuse_transfer(session: Session, clock: Any, task_id: int, reason: str, actor: Actor) -> WorkTask:
    """The receiving post returns the transfer with a reason; the sender keeps the task."""
    row, instance = _open_task(session, task_id)
    _require_transfer_target(session, row, actor)
    reason = _reason(reason)
    now = clock.now()
    refused_post = row.transfer_to_post
    tk.unassign(session, task_id, TRANSFER)
    row.transfer_to_post = None
    session.add(row)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, row.instance_id, "refused", now, task_id=task_id, actor=actor, post_code=refused_post,
                 target_post=row.post_code, detail={"reason": reason})
    return row


def delegate_to_backup(session: Session, clock: Any, task_id: int, actor: Actor, reason: str = "") -> WorkTask:
    """AB角: hand the task to the B角 post of its post while the holder is away.

    Allowed for the holder, for the B角 post's staff taking it over, and for the efficiency office.
    """
    row, instance = _open_task(session, task_id)
    version_id = catalog_version_id(session)
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
    tk.assign(session, task_id, backup, BACKUP, now)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, row.instance_id, "delegated", now, task_id=task_id, actor=actor, post_code=row.post_code,
                 target_post=backup, detail={"reason": reason.strip()} if reason else {})
    return row


def send_back(session: Session, clock: Any, task_id: int, to_task_spec: str, reason: str, actor: Actor) -> WorkTask:
    """退回: return the case to an earlier step of this path; that step becomes ready again."""
    row, instance = _open_task(session, task_id)
    post = policy.require_act(session, actor, row)
    reason = _reason(reason)
    instance, workflow = load_workflow(session, row.instance_id)
    current = find_task(workflow, row.spiff_task_id)
    target = _earlier_step(current, to_task_spec)
    if target is None:
        raise InvalidInput(f"不能退回到 '{to_task_spec}'", [f"to_task_spec: '{to_task_spec}' 不是本任务之前已办结的人工步骤"])
    now = clock.now()
    row.status, row.closed_reason, row.completed_at = TASK_CANCELLED, "sent_back", now
    session.add(row)
    session.flush()
    ev.log_event(session, row.instance_id, "sent_back", now, task_id=task_id, actor=actor, post_code=post,
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
        if node.task_spec.name == spec_name and node.state == TaskState.COMPLETED and is_human_task(node.task_spec):
            return node
        node = node.parent
    return None


ACTING_KINDS = ("claimed", "transferred", "accepted", "refused", "delegated", "completed", "sent_back", "commented")


def withdraw(session: Session, clock: Any, task_id: int, actor: Actor) -> WorkTask:
    """撤回: take back a step you completed, as long as the next step has not acted on it yet.

    `task_id` is the completed task; it becomes ready again and the steps it led to are closed.
    """
    row = tk.lock_task_row(session, task_id)
    instance = get_instance(session, row.instance_id)
    policy.require_withdraw(actor, row)
    tk.require_running(instance)
    if row.status != TASK_COMPLETED or row.completed_by != actor.username:
        raise Conflict("只能撤回自己办结的步骤", [f"task.status: {row.status}", f"task.completed_by: {row.completed_by}"])
    later = _acted_since(session, row.instance_id, row)
    if later:
        raise Conflict("下一步已经办理，不能撤回", [f"timing_event: {kind}（任务 {tid}）" for kind, tid in later])
    instance, workflow = load_workflow(session, row.instance_id)
    task = find_task(workflow, row.spiff_task_id)
    if task is None:
        raise Conflict("该步骤已不在流程中，不能撤回", ["task.spiff_task_id"])
    if task.state != TaskState.COMPLETED:
        # Already withdrawn (by a request that won the race, or before): the step is open again.
        raise Conflict("该步骤已撤回，正在待办中", ["task.status: 已重新待办"])
    now = clock.now()
    ev.log_event(session, row.instance_id, "withdrawn", now, task_id=task_id, actor=actor, post_code=row.completed_post,
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
            col(TimingEvent.kind).in_(ACTING_KINDS),
            col(TimingEvent.id) > _completion_event_id(session, row),
        )
    ).all()
    return [(e.kind, e.task_id) for e in events if e.task_id != row.id]


def _completion_event_id(session: Session, row: WorkTask) -> int:
    event_id = session.exec(
        select(TimingEvent.id).where(TimingEvent.task_id == row.id, TimingEvent.kind == "completed")
        .order_by(col(TimingEvent.id).desc())
    ).first()
    return event_id or 0


def urge(session: Session, clock: Any, task_id: int, actor: Actor, message: str = "") -> WorkTask:
    """催办: the efficiency office or the person who started the case presses for the task."""
    row, instance = _open_task(session, task_id)
    policy.require_urge(actor, instance)
    now = clock.now()
    row.urge_count += 1
    session.add(row)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, row.instance_id, "urged", now, task_id=task_id, actor=actor, target_post=row.post_code,
                 detail={"message": message.strip(), "count": row.urge_count})
    return row


def copy_to(session: Session, clock: Any, task_id: int, posts: list[str], actor: Actor) -> WorkTask:
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
    already = set(tk.posts_of(session, task_id, READER))
    new_codes = [code for code in dict.fromkeys(codes) if code not in already]
    if not new_codes:
        raise Conflict(f"任务「{row.name}」已抄送给 {'、'.join(dict.fromkeys(codes))}", ["posts: 均已抄送"])
    now = clock.now()
    for code in new_codes:
        tk.assign(session, task_id, code, READER, now)
    bump_version(session, instance, updated_at=now)
    ev.log_event(session, row.instance_id, "copied", now, task_id=task_id, actor=actor, post_code=relation.acting_post,
                 detail={"posts": new_codes})
    return row


def comment(session: Session, clock: Any, task_id: int, text: str, actor: Actor) -> TimingEvent:
    """A remark on a task by anyone who may see it (open or closed)."""
    row = tk.get_task_row(session, task_id)
    policy.require_read_task(session, actor, row, policy.Action.COMMENT)
    text = _reason(text, "text")
    if len(text) > 2000:
        raise InvalidInput("意见过长", ["text: 最多 2000 字"])
    relation = policy.relation_of(session, row, actor)
    return ev.record_event(session, row.instance_id, "commented", clock.now(), task_id=task_id, actor=actor,
                           post_code=relation.acting_post, detail={"text": text})
