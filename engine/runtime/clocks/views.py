"""What pages, listings and the API show of clocks: a task's deadline, an instance's whole clock,
an escalation (督办) record. Read-only; the JSON keys are the API's (tests pin them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from engine.calendar.units import LimitUnit, TimeLimit
from engine.clock import Clock
from engine.errors import NotFound
from engine.models.runtime import ProcessDefinition, ProcessInstance, WorkTask
from engine.models.timers import CaseDeadline, Escalation, RuntimeTimer, StageDeadline, TimerKind, TimerStatus
from engine.runtime.bpmn_graph import read_graph
from engine.runtime.calendars import LazyCalendar
from engine.runtime.clocks.arithmetic import beijing_iso, clock_state, compute_moments, state_rank
from engine.runtime.clocks.commands import get_case
from engine.runtime.clocks.explanation import explain_case, untimed_explanation
from engine.runtime.clocks.limits import (
    CASE_OF_INSTANCE,
    clock_limit_text,
    untimed_reason,
    waiting_for_correction,
)


@dataclass(frozen=True)
class DeadlineView:
    scope: str  # "stage" or "case"
    due_at: datetime | None
    yellow_at: datetime | None
    time_left_seconds: int | None  # office time left (negative: overdue by)
    state: str  # green / yellow / red / paused / done
    provisional: bool
    stage: str | None = None
    limit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "due_at": beijing_iso(self.due_at),
            "yellow_at": beijing_iso(self.yellow_at),
            "time_left_seconds": self.time_left_seconds,
            "state": self.state,
            "provisional": self.provisional,
            "stage": self.stage,
            "limit": self.limit,
        }


# The stage row of a task's latest readiness (a step sent back and redone has one per readiness).
LATEST_STAGE = (
    select(StageDeadline)
    .where(col(StageDeadline.instance_id) == bindparam("instance_id"), col(StageDeadline.task_id) == bindparam("task_id"))
    .order_by(col(StageDeadline.id).desc()).limit(1)
)
STAGES_OF_INSTANCE = (
    select(StageDeadline).where(col(StageDeadline.instance_id) == bindparam("instance_id"))
    .order_by(col(StageDeadline.started_at), col(StageDeadline.id))
)
ESCALATIONS_OF_INSTANCE = (
    select(Escalation).where(col(Escalation.instance_id) == bindparam("instance_id"))
    .order_by(col(Escalation.created_at))
)


def task_deadline(session: Session, task_row: WorkTask, clock: Clock) -> DeadlineView | None:
    """The deadline a task is shown with: its stage's own limit, else the case's. None if untimed.

    The worse of the two states wins: a stage still green in a red case shows red.
    """
    now = clock.now()
    calendar = LazyCalendar(session)
    instance_id = task_row.instance_id
    spiff_id = task_row.spiff_task_id
    case = session.execute(CASE_OF_INSTANCE, {"instance_id": instance_id}).scalar_one_or_none()
    stage = None
    if spiff_id:
        stage = session.execute(LATEST_STAGE, {"instance_id": instance_id, "task_id": str(spiff_id)}).scalar_one_or_none()
    case_view = view_of_case(case, calendar, now) if case is not None else None
    if (stage is None or stage.due_at is None) and case_view is None:
        return step_timer_view(session, task_row, calendar, now)
    if stage is None or stage.due_at is None:
        return case_view
    finished = stage.status != "open"
    case_paused = case is not None and case.paused_since is not None and not finished
    if finished:
        state = "red" if stage.overran else "done"
    elif case_paused:
        # A step's clock stands still with its case (§45, 补正): paused, never yellow or red.
        state = "paused"
    else:
        state = clock_state(stage.due_at, stage.yellow_at, now)
    if case_view is not None and state_rank(case_view.state) > state_rank(state):
        state = case_view.state
    left = None
    if not finished:
        left = time_left(calendar, stage.due_at, case.paused_since if case_paused and case is not None else now)
    return DeadlineView("stage", stage.due_at, stage.yellow_at, left, state, stage.provisional, stage.stage, stage.limit_text)


# A step's boundary timers by the definition's content: {step's BPMN id: timer event ids}. A stored
# definition never changes, so the parse is kept for the process's life (one entry per version).
_TIMERS_OF_STEPS: dict[str, dict[str, frozenset[str]]] = {}
PENDING_STEP_TIMERS = (
    select(col(RuntimeTimer.spec_name), col(RuntimeTimer.due_at))
    .where(col(RuntimeTimer.instance_id) == bindparam("instance_id"), col(RuntimeTimer.kind) == TimerKind.bpmn,
           col(RuntimeTimer.status) == TimerStatus.pending)
    .order_by(col(RuntimeTimer.due_at))
)


def timers_of_steps(session: Session, instance_id: int) -> dict[str, frozenset[str]]:
    """The timer boundary events of the instance's process, by the step they are attached to."""
    row = session.execute(
        select(col(ProcessDefinition.content_hash), col(ProcessDefinition.id), col(ProcessDefinition.process_id))
        .join(ProcessInstance, col(ProcessInstance.definition_id) == col(ProcessDefinition.id))
        .where(col(ProcessInstance.id) == instance_id)
    ).one_or_none()
    if row is None:
        return {}
    found = _TIMERS_OF_STEPS.get(row.content_hash)
    if found is None:
        xml = session.execute(select(col(ProcessDefinition.bpmn_xml)).where(col(ProcessDefinition.id) == row.id)).scalar_one()
        graph = read_graph(xml.encode("utf-8"), row.process_id)
        steps: dict[str, set[str]] = {}
        for node in graph.nodes.values():
            if node.kind == "boundaryEvent" and node.attached_to and "timer" in node.markers:
                steps.setdefault(node.attached_to, set()).add(node.id)
        found = _TIMERS_OF_STEPS[row.content_hash] = {step: frozenset(ids) for step, ids in steps.items()}
    return found


