"""Time limits (限时办结): the case clock, stage clocks, pause/restart/extension, yellow and red.

Step properties (spiffworkflow properties on a user task, read from
`task_spec.extensions["properties"]`) — the names processes use:

- `stage`: the stage the step belongs to (受理 / 审查 / 决定 / 送达 …), shown in listings.
- `stage_limit`: the stage's own limit as catalogs write it (`2个工作日`). Stage limits must fit
  in the case limit: when a process's stage limits (same unit as the case limit) add up to more
  than the duty's limit, they are scaled down to add up to it exactly (largest remainder), so one
  process serves duties with different limits; when they add up to less, they apply as written.
- `clock`: `pause` — the case clock stands still while the step is open (hearing, testing,
  expert review; 行政许可法 §45); `restart` — when the step completes (corrected materials
  arrived, 补正) the count restarts and runs from the day after.

The case limit comes from the duty's committed limit in the current catalog (`data["duty_code"]`),
else its statutory limit, else `data["limit"]` ("5个工作日"). Counting starts the day after the
instance starts. Due, yellow and red moments are computed by the working-day calendar:
- due: the calendar's due moment (close of office of the last day), shifted by finished pauses
  and extended by approved extensions;
- yellow: the earlier of "`days_before` working day(s) before due" and "`fraction_used` of the
  limit's office time used" (defaults 1 and 2/3; DUTYFLOW_YELLOW_DAYS_BEFORE /
  DUTYFLOW_YELLOW_FRACTION), never at the moment the clock starts: for a limit so short that
  "one working day before" is at or before the start, two thirds of the office time it has;
- limits as real tables write them (engine.calendar.limits.read_limit): 即办 ends at the close
  of the receiving day, months by 民法典 §201–203, a bracketed note is kept in `limit_text`, and a
  duty whose limit is 无 gets no case clock and no stage clocks (its steps show 不计时);
- red: from the due moment on (overdue). A stage over its own limit is red even when the case
  is not.
Warnings are rows in `runtime_timer` (kinds case_yellow/case_red/stage_yellow/stage_red) fired by
the worker; red escalates to the head posts of the responsible unit, else the department's head
post as the catalog names them (an `escalation` row, an
`escalated` event and, when the workflow waits for it, the BPMN message `case_overdue`).
A deadline that falls in a year without official holiday data is provisional until that year is
entered; `recompute_provisional` then moves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import and_, bindparam, func, select
from sqlmodel import Session

from engine.auth import policy
from engine.calendar.limits import LimitKind, ParsedLimit, format_limit, parse_limit, read_limit
from engine.calendar.working import WorkingCalendar, load_calendar
from engine.catalog.cells import parsed_limit
from engine.catalog.document import LimitUnit, TimeLimit
from engine.clock import BEIJING
from engine.db import database_key
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.models.runtime import ProcessInstance
from engine.models.timers import (
    CASE_SUBJECT,
    CaseDeadline,
    Escalation,
    RuntimeTimer,
    StageDeadline,
    TimerKind,
    TimerStatus,
)
from engine.rawsql import Raw, Record, flush_pending, insert_record, record, records, write_changes
from engine.runtime import timers

PAUSE = "pause"
RESTART = "restart"
CLOCK_MODES = (PAUSE, RESTART)
# BPMN message a process may catch to react to a red case (e.g. a 督办 task for the unit head).
OVERDUE_MESSAGE = "case_overdue"


# --- policy -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WarningPolicy:
    """When a running clock turns yellow: whichever of the two comes first."""

    days_before: int = 1
    fraction_used: Fraction = Fraction(2, 3)


_policies: dict[tuple[int, str], WarningPolicy] = {}


def warning_policy() -> WarningPolicy:
    """The policy of the settings (DUTYFLOW_YELLOW_DAYS_BEFORE, DUTYFLOW_YELLOW_FRACTION)."""
    from engine.config import setting

    key = (setting("yellow_days_before"), setting("yellow_fraction"))
    policy = _policies.get(key)
    if policy is None:
        days_before, fraction_text = key
        try:
            fraction = Fraction(fraction_text.strip()).limit_denominator(1000)
        except (ValueError, ZeroDivisionError):
            raise InvalidInput("黄牌比例设置有误", [f"DUTYFLOW_YELLOW_FRACTION={fraction_text!r}：应写作 2/3 或 0.7"]) from None
        policy = _policies[key] = WarningPolicy(days_before=days_before, fraction_used=fraction)
    return policy


# --- the calendar, loaded only when a moment must be computed -----------------------------------
_calendar_cache: dict[str, tuple[tuple, WorkingCalendar]] = {}


_CALENDAR_CHECKED = "dutyflow_calendar_fingerprint"
_CALENDAR_FINGERPRINT: Raw | None = None  # built on first use (the calendar models import late)


def calendar_for(session: Session) -> WorkingCalendar:
    """The working calendar of this database, rebuilt only when its entered years change.

    The check (one small query) runs once per transaction; the calendar itself is shared.
    """
    from engine.calendar.working import OfficeHours
    from engine.config import setting
    from engine.models.calendar import CalendarDay, CalendarYear

    key = database_key(session)
    cached = _calendar_cache.get(key)
    if cached is not None and session.info.get(_CALENDAR_CHECKED) == cached[0]:
        return cached[1]
    office_hours = setting("office_hours")
    global _CALENDAR_FINGERPRINT
    if _CALENDAR_FINGERPRINT is None:
        _CALENDAR_FINGERPRINT = Raw(select(
            select(func.count()).select_from(CalendarYear).scalar_subquery(),
            select(func.max(CalendarYear.entered_at)).scalar_subquery(),
            select(func.count()).select_from(CalendarDay).scalar_subquery(),
        ))
    flush_pending(session)
    counts = _CALENDAR_FINGERPRINT.first(session)
    fingerprint = (*counts, office_hours)
    if cached is None or cached[0] != fingerprint:
        cached = _calendar_cache[key] = (fingerprint, load_calendar(session, OfficeHours.parse(office_hours)))
    session.info[_CALENDAR_CHECKED] = fingerprint
    return cached[1]


class _LazyCalendar:
    """Loads the calendar on first use, so steps that compute no moment cost no query."""

    def __init__(self, session: Session):
        self._session = session
        self._calendar: WorkingCalendar | None = None

    def get(self) -> WorkingCalendar:
        if self._calendar is None:
            self._calendar = calendar_for(self._session)
        return self._calendar


# --- moments ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Moments:
    due_at: datetime
    yellow_at: datetime
    provisional: bool


def compute_moments(calendar: WorkingCalendar, counting_from: datetime, limit: TimeLimit | ParsedLimit,
                    extensions: list[str] = (), paused_seconds: int = 0,
                    policy: WarningPolicy | None = None) -> Moments:
    """Due and yellow moments of a clock started at `counting_from` (its day not counted).

    Yellow is never at the moment the clock starts (issue 14 item 7): "`days_before` working
    day(s) before due" counts only when it falls after the start; for a limit that short (即办, a
    one-working-day step arriving after the close or on a rest day) yellow comes when
    `fraction_used` (2/3 unless set otherwise) of the office time from the start to due is used.
    A limit of kind `none` has no moments: callers check `has_clock` first (calendar.due refuses).
    """
    policy = policy or warning_policy()
    deadline = calendar.due(counting_from, limit)
    provisional = deadline.provisional
    for text in extensions:
        deadline = calendar.due(deadline.at, read_limit(text))
        provisional = provisional or deadline.provisional
    if paused_seconds:
        deadline = calendar.add_working_time(deadline.at, timedelta(seconds=paused_seconds))
        provisional = provisional or deadline.provisional
    due = deadline.at
    # Office time of the whole limit, counted from the close of the first (uncounted) day.
    count_start = calendar.close_of(counting_from.astimezone(calendar.tz).date())
    total = calendar.working_time_between(count_start, due)
    fraction = policy.fraction_used if 0 < policy.fraction_used < 1 else None
    candidates = [calendar.subtract_working_days(due, policy.days_before).at] if policy.days_before else []
    if total > timedelta(0) and fraction is not None:
        candidates.append(calendar.add_working_time(count_start, total * fraction.numerator / fraction.denominator).at)
    candidates = [c for c in candidates if counting_from < c <= due]
    if not candidates:
        # A short limit: "one day left" is reached at once. Two thirds of the office time the
        # clock really has, from its start (the first day's remaining hours included).
        span = calendar.working_time_between(counting_from, due)
        share = fraction or Fraction(2, 3)
        if span > timedelta(0):
            point = calendar.add_working_time(counting_from, span * share.numerator / share.denominator).at
            if counting_from < point <= due:
                candidates.append(point)
    yellow = min(candidates or [due])
    return Moments(due.astimezone(BEIJING), yellow.astimezone(BEIJING), provisional)


def clock_state(due_at: datetime | None, yellow_at: datetime | None, now: datetime, finished: bool = False,
                paused: bool = False) -> str:
    """green / yellow / red (or done / paused) of a clock at `now`."""
    if finished:
        return "done"
    if due_at is None:
        return "green"
    if now >= due_at:
        return "red"
    if paused:
        return "paused"
    if yellow_at is not None and now >= yellow_at:
        return "yellow"
    return "green"


# --- step properties ------------------------------------------------------------------------------
def step_properties(task_spec) -> dict[str, str]:
    extensions = getattr(task_spec, "extensions", None) or {}
    properties = extensions.get("properties") or {}
    return {str(k): str(v) for k, v in properties.items()}


def tracked(task_spec) -> bool:
    props = step_properties(task_spec)
    return bool(props.get("stage") or props.get("stage_limit") or props.get("clock"))


def check_step_properties(task_spec, where: str) -> list[str]:
    """Problems in a task's timing properties (for deployment checks by core)."""
    props = step_properties(task_spec)
    problems = []
    if props.get("stage_limit"):
        try:
            read_limit(props["stage_limit"])
        except InvalidInput:
            problems.append(f"{where}：stage_limit {props['stage_limit']!r} 不是有效的时限（如“2个工作日”）")
    if props.get("clock") and props["clock"] not in CLOCK_MODES:
        problems.append(f"{where}：clock 只能是 pause（暂停计时）或 restart（重新计时），而不是 {props['clock']!r}")
    return problems


