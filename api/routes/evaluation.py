"""Routes: 绩效考评 (engine.evaluation) under /api/evaluation. Who may: docs/permissions.md."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, FastAPI, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import DB_INT_MAX, get_clock, get_session
from api.security import require_action, require_actor
from engine.auth import policy
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.clock import Clock
from engine.evaluation import export, scheme, service
from engine.models.evaluation import SCOPE_REGION

router = APIRouter(prefix="/evaluation")

read = require_action(Action.READ_EVALUATION)
manage = require_action(Action.MANAGE_EVALUATION)
enter = require_action(Action.ENTER_EVALUATION_SCORES)
YearId = Path(..., ge=1, le=DB_INT_MAX, description="考评年度编号")
Subject = Literal["unit", "staff"]


class NewYear(BaseModel):
    year: int = Field(..., ge=2000, le=2100, description="考评年度")
    department: str | None = Field(None, max_length=100, description="部门编码（考评其内设机构和人员）")
    region: str | None = Field(None, max_length=200, description="区划（考评其各部门）")


class ScoreIn(BaseModel):
    subject: Subject = Field(..., description="unit（单位）或 staff（个人）")
    code: str = Field(..., max_length=100, description="单位编码或人员编号")
    indicator: str = Field(..., max_length=100, description="末级指标编码，如 FUNC.Q1.KEY")
    value: str | float | int = Field(..., description="0–100，最多两位小数")
    note: str | None = Field(None, max_length=1000)


class ScoresIn(BaseModel):
    scores: list[ScoreIn] = Field(..., min_length=1, max_length=service.MAX_SCORES_PER_CALL)


class PlanIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=service.MAX_PLAN_CHARS, description="目标计划书")


class SanctionIn(BaseModel):
    kind: Literal["punished", "major_accident"] = Field(..., description="punished：人员受处分；major_accident：单位重大事故")
    code: str = Field(..., max_length=100, description="人员编号（punished）或单位编码（major_accident）")
    reason: str = Field(..., min_length=1, max_length=1000)


@router.get("/years", summary="考评年度列表")
def list_years(session: Session = Depends(get_session, scope="function"), actor: Actor = Depends(read)) -> list[dict]:
    return [service.year_to_json(y) for y in service.list_years(session, actor)]


@router.post("/years", summary="创建考评年度（默认指标体系，单位和人员取自现行清单）")
def create_year(body: NewYear, session: Session = Depends(get_session, scope="function"),
                clock: Clock = Depends(get_clock), actor: Actor = Depends(manage)) -> dict[str, Any]:
    row = service.create_year(session, actor, body.year, clock.now(), department=body.department, region=body.region)
    return service.year_detail(session, actor, row.id)


@router.get("/years/{year_id}", summary="考评年度：指标体系、单位、人员、目标计划书、处分记录")
def get_year(year_id: int = YearId, session: Session = Depends(get_session, scope="function"),
             actor: Actor = Depends(read)) -> dict[str, Any]:
    return service.year_detail(session, actor, year_id)


@router.put("/years/{year_id}/indicators/{subject}", summary="调整指标体系（仅草稿；各级权重之和须为 100%）")
def put_tree(subject: Subject, year_id: int = YearId,
             tree: list[dict[str, Any]] = Body(..., embed=True, max_length=scheme.MAX_NODES,
                                               description="[{code, name, weight（百分数）, kind, formula, quarter, children}]"),
             session: Session = Depends(get_session, scope="function"), actor: Actor = Depends(manage)) -> list[dict]:
    return scheme.tree_to_json(service.replace_tree(session, actor, year_id, subject, tree))


@router.post("/years/{year_id}/open", summary="开始考评（指标体系冻结，可录入评分）")
def open_year(year_id: int = YearId, session: Session = Depends(get_session, scope="function"),
              clock: Clock = Depends(get_clock), actor: Actor = Depends(manage)) -> dict[str, Any]:
    return service.year_to_json(service.open_year(session, actor, year_id, clock.now()))


@router.put("/years/{year_id}/plans/{unit_code}", summary="单位目标计划书")
def put_plan(body: PlanIn, unit_code: str = Path(..., max_length=100), year_id: int = YearId,
             session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
             actor: Actor = Depends(manage)) -> dict[str, Any]:
    plan = service.save_plan(session, actor, year_id, unit_code, body.text, clock.now())
    return {"unit_code": plan.unit_code, "text": plan.text, "submitted_by": plan.submitted_by,
            "submitted_at": plan.submitted_at.isoformat()}


@router.post("/years/{year_id}/scores", summary="录入评分（主观指标；客观指标由系统计算）")
def post_scores(body: ScoresIn, year_id: int = YearId, session: Session = Depends(get_session, scope="function"),
                clock: Clock = Depends(get_clock), actor: Actor = Depends(enter)) -> dict[str, int]:
    entries = [service.ScoreEntry(s.subject, s.code, s.indicator, s.value, s.note) for s in body.scores]
    return {"saved": service.enter_scores(session, actor, year_id, entries, clock.now())}


@router.post("/years/{year_id}/sanctions", summary="登记降等依据：人员受处分、单位重大事故")
def post_sanction(body: SanctionIn, year_id: int = YearId, session: Session = Depends(get_session, scope="function"),
                  clock: Clock = Depends(get_clock), actor: Actor = Depends(manage)) -> dict[str, Any]:
    row = service.record_sanction(session, actor, year_id, body.kind, body.code, body.reason, clock.now())
    return {"id": row.id, "kind": row.kind, "code": row.subject_code, "reason": row.reason}


@router.get("/years/{year_id}/units/{unit_code}/indicators", summary="单位的客观指标：数值、公式和所依据的办件")
def get_indicators(unit_code: str = Path(..., max_length=100), year_id: int = YearId,
                   session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
                   actor: Actor = Depends(read)) -> list[dict[str, Any]]:
    return service.indicator_report(session, actor, year_id, unit_code, clock.now())


@router.post("/years/{year_id}/compute", summary="计算结果：客观指标、总分、等次、降等、先进")
def compute(year_id: int = YearId, session: Session = Depends(get_session, scope="function"),
            clock: Clock = Depends(get_clock), actor: Actor = Depends(manage)) -> dict[str, Any]:
    service.compute_results(session, actor, year_id, clock.now())
    return service.results(session, actor, year_id)


@router.get("/years/{year_id}/results", summary="考评结果")
def get_results(year_id: int = YearId, session: Session = Depends(get_session, scope="function"),
                actor: Actor = Depends(read)) -> dict[str, Any]:
    return service.results(session, actor, year_id)


@router.post("/years/{year_id}/publish", summary="发布结果（年度结束）")
def publish(year_id: int = YearId, session: Session = Depends(get_session, scope="function"),
            clock: Clock = Depends(get_clock), actor: Actor = Depends(manage)) -> dict[str, Any]:
    return service.year_to_json(service.publish(session, actor, year_id, clock.now()))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/years/{year_id}/export.xlsx", summary="导出考评结果（xlsx：单位考评结果、个人考评结果、指标）",
            response_class=Response, responses={200: {"content": {XLSX: {}}}})
def export_xlsx(year_id: int = YearId, session: Session = Depends(get_session, scope="function"),
                actor: Actor = Depends(read)) -> Response:
    content, filename = export.write_xlsx(session, actor, year_id)
    # The ASCII name serves old clients; filename* (RFC 5987) carries the Chinese name.
    disposition = f"attachment; filename=\"evaluation-{year_id}.xlsx\"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(content=content, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get("/years/{year_id}/units/{unit_code}", summary="一个单位的考评：各指标得分、总分、等次及本单位人员（单位负责人可看本单位）")
def get_unit(unit_code: str = Path(..., max_length=100), year_id: int = YearId,
             session: Session = Depends(get_session, scope="function"),
             actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    year = service.get_year(session, year_id)
    policy.require_unit_evaluation(session, actor, unit_code, by_department=year.scope_kind == SCOPE_REGION,
                                   year_catalog=year.catalog_version_id)
    found = export.report(session, year_id, unit_code)
    return {"year": service.year_to_json(year), "unit": export.scored_to_json(found.units[0]),
            "staff": [export.scored_to_json(person) for person in found.ranked("staff")]}


def on_startup(app: FastAPI) -> None:
    """Nothing to start."""


def on_shutdown(app: FastAPI) -> None:
    """Nothing to stop."""