def step_timer_view(session: Session, task_row: WorkTask, calendar: LazyCalendar, now: datetime) -> DeadlineView | None:
    """An untimed step (no stage limit, no case clock) that a timer boundary event bounds — the
    dispute's 协商 ends when its 10 working days run out — is shown against that timer, not as
    不计时. The limit is said in working days when the timer falls at the close of office (as
    `due_after("10个工作日")` sets it), counted from the step's arrival; yellow by the same rule as
    any clock of that limit. None when no timer waits on the step."""
    pending = session.execute(PENDING_STEP_TIMERS, {"instance_id": task_row.instance_id}).all()
    if not pending:
        return None
    step_id = task_row.task_spec.split(" [", 1)[0]  # a multi-instance item: "<id> [child]"
    timers = timers_of_steps(session, task_row.instance_id).get(step_id)
    due_at = next((row.due_at for row in pending if timers and row.spec_name in timers), None)
    if due_at is None:
        return None
    working = calendar.get()
    limit_text, yellow_at, provisional = None, None, False
    days = working.working_days_between(task_row.ready_at, due_at)
    if days > 0 and working.close_of(due_at.astimezone(working.tz).date()) == due_at:
        moments = compute_moments(working, task_row.ready_at, TimeLimit(value=days, unit=LimitUnit.working_days))
        if moments.due_at == due_at:
            limit_text, yellow_at, provisional = f"{days}个工作日", moments.yellow_at, moments.provisional
    state = clock_state(due_at, yellow_at, now)
    return DeadlineView("stage", due_at, yellow_at, time_left(calendar, due_at, now), state, provisional,
                        task_row.name, limit_text)


def case_view(session: Session, instance_id: int, clock: Clock) -> DeadlineView:
    """The case clock of an instance as a DeadlineView (NotFound when it has none)."""
    return view_of_case(get_case(session, instance_id), LazyCalendar(session), clock.now())


def view_of_case(case: CaseDeadline, calendar: LazyCalendar, now: datetime) -> DeadlineView:
    """The case clock at `now`. While it waits for 补正 there is no due moment: the count starts
    afresh when the materials arrive, so due, yellow and time left are None."""
    finished = case.finished_at is not None
    state = clock_state(case.due_at, case.yellow_at, now, finished=finished, paused_since=case.paused_since)
    if finished and not case.on_time:
        state = "red"
    if waiting_for_correction(case) and not finished:
        return DeadlineView("case", None, None, None, state, case.provisional, None, case.limit_text)
    reference = case.paused_since if case.paused_since is not None else now
    left = None if finished else time_left(calendar, case.due_at, reference)
    return DeadlineView("case", case.due_at, case.yellow_at, left, state, case.provisional, None, case.limit_text)


