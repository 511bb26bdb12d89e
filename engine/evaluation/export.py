"""A year's results as offices file them, and the workbook (xlsx) of them.

`report` gathers, for one year, what the pages and the workbook show: each unit's and each
person's score per first-level indicator (职能工作, 管理工作, … / 工作考核, 内部管理, …) and per
quarter, next to the stored total, grades and use of results (engine.evaluation.scoring), and the
progress of the scoring (who is fully scored, which leaves are still empty). It reads one year's
rows (subjects, scores, results: bounded by subjects × leaves), never a whole table, and checks
no permission: its callers do (`write_xlsx` below, the pages, the API).

Every sub-score is exact (`scoring.total` over the node's children, no intermediate rounding) and
shown truncated to two decimals like the total (`scoring.display`, docs/evaluation.md), so a
displayed 89.99 is never a 良好 shown as 90.00.

The workbook (`write_xlsx`): sheets 单位考评结果, 个人考评结果 and 指标, Chinese headers in row 1,
one row per unit / person / indicator. Totals and sub-scores are numbers truncated to two decimals
(number format 0.00); a sub-score not yet complete is left empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import func, select
from sqlmodel import Session, col

from engine.auth import policy
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.errors import Conflict
from engine.evaluation import indicators, scheme, scoring, service
from engine.models.evaluation import (
    ENTERED,
    OBJECTIVE,
    SUBJECT_STAFF,
    SUBJECT_UNIT,
    SUBJECTS,
    YEAR_CLOSED,
    EvaluationResult,
    EvaluationScore,
    EvaluationYear,
)
from engine.xlsx_cells import keep_text

MAX_MISSING_LISTED = 200


@dataclass
class Scored:
    """One unit or person of the year: scores by indicator, and the stored result when computed."""

    code: str
    name: str
    unit_code: str | None
    unit_name: str | None
    scores: dict[str, Fraction]
    parts: list[tuple[scheme.Node, Fraction | None]]  # first-level indicators
    quarters: dict[int, Fraction | None]
    missing: list[str]  # subjective leaves without a score (path names)
    pending_objective: int  # objective leaves not computed yet
    result: EvaluationResult | None = None

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass
class Report:
    year: EvaluationYear
    trees: dict[str, tuple[scheme.Node, ...]]
    units: list[Scored]
    staff: list[Scored]
    advanced_cap: int
    entered_after_compute: bool
    subjective_leaves: dict[str, int] = field(default_factory=dict)

    @property
    def computed(self) -> bool:
        return self.year.computed_at is not None and any(s.result for s in (*self.units, *self.staff))

    def ranked(self, subject: str) -> list[Scored]:
        """In rank order when computed, else in the catalog's order."""
        items = self.units if subject == SUBJECT_UNIT else self.staff
        return sorted(items, key=lambda s: (s.result is None, s.result.rank if s.result and s.result.rank else 0))


def node_score(node: scheme.Node, scores: Mapping[str, Fraction]) -> Fraction | None:
    """A leaf's score, or a group's exact weighted score of its children; None while incomplete."""
    if node.is_leaf:
        return scores.get(node.code)
    try:
        return scoring.total(node.children, scores)
    except scoring.MissingScores:
        return None


def quarter_nodes(nodes: Sequence[scheme.Node]) -> dict[int, scheme.Node]:
    """The highest node of each quarter (职能工作 · 第一季度, 工作考核 · 第一季度, …)."""
    found: dict[int, scheme.Node] = {}

    def visit(items: Sequence[scheme.Node]) -> None:
        for node in items:
            if node.quarter is not None:
                found.setdefault(node.quarter, node)
            else:
                visit(node.children)

    visit(nodes)
    return dict(sorted(found.items()))


def shares(nodes: Sequence[scheme.Node]) -> dict[str, Fraction]:
    """Each node's share of the total (重点工作 = 40 % × 25 % × 50 % = 5 %), as a fraction of 1."""
    found: dict[str, Fraction] = {}

    def visit(items: Sequence[scheme.Node], parent: Fraction) -> None:
        for node in items:
            found[node.code] = parent * Fraction(node.weight_bp, scheme.FULL)
            visit(node.children, found[node.code])

    visit(nodes, Fraction(1))
    return found


