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
from typing import Any

from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id, lane_targets, staff_posts
from engine.db import core_connection
from engine.errors import Conflict, NotFound
from engine.models.catalog import (
    CatalogPost,
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
    TimingEvent,
    WorkTask,
)
from engine.runtime import timers
from engine.runtime.definitions import task_properties
from engine.runtime.events import log_event
from engine.runtime.workflow_tasks import ready_human_tasks


class LaneError(Exception):
    """A ready task's lane cannot be resolved to posts; the instance fails with this message."""


# ---------------------------------------------------------------- catalog side


# Whether a lane names a post of the version in force (the usual lane: one look-up).
_POST_TABLE = CatalogPost.__table__  # type: ignore[attr-defined]
_IS_POST = core_select(_POST_TABLE.c.id).where(_POST_TABLE.c.version_id == bindparam("p_version"),
                                               _POST_TABLE.c.code == bindparam("p_code"))


def resolve_lane(session: Session, instance: ProcessInstance, task: Any) -> list[str]:
    """Post codes for a ready task; LaneError names the task, the lane and the problem."""
    lane = (task.task_spec.lane or "").strip()
    label = f"任务「{task.task_spec.bpmn_name or task.task_spec.name}」"
    version_id = catalog_version_id(session)
    if version_id is None:
        raise LaneError(f"{label}无法分派：尚无权责清单")
    if not lane:
        held = sorted(staff_posts(session, instance.starter_staff_id))
        if not held:
            raise LaneError(f"{label}没有泳道，且发起人不在任何岗位上")
        return held
    targets = _lane_targets(lane, task.data, label)
    known = lane_targets(session)  # this transaction's answers: tasks of one lane ask once
    posts: list[str] = []
    for target in targets:
        resolved = known.get((version_id, target))
        if resolved is None:
            if core_connection(session).execute(_IS_POST, {"p_version": version_id, "p_code": target}).first():
                resolved = [target]  # a post code, the usual lane: one look-up
            else:
                try:
                    resolved = catalog.resolve_posts(session, version_id, target)
                except NotFound as exc:
                    raise LaneError(f"{label}的泳道 '{lane}' 无法解析：{exc.message}") from None
            known[(version_id, target)] = resolved
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


def sync_tasks(session: Session, instance: ProcessInstance, workflow: Any, now: datetime,
               closing_reason: str = "cancelled") -> list[int]:
    """Make the open task rows match the workflow's ready human tasks; returns the new rows' ids."""
    return insert_tasks(session, instance, plan_tasks(session, instance, workflow, now, closing_reason), now)


def plan_tasks(session: Session, instance: ProcessInstance, workflow: Any, now: datetime,
               closing_reason: str = "cancelled") -> list[tuple[Any, list[str]]]:
    """The first half of `sync_tasks`: close the open rows whose task is no longer ready, and
    resolve the posts of the ready tasks that have no row yet (LaneError when a lane cannot be);
    returns those tasks with their posts, for `insert_tasks`."""
    assert instance.id is not None
    ready = {str(t.id): t for t in ready_human_tasks(workflow)}
    # An instance inserted in this transaction has no task rows yet: nothing to look for.
    kept: set[str] = set()
    if not timers.is_new_instance(session, instance.id):
        open_rows = core_connection(session).execute(_OPEN_TASK_KEYS, {"p_instance": instance.id}).all()
        for task_id, spiff_task_id, post_code, ready_at in open_rows:
            kept.add(spiff_task_id)
            if spiff_task_id not in ready:
                update_task(session, task_id, status=TASK_CANCELLED, closed_reason=closing_reason, completed_at=now)
                log_event(session, instance.id, "cancelled", now, task_id=task_id, post_code=post_code,
                          since=ready_at, detail={"reason": closing_reason})
    return [(task, resolve_lane(session, instance, task)) for spiff_id, task in ready.items() if spiff_id not in kept]


