"""Efficiency figures in two scopes that are never mixed, each labelled wherever it is shown.

办件（按案件） — scope `case`, `case_figures`: one row per department or unit answering for the
case's duty (`case_deadline.department_code` / `unit_code`, set from the catalog when the clock
started).
- received (收件): cases whose instance started in the period [since, until) and that have a case
  clock (a `case_deadline` row);
- finished (办结): of those, the ones whose case clock has stopped, as of now;
- 办结率 completion_rate = finished / received;
- 按时办结率 on_time_rate = finished on time / finished. A case is on time when it ended within its
  case limit: `case_deadline.on_time`, set when the clock stops, against a due moment that already
  counts the extensions granted and the time the clock stood still;
- open cases now: paused (a paused clock is paused, never yellow or red), else red (past due), else
  yellow (past the yellow moment).
Instances without a case clock (a duty whose limit is 无, a process without limits) are in none of
these figures; how many started in the period is returned (`untimed_cases`) and said with them.

环节（按步骤） — scope `step`, `step_figures`: one row per post, unit or department (the post that
completed the step, else the post it waits at; unit and department through the catalog in force).
- the steps (task rows) that became ready in the period; sent-back, withdrawn and interrupted ones
  are left out, as they were not the post's to finish;
- 办结率 = completed / (completed + open);
- 按时办结率 = completed within the step's OWN stage limit / completed steps that had one. The stage
  row of that attempt at the step (`stage_deadline`, one per time the step became ready) decides
  when it has a due moment: `overran` false is on time, true is late. A step without a stage limit
  is neither on time nor late (`without_stage_limit`): the case's due moment never judges a step —
  a head's two-hour 决定 done in an hour is on time even when the case was already overdue;
- mean and 90th-percentile working time (office time from ready to completion, from the
  `completed` event of the timing log);
- open steps now, by their own stage limit only: paused while the case clock is paused, else red
  past the stage's due moment, else yellow past its yellow moment; a step without a stage limit
  has no colour.

How it is computed. For a period of whole Beijing days (no bounds, or bounds at midnight Beijing
time — every month, quarter and year) the rows that can no longer change come from the rollups kept
in each step's transaction (engine.runtime.rollups): finished cases from `case_rollup` (by the day
the instance started), completed steps from `step_month_rollup` for the whole months of the period
and `step_rollup` for the days outside them. Only the open rows — cases whose clock runs, steps that
wait — are counted live, and their colours always are. The read is then a few thousand rollup rows
and the open rows, however many years of record the tables hold. The instances without a case
clock (`untimed_cases`) are the ended ones of `instance_rollup` and the running ones counted live.
A period cut inside a day cannot be split by day rows, so it is counted over every row of the period as before: each scope one
GROUP BY query of SUM(CASE …) counts, a task row's stage row joined by the primary key the task row
holds (`work_task.stage_deadline_id`), its working time an outer join to its `completed` event,
unit and department outer joins to the catalog's post and unit tables. Both ways give the same
counts, rates, sums and means (tests/test_metrics_rollups.py).
The 90th percentile: counted live it is exact, by nearest rank (the smallest value with at least
90 % of the values at or below it) — window functions number each group's working times (ROW_NUMBER
and COUNT OVER PARTITION BY the group) and keep the rank r = ceil(0.9·n), written without division
as 10·r ≥ 9·n > 10·(r − 1). From the rollups it is APPROXIMATE: the rollups hold working times in
buckets 5 % wide, so the figure is the mean of the group's times in the bucket where that rank
falls — the exact value when they are all equal, otherwise less than 5 % (or 1 s) from it — and
the figures carry a note saying so (P90_NOTE). Either way one row per group comes back: memory in
Python is bounded by the number of posts, units or departments, not by the number of cases
(docs/benchmarks.md, "Issue 12 item 6", for 1,000,000 cases). PostgreSQL needs table statistics for
the live plans (autovacuum keeps them; run ANALYZE after a bulk load): on never-analysed tables it
may join each step to its `completed` event through the index on the event kind, which is quadratic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, literal, null, or_, select, true, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from engine.catalog.in_force import catalog_version_id
from engine.clock import Clock
from engine.errors import InvalidInput
from engine.models.catalog import CatalogDepartment, CatalogPost, CatalogUnit
from engine.models.runtime import TASK_COMPLETED, TASK_READY, ProcessInstance, TimingEvent, WorkTask
from engine.models.timers import CaseDeadline, StageDeadline
from engine.models.types import AwareDateTime
from engine.runtime import rollups

CASE, STEP = "case", "step"
SCOPE_LABELS = {CASE: "办件（按案件）", STEP: "环节（按步骤）"}
SCOPES = tuple(SCOPE_LABELS)
GROUPINGS_OF = {CASE: ("department", "unit"), STEP: ("post", "unit", "department")}
GROUPINGS = ("post", "unit", "department")
DEFAULT_BY = {CASE: "department", STEP: "post"}
GROUPING_LABELS = {"post": "岗位", "unit": "内设机构", "department": "部门"}
UNKNOWN = "（清单外）"

CASE_NOTE = ("办件（按案件）：每个办件计一次，按事项所属部门/内设机构统计；办结率 = 办结件数 ÷ 收件数，"
             "按时办结率 = 在办结时限内办结的件数 ÷ 办结件数（办结时限已含批准的延期、扣除暂停计时）。")
UNTIMED_NOTE = "未计时的办件（无办结时限，没有计时记录）不计入办件统计：本期 {count} 件。"
P90_NOTE = ("90% 用时为近似值：按用时分档（相邻档相差约 5%）汇总，取第 90 百分位所在档内用时的平均值，"
            "与逐条排序的精确值相差不超过 5%（20 秒以下不超过 1 秒）；平均用时、件数与比率均为精确值。")
STEP_NOTE = ("环节（按步骤）：每个步骤计一次；按时办结率只按该步骤自身的环节时限判断，"
             "没有环节时限的步骤不计入按时办结率（既不算按时，也不算超时），从不以办件的办结时限判断步骤。")


@dataclass
class CaseMetricRow:
    """办件（按案件） figures of one department or unit."""

    group: str
    received: int = 0
    finished: int = 0
    open: int = 0
    completion_rate: float | None = None
    on_time: int = 0
    late: int = 0
    on_time_rate: float | None = None
    open_yellow: int = 0
    open_red: int = 0
    open_paused: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepMetricRow:
    """环节（按步骤） figures of one post, unit or department."""

    group: str
    total: int = 0
    completed: int = 0
    open: int = 0
    completion_rate: float | None = None
    with_stage_limit: int = 0
    without_stage_limit: int = 0
    on_time: int = 0
    late: int = 0
    on_time_rate: float | None = None
    mean_working_seconds: float | None = None
    p90_working_seconds: float | None = None
    open_yellow: int = 0
    open_red: int = 0
    open_paused: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Figures:
    """The rows of one scope and grouping, with what a reader must be told about them."""

    scope: str
    by: str
    rows: list[CaseMetricRow] | list[StepMetricRow]
    untimed_cases: int | None = None  # scope case only: instances of the period without a case clock
    notes: list[str] = field(default_factory=list)

    @property
    def scope_label(self) -> str:
        return SCOPE_LABELS[self.scope]

    def as_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "scope_label": self.scope_label, "by": self.by,
                "rows": [row.as_dict() for row in self.rows], "untimed_cases": self.untimed_cases,
                "notes": list(self.notes)}


def efficiency_figures(session: Session, clock: Clock, scope: str = CASE, by: str | None = None,
                       since: datetime | None = None, until: datetime | None = None,
                       process_id: str | None = None) -> Figures:
    """The figures of one scope (`case` 办件 / `step` 环节), grouped `by` (default: department for
    cases, post for steps), for what started (cases) or became ready (steps) in [since, until)."""
    if scope not in SCOPE_LABELS:
        raise InvalidInput("统计范围有误", [f"scope: {scope!r} 应为 case（办件，按案件）或 step（环节，按步骤）"])
    if scope == CASE:
        return case_figures(session, clock, by or DEFAULT_BY[CASE], since, until, process_id)
    return step_figures(session, clock, by or DEFAULT_BY[STEP], since, until, process_id)


# ---------------------------------------------------------------- 办件（按案件）
_CASE = CaseDeadline.__table__  # type: ignore[attr-defined]
_INSTANCE = ProcessInstance.__table__  # type: ignore[attr-defined]
_TASK = WorkTask.__table__  # type: ignore[attr-defined]
_STAGE = StageDeadline.__table__  # type: ignore[attr-defined]
_EVENT = TimingEvent.__table__  # type: ignore[attr-defined]
_POST = CatalogPost.__table__  # type: ignore[attr-defined]
_UNIT = CatalogUnit.__table__  # type: ignore[attr-defined]
_DEPARTMENT = CatalogDepartment.__table__  # type: ignore[attr-defined]
_CASE_ROLLUP = rollups.CASE_ROLLUP
_STEP_ROLLUP = rollups.STEP_ROLLUP
_STEP_MONTH_ROLLUP = rollups.STEP_MONTH_ROLLUP
_INSTANCE_ROLLUP = rollups.INSTANCE_ROLLUP


def case_figures(session: Session, clock: Clock, by: str = "department", since: datetime | None = None,
                 until: datetime | None = None, process_id: str | None = None) -> Figures:
    """办件（按案件）: one row per department or unit of the cases' duties (module docstring)."""
    _check(CASE, by, since, until)
    now = _moment(clock.now())
    days = rollups.day_bounds(since, until)
    group = _CASE.c.department_code if by == "department" else _CASE.c.unit_code
    finished = _CASE.c.finished_at.is_not(None)
    still_open = _CASE.c.finished_at.is_(None)
    paused = and_(still_open, _CASE.c.paused_since.is_not(None))
    running = and_(still_open, _CASE.c.paused_since.is_(None))
    query = (
        select(group.label("grp"), func.count().label("received"), _count(finished).label("finished"),
               _count(and_(finished, _CASE.c.on_time.is_(True))).label("on_time"),
               _count(paused).label("open_paused"),
               _count(and_(running, _CASE.c.due_at <= now)).label("open_red"),
               _count(and_(running, _CASE.c.due_at > now, _CASE.c.yellow_at <= now)).label("open_yellow"))
        .select_from(_CASE.join(_INSTANCE, _INSTANCE.c.id == _CASE.c.instance_id))
        .group_by(group)
    )
    if days is not None:
        query = query.where(still_open)  # the finished ones are in the rollup
    rows: dict[str, CaseMetricRow] = {}
    for r in session.execute(_in_period(query, _INSTANCE.c.started_at, since, until, process_id)):
        row = rows.setdefault(r.grp or UNKNOWN, CaseMetricRow(group=r.grp or UNKNOWN))
        row.received, row.finished, row.on_time = r.received, r.finished, r.on_time
        row.open_yellow, row.open_red, row.open_paused = r.open_yellow, r.open_red, r.open_paused
    if days is not None:
        for r in session.execute(_finished_cases(by, days, process_id)):
            row = rows.setdefault(r.grp or UNKNOWN, CaseMetricRow(group=r.grp or UNKNOWN))
            row.received += int(r.finished)
            row.finished += int(r.finished)
            row.on_time += int(r.on_time)
    for row in rows.values():
        row.open, row.late = row.received - row.finished, row.finished - row.on_time
        row.completion_rate = _ratio(row.finished, row.received)
        row.on_time_rate = _ratio(row.on_time, row.finished)
    if days is None:
        untimed_query = (select(func.count())
                         .select_from(_INSTANCE.outerjoin(_CASE, _CASE.c.instance_id == _INSTANCE.c.id))
                         .where(_CASE.c.id.is_(None)))
        untimed = session.execute(_in_period(untimed_query, _INSTANCE.c.started_at, since, until,
                                             process_id)).scalar_one()
    else:
        # The ended instances without a clock from `instance_rollup`, the running ones counted live
        # (index ix_process_instance_running): neither reads every instance of the period.
        rolled = _in_days(select(func.coalesce(func.sum(_INSTANCE_ROLLUP.c.ended), 0))
                          .where(_INSTANCE_ROLLUP.c.timed.is_(False)),
                          _INSTANCE_ROLLUP.c.started_day, _INSTANCE_ROLLUP.c.process_id, days, process_id)
        # Whether a running instance has a clock is looked up by key (a scalar subquery is never
        # turned into a join): as an outer join PostgreSQL hashes every case clock instead.
        clock_of = (select(_CASE.c.id).where(_CASE.c.instance_id == _INSTANCE.c.id).limit(1)
                    .scalar_subquery())
        running_untimed = (select(func.count()).select_from(_INSTANCE)
                           .where(_INSTANCE.c.ended_at.is_(None), clock_of.is_(None)))
        untimed = (int(session.execute(rolled).scalar_one())
                   + session.execute(_in_period(running_untimed, _INSTANCE.c.started_at, since, until,
                                                process_id)).scalar_one())
    return Figures(CASE, by, _by_group(list(rows.values())), untimed_cases=untimed,
                   notes=[CASE_NOTE, UNTIMED_NOTE.format(count=untimed)])