def time_left(calendar: LazyCalendar, due_at: datetime, now: datetime) -> int:
    """Office time from `now` to due, in seconds (negative when overdue)."""
    return int(calendar.get().working_time_between(now, due_at).total_seconds())


def case_clock(session: Session, instance_id: int, clock: Clock) -> dict[str, Any]:
    """Everything the API shows about an instance's clock: the case, its stages, escalations.

    An instance without a case clock answers with state `none` (不计时) and its identity: a duty
    whose limit is 无 has no clock by design, and saying so is not an error."""
    case = session.execute(CASE_OF_INSTANCE, {"instance_id": instance_id}).scalar_one_or_none()
    if case is None:
        return untimed_clock(session, instance_id)
    calendar = LazyCalendar(session)
    now = clock.now()
    view = view_of_case(case, calendar, now)
    stages = session.execute(STAGES_OF_INSTANCE, {"instance_id": instance_id}).scalars().all()
    escalations = session.execute(ESCALATIONS_OF_INSTANCE, {"instance_id": instance_id}).scalars().all()
    return {
        "instance_id": instance_id,
        "duty_code": case.duty_code,
        "unit_code": case.unit_code,
        "department_code": case.department_code,
        "limit": case.limit_text,
        "limit_source": case.limit_source,
        "untimed_reason": None,
        "counting_from": beijing_iso(case.counting_from),
        "restarts": case.restarts,
        "extensions": list(case.extensions),
        "paused": case.paused_since is not None,
        "paused_since": beijing_iso(case.paused_since),
        "pause_reason": case.pause_reason,
        "paused_working_seconds": case.paused_seconds,
        "finished_at": beijing_iso(case.finished_at),
        "on_time": case.on_time,
        **view.as_dict(),
        "stages": [stage_dict(s, now, case.paused_since) for s in stages],
        "escalations": [escalation_dict(e) for e in escalations],
        "explanation": explain_case(session, case, now),
    }


def stage_dict(s: StageDeadline, now: datetime, paused_since: datetime | None = None) -> dict[str, Any]:
    """A stage as the API shows it; `paused_since`: the case clock stands still, and so does an
    open stage's."""
    return {
        "task_id": s.task_id,
        "task_spec": s.task_spec,
        "stage": s.stage,
        "limit": s.limit_text,
        "clock": s.clock_mode,
        "started_at": beijing_iso(s.started_at),
        "due_at": beijing_iso(s.due_at),
        "yellow_at": beijing_iso(s.yellow_at),
        "status": s.status,
        "ended_at": beijing_iso(s.ended_at),
        "overran": s.overran,
        "state": ("red" if s.overran else "done") if s.status != "open" else clock_state(
            s.due_at, s.yellow_at, now, paused_since=paused_since),
        "provisional": s.provisional,
    }


def untimed_clock(session: Session, instance_id: int) -> dict[str, Any]:
    """The clock answer of an instance without a case clock: state `none` and why."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    resolved, reason = untimed_reason(session, instance)
    data = instance.start_data or {}
    return {
        "instance_id": instance_id,
        "duty_code": resolved.duty_code if resolved and resolved.duty_code else instance.duty_code,
        "unit_code": resolved.unit_code if resolved else data.get("unit_code"),
        "department_code": resolved.department_code if resolved else data.get("department_code"),
        "limit": clock_limit_text(resolved.limit) if resolved else None,
        "limit_source": resolved.source if resolved else None,
        "untimed_reason": reason,
        "counting_from": None,
        "restarts": 0,
        "extensions": [],
        "paused": False,
        "paused_since": None,
        "pause_reason": None,
        "paused_working_seconds": 0,
        "finished_at": None,
        "on_time": None,
        "scope": "case",
        "due_at": None,
        "yellow_at": None,
        "time_left_seconds": None,
        "state": "none",
        "provisional": False,
        "stage": None,
        "stages": [],
        "escalations": [],
        "explanation": untimed_explanation(reason),
    }


def escalation_dict(e: Escalation) -> dict[str, Any]:
    return {
        "id": e.id,
        "instance_id": e.instance_id,
        "kind": e.kind,
        "stage": e.stage,
        "due_at": beijing_iso(e.due_at),
        "to_posts": list(e.to_posts),
        "unit_code": e.unit_code,
        "department_code": e.department_code,
        "created_at": beijing_iso(e.created_at),
        "resolved_at": beijing_iso(e.resolved_at),
    }
