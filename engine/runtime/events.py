"""The timing log: append-only `timing_event` rows and the instance timeline.

Every task operation and every clock change writes one row: who (username, staff id, post), what
(`kind`), when (`at`) and how long it had taken — wall seconds and working seconds (office hours
of working days, by the working calendar) since the task became ready, or since the instance
started for instance events. The efficiency office proves who took how long from these rows; they
are never updated or deleted (send back and withdraw erase SpiffWorkflow's own task history, not
this log).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from engine.calendar.working import WorkingCalendar, load_calendar
from engine.runtime.models import ProcessInstance, TimingEvent, WorkTask

EVENT_KINDS = (
    "instance_started", "task_ready", "claimed", "transferred", "accepted", "refused", "delegated",
    "sent_back", "withdrawn", "urged", "copied", "commented", "completed", "cancelled", "paused",
    "resumed", "restarted", "extended", "warned", "overdue", "escalated", "suspended",
    "instance_ended", "failed",
)
_CALENDAR_KEY = "dutyflow_working_calendar"
_EVENT_TABLE = TimingEvent.__table__
_INSERT_EVENT = _EVENT_TABLE.insert()


def session_calendar(session: Session) -> WorkingCalendar:
    """The working calendar, once per transaction: the timers area's shared one when installed
    (same office hours setting as the deadlines), else loaded from the holiday table."""
    calendar = session.info.get(_CALENDAR_KEY)
    if calendar is None:
        try:
            from engine.runtime.deadlines import calendar_for
        except ModuleNotFoundError:
            calendar = load_calendar(session)
        else:
            calendar = calendar_for(session)
        session.info[_CALENDAR_KEY] = calendar
    return calendar


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
) -> int:
    """Append one event; returns its id. `actor` is an Actor or a username; elapsed times are
    measured from `since`, else from the task's ready time, else from the instance's start."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown timing event kind {kind!r}")
    username = getattr(actor, "username", actor)
    if staff_id is None:
        staff_id = getattr(actor, "staff_id", None)
    task = session.get(WorkTask, task_id) if task_id is not None else None
    if post_code is None and task is not None:
        post_code = task.post_code
    start = since or _start_of(session, instance_id, task)
    wall = working = None
    if start is not None and at >= start:
        wall = (at - start).total_seconds()
        working = session_calendar(session).working_time_between(start, at).total_seconds()
    # A plain Core insert on the transaction's connection: the log is append-only, so no ORM
    # object is built or tracked and no unit of work runs (this happens several times per step).
    # The rows it names (instance, task) were flushed when they were created.
    # The statement is built once; only the parameters change.
    result = session.connection().execute(_INSERT_EVENT, {
        "instance_id": instance_id, "task_id": task_id, "kind": kind, "at": at, "actor": username,
        "staff_id": staff_id, "post_code": post_code, "target_post": target_post, "detail": dict(detail or {}),
        "wall_seconds": wall, "working_seconds": working,
    })
    return result.inserted_primary_key[0]


def _start_of(session: Session, instance_id: int, task: WorkTask | None) -> datetime | None:
    if task is not None:
        return task.ready_at
    instance = session.get(ProcessInstance, instance_id)
    return instance.started_at if instance is not None else None


def timeline(session: Session, instance_id: int) -> list[TimingEvent]:
    """All events of an instance, oldest first."""
    return list(
        session.exec(
            select(TimingEvent).where(TimingEvent.instance_id == instance_id).order_by(TimingEvent.at, TimingEvent.id)
        )
    )


def task_events(session: Session, task_id: int) -> list[TimingEvent]:
    return list(
        session.exec(select(TimingEvent).where(TimingEvent.task_id == task_id).order_by(TimingEvent.at, TimingEvent.id))
    )
