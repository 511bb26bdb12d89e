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

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, select

from engine.calendar.working import WorkingCalendar, load_calendar
from engine.models.runtime import ProcessInstance, TimingEvent, WorkTask
from engine.rawsql import Raw, flush_pending

EVENT_KINDS = (
    "instance_started", "task_ready", "claimed", "transferred", "accepted", "refused", "delegated",
    "sent_back", "withdrawn", "urged", "copied", "commented", "completed", "cancelled", "paused",
    "resumed", "restarted", "extended", "warned", "overdue", "escalated", "suspended", "reactivated",
    "instance_ended", "failed",
)
_CALENDAR_KEY = "dutyflow_working_calendar"
_EVENT_TABLE = TimingEvent.__table__
_EVENT_COLUMNS = ("instance_id", "task_id", "kind", "at", "actor", "staff_id", "post_code", "target_post", "detail",
                  "wall_seconds", "working_seconds")
_INSERT_EVENT = Raw(_EVENT_TABLE.insert().values({c: bindparam(c) for c in _EVENT_COLUMNS}).returning(_EVENT_TABLE.c.id))
_TASK_START = Raw(core_select(WorkTask.post_code, WorkTask.ready_at).where(WorkTask.id == bindparam("p_task")))
_INSTANCE_START = Raw(core_select(ProcessInstance.started_at).where(ProcessInstance.id == bindparam("p_instance")))


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
    flush_pending(session)  # the rows it names (instance, task) must be in the database
    known = post_code is not None and since is not None  # nothing to read about the task
    found = _TASK_START.first(session, {"p_task": task_id}) if task_id is not None and not known else None
    if post_code is None and found is not None:
        post_code = found[0]
    start = since
    if start is None:  # since the task became ready, else since the instance started
        start = found[1] if found is not None else _INSTANCE_START.scalar(session, {"p_instance": instance_id})
    wall = working = None
    if start is not None and at >= start:
        wall = (at - start).total_seconds()
        working = session_calendar(session).working_time_between(start, at).total_seconds()
    # The log is append-only: a plain insert on the transaction's connection, no ORM object, no
    # unit of work (this happens several times per engine step; see engine.rawsql).
    return _INSERT_EVENT.scalar(session, {
        "instance_id": instance_id, "task_id": task_id, "kind": kind, "at": at, "actor": username,
        "staff_id": staff_id, "post_code": post_code, "target_post": target_post, "detail": dict(detail or {}),
        "wall_seconds": wall, "working_seconds": working,
    })


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