def _finished_cases(by: str, days: tuple[str | None, str | None], process_id: str | None) -> Any:
    """The finished cases of the period from `case_rollup`, per department or unit."""
    group = _CASE_ROLLUP.c.department_code if by == "department" else _CASE_ROLLUP.c.unit_code
    query = (select(group.label("grp"), func.sum(_CASE_ROLLUP.c.finished).label("finished"),
                    func.sum(_CASE_ROLLUP.c.on_time).label("on_time"))
             .group_by(group))
    return _in_days(query, _CASE_ROLLUP.c.started_day, _CASE_ROLLUP.c.process_id, days, process_id)


# ---------------------------------------------------------------- 环节（按步骤）


def step_figures(session: Session, clock: Clock, by: str = "post", since: datetime | None = None,
                 until: datetime | None = None, process_id: str | None = None) -> Figures:
    """环节（按步骤）: one row per post, unit or department (module docstring)."""
    _check(STEP, by, since, until)
    now = _moment(clock.now())
    days = rollups.day_bounds(since, until)
    version_id = catalog_version_id(session)
    # With the rollup, the task rows read are the open ones only (few); else every row of the period.
    steps = _steps(since, until, process_id, (TASK_READY,) if days is not None else (TASK_READY, TASK_COMPLETED))
    tables, group = _step_groups(steps, steps.c.post, by, version_id)
    stage_row, case_row = _STAGE.alias("attempt"), _CASE.alias("case_clock")
    if days is not None and session.get_bind().dialect.name == "postgresql":
        # The open steps (tens of thousands at most) look up their stage row and case clock by key.
        # Joined plainly, PostgreSQL hashes every stage row and case clock instead (millions) when
        # it reckons that cheaper than the look-ups (random_page_cost 4): a LATERAL subquery with a
        # LIMIT (so that it is not pulled up into a plain join; each matches one row by a unique
        # key) is a look-up per step, so the time follows the open steps, not the record.
        attempts = (select(stage_row.c.due_at, stage_row.c.yellow_at, stage_row.c.overran, stage_row.c.status)
                    .where(stage_row.c.id == steps.c.stage_id).limit(1).lateral("attempt"))
        clocks = (select(case_row.c.paused_since, case_row.c.finished_at)
                  .where(case_row.c.instance_id == steps.c.instance_id).limit(1).lateral("case_clock"))
        tables = tables.outerjoin(attempts, true())
        counted = tables.outerjoin(clocks, true())
        attempt, case_clock = attempts.c, clocks.c
    else:
        tables = tables.outerjoin(stage_row, stage_row.c.id == steps.c.stage_id)
        counted = tables.outerjoin(case_row, case_row.c.instance_id == steps.c.instance_id)
        attempt, case_clock = stage_row.c, case_row.c

    completed = steps.c.status == TASK_COMPLETED
    waiting = steps.c.status == TASK_READY
    limited = attempt.due_at.is_not(None)
    on_time = and_(completed, limited, attempt.overran.is_(False),
                   or_(attempt.status != "open", steps.c.completed_at < attempt.due_at))
    case_paused = and_(case_clock.paused_since.is_not(None), case_clock.finished_at.is_(None))
    ticking = and_(waiting, limited, ~case_paused)
    query = (
        select(group.label("grp"), func.count().label("total"), _count(completed).label("completed"),
               _count(and_(completed, limited)).label("with_stage_limit"), _count(on_time).label("on_time"),
               func.coalesce(func.sum(steps.c.worked), 0).label("worked"), func.count(steps.c.worked).label("timed"),
               _count(and_(waiting, limited, case_paused)).label("open_paused"),
               _count(and_(ticking, attempt.due_at <= now)).label("open_red"),
               _count(and_(ticking, attempt.due_at > now, attempt.yellow_at <= now)).label("open_yellow"))
        .select_from(counted)
        .group_by(group)
    )
    rows: dict[Any, StepMetricRow] = {}
    worked: dict[Any, list[float]] = {}  # group → [sum of working seconds, steps with a working time]
    for r in session.execute(query):
        rows[r.grp] = StepMetricRow(group=r.grp or UNKNOWN, total=r.total, completed=r.completed,
                                    with_stage_limit=r.with_stage_limit, on_time=r.on_time,
                                    open_yellow=r.open_yellow, open_red=r.open_red, open_paused=r.open_paused)
        worked[r.grp] = [float(r.worked), r.timed]
    if days is None:
        p90 = _p90(session, steps, tables, group)
    else:
        per_post = _completed_steps(days, process_id)
        tables, group = _step_groups(per_post, per_post.c.post_code, by, version_id)
        timed = per_post.c.bucket >= 0
        query = (select(group.label("grp"), func.sum(per_post.c.completed).label("completed"),
                        func.sum(per_post.c.with_stage_limit).label("with_stage_limit"),
                        func.sum(per_post.c.on_time).label("on_time"),
                        func.coalesce(func.sum(case((timed, per_post.c.working_seconds), else_=0)), 0).label("worked"),
                        func.coalesce(func.sum(case((timed, per_post.c.completed), else_=0)), 0).label("timed"))
                 .select_from(tables).group_by(group))
        for r in session.execute(query):
            grp = r.grp or None  # '' : a step without a post
            row = rows.setdefault(grp, StepMetricRow(group=grp or UNKNOWN))
            # int(): PostgreSQL sums the per-post sums (bigint) as numeric.
            row.total += int(r.completed)
            row.completed += int(r.completed)
            row.with_stage_limit += int(r.with_stage_limit)
            row.on_time += int(r.on_time)
            sums = worked.setdefault(grp, [0.0, 0])
            sums[0] += float(r.worked)
            sums[1] += int(r.timed)
        p90 = _rollup_p90(session, tables, group, per_post)
    for grp, row in rows.items():
        row.open = row.total - row.completed
        row.without_stage_limit = row.completed - row.with_stage_limit
        row.late = row.with_stage_limit - row.on_time
        row.completion_rate = _ratio(row.completed, row.total)
        row.on_time_rate = _ratio(row.on_time, row.with_stage_limit)
        total_worked, timed_steps = worked.get(grp, [0.0, 0])
        row.mean_working_seconds = total_worked / timed_steps if timed_steps else None
        row.p90_working_seconds = p90.get(grp)
    notes = [STEP_NOTE] if days is None else [STEP_NOTE, P90_NOTE]
    return Figures(STEP, by, _by_group(list(rows.values())), notes=notes)


