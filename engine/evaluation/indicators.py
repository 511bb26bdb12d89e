"""Objective indicators computed from the record, in SQL (counts and sums; no table is read into
Python). Each value comes with its formula in words, the figures it used, and the cases behind it
(a bounded list of instance ids and their count).

A case belongs to a unit by its case clock (`case_deadline.unit_code`; for a region's year, whose
units are departments, by `department_code`) and to a period by when its clock started
(`case_deadline.created_at`, Beijing time). Cases without a clock have no limit to be late on and
are left out of 高效履职.

高效履职 (`efficiency`), for the period, as of the moment it is computed:
    judged   = cases finished + cases still open past their due moment
    on time  = cases finished within their limit (`on_time`)
    红牌     = cases finished late + cases open past due
    延期     = extensions granted (timing events `extended`)
    告知违规 = late one-time notices (timing events `notice_late`)
    投诉属实 = efficiency complaints (`efficiency_complaint`) decided in the period as substantiated
               (`yes`) against the unit; 部分属实 = decided `partly`
    value    = 100 × on time / judged − 5 × 红牌 − 2 × 告知违规 − 1 × 延期 − 5 × 投诉属实 − 3 × 部分属实
               − 5 × 推诿, at least 0
    (nothing judged yet: the share counts as 100). Cases open and not yet due are not judged.
    For a period of whole Beijing days (every year and quarter) the finished cases and their
    extensions and late notices are summed from `case_rollup` (kept in each step's transaction,
    engine.runtime.rollups) and only the open cases are counted over their rows: the same
    figures, in a time that does not grow with the years of record. The cases listed next to a
    value (at most MAX_IDS) are still read from the rows.
    A complaint counts once, by its last decision (a reopened complaint is decided again: the
    second decision replaces the first), in the period of that decision's completion (Beijing
    time), against the unit (department) of the post that investigated it last (the complained
    department's head post the catalog gave it, or the post a transfer handed it to), looked up
    in the catalog version of the year. A partly substantiated complaint costs 3 points, less than
    a substantiated one (5, as much as a red card) because only part of the conduct was found.
    推诿      = matters a post of the unit sent round in a circle in the period (`runarounds`:
               a transfer the unit's post made and the other side accepted, to a post that had
               held the matter and passed it on), 5 points each, as a red card or an upheld complaint:
               the applicant is sent back to a door they had already been through.

常规工作 (`routine_work`), for the period: the duties the unit carries in the catalog version
of the year (三定, `catalog_duty_unit`; a department's own duties for a region's year), and the
cases started for each in the period (`process_instance.duty_code`; a case whose clock names
another unit carrying the same duty counts for that unit):
    value    = 100 × duties with at least one case / duties carried
    (a unit carrying no duty scores 0: a 三定 gap, noted).
    For a period of whole Beijing days the ended instances are summed per duty from
    `instance_rollup` (engine.runtime.rollups) and only the running ones are counted over their
    rows (index ix_process_instance_running): the same counts, in a time that does not grow with
    the cases. The cases listed next to the value are still read from the rows.

自查整改 (`self_inspection`), for the period: the inspector's checks of rectifications in
self-inspection campaigns (`self_inspection_campaign`, step `check_rectification`, one task per
open item, the item — unit, problem, times returned so far — recorded in the task's `task_ready`
event). Each rectification has exactly one first check (its item's `returns` is 0), so:
    checked  = first checks completed in the period for the unit's items
    passed   = those with verdict `accept`
    sent back = checks (any round) with verdict `return`
    value    = 100 × passed / checked (nothing checked: 100, noted)
For a region's year the items of every unit of the department count. Not in the default tree (the
published scheme has no such leaf); an office adds it when adjusting its tree, e.g. as a
sub-indicator of 依法履职.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, or_, select
from sqlmodel import Session, col

from engine.clock import BEIJING
from engine.models.catalog import CatalogDepartment, CatalogDuty, CatalogDutyUnit, CatalogPost, CatalogUnit
from engine.models.runtime import TASK_COMPLETED, ProcessInstance, TimingEvent, WorkTask
from engine.models.timers import CaseDeadline
from engine.runtime import rollups

EFFICIENCY = "efficiency"
ROUTINE_WORK = "routine_work"
SELF_INSPECTION = "self_inspection"
FORMULAS: dict[str, str] = {EFFICIENCY: "高效履职（办件计时、效能投诉）", ROUTINE_WORK: "常规工作（三定职责办件）",
                            SELF_INSPECTION: "自查整改（检查验收）"}
FORMULA_TEXTS: dict[str, str] = {
    EFFICIENCY: "100 × 按时办结件数 ÷ 已判定件数（已办结 + 未办结已超期） − 5 × 红牌件数 − 2 × 一次性告知违规次数"
                " − 1 × 延期次数 − 5 × 投诉属实件数 − 3 × 投诉部分属实件数 − 5 × 推诿件数，最低 0 分；"
                "尚无已判定办件时按时率计 100；投诉按期间内最后一次处理决定计，记在最后调查核实的岗位所在单位；"
                "推诿（群众多跑腿）：本单位岗位把已接收的事项转回曾经办并转出过它的岗位，对方接收，每个事项计一次",
    ROUTINE_WORK: "100 × 期间内有办件的三定职责事项数 ÷ 承担的职责事项数；未承担任何事项计 0 分",
    SELF_INSPECTION: "100 × 首次检查验收即通过的整改项数 ÷ 期间内首次检查验收的整改项数；退回次数另列；"
                     "尚无检查验收计 100 分",
}
RED_POINTS = 5
NOTICE_POINTS = 2
EXTENSION_POINTS = 1
UPHELD_POINTS = 5  # 投诉属实
PARTLY_UPHELD_POINTS = 3  # 投诉部分属实
RUNAROUND_POINTS = 5  # 群众多跑腿（推诿）: as much as a red card or an upheld complaint
COMPLAINT_PROCESS = "efficiency_complaint"
CAMPAIGN_PROCESS = "self_inspection_campaign"
CHECK_STEP = "check_rectification [child]"  # one task per open item (engine.runtime.tasks.MULTI_INSTANCE_SUFFIX)
MAX_IDS = 50  # cases listed next to a value; the count says how many there are


@dataclass
class CaseList:
    count: int
    ids: list[int]

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "ids": self.ids}


@dataclass
class IndicatorValue:
    formula: str
    value: Fraction
    figures: dict[str, int]
    cases: CaseList
    breakdown: dict[str, CaseList] = field(default_factory=dict)
    details: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def formula_text(self) -> str:
        return FORMULA_TEXTS[self.formula]


def period(year: int, quarter: int | None) -> tuple[datetime, datetime]:
    """[start, end) of a year or one of its quarters, Beijing time."""
    if quarter is None:
        return datetime(year, 1, 1, tzinfo=BEIJING), datetime(year + 1, 1, 1, tzinfo=BEIJING)
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=BEIJING)
    end = datetime(year + 1, 1, 1, tzinfo=BEIJING) if quarter == 4 else datetime(year, 3 * quarter + 1, 1, tzinfo=BEIJING)
    return start, end


def _ids(session: Session, statement, total: int, list_cases: bool = True) -> CaseList:
    """The count and the first MAX_IDS case ids behind a figure. Scoring a year needs only the
    counts (`list_cases=False`): the lists are for the pages' "cases behind it" and cost a scan of
    their own each, most of the time a year's scoring took at 1,000,000 cases."""
    if not list_cases or total == 0:
        return CaseList(total, [])
    return CaseList(total, list(session.execute(statement.limit(MAX_IDS)).scalars()))


