"""绩效考评 pages: the efficiency office's view of a year and each unit head's view of their unit.

- `/evaluation`: the years (the efficiency office: all; a unit head: the years evaluating their unit,
  each linking to the unit's view);
- `/evaluation/{year_id}`: progress of the scoring, the indicator trees with weights, units and
  staff with totals and grades (优秀/良好/达标/诫勉, 重点整改单位, 先进 and 优秀个人 proposals),
  a chart of scores by indicator per unit and a trend by quarter (efficiency office, admin);
- `/evaluation/{year_id}/units/{unit_code}`: one unit — its scores over the whole tree, the
  evidence of each objective indicator (formula, figures, the cases behind it linking to
  /cases/{id}), its staff (the unit's head, or the efficiency office).

On the year's page the efficiency office enters the subjective scores (录入评分): one small form
per unit (or person) and subjective leaf, posted to `/evaluation/{year_id}/scores` and saved by
`service.enter_scores`, the call the API and `dutyflow evaluation score` make (the policy's
`enter_evaluation_scores`, the audit chain, one transaction per change). A refused value shows
the year's page again with the refusal next to the form, the field named by its label.

Everything comes from engine.evaluation (export.report, service); charts are server-rendered SVG
whose geometry is computed here (the pages' CSP forbids inline script and style).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import Session, col

from api.deps import DB_INT_MAX, get_clock
from api.labels import person_label
from api.pages.task_view import department_choices
from api.pages.web import PageRoute, flash, page_session, redirect, render, require_page_action, signed_in
from engine.auth import policy
from engine.auth.policy import Action, Refused
from engine.auth.roles import Actor
from engine.auth.service import user_names
from engine.clock import BEIJING, Clock
from engine.errors import Conflict, DutyflowError, InvalidInput
from engine.evaluation import export, indicators, scheme, scoring, service
from engine.models.evaluation import (
    OBJECTIVE,
    SCOPE_REGION,
    SUBJECT_STAFF,
    SUBJECT_UNIT,
    SUBJECTS,
    YEAR_OPEN,
    EvaluationPlan,
    EvaluationScore,
    EvaluationSubject,
    EvaluationYear,
)

router = APIRouter(route_class=PageRoute)
reader = require_page_action(Action.READ_EVALUATION)
manager = require_page_action(Action.MANAGE_EVALUATION)
YearId = Path(..., ge=1, le=DB_INT_MAX, description="考评年度编号")

COLOURS = ("#1d4ed8", "#1e7d32", "#b45309", "#7c3aed", "#0f766e", "#be185d", "#475569", "#b91c1c")
GRADE_CLASSES = {scoring.EXCELLENT: "state-green", scoring.GOOD: "state-paused", scoring.PASS: "state-yellow",
                 scoring.WARNING: "state-red"}
FIGURE_NAMES = {
    "cases": "期间办件数", "judged": "已判定（已办结 + 未办结已超期）", "finished": "已办结", "on_time": "按时办结",
    "red": "红牌", "finished_late": "超期办结", "open_overdue": "未办结已超期", "extensions": "延期次数",
    "notice_violations": "一次性告知违规次数", "duties": "承担的职责事项", "active_duties": "有办件的事项",
    "idle_duties": "没有办件的事项", "complaints_upheld": "投诉属实", "complaints_partly_upheld": "投诉部分属实",
    "runarounds": "推诿（群众多跑腿）事项", "checked": "首次检查验收的整改项", "passed_first_time": "首次即通过", "sent_back": "退回次数",
}
BREAKDOWN_NAMES = {"red": "红牌办件", "extended": "延期的办件", "notice_late": "一次性告知违规的办件",
                   "complaint_upheld": "属实的投诉", "complaint_partly_upheld": "部分属实的投诉",
                   "runaround": "被推诿的办件", "sent_back": "有整改项被退回的自查活动"}


def shown(value: Fraction | None) -> str:
    return "—" if value is None else scoring.display(value)


# ---------------------------------------------------------------- charts (SVG geometry)

BAR_LEFT, BAR_WIDTH, BAR_HEIGHT, BAR_GAP, GROUP_GAP, TOP = 150, 480, 13, 3, 14, 24


def bar_chart(rows: Sequence[export.Scored], parts: Sequence[scheme.Node]) -> dict[str, Any] | None:
    """Scores by first-level indicator, one group of bars per unit (or person), 0–100."""
    if not rows or not parts:
        return None
    groups, y = [], TOP
    for item in rows:
        bars = []
        for index, (node, value) in enumerate(item.parts):
            width = float(value) * BAR_WIDTH / 100 if value is not None else 0
            bars.append({"y": y, "width": round(width, 2), "colour": COLOURS[index % len(COLOURS)],
                         "label": f"{item.name} · {node.name}：{shown(value)}", "value": shown(value),
                         "text_x": BAR_LEFT + round(width, 2) + 4, "indicator": node.code})
            y += BAR_HEIGHT + BAR_GAP
        groups.append({"name": item.name, "code": item.code, "bars": bars,
                       "label_y": bars[0]["y"] + (len(bars) * (BAR_HEIGHT + BAR_GAP)) / 2 if bars else y})
        y += GROUP_GAP
    ticks = [{"value": v, "x": BAR_LEFT + v * BAR_WIDTH / 100} for v in (0, 60, 70, 80, 90, 100)]
    return {"groups": groups, "height": y, "width": BAR_LEFT + BAR_WIDTH + 60, "left": BAR_LEFT,
            "bar_height": BAR_HEIGHT, "ticks": ticks, "axis_y": y - GROUP_GAP + 4,
            "legend": [{"name": node.name, "colour": COLOURS[i % len(COLOURS)]} for i, node in enumerate(parts)]}


TREND_LEFT, TREND_TOP, TREND_STEP, TREND_HEIGHT = 50, 20, 150, 220


def trend_chart(rows: Sequence[export.Scored]) -> dict[str, Any] | None:
    """Each unit's (or person's) score of each quarter as a line; the axis starts at 50 or lower."""
    quarters = sorted({q for item in rows for q in item.quarters})
    values = [v for item in rows for v in item.quarters.values() if v is not None]
    if not quarters or not values:
        return None
    low = min(50, int(min(values)) // 10 * 10)

    def y_of(value: Fraction) -> float:
        return round(TREND_TOP + float(100 - value) * TREND_HEIGHT / (100 - low), 2)

    x_of = {q: TREND_LEFT + 40 + i * TREND_STEP for i, q in enumerate(quarters)}
    lines = []
    for index, item in enumerate(rows):
        points = [{"x": x_of[q], "y": y_of(v), "label": f"{item.name} {scheme.QUARTER_NAMES.get(q, q)}：{shown(v)}"}
                  for q, v in sorted(item.quarters.items()) if v is not None]
        if points:
            lines.append({"name": item.name, "code": item.code, "colour": COLOURS[index % len(COLOURS)],
                          "points": points, "path": " ".join(f"{p['x']},{p['y']}" for p in points)})
    grid = [{"value": v, "y": y_of(Fraction(v))} for v in range(low, 101, 10)]
    return {"lines": lines, "grid": grid, "width": TREND_LEFT + 80 + (len(quarters) - 1) * TREND_STEP + 40,
            "height": TREND_TOP + TREND_HEIGHT + 30, "left": TREND_LEFT, "right": x_of[quarters[-1]] + 40,
            "axis": [{"x": x_of[q], "name": scheme.QUARTER_NAMES.get(q, f"Q{q}")} for q in quarters],
            "label_y": TREND_TOP + TREND_HEIGHT + 22}


# ---------------------------------------------------------------- trees


def percent_text(part: Fraction) -> str:
    """A share of 1 as a percent without trailing zeros: 1/20 → "5", 3/80 → "3.75"."""
    value = part * 100
    text = f"{Decimal(value.numerator) / Decimal(value.denominator):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def tree_rows(nodes: tuple[scheme.Node, ...], scores: dict[str, Fraction] | None = None) -> list[dict[str, Any]]:
    """The tree as indented rows: weight, share of the total, kind, formula, and a score when given."""
    share = export.shares(nodes)
    rows = []
    for node, path in scheme.walk(nodes):
        rows.append({
            "code": node.code, "name": node.name, "depth": len(path), "weight": scheme.percent(node.weight_bp),
            "share": percent_text(share[node.code]),
            "kind": node.kind, "kind_name": scheme.KIND_NAMES.get(node.kind, node.kind),
            "formula_name": indicators.FORMULAS.get(node.formula or ""),
            "formula_text": indicators.FORMULA_TEXTS.get(node.formula or "") if node.kind == OBJECTIVE else None,
            "quarter": node.quarter, "objective": node.kind == OBJECTIVE,
            "score": shown(export.node_score(node, scores)) if scores is not None else None,
        })
    return rows


def progress(found: export.Report, sheets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts of the scoring, and each missing score linking to its form (entry_sheets)."""
    per = {}
    for subject, items in ((SUBJECT_UNIT, found.units), (SUBJECT_STAFF, found.staff)):
        leaves = found.subjective_leaves[subject]
        entered = sum(leaves - len(item.missing) for item in items)
        per[subject] = {"total": len(items), "complete": sum(1 for item in items if item.complete),
                        "entered": entered, "expected": leaves * len(items),
                        "missing": [{"text": f"{sheet['name']}：{row['name']}", "href": f"#{row['anchor']}"}
                                    for sheet in sheets if sheet["subject"] == subject
                                    for row in sheet["rows"] if row["missing"]]}
    pending = sum(item.pending_objective for item in found.units)
    return {"units": per[SUBJECT_UNIT], "staff": per[SUBJECT_STAFF], "pending_objective": pending,
            "missing_count": len(per[SUBJECT_UNIT]["missing"]) + len(per[SUBJECT_STAFF]["missing"])}


