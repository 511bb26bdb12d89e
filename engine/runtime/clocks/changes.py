"""What a case clock does: pause, resume, restart, finish, recompute — with its timing events and
warning rows. Steps (`sync`) and people (`commands`) change a clock only through these.

Every change writes one timing event (paused / resumed / restarted / extended / warned / overdue /
escalated, engine.runtime.events) and moves the case's pending yellow/red rows
(engine.runtime.timers) to the new moments, or cancels them while the clock stands still.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col

from engine.calendar.limits import read_limit
from engine.calendar.working import WorkingCalendar
from engine.db import core_connection
from engine.models.runtime import WorkTask
from engine.models.timers import CASE_SUBJECT, CaseDeadline, Escalation, StageDeadline, TimerKind
from engine.runtime import events, timers
from engine.runtime.calendars import LazyCalendar
from engine.runtime.clocks.arithmetic import beijing_iso, compute_moments
from engine.runtime.clocks.limits import CORRECTION_MODES, MANUAL_PAUSE_PREFIX, PAUSE

CASE_SUBJECT_NAME = "办结时限"  # the spec_name of a case's warning rows


@dataclass
class CaseClock:
    """What a step needs of a case row, read with a Core statement (`sync`): no model object is
    built unless the step changes the clock (`held_case`), which most steps don't."""

    id: int
    instance_id: int
    limit_text: str
    paused_since: datetime | None
    pause_reason: str | None
    finished_at: datetime | None
    due_at: datetime
    yellow_at: datetime
    counting_from: datetime
    restarts: int
    duty_code: str | None


def held_case(session: Session, case: CaseClock | CaseDeadline) -> CaseDeadline:
    """The model object of the case row (the session's own, or read now): pause, resume and
    restart change the clock through it."""
    if isinstance(case, CaseDeadline):
        return case
    held = session.get(CaseDeadline, case.id)
    assert held is not None, "the case row was read in this transaction"
    return held


def manual_pause(case: CaseClock | CaseDeadline) -> bool:
    return (case.pause_reason or "").startswith(MANUAL_PAUSE_PREFIX)


def recompute(case: CaseDeadline, calendar: WorkingCalendar) -> None:
    """Due, yellow and provisional of the case clock from its start, limit, extensions and pauses."""
    moments = compute_moments(calendar, case.counting_from, read_limit(case.limit_text), case.extensions,
                              case.paused_seconds)
    case.due_at, case.yellow_at, case.provisional = moments.due_at, moments.yellow_at, moments.provisional


def schedule_case_warnings(session: Session, case: CaseDeadline, now: datetime) -> None:
    """Pending yellow and red rows at the case clock's moments (none while finished or paused)."""
    if case.finished_at is not None or case.paused_since is not None:
        return
    iid = case.instance_id
    timers.schedule(session, iid, CASE_SUBJECT, TimerKind.case_yellow, case.yellow_at, now, CASE_SUBJECT_NAME)
    timers.schedule(session, iid, CASE_SUBJECT, TimerKind.case_red, case.due_at, now, CASE_SUBJECT_NAME)


def pause(session: Session, case: CaseDeadline, now: datetime, reason: str, task_id: str | None = None,
          actor: Any = None) -> None:
    """The case clock stands still from `now`, and so do the clocks of its open steps: every
    pending yellow/red row of the case goes (a step's card while its case waits would be wrong)."""
    case.paused_since = now
    case.pause_reason = reason[:200]
    timers.unschedule(session, case.instance_id, None, TimerKind.warnings, now)
    log_clock_event(session, case.instance_id, "paused", now, task_id=task_id, actor=actor, detail={"reason": reason})


def resume(session: Session, case: CaseDeadline, calendar: LazyCalendar, now: datetime, actor: Any = None) -> None:
    """The case clock runs again: the office time it stood still moves its due and yellow, and
    the open steps' clocks move by the part of the pause they lived through."""
    assert case.paused_since is not None, "only a paused clock resumes"
    paused_since = case.paused_since
    paused = calendar.get().working_time_between(paused_since, now)
    case.paused_seconds += max(int(paused.total_seconds()), 0)
    reason = case.pause_reason
    case.paused_since = None
    case.pause_reason = None
    recompute(case, calendar.get())
    schedule_case_warnings(session, case, now)
    shift_open_stages(session, case.instance_id, calendar.get(), paused_since, now)
    log_clock_event(session, case.instance_id, "resumed", now, actor=actor,
                    detail={"reason": reason, "paused_working_seconds": int(paused.total_seconds()),
                            "due_at": beijing_iso(case.due_at)})


OPEN_TIMED_STAGES = select(StageDeadline).where(
    col(StageDeadline.instance_id) == bindparam("instance_id"), col(StageDeadline.status) == "open",
    col(StageDeadline.due_at).is_not(None))