def _steps(since: datetime | None, until: datetime | None, process_id: str | None,
           states: tuple[str, ...]) -> Any:
    """The task rows of the period in these states as a subquery: instance, state, completion, the
    post they count for, the id of their attempt's stage row and their working time (completed ones)."""
    completed = _TASK.c.status == TASK_COMPLETED
    post = case((and_(completed, _TASK.c.completed_post.is_not(None)), _TASK.c.completed_post),
                else_=_TASK.c.post_code)
    # The `completed` event of the task row carries its working time. A task row is completed once
    # (only a ready row can be, under its row lock; a withdrawn step comes back as a new row), so an
    # outer join adds no rows — and unlike a correlated "latest event" subquery it gives PostgreSQL
    # no reason to plan a scan of every `completed` event per task row.
    # Open rows only (the rollups hold the completed ones): no working time, and no join — PostgreSQL
    # would still look up each open row's events.
    tables: Any = _TASK
    worked: Any = cast(null(), Float)
    if TASK_COMPLETED in states:
        completion = _EVENT.alias("completion")
        tables = _TASK.outerjoin(completion, and_(completion.c.task_id == _TASK.c.id,
                                                  completion.c.kind == "completed", completed))
        worked = completion.c.working_seconds
    if process_id:
        tables = tables.join(_INSTANCE, _INSTANCE.c.id == _TASK.c.instance_id)
    query = (select(_TASK.c.instance_id, _TASK.c.status, _TASK.c.completed_at, post.label("post"),
                    _TASK.c.stage_deadline_id.label("stage_id"), worked.label("worked"))
             .select_from(tables)
             .where(_TASK.c.status.in_(states)))
    return _in_period(query, _TASK.c.ready_at, since, until, process_id).subquery("steps")