# ---------------------------------------------------------------- the entry of subjective scores


def entry_anchor(subject: str, index: int, position: int) -> str:
    """The id of a score's row on the year's page: the subject kind, the unit's (person's) place in
    the year and the leaf's place among the subjective leaves (`score-unit-0-3`: the first unit's
    fourth subjective leaf) — stable while the tree is frozen, and free of codes a URL would escape."""
    return f"score-{subject}-{index}-{position}"


def subjective_leaves(nodes: tuple[scheme.Node, ...]) -> list[tuple[scheme.Node, tuple[scheme.Node, ...]]]:
    return [(node, path) for node, path in scheme.leaves(nodes) if node.kind != OBJECTIVE]


def entry_sheets(found: export.Report, stored: Mapping[tuple[str, str, str], EvaluationScore],
                 names: Mapping[str, str]) -> list[dict[str, Any]]:
    """One sheet per unit and person, in the catalog's order (the whole year's report): each
    subjective leaf with the score stored, who entered it, when and why, and its row's anchor."""
    sheets = []
    for subject, items in ((SUBJECT_UNIT, found.units), (SUBJECT_STAFF, found.staff)):
        leaves = subjective_leaves(found.trees[subject])
        for index, item in enumerate(items):
            rows = []
            for position, (node, path) in enumerate(leaves):
                row = stored.get((subject, item.code, node.code))
                rows.append({"anchor": entry_anchor(subject, index, position), "indicator": node.code,
                             "name": scheme.path_name(node, path), "missing": node.code not in item.scores,
                             "value": shown(item.scores.get(node.code)),
                             "by": person_label(row.entered_by, names) if row else "",
                             "at": row.entered_at if row else None, "note": (row.note or "") if row else ""})
            sheets.append({"subject": subject, "code": item.code, "name": item.name, "unit_name": item.unit_name,
                           "anchor": f"entry-{subject}-{index}", "rows": rows,
                           "entered": sum(1 for r in rows if not r["missing"]), "expected": len(rows)})
    return sheets


