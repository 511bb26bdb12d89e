"""The rollups of the efficiency figures (engine.models.rollups): how a row of the record counts,
written once, used both to keep the rollups in each step's transaction and to fill them from the
existing rows (migration 0020 on an upgraded database, bench/metrics_scale.py).

What is rolled up is only what can no longer change:
- a step once it is completed: a completed task row is never changed again (a send-back cancels
  the OPEN step and makes the earlier one ready as a new row; a withdrawal reopens the step as a
  new row and leaves the completed one as it was), its stage row is closed in the same step, and
  its `completed` event — with the working time — is written once;
- a case once its clock has stopped: `finished_at` and `on_time` are set once (a restart, a pause
  or an extension happens only while the clock runs), and no `extended` or `notice_late` event
  comes after it;
- an instance once it has ended (completed or failed: `ended_at` is set once and never cleared),
  with its duty and its case clock's department and unit, which no later step can change.
Open steps, open cases and running instances — the only rows that corrections (pause, resume,
extension, restart, send-back, withdrawal, cancellation) still change — are counted live over the
open rows by the figures, as their colours must be anyway.

One place keeps the rollups, on the write path of the timing log (engine.runtime.events): each
batch of events written notes its `completed` events (the steps completed), `instance_ended`
events (the instances ended: a case clock stops in the step that ends its workflow,
engine.runtime.clocks.sync) and `failed` events (the instances that failed); just before the
commit, after the last batch, `add_noted` adds their contribution with one INSERT … SELECT … ON
CONFLICT DO UPDATE per rollup table — the same SELECT (`step_contributions`, `case_contributions`,
`instance_contributions`) that the backfill runs over every row. A completed step whose step
noted what it knows of it (`note_step`: post, process, ready moment, the stage row it names; and
`note_closed_stage` for that stage row, closed in the same transaction) is added from those values
instead, by the same rules (`step_rows`), with an INSERT … VALUES: no re-reading of the rows the
step has just written (the usual 办结; tests/test_metrics_rollups.py checks both ways against the
backfill). At the commit every
row of the transaction is final (stage rows closed, case clock stopped). A transaction that rolls
back forgets what it noted. So a rollup equals what a full recomputation gives, as long as every
completion and every end of an instance goes through the engine (rows written around it, as the
benchmark does, need `backfill`).

A step's stage row is the one its task row names (`work_task.stage_deadline_id`, written in the
step that opens both, engine.runtime.clocks.sync). Before migration 0017 added that column it was
found by `attempt_stage_id`; `fill_stage_ids` fills the column of the existing rows with it
(migration 0020), before `rebuild` counts them — the same row either way.

The 90th percentile of working time comes from fixed buckets: bucket 0 holds times under 1 s,
bucket k ≥ 1 the times t with BUCKET_BOUNDS[k-1] ≤ t < BUCKET_BOUNDS[k] — whole seconds, each bound
5 % above the previous one (rounded down; 1 s apart up to 40 s), so a bucket spans at most 5 % of
its lower bound, or 1 s. The figure reports the mean of the group's working times in the bucket
where the nearest rank falls: exact when those times are all the same, otherwise within that
bucket, i.e. less than 5 % (or, up to 40 s, less than 1 s) from the exact nearest-rank value.
Counts, rates and sums are exact, and so are means up to the floating-point rounding of the sum.
Each completed step costs two statements (day and month table), each ended instance two (case
and instance table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, func, literal, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from engine.clock import BEIJING
from engine.db import core_connection
from engine.models.rollups import (
    CASE_ROLLUP_KEY,
    INSTANCE_ROLLUP_KEY,
    STEP_MONTH_ROLLUP_KEY,
    STEP_ROLLUP_KEY,
    CaseRollup,
    InstanceRollup,
    StepMonthRollup,
    StepRollup,
)
from engine.models.runtime import TASK_COMPLETED, ProcessInstance, TimingEvent, WorkTask
from engine.models.timers import CaseDeadline, StageDeadline
from engine.models.types import AwareDateTime

BUCKET_PERCENT = 5
TEN_YEARS = 10 * 366 * 86400


def _bounds() -> tuple[int, ...]:
    """Whole seconds 1, 2, …, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 63, …: each the previous
    one plus 5 % (rounded down, at least 1 s), up to ten years: 371 bounds."""
    bounds = [1]
    while bounds[-1] <= TEN_YEARS:
        bounds.append(max(bounds[-1] + 1, bounds[-1] * (100 + BUCKET_PERCENT) // 100))
    return tuple(bounds)


BUCKET_BOUNDS: tuple[int, ...] = _bounds()
NO_WORKING_TIME = -1  # bucket of a completed step without a working time in the log
NO_CODE = ""  # key value of a case without a unit or department
# session.info keys, each dropped at the commit or the rollback of the transaction: ({task id
# completed: its working seconds}, instance ids ended, instance ids ended or failed), counted at
# the commit; what the step completing a task knows of it (task id → StepFacts); the stage rows
# the transaction closed (stage id → ClosedStage).
NOTED = "dutyflow_rollups_noted"
STEP_FACTS = "dutyflow_rollups_step_facts"
CLOSED_STAGES = "dutyflow_rollups_closed_stages"

_TASK = WorkTask.__table__  # type: ignore[attr-defined]
_INSTANCE = ProcessInstance.__table__  # type: ignore[attr-defined]
_EVENT = TimingEvent.__table__  # type: ignore[attr-defined]
_STAGE = StageDeadline.__table__  # type: ignore[attr-defined]
_CASE = CaseDeadline.__table__  # type: ignore[attr-defined]
STEP_ROLLUP = StepRollup.__table__  # type: ignore[attr-defined]
STEP_MONTH_ROLLUP = StepMonthRollup.__table__  # type: ignore[attr-defined]
CASE_ROLLUP = CaseRollup.__table__  # type: ignore[attr-defined]
INSTANCE_ROLLUP = InstanceRollup.__table__  # type: ignore[attr-defined]


def bucket_of(seconds: float | None) -> int:
    """The bucket of a working time (module docstring); NO_WORKING_TIME for none."""
    if seconds is None:
        return NO_WORKING_TIME
    low, high = 0, len(BUCKET_BOUNDS)
    while low < high:  # how many bounds are ≤ seconds
        middle = (low + high) // 2
        if BUCKET_BOUNDS[middle] <= seconds:
            low = middle + 1
        else:
            high = middle
    return low


def bucket_expression(seconds: ColumnElement[Any]) -> ColumnElement[Any]:
    """`bucket_of` in SQL: a binary search written as nested CASE (≈ 9 comparisons a row), the
    bounds as integer literals, so SQLite and PostgreSQL put a value in the same bucket as Python."""

    def between(low: int, high: int) -> ColumnElement[Any]:  # the answer is in [low, high]
        if low == high:
            return literal_column(str(low))
        middle = (low + high + 1) // 2
        return case(
            (seconds >= literal_column(str(BUCKET_BOUNDS[middle - 1])), between(middle, high)),
            else_=between(low, middle - 1),
        )

    return case(
        (seconds.is_(None), literal_column(str(NO_WORKING_TIME))), else_=between(0, len(BUCKET_BOUNDS))
    )


class beijing_day(FunctionElement):  # noqa: N801  (used like a SQL function)
    """The Beijing calendar day of a stored moment, as text 'YYYY-MM-DD' (China keeps UTC+8 all year)."""

    type = String()
    inherit_cache = True


@compiles(beijing_day, "sqlite")
def _sqlite_day(element: Any, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"  # stored as naive UTC text


@compiles(beijing_day, "postgresql")
def _postgresql_day(element: Any, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"


def day_of(moment: datetime) -> str:
    return moment.astimezone(BEIJING).date().isoformat()


def day_bounds(since: datetime | None, until: datetime | None) -> tuple[str | None, str | None] | None:
    """[since, until) as Beijing days when both ends are Beijing midnights (or open); None when
    an end falls inside a day, which the rollups cannot split (the figures are then counted live)."""
    days: list[str | None] = []
    for moment in (since, until):
        if moment is None:
            days.append(None)
            continue
        local = moment.astimezone(BEIJING)
        if local.time() != time(0):
            return None
        days.append(local.date().isoformat())
    return days[0], days[1]


def month_split(
    since: str | None, until: str | None
) -> tuple[tuple[str | None, str | None] | None, list[tuple[str | None, str | None]]]:
    """Days [since, until) as the whole months in it, [first month, end month) or None when it holds
    none, and the day ranges outside them (at most two): a long period reads months, its edges days."""
    first = None if since is None else (since[:7] if since.endswith("-01") else _next_month(since[:7]))
    end = None if until is None else until[:7]
    if first is not None and end is not None and first >= end:
        return None, [(since, until)]
    days: list[tuple[str | None, str | None]] = []
    if since is not None and first is not None and since < f"{first}-01":
        days.append((since, f"{first}-01"))
    if until is not None and end is not None and f"{end}-01" < until:
        days.append((f"{end}-01", until))
    return (first, end), days


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


# ---------------------------------------------------------------- what a row contributes


def attempt_stage_id(ended: Any) -> Any:
    """The id of a task row's stage row (`stage_deadline`) for its attempt, found without
    `work_task.stage_deadline_id`: a step sent back and redone keeps its SpiffWorkflow task id and
    gets one stage row per readiness, so it is the latest row started when this task row became
    ready, failing that the latest started before `ended` (its completion, or now while it waits).
    The rule the figures used before migration 0017 added the column (`fill_stage_ids` fills it with it); the step that
    opens a stage row writes the same row's id (it starts at the moment the task row becomes ready)."""
    at_ready, before_end = _STAGE.alias("at_ready"), _STAGE.alias("before_end")
    stage_at_ready = (
        select(func.max(at_ready.c.id))
        .where(
            at_ready.c.instance_id == _TASK.c.instance_id,
            at_ready.c.task_id == _TASK.c.spiff_task_id,
            at_ready.c.started_at <= _TASK.c.ready_at,
        )
        .scalar_subquery()
    )
    stage_before_end = (
        select(func.max(before_end.c.id))
        .where(
            before_end.c.instance_id == _TASK.c.instance_id,
            before_end.c.task_id == _TASK.c.spiff_task_id,
            before_end.c.started_at <= ended,
        )
        .scalar_subquery()
    )
    return func.coalesce(stage_at_ready, stage_before_end)