def stage_limits(workflow, case_limit: TimeLimit | ParsedLimit | None) -> dict[str, ParsedLimit]:
    """Each tracked step's own limit; scaled down to add up to the case limit when they exceed it.

    A case that has no clock (无) has no stage clocks either; in a same-day case (即办) every stage
    ends by the close of the day it started. A stage_limit of `无` gives that step no clock.
    """
    declared = _declared_stage_limits(workflow)
    if case_limit is not None:
        case_limit = parsed_limit(case_limit) if isinstance(case_limit, TimeLimit) else case_limit
        if not case_limit.has_clock:
            return {}
        if case_limit.kind is LimitKind.same_day:
            return {name: ParsedLimit(LimitKind.same_day, text="即办") for name, _, kind in declared
                    if kind != LimitKind.none}
        if declared:
            declared = _allocate(declared, (case_limit.value, case_limit.kind.value))
    return {name: _stage_limit(value, kind) for name, value, kind in declared if kind != LimitKind.none}


def _stage_limit(value: int, kind: str) -> ParsedLimit:
    limit = ParsedLimit(LimitKind(kind), value)
    return ParsedLimit(limit.kind, limit.value, text=format_limit(limit))


def _declared_stage_limits(workflow) -> tuple[tuple[str, int, str], ...]:
    """(task spec name, value, kind) of every step with a stage_limit (remembered on the spec)."""
    cached = getattr(workflow.spec, "dutyflow_stage_limits", None)
    if cached is None:
        specs = [workflow.spec, *getattr(workflow, "subprocess_specs", {}).values()]
        found = []
        for spec in specs:
            for name, task_spec in spec.task_specs.items():
                text = step_properties(task_spec).get("stage_limit")
                if text:
                    limit = read_limit(text)
                    found.append((name, limit.value, limit.kind.value))
        cached = workflow.spec.dutyflow_stage_limits = tuple(found)
    return cached


@lru_cache(maxsize=512)
def _allocate(declared: tuple[tuple[str, int, str], ...], case_limit: tuple[int, str]) -> tuple[tuple[str, int, str], ...]:
    value, unit = case_limit
    total = sum(v for _, v, _ in declared)
    if any(u != unit for _, _, u in declared) or total <= value:
        return declared
    shares = [(name, v * value / total) for name, v, _ in declared]
    floors = {name: int(share) for name, share in shares}
    left = value - sum(floors.values())
    for name, _share in sorted(shares, key=lambda s: s[1] - int(s[1]), reverse=True)[:left]:
        floors[name] += 1
    # A stage left with no whole day ends by the close of the day it started (limit 0).
    return tuple((name, floors[name], unit) for name, _, _ in declared)


# --- the case's limit ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseLimit:
    limit: ParsedLimit  # kind `none` (无): the duty has no clock, the case gets none
    source: str  # committed / statutory / data
    duty_code: str | None
    unit_code: str | None
    department_code: str | None


