"""The coordinators' dashboard (编办、效能办): alerts with the overlap graph, disputes, matters at risk,
completion and on-time rates, and the efficiency office's forms to start a 自查 campaign
(self_inspection_campaign) and register a 投诉 (efficiency_complaint). Everything shown comes from
the analysis and runtime services."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from api import messages
from api.deps import DB_INT_MAX, get_clock
from api.pages import metrics_view
from api.pages.web import PageRoute, flash, page_session, redirect, render, require_page_action
from engine.analysis import alerts, diagrams
from engine.analysis.findings import (
    BOUNDARY_LABELS,
    CATEGORY_LABELS,
    GAP_LABELS,
    OVERLAP,
    OVERLAP_LABELS,
    RUNAROUND,
    SUSPECTED_OVERLAP,
)
from engine.analysis.report import analyze
from engine.analysis.sources import latest_version_id, load_version
from engine.auth import policy
from engine.auth.roles import EFFICIENCY_OFFICE, Actor
from engine.catalog import service as catalog
from engine.clock import Clock
from engine.errors import InvalidInput, NotFound
from engine.models.analysis import ACKNOWLEDGED, CLOSED, OPEN, RESOLVED
from engine.runtime import service as runtime

router = APIRouter(route_class=PageRoute)
coordinator = require_page_action(policy.Action.READ_ALERTS)
alert_handler = require_page_action(policy.Action.HANDLE_ALERTS)

KIND_LABELS = {**OVERLAP_LABELS, **GAP_LABELS, **BOUNDARY_LABELS, SUSPECTED_OVERLAP: "名称相似", RUNAROUND: "转办循环"}
STATUS_LABELS = {OPEN: "待处理", ACKNOWLEDGED: "处理中", "resolved": "已办结", "closed": "已消除"}
DISPUTABLE = (OVERLAP, SUSPECTED_OVERLAP)


def svg_markup(svg: str) -> str:
    """graphviz's SVG without the XML prolog and DOCTYPE, ready to sit inside the page."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


@dataclass(frozen=True)
class OverlapGraph:
    svg: str
    suspected: bool  # whether dashed 疑似交叉 edges are drawn (the legend names only what is there)


def overlap_svg(session: Session) -> OverlapGraph | None:
    """The overlap graph of the newest catalog version, or None when no catalog is loaded."""
    try:
        document = load_version(session, latest_version_id(session))
    except NotFound:
        return None
    report = analyze(document)
    return OverlapGraph(svg_markup(diagrams.render_svg(diagrams.overlap_graph(document, report))),
                        bool(report.suspected_overlaps))


PAGE_SIZE = 50
# The status filter: "" = what is still to handle (待处理 and 处理中), "all" = every status.
STATUS_FILTERS = {"": "待处理与处理中", OPEN: "待处理", ACKNOWLEDGED: "处理中", RESOLVED: "已办结",
                  CLOSED: "已消除", "all": "全部状态"}


def department_versions(session: Session) -> list[int]:
    """The catalog versions whose departments the alerts are grouped by: each region's version in
    force, or the newest draft when nothing is published yet (as the names shown elsewhere)."""
    versions = catalog.in_force_versions(session)
    if not versions and (current := catalog.current_version(session)) is not None:
        versions = [current]
    return [v.id for v in versions]


def department_names(session: Session, version_ids: list[int]) -> dict[str, str]:
    names: dict[str, str] = {}
    for version_id in version_ids:
        for department in catalog.list_departments(session, version_id):
            names.setdefault(department.code, department.name)
    return names


def page_url(query: dict[str, str], page: int) -> str:
    return "/dashboard?" + urlencode({**query, "page": page}) + "#alerts"


def page_links(query: dict[str, str], page: int, pages: int) -> list[dict]:
    """Links to the first, last and nearby pages; an entry with gap=True stands for "…"."""
    shown = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    links: list[dict] = []
    for number in shown:
        if links and number - links[-1]["page"] > 1:
            links.append({"page": number - 1, "gap": True})
        links.append({"page": number, "gap": False, "current": number == page,
                      "url": page_url(query, number)})
    return links