_ENTRY_PROBLEM = re.compile(r"^scores\[\d+\]\.(?P<field>\w+):\s*(?P<rest>.*)$", re.DOTALL)
ENTRY_LABELS = {"value": "分数", "note": "说明或依据", "indicator": "指标", "code": "考评对象", "subject": "考评对象"}


def entry_problem(problem: str) -> str:
    """The service words a problem by the API's place (`scores[0].note: 不超过 1000 字`); the form
    names the field by its label (说明或依据：不超过 1000 字)."""
    match = _ENTRY_PROBLEM.match(problem)
    if match is None:
        return problem
    return f"{ENTRY_LABELS.get(match['field'], match['field'])}：{match['rest']}"


def result_row(item: export.Scored) -> dict[str, Any]:
    r = item.result
    return {"code": item.code, "name": item.name, "unit_code": item.unit_code, "unit_name": item.unit_name,
            "parts": [{"code": node.code, "name": node.name, "score": shown(v), "objective": _has_objective(node)}
                      for node, v in item.parts],
            "quarters": {q: shown(v) for q, v in item.quarters.items()},
            "complete": item.complete, "missing": len(item.missing),
            "total": r.total_display if r else None, "grade_by_score": r.grade_by_score if r else None,
            "grade": r.grade if r else None, "grade_class": GRADE_CLASSES.get(r.grade, "") if r else "",
            "rank": r.rank if r else None, "advanced": bool(r and r.advanced),
            "key_rectification": bool(r and r.key_rectification), "reasons": list(r.reasons) if r else []}