def _completed_steps(days: tuple[str | None, str | None], process_id: str | None) -> Any:
    """The completed steps of the period from the rollups, per post and working-time bucket: the
    whole months from `step_month_rollup`, the days outside them from `step_rollup`."""
    months, day_ranges = rollups.month_split(*days)
    parts = []
    for table, period, ranges in ((_STEP_MONTH_ROLLUP, "ready_month", [months] if months else []),
                                  (_STEP_ROLLUP, "ready_day", day_ranges)):
        for since, until in ranges:
            part = select(table.c.post_code, table.c.bucket, table.c.completed, table.c.with_stage_limit,
                          table.c.on_time, table.c.working_seconds)
            parts.append(_in_days(part, table.c[period], table.c.process_id, (since, until), process_id))
    rows = union_all(*parts).subquery("rolled") if len(parts) > 1 else parts[0].subquery("rolled")
    return (select(rows.c.post_code, rows.c.bucket, func.sum(rows.c.completed).label("completed"),
                   func.sum(rows.c.with_stage_limit).label("with_stage_limit"),
                   func.sum(rows.c.on_time).label("on_time"),
                   func.sum(rows.c.working_seconds).label("working_seconds"))
            .group_by(rows.c.post_code, rows.c.bucket).subquery("per_post"))


