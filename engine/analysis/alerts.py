"""Coordinator alerts: the findings of each analysis kept as rows, one per distinct finding.

Life cycle (decided here, documented for coordinators):
- a new finding -> a new `open` alert;
- a finding seen again -> the same alert, its summary/payload/last_seen_at refreshed, status kept;
- an `open` or `acknowledged` alert whose finding disappeared -> `closed` (closed_at set);
- a `closed` alert whose finding comes back -> `open` again (reopened_count + 1): the problem
  returned, coordinators must see it;
- a `resolved` alert stays resolved whatever later analyses find: a coordinator ruled on it (for
  example, accepted an overlap after a dispute), and re-raising it on every import would be noise.
Alerts follow the version in force of each region (its newest published version) and nothing
else: publishing a version syncs its region's alerts (raise, close, re-point catalog_version_id)
and no other region's; importing a draft touches no alert. Before, the newest analysed version
won, so one real table imported as a draft raised 624 alerts, re-pointed the demo region's at
the draft and closed two that still stood in the published version; the next run re-opened
them. A draft gets a preview instead (`preview`): the report and what publishing it would
raise and close, written nowhere.
Runaround alerts (scope "runtime:runaround") come from the transfer log and are refreshed by
`refresh_runaround_alerts`, e.g. through POST /api/analysis/run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal
from sqlmodel import Session, col, select

from engine.analysis.findings import OVERLAP, SUSPECTED_OVERLAP, Finding, report_findings, runaround_finding

# The preview of a draft and the alert scopes live in engine.analysis.preview, which needs neither
# the runtime nor the accounts (the CLI's `analyze` loads only it); named here as well, as before.
from engine.analysis.preview import Preview as Preview
from engine.analysis.preview import catalog_scope, region_prefix
from engine.analysis.preview import preview as preview
from engine.analysis.report import AnalysisReport, analyze
from engine.analysis.runaround import RunaroundFinding, find_runarounds
from engine.analysis.similarity import DEFAULT_THRESHOLD
from engine.analysis.transfers import post_departments, transfer_records
from engine.auth.roles import Actor
from engine.catalog.document import CatalogDocument
from engine.catalog.service import get_version, in_force_versions, load_document, version_in_force
from engine.clock import Clock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.analysis import ACKNOWLEDGED, CLOSED, OPEN, RESOLVED, STATUSES, Alert
from engine.models.catalog import CatalogDepartment
from engine.runtime.instance_service import start_instance

DISPUTE_PROCESS_ID = "duty_dispute"
RUNAROUND_SCOPE = "runtime:runaround"


@dataclass
class RefreshResult:
    version_id: int | None
    scope: str
    created: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    report: AnalysisReport | None = None
    runarounds: list[RunaroundFinding] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "scope": self.scope,
            "created": len(self.created),
            "kept": len(self.kept),
            "closed": len(self.closed),
            "reopened": len(self.reopened),
        }


def refresh_alerts(session: Session, version_id: int, now: datetime, threshold: float = DEFAULT_THRESHOLD) -> RefreshResult:
    """Analyse the region's version in force and bring the region's alerts up to date (in the
    caller's transaction). Any other version (a draft, or one superseded) → Conflict: it would
    re-point the region's alerts at a catalog that is not in force; use `preview`.

    Called by the catalog service on publish, and by `POST /api/analysis/run`.
    """
    version = get_version(session, version_id)
    in_force = version_in_force(session, version.region)
    if in_force is None or in_force.id != version.id:
        what = "草稿" if not version.is_published else "已被新版本取代的版本"
        now_in_force = f"{version.region} 现行版本为 '{in_force.version}'（编号 {in_force.id}）" if in_force \
            else f"{version.region} 尚无已发布版本"
        raise Conflict(
            f"版本 '{version.version}'（编号 {version.id}）是{what}，不产生预警",
            [f"version: 预警只跟随各区划的现行（最新发布）版本；{now_in_force}。草稿请用预览报告"
             "（dutyflow analyze 版本 或 /legal 页面），发布后自动同步预警"],
        )
    document = load_document(session, version_id)
    result = refresh_alerts_for_document(session, document, now, version_id=version_id, threshold=threshold)
    # Another catalog name of the same region (renamed between versions) is no longer in force:
    # its open alerts close, so a region never shows two catalogs' findings at once.
    own = catalog_scope(document)
    stale = session.exec(
        select(Alert).where(
            col(Alert.scope).startswith(region_prefix(version.region), autoescape=True),
            Alert.scope != own,
            col(Alert.status).in_((OPEN, ACKNOWLEDGED)),
        )
    ).all()
    for alert in stale:
        alert.status = CLOSED
        alert.closed_at = now
        session.add(alert)
        result.closed.append(alert.id)
    session.flush()
    return result


def refresh_in_force(
    session: Session, now: datetime, region: str | None = None, threshold: float = DEFAULT_THRESHOLD
) -> list[RefreshResult]:
    """Refresh the alerts of every region's version in force (or of `region` only).

    A region with drafts only has nothing in force and is skipped; a named region without a
    published version → NotFound.
    """
    if region is not None:
        version = version_in_force(session, region)
        if version is None:
            raise NotFound(f"{region} 尚无已发布的清单版本", [f"region: '{region}' 没有现行版本，预警只跟随已发布版本"])
        versions = [version]
    else:
        versions = in_force_versions(session)
    return [refresh_alerts(session, v.id, now, threshold=threshold) for v in versions]


def refresh_alerts_for_document(
    session: Session,
    document: CatalogDocument,
    now: datetime,
    version_id: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> RefreshResult:
    report = analyze(document, threshold=threshold)
    result = sync_findings(session, catalog_scope(document), report_findings(report, document), now, version_id)
    result.report = report
    return result


def refresh_runaround_alerts(session: Session, now: datetime) -> RefreshResult:
    """Scan the runtime's transfer log for matters bounced in a circle (推诿) and alert on each."""
    departments = post_departments(session)
    found = find_runarounds(transfer_records(session), departments)
    result = sync_findings(session, RUNAROUND_SCOPE, (runaround_finding(f, departments) for f in found), now)
    result.runarounds = found
    return result


def sync_findings(
    session: Session, scope: str, findings: Iterable[Finding], now: datetime, version_id: int | None = None
) -> RefreshResult:
    """Insert new findings, refresh the ones seen again, close the ones gone (see module doc)."""
    _require_aware(now)
    existing = {a.finding_key: a for a in session.exec(select(Alert).where(Alert.scope == scope)).all()}
    result = RefreshResult(version_id=version_id, scope=scope)
    seen: set[str] = set()
    created: list[Alert] = []
    for finding in findings:
        if finding.key in seen:
            continue
        seen.add(finding.key)
        alert = existing.get(finding.key)
        if alert is None:
            alert = Alert(scope=scope, finding_key=finding.key, status=OPEN, first_seen_at=now, last_seen_at=now,
                          category=finding.category, kind=finding.kind, severity=finding.severity,
                          summary=finding.summary)
            _apply(alert, finding, now, version_id)  # the rest, as for an alert seen again
            created.append(alert)
            continue
        if alert.status == CLOSED:
            alert.status = OPEN
            alert.closed_at = None
            alert.reopened_count += 1
            result.reopened.append(alert.id)
        else:
            result.kept.append(alert.id)
        _apply(alert, finding, now, version_id)
        session.add(alert)
    for key, alert in existing.items():
        if key not in seen and alert.status in (OPEN, ACKNOWLEDGED):
            alert.status = CLOSED
            alert.closed_at = now
            session.add(alert)
            result.closed.append(alert.id)
    # One flush for all new rows: a catalog of 100k name-only duties brings 200k gap findings.
    session.add_all(created)
    session.flush()
    result.created = [alert.id for alert in created]
    return result


def _apply(alert: Alert, finding: Finding, now: datetime, version_id: int | None) -> None:
    alert.category = finding.category
    alert.kind = finding.kind
    alert.severity = finding.severity
    alert.summary = finding.summary[:1000]
    alert.payload = dict(finding.payload)
    alert.departments = "," + ",".join(finding.departments) + ","
    alert.last_seen_at = now
    if version_id is not None:
        alert.catalog_version_id = version_id


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"预警 {alert_id} 不存在", [f"alert_id: {alert_id}"])
    return alert


