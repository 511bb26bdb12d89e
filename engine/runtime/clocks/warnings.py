"""Yellow and red cards (黄牌/红牌) fired by the worker, escalation (督办), the open lists, and
recomputing provisional deadlines once a calendar year is entered.

Warnings are `runtime_timer` rows (kinds case_yellow / case_red / stage_yellow / stage_red); a
row fires only if its clock still holds that moment. Red escalates to the head posts of the
responsible unit, else the department's head post as the catalog names them
(engine.auth.policy.escalation_posts): an `escalation` row, an `escalated` event and, when the
workflow waits for it, the BPMN message `case_overdue`. A deadline that falls in a year without
official holiday data is provisional until that year is entered; `recompute_provisional` (the
handler of engine.hooks.calendar_year_entered) then moves it.

This module restores workflows (engine.runtime.instances) to deliver `case_overdue`, so the
modules below instances (timers among them) never import it; the worker does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from engine.auth import policy
from engine.calendar.limits import read_limit
from engine.calendar.working import WorkingCalendar
from engine.clock import Clock
from engine.models.runtime import TASK_READY, WorkTask
from engine.models.timers import CaseDeadline, Escalation, RuntimeTimer, StageDeadline, TimerKind, TimerStatus
from engine.runtime import timers
from engine.runtime.calendars import LazyCalendar
from engine.runtime.clocks import changes, sync
from engine.runtime.clocks.arithmetic import RED, YELLOW, as_utc, beijing_iso, compute_moments, state_rank
from engine.runtime.clocks.limits import CASE_OF_INSTANCE, PAUSE
from engine.runtime.clocks.views import LATEST_STAGE, escalation_dict, view_of_case

# BPMN message a process may catch to react to a red case (e.g. a 督办 task for the unit head).
OVERDUE_MESSAGE = sync.OVERDUE_MESSAGE


# ---------------------------------------------------------------- firing (the worker)
def fire_warning(session: Session, row: RuntimeTimer, now: datetime) -> str:
    """Give a yellow/red card if it still holds; returns the timer row's final status."""
    if row.kind in (TimerKind.case_yellow, TimerKind.case_red):
        case = session.execute(CASE_OF_INSTANCE, {"instance_id": row.instance_id}).scalar_one_or_none()
        if case is None or case.finished_at is not None or case.paused_since is not None:
            return TimerStatus.noop
        moment = case.yellow_at if row.kind == TimerKind.case_yellow else case.due_at
        if as_utc(moment) != as_utc(row.due_at):
            return TimerStatus.noop
        if row.kind == TimerKind.case_yellow:
            changes.log_clock_event(session, row.instance_id, "warned", now,
                                    detail={"level": YELLOW, "scope": "case", "due_at": beijing_iso(case.due_at)})
        else:
            changes.log_clock_event(session, row.instance_id, "overdue", now,
                                    detail={"level": RED, "scope": "case", "due_at": beijing_iso(case.due_at)})
            escalate(session, row, case, None, now)
        return TimerStatus.fired
    stage = session.execute(LATEST_STAGE, {"instance_id": row.instance_id, "task_id": row.task_id}).scalar_one_or_none()
    if stage is None or stage.status != "open":
        return TimerStatus.noop
    case = session.execute(CASE_OF_INSTANCE, {"instance_id": row.instance_id}).scalar_one_or_none()
    if case is not None and case.paused_since is not None:
        return TimerStatus.noop  # a step's clock stands still with its case (pausing cancels its rows too)
    stage_moment = stage.yellow_at if row.kind == TimerKind.stage_yellow else stage.due_at
    if stage_moment is None or as_utc(stage_moment) != as_utc(row.due_at):
        return TimerStatus.noop
    detail = {"scope": "stage", "stage": stage.stage or stage.task_spec, "due_at": beijing_iso(stage.due_at)}
    if row.kind == TimerKind.stage_yellow:
        changes.log_clock_event(session, row.instance_id, "warned", now, task_id=stage.task_id,
                                detail={"level": YELLOW, **detail})
    else:
        changes.log_clock_event(session, row.instance_id, "overdue", now, task_id=stage.task_id,
                                detail={"level": RED, **detail})
        escalate(session, row, case, stage, now)
    return TimerStatus.fired


def escalate(session: Session, row: RuntimeTimer, case: CaseDeadline | None, stage: StageDeadline | None,
             now: datetime) -> None:
    """Red: hand the matter to the head posts of the responsible unit (督办). The worker then tells
    the workflow of a red case (engine.runtime.worker.notify_workflow): delivering a BPMN message
    runs a step, which is the instances module's job, above the clocks."""
    unit_code = case.unit_code if case is not None else None
    department_code = case.department_code if case is not None else None
    # Up to the heads, never back to whoever is late: the posts holding the late step (a stage's
    # task, or every open step of a late case) are left out, so a unit head who handles the case
    # themself is escalated past, to the department's head.
    late_posts = open_task_posts(session, row.instance_id, stage.task_id if stage is not None else None)
    to_posts = policy.escalation_posts(session, unit_code, department_code, exclude=late_posts)
    escalation = Escalation(
        instance_id=row.instance_id,
        subject=row.task_id,
        kind=row.kind,
        stage=stage.stage if stage is not None else None,
        due_at=row.due_at,
        to_posts=to_posts,
        unit_code=unit_code,
        department_code=department_code,
        created_at=now,
    )
    session.add(escalation)
    session.flush()
    changes.log_clock_event(session, row.instance_id, "escalated", now, task_id=stage.task_id if stage else None,
                            detail={"to_posts": to_posts, "unit_code": unit_code, "kind": row.kind,
                                    "escalation_id": escalation.id})


