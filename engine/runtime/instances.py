"""Instances: create, load and save workflows; run engine steps safely.

Persistence contract (shared with the timers area):
- `load_workflow(session, instance_id)` → (row, workflow) with the restricted script engine.
- `save_workflow(session, row, workflow, clock, actor=None)` writes, in the caller's transaction,
  the task rows (`tasks.plan_tasks`, `tasks.insert_tasks`), the workflow state and the end of the
  instance (optimistic: the mapper's version column, `UPDATE … WHERE id = :id AND version = :v`,
  0 rows → Conflict), timer, deadline and warning rows (`after_step`), and the step's timing
  events in one insert.
- `engine_step(session, clock, row, actor)` is the context every engine step runs in: the script
  context for registered functions and the timers' clock shim for BPMN timers.
- `run_step(...)` runs one engine action and turns any error raised by the process (script error,
  refused code, no matching gateway condition, unresolvable lane) into a failed instance with a
  `failed` event, instead of an error escaping to the server. A rule violation (a
  `DutyflowError` raised by a script function: a second one-time notice, a refusal without a
  reason) is the acting person's mistake, not the process's: it is re-raised so they get the 4xx
  answer and the transaction rolls back. Steps nobody asked for (timers, warnings) pass
  `raise_rule_errors=False`: there is nobody to answer, so the instance fails as for any error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from engine.db import core_connection
from engine.errors import Conflict, DutyflowError, NotFound
from engine.models.runtime import COMPLETED, FAILED, RUNNING, ProcessDefinition, ProcessInstance, WorkTask
from engine.runtime import timers, workflow_cache
from engine.runtime.calendars import FINGERPRINT_COLUMNS, note_fingerprint
from engine.runtime.clocks.sync import cancel_overdue_followups, open_clocks, settle_clocks
from engine.runtime.definitions import get_definition, load_script_libraries, spec_of
from engine.runtime.events import log_event, write_events
from engine.runtime.scripting import UnsafeScript, script_context
from engine.runtime.serializer import SPEC_CACHE, deserialize_workflow, new_workflow, serialize_workflow
from engine.runtime.sim_clock import engine_time
from engine.runtime.tasks import LaneError, insert_tasks, plan_tasks, sync_tasks

# The instance row and its definition's content hash (the key of its parsed spec), in one read;
# read fresh, as a step must see what the last committed step saved.
_INSTANCE_WITH_SPEC = (
    select(ProcessInstance, ProcessDefinition.content_hash)
    .join(ProcessDefinition, col(ProcessDefinition.id) == col(ProcessInstance.definition_id))
    .where(col(ProcessInstance.id) == bindparam("p_instance"))
    .execution_options(populate_existing=True)
)


class FixedClock:
    """The clock of a step nobody asked for (a timer firing, a warning): always its one moment."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def load_instance(session: Session, instance_id: int) -> tuple[ProcessInstance, str]:
    """The instance row, read fresh, and its definition's content hash (the key of its spec)."""
    found = session.exec(_INSTANCE_WITH_SPEC, params={"p_instance": instance_id}).first()
    if found is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    return found[0], found[1]


# A task row with its instance and the instance's spec key, in one read (a step completing a task);
# also the calendar's fingerprint, which the step's timing events would otherwise ask for alone.
_TASK_WITH_INSTANCE = (
    select(WorkTask, ProcessInstance, ProcessDefinition.content_hash)
    .add_columns(*FINGERPRINT_COLUMNS)
    .join(ProcessInstance, col(ProcessInstance.id) == col(WorkTask.instance_id))
    .join(ProcessDefinition, col(ProcessDefinition.id) == col(ProcessInstance.definition_id))
    .where(col(WorkTask.id) == bindparam("p_task"))
    .execution_options(populate_existing=True)
)


def load_task(session: Session, task_id: int) -> tuple[WorkTask, ProcessInstance, str]:
    """A task row, its instance (both read fresh) and the instance's spec key; NotFound without."""
    found = session.execute(_TASK_WITH_INSTANCE, {"p_task": task_id}).first()
    if found is None:
        raise NotFound(f"任务 {task_id} 不存在")
    row, instance, spec_key, years, newest, days = found
    note_fingerprint(session, years, newest, days)
    return row, instance, spec_key


def load_workflow(session: Session, instance_id: int) -> tuple[ProcessInstance, Any]:
    """The instance row and its restored workflow (restricted script engine attached)."""
    instance, spec_key = load_instance(session, instance_id)
    return instance, restore_workflow(session, instance, spec_key)