def _scored(subject_row: Any, nodes: tuple[scheme.Node, ...], given: dict[str, Fraction], unit_names: dict[str, str],
            result: EvaluationResult | None) -> Scored:
    missing, pending = [], 0
    for leaf, path in scheme.leaves(nodes):
        if leaf.code in given:
            continue
        if leaf.kind == OBJECTIVE:
            pending += 1
        else:
            missing.append(scheme.path_name(leaf, path))
    return Scored(
        code=subject_row.code, name=subject_row.name, unit_code=subject_row.unit_code,
        unit_name=unit_names.get(subject_row.unit_code or ""), scores=given,
        parts=[(node, node_score(node, given)) for node in nodes],
        quarters={q: node_score(node, given) for q, node in quarter_nodes(nodes).items()},
        missing=missing, pending_objective=pending, result=result)


def report(session: Session, year_id: int, unit_code: str | None = None) -> Report:
    """The year's units and staff with their scores and results; with `unit_code`, only that unit
    and its staff (a unit head's view). The caller has checked the permission."""
    year = service.get_year(session, year_id)
    people = service.subjects(session, year_id)
    unit_names = {s.code: s.name for s in people if s.subject == SUBJECT_UNIT}
    if unit_code is not None:
        service._subject(session, year_id, SUBJECT_UNIT, unit_code)  # 404 naming the unit
    trees = {subject: service.tree(session, year_id, subject) for subject in SUBJECTS}
    query = select(EvaluationResult).where(col(EvaluationResult.year_id) == year_id)
    results = {(r.subject, r.subject_code): r for r in session.scalars(query)}
    built: dict[str, list[Scored]] = {SUBJECT_UNIT: [], SUBJECT_STAFF: []}
    for subject in SUBJECTS:
        given = service.scores(session, year_id, subject)
        for person in people:
            if person.subject != subject:
                continue
            if unit_code is not None and (person.code if subject == SUBJECT_UNIT else person.unit_code) != unit_code:
                continue
            built[subject].append(_scored(person, trees[subject], given.get(person.code, {}), unit_names,
                                          results.get((subject, person.code))))
    last_entry = session.execute(select(func.max(col(EvaluationScore.entered_at))).where(
        col(EvaluationScore.year_id) == year_id, col(EvaluationScore.source) == ENTERED)).scalar()
    return Report(
        year=year, trees=trees, units=built[SUBJECT_UNIT], staff=built[SUBJECT_STAFF],
        advanced_cap=scoring.advanced_cap(len(unit_names)),
        entered_after_compute=bool(year.computed_at and last_entry and last_entry > year.computed_at),
        subjective_leaves={subject: sum(1 for leaf, _ in scheme.leaves(trees[subject]) if leaf.kind != OBJECTIVE)
                           for subject in SUBJECTS})


def evidence(session: Session, year: EvaluationYear, unit_code: str,
             now: datetime) -> list[tuple[scheme.Node, tuple[scheme.Node, ...], indicators.IndicatorValue]]:
    """The objective indicators of one unit with their formula, figures and cases, counted as of
    the moment the results were computed (so they match the stored scores), or now before that."""
    return service.objective_values(session, year, unit_code, year.computed_at or now)


def _shown(value: Fraction | None) -> str | None:
    return None if value is None else scoring.display(value)


def scored_to_json(item: Scored) -> dict[str, Any]:
    """A unit or person: scores by first-level indicator and quarter, leaves, and the result."""
    r = item.result
    body: dict[str, Any] = {
        "code": item.code, "name": item.name, "unit_code": item.unit_code, "unit_name": item.unit_name,
        "parts": [{"indicator": node.code, "name": node.name, "weight": scheme.percent(node.weight_bp),
                   "score": _shown(value)} for node, value in item.parts],
        "quarters": {str(q): _shown(value) for q, value in item.quarters.items()},
        "scores": {code: scoring.display(value) for code, value in item.scores.items()},
        "missing": item.missing, "result": None,
    }
    if r is not None:
        body["result"] = {"total": r.total_display, "total_exact": str(Fraction(r.total_num, r.total_den)),
                          "grade_by_score": r.grade_by_score, "grade": r.grade, "rank": r.rank,
                          "advanced": r.advanced, "key_rectification": r.key_rectification, "reasons": r.reasons}
    return body


# ---------------------------------------------------------------- the workbook


