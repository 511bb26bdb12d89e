"""绩效考评 commands and queries: years, indicator trees, plans, scores, sanctions, results.

Who may: engine.auth.policy (`read_evaluation`, `manage_evaluation`, `enter_evaluation_scores`;
docs/permissions.md). State rules, answered 409 after the policy said yes:
- the trees change only while the year is a draft (`draft`); `open_year` freezes them;
- scores are entered, and results computed, while the year is open;
- publishing needs results computed after the last score entered, and closes the year.

A department's year evaluates its 内设机构 (units) and the holders of their posts (staff, each in
the unit of their first post); a region's year evaluates the region's departments as units and no
staff. Both are taken from the catalog version in force when the year is created and kept.

`sanctions_for` is the one place the downgrade rules' input is read: the `evaluation_sanction`
rows the efficiency office records, and the decisions of the accountability ledger
(`accountability_action`, docs/accountability.md) that count as 处分.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from engine import audit
from engine.auth import policy
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.catalog.in_force import catalog_version_id
from engine.catalog.service import current_version
from engine.clock import ControlledClock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.evaluation import indicators, scheme, scoring
from engine.models.accountability import AccountabilityAction
from engine.models.catalog import CatalogDepartment, CatalogPost, CatalogPostHolder, CatalogStaff, CatalogUnit
from engine.models.evaluation import (
    COMPUTED,
    ENTERED,
    MAJOR_ACCIDENT,
    OBJECTIVE,
    PUNISHED,
    SCOPE_DEPARTMENT,
    SCOPE_REGION,
    SUBJECT_STAFF,
    SUBJECT_UNIT,
    SUBJECTS,
    YEAR_CLOSED,
    YEAR_DRAFT,
    YEAR_OPEN,
    EvaluationIndicator,
    EvaluationPlan,
    EvaluationResult,
    EvaluationSanction,
    EvaluationScore,
    EvaluationSubject,
    EvaluationYear,
)
from engine.runtime.definitions import latest_definition
from engine.runtime.instance_service import start_instance

STATUS_NAMES = {YEAR_DRAFT: "草稿（可调整指标）", YEAR_OPEN: "进行中（录入评分）", YEAR_CLOSED: "已发布"}
SANCTION_NAMES = {PUNISHED: "因违纪违法受到处分", MAJOR_ACCIDENT: "发生造成严重影响的重大事故"}
SANCTION_SUBJECTS = {PUNISHED: SUBJECT_STAFF, MAJOR_ACCIDENT: SUBJECT_UNIT}
MAX_SCORES_PER_CALL = 5000
MAX_PLAN_CHARS = 20000
# PostgreSQL text cannot hold NUL (a 422 there) and SQLite would keep a note no page can show:
# refused on both, naming the field.
NUL = "\x00"


# ---------------------------------------------------------------- years


def get_year(session: Session, year_id: int) -> EvaluationYear:
    year = session.get(EvaluationYear, year_id)
    if year is None:
        raise NotFound(f"考评年度 {year_id} 不存在", [f"year_id: {year_id}"])
    return year


def list_years(session: Session, actor: Actor) -> list[EvaluationYear]:
    policy.require(actor, Action.READ_EVALUATION)
    return list(session.scalars(select(EvaluationYear).order_by(col(EvaluationYear.year).desc(), col(EvaluationYear.id))))


def create_year(session: Session, actor: Actor, year: int, now: datetime, *, department: str | None = None,
                region: str | None = None) -> EvaluationYear:
    """A draft year with the default scheme, its units and staff taken from the catalog in force."""
    policy.require(actor, Action.MANAGE_EVALUATION)
    if not 2000 <= year <= 2100:
        raise InvalidInput(f"考评年度 {year} 无效", ["year: 应为 2000–2100 之间的年份"])
    if bool(department) == bool(region):
        raise InvalidInput("请指定一个部门或一个区划（二选一）", ["department / region: 只能给出一个"])
    if department:
        version_id = catalog_version_id(session)
        name = session.scalars(select(col(CatalogDepartment.name)).where(
            col(CatalogDepartment.version_id) == version_id, col(CatalogDepartment.code) == department)).first()
        if version_id is None or name is None:
            raise NotFound(f"现行清单中没有部门 {department}", [f"department: {department}"])
        scope_kind, scope_code = SCOPE_DEPARTMENT, department
    else:
        assert region is not None
        version = current_version(session, region)
        if version is None:
            raise NotFound(f"区划 {region} 没有清单版本", [f"region: {region}"])
        version_id, name, scope_kind, scope_code = version.id, region, SCOPE_REGION, region
    exists = session.scalars(select(EvaluationYear).where(
        col(EvaluationYear.scope_kind) == scope_kind, col(EvaluationYear.scope_code) == scope_code,
        col(EvaluationYear.year) == year)).first()
    if exists is not None:
        raise Conflict(f"{name} {year} 年度的考评已经存在（编号 {exists.id}）", [f"year: {year}"])
    row = EvaluationYear(scope_kind=scope_kind, scope_code=scope_code, scope_name=name, year=year,
                         catalog_version_id=version_id, created_by=actor.username, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, "evaluation_year", row.id)
    _add_subjects(session, row, version_id)
    for subject in SUBJECTS:
        _store_tree(session, row.id, subject, scheme.default_tree(subject))
    return row


def _add_subjects(session: Session, year: EvaluationYear, version_id: int | None) -> None:
    if year.scope_kind == SCOPE_REGION:
        departments = session.execute(select(col(CatalogDepartment.code), col(CatalogDepartment.name)).where(
            col(CatalogDepartment.version_id) == version_id).order_by(col(CatalogDepartment.position))).all()
        session.add_all([EvaluationSubject(year_id=year.id, subject=SUBJECT_UNIT, position=i, code=code, name=name)
                         for i, (code, name) in enumerate(departments)])
        return
    units = session.execute(
        select(col(CatalogUnit.code), col(CatalogUnit.name))
        .join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogUnit.department_id))
        .where(col(CatalogUnit.version_id) == version_id, col(CatalogDepartment.code) == year.scope_code)
        .order_by(col(CatalogUnit.position))).all()
    session.add_all([EvaluationSubject(year_id=year.id, subject=SUBJECT_UNIT, position=i, code=code, name=name)
                     for i, (code, name) in enumerate(units)])
    holders = session.execute(
        select(col(CatalogStaff.staff_id), col(CatalogStaff.name), col(CatalogUnit.code))
        .join(CatalogPostHolder, col(CatalogPostHolder.staff_pk) == col(CatalogStaff.id))
        .join(CatalogPost, col(CatalogPost.id) == col(CatalogPostHolder.post_id))
        .join(CatalogUnit, col(CatalogUnit.id) == col(CatalogPost.unit_id))
        .join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogUnit.department_id))
        .where(col(CatalogStaff.version_id) == version_id, col(CatalogDepartment.code) == year.scope_code)
        .order_by(col(CatalogUnit.position), col(CatalogPost.position), col(CatalogPostHolder.position))).all()
    seen: set[str] = set()
    for staff_id, name, unit_code in holders:
        if staff_id not in seen:
            seen.add(staff_id)
            session.add(EvaluationSubject(year_id=year.id, subject=SUBJECT_STAFF, position=len(seen), code=staff_id,
                                          name=name, unit_code=unit_code))


def _require_status(year: EvaluationYear, status: str, doing: str) -> None:
    if year.status != status:
        raise Conflict(f"{year.scope_name} {year.year} 年度考评{STATUS_NAMES[year.status]}，不能{doing}",
                       [f"status: {year.status}，需要 {status}"])


def open_year(session: Session, actor: Actor, year_id: int, now: datetime) -> EvaluationYear:
    """Start the year: the trees are frozen, scores may be entered."""
    policy.require(actor, Action.MANAGE_EVALUATION)
    year = get_year(session, year_id)
    _require_status(year, YEAR_DRAFT, "开始考评")
    year.status, year.opened_at = YEAR_OPEN, now
    audit.record(session, "evaluation_year", year.id)
    return year


# ---------------------------------------------------------------- trees and subjects


def tree(session: Session, year_id: int, subject: str) -> tuple[scheme.Node, ...]:
    rows = session.scalars(select(EvaluationIndicator).where(
        col(EvaluationIndicator.year_id) == year_id, col(EvaluationIndicator.subject) == subject))
    return scheme.tree_from_rows(rows)


def _store_tree(session: Session, year_id: int, subject: str, nodes: Sequence[scheme.Node]) -> None:
    scheme.validate_tree(nodes, subject)
    session.execute(delete(EvaluationIndicator).where(col(EvaluationIndicator.year_id) == year_id,
                                                      col(EvaluationIndicator.subject) == subject))
    session.add_all([EvaluationIndicator(year_id=year_id, subject=subject, **row) for row in scheme.tree_rows(nodes)])
    session.flush()


def _check_subject_kind(subject: str) -> None:
    if subject not in SUBJECTS:
        raise InvalidInput(f"考评对象类型应为 unit（单位）或 staff（个人），而不是 {subject!r}", [f"subject: {subject}"])


def replace_tree(session: Session, actor: Actor, year_id: int, subject: str, items: Any) -> tuple[scheme.Node, ...]:
    """Adjust a tree (weights, sub-indicators) while the year is a draft; refused (422) unless every
    level sums to 100 %."""
    policy.require(actor, Action.MANAGE_EVALUATION)
    _check_subject_kind(subject)
    year = get_year(session, year_id)
    _require_status(year, YEAR_DRAFT, "调整指标体系（只能在考评开始前调整）")
    nodes = scheme.tree_from_json(items)
    _store_tree(session, year_id, subject, nodes)
    return nodes


def subjects(session: Session, year_id: int, subject: str | None = None) -> list[EvaluationSubject]:
    query = select(EvaluationSubject).where(col(EvaluationSubject.year_id) == year_id)
    if subject:
        query = query.where(col(EvaluationSubject.subject) == subject)
    return list(session.scalars(query.order_by(col(EvaluationSubject.subject).desc(), col(EvaluationSubject.position))))


def _subject(session: Session, year_id: int, subject: str, code: str) -> EvaluationSubject:
    found = session.scalars(select(EvaluationSubject).where(
        col(EvaluationSubject.year_id) == year_id, col(EvaluationSubject.subject) == subject,
        col(EvaluationSubject.code) == code)).first()
    if found is None:
        what = "单位" if subject == SUBJECT_UNIT else "人员"
        raise NotFound(f"本年度考评中没有{what} {code}", [f"{subject}: {code}"])
    return found


# ---------------------------------------------------------------- plans and sanctions


def save_plan(session: Session, actor: Actor, year_id: int, unit_code: str, text: str, now: datetime) -> EvaluationPlan:
    """A unit's 目标计划书 for the year (replaced when saved again), before the year is closed."""
    policy.require(actor, Action.MANAGE_EVALUATION)
    year = get_year(session, year_id)
    if year.status == YEAR_CLOSED:
        _require_status(year, YEAR_OPEN, "修改目标计划书")
    _subject(session, year_id, SUBJECT_UNIT, unit_code)
    if not text.strip() or len(text) > MAX_PLAN_CHARS:
        raise InvalidInput("目标计划书不能为空，且不超过 20000 字", [f"text: {len(text)} 字"])
    if NUL in text:
        raise InvalidInput("目标计划书不能含空字符（NUL）", ["text: 含空字符"])
    plan = session.scalars(select(EvaluationPlan).where(col(EvaluationPlan.year_id) == year_id,
                                                        col(EvaluationPlan.unit_code) == unit_code)).first()
    if plan is None:
        plan = EvaluationPlan(year_id=year_id, unit_code=unit_code, text=text, submitted_by=actor.username,
                              submitted_at=now)
        session.add(plan)
    else:
        plan.text, plan.submitted_by, plan.submitted_at = text, actor.username, now
    session.flush()
    return plan


