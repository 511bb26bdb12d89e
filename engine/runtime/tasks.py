"""Tasks at posts: ready BPMN human tasks become `work_task` rows assigned to catalog posts.

A lane's `name` says where its tasks land: a post, unit or department code, a role bound in the
catalog (`legal_office`, …), or `$variable` naming task data that holds one of those. It is
resolved on the catalog version in force at the moment the task becomes ready, and the row keeps
the resolved posts (`task_assignment` rows of kind handler). A task without a lane lands at the
posts of the staff member who started the instance (首问负责: the first asked owns the matter).

`sync_tasks` runs in `save_workflow`, i.e. in the transaction of every engine step: new ready
tasks get rows (and a `task_ready` event), rows whose task is no longer ready are closed.
Who may act on a task is the permission policy's question (`engine.auth.policy`); this module
checks states and takes the task row lock (`lock_task_row`) every task operation starts with.
"""

from __future__ import annotations

from datetime import datetime
from itertools import chain
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, event
from sqlalchemy import select as core_select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.errors import Conflict, NotFound
from engine.models.catalog import (
    DRAFT,
    PUBLISHED,
    CatalogPost,
    CatalogPostHolder,
    CatalogStaff,
    CatalogVersion,
)
from engine.models.runtime import (
    BACKUP,
    HANDLER,
    READER,
    RUNNING,
    TASK_CANCELLED,
    TASK_READY,
    TRANSFER,
    ProcessInstance,
    TaskAssignment,
    WorkTask,
)
from engine.rawsql import Raw, Record, flush_pending, insert_row, record, records, set_loaded, update_row
from engine.runtime import timers
from engine.runtime.definitions import is_human_task, task_properties
from engine.runtime.events import log_event


class LaneError(Exception):
    """A ready task's lane cannot be resolved to posts; the instance fails with this message."""


# ---------------------------------------------------------------- workflow side


def all_tasks(workflow) -> list:
    """Every task of the workflow and its subprocesses (get_tasks(state=…) prunes subtrees)."""
    tasks = list(workflow.tasks.values())
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return tasks


def ready_human_tasks(workflow) -> list:
    return [t for t in all_tasks(workflow) if t.state == TaskState.READY and is_human_task(t.task_spec)]


def find_task(workflow, spiff_task_id: str):
    from uuid import UUID

    wanted = UUID(spiff_task_id)
    found = workflow.tasks.get(wanted)
    if found is not None:
        return found
    for task in all_tasks(workflow):
        if task.id == wanted:
            return task
    return None


# ---------------------------------------------------------------- catalog side


_VERSION_KEY = "dutyflow_catalog_version_id"


# The catalog look-ups of every step, as raw statements (engine.rawsql): the queries of
# engine.catalog.service's current_version, posts_of_staff and the post case of resolve_posts.
_NEWEST_PUBLISHED = Raw(
    core_select(CatalogVersion.id).where(CatalogVersion.status == PUBLISHED)
    .order_by(CatalogVersion.published_at.desc(), CatalogVersion.id.desc()).limit(1)
)
_NEWEST_DRAFT = Raw(
    core_select(CatalogVersion.id).where(CatalogVersion.status == DRAFT).order_by(CatalogVersion.id.desc()).limit(1)
)
_STAFF_POSTS = Raw(
    core_select(CatalogPost.code)
    .join(CatalogPostHolder, CatalogPostHolder.post_id == CatalogPost.id)
    .join(CatalogStaff, CatalogStaff.id == CatalogPostHolder.staff_pk)
    .where(CatalogStaff.version_id == bindparam("p_version"), CatalogStaff.staff_id == bindparam("p_staff"))
    .order_by(CatalogPost.id)
)
_IS_POST = Raw(
    core_select(CatalogPost.id).where(CatalogPost.version_id == bindparam("p_version"),
                                      CatalogPost.code == bindparam("p_code"))
)


def catalog_version_id(session: Session) -> int | None:
    """The catalog version in force (newest published, else newest draft), looked up once per
    transaction (a step sees one catalog)."""
    if _VERSION_KEY not in session.info:
        flush_pending(session)
        found = _NEWEST_PUBLISHED.scalar(session)
        if found is None:
            found = _NEWEST_DRAFT.scalar(session)
        session.info[_VERSION_KEY] = found
    return session.info[_VERSION_KEY]