def _case_scope(code: str, by_department: bool, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    owner = col(CaseDeadline.department_code) if by_department else col(CaseDeadline.unit_code)
    return [owner == code, col(CaseDeadline.created_at) >= start, col(CaseDeadline.created_at) < end]


def _posts_of(code: str, by_department: bool, version_id: int | None) -> Any:
    """The codes of the posts of a unit (or of every unit of a department) in a catalog version."""
    posts = (select(col(CatalogPost.code)).join(CatalogUnit, col(CatalogUnit.id) == col(CatalogPost.unit_id))
             .where(col(CatalogPost.version_id) == version_id))
    if by_department:
        return posts.join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogUnit.department_id)) \
            .where(col(CatalogDepartment.code) == code).scalar_subquery()
    return posts.where(col(CatalogUnit.code) == code).scalar_subquery()


def _units_of(code: str, by_department: bool, version_id: int | None) -> Any:
    """The unit codes a unit's (or a department's) record is kept under."""
    if not by_department:
        return [code]
    return (select(col(CatalogUnit.code))
            .join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogUnit.department_id))
            .where(col(CatalogUnit.version_id) == version_id, col(CatalogDepartment.code) == code).scalar_subquery())


def complaints(session: Session, code: str, start: datetime, end: datetime, version_id: int | None,
               by_department: bool = False, *, list_cases: bool = True) -> tuple[CaseList, CaseList]:
    """Efficiency complaints decided in [start, end) as substantiated (`yes`) and as partly
    substantiated (`partly`) against the unit (department): each complaint by its last decision,
    against the unit of the post of its last investigation (module docstring)."""
    # The complaints' own task rows, found through their instances (indexed by process), never by
    # scanning every task row for a step name.
    complaint_cases = (select(col(ProcessInstance.id)).where(col(ProcessInstance.process_id) == COMPLAINT_PROCESS)
                       .scalar_subquery())
    last_decision = (select(func.max(col(WorkTask.id)))
                     .where(col(WorkTask.instance_id).in_(complaint_cases), col(WorkTask.task_spec) == "decide_complaint",
                            col(WorkTask.status) == TASK_COMPLETED)
                     .group_by(col(WorkTask.instance_id)).scalar_subquery())
    last_investigation = (select(func.max(col(WorkTask.id)))
                          .where(col(WorkTask.instance_id).in_(complaint_cases), col(WorkTask.task_spec) == "investigate",
                                 col(WorkTask.status) == TASK_COMPLETED)
                          .group_by(col(WorkTask.instance_id)).scalar_subquery())
    investigated_here = (select(col(WorkTask.instance_id))
                         .where(col(WorkTask.id).in_(last_investigation),
                                col(WorkTask.post_code).in_(_posts_of(code, by_department, version_id)))
                         .scalar_subquery())
    verdict = col(WorkTask.form_data)["substantiated"].as_string()
    decided = (col(WorkTask.id).in_(last_decision), col(WorkTask.instance_id).in_(investigated_here),
               col(WorkTask.completed_at) >= start, col(WorkTask.completed_at) < end,
               col(WorkTask.instance_id).in_(complaint_cases))

    def listed(answer: str) -> CaseList:
        where = (*decided, verdict == answer)
        total = int(session.execute(select(func.count()).select_from(WorkTask).where(*where)).scalar_one())
        return _ids(session, select(col(WorkTask.instance_id)).where(*where).order_by(col(WorkTask.instance_id)), total, list_cases)

    return listed("yes"), listed("partly")


