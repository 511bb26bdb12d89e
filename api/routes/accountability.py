"""Routes: 问责台账 (engine.accountability) under /api/accountability, and the year-end
满意度测评 ballots (engine.evaluation.survey) under /api/evaluation/surveys. Who may:
docs/permissions.md. The sanctions themselves are decided through the `accountability` process
(POST /api/instances), the surveys opened and closed through `evaluation_survey`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import DB_INT_MAX, get_clock, get_session
from api.security import require_action, require_actor
from engine.accountability import ledger
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.clock import Clock
from engine.evaluation import survey

router = APIRouter()

read_ledger = require_action(Action.READ_ACCOUNTABILITY)
read_evaluation = require_action(Action.READ_EVALUATION)
ActionId = Path(..., ge=1, le=DB_INT_MAX, description="问责记录编号")
SurveyId = Path(..., ge=1, le=DB_INT_MAX, description="满意度测评编号")


class BallotIn(BaseModel):
    scores: dict[str, str | float | int] = Field(..., max_length=2000,
                                                 description="{单位编码或人员编号: 0–100 的分数，最多两位小数}")


@router.get("/accountability", summary="问责台账", tags=["accountability 问责"])
def list_ledger(staff_id: str | None = Query(None, max_length=100, description="被问责人员编号"),
                year: int | None = Query(None, ge=2000, le=2100, description="决定年度"),
                limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0, le=DB_INT_MAX),
                session: Session = Depends(get_session, scope="function"),
                actor: Actor = Depends(read_ledger)) -> list[dict[str, Any]]:
    rows = ledger.ledger(session, actor, staff_id=staff_id, year=year, limit=limit, offset=offset)
    return [ledger.to_json(row) for row in rows]


@router.get("/accountability/{action_id}", summary="一条问责记录", tags=["accountability 问责"])
def get_entry(action_id: int = ActionId, session: Session = Depends(get_session, scope="function"),
              actor: Actor = Depends(read_ledger)) -> dict[str, Any]:
    return ledger.to_json(ledger.get(session, actor, action_id))


@router.get("/evaluation/surveys/{survey_id}", summary="满意度测评表：本人要评议的单位或人员、是否已投票",
            tags=["evaluation 绩效考评"])
def survey_form(survey_id: int = SurveyId, session: Session = Depends(get_session, scope="function"),
                actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    return survey.form(session, actor, survey_id)


@router.post("/evaluation/surveys/{survey_id}/ballot", summary="提交本人的满意度测评表（每人一次）",
             tags=["evaluation 绩效考评"])
def cast_ballot(body: BallotIn = Body(...), survey_id: int = SurveyId,
                session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
                actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    survey.cast_ballot(session, actor, survey_id, body.scores, clock.now())
    return survey.own_ballot(session, actor, survey_id)


@router.get("/evaluation/surveys/{survey_id}/ballot", summary="本人的测评票（只能看本人的）",
            tags=["evaluation 绩效考评"])
def own_ballot(survey_id: int = SurveyId, session: Session = Depends(get_session, scope="function"),
               actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    return survey.own_ballot(session, actor, survey_id)


@router.get("/evaluation/surveys/{survey_id}/progress", summary="测评进度：各组已投票数（不含票面内容）",
            tags=["evaluation 绩效考评"])
def survey_progress(survey_id: int = SurveyId, session: Session = Depends(get_session, scope="function"),
                    actor: Actor = Depends(read_evaluation)) -> dict[str, Any]:
    return survey.progress(session, actor, survey_id)