def restore_workflow(session: Session, instance: ProcessInstance, spec_key: str) -> Any:
    """The workflow of an instance (restricted script engine attached); `spec_key` is its
    definition's content hash."""
    assert instance.id is not None
    live = workflow_cache.take(session, instance.id, instance.state_json)
    if live is not None:
        return live  # the object the last committed step saved as exactly this state (so its
        # functions were registered in this process then)
    load_script_libraries()  # the functions its scripts call must be registered in this process
    if SPEC_CACHE.get(spec_key) is None:
        spec_of(get_definition(session, instance.definition_id))  # puts the spec in the converter's cache
    return deserialize_workflow(instance.state_json)


def create_workflow(definition: ProcessDefinition, data: dict[str, Any]) -> Any:
    """A new workflow of a definition version, with `data` seeded on its Start task (the caller
    registered the script libraries: `start_instance` does so before checking the data)."""
    spec, subprocess_specs = spec_of(definition)
    workflow = new_workflow(definition.content_hash, spec, subprocess_specs)
    workflow.get_next_task(spec_name="Start").data.update(data)
    return workflow


@contextmanager
def engine_step(session: Session, clock: Any, instance: ProcessInstance | None = None,
                actor: Any = None) -> Iterator[None]:
    """Run the enclosed SpiffWorkflow calls "at" the clock, with the script context set."""
    with script_context(session, clock, instance, actor), engine_time(clock):
        yield


def describe_engine_error(exc: BaseException) -> str:
    """A message for people: which step failed and why (SpiffWorkflow wraps the real cause)."""
    parts = [str(exc).strip() or type(exc).__name__]
    # SpiffWorkflow keeps only the class name of the wrapped error; the error itself is the context.
    inner = getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
    if isinstance(inner, UnsafeScript):
        parts.append("脚本被拒绝：" + "；".join(inner.problems))
    elif inner is not None and str(inner) not in parts[0]:
        parts.append(f"{type(inner).__name__}: {inner}")
    task_spec = getattr(exc, "task_spec", None) or getattr(getattr(exc, "task", None), "task_spec", None)
    head = ""
    if task_spec is not None:
        head = f"步骤「{getattr(task_spec, 'bpmn_name', None) or task_spec.name}」出错："
    return head + "；".join(parts)


def run_step(session: Session, clock: Any, instance: ProcessInstance, workflow: Any, action: Callable[[], None],
             actor: Any = None, raise_rule_errors: bool = True) -> str | None:
    """Run `action` (task.run(), do_engine_steps(), …) inside an engine step.

    Returns None, or the error message after marking the instance failed. Database errors are not
    the process's fault and propagate (the transaction rolls back); so does a rule violation
    raised by a script function when `raise_rule_errors` (the person acting gets the 4xx).
    """
    try:
        with engine_step(session, clock, instance, actor):
            action()
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error raised by a process fails that instance only
        rule_error = rule_violation(exc) if raise_rule_errors else None
        if rule_error is not None:
            raise rule_error from None
        message = describe_engine_error(exc)
        mark_failed(session, instance, clock.now(), message, actor)
        return message
    return None


def rule_violation(exc: BaseException) -> DutyflowError | None:
    """The DutyflowError behind an engine error, if any.

    SpiffWorkflow wraps a script's exception in WorkflowTaskException (kept as `.exception`, and
    as `__cause__`/`__context__`), sometimes twice (a script inside a subprocess); walk the chain.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DutyflowError):
            return current
        pending += [getattr(current, "exception", None), current.__cause__, current.__context__]
    return None


def mark_failed(session: Session, instance: ProcessInstance, now: datetime, message: str, actor: Any = None) -> None:
    """The instance failed: written with the step's version update (every caller saves the step)."""
    assert instance.id is not None
    instance.status, instance.error, instance.ended_at = FAILED, message[:4000], now
    session.add(instance)
    log_event(session, instance.id, "failed", now, actor=actor, detail={"error": message[:2000]})


# The optimistic write of a step, on the mapper's own version column and version generator (the
# default one: the version read plus one). SET: the values given.
_INSTANCE_MAPPER = ProcessInstance.__mapper__  # type: ignore[attr-defined]
_VERSION_COLUMN = _INSTANCE_MAPPER.version_id_col
_NEXT_VERSION = _INSTANCE_MAPPER.version_id_generator
_INSTANCE_TABLE = ProcessInstance.__table__  # type: ignore[attr-defined]
_BUMP = update(_INSTANCE_TABLE).where(_INSTANCE_TABLE.c.id == bindparam("p_instance"),
                                      _VERSION_COLUMN == bindparam("p_read"))