_EVENTS = TimingEvent.__table__  # type: ignore[attr-defined]
_TRANSFER, _EARLIER, _ANSWER = _EVENTS.alias("transfer"), _EVENTS.alias("earlier"), _EVENTS.alias("answer")
_ANSWERS = ("accepted", "refused")


def _accepted(transfer: Any) -> ColumnElement[bool]:
    """Whether a `transferred` event was accepted: the runtime allows one open transfer a task, so
    the task's next `accepted` or `refused` event answers it."""
    answer = _ANSWER.c
    first_answer = (select(answer.kind)
                    .where(answer.task_id == transfer.task_id, answer.kind.in_(_ANSWERS),
                           or_(answer.at > transfer.at, and_(answer.at == transfer.at, answer.id > transfer.id)))
                    .order_by(answer.at, answer.id).limit(1).scalar_subquery())
    return first_answer == "accepted"


def runarounds(session: Session, code: str, start: datetime, end: datetime, version_id: int | None,
               by_department: bool = False, *, list_cases: bool = True) -> CaseList:
    """群众多跑腿（推诿）charged to a unit: matters (a step of a case) that one of its posts handed,
    by a transfer made in the period and accepted, to a post that had already held the matter and
    passed it on by an accepted transfer — the moment a matter's path of holders closes a circle
    (engine.analysis.runaround's post-level cycle), found in SQL on the transfer log. The post that
    sent it round is the one charged; a refused transfer moves nothing and closes no circle. Counted
    once per matter; the listed ids are the cases."""
    transfer, earlier = _TRANSFER.c, _EARLIER.c
    passed_on_before = (select(earlier.id)
                        .where(earlier.task_id == transfer.task_id, earlier.kind == "transferred",
                               earlier.post_code == transfer.target_post,
                               or_(earlier.at < transfer.at, and_(earlier.at == transfer.at, earlier.id < transfer.id)),
                               _accepted(earlier))
                        .exists())
    where = (transfer.kind == "transferred", transfer.at >= start, transfer.at < end,
             transfer.post_code.in_(_posts_of(code, by_department, version_id)),
             _accepted(transfer), passed_on_before)
    matters = int(session.execute(select(func.count(distinct(transfer.task_id))).where(*where)).scalar_one())
    return _ids(session, select(transfer.instance_id).where(*where).distinct().order_by(transfer.instance_id),
                matters, list_cases)