def fill_stage_ids(connection: Connection, now: datetime) -> None:
    """Name the stage row of every task row that has one (`work_task.stage_deadline_id`) by
    `attempt_stage_id`, an open step's attempt ending `now`: for the rows written before the steps
    wrote the column (migration 0020, the newest that changes the rows the rollups sum). One UPDATE; a task row without a stage row stays NULL."""
    has_stage = (
        select(_STAGE.c.id)
        .where(_STAGE.c.instance_id == _TASK.c.instance_id, _STAGE.c.task_id == _TASK.c.spiff_task_id)
        .exists()
    )
    ended = func.coalesce(_TASK.c.completed_at, literal(now, AwareDateTime()))
    connection.execute(update(_TASK).where(has_stage).values(stage_deadline_id=attempt_stage_id(ended)))


def step_contributions(task_filter: ColumnElement[bool] | None = None, by_month: bool = False,
                       bucket: ColumnElement[Any] | None = None) -> Any:
    """The rollup rows of the completed task rows (all, or those `task_filter` keeps), grouped by
    the rollup key. A step counts for the post that completed it, on the day it became ready; its
    stage row is that of its attempt, the one its task row names (`stage_deadline_id`); it is on
    time when that stage had a due moment and did not overrun it (engine.runtime.metrics).
    `by_month`: the month of that day ('YYYY-MM') instead. `bucket`: the working time's bucket when
    the caller knows it (one step: `bucket_of` of the working time it just logged), instead of
    `bucket_expression` over the completion event's."""
    completion = _EVENT.alias("completion")
    where = [_TASK.c.status == TASK_COMPLETED]
    if task_filter is not None:
        where.append(task_filter)
    steps = (
        select(
            func.coalesce(_TASK.c.completed_post, _TASK.c.post_code, NO_CODE).label("post_code"),
            _INSTANCE.c.process_id,
            (
                func.substr(beijing_day(_TASK.c.ready_at), 1, 7)
                if by_month
                else beijing_day(_TASK.c.ready_at)
            ).label("ready_period"),
            _TASK.c.completed_at,
            _TASK.c.stage_deadline_id.label("stage_id"),
            completion.c.working_seconds.label("worked"),
            (bucket_expression(completion.c.working_seconds) if bucket is None else bucket).label("bucket"),
        )
        .select_from(
            _TASK.join(_INSTANCE, _INSTANCE.c.id == _TASK.c.instance_id).outerjoin(
                completion, and_(completion.c.task_id == _TASK.c.id, completion.c.kind == "completed")
            )
        )
        .where(*where)
        .subquery("steps")
    )
    attempt = _STAGE.alias("attempt")
    limited = attempt.c.due_at.is_not(None)
    on_time = and_(
        limited,
        attempt.c.overran.is_(False),
        (attempt.c.status != "open") | (steps.c.completed_at < attempt.c.due_at),
    )
    return (
        select(
            steps.c.post_code,
            steps.c.process_id,
            steps.c.ready_period,
            steps.c.bucket,
            func.count().label("completed"),
            _count(limited).label("with_stage_limit"),
            _count(on_time).label("on_time"),
            func.coalesce(func.sum(steps.c.worked), 0.0).label("working_seconds"),
        )
        .select_from(steps.outerjoin(attempt, attempt.c.id == steps.c.stage_id))
        .group_by(steps.c.post_code, steps.c.process_id, steps.c.ready_period, steps.c.bucket)
    )


