"""The timing log: append-only `timing_event` rows and the instance timeline.

Every task operation and every clock change writes one row: who (username, staff id, post), what
(`kind`), when (`at`) and how long it had taken — wall seconds and working seconds (office hours
of working days, by the working calendar) since the task became ready, or since the instance
started for instance events. The efficiency office proves who took how long from these rows; they
are never updated or deleted (send back and withdraw erase SpiffWorkflow's own task history, not
this log).

Events are batched: `log_event` computes the row and keeps it with the session; the rows of a
transaction are written in one multi-row insert (`write_events`) at the end of an engine step,
before any query of `timing_event` through the session, and at the latest before the commit. A
rolled-back transaction drops them with everything else. Their ids follow the order they were
logged in, as one statement per event gave them. Each row is chained in the tamper-evident record
(engine.audit, docs/audit.md) as the insert hands it back: written as a pending entry at the
commit, linked into the hash chain later by a sealer outside the step.
The batches also say what the rollups of the efficiency figures (engine.runtime.rollups) must
count: their `completed` and `instance_ended` events name the steps and cases added at the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, event, insert
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from engine import audit
from engine.db import core_connection
from engine.models.runtime import ProcessInstance, TimingEvent, WorkTask
from engine.runtime import rollups
from engine.runtime.calendars import calendar_for

EVENT_KINDS = frozenset((
    "instance_started", "task_ready", "claimed", "transferred", "accepted", "refused", "delegated",
    "sent_back", "withdrawn", "urged", "copied", "commented", "completed", "cancelled", "paused",
    "resumed", "restarted", "extended", "extension_requested", "extension_refused", "notice_late", "warned",
    "application_withdrawn",
    "overdue", "escalated", "suspended", "reactivated",
    "instance_ended", "failed",
))
# session.info key: the events of the session's transaction not written yet; lives until they are
# written (end of step, a query of the log, commit) or the transaction rolls back.
PENDING_EVENTS = "dutyflow_pending_events"
# Core, on the table: the log's rows are not read back as ORM objects in the step that writes them.
# RETURNING makes SQLAlchemy send the rows as one multi-row INSERT on every backend
# ("insertmanyvalues"), not an executemany the database runs row by row; it returns every column,
# as stored, for the audit chain's links.
_EVENT_TABLE = TimingEvent.__table__  # type: ignore[attr-defined]
_INSERT_EVENTS = insert(_EVENT_TABLE).returning(*_EVENT_TABLE.c)
_EVENT_MAPPER = TimingEvent.__mapper__  # type: ignore[attr-defined]


def log_event(
    session: Session,
    instance_id: int,
    kind: str,
    at: datetime,
    task_id: int | None = None,
    actor: Any = None,
    staff_id: str | None = None,
    post_code: str | None = None,
    target_post: str | None = None,
    detail: dict[str, Any] | None = None,
    since: datetime | None = None,
) -> None:
    """Append one event to the transaction's batch. `actor` is an Actor or a username; elapsed
    times are measured from `since`, else from the task's ready time, else from the instance's start."""
    session.info.setdefault(PENDING_EVENTS, []).append(
        _values(session, instance_id, kind, at, task_id, actor, staff_id, post_code, target_post, detail, since))


def record_event(
    session: Session,
    instance_id: int,
    kind: str,
    at: datetime,
    task_id: int | None = None,
    actor: Any = None,
    post_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> TimingEvent:
    """Write one event now and return its row (for callers that answer with it, e.g. a comment)."""
    write_events(session)  # the batch first: ids stay in the order events were logged
    row = TimingEvent(**_values(session, instance_id, kind, at, task_id, actor, None, post_code, None, detail, None))
    session.add(row)
    session.flush()
    audit.record(session, "timing_event", row.id)  # type: ignore[arg-type]
    return row


def write_events(session: Session) -> None:
    """Write the transaction's pending events in one multi-row insert (nothing when there are none)."""
    pending = session.info.pop(PENDING_EVENTS, None)
    if pending:
        written = core_connection(session).execute(_INSERT_EVENTS, pending)  # Core on the table: no ORM work due
        audit.record_rows(session, "timing_event", sorted(written.mappings(), key=lambda row: row["id"]))
        rollups.note_events(session, pending)  # the figures' rollups count these steps and cases at the commit


def _values(session: Session, instance_id: int, kind: str, at: datetime, task_id: int | None, actor: Any,
            staff_id: str | None, post_code: str | None, target_post: str | None, detail: dict[str, Any] | None,
            since: datetime | None) -> dict[str, Any]:
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown timing event kind {kind!r}")
    if staff_id is None:
        staff_id = getattr(actor, "staff_id", None)
    start = since
    if task_id is not None and (post_code is None or start is None):
        task = session.get(WorkTask, task_id)  # in the session already on every engine path
        if task is not None:
            post_code = task.post_code if post_code is None else post_code
            start = task.ready_at if start is None else start
    if start is None:
        instance = session.get(ProcessInstance, instance_id)
        start = instance.started_at if instance is not None else None
    wall = working = None
    if start is not None and at >= start:
        wall = (at - start).total_seconds()
        working = calendar_for(session).working_time_between(start, at).total_seconds()
    return {
        "instance_id": instance_id, "task_id": task_id, "kind": kind, "at": at,
        "actor": getattr(actor, "username", actor), "staff_id": staff_id, "post_code": post_code,
        "target_post": target_post, "detail": dict(detail or {}), "wall_seconds": wall, "working_seconds": working,
    }


@event.listens_for(OrmSession, "do_orm_execute")
def _write_before_reading_the_log(state: ORMExecuteState) -> None:
    """A query of the log through the session sees the events logged before it (as autoflush
    does for ORM objects)."""
    if state.session.info.get(PENDING_EVENTS) and state.is_select and _EVENT_MAPPER in state.all_mappers:
        write_events(state.session)  # type: ignore[arg-type]


@event.listens_for(OrmSession, "before_commit")
def _write_before_commit(session: OrmSession) -> None:
    write_events(session)  # type: ignore[arg-type]
    rollups.add_noted(session)  # type: ignore[arg-type]  # after the last events, before the audit entries
    audit.write_pending(session)  # type: ignore[arg-type]  # engine.audit's own listener ran before this one


@event.listens_for(OrmSession, "after_transaction_end")
def _drop_after_rollback(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:  # the transaction ended; a committed one wrote them already
        session.info.pop(PENDING_EVENTS, None)
        rollups.forget_noted(session)  # type: ignore[arg-type]


def timeline(session: Session, instance_id: int) -> list[TimingEvent]:
    """All events of an instance, oldest first."""
    return list(session.exec(
        select(TimingEvent).where(TimingEvent.instance_id == instance_id)
        .order_by(col(TimingEvent.at), col(TimingEvent.id))
    ))


def task_events(session: Session, task_id: int) -> list[Row[Any]]:
    """All events of a task, oldest first, as read-only rows with the log's columns as attributes
    (a task's answer lists them after every operation: Core on the table, no ORM objects to build).
    The transaction's batch is written first, as a query of the log through the session does."""
    write_events(session)
    return list(core_connection(session).execute(_TASK_EVENTS, {"p_task": task_id}))


_TASK_EVENTS = (select(_EVENT_TABLE).where(_EVENT_TABLE.c.task_id == bindparam("p_task"))
                .order_by(_EVENT_TABLE.c.at, _EVENT_TABLE.c.id))