def _step_groups(source: Any, post: Any, by: str, version_id: int | None) -> tuple[Any, ColumnElement[Any]]:
    """The FROM clause that names each row's group, and the group column (NULL: not in the catalog)."""
    if by == "post":
        return source, post
    tables = source.outerjoin(_POST, and_(_POST.c.version_id == version_id, _POST.c.code == post)).outerjoin(
        _UNIT, _UNIT.c.id == _POST.c.unit_id)
    if by == "unit":
        return tables, _UNIT.c.code
    return tables.outerjoin(_DEPARTMENT, _DEPARTMENT.c.id == _UNIT.c.department_id), _DEPARTMENT.c.code


def _p90(session: Session, steps: Any, tables: Any, group: ColumnElement[Any]) -> dict[Any, float]:
    """Group → nearest-rank 90th percentile of the completed steps' working time (module docstring)."""
    ranked = (
        select(group.label("grp"), steps.c.worked.label("worked"),
               func.row_number().over(partition_by=group, order_by=steps.c.worked).label("position"),
               func.count().over(partition_by=group).label("n"))
        .select_from(tables)
        .where(steps.c.status == TASK_COMPLETED, steps.c.worked.is_not(None))
        .subquery("ranked")
    )
    query = select(ranked.c.grp, ranked.c.worked).where(ranked.c.position * 10 >= ranked.c.n * 9,
                                                        (ranked.c.position - 1) * 10 < ranked.c.n * 9)
    return {r.grp: float(r.worked) for r in session.execute(query)}


