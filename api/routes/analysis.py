"""Routes: analysis reports, coordinator alerts, diagrams (SVG)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Response
from sqlmodel import Session

from api.deps import DB_INT_MAX, get_clock, get_session
from api.security import require_action, require_actor
from engine.analysis import alerts, diagrams
from engine.analysis.report import analyze
from engine.analysis.runaround import find_runarounds
from engine.analysis.similarity import DEFAULT_THRESHOLD
from engine.analysis.sources import load_version, resolve_version_id
from engine.analysis.transfers import post_departments, transfer_records
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.clock import Clock

router = APIRouter()

# Alerts and runarounds are the coordinators' working findings (编办, 效能办; engine.auth.policy);
# reports and diagrams describe the catalog itself, which every signed-in person may read.
read_alerts = require_action(Action.READ_ALERTS)
handle_alerts = require_action(Action.HANDLE_ALERTS)

VersionQuery = Query(None, description="清单版本：编号、版本号、current、published 或 latest；默认 current")
ThresholdQuery = Query(DEFAULT_THRESHOLD, gt=0.0, le=1.0, description="名称相似度阈值")
# Ids and offsets bounded to what the database's INTEGER holds: past it, 422 naming the parameter.
AlertId = Path(..., ge=1, le=DB_INT_MAX, description="预警编号")
SVG = "image/svg+xml"


def _version_id(session: Session, version: str | None, region: str | None = None) -> int:
    return resolve_version_id(session, version or None, region)


RegionQuery = Query(None, max_length=200, description="区划；不给时分析每个区划的现行版本")


@router.post("/analysis/run", summary="分析各区划的现行版本并刷新预警（草稿只能预览，不产生预警）")
def run_analysis(
    version: str | None = Query(None, description="只分析这个版本（须为其区划的现行版本）；默认各区划的现行版本"),
    region: str | None = RegionQuery,
    threshold: float = ThresholdQuery,
    session: Session = Depends(get_session, scope="function"),
    clock: Clock = Depends(get_clock),
    _actor: Actor = Depends(handle_alerts),
) -> dict[str, Any]:
    if version:
        results = [alerts.refresh_alerts(session, _version_id(session, version, region), clock.now(), threshold=threshold)]
    else:
        results = alerts.refresh_in_force(session, clock.now(), region=region, threshold=threshold)
    runarounds = alerts.refresh_runaround_alerts(session, clock.now())
    totals = {key: sum(r.to_json_dict()[key] for r in results) for key in ("created", "kept", "closed", "reopened")}
    body: dict[str, Any] = {
        "alerts": {"version_id": results[0].version_id if len(results) == 1 else None,
                   "scope": results[0].scope if len(results) == 1 else None, **totals},
        "regions": [{"region": r.report.region, **r.to_json_dict()} for r in results],
        "runaround_alerts": runarounds.to_json_dict(),
    }
    # One catalog analysed: its report as before; several: each region's counts above.
    if len(results) == 1:
        body["report"] = results[0].report.to_json_dict()
    return body


@router.get("/analysis/runarounds", summary="推诿检测：在岗位或部门间循环转办的事项")
def get_runarounds(session: Session = Depends(get_session, scope="function"), _actor: Actor = Depends(read_alerts)) -> list[dict]:
    found = find_runarounds(transfer_records(session), post_departments(session))
    return [f.to_json_dict() for f in found]


@router.get("/analysis/report", summary="分析报告（规范 JSON 格式）")
def get_report(
    version: str | None = VersionQuery,
    threshold: float = ThresholdQuery,
    format: Literal["json"] = Query("json", description="报告格式（json）"),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
) -> dict[str, Any]:
    document = load_version(session, _version_id(session, version))
    return analyze(document, threshold=threshold).to_json_dict()


@router.get("/alerts", summary="预警列表（可按状态、类型、部门筛选）")
def list_alerts(
    status: str | None = Query(None, description="open / acknowledged / resolved / closed"),
    kind: str | None = Query(None, description="报告中的类型（taxonomy、post_vacant…）或类别（overlap、gap…）"),
    department: str | None = Query(None, description="部门编码"),
    limit: int = Query(500, ge=1, le=5000),
    offset: int = Query(0, ge=0, le=DB_INT_MAX),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(read_alerts),
) -> list[dict[str, Any]]:
    found = alerts.list_alerts(session, status=status, kind=kind, department=department, limit=limit, offset=offset)
    return [alerts.alert_to_dict(a) for a in found]


@router.get("/alerts/{alert_id}", summary="预警详情")
def get_alert(alert_id: int = AlertId, session: Session = Depends(get_session, scope="function"), _actor: Actor = Depends(read_alerts)):
    return alerts.alert_to_dict(alerts.get_alert(session, alert_id))


@router.post("/alerts/{alert_id}/acknowledge", summary="确认预警（已知悉、正在处理）")
def acknowledge_alert(
    alert_id: int = AlertId,
    session: Session = Depends(get_session, scope="function"),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(handle_alerts),
) -> dict[str, Any]:
    return alerts.alert_to_dict(alerts.acknowledge(session, alert_id, actor, clock.now()))


@router.post("/alerts/{alert_id}/resolve", summary="办结预警")
def resolve_alert(
    alert_id: int = AlertId,
    resolution: str | None = Body(None, embed=True, description="处理结果说明"),
    session: Session = Depends(get_session, scope="function"),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(handle_alerts),
) -> dict[str, Any]:
    return alerts.alert_to_dict(alerts.resolve(session, alert_id, actor, clock.now(), resolution))


@router.post("/alerts/{alert_id}/dispute", summary="就职责交叉预警发起职责争议流程")
def open_dispute(
    alert_id: int = AlertId,
    session: Session = Depends(get_session, scope="function"),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(handle_alerts),
) -> dict[str, Any]:
    return alerts.alert_to_dict(alerts.open_dispute(session, alert_id, actor, clock))


def _svg(graph) -> Response:
    return Response(content=diagrams.render_svg(graph), media_type=SVG)


@router.get("/diagrams/sanding/{department}.svg", summary="部门三定结构图", response_class=Response)
def sanding_svg(
    department: str,
    version: str | None = VersionQuery,
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
) -> Response:
    document = load_version(session, _version_id(session, version))
    return _svg(diagrams.sanding_graph(document, department))


@router.get("/diagrams/overlaps.svg", summary="职责交叉关系图", response_class=Response)
def overlaps_svg(
    version: str | None = VersionQuery,
    threshold: float = ThresholdQuery,
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
) -> Response:
    document = load_version(session, _version_id(session, version))
    return _svg(diagrams.overlap_graph(document, analyze(document, threshold=threshold)))


@router.get("/diagrams/taxonomy.svg", summary="对象分类与承担部门图", response_class=Response)
def taxonomy_svg(
    version: str | None = VersionQuery,
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
) -> Response:
    document = load_version(session, _version_id(session, version))
    return _svg(diagrams.taxonomy_graph(document, analyze(document)))


def on_startup(app: FastAPI) -> None:
    """Nothing to start: analyses run on request and after catalog import/publish."""


def on_shutdown(app: FastAPI) -> None:
    """Nothing to stop."""
