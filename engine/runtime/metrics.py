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

How it is computed: each scope is one GROUP BY query of SUM(CASE …) counts, and Python receives one
row per group, never the case or task rows. A task row's stage attempt is a correlated subquery on
the index `stage_deadline (instance_id, task_id)`, its working time an outer join to its
`completed` event; unit and department are outer joins to the catalog's post and unit tables.
The 90th percentile is exact, by nearest rank (the smallest value with at least 90 % of the
values at or below it): a second query numbers each group's working times with window functions
(ROW_NUMBER and COUNT OVER PARTITION BY the group, which SQLite ≥ 3.25 and PostgreSQL both have) and
keeps the row whose rank r is ceil(0.9·n), written without division as 10·r ≥ 9·n > 10·(r − 1).
The sort runs in the database; one value per group comes back, so memory in Python is bounded by the
number of posts, units or departments, not by the number of cases. Measured on 100,000 cases
(280,000 steps, SQLite and PostgreSQL): the case figures in ~0.15 s, the step figures in ~2 s, at
~110 MB resident for the whole process. PostgreSQL needs table statistics for these plans
(autovacuum keeps them; run ANALYZE after a bulk load): on never-analysed tables it may join each
step to its `completed` event through the index on the event kind, which is quadratic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from engine.catalog.in_force import catalog_version_id
from engine.clock import Clock
from engine.errors import InvalidInput
from engine.models.catalog import CatalogDepartment, CatalogPost, CatalogUnit
from engine.models.runtime import TASK_COMPLETED, TASK_READY, ProcessInstance, TimingEvent, WorkTask
from engine.models.timers import CaseDeadline, StageDeadline
from engine.models.types import AwareDateTime

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


def case_figures(session: Session, clock: Clock, by: str = "department", since: datetime | None = None,
                 until: datetime | None = None, process_id: str | None = None) -> Figures:
    """办件（按案件）: one row per department or unit of the cases' duties (module docstring)."""
    _check(CASE, by, since, until)
    now = _moment(clock.now())
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
    rows = []
    for r in session.execute(_in_period(query, _INSTANCE.c.started_at, since, until, process_id)):
        row = CaseMetricRow(group=r.grp or UNKNOWN, received=r.received, finished=r.finished,
                            open=r.received - r.finished, on_time=r.on_time, late=r.finished - r.on_time,
                            open_yellow=r.open_yellow, open_red=r.open_red, open_paused=r.open_paused)
        row.completion_rate = _ratio(row.finished, row.received)
        row.on_time_rate = _ratio(row.on_time, row.finished)
        rows.append(row)
    untimed_query = (select(func.count())
                     .select_from(_INSTANCE.outerjoin(_CASE, _CASE.c.instance_id == _INSTANCE.c.id))
                     .where(_CASE.c.id.is_(None)))
    untimed = session.execute(_in_period(untimed_query, _INSTANCE.c.started_at, since, until, process_id)).scalar_one()
    return Figures(CASE, by, _by_group(rows), untimed_cases=untimed,
                   notes=[CASE_NOTE, UNTIMED_NOTE.format(count=untimed)])


# ---------------------------------------------------------------- 环节（按步骤）


def step_figures(session: Session, clock: Clock, by: str = "post", since: datetime | None = None,
                 until: datetime | None = None, process_id: str | None = None) -> Figures:
    """环节（按步骤）: one row per post, unit or department (module docstring)."""
    _check(STEP, by, since, until)
    now = _moment(clock.now())
    steps = _steps(since, until, process_id, now)
    attempt = _STAGE.alias("attempt")
    case_clock = _CASE.alias("case_clock")
    tables, group = _step_groups(steps, by, catalog_version_id(session))

    completed = steps.c.state == TASK_COMPLETED
    waiting = steps.c.state == TASK_READY
    limited = attempt.c.due_at.is_not(None)
    on_time = and_(completed, limited, attempt.c.overran.is_(False),
                   or_(attempt.c.status != "open", steps.c.completed_at < attempt.c.due_at))
    case_paused = and_(case_clock.c.paused_since.is_not(None), case_clock.c.finished_at.is_(None))
    ticking = and_(waiting, limited, ~case_paused)
    query = (
        select(group.label("grp"), func.count().label("total"), _count(completed).label("completed"),
               _count(and_(completed, limited)).label("with_stage_limit"), _count(on_time).label("on_time"),
               func.avg(steps.c.worked).label("mean_worked"),
               _count(and_(waiting, limited, case_paused)).label("open_paused"),
               _count(and_(ticking, attempt.c.due_at <= now)).label("open_red"),
               _count(and_(ticking, attempt.c.due_at > now, attempt.c.yellow_at <= now)).label("open_yellow"))
        .select_from(tables.outerjoin(attempt, attempt.c.id == steps.c.stage_id)
                     .outerjoin(case_clock, case_clock.c.instance_id == steps.c.instance_id))
        .group_by(group)
    )
    p90 = _p90(session, steps, tables, group)
    rows = []
    for r in session.execute(query):
        row = StepMetricRow(group=r.grp or UNKNOWN, total=r.total, completed=r.completed,
                            open=r.total - r.completed, with_stage_limit=r.with_stage_limit,
                            without_stage_limit=r.completed - r.with_stage_limit, on_time=r.on_time,
                            late=r.with_stage_limit - r.on_time, open_yellow=r.open_yellow, open_red=r.open_red,
                            open_paused=r.open_paused)
        row.completion_rate = _ratio(row.completed, row.total)
        row.on_time_rate = _ratio(row.on_time, row.with_stage_limit)
        row.mean_working_seconds = float(r.mean_worked) if r.mean_worked is not None else None
        row.p90_working_seconds = p90.get(r.grp)
        rows.append(row)
    return Figures(STEP, by, _by_group(rows), notes=[STEP_NOTE])