# case_deadline.limit_text / stage_deadline.limit_text hold at most this many characters.
LIMIT_TEXT_LENGTH = 40


def clock_limit_text(limit: ParsedLimit) -> str:
    """The limit a clock keeps and shows, note included (`15个工作日（不含公示时间）`).

    It reads back (`read_limit`, no category) to the same limit: a §82 `20日` is kept as
    `20个工作日`. A note too long for the column is shortened with `…`, never cut mid-bracket.
    """
    text = format_limit(limit)
    if len(text) <= LIMIT_TEXT_LENGTH or not limit.note:
        return text
    bare = format_limit(ParsedLimit(limit.kind, limit.value))
    room = LIMIT_TEXT_LENGTH - len(bare) - 3  # the brackets and the ellipsis
    return f"{bare}（{limit.note[:max(room, 0)]}…）"


def resolve_case_limit(session: Session, data: dict) -> CaseLimit | None:
    """The limit of a case: the duty's committed limit, else its statutory one, else data["limit"]."""
    duty_code = data.get("duty_code") or None
    unit_code = data.get("unit_code") or None
    department_code = data.get("department_code") or None
    if duty_code:
        duty = _duty_limits(session, str(duty_code))
        if duty is not None:
            committed, statutory, duty_units, duty_department = duty
            # The catalog says who answers for a duty's case, not the start data: its department
            # (whose head alone may extend it) and one of its units (the data may pick which).
            department_code = duty_department
            unit_code = unit_code if unit_code in duty_units else (duty_units[0] if duty_units else None)
            for limit, source in ((committed, "committed"), (statutory, "statutory")):
                if limit is not None:
                    return CaseLimit(parsed_limit(limit), source, str(duty_code), unit_code, department_code)
    if data.get("limit"):
        return CaseLimit(read_limit(str(data["limit"])), "data", duty_code, unit_code, department_code)
    return None


def _duty_limits(session: Session, duty_code: str):
    """(committed, statutory, unit codes, department code) of a duty in the current catalog."""
    from engine.catalog import service as catalog

    version = catalog.current_version(session)
    if version is None:
        return None
    try:
        duty = catalog.get_duty(session, version.id, duty_code)
    except NotFound:
        return None
    return duty.committed_limit, duty.statutory_limit, list(duty.units), duty.department


def _current_catalog_version(session: Session) -> int | None:
    from engine.catalog import service as catalog

    version = catalog.current_version(session)
    return version.id if version is not None else None


def _limit(value: int | None, unit: str | None) -> TimeLimit | None:
    if value is None or unit is None:
        return None
    return TimeLimit(value=value, unit=unit)


# --- after every engine step ------------------------------------------------------------------------
def sync_deadlines(session: Session, instance_row, workflow, now: datetime, new_instance: bool = False) -> None:
    """Bring the case clock, stage clocks and their warning rows in line with the workflow.

    `new_instance`: the instance was inserted in this transaction and this is its first step, so
    it has no case or stage row yet and none is looked for.
    """
    from SpiffWorkflow.util.task import TaskState

    instance_id = instance_row.id
    calendar = _LazyCalendar(session)
    if new_instance:
        case, stages = None, {}
    else:
        case, stages = _load_clocks(session, instance_id, _has_stages(workflow))
    if case is None and not _has_stages(workflow):
        return  # a process without limits: at most one query per step, nothing else
    new_case = False
    untimed = False  # the duty's limit is 无: no case clock and no stage clocks
    if case is None:
        resolved = resolve_case_limit(session, case_data(instance_row, workflow))
        untimed = resolved is not None and not resolved.limit.has_clock
        if resolved is not None and not untimed:
            case = _start_case(session, instance_row, resolved, calendar, now)
            new_case = True

    open_tasks = {}
    for task in _all_tasks(workflow):
        if task.state in (TaskState.READY, TaskState.STARTED) and task.task_spec.manual and tracked(task.task_spec):
            open_tasks[str(task.id)] = task

    # Warning rows of new stages (and of a new case) are collected and inserted in one statement.
    new_rows: list[tuple[int, str, str, str, datetime]] = []
    limits = None
    for task_id, task in open_tasks.items():
        if task_id not in stages:
            if limits is None:
                limits = {} if untimed else stage_limits(workflow, read_limit(case.limit_text) if case else None)
            stages[task_id] = _open_stage(session, instance_id, task, limits, calendar, now, new_rows)

    restarted = False
    closed: list[str] = []
    for task_id, stage in list(stages.items()):
        if stage.status != "open" or task_id in open_tasks:
            continue
        task = _find(workflow, task_id)
        completed = task is not None and task.state == TaskState.COMPLETED
        _close_stage(stage, "completed" if completed else "cancelled", now)
        closed.append(task_id)
        if completed and stage.clock_mode == RESTART and case is not None:
            _restart(session, case, calendar, now, reason=f"{stage.stage or stage.task_spec} 完成，重新计时",
                     task_id=task_id)
            restarted = True

    finished = False
    if case is not None and case.finished_at is None:
        pausing = [s for s in stages.values() if s.status == "open" and s.clock_mode == PAUSE]
        if pausing and case.paused_since is None:
            _pause(session, case, now, reason=pausing[0].stage or pausing[0].task_spec, task_id=pausing[0].task_id)
        elif not pausing and case.paused_since is not None and not _manual_pause(case):
            _resume(session, case, calendar, now)
        if workflow.is_completed():
            _finish_case(session, case, now)
            finished = True
        elif new_case and not restarted and case.paused_since is None:
            # A new case has no warning rows yet: insert them without looking.
            new_rows += [(instance_id, CASE_SUBJECT, TimerKind.case_yellow, "办结时限", case.yellow_at),
                         (instance_id, CASE_SUBJECT, TimerKind.case_red, "办结时限", case.due_at)]
    if closed and not finished:  # finishing the case cancelled every warning row already
        timers.unschedule(session, instance_id, closed, (TimerKind.stage_yellow, TimerKind.stage_red), now)
    timers.add_timer_rows(session, new_rows, now)
    # The clocks were read and created as Records (engine.rawsql): write what changed.
    if isinstance(case, Record):
        write_changes(session, CaseDeadline, case)
    for stage in stages.values():
        write_changes(session, StageDeadline, stage)


