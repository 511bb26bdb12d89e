"""Instances: create, load and save workflows; run engine steps safely.

Persistence contract (shared with the timers area):
- `load_workflow(session, instance_id)` → (row, workflow) with the restricted script engine.
- `save_workflow(session, row, workflow, clock, actor=None)` writes, in the caller's transaction,
  the workflow state (optimistic: `UPDATE … WHERE id = :id AND version = :v`, 0 rows → Conflict),
  the task rows (`tasks.sync_tasks`), the end of the instance, and then calls
  `engine.runtime.timers.after_step` for timer, deadline and warning rows.
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

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from engine.errors import Conflict, DutyflowError, NotFound
from engine.models.runtime import COMPLETED, FAILED, RUNNING, ProcessDefinition, ProcessInstance
from engine.rawsql import Raw, Record, flush_pending, record, set_loaded, sync_identity, update_row
from engine.runtime import workflow_cache
from engine.runtime.definitions import get_definition, load_script_libraries, spec_of
from engine.runtime.events import log_event
from engine.runtime.scripting import UnsafeScript, script_context
from engine.runtime.serializer import SPEC_CACHE, deserialize_workflow, new_workflow, serialize_workflow
from engine.runtime.tasks import LaneError, sync_tasks

_INSTANCE_TABLE = ProcessInstance.__table__
INSTANCE_COLUMNS = tuple(c.name for c in _INSTANCE_TABLE.columns)
# The instance row and its definition's content hash (the key of its parsed spec), in one read.
_INSTANCE = Raw(
    select(*_INSTANCE_TABLE.columns, ProcessDefinition.content_hash)
    .join(ProcessDefinition, ProcessDefinition.id == _INSTANCE_TABLE.c.definition_id)
    .where(_INSTANCE_TABLE.c.id == bindparam("p_instance"))
)


def instance_record(session: Session, instance_id: int) -> Record:
    """The instance row as a Record (engine.rawsql), with `spec_key`, its definition's content hash."""
    flush_pending(session)
    found = _INSTANCE.first(session, {"p_instance": instance_id})
    if found is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    row = record(INSTANCE_COLUMNS, found[:-1])
    row.__dict__["spec_key"] = found[-1]  # not a column: never written back
    return row


def load_workflow(session: Session, instance_id: int):
    """The instance row (a Record) and its restored workflow (restricted script engine attached)."""
    row = instance_record(session, instance_id)
    return row, restore_workflow(session, row)


def restore_workflow(session: Session, row: Record):
    """The workflow of an instance record (restricted script engine attached)."""
    load_script_libraries()  # the functions its scripts call must be registered in this process
    live = workflow_cache.take(session, row.id, row.state_json)
    if live is not None:
        return live  # the object the last committed step saved as exactly this state
    if SPEC_CACHE.get(row.spec_key) is None:
        spec_of(get_definition(session, row.definition_id))  # puts the spec in the converter's cache
    return deserialize_workflow(row.state_json)


def create_workflow(definition: ProcessDefinition, data: dict[str, Any]):
    """A new workflow of a definition version, with `data` seeded on its Start task."""
    load_script_libraries()
    spec, subprocess_specs = spec_of(definition)
    workflow = new_workflow(definition.content_hash, spec, subprocess_specs)
    workflow.get_next_task(spec_name="Start").data.update(data)
    return workflow


@contextmanager
def engine_step(session: Session, clock, instance: ProcessInstance | None = None, actor=None) -> Iterator[None]:
    """Run the enclosed SpiffWorkflow calls "at" the clock, with the script context set."""
    from engine.runtime.sim_clock import engine_time

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


def run_step(session: Session, clock, instance: ProcessInstance, workflow, action: Callable[[], None],
             actor=None, raise_rule_errors: bool = True) -> str | None:
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


def mark_failed(session: Session, instance, now: datetime, message: str, actor=None) -> None:
    values = {"status": FAILED, "error": message[:4000], "ended_at": now}
    flush_pending(session)
    update_row(session, ProcessInstance, instance.id, values)
    set_loaded(instance, **values)
    log_event(session, instance.id, "failed", now, actor=actor, detail={"error": message[:2000]})


_BUMPS: dict[tuple[str, ...], Raw] = {}


def bump_version(session: Session, instance, **values: Any) -> None:
    """The optimistic write: only succeeds if nobody saved the instance since it was read."""
    names = tuple(sorted(values))
    statement = _BUMPS.get(names)
    if statement is None:
        statement = _BUMPS[names] = Raw(
            _INSTANCE_TABLE.update()
            .where(_INSTANCE_TABLE.c.id == bindparam("p_id"), _INSTANCE_TABLE.c.version == bindparam("p_version"))
            .values(version=bindparam("p_next"), **{name: bindparam(f"v_{name}") for name in names})
        )
    flush_pending(session)
    touched = statement.run(session, {
        "p_id": instance.id, "p_version": instance.version, "p_next": instance.version + 1,
        **{f"v_{name}": value for name, value in values.items()},
    })
    if touched != 1:
        raise Conflict(f"流程实例 {instance.id} 已被他人更新，请刷新后重试", [f"instance.version: {instance.version}"])
    written = {"version": instance.version + 1, **values}
    set_loaded(instance, **written)
    sync_identity(session, ProcessInstance, instance.id, written)


def save_workflow(session: Session, instance: ProcessInstance, workflow, clock, actor=None,
                  closing_reason: str = "cancelled") -> None:
    """Persist one engine step: state, task rows, end of instance, timers (one transaction)."""
    now = clock.now()
    if instance.status == RUNNING:
        try:
            sync_tasks(session, instance, workflow, now, closing_reason)
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
        log_event(session, instance.id, "instance_ended", now, actor=actor)
    _after_step(session, instance, workflow, now)


def _after_step(session: Session, instance: ProcessInstance, workflow, now: datetime) -> None:
    """The timers area's hook: timer, deadline and warning rows follow the saved workflow."""
    from engine.runtime import timers

    timers.after_step(session, instance, workflow, now)