def efficiency(session: Session, code: str, start: datetime, end: datetime, as_of: datetime,
               by_department: bool = False, version_id: int | None = None, *,
               list_cases: bool = True) -> IndicatorValue:
    """高效履职 of one unit (or department) for [start, end), as of `as_of` (module docstring).

    The finished cases are read from `case_rollup` when the period is whole Beijing days (a year, a
    quarter), the open ones live (engine.runtime.rollups); a period cut inside a day counts every
    case live. Either way the figures are the same."""
    scope = _case_scope(code, by_department, start, end)
    finished = col(CaseDeadline.finished_at).is_not(None)
    late = and_(finished, col(CaseDeadline.on_time).is_(False))
    open_overdue = and_(col(CaseDeadline.finished_at).is_(None), col(CaseDeadline.due_at) < as_of)
    red = or_(late, open_overdue)
    days = rollups.day_bounds(start, end)
    # Counted live: every case of the period, or only the open ones when the rollup has the rest.
    live = scope if days is None else [*scope, col(CaseDeadline.finished_at).is_(None)]

    def count_if(condition) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(select(
        func.count(), count_if(finished), count_if(col(CaseDeadline.on_time).is_(True)), count_if(late),
        count_if(open_overdue),
    ).where(*live)).one()
    cases, done, on_time, late_count, overdue_count = (int(v) for v in row)
    live_ids = select(col(CaseDeadline.instance_id)).where(*live).scalar_subquery()

    def live_events(kind: str) -> tuple[int, int]:
        where = (col(TimingEvent.kind) == kind, col(TimingEvent.instance_id).in_(live_ids))
        counted = session.execute(select(func.count(), func.count(distinct(col(TimingEvent.instance_id))))
                                  .where(*where)).one()
        return int(counted[0]), int(counted[1])

    extensions, extended_count = live_events("extended")
    notices, notice_count = live_events("notice_late")
    if days is not None:
        rolled = _finished_cases(session, code, by_department, days)
        cases += rolled["finished"]
        done += rolled["finished"]
        on_time += rolled["on_time"]
        late_count += rolled["late"]
        extensions += rolled["extensions"]
        extended_count += rolled["extended_cases"]
        notices += rolled["notices_late"]
        notice_count += rolled["notice_late_cases"]
    case_ids = select(col(CaseDeadline.instance_id)).where(*scope)

    def listed(kind: str, count: int) -> CaseList:
        # From the events of the kind (few), each looked up in its case row (unique on the instance):
        # not an IN list of every case of the period, which would read them all for 50 ids.
        in_scope = select(col(CaseDeadline.id)).where(col(CaseDeadline.instance_id) == col(TimingEvent.instance_id),
                                                       *scope).exists()
        return _ids(session, select(col(TimingEvent.instance_id)).where(col(TimingEvent.kind) == kind, in_scope)
                    .distinct().order_by(col(TimingEvent.instance_id)), count, list_cases)

    upheld, partly = complaints(session, code, start, end, version_id, by_department, list_cases=list_cases)
    pushed = runarounds(session, code, start, end, version_id, by_department, list_cases=list_cases)
    judged = done + overdue_count
    reds = late_count + overdue_count
    share = Fraction(100 * on_time, judged) if judged else Fraction(100)
    value = max(Fraction(0), share - RED_POINTS * reds - NOTICE_POINTS * notices - EXTENSION_POINTS * extensions
                - UPHELD_POINTS * upheld.count - PARTLY_UPHELD_POINTS * partly.count
                - RUNAROUND_POINTS * pushed.count)
    notes = [] if judged else ["期间内尚无已办结或已超期的办件：按时率计 100"]
    return IndicatorValue(
        formula=EFFICIENCY, value=value,
        figures={"cases": cases, "judged": judged, "finished": done, "on_time": on_time, "red": reds,
                 "finished_late": late_count, "open_overdue": overdue_count, "extensions": extensions,
                 "notice_violations": notices, "complaints_upheld": upheld.count,
                 "complaints_partly_upheld": partly.count, "runarounds": pushed.count},
        cases=_ids(session, case_ids.order_by(col(CaseDeadline.instance_id)), cases, list_cases),
        breakdown={
            "red": _ids(session, select(col(CaseDeadline.instance_id)).where(*scope, red)
                        .order_by(col(CaseDeadline.instance_id)), reds, list_cases),
            "extended": listed("extended", extended_count), "notice_late": listed("notice_late", notice_count),
            "complaint_upheld": upheld, "complaint_partly_upheld": partly, "runaround": pushed,
        },
        notes=notes,
    )


