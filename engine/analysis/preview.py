"""What publishing a version would do to its region's alerts, computed and written nowhere, and
the alert scopes (catalog region + name) both this preview and engine.analysis.alerts use.

Apart from engine.analysis.alerts so that a reader of reports (the CLI's `dutyflow analyze`)
does not load what alerts need besides: the runtime (disputes start a case) and the accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from engine.analysis.findings import Finding, report_findings
from engine.analysis.report import AnalysisReport, analyze
from engine.analysis.similarity import DEFAULT_THRESHOLD
from engine.catalog.document import CatalogDocument
from engine.models.analysis import ACKNOWLEDGED, OPEN, RESOLVED, Alert


def catalog_scope(document: CatalogDocument) -> str:
    """Alerts of one catalog (region + name) across its versions; other catalogs are left alone."""
    return f"catalog:{document.catalog.region}/{document.catalog.name}"


def region_prefix(region: str) -> str:
    """What every catalog scope of the region starts with."""
    return f"catalog:{region}/"


@dataclass
class Preview:
    """What analysing a version would do to its region's alerts, computed and written nowhere."""

    version_id: int | None
    region: str
    report: AnalysisReport
    findings: list[Finding]
    new: list[Finding] = field(default_factory=list)  # would be raised (or re-opened)
    standing: list[Finding] = field(default_factory=list)  # already open, would stay
    gone: list[Alert] = field(default_factory=list)  # open now, would close

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "version_id": self.version_id,
            "region": self.region,
            "findings": len(self.findings),
            "would_raise": len(self.new),
            "would_keep": len(self.standing),
            "would_close": len(self.gone),
        }


def preview(
    session: Session,
    document: CatalogDocument,
    version_id: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> Preview:
    """The draft's report and how publishing it would change its region's alerts; no write."""
    report = analyze(document, threshold=threshold)
    findings = list({f.key: f for f in report_findings(report, document)}.values())
    region = document.catalog.region
    current = {
        a.finding_key: a
        for a in session.exec(
            select(Alert).where(col(Alert.scope).startswith(region_prefix(region), autoescape=True))
        ).all()
    }
    result = Preview(version_id=version_id, region=region, report=report, findings=findings)
    scope = catalog_scope(document)
    for finding in findings:
        alert = current.get(finding.key)
        if alert is not None and alert.scope == scope and alert.status in (OPEN, ACKNOWLEDGED, RESOLVED):
            result.standing.append(finding)
        else:
            result.new.append(finding)
    keys = {f.key for f in findings}
    result.gone = [
        a
        for a in current.values()
        if a.status in (OPEN, ACKNOWLEDGED) and (a.scope != scope or a.finding_key not in keys)
    ]
    return result