def record_sanction(session: Session, actor: Actor, year_id: int, kind: str, code: str, reason: str,
                    now: datetime) -> EvaluationSanction:
    """A fact the downgrade rules read: `punished` (a person) or `major_accident` (a unit)."""
    policy.require(actor, Action.MANAGE_EVALUATION)
    year = get_year(session, year_id)
    if year.status == YEAR_CLOSED:
        _require_status(year, YEAR_OPEN, "登记处分或事故")
    if kind not in SANCTION_SUBJECTS:
        raise InvalidInput(f"未知的类型 {kind!r}", ["kind: punished（人员受处分）或 major_accident（单位重大事故）"])
    if not reason.strip() or len(reason) > 1000:
        raise InvalidInput("请写明事由（不超过 1000 字）", ["reason: 必填"])
    if NUL in reason:
        raise InvalidInput("事由不能含空字符（NUL）", ["reason: 含空字符"])
    subject = SANCTION_SUBJECTS[kind]
    _subject(session, year_id, subject, code)
    row = EvaluationSanction(year_id=year_id, subject=subject, subject_code=code, kind=kind, reason=reason.strip(),
                             recorded_by=actor.username, recorded_at=now)
    session.add(row)
    session.flush()
    audit.record(session, "evaluation_sanction", row.id)
    return row


