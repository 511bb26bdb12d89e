"""Routes: process diagrams (SVG) — a deployed process, and an instance with its current steps
highlighted and finished steps shaded. Who may see an instance is the runtime's rule."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Response
from sqlmodel import Session

from api.deps import DB_INT_MAX, get_session
from api.security import require_actor
from engine.auth.roles import Actor
from engine.runtime import service
from engine.runtime.diagram import definition_svg, instance_svg

router = APIRouter()
SVG = "image/svg+xml"


@router.get("/definitions/{process_id}/diagram.svg", summary="流程图（最新部署版本，SVG）",
            response_class=Response, responses={200: {"content": {SVG: {}}}})
def definition_diagram(process_id: str, session: Session = Depends(get_session, scope="function"),
                       _actor: Actor = Depends(require_actor)) -> Response:
    return Response(definition_svg(session, process_id), media_type=SVG)


@router.get("/instances/{instance_id}/diagram.svg", summary="流程实例图：当前步骤高亮、已办步骤灰显（SVG）",
            response_class=Response, responses={200: {"content": {SVG: {}}}})
def instance_diagram(instance_id: int = Path(ge=0, le=DB_INT_MAX),
                     session: Session = Depends(get_session, scope="function"),
                     actor: Actor = Depends(require_actor)) -> Response:
    service.get_instance(session, instance_id, actor)  # NotFound / Forbidden as for the instance itself
    return Response(instance_svg(session, instance_id), media_type=SVG)