# Raw statements (engine.rawsql): every step with a case reads its clocks.
_CASE_TABLE = CaseDeadline.__table__
_STAGE_TABLE = StageDeadline.__table__
_CASE_COLUMNS = tuple(c.name for c in _CASE_TABLE.columns)
_STAGE_COLUMNS = tuple(c.name for c in _STAGE_TABLE.columns)
_CLOCKS = Raw(
    select(*_CASE_TABLE.columns, *_STAGE_TABLE.columns)
    .outerjoin(_STAGE_TABLE, and_(_STAGE_TABLE.c.instance_id == _CASE_TABLE.c.instance_id, _STAGE_TABLE.c.status == "open"))
    .where(_CASE_TABLE.c.instance_id == bindparam("p_instance"))
    .order_by(_STAGE_TABLE.c.id)
)
_OPEN_STAGES = Raw(
    select(*_STAGE_TABLE.columns)
    .where(_STAGE_TABLE.c.instance_id == bindparam("p_instance"), _STAGE_TABLE.c.status == "open")
    .order_by(_STAGE_TABLE.c.id)
)


def _load_clocks(session: Session, instance_id: int, has_stages: bool) -> tuple[Record | None, dict]:
    """The case row and the open stage rows (by task id) of an instance, as Records; in one query
    when it has a case."""
    flush_pending(session)
    rows = _CLOCKS.all(session, {"p_instance": instance_id})
    width = len(_CASE_COLUMNS)
    if rows:
        case = record(_CASE_COLUMNS, rows[0][:width])
        stages = records(_STAGE_COLUMNS, [row[width:] for row in rows if row[width] is not None])
        return case, {stage.task_id: stage for stage in stages}
    if not has_stages:
        return None, {}
    stages = records(_STAGE_COLUMNS, _OPEN_STAGES.all(session, {"p_instance": instance_id}))
    return None, {stage.task_id: stage for stage in stages}


def _keep(session: Session, clock_row) -> None:
    """A changed clock row: an ORM object is added to the session; a Record is written by the
    step that loaded it (`sync_deadlines`, at its end)."""
    if not isinstance(clock_row, Record):
        session.add(clock_row)


def _has_stages(workflow) -> bool:
    return bool(_spec_has_tracked_steps(workflow.spec)) or any(
        _spec_has_tracked_steps(spec) for spec in getattr(workflow, "subprocess_specs", {}).values()
    )


def _spec_has_tracked_steps(spec) -> bool:
    cached = getattr(spec, "dutyflow_tracked", None)
    if cached is None:
        cached = spec.dutyflow_tracked = any(tracked(ts) for ts in spec.task_specs.values())
    return cached


def _all_tasks(workflow):
    yield from workflow.tasks.values()
    for subprocess in getattr(workflow, "subprocesses", {}).values():
        yield from subprocess.tasks.values()


def _find(workflow, task_id: str):
    """The workflow's task with this id, or None (send back deletes the tasks below its target)."""
    return timers._find_task(workflow, task_id)


def case_data(instance_row, workflow) -> dict:
    """The data the instance started with (duty_code, limit, unit_code …)."""
    data = getattr(instance_row, "start_data", None)
    if isinstance(data, dict) and data:
        return data
    if workflow is None:
        return {}
    for task in workflow.tasks.values():
        if task.task_spec.name == "Start":
            return task.data
    return {}


def _start_case(session: Session, instance_row, resolved: CaseLimit, calendar: _LazyCalendar,
                now: datetime) -> CaseDeadline:
    moments = compute_moments(calendar.get(), now, resolved.limit)
    return insert_record(session, CaseDeadline, dict(
        instance_id=instance_row.id,
        duty_code=resolved.duty_code,
        unit_code=resolved.unit_code,
        department_code=resolved.department_code,
        limit_text=clock_limit_text(resolved.limit),
        limit_source=resolved.source,
        counting_from=now,
        extensions=[],
        due_at=moments.due_at,
        yellow_at=moments.yellow_at,
        provisional=moments.provisional,
        created_at=now,
    ))


def _open_stage(session: Session, instance_id: int, task, limits: dict[str, ParsedLimit], calendar: _LazyCalendar,
                now: datetime, new_rows: list) -> StageDeadline:
    """A stage row for a task that became ready; its warning rows are appended to `new_rows`."""
    props = step_properties(task.task_spec)
    limit = limits.get(task.task_spec.name)
    values = dict(
        instance_id=instance_id,
        task_id=str(task.id),
        task_spec=task.task_spec.bpmn_id or task.task_spec.name,
        stage=props.get("stage") or None,
        limit_text=clock_limit_text(limit) if limit is not None else None,
        clock_mode=props.get("clock") if props.get("clock") in CLOCK_MODES else None,
        started_at=now,
        due_at=None, yellow_at=None, provisional=False,
    )
    if limit is not None:
        moments = compute_moments(calendar.get(), now, limit)
        values.update(due_at=moments.due_at, yellow_at=moments.yellow_at, provisional=moments.provisional)
    stage = insert_record(session, StageDeadline, values)
    if stage.due_at is not None and stage.clock_mode != PAUSE:
        # Rows of an earlier readiness of the same task (sent back) were cancelled when it closed.
        subject = stage.stage or stage.task_spec
        new_rows += [(instance_id, stage.task_id, TimerKind.stage_yellow, subject, stage.yellow_at),
                     (instance_id, stage.task_id, TimerKind.stage_red, subject, stage.due_at)]
    return stage


def _close_stage(stage: StageDeadline, status: str, now: datetime) -> None:
    """Close a loaded stage row (its warning rows are cancelled by the caller, all in one update)."""
    stage.status = status
    stage.ended_at = now
    stage.overran = stage.due_at is not None and now >= stage.due_at


# --- case clock changes -----------------------------------------------------------------------------
# A pause asked for through the API is ended only through the API, never by a step closing.
MANUAL_PAUSE_PREFIX = "人工暂停："


def _manual_pause(case: CaseDeadline) -> bool:
    return (case.pause_reason or "").startswith(MANUAL_PAUSE_PREFIX)


def _recompute(case: CaseDeadline, calendar: WorkingCalendar) -> None:
    moments = compute_moments(calendar, case.counting_from, read_limit(case.limit_text), case.extensions,
                              case.paused_seconds)
    case.due_at, case.yellow_at, case.provisional = moments.due_at, moments.yellow_at, moments.provisional


def _schedule_case_warnings(session: Session, case: CaseDeadline, now: datetime) -> None:
    if case.finished_at is not None or case.paused_since is not None:
        return
    iid = case.instance_id
    timers.schedule(session, iid, CASE_SUBJECT, TimerKind.case_yellow, case.yellow_at, now, "办结时限")
    timers.schedule(session, iid, CASE_SUBJECT, TimerKind.case_red, case.due_at, now, "办结时限")