def sanctions_for(session: Session, year_id: int) -> scoring.Sanctions:
    """The downgrade rules' input for a year (see the module docstring)."""
    punished: dict[str, list[str]] = {}
    accidents: dict[str, list[str]] = {}
    rows = session.execute(select(col(EvaluationSanction.kind), col(EvaluationSanction.subject_code),
                                  col(EvaluationSanction.reason))
                           .where(col(EvaluationSanction.year_id) == year_id).order_by(col(EvaluationSanction.id)))
    for kind, code, reason in rows:
        (punished if kind == PUNISHED else accidents).setdefault(code, []).append(reason)
    # The accountability ledger (docs/accountability.md): a sanction that counts as 处分, decided in
    # the year's calendar year, of a person evaluated in the year.
    year_number = session.scalar(select(col(EvaluationYear.year)).where(col(EvaluationYear.id) == year_id))
    ledger = session.execute(
        select(col(AccountabilityAction.id), col(AccountabilityAction.staff_id), col(AccountabilityAction.grounds))
        .join(EvaluationSubject, (col(EvaluationSubject.year_id) == year_id)
              & (col(EvaluationSubject.subject) == SUBJECT_STAFF)
              & (col(EvaluationSubject.code) == col(AccountabilityAction.staff_id)))
        .where(col(AccountabilityAction.counts_for_evaluation).is_(True), col(AccountabilityAction.year) == year_number)
        .order_by(col(AccountabilityAction.id)))
    for action_id, code, grounds in ledger:
        punished.setdefault(code, []).append(f"问责台账第 {action_id} 号：{grounds}")
    return scoring.Sanctions(punished=punished, major_accidents=accidents)