def _steps(since: datetime | None, until: datetime | None, process_id: str | None, now: Any) -> Any:
    """The task rows of the period as a subquery: instance, state, completion, the post they count
    for, the id of their attempt's stage row and their working time (completed ones)."""
    completed = _TASK.c.state == TASK_COMPLETED
    post = case((and_(completed, _TASK.c.completed_post.is_not(None)), _TASK.c.completed_post),
                else_=_TASK.c.post_code)
    # The stage row of this attempt: a step sent back and redone keeps its SpiffWorkflow task id and
    # gets one stage row per readiness, so the latest row started when this task row became ready
    # (or, failing that, before it was completed — or before now, while it waits).
    at_ready = _STAGE.alias("at_ready")
    before_end = _STAGE.alias("before_end")
    stage_at_ready = (select(func.max(at_ready.c.id))
                      .where(at_ready.c.instance_id == _TASK.c.instance_id, at_ready.c.task_id == _TASK.c.spiff_task_id,
                             at_ready.c.started_at <= _TASK.c.ready_at)
                      .scalar_subquery())
    stage_before_end = (select(func.max(before_end.c.id))
                        .where(before_end.c.instance_id == _TASK.c.instance_id,
                               before_end.c.task_id == _TASK.c.spiff_task_id,
                               before_end.c.started_at <= func.coalesce(_TASK.c.completed_at, now))
                        .scalar_subquery())
    # The `completed` event of the task row carries its working time. A task row is completed once
    # (only a ready row can be, under its row lock; a withdrawn step comes back as a new row), so an
    # outer join adds no rows — and unlike a correlated "latest event" subquery it gives PostgreSQL
    # no reason to plan a scan of every `completed` event per task row.
    completion = _EVENT.alias("completion")
    tables = _TASK.outerjoin(completion, and_(completion.c.task_id == _TASK.c.id, completion.c.kind == "completed",
                                              completed))
    if process_id:
        tables = tables.join(_INSTANCE, _INSTANCE.c.id == _TASK.c.instance_id)
    query = (select(_TASK.c.instance_id, _TASK.c.state, _TASK.c.completed_at, post.label("post"),
                    func.coalesce(stage_at_ready, stage_before_end).label("stage_id"),
                    completion.c.working_seconds.label("worked"))
             .select_from(tables)
             .where(_TASK.c.state.in_((TASK_READY, TASK_COMPLETED))))
    return _in_period(query, _TASK.c.ready_at, since, until, process_id).subquery("steps")


def _step_groups(steps: Any, by: str, version_id: int | None) -> tuple[Any, ColumnElement[Any]]:
    """The FROM clause that names each step's group, and the group column (NULL: not in the catalog)."""
    if by == "post":
        return steps, steps.c.post
    tables = steps.outerjoin(_POST, and_(_POST.c.version_id == version_id, _POST.c.code == steps.c.post)).outerjoin(
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
        .where(steps.c.state == TASK_COMPLETED, steps.c.worked.is_not(None))
        .subquery("ranked")
    )
    query = select(ranked.c.grp, ranked.c.worked).where(ranked.c.position * 10 >= ranked.c.n * 9,
                                                        (ranked.c.position - 1) * 10 < ranked.c.n * 9)
    return {r.grp: float(r.worked) for r in session.execute(query)}


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


def _by_group(rows: list[Any]) -> list[Any]:
    return sorted(rows, key=lambda row: row.group)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