def case_contributions(case_filter: ColumnElement[bool] | None = None) -> Any:
    """The rollup rows of the finished case clocks (all, or those `case_filter` keeps), grouped by
    the rollup key, with the `extended` and `notice_late` events of those cases."""
    extensions = _events_of_case("extended")
    notices = _events_of_case("notice_late")
    where = [_CASE.c.finished_at.is_not(None)]
    if case_filter is not None:
        where.append(case_filter)
    cases = (
        select(
            func.coalesce(_CASE.c.department_code, NO_CODE).label("department_code"),
            func.coalesce(_CASE.c.unit_code, NO_CODE).label("unit_code"),
            _INSTANCE.c.process_id,
            beijing_day(_INSTANCE.c.started_at).label("started_day"),
            beijing_day(_CASE.c.created_at).label("created_day"),
            _CASE.c.on_time,
            extensions.label("extensions"),
            notices.label("notices"),
        )
        .select_from(_CASE.join(_INSTANCE, _INSTANCE.c.id == _CASE.c.instance_id))
        .where(*where)
        .subquery("cases")
    )
    return select(
        cases.c.department_code,
        cases.c.unit_code,
        cases.c.process_id,
        cases.c.started_day,
        cases.c.created_day,
        func.count().label("finished"),
        _count(cases.c.on_time.is_(True)).label("on_time"),
        _count(cases.c.on_time.is_(False)).label("late"),
        func.sum(cases.c.extensions).label("extensions"),
        _count(cases.c.extensions > 0).label("extended_cases"),
        func.sum(cases.c.notices).label("notices_late"),
        _count(cases.c.notices > 0).label("notice_late_cases"),
    ).group_by(
        cases.c.department_code,
        cases.c.unit_code,
        cases.c.process_id,
        cases.c.started_day,
        cases.c.created_day,
    )


