"""After every engine step: bring the case clock, the stage clocks and their warning rows in line
with the workflow (called in the step's transaction, after the workflow state is saved), in two
halves around the insert of the step's new task rows (`open_clocks`, `settle_clocks`), so that a
new task row names its stage row as it is inserted.

- A new instance whose duty or data gives a limit gets its case clock (counting from the step's
  moment, the day itself not counted) and the case's yellow/red rows.
- A tracked step that became ready gets a stage row (its own limit, if any, and warning rows
  unless it pauses the case clock); a stage whose step is no longer open is closed — completed or
  cancelled — and its warning rows are cancelled.
- A completed `clock="restart"` step restarts the count (补正); an open `clock="pause"` step
  keeps the case clock standing still; the workflow's end finishes the case clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from engine.calendar.limits import ParsedLimit, format_limit, read_limit
from engine.db import core_connection
from engine.models.runtime import TASK_READY, WorkTask
from engine.models.timers import CASE_SUBJECT, CaseDeadline, StageDeadline, TimerKind
from engine.runtime import rollups, timers
from engine.runtime.calendars import LazyCalendar
from engine.runtime.clocks import changes
from engine.runtime.clocks.arithmetic import beijing_iso, compute_moments
from engine.runtime.clocks.changes import CaseClock
from engine.runtime.clocks.limits import (
    CLOCK_MODES,
    CORRECTION_MODES,
    CORRECTION_REASON,
    PAUSE,
    PAUSE_REASON,
    CaseLimit,
    case_data,
    clock_limit_text,
    has_tracked_steps,
    notice_limit,
    resolve_case_limit,
    stage_limits,
    step_properties,
    tracked,
    waiting_for_correction,
)
from engine.runtime.workflow_tasks import all_tasks

# The BPMN message a process catches to react to a red case (delivered by engine.runtime.worker).
OVERDUE_MESSAGE = "case_overdue"

# A warning row to insert: (instance id, subject, kind, spec name, due at).
TimerRow = tuple[int, str, str, str, datetime]


@dataclass
class StageClock:
    """What a step needs of an open stage row (read, inserted and closed with Core statements)."""

    id: int | None  # None: inserted in this step (a stage opened in a step is not closed by it)
    task_id: str
    task_spec: str
    stage: str | None
    clock_mode: str | None
    due_at: datetime | None
    status: str = "open"


# The statements of every step with a clock, built once on the tables and run on the session's
# connection (`engine.db.core_connection`: no ORMExecuteState, no `do_orm_execute` listeners, about
# half the cost of `session.execute`); a model object per row would cost its constructor and a
# unit-of-work flush at the step's next statement (engine.runtime.tasks does the same).
_CASE = CaseDeadline.__table__  # type: ignore[attr-defined]
_STAGE = StageDeadline.__table__  # type: ignore[attr-defined]
_CASE_COLUMNS = (_CASE.c.id, _CASE.c.instance_id, _CASE.c.limit_text, _CASE.c.paused_since, _CASE.c.pause_reason,
                 _CASE.c.finished_at, _CASE.c.due_at, _CASE.c.yellow_at, _CASE.c.counting_from, _CASE.c.restarts,
                 _CASE.c.duty_code)
_STAGE_COLUMNS = (_STAGE.c.id.label("stage_id"), _STAGE.c.task_id, _STAGE.c.task_spec, _STAGE.c.stage,
                  _STAGE.c.clock_mode, _STAGE.c.due_at.label("stage_due_at"))
# Every step of an instance with a clock reads its case row and open stage rows, in one query.
CLOCKS = (
    select(*_CASE_COLUMNS, *_STAGE_COLUMNS)
    .outerjoin(_STAGE, and_(_STAGE.c.instance_id == _CASE.c.instance_id, _STAGE.c.status == "open"))
    .where(_CASE.c.instance_id == bindparam("instance_id"))
    .order_by(_STAGE.c.id)
)
# An instance without a case clock may still have stage clocks.
OPEN_STAGES = (
    select(*_STAGE_COLUMNS)
    .where(_STAGE.c.instance_id == bindparam("instance_id"), _STAGE.c.status == "open")
    .order_by(_STAGE.c.id)
)
INSERT_CASE = insert(_CASE).returning(_CASE.c.id)
INSERT_STAGE = insert(_STAGE).returning(_STAGE.c.id)
INSERT_STAGES = insert(_STAGE).returning(_STAGE.c.id, _STAGE.c.task_id, sort_by_parameter_order=True)
# The open task row of a stage names it (`work_task.stage_deadline_id`): the figures join an open
# step to its stage limit by that key. A task row inserted in the step that opens its stage names
# it at its insert (engine.runtime.instances.save_workflow writes the stages first); any other open
# row of a stage opened in a step is linked by this one statement for the step's new stages.
_TASK = WorkTask.__table__  # type: ignore[attr-defined]
LINK_STAGES = (
    update(_TASK)
    .where(_TASK.c.instance_id == bindparam("p_instance"), _TASK.c.status == TASK_READY,
           _TASK.c.spiff_task_id.in_(bindparam("p_tasks", expanding=True)))
    .values(stage_deadline_id=select(func.max(_STAGE.c.id))
            .where(_STAGE.c.instance_id == _TASK.c.instance_id, _STAGE.c.task_id == _TASK.c.spiff_task_id,
                   _STAGE.c.status == "open")
            .scalar_subquery())
)
CLOSE_STAGES = (update(_STAGE).where(_STAGE.c.id == bindparam("p_id"))
                .values(status=bindparam("p_status"), ended_at=bindparam("p_ended"), overran=bindparam("p_overran")))


@dataclass
class ClockStep:
    """What the first half of a step's clock sync (`open_clocks`) leaves for the second
    (`settle_clocks`): the case clock, the open stages by task id (those opened in this step
    included) and the warning rows still to insert."""

    instance_id: int
    calendar: LazyCalendar
    case: CaseClock | CaseDeadline | None  # a model object only once the step changes the clock
    stages: dict[str, StageClock]
    open_tasks: dict[str, Any]  # task id → the open tracked SpiffWorkflow task
    tasks_by_id: dict[str, Any]  # task id → every SpiffWorkflow task
    new_case: bool
    new_rows: list[TimerRow]
    opened: dict[str, int]  # task id → id of the stage row opened in this step
    correction_opened: list[StageClock]


def open_clocks(session: Session, instance_row: Any, workflow: Any, now: datetime,
                new_instance: bool = False) -> ClockStep | None:
    """The first half: read the case row and the open stage rows, start the case clock of a new
    case, and insert the stage rows of the tracked steps that became ready (RETURNING their ids,
    so the task rows written next can name them). Writes no event and locks no existing row.

    `new_instance`: the instance was inserted in this transaction and this is its first step, so
    it has no case or stage row yet and none is looked for. None: nothing to do (a process without
    limits: at most one query per step).
    """
    instance_id: int = instance_row.id
    calendar = LazyCalendar(session)
    has_stages = has_tracked_steps(workflow)
    case: CaseClock | CaseDeadline | None
    stages: dict[str, StageClock]
    if new_instance:
        case, stages = None, {}
    else:
        case, stages = load_clocks(session, instance_id, has_stages)
    if case is None and not has_stages:
        return None
    new_case = False
    untimed = False  # the duty's limit is 无: no case clock and no stage clocks
    if case is None:
        resolved = resolve_case_limit(session, case_data(instance_row, workflow))
        untimed = resolved is not None and not resolved.limit.has_clock
        if resolved is not None and not untimed:
            case = start_case(session, instance_id, resolved, calendar, now)
            new_case = True

    # One pass over the tasks: the open tracked ones, and every task by id for the stages to close.
    tasks_by_id: dict[str, Any] = {}
    open_tasks: dict[str, Any] = {}
    for task in all_tasks(workflow):
        task_id = str(task.id)
        tasks_by_id[task_id] = task
        if task.state in (TaskState.READY, TaskState.STARTED) and task.task_spec.manual and tracked(task.task_spec):
            open_tasks[task_id] = task

    # Warning rows of new stages (and of a new case) are collected and inserted in one statement,
    # and so are the new stage rows.
    new_rows: list[TimerRow] = []
    new_stages: list[dict[str, Any]] = []
    limits: dict[str, ParsedLimit] | None = None
    for task_id, task in open_tasks.items():
        if task_id not in stages:
            if limits is None:
                limits = {} if untimed else stage_limits(workflow, read_limit(case.limit_text) if case else None)
            stages[task_id] = open_stage(instance_id, task, limits, calendar, now, new_rows, new_stages)
    opened: dict[str, int] = {}
    if new_stages:
        connection = core_connection(session)
        if len(new_stages) == 1:  # the usual step: a plain insert (the many-rows form sorts by a sentinel)
            opened[new_stages[0]["task_id"]] = connection.execute(INSERT_STAGE, new_stages[0]).scalar_one()
        else:
            opened.update((row.task_id, row.id) for row in connection.execute(INSERT_STAGES, new_stages))
    correction_opened = [stages[row["task_id"]] for row in new_stages if row["clock_mode"] in CORRECTION_MODES]
    return ClockStep(instance_id=instance_id, calendar=calendar, case=case, stages=stages, open_tasks=open_tasks,
                     tasks_by_id=tasks_by_id, new_case=new_case, new_rows=new_rows, opened=opened,
                     correction_opened=correction_opened)


def settle_clocks(session: Session, step: ClockStep, workflow: Any, now: datetime,
                  named: frozenset[str] | set[str] = frozenset()) -> bool:
    """The second half, once the step's task rows are written: link the stages opened in this
    step to their open task rows (one UPDATE, for those whose row did not name its stage when it
    was inserted — `named`), 一次性告知, close the stages whose step is no longer open, pause,
    resume, restart (补正) or finish the case clock, and cancel and insert warning rows. Returns
    whether the count restarted (补正): the caller then closes the steps a red card opened
    (`cancel_overdue_followups`)."""
    instance_id, calendar, case, stages = step.instance_id, step.calendar, step.case, step.stages
    unnamed = [task_id for task_id in step.opened if task_id not in named]
    if unnamed:
        core_connection(session).execute(LINK_STAGES, {"p_instance": instance_id, "p_tasks": unnamed})
    if step.correction_opened and case is not None and case.finished_at is None:
        case = notice_given(session, case, step.correction_opened[0], calendar, now)

    restarted = False
    closed: list[str] = []
    closing: list[dict[str, Any]] = []
    for task_id, stage in list(stages.items()):
        if stage.status != "open" or task_id in step.open_tasks:
            continue
        # The task may be gone: sending back deletes the tasks below its target.
        task = step.tasks_by_id.get(task_id)
        completed = task is not None and task.state == TaskState.COMPLETED
        closing.append(close_stage(stage, "completed" if completed else "cancelled", now))
        if stage.id is not None:  # the rollups add the step that completed it from these values
            rollups.note_closed_stage(session, stage.id, rollups.ClosedStage(
                due_at=stage.due_at, overran=closing[-1]["p_overran"]))
        if stage.due_at is not None:  # a stage without a limit never had warning rows
            closed.append(task_id)
        if (completed and stage.clock_mode in CORRECTION_MODES and case is not None
                and waiting_for_correction(case) and not workflow.is_completed()):
            # The corrected materials arrived: the count starts afresh from the next day. After a
            # late notice the clock never stopped and nothing restarts (§32: accepted on receipt).
            case = held = changes.held_case(session, case)
            changes.restart(session, held, calendar, now, reason="补正材料已收到，重新计时", task_id=task_id)
            restarted = True
    if closing:
        write_closed_stages(session, closing)

    new_rows = step.new_rows
    finished = False
    if case is not None and case.finished_at is None:
        pausing = [s for s in stages.values() if s.status == "open" and s.clock_mode == PAUSE]
        if pausing and case.paused_since is None:
            case = held = changes.held_case(session, case)
            changes.pause(session, held, now, reason=pause_reason(pausing[0], step.tasks_by_id),
                          task_id=pausing[0].task_id)
        elif (not pausing and case.paused_since is not None and not changes.manual_pause(case)
              and not waiting_for_correction(case)):
            case = held = changes.held_case(session, case)
            changes.resume(session, held, calendar, now)
        if workflow.is_completed():
            changes.finish(session, case, now)
            finished = True
        elif step.new_case and not restarted and case.paused_since is None:
            # A new case has no warning rows yet: insert them without looking.
            new_rows += [(instance_id, CASE_SUBJECT, TimerKind.case_yellow, changes.CASE_SUBJECT_NAME, case.yellow_at),
                         (instance_id, CASE_SUBJECT, TimerKind.case_red, changes.CASE_SUBJECT_NAME, case.due_at)]
    if closed and not finished:  # finishing the case cancelled every warning row already
        timers.unschedule(session, instance_id, closed, (TimerKind.stage_yellow, TimerKind.stage_red), now)
    timers.add_timer_rows(session, new_rows, now)
    return restarted


def cancel_overdue_followups(workflow: Any) -> bool:
    """Cancel the open steps a red card opened (超期督促, 督办: whatever follows the process's catch of
    `case_overdue`) once the count has restarted: the overdue they answer no longer stands. Returns
    whether any was cancelled (the workflow must then be saved again)."""
    cancelled = False
    for task in list(all_tasks(workflow)):
        if task.state not in (TaskState.READY, TaskState.STARTED, TaskState.WAITING):
            continue
        if any(caught_overdue(ancestor) for ancestor in ancestors(task)):
            task.cancel()
            cancelled = True
    return cancelled


def ancestors(task: Any) -> Iterator[Any]:
    parent = task.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def caught_overdue(task: Any) -> bool:
    definition = getattr(task.task_spec, "event_definition", None)
    return task.state == TaskState.COMPLETED and getattr(definition, "name", None) == OVERDUE_MESSAGE


def pause_reason(stage: StageClock, tasks_by_id: dict[str, Any]) -> str:
    """Why a pausing step stops the clock: its `pause_reason` property (`$field`: that data
    field's value, e.g. `hearing`), else its stage or name."""
    task = tasks_by_id.get(stage.task_id)
    given = step_properties(task.task_spec).get(PAUSE_REASON, "") if task is not None else ""
    if given.startswith("$") and task is not None:
        given = str(task.data.get(given[1:]) or "")
    return given.strip() or stage.stage or stage.task_spec


def notice_given(session: Session, case: CaseClock | CaseDeadline, stage: StageClock, calendar: LazyCalendar,
                 now: datetime) -> CaseClock | CaseDeadline:
    """A one-time notice (一次性告知) was just given and the case now waits for 补正.

    In time — within the duty's notice limit from receipt (5个工作日, 行政许可法 §32), on a count
    never restarted — the case clock stands still until the materials arrive. Late, the notice
    stands (the applicant must learn what is missing) but it is a violation of the one-time
    notice rule, recorded for the efficiency office as a `notice_late` event, and the clock keeps
    running: the application counts as accepted on the day it was received."""
    limit = notice_limit(session, case.duty_code)
    received = case.counting_from
    notice_due = calendar.get().due(received, limit)
    if case.restarts == 0 and now <= notice_due.at and case.paused_since is None:
        held = changes.held_case(session, case)
        changes.pause(session, held, now, reason=CORRECTION_REASON, task_id=stage.task_id)
        return held
    changes.log_clock_event(session, case.instance_id, "notice_late", now, task_id=stage.task_id, detail={
        "received_at": beijing_iso(received), "notice_limit": limit.text or format_limit(limit),
        "notice_due": beijing_iso(notice_due.at),
        "rule": "《行政许可法》第三十二条：逾期不告知的，自收到申请材料之日起即为受理；计时不因补正暂停或重新计算",
    })
    return case


def load_clocks(session: Session, instance_id: int, has_stages: bool) -> tuple[CaseClock | None,
                                                                                dict[str, StageClock]]:
    """The case row and the open stage rows (by task id) of an instance; in one query when it has a case."""
    rows = core_connection(session).execute(CLOCKS, {"instance_id": instance_id}).all()
    if rows:
        first = rows[0]
        case = CaseClock(id=first.id, instance_id=first.instance_id, limit_text=first.limit_text,
                         paused_since=first.paused_since, pause_reason=first.pause_reason,
                         finished_at=first.finished_at, due_at=first.due_at, yellow_at=first.yellow_at,
                         counting_from=first.counting_from, restarts=first.restarts, duty_code=first.duty_code)
        return case, {row.task_id: _stage(row) for row in rows if row.stage_id is not None}
    if not has_stages:
        return None, {}
    return None, {row.task_id: _stage(row) for row in core_connection(session).execute(OPEN_STAGES, {"instance_id": instance_id})}


def _stage(row: Any) -> StageClock:
    return StageClock(id=row.stage_id, task_id=row.task_id, task_spec=row.task_spec, stage=row.stage,
                      clock_mode=row.clock_mode, due_at=row.stage_due_at)


def start_case(session: Session, instance_id: int, resolved: CaseLimit, calendar: LazyCalendar,
               now: datetime) -> CaseClock:
    """Insert the case row of a new case clock (every column named: the model's defaults are Python's)."""
    moments = compute_moments(calendar.get(), now, resolved.limit)
    limit_text = clock_limit_text(resolved.limit)
    case_id: int = core_connection(session).execute(INSERT_CASE, {
        "instance_id": instance_id, "duty_code": resolved.duty_code, "unit_code": resolved.unit_code,
        "department_code": resolved.department_code, "limit_text": limit_text, "limit_source": resolved.source,
        "counting_from": now, "restarts": 0, "extensions": [], "paused_seconds": 0, "paused_since": None,
        "pause_reason": None, "due_at": moments.due_at, "yellow_at": moments.yellow_at,
        "provisional": moments.provisional, "finished_at": None, "on_time": None, "created_at": now,
    }).scalar_one()
    return CaseClock(id=case_id, instance_id=instance_id, limit_text=limit_text, paused_since=None,
                     pause_reason=None, finished_at=None, due_at=moments.due_at, yellow_at=moments.yellow_at,
                     counting_from=now, restarts=0, duty_code=resolved.duty_code)


def open_stage(instance_id: int, task: Any, limits: dict[str, ParsedLimit], calendar: LazyCalendar,
               now: datetime, new_rows: list[TimerRow], new_stages: list[dict[str, Any]]) -> StageClock:
    """A stage for a task that became ready: its row is appended to `new_stages`, its warning rows
    to `new_rows` (the caller inserts each list in one statement)."""
    props = step_properties(task.task_spec)
    limit = limits.get(task.task_spec.name)
    clock_mode = props.get("clock") if props.get("clock") in CLOCK_MODES else None
    stage = StageClock(id=None, task_id=str(task.id), task_spec=task.task_spec.bpmn_id or task.task_spec.name,
                       stage=props.get("stage") or None, clock_mode=clock_mode, due_at=None)
    yellow_at = None
    provisional = False
    if limit is not None:
        moments = compute_moments(calendar.get(), now, limit)
        stage.due_at, yellow_at, provisional = moments.due_at, moments.yellow_at, moments.provisional
    new_stages.append({
        "instance_id": instance_id, "task_id": stage.task_id, "task_spec": stage.task_spec, "stage": stage.stage,
        "limit_text": clock_limit_text(limit) if limit is not None else None, "clock_mode": clock_mode,
        "started_at": now, "due_at": stage.due_at, "yellow_at": yellow_at, "provisional": provisional,
        "status": "open", "ended_at": None, "overran": False,
    })
    if stage.due_at is not None and yellow_at is not None and clock_mode not in (PAUSE, *CORRECTION_MODES):
        # Rows of an earlier readiness of the same task (sent back) were cancelled when it closed.
        subject = stage.stage or stage.task_spec
        new_rows += [(instance_id, stage.task_id, TimerKind.stage_yellow, subject, yellow_at),
                     (instance_id, stage.task_id, TimerKind.stage_red, subject, stage.due_at)]
    return stage


def close_stage(stage: StageClock, status: str, now: datetime) -> dict[str, Any]:
    """Close a loaded stage; returns the parameters of its update (the caller writes them all in
    one statement, and cancels their warning rows in one more)."""
    stage.status = status
    return {"p_id": stage.id, "p_status": status, "p_ended": now,
            "p_overran": stage.due_at is not None and now >= stage.due_at}


def write_closed_stages(session: Session, closing: list[dict[str, Any]]) -> None:
    """Write the closed stages; a model object of such a row the session holds gets the values as
    loaded state (no pending change), as a flush would leave it."""
    core_connection(session).execute(CLOSE_STAGES, closing[0] if len(closing) == 1 else closing)
    for values in closing:
        held = session.identity_map.get(identity_key(StageDeadline, values["p_id"]))
        if held is not None:
            set_committed_value(held, "status", values["p_status"])
            set_committed_value(held, "ended_at", values["p_ended"])
            set_committed_value(held, "overran", values["p_overran"])