def _rollup_p90(session: Session, tables: Any, group: ColumnElement[Any], per_post: Any) -> dict[Any, float]:
    """Group → the 90th percentile from the working-time buckets of `step_rollup`: the bucket where
    the nearest rank r = ceil(0.9·n) falls (the cumulative count c of the buckets up to it has
    10·c ≥ 9·n > 10·(c − its count)), reported as the mean of the group's times in that bucket
    (engine.runtime.rollups: within 5 % of the exact value)."""
    buckets = (select(group.label("grp"), per_post.c.bucket, func.sum(per_post.c.completed).label("n"),
                      func.sum(per_post.c.working_seconds).label("worked"))
               .select_from(tables).where(per_post.c.bucket >= 0)
               .group_by(group, per_post.c.bucket).subquery("buckets"))
    ranked = select(buckets.c.grp, buckets.c.n, buckets.c.worked,
                    func.sum(buckets.c.n).over(partition_by=buckets.c.grp, order_by=buckets.c.bucket).label("upto"),
                    func.sum(buckets.c.n).over(partition_by=buckets.c.grp).label("total")).subquery("ranked")
    query = select(ranked.c.grp, ranked.c.n, ranked.c.worked).where(
        ranked.c.upto * 10 >= ranked.c.total * 9, (ranked.c.upto - ranked.c.n) * 10 < ranked.c.total * 9)
    return {(r.grp or None): float(r.worked) / int(r.n) for r in session.execute(query)}