def instance_contributions(instance_filter: ColumnElement[bool] | None = None) -> Any:
    """The rollup rows of the ended instances (all, or those `instance_filter` keeps), grouped by
    the rollup key: process, duty, the department and unit of the case clock ('' for none), the
    Beijing day the instance started, whether it has a case clock."""
    where = [_INSTANCE.c.ended_at.is_not(None)]
    if instance_filter is not None:
        where.append(instance_filter)
    instances = (
        select(
            _INSTANCE.c.process_id,
            func.coalesce(_INSTANCE.c.duty_code, NO_CODE).label("duty_code"),
            func.coalesce(_CASE.c.department_code, NO_CODE).label("department_code"),
            func.coalesce(_CASE.c.unit_code, NO_CODE).label("unit_code"),
            beijing_day(_INSTANCE.c.started_at).label("started_day"),
            _CASE.c.id.is_not(None).label("timed"),
        )
        .select_from(_INSTANCE.outerjoin(_CASE, _CASE.c.instance_id == _INSTANCE.c.id))
        .where(*where)
        .subquery("instances")
    )
    key = [instances.c[name] for name in INSTANCE_ROLLUP_KEY]
    return select(*key, func.count().label("ended")).group_by(*key)


def _events_of_case(kind: str) -> Any:
    counted = _EVENT.alias(f"counted_{kind}")
    return (
        select(func.count())
        .where(counted.c.instance_id == _CASE.c.instance_id, counted.c.kind == kind)
        .scalar_subquery()
    )


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