# ---------------------------------------------------------------- scores


@dataclass(frozen=True)
class ScoreEntry:
    subject: str  # unit / staff
    code: str  # unit code / staff id
    indicator: str  # leaf code
    value: Any  # 0-100, at most two decimals
    note: str | None = None


def parse_score(value: Any, where: str) -> Fraction:
    """0–100 with at most two decimals → an exact fraction. An exact `Fraction` from the engine
    (a survey's average, engine.evaluation.survey) is taken as it is, within 0–100."""
    if isinstance(value, Fraction):
        if not 0 <= value <= 100:
            raise InvalidInput("分数应为 0–100 的数", [f"{where}: {value}"])
        return value
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput("分数应为 0–100 的数，最多两位小数", [f"{where}: {value!r} 不是 0–100 的数（最多两位小数）"]) from None
    # The range first: quantize raises InvalidOperation (a 500) on a number like 1e400.
    if isinstance(value, bool) or not number.is_finite() or not 0 <= number <= 100 \
            or number != number.quantize(Decimal("0.01")):
        raise InvalidInput("分数应为 0–100 的数，最多两位小数", [f"{where}: {value!r} 不是 0–100 的数（最多两位小数）"])
    return Fraction(number)


def enter_scores(session: Session, actor: Actor, year_id: int, entries: Sequence[ScoreEntry], now: datetime) -> int:
    """Enter (or replace) scores of subjective leaves; every problem is listed and nothing is saved
    when there is one. Objective leaves are computed, never typed."""
    policy.require(actor, Action.ENTER_EVALUATION_SCORES)
    year = get_year(session, year_id)
    _require_status(year, YEAR_OPEN, "录入评分（须先开始考评）")
    if not entries or len(entries) > MAX_SCORES_PER_CALL:
        raise InvalidInput(f"一次录入 1–{MAX_SCORES_PER_CALL} 个评分", [f"scores: {len(entries)} 个"])
    trees = {subject: dict((node.code, (node, path)) for node, path in scheme.leaves(tree(session, year_id, subject)))
             for subject in SUBJECTS}
    known = {(s.subject, s.code) for s in subjects(session, year_id)}
    problems: list[str] = []
    parsed: list[tuple[ScoreEntry, Fraction, int | None]] = []
    for i, entry in enumerate(entries):
        where = f"scores[{i}]"
        if entry.subject not in SUBJECTS:
            problems.append(f"{where}.subject: 应为 unit 或 staff，而不是 {entry.subject!r}")
            continue
        if (entry.subject, entry.code) not in known:
            problems.append(f"{where}.code: 本年度考评中没有{'单位' if entry.subject == SUBJECT_UNIT else '人员'} {entry.code}")
        leaf = trees[entry.subject].get(entry.indicator)
        if leaf is None:
            problems.append(f"{where}.indicator: {entry.indicator} 不是{scheme.SUBJECT_NAMES[entry.subject]}指标体系的末级指标")
        elif leaf[0].kind == OBJECTIVE:
            problems.append(f"{where}.indicator: 「{scheme.path_name(*leaf)}」是客观指标，由系统根据办件记录计算，不能录入")
        try:
            value = parse_score(entry.value, f"{where}.value")
        except InvalidInput as exc:
            problems.extend(exc.problems)
            continue
        if entry.note is not None and len(entry.note) > 1000:
            problems.append(f"{where}.note: 不超过 1000 字")
        elif entry.note is not None and NUL in entry.note:
            problems.append(f"{where}.note: 不能含空字符（NUL）")
        if leaf is not None:
            parsed.append((entry, value, scheme.quarter_of(*leaf)))
    if problems:
        raise InvalidInput(f"评分有 {len(problems)} 处问题，均未保存", problems)
    rows = [_put_score(session, year_id, entry.subject, entry.code, entry.indicator, quarter, value, ENTERED,
                       actor.username, now, entry.note) for entry, value, quarter in parsed]
    session.flush()
    for row in rows:
        audit.record(session, "evaluation_score", row.id)
    return len(parsed)


