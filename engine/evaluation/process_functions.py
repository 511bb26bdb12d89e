"""Script functions of the evaluation processes (docs/evaluation.md, "考评流程"), registered with
the restricted script engine by `register_script_functions()` (engine.application.wire()). They
live here, not in engine.runtime.library, because they call this package's services, which sit
above the runtime (docs/architecture.md).

- evaluation_quarterly_report: `plan_quarter_report` (who reports, who reviews, the due date:
  10 days after the quarter ends), `note_report` (when, late or not), `enter_quarter_scores`
  (the efficiency office's scores into the year, service.enter_scores);
- evaluation_survey: `open_survey`, `tally_survey` (engine.evaluation.survey).
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from engine.auth import policy
from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id
from engine.errors import InvalidInput, NotFound
from engine.evaluation import scoring, service, survey
from engine.models.evaluation import (
    SCOPE_DEPARTMENT,
    SUBJECT_STAFF,
    SUBJECT_UNIT,
    YEAR_OPEN,
    EvaluationResult,
    EvaluationYear,
)
from engine.runtime.scripting import ScriptContext, current_script_context, register_script_function

BEIJING = ZoneInfo("Asia/Shanghai")
REPORT_DAYS_AFTER_QUARTER = 10


def _context() -> ScriptContext:
    context = current_script_context()
    if context is None:
        raise RuntimeError("process functions run only inside an engine step")
    return context


def _int(value: Any, field: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} 应为整数", [f"{field}: {value!r}"]) from None


def report_due(year: int, quarter: int) -> date:
    """The last day a quarter's report is due: 10 days after the quarter's last day."""
    last_month = 3 * quarter
    end = date(year, last_month, month_calendar.monthrange(year, last_month)[1])
    return end + timedelta(days=REPORT_DAYS_AFTER_QUARTER)


def _catalog_of(session: Session, year: EvaluationYear) -> int:
    """The catalog a year's tasks are routed by: the year's own version, which must be of the region
    whose catalog is in force. Tasks land at posts, and posts are held (inbox, heads) by the catalog
    in force; the same standard codes (民政局 MZ) name other departments and other people in another
    region, so a year of another region must not route its reports and talks here."""
    in_force = catalog_version_id(session)
    if in_force is None:
        raise InvalidInput("尚无权责清单，无法确定报告和谈话岗位", ["catalog: 请先发布权责清单"])
    version_id = year.catalog_version_id or in_force
    if not policy.of_region_in_force(session, version_id):
        raise InvalidInput(f"{year.scope_name} {year.year} 年度考评依据的是另一区划的权责清单，不能在本区划派发任务",
                           ["year_id: 考评年度的清单不属于现行清单的区划"])
    return version_id


def plan_quarter_report(year_id: Any, unit: Any, quarter: Any, report_post: Any = None) -> dict[str, Any]:
    """The unit's quarterly 工作考核 report: who writes it (the given post of the unit, else its first
    post that is not a head post), who reviews it (the unit's head, else the department's head,
    never the reporting post) and when it is due."""
    session = _context().session
    year = service.get_year(session, _int(year_id, "year_id"))
    if year.status != YEAR_OPEN or year.scope_kind != SCOPE_DEPARTMENT:
        raise InvalidInput(f"{year.scope_name} {year.year} 年度考评不是进行中的部门考评",
                           [f"year_id: 状态 {year.status}，需要 open（部门考评）"])
    number = _int(quarter, "quarter")
    if number not in (1, 2, 3, 4):
        raise InvalidInput("季度应为 1–4", [f"quarter: {quarter!r}"])
    code = str(unit or "").strip()
    if code not in {s.code for s in service.subjects(session, year.id, SUBJECT_UNIT)}:
        raise InvalidInput(f"本年度考评中没有单位 {code}", [f"unit: {code!r}"])
    version_id = _catalog_of(session, year)
    posts = catalog.resolve_posts(session, version_id, code)  # the unit's posts, in order
    heads = set(policy.unit_head_posts(session, code))
    if report_post:
        reporter = str(report_post).strip()
        if reporter not in posts:
            raise InvalidInput(f"岗位 {reporter} 不属于单位 {code}", [f"report_post: 应为 {'、'.join(posts)} 之一"])
    else:
        plain = [p for p in posts if p not in heads] or posts
        if not plain:
            raise InvalidInput(f"单位 {code} 没有岗位", [f"unit: {code}"])
        reporter = plain[0]
    reviewers = policy.escalation_posts(session, code, year.scope_code, exclude={reporter})
    if not reviewers:
        raise InvalidInput(f"单位 {code} 没有可以审核季度报告的负责人岗位",
                           ["catalog: 请在清单中标明科室负责人岗（head）或部门负责人岗位（head_post）"])
    return {"year": year.year, "unit": code, "quarter": number, "report_post": reporter, "review_post": reviewers[0],
            "due": report_due(year.year, number).isoformat()}


def note_report(due: str) -> dict[str, Any]:
    """When the report was handed in and whether after its due day (Beijing calendar)."""
    context = _context()
    now = context.clock.now()
    day = now.astimezone(BEIJING).date()
    return {"by": getattr(context.actor, "username", None), "at": now.isoformat(),
            "late": day > date.fromisoformat(str(due))}


def enter_quarter_scores(year_id: Any, unit: Any, quarter: Any, key_score: Any, other_score: Any,
                         routine_score: Any = None, note: Any = None) -> dict[str, Any]:
    """The scores of the quarter's subjective leaves (FUNC.Qn.KEY, FUNC.Qn.OTHER, and FUNC.Qn.ROUTINE
    when the year scores 常规工作 by hand) entered into the year by the acting efficiency office."""
    context = _context()
    number = _int(quarter, "quarter")
    given = {"KEY": key_score, "OTHER": other_score, "ROUTINE": routine_score}
    text = str(note).strip()[:1000] if note else None
    entries = [service.ScoreEntry(SUBJECT_UNIT, str(unit), f"FUNC.Q{number}.{part}", value, text)
               for part, value in given.items() if value is not None and value != ""]
    saved = service.enter_scores(context.session, context.actor, _int(year_id, "year_id"), entries, context.clock.now())
    return {"saved": saved, "indicators": [e.indicator for e in entries]}


def open_survey(year_id: Any, subject: Any, leaders: Any, leader_indicator: Any, staff_indicator: Any) -> int:
    context = _context()
    row = survey.open_survey(context.session, context.actor, _int(year_id, "year_id"), str(subject), leaders,
                             str(leader_indicator), str(staff_indicator), context.clock.now(),
                             getattr(context.instance, "id", None))
    return row.id


def tally_survey(survey_id: Any) -> dict[str, Any]:
    context = _context()
    try:
        return survey.tally(context.session, context.actor, _int(survey_id, "survey_id"), context.clock.now())
    except NotFound as exc:  # the process's own survey is gone: a broken instance, not user input
        raise RuntimeError(exc.message) from None


def plan_admonition(year_id: Any, subject: Any, code: Any) -> dict[str, Any]:
    """诫勉整改: who writes the report (a 诫勉 unit's head post, else its first post; a 诫勉
    person's own post) and who holds the 诫勉谈话 (the department's head post, never the
    reporting post). Only a 诫勉 result of a published year opens one."""
    session = _context().session
    year = service.get_year(session, _int(year_id, "year_id"))
    if str(subject) not in (SUBJECT_UNIT, SUBJECT_STAFF):
        raise InvalidInput("诫勉对象应为单位或个人", [f"subject: 应为 {SUBJECT_UNIT}（单位）或 {SUBJECT_STAFF}（个人）"])
    result = session.execute(select(EvaluationResult).where(
        col(EvaluationResult.year_id) == year.id, col(EvaluationResult.subject) == str(subject),
        col(EvaluationResult.subject_code) == str(code))).scalar_one_or_none()
    if result is None or result.grade != scoring.WARNING:
        raise InvalidInput(f"{year.scope_name} {year.year} 年度考评中 {code} 不是诫勉", [f"code: {code}"])
    version_id = _catalog_of(session, year)
    if str(subject) == SUBJECT_UNIT:
        heads = policy.unit_head_posts(session, str(code))
        report_post = heads[0] if heads else next(iter(catalog.head_posts(session, version_id, str(code))), None)
    else:
        report_post = next(iter(catalog.posts_of_staff(session, version_id, str(code))), None)
    leader_post = policy.department_head_post(session, year.scope_code)
    if not report_post:
        raise InvalidInput(f"{code} 没有在岗岗位，无法提交书面报告", [f"code: {code} 在清单中没有岗位"])
    if not leader_post or leader_post == report_post:
        raise InvalidInput(f"{year.scope_name}没有可进行诫勉谈话的部门负责人岗位",
                           ["departments.head_post: 请在清单中为部门指定负责人岗位（不能是诫勉对象本人的岗位）"])
    return {"report_post": report_post, "leader_post": leader_post, "grade": result.grade}


def record_admonition(year_id: Any, subject: Any, code: Any, talk_date: Any) -> dict[str, Any]:
    """The 诫勉谈话 was held: what the instance keeps as the record (its timeline names who did it)."""
    context = _context()
    actor = context.actor
    return {"year_id": _int(year_id, "year_id"), "subject": str(subject), "code": str(code),
            "talk_date": str(talk_date), "talked_by": getattr(actor, "display_name", None) or getattr(actor, "username", None)}


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "plan_admonition": plan_admonition,
    "record_admonition": record_admonition,
    "plan_quarter_report": plan_quarter_report,
    "note_report": note_report,
    "enter_quarter_scores": enter_quarter_scores,
    "open_survey": open_survey,
    "tally_survey": tally_survey,
}


def register_script_functions() -> None:
    for name, fn in FUNCTIONS.items():
        register_script_function(name, fn)