# ---------------------------------------------------------------- adding them up

_STEP_VALUES = ("completed", "with_stage_limit", "on_time", "working_seconds")
_CASE_VALUES = (
    "finished",
    "on_time",
    "late",
    "extensions",
    "extended_cases",
    "notices_late",
    "notice_late_cases",
)
_INSTANCE_VALUES = ("ended",)


def _upsert(dialect: str, table: Any, key: Sequence[str], values: Sequence[str], contributions: Any) -> Any:
    """INSERT … SELECT contributions ON CONFLICT (key) DO UPDATE SET v = v + excluded.v."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).from_select([*key, *values], contributions)
    return statement.on_conflict_do_update(
        index_elements=list(key), set_={name: table.c[name] + statement.excluded[name] for name in values}
    )


def add_steps(connection: Connection, task_filter: ColumnElement[bool] | None = None) -> None:
    """Add the completed steps `task_filter` keeps (all when None) to `step_rollup` and
    `step_month_rollup` (two statements)."""
    dialect = connection.dialect.name
    connection.execute(
        _upsert(dialect, STEP_ROLLUP, STEP_ROLLUP_KEY, _STEP_VALUES,
                step_contributions(task_filter))
    )
    connection.execute(
        _upsert(
            dialect,
            STEP_MONTH_ROLLUP,
            STEP_MONTH_ROLLUP_KEY,
            _STEP_VALUES,
            step_contributions(task_filter, by_month=True),
        )
    )


def add_cases(connection: Connection, case_filter: ColumnElement[bool] | None = None) -> None:
    """Add the finished cases `case_filter` keeps (all when None) to `case_rollup`."""
    connection.execute(
        _upsert(
            connection.dialect.name,
            CASE_ROLLUP,
            CASE_ROLLUP_KEY,
            _CASE_VALUES,
            case_contributions(case_filter),
        )
    )


def add_instances(connection: Connection, instance_filter: ColumnElement[bool] | None = None) -> None:
    """Add the ended instances `instance_filter` keeps (all when None) to `instance_rollup`."""
    connection.execute(
        _upsert(
            connection.dialect.name,
            INSTANCE_ROLLUP,
            INSTANCE_ROLLUP_KEY,
            _INSTANCE_VALUES,
            instance_contributions(instance_filter),
        )
    )


# The statements of a step, built once per dialect (building one — the bucket's nested CASE — costs
# a hundred times what running it does): the contributions of the task rows / instances named by
# the parameter `p_id` (one, the usual step: a plain comparison) or the expanding parameter `p_ids`
# (several: SQLAlchemy renders the IN list at each execution, over the whole statement's text).
# With one step its bucket is a parameter too (`p_bucket`, `bucket_of` of the working time the step
# logged): SQLAlchemy derives a statement's cache key by walking it at every execution, and the
# nested CASE of 372 bounds made that walk cost more than the rest of the statement's execution.
_STEP_STATEMENTS: dict[tuple[str, bool], tuple[Any, Any, Any, Any]] = {}


def _statements(dialect: str, single: bool) -> tuple[Any, Any, Any, Any]:
    built = _STEP_STATEMENTS.get((dialect, single))
    if built is None:

        def named(column: Any) -> ColumnElement[bool]:
            return column == bindparam("p_id") if single else column.in_(bindparam("p_ids", expanding=True))

        bucket = bindparam("p_bucket", type_=Integer()) if single else None
        built = _STEP_STATEMENTS[(dialect, single)] = (
            _upsert(dialect, STEP_ROLLUP, STEP_ROLLUP_KEY, _STEP_VALUES,
                    step_contributions(named(_TASK.c.id), bucket=bucket)),
            _upsert(
                dialect,
                STEP_MONTH_ROLLUP,
                STEP_MONTH_ROLLUP_KEY,
                _STEP_VALUES,
                step_contributions(named(_TASK.c.id), by_month=True, bucket=bucket),
            ),
            _upsert(dialect, CASE_ROLLUP, CASE_ROLLUP_KEY, _CASE_VALUES, case_contributions(named(_CASE.c.instance_id))),
            _upsert(
                dialect,
                INSTANCE_ROLLUP,
                INSTANCE_ROLLUP_KEY,
                _INSTANCE_VALUES,
                instance_contributions(named(_INSTANCE.c.id)),
            ),
        )
    return built


def backfill(connection: Connection) -> None:
    """Fill the empty rollups — steps, cases, instances — from the rows already there (a bulk load;
    `rebuild` for rollups already filled). Each step's stage row is the one its task row names
    (`work_task.stage_deadline_id`, filled for older rows by `fill_stage_ids`)."""
    add_steps(connection)
    add_cases(connection)
    add_instances(connection)


def rebuild(connection: Connection) -> None:
    """Count every rollup again from the rows (the newest migration that changes the rollups or the
    rows they sum, today 0020): emptied first, since adding to rollups already filled would count
    steps twice."""
    for table in (STEP_ROLLUP, STEP_MONTH_ROLLUP, CASE_ROLLUP, INSTANCE_ROLLUP):
        connection.execute(table.delete())
    backfill(connection)


def note_events(session: Session, written: Iterable[dict[str, Any]]) -> None:
    """Remember the steps completed and the instances ended in this transaction (their timing
    events were just inserted); `add_noted` counts them at the commit."""
    noted = session.info.setdefault(NOTED, ({}, [], []))
    for row in written:
        if row["kind"] == "completed" and row["task_id"] is not None:
            noted[0][row["task_id"]] = row["working_seconds"]
        elif row["kind"] == "instance_ended":
            noted[1].append(row["instance_id"])
            noted[2].append(row["instance_id"])
        elif row["kind"] == "failed":
            noted[2].append(row["instance_id"])


@dataclass(frozen=True)
class StepFacts:
    """What the step completing a task knows of it: the rollup key's parts but the bucket, and
    the stage row its task row names."""

    post_code: str  # the post that completed it, else the post it was assigned to ('' for none)
    process_id: str
    ready_at: datetime
    stage_id: int | None


@dataclass(frozen=True)
class ClosedStage:
    """A stage row as the step closing it wrote it (engine.runtime.clocks.sync)."""

    due_at: datetime | None
    overran: bool


def note_step(session: Session, task_id: int, facts: StepFacts) -> None:
    """Remember what the step completing this task knows of it (engine.runtime.task_service)."""
    session.info.setdefault(STEP_FACTS, {})[task_id] = facts


def note_closed_stage(session: Session, stage_id: int, closed: ClosedStage) -> None:
    """Remember a stage row this transaction closed, as it wrote it (engine.runtime.clocks.sync)."""
    session.info.setdefault(CLOSED_STAGES, {})[stage_id] = closed


def forget_noted(session: Session) -> None:
    """Drop what this transaction noted (it rolled back)."""
    for key in (NOTED, STEP_FACTS, CLOSED_STAGES):
        session.info.pop(key, None)


def step_rows(completed: dict[int, float | None], facts: dict[int, StepFacts],
              closed: dict[int, ClosedStage]) -> tuple[dict[tuple[str, str, str, int], list[float]], list[int]]:
    """The completed steps' contributions by day key (post, process, Beijing day, bucket) →
    [completed, with_stage_limit, on_time, working_seconds], worked out from what the transaction
    noted — the same rules as `step_contributions`, for a step whose stage row (if it names one)
    was closed in this transaction, so its `overran` is the one written and its status not open —
    and the ids of the other completed steps, which `step_contributions` counts from the rows."""
    rows: dict[tuple[str, str, str, int], list[float]] = {}
    from_rows: list[int] = []
    for task_id, worked in completed.items():
        fact = facts.get(task_id)
        stage = closed.get(fact.stage_id) if fact is not None and fact.stage_id is not None else None
        if fact is None or (fact.stage_id is not None and stage is None):
            from_rows.append(task_id)
            continue
        limited = stage is not None and stage.due_at is not None
        on_time = limited and stage is not None and not stage.overran
        key = (fact.post_code, fact.process_id, day_of(fact.ready_at), bucket_of(worked))
        totals = rows.setdefault(key, [0, 0, 0, 0.0])
        totals[0] += 1
        totals[1] += int(limited)
        totals[2] += int(on_time)
        totals[3] += worked or 0.0
    return rows, from_rows


def _add_step_rows(connection: Connection, rows: dict[tuple[str, str, str, int], list[float]]) -> None:
    """Add contributions worked out in memory to the day and month rollups (one statement each)."""
    by_month: dict[tuple[str, str, str, int], list[float]] = {}
    for (post, process, day, bucket), totals in rows.items():
        month = by_month.setdefault((post, process, day[:7], bucket), [0, 0, 0, 0.0])
        for i, value in enumerate(totals):
            month[i] += value
    dialect = connection.dialect.name
    for table, key, grouped in ((STEP_ROLLUP, STEP_ROLLUP_KEY, rows),
                                (STEP_MONTH_ROLLUP, STEP_MONTH_ROLLUP_KEY, by_month)):
        params = [{**dict(zip(key, group, strict=True)), **dict(zip(_STEP_VALUES, totals, strict=True))}
                  for group, totals in grouped.items()]
        connection.execute(_values_upsert(dialect, table), params[0] if len(params) == 1 else params)


# INSERT … VALUES … ON CONFLICT (key) DO UPDATE SET v = v + excluded.v of the step rollups, per
# dialect and table, built once.
_VALUE_UPSERTS: dict[tuple[str, str], Any] = {}


def _values_upsert(dialect: str, table: Any) -> Any:
    built = _VALUE_UPSERTS.get((dialect, table.name))
    if built is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table)
        key = STEP_ROLLUP_KEY if table is STEP_ROLLUP else STEP_MONTH_ROLLUP_KEY
        built = _VALUE_UPSERTS[(dialect, table.name)] = statement.on_conflict_do_update(
            index_elements=list(key), set_={name: table.c[name] + statement.excluded[name] for name in _STEP_VALUES})
    return built


def add_noted(session: Session) -> None:
    """Add the noted steps, cases and instances to the rollups (module docstring): two statements
    when steps were completed (days and months), one when instances ended (cases) and one when they
    ended or failed (instances), none otherwise. Called just before the commit, when every row of
    the transaction is final — the stage rows closed, the case clock stopped.

    A completed step the transaction knows enough of (`note_step`, and the closing of the stage
    its row names, `note_closed_stage`: the usual 办结) is added from those values, with literal
    increments; any other is counted from its rows by the same rules (`step_contributions`)."""
    noted = session.info.pop(NOTED, None)
    facts: dict[int, StepFacts] = session.info.pop(STEP_FACTS, None) or {}
    closed: dict[int, ClosedStage] = session.info.pop(CLOSED_STAGES, None) or {}
    if not noted or not (noted[0] or noted[2]):
        return
    completed_all, ended, ended_or_failed = noted
    connection = core_connection(session)
    known, from_rows = step_rows(completed_all, facts, closed)
    if known:
        _add_step_rows(connection, known)
    completed = {task_id: completed_all[task_id] for task_id in from_rows}
    # The statements' places in `_statements`: days and months (steps), cases, instances.
    for ids, places in ((completed, (0, 1)), (ended, (2,)), (ended_or_failed, (3,))):
        if not ids:
            continue
        distinct = sorted(set(ids))
        single = len(distinct) == 1
        built = _statements(connection.dialect.name, single)
        params: dict[str, Any] = {"p_ids": distinct}
        if single:
            params = {"p_id": distinct[0]}
            if ids is completed:
                params["p_bucket"] = bucket_of(completed[distinct[0]])
        for place in places:
            connection.execute(built[place], params)