def _has_objective(node: scheme.Node) -> bool:
    return any(leaf.kind == OBJECTIVE for leaf, _ in scheme.leaves((node,)))


def year_head(year: EvaluationYear) -> dict[str, Any]:
    return {**service.year_to_json(year), "scope_label": "区划（考评各部门）" if year.scope_kind == SCOPE_REGION
            else "部门（考评内设机构和人员）"}


# ---------------------------------------------------------------- pages


def _headed(session: Session, actor: Actor) -> tuple[set[str], set[str]]:
    return policy.headed_units_of(session, actor), policy.headed_departments(session, actor)


@router.get("/evaluation")
def years_page(request: Request, session: Session = Depends(page_session), clock: Clock = Depends(get_clock),
               actor: Actor = Depends(signed_in)) -> Response:
    if policy.may(actor, Action.READ_EVALUATION):
        years = [{**year_head(y), "units": []} for y in service.list_years(session, actor)]
        return render(request, "evaluation_years.html", {
            "title": "绩效考评", "years": years, "office": True,
            "may_manage": policy.may(actor, Action.MANAGE_EVALUATION),
            "departments": department_choices(session), "this_year": clock.now().astimezone(BEIJING).year},
            actor=actor)
    units, departments = _headed(session, actor)
    rows = session.execute(
        select(EvaluationYear, col(EvaluationSubject.code), col(EvaluationSubject.name))
        .join(EvaluationSubject, col(EvaluationSubject.year_id) == col(EvaluationYear.id))
        .where(col(EvaluationSubject.subject) == SUBJECT_UNIT,
               col(EvaluationYear.catalog_version_id).in_(policy.versions_of_region_in_force(session)),
               ((col(EvaluationYear.scope_kind) != SCOPE_REGION) & col(EvaluationSubject.code).in_(sorted(units)))
               | ((col(EvaluationYear.scope_kind) == SCOPE_REGION) & col(EvaluationSubject.code).in_(sorted(departments))))
        .order_by(col(EvaluationYear.year).desc(), col(EvaluationYear.id), col(EvaluationSubject.position))).all()
    if not rows:
        raise Refused(Action.READ_UNIT_EVALUATION, "只有效能办、系统管理员或参加考评单位的负责人可以查看绩效考评",
                      [f"{actor.username}：不是效能办，也不是参加考评单位的负责人"])
    by_year: dict[int, dict[str, Any]] = {}
    for year, code, name in rows:
        by_year.setdefault(year.id, {**year_head(year), "units": []})["units"].append({"code": code, "name": name})
    return render(request, "evaluation_years.html", {"title": "绩效考评", "years": list(by_year.values()),
                                                     "office": False}, actor=actor)