# ---------------------------------------------------------------- shared


def _check(scope: str, by: str, since: datetime | None, until: datetime | None) -> None:
    allowed = GROUPINGS_OF[scope]
    if by not in allowed:
        problem = f"by: {by!r} 应为 {' / '.join(allowed)} 之一"
        if scope == CASE and by == "post":
            problem += "（办件按事项所属部门或内设机构统计；按岗位请看环节统计 scope=step）"
        raise InvalidInput(f"{SCOPE_LABELS[scope]}统计口径有误", [problem])
    if since is not None and until is not None and since >= until:
        raise InvalidInput("统计期间有误", [f"since/until: 起始时间 {since.isoformat()} 应早于截止时间 {until.isoformat()}"])


def _moment(moment: datetime) -> Any:
    """A moment as a bound value typed like the stored columns (UTC; naive on SQLite)."""
    return literal(moment, AwareDateTime())


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _in_period(query: Any, moment: Any, since: datetime | None, until: datetime | None,
               process_id: str | None) -> Any:
    if since is not None:
        query = query.where(moment >= since)
    if until is not None:
        query = query.where(moment < until)
    if process_id:
        query = query.where(_INSTANCE.c.process_id == process_id)
    return query


def _in_days(query: Any, day: Any, process: Any, days: tuple[str | None, str | None], process_id: str | None) -> Any:
    since, until = days
    if since is not None:
        query = query.where(day >= since)
    if until is not None:
        query = query.where(day < until)
    if process_id:
        query = query.where(process == process_id)
    return query


def _by_group(rows: list[Any]) -> list[Any]:
    return sorted(rows, key=lambda row: row.group)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