def insert_tasks(session: Session, instance: ProcessInstance, new: list[tuple[Any, list[str]]], now: datetime,
                 stage_ids: dict[str, int] | None = None) -> list[int]:
    """The second half: insert the rows of the tasks `plan_tasks` found (each naming its stage
    row, when `stage_ids` — SpiffWorkflow task id → stage row id — has it), their assignments and
    `task_ready` events; returns the new rows' ids."""
    assert instance.id is not None
    if not new:
        return []
    # One insert for the new rows (RETURNING their ids, in order), one for their assignments.
    stages = stage_ids or {}
    rows = [_new_row(instance.id, task, posts, now, stages.get(str(task.id))) for task, posts in new]
    connection = core_connection(session)
    if len(rows) == 1:  # the usual step: a plain insert (the many-rows form sorts by a sentinel)
        ids = [connection.execute(_INSERT_TASK, rows[0]).scalar_one()]
    else:
        ids = list(connection.execute(_INSERT_TASKS, rows).scalars())
    connection.execute(_INSERT_ASSIGNMENTS, [
        {"task_id": task_id, "post_code": post, "kind": HANDLER, "created_at": now}
        for task_id, (_, posts) in zip(ids, new, strict=True) for post in posts
    ])
    for task_id, (task, posts) in zip(ids, new, strict=True):
        detail: dict[str, Any] = {"posts": posts, "task_spec": task.task_spec.name}
        item = multi_instance_item(task)
        if item is not None:
            detail["item"] = item
        log_event(session, instance.id, "task_ready", now, task_id=task_id, post_code=posts[0], since=now,
                  detail=detail)
    return ids


# The statements of every step, built once on the tables (SQLAlchemy caches their compiled form;
# a Core statement costs half of the same one through the ORM, a flush ten times). They run on the
# session's connection (`engine.db.core_connection`, after the autoflush `session.execute` would
# do): the same transaction, without the ORM's per-statement work, which a statement that loads no
# ORM object needs none of. A row an ORM object of the session holds gets the
# values written (`update_task`), as a flush would leave it.
_TASK_TABLE = WorkTask.__table__  # type: ignore[attr-defined]
_OPEN_TASK_KEYS = (
    core_select(_TASK_TABLE.c.id, _TASK_TABLE.c.spiff_task_id, _TASK_TABLE.c.post_code, _TASK_TABLE.c.ready_at)
    .where(_TASK_TABLE.c.instance_id == bindparam("p_instance"), _TASK_TABLE.c.status == TASK_READY)
    .order_by(_TASK_TABLE.c.id)
)
_INSERT_TASK = insert(_TASK_TABLE).returning(_TASK_TABLE.c.id)
_INSERT_TASKS = insert(_TASK_TABLE).returning(_TASK_TABLE.c.id, sort_by_parameter_order=True)
_UPDATE_TASK = update(_TASK_TABLE).where(_TASK_TABLE.c.id == bindparam("p_task"))  # SET: the values given
_INSERT_ASSIGNMENTS = insert(TaskAssignment.__table__)  # type: ignore[attr-defined]


def open_tasks(session: Session, instance_id: int) -> list[WorkTask]:
    return list(session.exec(
        select(WorkTask).where(WorkTask.instance_id == instance_id, WorkTask.status == TASK_READY)
        .order_by(col(WorkTask.id))
    ))


def update_task(session: Session, task_id: int, **values: Any) -> None:
    """Write these columns of a task row now; an ORM object of the row in the session holds them
    as loaded state afterwards (no pending change)."""
    core_connection(session).execute(_UPDATE_TASK, {"p_task": task_id, **values})
    held = session.identity_map.get(identity_key(WorkTask, task_id))
    if held is not None:
        for name, value in values.items():
            set_committed_value(held, name, value)


def _new_row(instance_id: int, task: Any, posts: list[str], now: datetime, stage_id: int | None) -> dict[str, Any]:
    """The values of a new task row (every column the insert names; the others are NULL)."""
    spec = task.task_spec
    return {
        "instance_id": instance_id, "spiff_task_id": str(task.id), "task_spec": spec.name,
        "name": (spec.bpmn_name or spec.name)[:200], "lane": spec.lane or None,
        "stage": task_properties(spec).get("stage"), "status": TASK_READY, "post_code": posts[0], "ready_at": now,
        "urge_count": 0, "form_data": {}, "stage_deadline_id": stage_id,
    }


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