def _put_score(session: Session, year_id: int, subject: str, code: str, indicator: str, quarter: int | None,
               value: Fraction, source: str, by: str, now: datetime, note: str | None = None) -> EvaluationScore:
    row = session.scalars(select(EvaluationScore).where(
        col(EvaluationScore.year_id) == year_id, col(EvaluationScore.subject) == subject,
        col(EvaluationScore.subject_code) == code, col(EvaluationScore.indicator_code) == indicator)).first()
    if row is None:
        row = EvaluationScore(year_id=year_id, subject=subject, subject_code=code, indicator_code=indicator,
                              quarter=quarter, value_num=0, value_den=1, entered_by=by, entered_at=now)
        session.add(row)
    row.value_num, row.value_den = value.numerator, value.denominator
    row.source, row.entered_by, row.entered_at, row.note = source, by, now, note
    return row


def scores(session: Session, year_id: int, subject: str) -> dict[str, dict[str, Fraction]]:
    """subject code → {leaf code: value}."""
    found: dict[str, dict[str, Fraction]] = {}
    rows = session.execute(select(col(EvaluationScore.subject_code), col(EvaluationScore.indicator_code),
                                  col(EvaluationScore.value_num), col(EvaluationScore.value_den))
                           .where(col(EvaluationScore.year_id) == year_id, col(EvaluationScore.subject) == subject))
    for code, indicator, num, den in rows:
        found.setdefault(code, {})[indicator] = Fraction(num, den)
    return found