def _pause(session: Session, case: CaseDeadline, now: datetime, reason: str, task_id: str | None = None,
           actor=None) -> None:
    case.paused_since = now
    case.pause_reason = reason[:200]
    _keep(session, case)
    timers.unschedule(session, case.instance_id, CASE_SUBJECT, (TimerKind.case_yellow, TimerKind.case_red), now)
    _log(session, case.instance_id, "paused", now, task_id=task_id, actor=actor, detail={"reason": reason})


def _resume(session: Session, case: CaseDeadline, calendar: _LazyCalendar, now: datetime, actor=None) -> None:
    paused = calendar.get().working_time_between(case.paused_since, now)
    case.paused_seconds += max(int(paused.total_seconds()), 0)
    reason = case.pause_reason
    case.paused_since = None
    case.pause_reason = None
    _recompute(case, calendar.get())
    _keep(session, case)
    _schedule_case_warnings(session, case, now)
    _log(session, case.instance_id, "resumed", now, actor=actor,
         detail={"reason": reason, "paused_working_seconds": int(paused.total_seconds()), "due_at": _iso(case.due_at)})


def _restart(session: Session, case: CaseDeadline, calendar: _LazyCalendar, now: datetime, reason: str,
             task_id: str | None = None, actor=None, received_at: datetime | None = None) -> None:
    case.counting_from = received_at or now
    case.restarts += 1
    case.paused_seconds = 0
    case.paused_since = None
    case.pause_reason = None
    case.extensions = []
    _recompute(case, calendar.get())
    _keep(session, case)
    _schedule_case_warnings(session, case, now)
    _log(session, case.instance_id, "restarted", now, task_id=task_id, actor=actor,
         detail={"reason": reason, "counting_from": _iso(case.counting_from), "due_at": _iso(case.due_at)})


def _finish_case(session: Session, case: CaseDeadline, now: datetime) -> None:
    if case.paused_since is not None:
        case.paused_since = None
        case.pause_reason = None
    case.finished_at = now
    case.on_time = now < case.due_at
    _keep(session, case)
    timers.unschedule(session, case.instance_id, None, TimerKind.warnings, now)


# --- operations people ask for (API) -----------------------------------------------------------------
def get_case(session: Session, instance_id: int, for_update: bool = False) -> CaseDeadline:
    query = select(CaseDeadline).where(CaseDeadline.instance_id == instance_id)
    if for_update:
        query = query.with_for_update()
    case = session.execute(query).scalar_one_or_none()
    if case is None:
        raise NotFound(f"流程实例 {instance_id} 没有办结时限", [f"instance_id={instance_id}：该实例不计时（事项无时限且启动数据未给出 limit）"])
    return case


UNTIMED = "该办件不计时"


def _timed_case(session: Session, instance_id: int, actor, for_update: bool = False) -> CaseDeadline:
    """The case clock a pause, resume, restart or extension works on. An instance without one (its
    duty's limit is 无, or nothing gave it a limit) is refused by name, 409, to whoever may read
    it: there is no clock to adjust, which is not the same as a missing instance (404)."""
    query = select(CaseDeadline).where(CaseDeadline.instance_id == instance_id)
    if for_update:
        query = query.with_for_update()
    case = session.execute(query).scalar_one_or_none()
    if case is not None:
        return case
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    # An outsider learns no more about the instance than reading it would tell them (403).
    policy.require_read_instance(session, actor, instance)
    raise Conflict(f"{UNTIMED}，没有可暂停、恢复、重新计时或延期的办结时限",
                   [f"instance_id={instance_id}：{_untimed_reason(session, instance)[1]}"])


def _open_case(session: Session, instance_id: int, actor) -> CaseDeadline:
    case = _timed_case(session, instance_id, actor, for_update=True)
    if case.finished_at is not None:
        raise Conflict("该事项已办结，计时已停止", [f"instance_id={instance_id}：办结于 {case.finished_at.astimezone(BEIJING):%Y-%m-%d %H:%M}"])
    return case


def pause_case(session: Session, clock, instance_id: int, reason: str, actor) -> CaseDeadline:
    """Stop the case clock (听证、检验检测、专家评审): the time until resume is not counted."""
    _require_adjust(session, actor, instance_id)
    if not (reason or "").strip():
        raise InvalidInput("暂停计时需要说明理由", ["reason：不能为空（如“专家评审”“听证”）"])
    case = _open_case(session, instance_id, actor)
    if case.paused_since is not None:
        raise Conflict("计时已处于暂停状态", [f"instance_id={instance_id}：自 {case.paused_since.astimezone(BEIJING):%Y-%m-%d %H:%M} 起暂停"])
    now = clock.now()
    _pause(session, case, now, MANUAL_PAUSE_PREFIX + reason.strip(), actor=actor)
    return case


def resume_case(session: Session, clock, instance_id: int, actor) -> CaseDeadline:
    _require_adjust(session, actor, instance_id)
    case = _open_case(session, instance_id, actor)
    if case.paused_since is None:
        raise Conflict("计时未暂停", [f"instance_id={instance_id}：计时正在进行"])
    _resume(session, case, _LazyCalendar(session), clock.now(), actor=actor)
    return case


def restart_case(session: Session, clock, instance_id: int, received_at: datetime | None, reason: str,
                 actor) -> CaseDeadline:
    """Restart the count from the day after `received_at` (corrected materials arrived, 补正)."""
    _require_adjust(session, actor, instance_id)
    case = _open_case(session, instance_id, actor)
    now = clock.now()
    if received_at is not None:
        if received_at.tzinfo is None:
            received_at = received_at.replace(tzinfo=BEIJING)
        if received_at > now:
            raise InvalidInput("材料接收时间不能晚于当前时间", [f"received_at：{received_at.isoformat()}"])
        if received_at < case.counting_from:
            raise InvalidInput("材料接收时间早于当前计时起点", [f"received_at：{received_at.isoformat()}"])
    _restart(session, case, _LazyCalendar(session), now, reason=(reason or "补正材料已收到").strip(),
             actor=actor, received_at=received_at)
    return case