def task_items(session: Session, rows: list[WorkTask]) -> dict[int, dict[str, Any]]:
    """The multi-instance item of each listed task that has one (recorded in its `task_ready`
    event, so a check shows which problem it is about without restoring the workflow). Only the
    task of an item of a multi-instance step ("<id> [child]", `multi_instance_item`) has one: a
    list of ordinary steps — a case's start, a completion — reads nothing."""
    task_ids = [row.id for row in rows if row.id is not None and row.task_spec.endswith(MULTI_INSTANCE_SUFFIX)]
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(task_ids), 500):
        events = session.exec(
            select(TimingEvent.task_id, TimingEvent.detail)
            .where(col(TimingEvent.task_id).in_(task_ids[start:start + 500]), TimingEvent.kind == "task_ready")
            .order_by(col(TimingEvent.id))
        ).all()
        for task_id, detail in events:
            if task_id is not None and isinstance(detail, dict) and detail.get("item") is not None:
                found[task_id] = detail["item"]
    return found


def assignments(session: Session, task_id: int, kind: str | None = None) -> list[TaskAssignment]:
    query = select(TaskAssignment).where(TaskAssignment.task_id == task_id)
    if kind is not None:
        query = query.where(TaskAssignment.kind == kind)
    return list(session.exec(query.order_by(col(TaskAssignment.id))))


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
    query = delete(TaskAssignment).where(col(TaskAssignment.task_id) == task_id, col(TaskAssignment.kind) == kind)
    if post_code is not None:
        query = query.where(col(TaskAssignment.post_code) == post_code)
    session.execute(query)


# ---------------------------------------------------------------- state checks and the row lock
# Who may do what is decided by engine.auth.policy; this module checks states only.


def require_running(instance: ProcessInstance) -> None:
    if instance.status != RUNNING:
        labels = {"suspended": "已挂起", "completed": "已办结", "failed": "已失败"}
        raise Conflict(f"流程实例 {instance.id} {labels.get(instance.status, instance.status)}，不能办理",
                       [f"instance.status: {instance.status}"])


def require_open(row: WorkTask) -> None:
    if row.status != TASK_READY:
        raise Conflict(f"任务 {row.id}「{row.name}」已{'办结' if row.status == 'completed' else '关闭'}，不能再办理",
                       [f"task.status: {row.status}"])


def lock_task_row(session: Session, task_id: int) -> WorkTask:
    """The task row read fresh and locked until the transaction ends.

    `SELECT … FOR UPDATE` on PostgreSQL: a concurrent operation on the same task waits here until
    this transaction commits, then reads the row as it was left, so its state checks see the
    winner's change (409) instead of a stale row (both claiming, two transfer targets). SQLite
    takes its write lock at BEGIN IMMEDIATE, which already serialises the transactions.
    """
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
    found: dict[int | None, tuple[WorkTask, str]] = {}
    if held:
        rows = session.exec(
            select(WorkTask, TaskAssignment.kind)
            .join(TaskAssignment, col(TaskAssignment.task_id) == col(WorkTask.id))
            .where(col(TaskAssignment.post_code).in_(sorted(held)))
            .order_by(col(WorkTask.ready_at), col(WorkTask.id))
        ).all()
        rank = {HANDLER: 0, BACKUP: 1, TRANSFER: 2, READER: 3}
        for task, kind in rows:
            if kind != READER and task.status != TASK_READY:
                continue
            current = found.get(task.id)
            if current is None or rank[kind] < rank[current[1]]:
                found[task.id] = (task, kind)
    if include_done:
        done = session.exec(
            select(WorkTask).where(WorkTask.completed_by == actor.username).order_by(col(WorkTask.completed_at))
        ).all()
        for task in done:
            found.setdefault(task.id, (task, "done"))
    return sorted(found.values(), key=lambda pair: (pair[0].ready_at, pair[0].id))


def get_task_row(session: Session, task_id: int) -> WorkTask:
    row = session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在")
    return row