def score_rows(session: Session, year_id: int) -> dict[tuple[str, str, str], EvaluationScore]:
    """(subject, subject code, leaf code) → the stored score with who entered it, when and its note:
    what the entry form on the year's page shows next to each leaf (one year: subjects × leaves)."""
    rows = session.scalars(select(EvaluationScore).where(col(EvaluationScore.year_id) == year_id))
    return {(row.subject, row.subject_code, row.indicator_code): row for row in rows}


# ---------------------------------------------------------------- objective indicators


def objective_values(session: Session, year: EvaluationYear, unit_code: str, as_of: datetime, *,
                     list_cases: bool = True) -> list[tuple[scheme.Node, tuple[scheme.Node, ...], indicators.IndicatorValue]]:
    """Every objective leaf of the unit tree, computed for one unit; with the cases behind each
    figure, or only the counts (`list_cases=False`: scoring, which keeps values and notes)."""
    by_department = year.scope_kind == SCOPE_REGION
    found = []
    for node, path in scheme.leaves(tree(session, year.id, SUBJECT_UNIT)):
        if node.kind == OBJECTIVE and node.formula:
            value = indicators.compute(session, node.formula, unit_code, year.year, scheme.quarter_of(node, path),
                                       as_of, year.catalog_version_id, by_department, list_cases=list_cases)
            found.append((node, path, value))
    return found


def indicator_report(session: Session, actor: Actor, year_id: int, unit_code: str, as_of: datetime) -> list[dict[str, Any]]:
    policy.require(actor, Action.READ_EVALUATION)
    year = get_year(session, year_id)
    _subject(session, year_id, SUBJECT_UNIT, unit_code)
    return [indicator_to_json(node, path, value) for node, path, value in objective_values(session, year, unit_code, as_of)]


def indicator_to_json(node: scheme.Node, path: Sequence[scheme.Node], value: indicators.IndicatorValue) -> dict[str, Any]:
    return {
        "indicator": node.code, "name": scheme.path_name(node, path), "formula": value.formula,
        "formula_name": indicators.FORMULAS[value.formula], "formula_text": value.formula_text,
        "value": scoring.display(value.value), "value_exact": str(value.value), "figures": value.figures,
        "cases": value.cases.to_json(), "breakdown": {k: v.to_json() for k, v in value.breakdown.items()},
        "details": value.details, "notes": value.notes,
    }


# ---------------------------------------------------------------- results


def compute_results(session: Session, actor: Actor, year_id: int, now: datetime) -> scoring.Decision:
    """Refresh the objective scores, then total, grade and decide; the results replace the last ones."""
    policy.require(actor, Action.MANAGE_EVALUATION)
    year = get_year(session, year_id)
    _require_status(year, YEAR_OPEN, "计算结果")
    people = subjects(session, year_id)
    computed = []
    for unit in (s for s in people if s.subject == SUBJECT_UNIT):
        for node, path, value in objective_values(session, year, unit.code, now, list_cases=False):
            computed.append(_put_score(session, year_id, SUBJECT_UNIT, unit.code, node.code,
                                       scheme.quarter_of(node, path), value.value, COMPUTED, "system", now,
                                       "；".join(value.notes) or None))
    session.flush()
    for row in computed:
        audit.record(session, "evaluation_score", row.id)
    scored: dict[str, list[scoring.Scored]] = {SUBJECT_UNIT: [], SUBJECT_STAFF: []}
    missing: list[str] = []
    for subject in SUBJECTS:
        nodes = tree(session, year_id, subject)
        names = {node.code: scheme.path_name(node, path) for node, path in scheme.walk(nodes)}
        given = scores(session, year_id, subject)
        for person in (s for s in people if s.subject == subject):
            try:
                score = scoring.total(nodes, given.get(person.code, {}))
            except scoring.MissingScores as exc:
                missing += [f"{person.name}：{names[node.code]}" for node in exc.missing]
                continue
            scored[subject].append(scoring.Scored(person.code, person.name, score, person.unit_code, person.in_post))
    if missing:
        raise Conflict(f"尚有 {len(missing)} 项未评分，不能计算结果", missing[:200])
    decision = scoring.decide(scored[SUBJECT_UNIT], scored[SUBJECT_STAFF], sanctions_for(session, year_id))
    audit.record_removed(session, "evaluation_result", session.scalars(
        select(col(EvaluationResult.id)).where(col(EvaluationResult.year_id) == year_id)))
    session.execute(delete(EvaluationResult).where(col(EvaluationResult.year_id) == year_id))
    for subject, outcomes in ((SUBJECT_UNIT, decision.units), (SUBJECT_STAFF, decision.staff)):
        session.add_all([EvaluationResult(
            year_id=year_id, subject=subject, subject_code=o.code, total_num=o.total.numerator,
            total_den=o.total.denominator, total_display=o.total_display, grade_by_score=o.grade_by_score,
            grade=o.grade, reasons=o.reasons, key_rectification=o.key_rectification, advanced=o.advanced,
            rank=o.rank, computed_at=now) for o in outcomes])
    year.computed_at = now
    session.flush()
    for row_id in session.scalars(select(col(EvaluationResult.id)).where(col(EvaluationResult.year_id) == year_id)
                                  .order_by(col(EvaluationResult.id))):
        audit.record(session, "evaluation_result", row_id)
    audit.record(session, "evaluation_year", year.id)
    return decision