def year_context(session: Session, actor: Actor, year_id: int) -> dict[str, Any]:
    found = export.report(session, year_id)
    year = found.year
    units = found.ranked(SUBJECT_UNIT)
    staff = found.ranked(SUBJECT_STAFF)
    unit_rows = [result_row(item) for item in units]
    staff_rows = [result_row(item) for item in staff]
    sanctions = service.sanctions_for(session, year_id)
    names = {item.code: item.name for item in (*found.units, *found.staff)}
    stored = service.score_rows(session, year_id)
    sheets = entry_sheets(found, stored, user_names(session, [row.entered_by for row in stored.values()]))
    return {
        "title": f"{year.scope_name} {year.year} 年度绩效考评",
        "year": year_head(year), "computed": found.computed, "stale": found.entered_after_compute,
        "progress": progress(found, sheets),
        "unit_tree": tree_rows(found.trees[SUBJECT_UNIT]), "staff_tree": tree_rows(found.trees[SUBJECT_STAFF]),
        "unit_parts": [n.name for n in found.trees[SUBJECT_UNIT]],
        "staff_parts": [n.name for n in found.trees[SUBJECT_STAFF]],
        "units": unit_rows, "staff": staff_rows,
        "advanced": [r for r in unit_rows if r["advanced"]],
        "candidates": [r for r in staff_rows if r["advanced"]],
        "rectification": [r for r in unit_rows if r["key_rectification"]],
        "advanced_cap": found.advanced_cap, "unit_count": len(units),
        "unit_chart": bar_chart(units, found.trees[SUBJECT_UNIT]),
        "unit_trend": trend_chart(units), "staff_trend": trend_chart(staff),
        "sanctions": [{"name": names.get(code, code), "reasons": reasons}
                      for code, reasons in (*sanctions.punished.items(), *sanctions.major_accidents.items())],
        "grade_classes": GRADE_CLASSES,
        "may_manage": policy.may(actor, Action.MANAGE_EVALUATION),
        "sheets": sheets,
        "may_enter": policy.may(actor, Action.ENTER_EVALUATION_SCORES) and year.status == YEAR_OPEN,
        "objective_leaves": [scheme.path_name(node, path) for node, path in scheme.leaves(found.trees[SUBJECT_UNIT])
                             if node.kind == OBJECTIVE],
        "entry_error": None,
    }


@router.get("/evaluation/{year_id}")
def year_page(request: Request, year_id: int = YearId, session: Session = Depends(page_session),
              actor: Actor = Depends(reader)) -> Response:
    return render(request, "evaluation.html", year_context(session, actor, year_id), actor=actor)