def extend_case(session: Session, clock, instance_id: int, limit_text: str, reason: str, actor) -> CaseDeadline:
    """Approve an extension (延期): only the head of the case's department as the catalog names it,
    never for a case they handle (engine.auth.policy.require_extension); bounded by
    `check_extension`; and only before the deadline passes: an approval after expiry is refused
    and the case stays overdue."""
    if actor is None:
        raise Forbidden("需要登录", [])
    case = _open_case(session, instance_id, actor)
    policy.require_extension(session, actor, instance_id, case)
    limit = parse_limit(limit_text)
    if not (reason or "").strip():
        raise InvalidInput("延期需要说明理由", ["reason：不能为空"])
    check_extension(session, case, limit)
    now = clock.now()
    if now >= case.due_at:
        raise Conflict("已超过办结时限，不能再批准延期（延期须在期限届满前批准）",
                       [f"办结时限 {case.due_at.astimezone(BEIJING):%Y-%m-%d %H:%M} 已过；该事项仍按超期处理"])
    case.extensions = [*case.extensions, format_limit(limit)]
    _recompute(case, _LazyCalendar(session).get())
    session.add(case)
    _schedule_case_warnings(session, case, now)
    _log(session, instance_id, "extended", now, actor=actor,
         detail={"limit": format_limit(limit), "reason": reason.strip(), "due_at": _iso(case.due_at)})
    return case


# 《行政许可法》第四十二条: a decision not made within twenty days may, with the approval of the
# agency's head, be extended by ten days (working days, §82) — once, so ten days in all.
LICENSING = "行政许可"
LICENSING_EXTENSION = TimeLimit(value=10, unit=LimitUnit.working_days)


def check_extension(session: Session, case: CaseDeadline, limit: TimeLimit) -> None:
    """How far a case may be extended (422 otherwise). Kept simple until extensions become a BPMN
    step: an extension is counted in the unit of the case's own limit, and all extensions of the
    case together may add at most that limit again; for a 行政许可 duty at most ten working days
    in all (《行政许可法》第四十二条)."""
    own = _counted(read_limit(case.limit_text))
    if own is None:
        raise InvalidInput("即办事项不能延期", [f"办结时限 {case.limit_text}：当日办结的事项没有可延长的天数"])
    cap, basis = own, f"延期总计不得超过该事项本身的办结时限 {format_limit(own)}"
    if _duty_category(session, case.duty_code) == LICENSING:
        cap = LICENSING_EXTENSION if own.unit != LICENSING_EXTENSION.unit else min(
            own, LICENSING_EXTENSION, key=lambda t: t.value)
        basis = "行政许可事项依《行政许可法》第四十二条，经负责人批准只能延长十个工作日"
    if limit.unit != cap.unit:
        raise InvalidInput("延长的时限与办结时限的计量单位不同",
                           [f"limit：{format_limit(limit)}；请以与 {format_limit(cap)} 相同的单位填写"])
    granted = sum(read_limit(text).value for text in case.extensions if read_limit(text).kind.value == cap.unit)
    if granted + limit.value > cap.value:
        left = max(cap.value - granted, 0)
        raise InvalidInput(f"延期超过上限：{basis}",
                           [f"limit：{format_limit(limit)}；已批准 {granted}，至多还可延长 "
                            f"{format_limit(TimeLimit(value=left, unit=cap.unit)) if left else '0（已用完）'}"])


def _counted(limit: ParsedLimit) -> TimeLimit | None:
    """A limit counted in days, hours or months as the catalog's TimeLimit; None for 即办 and 无."""
    if limit.kind in (LimitKind.same_day, LimitKind.none):
        return None
    return TimeLimit(value=limit.value, unit=LimitUnit(limit.kind.value))


def _duty_category(session: Session, duty_code: str | None) -> str | None:
    from engine.models.catalog import CatalogDuty

    version_id = _current_catalog_version(session)
    if not duty_code or version_id is None:
        return None
    return session.scalars(
        select(CatalogDuty.category).where(CatalogDuty.version_id == version_id, CatalogDuty.code == duty_code)
    ).first()


def _require_adjust(session: Session, actor, instance_id: int) -> None:
    """Pause/resume/restart by hand: whom engine.auth.policy.require_adjust_clock lets."""
    if actor is None:
        raise Forbidden("需要登录", [])
    policy.require_adjust_clock(session, actor, instance_id, _timed_case(session, instance_id, actor))


def unit_heads(session: Session, unit_code: str | None, department_code: str | None = None) -> list[str]:
    """Where an overdue matter is escalated: the unit's head posts, else the department's head
    post (engine.auth.policy.escalation_posts); a catalog naming neither gets no escalation posts."""
    return policy.escalation_posts(session, unit_code, department_code)


# --- warnings fired by the worker -------------------------------------------------------------------
def fire_warning(session: Session, row: RuntimeTimer, now: datetime) -> str:
    """Give a yellow/red warning if it still holds; returns the timer row's final status."""
    if row.kind in (TimerKind.case_yellow, TimerKind.case_red):
        case = session.execute(
            select(CaseDeadline).where(CaseDeadline.instance_id == row.instance_id)
        ).scalar_one_or_none()
        if case is None or case.finished_at is not None or case.paused_since is not None:
            return TimerStatus.noop
        moment = case.yellow_at if row.kind == TimerKind.case_yellow else case.due_at
        if _utc(moment) != _utc(row.due_at):
            return TimerStatus.noop
        if row.kind == TimerKind.case_yellow:
            _log(session, row.instance_id, "warned", now, detail={"level": "yellow", "scope": "case",
                                                                  "due_at": _iso(case.due_at)})
        else:
            _log(session, row.instance_id, "overdue", now, detail={"level": "red", "scope": "case",
                                                                   "due_at": _iso(case.due_at)})
            _escalate(session, row, case, None, now)
        return TimerStatus.fired
    stage = session.execute(
        select(StageDeadline).where(StageDeadline.instance_id == row.instance_id, StageDeadline.task_id == row.task_id)
        .order_by(StageDeadline.id.desc()).limit(1)
    ).scalar_one_or_none()
    if stage is None or stage.status != "open":
        return TimerStatus.noop
    moment = stage.yellow_at if row.kind == TimerKind.stage_yellow else stage.due_at
    if moment is None or _utc(moment) != _utc(row.due_at):
        return TimerStatus.noop
    detail = {"scope": "stage", "stage": stage.stage or stage.task_spec, "due_at": _iso(stage.due_at)}
    if row.kind == TimerKind.stage_yellow:
        _log(session, row.instance_id, "warned", now, task_id=stage.task_id, detail={"level": "yellow", **detail})
    else:
        _log(session, row.instance_id, "overdue", now, task_id=stage.task_id, detail={"level": "red", **detail})
        case = session.execute(
            select(CaseDeadline).where(CaseDeadline.instance_id == row.instance_id)
        ).scalar_one_or_none()
        _escalate(session, row, case, stage, now)
    return TimerStatus.fired