_ROLLED = ("finished", "on_time", "late", "extensions", "extended_cases", "notices_late", "notice_late_cases")


def _finished_cases(session: Session, code: str, by_department: bool, days: tuple[str | None, str | None]) -> dict[str, int]:
    """The finished cases of a unit (department) whose clock started in these Beijing days, from
    `case_rollup`: how many, on time, late, and their extensions and late notices."""
    table = rollups.CASE_ROLLUP
    owner = table.c.department_code if by_department else table.c.unit_code
    query = select(*(func.coalesce(func.sum(table.c[name]), 0) for name in _ROLLED)).where(owner == code)
    since, until = days
    if since is not None:
        query = query.where(table.c.created_day >= since)
    if until is not None:
        query = query.where(table.c.created_day < until)
    return {name: int(value) for name, value in zip(_ROLLED, session.execute(query).one(), strict=True)}


def _ended_per_duty(duty_codes: Any, code: str, by_department: bool, days: tuple[str | None, str | None]) -> Any:
    """The ended instances of these duties started in these Beijing days, per duty, from
    `instance_rollup`: those whose case clock names the unit (department), or no unit ('': no
    clock, or a clock without one) — `routine_work`'s owner rule."""
    table = rollups.INSTANCE_ROLLUP
    owner = table.c.department_code if by_department else table.c.unit_code
    query = (select(table.c.duty_code, func.sum(table.c.ended))
             .where(table.c.duty_code.in_(duty_codes), owner.in_((rollups.NO_CODE, code)))
             .group_by(table.c.duty_code))
    since, until = days
    if since is not None:
        query = query.where(table.c.started_day >= since)
    if until is not None:
        query = query.where(table.c.started_day < until)
    return query


def routine_work(session: Session, code: str, start: datetime, end: datetime, version_id: int | None,
                 by_department: bool = False, *, list_cases: bool = True) -> IndicatorValue:
    """常规工作 of one unit (or department) for [start, end) (module docstring)."""
    if by_department:
        duties = (select(col(CatalogDuty.code), col(CatalogDuty.name))
                  .join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogDuty.department_id))
                  .where(col(CatalogDuty.version_id) == version_id, col(CatalogDepartment.code) == code))
        owner_matches = or_(col(CaseDeadline.department_code).is_(None), col(CaseDeadline.department_code) == code)
    else:
        duties = (select(col(CatalogDuty.code), col(CatalogDuty.name))
                  .join(CatalogDutyUnit, col(CatalogDutyUnit.duty_id) == col(CatalogDuty.id))
                  .join(CatalogUnit, col(CatalogUnit.id) == col(CatalogDutyUnit.unit_id))
                  .where(col(CatalogDuty.version_id) == version_id, col(CatalogUnit.code) == code))
        owner_matches = or_(col(CaseDeadline.unit_code).is_(None), col(CaseDeadline.unit_code) == code)
    duty_codes = duties.with_only_columns(col(CatalogDuty.code)).scalar_subquery()
    in_scope = (col(ProcessInstance.duty_code).in_(duty_codes), col(ProcessInstance.started_at) >= start,
                col(ProcessInstance.started_at) < end, owner_matches)
    days = rollups.day_bounds(start, end)
    # Counted live: every instance of the period, or only the running ones when the rollup has the rest.
    live = in_scope if days is None else (*in_scope, col(ProcessInstance.ended_at).is_(None))
    joined = select(col(ProcessInstance.duty_code), func.count().label("cases")) \
        .select_from(ProcessInstance).outerjoin(CaseDeadline, col(CaseDeadline.instance_id) == col(ProcessInstance.id)) \
        .where(*live).group_by(col(ProcessInstance.duty_code))
    per_duty = {duty: int(n) for duty, n in session.execute(joined).all()}
    if days is not None:
        for duty, n in session.execute(_ended_per_duty(duty_codes, code, by_department, days)):
            per_duty[duty] = per_duty.get(duty, 0) + int(n)
    carried = session.execute(duties.order_by(col(CatalogDuty.position)).limit(1000)).all()
    total_carried = int(session.execute(select(func.count()).select_from(duties.subquery())).scalar_one())
    active = len(per_duty)  # only duties the unit carries, each with at least one case
    case_count = sum(per_duty.values())
    case_ids = (select(col(ProcessInstance.id)).select_from(ProcessInstance)
                .outerjoin(CaseDeadline, col(CaseDeadline.instance_id) == col(ProcessInstance.id))
                .where(*in_scope).order_by(col(ProcessInstance.id)))
    notes = []
    if not total_carried:
        notes.append("本单位在清单中没有承担任何职责事项（职责空缺），计 0 分")
    idle = [f"{duty_code} {name}" for duty_code, name in carried if not per_duty.get(duty_code)]
    if idle:
        shown = "、".join(idle[:20]) + ("等" if len(idle) > 20 else "")
        notes.append(f"期间内没有办件的职责事项 {len(idle)} 项：{shown}")
    return IndicatorValue(
        formula=ROUTINE_WORK,
        value=Fraction(100 * active, total_carried) if total_carried else Fraction(0),
        figures={"duties": total_carried, "active_duties": active, "idle_duties": total_carried - active,
                 "cases": case_count},
        cases=_ids(session, case_ids, case_count, list_cases),
        details=[{"duty_code": duty_code, "duty_name": name, "cases": per_duty.get(duty_code, 0)}
                 for duty_code, name in carried[:200]],
        notes=notes,
    )