def publish(session: Session, actor: Actor, year_id: int, now: datetime) -> EvaluationYear:
    """Publish the grades and close the year; the results must be newer than every score."""
    policy.require(actor, Action.MANAGE_EVALUATION)
    year = get_year(session, year_id)
    _require_status(year, YEAR_OPEN, "发布结果")
    last_entry = session.execute(select(func.max(col(EvaluationScore.entered_at))).where(
        col(EvaluationScore.year_id) == year_id, col(EvaluationScore.source) == ENTERED)).scalar()
    last_sanction = session.execute(select(func.max(col(EvaluationSanction.recorded_at))).where(
        col(EvaluationSanction.year_id) == year_id)).scalar()
    last_ledger = session.execute(select(func.max(col(AccountabilityAction.decided_at))).where(
        col(AccountabilityAction.year) == year.year, col(AccountabilityAction.counts_for_evaluation).is_(True))).scalar()
    if year.computed_at is None:
        raise Conflict("尚未计算结果，不能发布", ["请先计算结果（compute）"])
    changed = [moment for moment in (last_entry, last_sanction, last_ledger) if moment is not None and moment > year.computed_at]
    if changed:
        raise Conflict("结果计算之后评分或处分记录有变动，请重新计算后再发布", ["请重新计算结果（compute）"])
    year.status, year.published_by, year.published_at = YEAR_CLOSED, actor.username, now
    audit.record(session, "evaluation_year", year.id)
    open_admonitions(session, actor, year, now)
    return year


ADMONITION_PROCESS = "evaluation_admonition"


def open_admonitions(session: Session, actor: Actor, year: EvaluationYear, now: datetime) -> int:
    """A 诫勉 unit or person submits a written report and receives a 诫勉谈话 (the scheme's use of
    results): one `evaluation_admonition` case each, started as the year is published. Nothing
    is started where the process is not deployed (a database without the shipped processes)."""
    try:
        latest_definition(session, ADMONITION_PROCESS)
    except NotFound:
        return 0
    admonished = session.scalars(select(EvaluationResult).where(
        col(EvaluationResult.year_id) == year.id, col(EvaluationResult.grade) == scoring.WARNING)
        .order_by(col(EvaluationResult.subject).desc(), col(EvaluationResult.rank))).all()
    for result in admonished:
        start_instance(session, ControlledClock(now), ADMONITION_PROCESS,
                       {"year_id": year.id, "subject": result.subject, "code": result.subject_code}, actor)
    return len(admonished)