def _escalate(session: Session, row: RuntimeTimer, case: CaseDeadline | None, stage: StageDeadline | None,
              now: datetime) -> None:
    """Red: hand the matter to the head posts of the responsible unit (督办) and tell the workflow."""
    unit_code = case.unit_code if case is not None else None
    to_posts = unit_heads(session, unit_code, case.department_code if case is not None else None)
    escalation = Escalation(
        instance_id=row.instance_id,
        subject=row.task_id,
        kind=row.kind,
        stage=stage.stage if stage is not None else None,
        due_at=row.due_at,
        to_posts=to_posts,
        unit_code=unit_code,
        department_code=case.department_code if case is not None else None,
        created_at=now,
    )
    session.add(escalation)
    session.flush()
    _log(session, row.instance_id, "escalated", now, task_id=stage.task_id if stage else None,
         detail={"to_posts": to_posts, "unit_code": unit_code, "kind": row.kind, "escalation_id": escalation.id})
    if stage is None:
        _notify_workflow(session, row.instance_id, now)


def _notify_workflow(session: Session, instance_id: int, now: datetime) -> None:
    """Deliver the BPMN message `case_overdue` when the workflow waits for it (e.g. a 督办 branch).

    A process error while reacting fails that instance (core's run_step); the warning stands.
    """
    from SpiffWorkflow.bpmn.util import BpmnEvent
    from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

    from engine.models.runtime import RUNNING
    from engine.runtime.instances import load_workflow, run_step, save_workflow

    instance_row, workflow = load_workflow(session, instance_id)
    if instance_row.status != RUNNING:
        return
    if not any(e.name == OVERDUE_MESSAGE for e in workflow.waiting_events()):
        return
    moment = timers._FixedClock(now)

    def deliver() -> None:
        workflow.catch(BpmnEvent(MessageEventDefinition(OVERDUE_MESSAGE), {}))
        workflow.do_engine_steps()

    run_step(session, moment, instance_row, workflow, deliver, raise_rule_errors=False)
    save_workflow(session, instance_row, workflow, moment)


# --- views for listings and pages ----------------------------------------------------------------------
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

    def as_dict(self) -> dict:
        return {
            "scope": self.scope,
            "due_at": self.due_at.astimezone(BEIJING).isoformat() if self.due_at else None,
            "yellow_at": self.yellow_at.astimezone(BEIJING).isoformat() if self.yellow_at else None,
            "time_left_seconds": self.time_left_seconds,
            "state": self.state,
            "provisional": self.provisional,
            "stage": self.stage,
            "limit": self.limit,
        }


def task_deadline(session: Session, task_row, clock) -> DeadlineView | None:
    """The deadline a task is shown with: its stage's own limit, else the case's. None if untimed.

    The worse of the two states wins: a stage still green in a red case shows red.
    """
    now = clock.now()
    calendar = _LazyCalendar(session)
    instance_id = task_row.instance_id
    spiff_id = _spiff_task_id(task_row)
    case = session.execute(select(CaseDeadline).where(CaseDeadline.instance_id == instance_id)).scalar_one_or_none()
    stage = None
    if spiff_id is not None:
        stage = session.execute(
            select(StageDeadline).where(StageDeadline.instance_id == instance_id, StageDeadline.task_id == spiff_id)
            .order_by(StageDeadline.id.desc()).limit(1)
        ).scalar_one_or_none()
    case_view = _case_view(case, calendar, now) if case is not None else None
    if stage is None or stage.due_at is None:
        return case_view
    finished = stage.status != "open"
    state = clock_state(stage.due_at, stage.yellow_at, stage.ended_at if finished else now)
    if finished:
        state = "red" if stage.overran else "done"
    if case_view is not None and _rank(case_view.state) > _rank(state):
        state = case_view.state
    left = _time_left(calendar, stage.due_at, now) if not finished else None
    return DeadlineView("stage", stage.due_at, stage.yellow_at, left, state, stage.provisional, stage.stage, stage.limit_text)


def case_view(session: Session, instance_id: int, clock) -> DeadlineView:
    return _case_view(get_case(session, instance_id), _LazyCalendar(session), clock.now())


def _case_view(case: CaseDeadline, calendar: _LazyCalendar, now: datetime) -> DeadlineView:
    finished = case.finished_at is not None
    paused = case.paused_since is not None
    reference = case.paused_since if paused else now
    state = clock_state(case.due_at, case.yellow_at, now, finished=finished, paused=paused)
    if finished and not case.on_time:
        state = "red"
    left = None if finished else _time_left(calendar, case.due_at, reference)
    return DeadlineView("case", case.due_at, case.yellow_at, left, state, case.provisional, None, case.limit_text)


def _rank(state: str) -> int:
    return {"done": 0, "green": 1, "paused": 1, "yellow": 2, "red": 3}.get(state, 0)


def _time_left(calendar: _LazyCalendar, due_at: datetime, now: datetime) -> int:
    return int(calendar.get().working_time_between(now, due_at).total_seconds())


def _spiff_task_id(task_row) -> str | None:
    for name in ("spiff_task_id", "task_uuid", "spiff_id", "task_id"):
        value = getattr(task_row, name, None)
        if value:
            return str(value)
    return None


def case_clock(session: Session, instance_id: int, clock) -> dict:
    """Everything the API shows about an instance's clock: the case, its stages, escalations.

    An instance without a case clock answers with state `none` (不计时) and its identity: a duty
    whose limit is 无 has no clock by design, and saying so is not an error."""
    case = session.execute(select(CaseDeadline).where(CaseDeadline.instance_id == instance_id)).scalar_one_or_none()
    if case is None:
        return _untimed_clock(session, instance_id)
    calendar = _LazyCalendar(session)
    now = clock.now()
    view = _case_view(case, calendar, now)
    stages = session.execute(
        select(StageDeadline).where(StageDeadline.instance_id == instance_id).order_by(StageDeadline.started_at, StageDeadline.id)
    ).scalars().all()
    escalations = session.execute(
        select(Escalation).where(Escalation.instance_id == instance_id).order_by(Escalation.created_at)
    ).scalars().all()
    return {
        "instance_id": instance_id,
        "duty_code": case.duty_code,
        "unit_code": case.unit_code,
        "department_code": case.department_code,
        "limit": case.limit_text,
        "limit_source": case.limit_source,
        "untimed_reason": None,
        "counting_from": _iso(case.counting_from),
        "restarts": case.restarts,
        "extensions": list(case.extensions),
        "paused": case.paused_since is not None,
        "paused_since": _iso(case.paused_since),
        "pause_reason": case.pause_reason,
        "paused_working_seconds": case.paused_seconds,
        "finished_at": _iso(case.finished_at),
        "on_time": case.on_time,
        **view.as_dict(),
        "stages": [
            {
                "task_id": s.task_id,
                "task_spec": s.task_spec,
                "stage": s.stage,
                "limit": s.limit_text,
                "clock": s.clock_mode,
                "started_at": _iso(s.started_at),
                "due_at": _iso(s.due_at),
                "yellow_at": _iso(s.yellow_at),
                "status": s.status,
                "ended_at": _iso(s.ended_at),
                "overran": s.overran,
                "state": ("red" if s.overran else "done") if s.status != "open"
                else clock_state(s.due_at, s.yellow_at, now),
                "provisional": s.provisional,
            }
            for s in stages
        ],
        "escalations": [escalation_dict(e) for e in escalations],
    }