def bump_version(session: Session, instance: ProcessInstance, **values: Any) -> None:
    """The optimistic write: only succeeds if nobody saved the instance since it was read.

    The mapper's version column (`version_id_col`) makes the update `… WHERE id = :id AND
    version = :read` and counts the version up; 0 rows touched → Conflict. It is written now, so a
    loser learns it before doing more.

    When the session holds no other change (every engine step: task rows and clocks are written
    by statements), the row is written by one Core statement on the session's connection — the
    statement the mapper would send, `UPDATE … SET version = <the mapper's next version> WHERE id
    = :id AND <the mapper's version_id_col> = :read`, 0 rows touched → Conflict — and the object
    keeps the values as loaded state. A unit-of-work flush (or the mapper's bulk update, which
    builds one per call) cost four times as much, in the statement every step runs. Otherwise the
    object is flushed with the rest."""
    instance_id, read = instance.id, instance.version  # a failed flush expires the object
    if not (session.new or session.dirty or session.deleted):
        written = _NEXT_VERSION(read)
        result = core_connection(session).execute(
            _BUMP, {"p_instance": instance_id, "p_read": read, _VERSION_COLUMN.key: written, **values})
        if result.rowcount != 1:
            raise Conflict(f"流程实例 {instance_id} 已被他人更新，请刷新后重试", [f"instance.version: {read}"])
        for name, value in values.items():
            set_committed_value(instance, name, value)
        set_committed_value(instance, _VERSION_COLUMN.key, written)
        return
    for name, value in values.items():
        setattr(instance, name, value)
    flag_modified(instance, "updated_at")  # an update (and the version check) even if nothing changed
    session.add(instance)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f"流程实例 {instance_id} 已被他人更新，请刷新后重试", [f"instance.version: {read}"]) from None


def save_workflow(session: Session, instance: ProcessInstance, workflow: Any, clock: Any, actor: Any = None,
                  closing_reason: str = "cancelled") -> None:
    """Persist one engine step: state, task rows, end of instance, timers, clocks and the step's
    timing events (one transaction).

    The order: the open task rows that closed are written first and the instance's version after
    them (the order every step locks in: task rows, then the instance); then BPMN timers and the
    clocks' first half, which inserts the stage rows of the steps that became ready; then those
    steps' task rows, each naming its stage row; then the clocks' second half."""
    now = clock.now()
    assert instance.id is not None
    new_tasks: list[tuple[Any, list[str]]] = []
    if instance.status == RUNNING:
        try:
            new_tasks = plan_tasks(session, instance, workflow, now, closing_reason)
        except LaneError as exc:
            mark_failed(session, instance, now, str(exc), actor)
    finished = instance.status == RUNNING and workflow.is_completed()
    state = serialize_workflow(workflow)
    values: dict[str, Any] = {"state_json": state, "updated_at": now}
    if finished:
        values.update(status=COMPLETED, ended_at=now)
    bump_version(session, instance, **values)
    if not finished:
        workflow_cache.keep_after_commit(session, instance.id, state, workflow)
    if finished:
        log_event(session, instance.id, "instance_ended", now, actor=actor, since=instance.started_at)
    restarted = after_step(session, instance, workflow, now, new_tasks)
    if restarted and not finished and cancel_overdue_followups(workflow):
        # 补正 restarted the count: the red card that opened 超期督促 and 督办 no longer stands, so
        # those steps close (their rows follow) and the workflow is saved once more.
        sync_tasks(session, instance, workflow, now, "cancelled")
        state = serialize_workflow(workflow)
        bump_version(session, instance, state_json=state)
        workflow_cache.keep_after_commit(session, instance.id, state, workflow)
    write_events(session)


def after_step(session: Session, instance: ProcessInstance, workflow: Any, now: datetime,
               new_tasks: list[tuple[Any, list[str]]]) -> bool:
    """Timer rows, the new task rows (`new_tasks`, from `plan_tasks`), deadline and warning rows
    follow the saved workflow (same transaction). Returns whether the case's count restarted in
    this step."""
    assert instance.id is not None
    new_instance = timers.take_new_instance(session, instance.id)
    timers.sync_bpmn_timers(session, instance.id, workflow, now, new_instance)
    clocks = open_clocks(session, instance, workflow, now, new_instance)
    opened = clocks.opened if clocks is not None else {}
    insert_tasks(session, instance, new_tasks, now, opened)
    if clocks is None:
        return False
    named = {str(task.id) for task, _ in new_tasks if str(task.id) in opened}
    return settle_clocks(session, clocks, workflow, now, named)