def self_inspection(session: Session, code: str, start: datetime, end: datetime, version_id: int | None,
                    by_department: bool = False, *, list_cases: bool = True) -> IndicatorValue:
    """自查整改 of one unit (or department) for [start, end) (module docstring)."""
    item = col(TimingEvent.detail)[("item", "value", "unit")].as_string()
    returns = col(TimingEvent.detail)[("item", "value", "returns")].as_integer()
    verdict = col(WorkTask.form_data)["verdict"].as_string()
    # Each check task with its one `task_ready` event (the item it is about).
    ready = and_(col(TimingEvent.task_id) == col(WorkTask.id), col(TimingEvent.kind) == "task_ready")
    every = (col(WorkTask.task_spec) == CHECK_STEP, col(WorkTask.status) == TASK_COMPLETED,
             col(WorkTask.completed_at) >= start, col(WorkTask.completed_at) < end,
             col(WorkTask.instance_id).in_(select(col(ProcessInstance.id))
                                           .where(col(ProcessInstance.process_id) == CAMPAIGN_PROCESS).scalar_subquery()),
             item.in_(_units_of(code, by_department, version_id)))
    first = (*every, returns == 0)

    def count(*where) -> int:
        return int(session.execute(select(func.count()).select_from(WorkTask).join(TimingEvent, ready)
                                   .where(*where)).scalar_one())

    def campaigns(*where) -> CaseList:
        total = int(session.execute(select(func.count(distinct(col(WorkTask.instance_id)))).select_from(WorkTask)
                                    .join(TimingEvent, ready).where(*where)).scalar_one())
        return _ids(session, select(col(WorkTask.instance_id)).select_from(WorkTask).join(TimingEvent, ready)
                    .where(*where).distinct().order_by(col(WorkTask.instance_id)), total, list_cases)

    checked = count(*first)
    passed = count(*first, verdict == "accept")
    sent_back = count(*every, verdict == "return")
    return IndicatorValue(
        formula=SELF_INSPECTION,
        value=Fraction(100 * passed, checked) if checked else Fraction(100),
        figures={"checked": checked, "passed_first_time": passed, "sent_back": sent_back},
        cases=campaigns(*every),
        breakdown={"sent_back": campaigns(*every, verdict == "return")},
        notes=[] if checked else ["期间内没有整改项经首次检查验收：计 100"],
    )


def compute(session: Session, formula: str, code: str, year: int, quarter: int | None, as_of: datetime,
            version_id: int | None, by_department: bool = False, *, list_cases: bool = True) -> IndicatorValue:
    """One objective indicator of a unit; `list_cases=False` (scoring) leaves the case lists empty."""
    start, end = period(year, quarter)
    if formula == EFFICIENCY:
        return efficiency(session, code, start, end, as_of, by_department, version_id, list_cases=list_cases)
    if formula == SELF_INSPECTION:
        return self_inspection(session, code, start, end, version_id, by_department, list_cases=list_cases)
    return routine_work(session, code, start, end, version_id, by_department, list_cases=list_cases)