def _untimed_reason(session: Session, instance) -> tuple[CaseLimit | None, str]:
    """The limit the instance's duty or start data gives (None when none does) and why it has no clock."""
    data = dict(instance.start_data or {})
    if instance.duty_code:
        data.setdefault("duty_code", instance.duty_code)
    try:
        resolved = resolve_case_limit(session, data)
    except InvalidInput:
        resolved = None  # a start limit the current rules cannot read: the case has no clock either way
    if resolved is None:
        return None, "事项无时限且启动数据未给出时限"
    if not resolved.limit.has_clock:
        return resolved, "事项无法定时限"
    # The duty has a limit now but the case has no clock: it started before the catalog gave one,
    # or its process has no timed step. Its clock is not invented afterwards.
    return resolved, "本件未计时（启动时事项无时限或流程不计时）"


def _untimed_clock(session: Session, instance_id: int) -> dict:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    resolved, reason = _untimed_reason(session, instance)
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
    }


def escalation_dict(e: Escalation) -> dict:
    return {
        "id": e.id,
        "instance_id": e.instance_id,
        "kind": e.kind,
        "stage": e.stage,
        "due_at": _iso(e.due_at),
        "to_posts": list(e.to_posts),
        "unit_code": e.unit_code,
        "department_code": e.department_code,
        "created_at": _iso(e.created_at),
        "resolved_at": _iso(e.resolved_at),
    }


def open_warnings(session: Session, clock, department_code: str | None = None) -> list[dict]:
    """Open cases that are yellow or red now (and open stages over their limit), worst first."""
    now = clock.now()
    query = select(CaseDeadline).where(CaseDeadline.finished_at.is_(None))
    if department_code:
        query = query.where(CaseDeadline.department_code == department_code)
    cases = {c.instance_id: c for c in session.execute(query).scalars()}
    red_stages: dict[int, list[StageDeadline]] = {}
    if cases:
        for stage in session.execute(
            select(StageDeadline).where(
                StageDeadline.status == "open", StageDeadline.due_at.is_not(None), StageDeadline.due_at <= now,
                StageDeadline.instance_id.in_(list(cases)),
            )
        ).scalars():
            red_stages.setdefault(stage.instance_id, []).append(stage)
    calendar = _LazyCalendar(session)
    result = []
    for instance_id, case in cases.items():
        view = _case_view(case, calendar, now)
        stages = red_stages.get(instance_id, [])
        if view.state not in ("yellow", "red") and not stages:
            continue
        result.append({
            "instance_id": instance_id,
            "duty_code": case.duty_code,
            "unit_code": case.unit_code,
            "department_code": case.department_code,
            "state": "red" if stages else view.state,
            "case_state": view.state,
            "due_at": _iso(case.due_at),
            "time_left_seconds": view.time_left_seconds,
            "provisional": case.provisional,
            "red_stages": [{"task_id": s.task_id, "stage": s.stage or s.task_spec, "due_at": _iso(s.due_at)} for s in stages],
        })
    result.sort(key=lambda r: (-_rank(r["state"]), r["due_at"] or ""))
    return result


def list_escalations(session: Session, department_code: str | None = None, open_only: bool = True) -> list[dict]:
    query = select(Escalation).order_by(Escalation.created_at.desc(), Escalation.id.desc())
    if department_code:
        query = query.where(Escalation.department_code == department_code)
    if open_only:
        query = query.where(Escalation.resolved_at.is_(None))
    return [escalation_dict(e) for e in session.execute(query).scalars()]


# --- provisional deadlines --------------------------------------------------------------------------------
def recompute_provisional(session: Session, calendar: WorkingCalendar, now: datetime) -> int:
    """Recompute open provisional deadlines (after a year's schedule was entered). Returns how many moved."""
    moved = 0
    for case in session.execute(
        select(CaseDeadline).where(CaseDeadline.finished_at.is_(None), CaseDeadline.provisional.is_(True))
    ).scalars():
        before = (case.due_at, case.yellow_at, case.provisional)
        _recompute(case, calendar)
        if (case.due_at, case.yellow_at, case.provisional) != before:
            moved += 1
            session.add(case)
            _schedule_case_warnings(session, case, now)
    for stage in session.execute(
        select(StageDeadline).where(StageDeadline.status == "open", StageDeadline.provisional.is_(True))
    ).scalars():
        if not stage.limit_text:
            continue
        moments = compute_moments(calendar, stage.started_at, read_limit(stage.limit_text))
        if (moments.due_at, moments.yellow_at, moments.provisional) != (stage.due_at, stage.yellow_at, stage.provisional):
            moved += 1
            stage.due_at, stage.yellow_at, stage.provisional = moments.due_at, moments.yellow_at, moments.provisional
            session.add(stage)
            if stage.clock_mode != PAUSE:
                name = stage.stage or stage.task_spec
                timers.schedule(session, stage.instance_id, stage.task_id, TimerKind.stage_yellow, stage.yellow_at, now, name)
                timers.schedule(session, stage.instance_id, stage.task_id, TimerKind.stage_red, stage.due_at, now, name)
    session.flush()
    return moved


# --- helpers ----------------------------------------------------------------------------------------------
def _log(session: Session, instance_id: int, kind: str, now: datetime, task_id: str | None = None, actor=None,
         detail: dict | None = None) -> None:
    """Write a timing event (paused/resumed/restarted/extended/warned/overdue/escalated).

    `task_id` is the SpiffWorkflow task id; the event names core's task row for it.
    """
    from engine.runtime import events

    work_task_id = None
    if task_id is not None:
        from engine.models.runtime import WorkTask

        work_task_id = session.execute(
            select(WorkTask.id).where(WorkTask.instance_id == instance_id, WorkTask.spiff_task_id == task_id)
            .order_by(WorkTask.id.desc())
        ).scalars().first()
    events.log_event(session, instance_id=instance_id, kind=kind, at=now, task_id=work_task_id, actor=actor,
                     detail=detail or {})


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(BEIJING).isoformat() if moment is not None else None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