OPEN_TASK_POSTS = select(col(WorkTask.post_code)).where(
    col(WorkTask.instance_id) == bindparam("instance_id"), col(WorkTask.status) == TASK_READY,
    col(WorkTask.post_code).is_not(None))


def open_task_posts(session: Session, instance_id: int, spiff_task_id: str | None) -> set[str]:
    """The posts holding a late matter: the step's own task, or every open step of the case."""
    query = OPEN_TASK_POSTS
    if spiff_task_id is not None:
        query = query.where(col(WorkTask.spiff_task_id) == spiff_task_id)
    return {post for post in session.execute(query, {"instance_id": instance_id}).scalars() if post}


# ---------------------------------------------------------------- open lists
OPEN_CASES = select(CaseDeadline).where(col(CaseDeadline.finished_at).is_(None))
RED_STAGES = select(StageDeadline).where(
    col(StageDeadline.status) == "open", col(StageDeadline.due_at).is_not(None),
    col(StageDeadline.due_at) <= bindparam("now"),
    col(StageDeadline.instance_id).in_(bindparam("instance_ids", expanding=True)),
)


def open_warnings(session: Session, clock: Clock, department_code: str | None = None) -> list[dict[str, Any]]:
    """Open cases that are yellow or red now (and open stages over their limit), worst first."""
    now = clock.now()
    query = OPEN_CASES
    if department_code:
        query = query.where(col(CaseDeadline.department_code) == department_code)
    cases = {c.instance_id: c for c in session.execute(query).scalars()}
    red_stages: dict[int, list[StageDeadline]] = {}
    if cases:
        for stage in session.execute(RED_STAGES, {"now": now, "instance_ids": list(cases)}).scalars():
            red_stages.setdefault(stage.instance_id, []).append(stage)
    calendar = LazyCalendar(session)
    result = []
    for instance_id, case in cases.items():
        view = view_of_case(case, calendar, now)
        stages = red_stages.get(instance_id, [])
        if view.state not in (YELLOW, RED) and not stages:
            continue
        result.append({
            "instance_id": instance_id,
            "duty_code": case.duty_code,
            "unit_code": case.unit_code,
            "department_code": case.department_code,
            "state": RED if stages else view.state,
            "case_state": view.state,
            "due_at": beijing_iso(case.due_at),
            "time_left_seconds": view.time_left_seconds,
            "provisional": case.provisional,
            "red_stages": [{"task_id": s.task_id, "stage": s.stage or s.task_spec, "due_at": beijing_iso(s.due_at)}
                           for s in stages],
        })
    result.sort(key=lambda r: (-state_rank(r["state"]), r["due_at"] or ""))
    return result


def list_escalations(session: Session, department_code: str | None = None, open_only: bool = True) -> list[dict[str, Any]]:
    """Escalations (督办), newest first; of one department, and only the unresolved ones, by default."""
    query = select(Escalation).order_by(col(Escalation.created_at).desc(), col(Escalation.id).desc())
    if department_code:
        query = query.where(col(Escalation.department_code) == department_code)
    if open_only:
        query = query.where(col(Escalation.resolved_at).is_(None))
    return [escalation_dict(e) for e in session.execute(query).scalars()]


# ---------------------------------------------------------------- provisional deadlines
PROVISIONAL_CASES = select(CaseDeadline).where(col(CaseDeadline.finished_at).is_(None),
                                               col(CaseDeadline.provisional).is_(True))
PROVISIONAL_STAGES = select(StageDeadline).where(col(StageDeadline.status) == "open",
                                                 col(StageDeadline.provisional).is_(True))


def recompute_provisional(session: Session, calendar: WorkingCalendar, now: datetime) -> int:
    """Recompute open provisional deadlines (after a year's schedule was entered). Returns how many moved."""
    moved = 0
    for case in session.execute(PROVISIONAL_CASES).scalars():
        before = (case.due_at, case.yellow_at, case.provisional)
        changes.recompute(case, calendar)
        if (case.due_at, case.yellow_at, case.provisional) != before:
            moved += 1
            session.add(case)
            changes.schedule_case_warnings(session, case, now)
    for stage in session.execute(PROVISIONAL_STAGES).scalars():
        if not stage.limit_text:
            continue
        moments = compute_moments(calendar, stage.started_at, read_limit(stage.limit_text))
        if (moments.due_at, moments.yellow_at, moments.provisional) != (stage.due_at, stage.yellow_at, stage.provisional):
            moved += 1
            stage.due_at, stage.yellow_at, stage.provisional = moments.due_at, moments.yellow_at, moments.provisional
            session.add(stage)
            if stage.clock_mode != PAUSE:
                name = stage.stage or stage.task_spec
                timers.schedule(session, stage.instance_id, stage.task_id, TimerKind.stage_yellow, moments.yellow_at,
                                now, name)
                timers.schedule(session, stage.instance_id, stage.task_id, TimerKind.stage_red, moments.due_at, now, name)
    session.flush()
    return moved