@router.get("/dashboard")
def dashboard(
    request: Request,
    category: str = Query("", max_length=40),
    kind: str = Query("", max_length=40),
    status: str = Query("", max_length=20),
    department: str = Query("", max_length=100),
    page: int = Query(1, ge=1, le=DB_INT_MAX // PAGE_SIZE),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(coordinator),
) -> Response:
    if status not in STATUS_FILTERS:
        raise InvalidInput("预警状态无效", [f"status: 应为 {', '.join(k for k in STATUS_FILTERS if k)} 之一或留空"])
    statuses = () if status == "all" else (status,) if status else alerts.ACTIVE
    # The counts follow the status filter only, so they stay a map of everything to handle.
    by_status = alerts.AlertFilter(statuses=statuses)
    where = alerts.AlertFilter(statuses=statuses, kind=kind or None, category=category or None,
                               department=department or None)
    total = alerts.count_alerts(session, where)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)  # past the end: the last page, with its number shown
    versions = department_versions(session)
    names = department_names(session, versions)
    kinds = alerts.counts_by_kind(session, by_status)
    by_category: Counter[str] = Counter()
    for cat, _kind, n in kinds:
        by_category[cat] += n
    department_rows, unassigned = alerts.counts_by_department(session, by_status, versions)
    departments: dict[str, Counter[str]] = {}
    for code, cat, n in department_rows:
        departments.setdefault(code, Counter())[cat] += n
    query = {k: v for k, v in (("category", category), ("kind", kind), ("status", status),
                               ("department", department)) if v}
    return render(request, "dashboard.html", {
        "title": "监督看板",
        "alerts": alerts.page_alerts(session, where, PAGE_SIZE, (page - 1) * PAGE_SIZE),
        "total": total,
        "page": page,
        "pages": pages,
        "page_links": page_links(query, page, pages),
        "prev_url": page_url(query, page - 1) if page > 1 else None,
        "next_url": page_url(query, page + 1) if page < pages else None,
        "department_options": names,
        "first_row": (page - 1) * PAGE_SIZE + 1,
        "filters": {"category": category, "kind": kind, "status": status, "department": department},
        "filtered": bool(category or kind or department),
        "status_filters": STATUS_FILTERS,
        "all_count": sum(by_category.values()),
        "counts": by_category,
        "kind_counts": kinds,
        "department_counts": sorted(departments.items(), key=lambda item: (-sum(item[1].values()), item[0])),
        "unassigned": unassigned,
        "category_labels": CATEGORY_LABELS,
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "disputable": DISPUTABLE,
        "overlap_svg": overlap_svg(session),
        "runtime": metrics_view.dashboard_figures(session, clock),
        "department_names": {**metrics_view.names_of_current_catalog(session), **names},
        "office_forms": office_forms(session) if actor.has_role(EFFICIENCY_OFFICE) else None,
    }, actor=actor)


# ---------------------------------------------------------------- the efficiency office's forms

CAMPAIGN = "self_inspection_campaign"
COMPLAINT = "efficiency_complaint"
TEXT_MAX = 200


def office_forms(session: Session) -> dict:
    """What the 自查 and 投诉 forms offer: the current catalog's departments and their units."""
    version = catalog.current_version(session)
    departments = catalog.list_departments(session, version.id) if version is not None else []
    return {"departments": [{"code": d.code, "name": d.name,
                             "units": [{"code": u.code, "name": u.name} for u in d.units]} for d in departments]}


def _started(request: Request, instance, what: str) -> Response:
    if instance.status == "failed":
        raise InvalidInput(f"{what}未能启动", [instance.error or "流程出错"])
    flash(request, f"已{what}（办件 #{instance.id}）")
    return redirect(f"/cases/{instance.id}")


@router.post("/dashboard/campaigns")
def start_campaign(
    request: Request,
    units: list[str] = Form([]),
    title: str = Form("", max_length=TEXT_MAX),
    rectify_limit: str = Form("", max_length=40),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(coordinator),
) -> Response:
    """Start a 自查 campaign for the units ticked (the process checks each against the catalog)."""
    chosen = [u.strip() for u in units if u.strip()]
    if not chosen:
        raise InvalidInput("请至少选择一个参加自查的内设机构", ["参加单位: 未选择"])
    data: dict = {"units": chosen, "title": title.strip() or "自查自纠专项活动"}
    if rectify_limit.strip():
        data["rectify_limit"] = rectify_limit.strip()
    data["subject"] = data["title"]
    with messages.fields_by_their_labels():
        instance = runtime.start_instance(session, clock, CAMPAIGN, data, actor)
    return _started(request, instance, "发起自查活动")


@router.post("/dashboard/complaints")
def register_complaint(
    request: Request,
    subject: str = Form("", max_length=TEXT_MAX),
    complainant: str = Form("", max_length=100),
    contact: str = Form("", max_length=100),
    department: str = Form("", max_length=100),
    duty_code: str = Form("", max_length=100),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(coordinator),
) -> Response:
    """Register a 投诉; the process checks it is complete and proposes the departments concerned."""
    data = {key: value.strip() for key, value in (("subject", subject), ("complainant", complainant),
                                                  ("contact", contact), ("department", department),
                                                  ("duty_code", duty_code)) if value.strip()}
    with messages.fields_by_their_labels():
        instance = runtime.start_instance(session, clock, COMPLAINT, data, actor)
    return _started(request, instance, "登记效能投诉")


@router.post("/dashboard/analyze")
def run_analysis(
    request: Request,
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(alert_handler),
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
    actor: Actor = Depends(alert_handler),
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
    actor: Actor = Depends(alert_handler),
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
    actor: Actor = Depends(alert_handler),
) -> Response:
    alerts.resolve(session, alert_id, actor, clock.now(), resolution.strip() or None)
    flash(request, f"预警 {alert_id} 已办结")
    return redirect("/dashboard")