def forget_catalog(session: Session) -> None:
    """Drop this transaction's catalog look-ups: the catalog was just written (e.g. a script of the
    catalog publication process published a version), and the next look-ups see the new state."""
    session.info.pop(_VERSION_KEY, None)
    session.info.pop("dutyflow_staff_posts", None)


# The look-ups above are dropped whenever the transaction writes a catalog table, by the ORM or by
# an ORM-enabled insert/update/delete statement, instead of after every engine step: a step
# that writes no catalog row keeps them, and a write outside a step is seen too.
def _is_catalog_class(cls) -> bool:
    return getattr(cls, "__module__", None) == _CATALOG_MODELS


_CATALOG_MODELS = "engine.models.catalog"


@event.listens_for(OrmSession, "after_flush")
def _forget_after_catalog_flush(session: OrmSession, _flush_context) -> None:
    if _VERSION_KEY not in session.info and "dutyflow_staff_posts" not in session.info:
        return  # nothing cached: nothing to drop
    if any(_is_catalog_class(type(obj)) for obj in chain(session.new, session.dirty, session.deleted)):
        forget_catalog(session)


@event.listens_for(OrmSession, "do_orm_execute")
def _forget_after_catalog_statement(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and _is_catalog_class(mapper.class_):
        forget_catalog(state.session)


def staff_posts(session: Session, staff_id: str | None) -> set[str]:
    """Posts the person holds in the catalog version in force (cached per transaction)."""
    if not staff_id:
        return set()
    cache = session.info.setdefault("dutyflow_staff_posts", {})
    if staff_id not in cache:
        version_id = catalog_version_id(session)
        found = _STAFF_POSTS.all(session, {"p_version": version_id, "p_staff": staff_id}) if version_id else []
        cache[staff_id] = {code for (code,) in found}
    return cache[staff_id]


def resolve_lane(session: Session, instance: ProcessInstance, task) -> list[str]:
    """Post codes for a ready task; LaneError names the task, the lane and the problem."""
    lane = (task.task_spec.lane or "").strip()
    label = f"任务「{task.task_spec.bpmn_name or task.task_spec.name}」"
    version_id = catalog_version_id(session)
    if version_id is None:
        raise LaneError(f"{label}无法分派：尚无权责清单")
    if not lane:
        posts = sorted(staff_posts(session, instance.starter_staff_id))
        if not posts:
            raise LaneError(f"{label}没有泳道，且发起人不在任何岗位上")
        return posts
    targets = _lane_targets(lane, task.data, label)
    posts: list[str] = []
    for target in targets:
        if _IS_POST.first(session, {"p_version": version_id, "p_code": target}) is not None:
            if target not in posts:  # a post code, the usual lane: one look-up
                posts.append(target)
            continue
        try:
            resolved = catalog.resolve_posts(session, version_id, target)
        except NotFound as exc:
            raise LaneError(f"{label}的泳道 '{lane}' 无法解析：{exc.message}") from None
        posts += [p for p in resolved if p not in posts]
    if not posts:
        raise LaneError(f"{label}的泳道 '{lane}' 没有对应的岗位")
    return posts


def _lane_targets(lane: str, data: dict[str, Any], label: str) -> list[str]:
    if not lane.startswith("$"):
        return [lane]
    value = data.get(lane[1:])
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return [v.strip() for v in value]
    raise LaneError(f"{label}的泳道 '{lane}' 无法解析：流程变量 {lane[1:]} 未设置或不是岗位编码")


# ---------------------------------------------------------------- sync


def sync_tasks(session: Session, instance: ProcessInstance, workflow, now: datetime,
               closing_reason: str = "cancelled") -> list[WorkTask]:
    """Make the open task rows match the workflow's ready human tasks; returns the new rows."""
    ready = {str(t.id): t for t in ready_human_tasks(workflow)}
    # An instance inserted in this transaction has no task rows yet: nothing to look for.
    open_rows = [] if timers.is_new_instance(session, instance.id) else open_tasks(session, instance.id)
    for row in open_rows:
        if row.spiff_task_id not in ready:
            close_task(session, row, now, closing_reason)
    kept = {row.spiff_task_id for row in open_rows}
    created = []
    for spiff_id, task in ready.items():
        if spiff_id not in kept:
            created.append(_create_row(session, instance, task, now))
    return created


# The statements every step runs, as raw statements (engine.rawsql): a task row or an assignment
# through the ORM costs ten to thirty times what the database needs for it.
_TASK_TABLE = WorkTask.__table__
TASK_COLUMNS = tuple(c.name for c in _TASK_TABLE.columns)
_TASK = Raw(core_select(*_TASK_TABLE.columns).where(_TASK_TABLE.c.id == bindparam("p_task")))
_OPEN_TASKS = Raw(
    core_select(*_TASK_TABLE.columns)
    .where(_TASK_TABLE.c.instance_id == bindparam("p_instance"), _TASK_TABLE.c.state == TASK_READY)
    .order_by(_TASK_TABLE.c.id)
)
_ASSIGNMENT_TABLE = TaskAssignment.__table__
_ASSIGNMENT_COLUMNS = tuple(c.name for c in _ASSIGNMENT_TABLE.columns)
_ASSIGNMENTS = Raw(
    core_select(*_ASSIGNMENT_TABLE.columns).where(_ASSIGNMENT_TABLE.c.task_id == bindparam("p_task"))
    .order_by(_ASSIGNMENT_TABLE.c.id)
)
_INSERT_ASSIGNMENT = Raw(_ASSIGNMENT_TABLE.insert().values(
    {c: bindparam(c) for c in ("task_id", "post_code", "kind", "created_at")}
))


def task_record(session: Session, task_id: int) -> Record:
    """A task row as a Record (engine.rawsql); NotFound when there is none."""
    flush_pending(session)
    found = _TASK.first(session, {"p_task": task_id})
    if found is None:
        raise NotFound(f"任务 {task_id} 不存在")
    return record(TASK_COLUMNS, found)


def open_tasks(session: Session, instance_id: int) -> list[Record]:
    flush_pending(session)
    return records(TASK_COLUMNS, _OPEN_TASKS.all(session, {"p_instance": instance_id}))


def close_task(session: Session, row, now: datetime, reason: str) -> None:
    """Close a row the workflow moved past without a person completing it (event `cancelled`)."""
    values = {"state": TASK_CANCELLED, "closed_reason": reason, "completed_at": now}
    update_row(session, WorkTask, row.id, values)
    set_loaded(row, **values)
    log_event(session, row.instance_id, "cancelled", now, task_id=row.id, detail={"reason": reason})


MULTI_INSTANCE_SUFFIX = " [child]"


def bpmn_id_of(task_spec_name: str) -> str:
    """The BPMN element id of a task row's spec: SpiffWorkflow names the task of each item of a
    multi-instance step "<id> [child]"; people and API clients know the step by its id."""
    return task_spec_name.removesuffix(MULTI_INSTANCE_SUFFIX)


def multi_instance_item(task) -> dict[str, Any] | None:
    """For the task of one item of a multi-instance step: {"name": the input item variable
    (e.g. `checked_item`), "value": this task's item}; None for an ordinary task."""
    parent_spec = getattr(task.parent, "task_spec", None)
    input_item = getattr(parent_spec, "input_item", None)
    if input_item is None or not task.task_spec.name.endswith(MULTI_INSTANCE_SUFFIX):
        return None
    name = input_item.bpmn_id
    return {"name": name, "value": task.data.get(name)}


def task_items(session: Session, task_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The multi-instance item of each listed task that has one (recorded in its `task_ready`
    event, so a check shows which problem it is about without restoring the workflow)."""
    from engine.models.runtime import TimingEvent

    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(task_ids), 500):
        rows = session.exec(
            select(TimingEvent.task_id, TimingEvent.detail)
            .where(TimingEvent.task_id.in_(task_ids[start:start + 500]), TimingEvent.kind == "task_ready")
            .order_by(TimingEvent.id)
        ).all()
        for task_id, detail in rows:
            if isinstance(detail, dict) and detail.get("item") is not None:
                found[task_id] = detail["item"]
    return found


def _create_row(session: Session, instance: ProcessInstance, task, now: datetime) -> Record:
    posts = resolve_lane(session, instance, task)
    spec = task.task_spec
    values = dict(
        instance_id=instance.id, spiff_task_id=str(task.id), task_spec=spec.name,
        name=(spec.bpmn_name or spec.name)[:200], lane=(spec.lane or None), stage=task_properties(spec).get("stage"),
        state=TASK_READY, post_code=posts[0], ready_at=now,
    )
    row_id = insert_row(session, WorkTask, values)
    _INSERT_ASSIGNMENT.run_many(session, [
        {"task_id": row_id, "post_code": post, "kind": HANDLER, "created_at": now} for post in posts
    ])
    detail: dict[str, Any] = {"posts": posts, "task_spec": spec.name}
    item = multi_instance_item(task)
    if item is not None:
        detail["item"] = item
    log_event(session, instance.id, "task_ready", now, task_id=row_id, post_code=posts[0], since=now, detail=detail)
    return Record(id=row_id, **values)


def assignments(session: Session, task_id: int, kind: str | None = None) -> list:
    if kind is None:
        flush_pending(session)
        return records(_ASSIGNMENT_COLUMNS, _ASSIGNMENTS.all(session, {"p_task": task_id}))
    query = select(TaskAssignment).where(TaskAssignment.task_id == task_id)
    if kind is not None:
        query = query.where(TaskAssignment.kind == kind)
    return list(session.exec(query.order_by(TaskAssignment.id)))


def posts_of(session: Session, task_id: int, kind: str) -> list[str]:
    return [a.post_code for a in assignments(session, task_id, kind)]


def assign(session: Session, task_id: int, post_code: str, kind: str, now: datetime) -> None:
    exists = session.exec(
        select(TaskAssignment.id).where(
            TaskAssignment.task_id == task_id, TaskAssignment.post_code == post_code, TaskAssignment.kind == kind
        )
    ).first()
    if exists is None:
        session.add(TaskAssignment(task_id=task_id, post_code=post_code, kind=kind, created_at=now))
        session.flush()


def unassign(session: Session, task_id: int, kind: str, post_code: str | None = None) -> None:
    query = delete(TaskAssignment).where(TaskAssignment.task_id == task_id, TaskAssignment.kind == kind)
    if post_code is not None:
        query = query.where(TaskAssignment.post_code == post_code)
    session.execute(query)


# ---------------------------------------------------------------- state checks and the row lock
# Who may do what is decided by engine.auth.policy; this module checks states only.


def require_running(instance: ProcessInstance) -> None:
    if instance.status != RUNNING:
        labels = {"suspended": "已挂起", "completed": "已办结", "failed": "已失败"}
        raise Conflict(f"流程实例 {instance.id} {labels.get(instance.status, instance.status)}，不能办理",
                       [f"instance.status: {instance.status}"])


def require_open(row: WorkTask) -> None:
    if row.state != TASK_READY:
        raise Conflict(f"任务 {row.id}「{row.name}」已{'办结' if row.state == 'completed' else '关闭'}，不能再办理",
                       [f"task.state: {row.state}"])


def lock_task_row(session: Session, task_id: int) -> WorkTask:
    """The task row read fresh and locked until the transaction ends.

    `SELECT … FOR UPDATE` on PostgreSQL: a concurrent operation on the same task waits here until
    this transaction commits, then reads the row as it was left, so its state checks see the
    winner's change (409) instead of a stale row (both claiming, two transfer targets). SQLite
    takes its write lock at BEGIN IMMEDIATE, which already serialises the transactions.
    """
    flush_pending(session)
    row = session.exec(
        select(WorkTask).where(WorkTask.id == task_id).with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在")
    return row


def inbox_rows(session: Session, actor: Actor, include_done: bool = False) -> list[tuple[WorkTask, str]]:
    """(task, relation) pairs for the actor: open tasks at their posts, B角 delegations, pending
    transfers to them and copies; with include_done also the tasks they completed."""
    held = staff_posts(session, actor.staff_id)
    found: dict[int, tuple[WorkTask, str]] = {}
    if held:
        rows = session.exec(
            select(WorkTask, TaskAssignment.kind)
            .join(TaskAssignment, TaskAssignment.task_id == WorkTask.id)
            .where(TaskAssignment.post_code.in_(sorted(held)))
            .order_by(WorkTask.ready_at, WorkTask.id)
        ).all()
        rank = {HANDLER: 0, BACKUP: 1, TRANSFER: 2, READER: 3}
        for task, kind in rows:
            if kind != READER and task.state != TASK_READY:
                continue
            current = found.get(task.id)
            if current is None or rank[kind] < rank[current[1]]:
                found[task.id] = (task, kind)
    if include_done:
        done = session.exec(
            select(WorkTask).where(WorkTask.completed_by == actor.username).order_by(WorkTask.completed_at)
        ).all()
        for task in done:
            found.setdefault(task.id, (task, "done"))
    return sorted(found.values(), key=lambda pair: (pair[0].ready_at, pair[0].id))


def get_task_row(session: Session, task_id: int) -> WorkTask:
    row = session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在")
    return row