@router.get("/evaluation/{year_id}/units/{unit_code}")
def unit_page(request: Request, unit_code: str = Path(..., max_length=100), year_id: int = YearId,
              session: Session = Depends(page_session), clock: Clock = Depends(get_clock),
              actor: Actor = Depends(signed_in)) -> Response:
    year = service.get_year(session, year_id)
    policy.require_unit_evaluation(session, actor, unit_code, by_department=year.scope_kind == SCOPE_REGION,
                                   year_catalog=year.catalog_version_id)
    found = export.report(session, year_id, unit_code)
    unit = found.units[0]
    staff = found.ranked(SUBJECT_STAFF)
    proofs = []
    for node, path, value in export.evidence(session, year, unit_code, clock.now()):
        proofs.append({
            "code": node.code, "name": scheme.path_name(node, path), "formula_name": indicators.FORMULAS[value.formula],
            "formula_text": value.formula_text, "value": scoring.display(value.value),
            "stored": shown(unit.scores.get(node.code)),
            "figures": [(FIGURE_NAMES.get(k, k), v) for k, v in value.figures.items()],
            "cases": value.cases, "breakdown": [(BREAKDOWN_NAMES.get(k, k), v) for k, v in value.breakdown.items()
                                                if v.count],
            "details": value.details, "notes": value.notes,
        })
    plan = session.scalars(select(EvaluationPlan).where(col(EvaluationPlan.year_id) == year_id,
                                                        col(EvaluationPlan.unit_code) == unit_code)).first()
    # For whoever enters scores, each missing one links to its row on the year's page.
    missing = [{"text": name, "href": None} for name in unit.missing]
    if policy.may(actor, Action.ENTER_EVALUATION_SCORES) and year.status == YEAR_OPEN:
        index = next(i for i, s in enumerate(service.subjects(session, year_id, SUBJECT_UNIT)) if s.code == unit_code)
        missing = [{"text": scheme.path_name(node, path), "href": f"/evaluation/{year_id}#{entry_anchor(SUBJECT_UNIT, index, j)}"}
                   for j, (node, path) in enumerate(subjective_leaves(found.trees[SUBJECT_UNIT]))
                   if node.code not in unit.scores]
    return render(request, "evaluation_unit.html", {
        "title": f"{unit.name} · {year.scope_name} {year.year} 年度绩效考评",
        "year": year_head(year), "office": policy.may(actor, Action.READ_EVALUATION),
        "unit": result_row(unit),
        "tree": tree_rows(found.trees[SUBJECT_UNIT], unit.scores), "missing": missing,
        "pending_objective": unit.pending_objective,
        "chart": bar_chart([unit], found.trees[SUBJECT_UNIT]), "trend": trend_chart([unit]),
        "staff": [result_row(person) for person in staff], "staff_parts": [n.name for n in found.trees[SUBJECT_STAFF]],
        "staff_chart": bar_chart(staff, found.trees[SUBJECT_STAFF]),
        "evidence": proofs, "as_of": year.computed_at or clock.now(), "computed": year.computed_at is not None,
        "plan": plan,
    }, actor=actor)


# ---------------------------------------------------------------- the office's actions on a year
# The same engine calls as the API (engine.evaluation.service, which checks the policy again);
# each answers with the year's page and a message, or an error page naming the problem.


@router.post("/evaluation/years")
def create_year_page(request: Request, year: int = Form(..., ge=2000, le=2100),
                     department: str = Form(..., min_length=1, max_length=100),
                     session: Session = Depends(page_session), clock: Clock = Depends(get_clock),
                     actor: Actor = Depends(manager)) -> Response:
    row = service.create_year(session, actor, year, clock.now(), department=department)
    flash(request, f"已创建{row.scope_name} {row.year} 年度绩效考评（草稿：可调整指标体系，开始考评后冻结）")
    return redirect(f"/evaluation/{row.id}")


@router.post("/evaluation/{year_id}/open")
def open_year_page(request: Request, year_id: int = YearId, session: Session = Depends(page_session),
                   clock: Clock = Depends(get_clock), actor: Actor = Depends(manager)) -> Response:
    row = service.open_year(session, actor, year_id, clock.now())
    flash(request, f"{row.year} 年度考评已开始：指标体系已冻结，可以录入评分")
    return redirect(f"/evaluation/{year_id}")


@router.post("/evaluation/{year_id}/compute")
def compute_page(request: Request, year_id: int = YearId, session: Session = Depends(page_session),
                 clock: Clock = Depends(get_clock), actor: Actor = Depends(manager)) -> Response:
    try:
        service.compute_results(session, actor, year_id, clock.now())
    except Conflict as exc:
        session.rollback()
        found = export.report(session, year_id)
        if found.year.status != YEAR_OPEN or all(item.complete for item in (*found.units, *found.staff)):
            raise
        # Scores are missing: the year's page lists each one linking to its form (尚未评分), so
        # the message does not repeat them as plain text.
        flash(request, f"{exc.message}：请按下方「尚未评分」逐项录入", "error")
        return redirect(f"/evaluation/{year_id}")
    flash(request, "已计算结果：客观指标、总分、等次、降等和先进人选")
    return redirect(f"/evaluation/{year_id}")


