"""The coordinators' dashboard (编办、效能办): alerts with the overlap graph, disputes, matters at risk,
completion and on-time rates. Everything shown comes from the analysis and runtime services."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import DB_INT_MAX, get_clock
from api.pages import metrics_view
from api.pages.web import PageRoute, flash, page_session, redirect, render, require_page_roles
from engine.analysis import alerts, diagrams
from engine.analysis.findings import (
    BOUNDARY_LABELS,
    GAP_LABELS,
    OVERLAP,
    OVERLAP_LABELS,
    RUNAROUND,
    SUSPECTED_OVERLAP,
)
from engine.analysis.models import ACKNOWLEDGED, OPEN
from engine.analysis.report import analyze
from engine.analysis.sources import latest_version_id, load_version
from engine.auth.roles import EFFICIENCY_OFFICE, ESTABLISHMENT_OFFICE, Actor
from engine.clock import Clock
from engine.errors import NotFound

router = APIRouter(route_class=PageRoute)
coordinator = require_page_roles(ESTABLISHMENT_OFFICE, EFFICIENCY_OFFICE)

CATEGORY_LABELS = {OVERLAP: "职责交叉", SUSPECTED_OVERLAP: "疑似交叉", "gap": "职责空缺", RUNAROUND: "推诿",
                   "boundary": "审管衔接"}
KIND_LABELS = {**OVERLAP_LABELS, **GAP_LABELS, **BOUNDARY_LABELS, SUSPECTED_OVERLAP: "名称相似", RUNAROUND: "转办循环"}
STATUS_LABELS = {OPEN: "待处理", ACKNOWLEDGED: "处理中", "resolved": "已办结", "closed": "已消除"}
DISPUTABLE = (OVERLAP, SUSPECTED_OVERLAP)


def svg_markup(svg: str) -> str:
    """graphviz's SVG without the XML prolog and DOCTYPE, ready to sit inside the page."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def overlap_svg(session: Session) -> str | None:
    """The overlap graph of the newest catalog version, or None when no catalog is loaded."""
    try:
        document = load_version(session, latest_version_id(session))
    except NotFound:
        return None
    return svg_markup(diagrams.render_svg(diagrams.overlap_graph(document, analyze(document))))


def open_alerts(session: Session, category: str | None) -> list:
    found = [*alerts.list_alerts(session, status=OPEN, category=category),
             *alerts.list_alerts(session, status=ACKNOWLEDGED, category=category)]
    severity_order = {"high": 0, "medium": 1, "low": 2}
    return sorted(found, key=lambda a: (severity_order.get(a.severity, 9), a.category, a.id))


@router.get("/dashboard")
def dashboard(
    request: Request,
    category: str | None = None,
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(coordinator),
) -> Response:
    shown = open_alerts(session, category or None)
    counts = Counter(a.category for a in open_alerts(session, None))
    return render(request, "dashboard.html", {
        "title": "监督看板",
        "alerts": shown,
        "category": category or "",
        "counts": counts,
        "category_labels": CATEGORY_LABELS,
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "disputable": DISPUTABLE,
        "overlap_svg": overlap_svg(session),
        "runtime": metrics_view.dashboard_figures(session, clock),
        "department_names": metrics_view.names_of_current_catalog(session),
    }, actor=actor)


@router.post("/dashboard/analyze")
def run_analysis(
    request: Request,
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(coordinator),
) -> Response:
    # Every region's version in force (alerts follow nothing else; drafts are previewed on /legal).
    results = alerts.refresh_in_force(session, clock.now())
    if not results:
        flash(request, "没有已发布的清单版本：预警只跟随各区划的现行版本，草稿请在清单管理页预览")
        return redirect("/dashboard")
    flash(request, "分析完成：" + "；".join(
        f"{r.report.region} 新增 {len(r.created)} 条预警，消除 {len(r.closed)} 条，重新出现 {len(r.reopened)} 条"
        for r in results))
    return redirect("/dashboard")


@router.post("/dashboard/alerts/{alert_id}/dispute")
def open_dispute(
    request: Request,
    alert_id: int = Path(ge=0, le=DB_INT_MAX),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(coordinator),
) -> Response:
    alert = alerts.open_dispute(session, alert_id, actor, clock)
    flash(request, f"已发起职责争议协调流程（实例 {alert.dispute_instance_id}）：{alert.summary}")
    return redirect("/dashboard")


@router.post("/dashboard/alerts/{alert_id}/acknowledge")
def acknowledge(
    request: Request,
    alert_id: int = Path(ge=0, le=DB_INT_MAX),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(coordinator),
) -> Response:
    alerts.acknowledge(session, alert_id, actor, clock.now())
    flash(request, f"预警 {alert_id} 已确认，转入处理中")
    return redirect("/dashboard")


@router.post("/dashboard/alerts/{alert_id}/resolve")
def resolve(
    request: Request,
    alert_id: int = Path(ge=0, le=DB_INT_MAX),
    resolution: str = Form(""),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(coordinator),
) -> Response:
    alerts.resolve(session, alert_id, actor, clock.now(), resolution.strip() or None)
    flash(request, f"预警 {alert_id} 已办结")
    return redirect("/dashboard")