def results(session: Session, actor: Actor, year_id: int) -> dict[str, Any]:
    """The stored results with names, in rank order."""
    policy.require(actor, Action.READ_EVALUATION)
    year = get_year(session, year_id)
    names = {(s.subject, s.code): s for s in subjects(session, year_id)}
    rows = session.scalars(select(EvaluationResult).where(col(EvaluationResult.year_id) == year_id)
                           .order_by(col(EvaluationResult.subject).desc(), col(EvaluationResult.rank)))
    body: dict[str, Any] = {"year": year_to_json(year), "units": [], "staff": [],
                            "advanced_cap": scoring.advanced_cap(sum(1 for k in names if k[0] == SUBJECT_UNIT))}
    for row in rows:
        who = names.get((row.subject, row.subject_code))
        unit = names.get((SUBJECT_UNIT, who.unit_code)) if who is not None and who.unit_code else None
        item = {"code": row.subject_code, "name": who.name if who else row.subject_code,
                "total": row.total_display, "total_exact": str(Fraction(row.total_num, row.total_den)),
                "grade_by_score": row.grade_by_score, "grade": row.grade, "reasons": row.reasons, "rank": row.rank}
        if row.subject == SUBJECT_UNIT:
            item |= {"advanced": row.advanced, "key_rectification": row.key_rectification}
            body["units"].append(item)
        else:
            item |= {"unit_code": who.unit_code if who else None, "unit_name": unit.name if unit else None,
                     "excellent_candidate": row.advanced}
            body["staff"].append(item)
    return body


# ---------------------------------------------------------------- views


def year_to_json(year: EvaluationYear) -> dict[str, Any]:
    return {"id": year.id, "scope_kind": year.scope_kind, "scope_code": year.scope_code,
            "scope_name": year.scope_name, "year": year.year, "status": year.status,
            "status_name": STATUS_NAMES[year.status], "created_by": year.created_by,
            "created_at": year.created_at.isoformat(), "opened_at": _iso(year.opened_at),
            "computed_at": _iso(year.computed_at), "published_at": _iso(year.published_at),
            "published_by": year.published_by}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def year_detail(session: Session, actor: Actor, year_id: int) -> dict[str, Any]:
    """The year, both trees, who is evaluated, plans and sanctions."""
    policy.require(actor, Action.READ_EVALUATION)
    year = get_year(session, year_id)
    people = subjects(session, year_id)
    unit_names = {s.code: s.name for s in people if s.subject == SUBJECT_UNIT}
    plans = session.scalars(select(EvaluationPlan).where(col(EvaluationPlan.year_id) == year_id)
                            .order_by(col(EvaluationPlan.unit_code)))
    sanctions = session.scalars(select(EvaluationSanction).where(col(EvaluationSanction.year_id) == year_id)
                                .order_by(col(EvaluationSanction.id)))
    names = {(s.subject, s.code): s.name for s in people}
    return {
        "year": year_to_json(year),
        "trees": {subject: scheme.tree_to_json(tree(session, year_id, subject)) for subject in SUBJECTS},
        "units": [{"code": s.code, "name": s.name} for s in people if s.subject == SUBJECT_UNIT],
        "staff": [{"code": s.code, "name": s.name, "unit_code": s.unit_code,
                   "unit_name": unit_names.get(s.unit_code or ""), "in_post": s.in_post}
                  for s in people if s.subject == SUBJECT_STAFF],
        "plans": [{"unit_code": p.unit_code, "unit_name": unit_names.get(p.unit_code), "text": p.text,
                   "submitted_by": p.submitted_by, "submitted_at": p.submitted_at.isoformat()} for p in plans],
        "sanctions": [{"id": s.id, "kind": s.kind, "kind_name": SANCTION_NAMES[s.kind], "subject": s.subject,
                       "code": s.subject_code, "name": names.get((s.subject, s.subject_code)), "reason": s.reason,
                       "recorded_by": s.recorded_by, "recorded_at": s.recorded_at.isoformat()} for s in sanctions],
    }


def entries_from_json(items: Iterable[Any]) -> list[ScoreEntry]:
    """Score entries from [{subject, code, indicator, value, note?}, …] (a list checked by the caller)."""
    found = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput("评分应为对象", [f"scores[{i}]: {{subject, code, indicator, value}}"])
        found.append(ScoreEntry(subject=str(item.get("subject", "")), code=str(item.get("code", "")),
                                indicator=str(item.get("indicator", "")), value=item.get("value"),
                                note=item.get("note")))
    return found