@router.post("/evaluation/{year_id}/publish")
def publish_page(request: Request, year_id: int = YearId, session: Session = Depends(page_session),
                 clock: Clock = Depends(get_clock), actor: Actor = Depends(manager)) -> Response:
    row = service.publish(session, actor, year_id, clock.now())
    flash(request, f"{row.year} 年度考评结果已发布")
    return redirect(f"/evaluation/{year_id}")


def entry_place(session: Session, year_id: int, subject: str, code: str,
                indicator: str) -> tuple[str, str, str | None]:
    """(the unit's or person's name, the leaf's path name, the anchor of its form) of a posted
    score, for the answer; codes the year does not know stay as posted (the service refuses them)."""
    people = service.subjects(session, year_id, subject) if subject in SUBJECTS else []
    index = next((i for i, person in enumerate(people) if person.code == code), None)
    nodes = service.tree(session, year_id, subject) if subject in SUBJECTS else ()
    names = {node.code: scheme.path_name(node, path) for node, path in scheme.leaves(nodes)}
    position = next((i for i, (node, _) in enumerate(subjective_leaves(nodes)) if node.code == indicator), None)
    anchor = entry_anchor(subject, index, position) if index is not None and position is not None else None
    return (people[index].name if index is not None else code), names.get(indicator, indicator), anchor


@router.post("/evaluation/{year_id}/scores")
def enter_score_page(request: Request, year_id: int = YearId, subject: str = Form(""), code: str = Form(""),
                     indicator: str = Form(""), value: str = Form(""), note: str = Form(""),
                     session: Session = Depends(page_session), clock: Clock = Depends(get_clock),
                     actor: Actor = Depends(signed_in)) -> Response:
    """One score of one unit (or person) and subjective leaf, saved by service.enter_scores. A
    refusal is answered here rather than flashed: without the permission, the 403 page (the year's
    page is not theirs either); a refused value, the year's page again with the refusal's status,
    the value typed kept and the refusal next to the form, naming the field by its label."""
    try:
        policy.require(actor, Action.ENTER_EVALUATION_SCORES)
    except Refused as exc:
        return render(request, "error.html", {"status": exc.status_code, "message": exc.message,
                                              "problems": exc.problems}, actor=actor, status_code=exc.status_code)
    service.get_year(session, year_id)  # 404 naming the year
    who, leaf, anchor = entry_place(session, year_id, subject, code, indicator)
    typed = value.strip()
    try:
        if not typed:
            raise InvalidInput("请填写分数（0–100，最多两位小数）", ["分数：必填"])
        try:
            service.parse_score(typed, "分数")
        except InvalidInput as exc:  # the engine's own rule, worded by the field's label
            raise InvalidInput(exc.message, [f"分数：填写的是「{typed}」"]) from None
        service.enter_scores(session, actor, year_id,
                             [service.ScoreEntry(subject, code, indicator, typed, note.strip() or None)], clock.now())
    except DutyflowError as exc:
        session.rollback()
        context = year_context(session, actor, year_id)
        context["entry_error"] = {"subject": subject, "code": code, "indicator": indicator, "anchor": anchor,
                                  "title": f"{who}「{leaf}」的评分未保存", "message": exc.message,
                                  "problems": [entry_problem(p) for p in exc.problems], "value": value, "note": note}
        return render(request, "evaluation.html", context, actor=actor, status_code=exc.status_code)
    flash(request, f"已录入：{who}「{leaf}」{typed} 分")
    return redirect(f"/evaluation/{year_id}" + (f"#{anchor}" if anchor else ""))