def list_alerts(
    session: Session,
    status: str | None = None,
    kind: str | None = None,
    department: str | None = None,
    category: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Alert]:
    """Alerts filtered by status, kind (the report's kind or the category), department code."""
    if status is not None and status not in STATUSES:
        raise InvalidInput("预警状态无效", [f"status: '{status}' 不是 {', '.join(STATUSES)} 之一"])
    query = select(Alert)
    if status:
        query = query.where(Alert.status == status)
    if kind:
        query = query.where((Alert.kind == kind) | (Alert.category == kind))
    if category:
        query = query.where(Alert.category == category)
    if department:
        query = query.where(col(Alert.departments).contains(f",{department},"))
    query = query.order_by(col(Alert.id)).offset(offset).limit(limit)
    return list(session.exec(query).all())


# --- counting and paging, database-side (the dashboard) ------------------------------------------
# Before, the dashboard loaded at most 500 rows and counted those, so with 631 alerts it showed 500
# and said nothing. Counts now come from GROUP BY queries and the list from LIMIT/OFFSET pages.
ACTIVE = (OPEN, ACKNOWLEDGED)  # what coordinators still have to handle (待处理 + 处理中)
SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts: statuses (empty = every status), kind (the report's kind or the category),
    category, department code. None / empty means no restriction."""

    statuses: tuple[str, ...] = ACTIVE
    kind: str | None = None
    category: str | None = None
    department: str | None = None

    def apply(self, query):
        bad = [s for s in self.statuses if s not in STATUSES]
        if bad:
            raise InvalidInput("预警状态无效", [f"status: '{bad[0]}' 不是 {', '.join(STATUSES)} 之一"])
        if self.statuses:
            query = query.where(col(Alert.status).in_(self.statuses))
        if self.kind:
            query = query.where((Alert.kind == self.kind) | (Alert.category == self.kind))
        if self.category:
            query = query.where(Alert.category == self.category)
        if self.department:
            # autoescape: a code holding % or _ matches itself, not as a LIKE wildcard.
            query = query.where(col(Alert.departments).contains(f",{self.department},", autoescape=True))
        return query


def count_alerts(session: Session, where: AlertFilter) -> int:
    return session.exec(where.apply(select(func.count()).select_from(Alert))).one()


def page_alerts(session: Session, where: AlertFilter, limit: int, offset: int) -> list[Alert]:
    """One page of alerts, the most severe first (then by category and id, so pages are stable)."""
    rank = case(*((col(Alert.severity) == s, r) for s, r in SEVERITY_RANK.items()), else_=len(SEVERITY_RANK))
    query = where.apply(select(Alert)).order_by(rank, col(Alert.category), col(Alert.id))
    return list(session.exec(query.offset(offset).limit(limit)).all())


def counts_by_kind(session: Session, where: AlertFilter) -> list[tuple[str, str, int]]:
    """(category, kind, count) for every category and kind with at least one alert."""
    query = where.apply(select(Alert.category, Alert.kind, func.count()).select_from(Alert))
    query = query.group_by(col(Alert.category), col(Alert.kind)).order_by(col(Alert.category), col(Alert.kind))
    return [(c, k, n) for c, k, n in session.exec(query).all()]


def counts_by_department(
    session: Session, where: AlertFilter, version_ids: Iterable[int],
) -> tuple[list[tuple[str, str, int]], int]:
    """(department code, category, count) for the departments of the given catalog versions, and
    how many alerts name none of those departments.

    Joined in the database on `departments` (",A,B,") LIKE '%,' || code || ',%': an alert naming
    two departments counts once for each. The code is escaped so _ and % in it match themselves.
    """
    ids = list(version_ids)
    if not ids:
        return [], count_alerts(session, where)
    codes = (select(CatalogDepartment.code).where(col(CatalogDepartment.version_id).in_(ids))
             .distinct().subquery())
    escaped = func.replace(func.replace(func.replace(codes.c.code, "/", "//"), "%", "/%"), "_", "/_")
    matches = col(Alert.departments).like(literal("%,") + escaped + literal(",%"), escape="/")
    grouped = where.apply(select(codes.c.code, Alert.category, func.count()).select_from(Alert).join(codes, matches))
    grouped = grouped.group_by(codes.c.code, col(Alert.category)).order_by(codes.c.code, col(Alert.category))
    rows = [(code, category, n) for code, category, n in session.exec(grouped).all()]
    matched = session.exec(where.apply(
        select(func.count(func.distinct(Alert.id))).select_from(Alert).join(codes, matches))).one()
    return rows, count_alerts(session, where) - matched


def _actor_name(actor: Any) -> str:
    return getattr(actor, "username", None) or str(actor)


def acknowledge(session: Session, alert_id: int, actor: Any, now: datetime) -> Alert:
    """A coordinator has seen the alert and is dealing with it."""
    alert = get_alert(session, alert_id)
    if alert.status != OPEN:
        raise Conflict(f"预警 {alert_id} 当前状态为 {alert.status}，只有 open 状态的预警可以确认", [f"status: {alert.status}"])
    alert.status = ACKNOWLEDGED
    alert.acknowledged_at = now
    alert.acknowledged_by = _actor_name(actor)
    session.add(alert)
    session.flush()
    return alert


def resolve(session: Session, alert_id: int, actor: Any, now: datetime, resolution: str | None = None) -> Alert:
    """A coordinator ruled on the finding; later analyses leave the alert resolved."""
    alert = get_alert(session, alert_id)
    if alert.status not in (OPEN, ACKNOWLEDGED):
        raise Conflict(f"预警 {alert_id} 当前状态为 {alert.status}，不能再办结", [f"status: {alert.status}"])
    alert.status = RESOLVED
    alert.resolved_at = now
    alert.resolved_by = _actor_name(actor)
    alert.resolution = (resolution or "")[:2000] or None
    session.add(alert)
    session.flush()
    return alert


def dispute_data(alert: Alert) -> dict[str, Any]:
    """The variables the duty_dispute process starts with."""
    payload = alert.payload or {}
    return {
        "alert_id": alert.id,
        "finding": alert.category,
        "kind": alert.kind,
        "subject": alert.summary,
        "duties": list(payload.get("duties", [])),
        "departments": [d for d in alert.departments.split(",") if d],
        "object": payload.get("object"),
        "action": payload.get("action"),
        "catalog_version_id": alert.catalog_version_id,
    }


def open_dispute(session: Session, alert_id: int, actor: Actor, clock: Clock) -> Alert:
    """Start the duty_dispute process (职责争议协调) for an overlap alert and link it to the alert."""
    alert = get_alert(session, alert_id)
    if alert.category not in (OVERLAP, SUSPECTED_OVERLAP):
        raise Conflict("只有职责交叉（含疑似交叉）预警可以发起职责争议", [f"alert {alert_id}: category {alert.category}"])
    if alert.dispute_instance_id:
        raise Conflict(f"预警 {alert_id} 已发起职责争议（流程实例 {alert.dispute_instance_id}）", [])
    if alert.status not in (OPEN, ACKNOWLEDGED):
        raise Conflict(f"预警 {alert_id} 当前状态为 {alert.status}，不能发起职责争议", [f"status: {alert.status}"])
    instance = start_instance(session, clock, DISPUTE_PROCESS_ID, dispute_data(alert), actor)
    alert.dispute_instance_id = str(instance.id)
    if alert.status == OPEN:
        alert.status = ACKNOWLEDGED
        alert.acknowledged_at = clock.now()
        alert.acknowledged_by = _actor_name(actor)
    session.add(alert)
    session.flush()
    return alert


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "scope": alert.scope,
        "key": alert.finding_key,
        "category": alert.category,
        "kind": alert.kind,
        "severity": alert.severity,
        "summary": alert.summary,
        "payload": alert.payload,
        "departments": [d for d in alert.departments.split(",") if d],
        "status": alert.status,
        "catalog_version_id": alert.catalog_version_id,
        "first_seen_at": alert.first_seen_at.isoformat(),
        "last_seen_at": alert.last_seen_at.isoformat(),
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "resolved_by": alert.resolved_by,
        "resolution": alert.resolution,
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
        "reopened_count": alert.reopened_count,
        "dispute_instance_id": alert.dispute_instance_id,
    }