def number(value: Fraction | None) -> float | None:
    """Truncated to two decimals (scoring.display), as a number for the sheet."""
    return None if value is None else float(Decimal(scoring.display(value)))


def _sheet(workbook: Workbook, title: str, headers: Sequence[str], widths: Sequence[int]):
    sheet = workbook.create_sheet(title)
    sheet.append(list(headers))
    for cell in sheet[1]:
        keep_text(cell)  # the first-level indicators' names are headers
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for index, width in enumerate(widths):
        sheet.column_dimensions[sheet.cell(1, index + 1).column_letter].width = width
    sheet.freeze_panes = "A2"
    return sheet


def _append(sheet, values: list[Any], numeric: Sequence[int]) -> None:
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        keep_text(cell)
        if isinstance(cell.value, str) and len(cell.value) > 30:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index in numeric:
        sheet.cell(sheet.max_row, index + 1).number_format = "0.00"


def _yes(flag: bool) -> str | None:
    return "是" if flag else None


def write_xlsx(session: Session, actor: Actor, year_id: int) -> tuple[bytes, str]:
    """The workbook of a computed year and its file name (市民政局2026年度绩效考评结果.xlsx).
    Before results are computed: 409."""
    policy.require(actor, Action.READ_EVALUATION)
    found = report(session, year_id)
    year = found.year
    if not found.computed:
        raise Conflict(f"{year.scope_name} {year.year} 年度考评尚未计算结果，不能导出",
                       ["请先计算结果（dutyflow evaluation compute 或 POST /api/evaluation/years/{id}/compute）"])
    workbook = Workbook()
    workbook.remove(workbook.active)
    state = "已发布" if year.status == YEAR_CLOSED else "未发布"
    workbook.properties.title = f"{year.scope_name} {year.year} 年度绩效考评结果（{state}）"
    workbook.properties.creator = "dutyflow"

    unit_parts = [node.name for node in found.trees[SUBJECT_UNIT]]
    headers = ["名次", "单位", *unit_parts, "总分", "按分数等次", "考评等次", "先进处室/单位", "重点整改单位", "说明"]
    sheet = _sheet(workbook, "单位考评结果", headers, [6, 16, *[10] * len(unit_parts), 9, 11, 10, 13, 13, 60])
    numeric = list(range(2, 3 + len(unit_parts)))
    for item in found.ranked(SUBJECT_UNIT):
        r = item.result
        assert r is not None  # computed: every unit has a result
        total = Fraction(r.total_num, r.total_den)
        _append(sheet, [r.rank, item.name, *[number(v) for _, v in item.parts], number(total), r.grade_by_score,
                        r.grade, _yes(r.advanced), _yes(r.key_rectification), "；".join(r.reasons) or None], numeric)

    staff_parts = [node.name for node in found.trees[SUBJECT_STAFF]]
    headers = ["名次", "姓名", "所在单位", *staff_parts, "总分", "按分数等次", "考评等次", "优秀个人人选", "说明"]
    sheet = _sheet(workbook, "个人考评结果", headers, [6, 10, 16, *[10] * len(staff_parts), 9, 11, 10, 13, 60])
    numeric = list(range(3, 4 + len(staff_parts)))
    for item in found.ranked(SUBJECT_STAFF):
        r = item.result
        assert r is not None
        total = Fraction(r.total_num, r.total_den)
        _append(sheet, [r.rank, item.name, item.unit_name, *[number(v) for _, v in item.parts], number(total),
                        r.grade_by_score, r.grade, _yes(r.advanced), "；".join(r.reasons) or None], numeric)

    sheet = _sheet(workbook, "指标", ["考评对象", "指标", "权重（%）", "占总分（%）", "类型", "计算方法", "指标编码"],
                   [12, 36, 10, 12, 10, 60, 20])
    for subject in SUBJECTS:
        nodes = found.trees[subject]
        share = shares(nodes)
        for node, path in scheme.walk(nodes):
            method = indicators.FORMULA_TEXTS.get(node.formula or "") if node.kind == OBJECTIVE else None
            _append(sheet, [scheme.SUBJECT_NAMES[subject], scheme.path_name(node, path),
                            float(Decimal(scheme.percent(node.weight_bp))), float(share[node.code] * 100),
                            scheme.KIND_NAMES.get(node.kind, node.kind), method, node.code], [2, 3])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), f"{year.scope_name}{year.year}年度绩效考评结果.xlsx"