def shift_open_stages(session: Session, instance_id: int, calendar: WorkingCalendar, paused_since: datetime,
                      now: datetime) -> None:
    """Move each open step clock by the office time its case stood still while the step was open,
    and give it its warning rows again (pausing cancelled them)."""
    for stage in session.execute(OPEN_TIMED_STAGES, {"instance_id": instance_id}).scalars():
        assert stage.due_at is not None and stage.yellow_at is not None, "a timed stage has both moments"
        lived = calendar.working_time_between(max(as_aware(stage.started_at), as_aware(paused_since)), now)
        if lived > timedelta(0):
            stage.due_at = calendar.add_working_time(stage.due_at, lived).at
            stage.yellow_at = calendar.add_working_time(stage.yellow_at, lived).at
            session.add(stage)
        if stage.clock_mode in (PAUSE, *CORRECTION_MODES):
            continue  # the step that stops the clock has no cards of its own
        subject = stage.stage or stage.task_spec
        timers.schedule(session, instance_id, stage.task_id, TimerKind.stage_yellow, stage.yellow_at, now, subject)
        timers.schedule(session, instance_id, stage.task_id, TimerKind.stage_red, stage.due_at, now, subject)


def as_aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC; compare aware moments only."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def restart(session: Session, case: CaseDeadline, calendar: LazyCalendar, now: datetime, reason: str,
            task_id: str | None = None, actor: Any = None, received_at: datetime | None = None) -> None:
    """The count starts again from the day after `received_at` (else now): pauses and extensions
    of the earlier count are dropped (重新计时, what 补正 does to the clock)."""
    case.counting_from = received_at or now
    case.restarts += 1
    case.paused_seconds = 0
    case.paused_since = None
    case.pause_reason = None
    case.extensions = []
    recompute(case, calendar.get())
    schedule_case_warnings(session, case, now)
    # The overdue that earlier 督办 records answer no longer stands once the count starts afresh.
    session.execute(update(Escalation).where(col(Escalation.instance_id) == case.instance_id,
                                             col(Escalation.resolved_at).is_(None)).values(resolved_at=now))
    log_clock_event(session, case.instance_id, "restarted", now, task_id=task_id, actor=actor,
                    detail={"reason": reason, "counting_from": beijing_iso(case.counting_from),
                            "due_at": beijing_iso(case.due_at)})


def finish(session: Session, case: CaseClock | CaseDeadline, now: datetime) -> None:
    """The case is done: the clock stops, on time or not, and every pending warning row goes.

    A case that ends while its clock stands still (withdrawn while waiting for 补正) is judged by
    the time counted, which ended when it stopped."""
    counted_until = case.paused_since if case.paused_since is not None else now
    values: dict[str, Any] = {"finished_at": now, "on_time": as_aware(counted_until) < as_aware(case.due_at)}
    if case.paused_since is not None:
        values.update(paused_since=None, pause_reason=None)
    update_case(session, case, values)
    timers.unschedule(session, case.instance_id, None, TimerKind.warnings, now)


_CASE = CaseDeadline.__table__  # type: ignore[attr-defined]
_UPDATE_CASE = update(_CASE).where(_CASE.c.id == bindparam("p_case"))  # SET: the values given


def update_case(session: Session, case: CaseClock | CaseDeadline, values: dict[str, Any]) -> None:
    """Write these columns of the case row with one Core statement; the model object of the row
    the session holds gets them as loaded state (no pending change, no flush), and so does `case`."""
    core_connection(session).execute(_UPDATE_CASE, {"p_case": case.id, **values})
    held = session.identity_map.get(identity_key(CaseDeadline, case.id))
    for name, value in values.items():
        if held is not None:
            set_committed_value(held, name, value)
        if case is not held:
            setattr(case, name, value)


# The newest task row of a SpiffWorkflow task: the task a clock event names.
WORK_TASK_OF_STEP = (
    select(col(WorkTask.id))
    .where(col(WorkTask.instance_id) == bindparam("instance_id"), col(WorkTask.spiff_task_id) == bindparam("spiff_id"))
    .order_by(col(WorkTask.id).desc()).limit(1)
)


def log_clock_event(session: Session, instance_id: int, kind: str, now: datetime, task_id: str | None = None,
                    actor: Any = None, detail: dict[str, Any] | None = None) -> None:
    """Write a timing event of a clock (paused/resumed/restarted/extended/warned/overdue/escalated).

    `task_id` is the SpiffWorkflow task id; the event names the task row for it.
    """
    work_task_id = None
    if task_id is not None:
        work_task_id = session.execute(WORK_TASK_OF_STEP, {"instance_id": instance_id, "spiff_id": task_id}).scalar()
    events.log_event(session, instance_id=instance_id, kind=kind, at=now, task_id=work_task_id, actor=actor,
                     detail=detail or {})
