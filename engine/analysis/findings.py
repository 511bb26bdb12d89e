"""Findings of a report as alert specifications: a stable key, severity and a Chinese summary.

The key never contains the score, the kind of overlap or names, only what identifies the finding
(the duty pair, the gap's kind and ref), so a finding seen again updates its alert in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.analysis.gaps import (
    DUTY_WITHOUT_POST,
    DUTY_WITHOUT_UNIT,
    MANDATE_UNCOVERED,
    OVER_QUOTA,
    POST_VACANT,
    POST_WITHOUT_BACKUP,
    Gap,
)
from engine.analysis.overlaps import SAME_OBJECT, TAXONOMY, TWO_LEADS, Overlap
from engine.analysis.report import AnalysisReport, SuspectedOverlap
from engine.analysis.runaround import DEPARTMENT_LEVEL, RunaroundFinding
from engine.catalog.document import CatalogDocument

OVERLAP = "overlap"
SUSPECTED_OVERLAP = "suspected_overlap"
GAP = "gap"
RUNAROUND = "runaround"

HIGH, MEDIUM, LOW = "high", "medium", "low"

OVERLAP_LABELS = {SAME_OBJECT: "同一对象重复", TAXONOMY: "上下级对象交叉", TWO_LEADS: "两个牵头部门"}
GAP_LABELS = {
    MANDATE_UNCOVERED: "法定职责无人承担",
    DUTY_WITHOUT_UNIT: "事项未落实承办机构",
    DUTY_WITHOUT_POST: "事项未落实到岗位",
    POST_VACANT: "岗位空缺",
    POST_WITHOUT_BACKUP: "岗位未设B角",
    OVER_QUOTA: "超编",
}
GAP_SEVERITY = {
    MANDATE_UNCOVERED: HIGH,
    DUTY_WITHOUT_UNIT: MEDIUM,
    DUTY_WITHOUT_POST: MEDIUM,
    POST_VACANT: MEDIUM,
    POST_WITHOUT_BACKUP: LOW,
    OVER_QUOTA: MEDIUM,
}


@dataclass(frozen=True)
class Finding:
    key: str
    category: str
    kind: str
    severity: str
    summary: str
    departments: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)


class _Names:
    """Display names of departments and duties, falling back to codes."""

    def __init__(self, document: CatalogDocument):
        self.departments = {d.code: d.name for d in document.departments}
        self.duties = {d.code: d for d in document.duties}
        self.units = document.units_by_code()
        self.posts = document.posts_by_code()
        self.mandates = {m.code: m for m in document.mandates}
        self.unit_department = {u.code: d.code for d in document.departments for u in d.units}
        self.post_department = {p.code: d.code for d in document.departments for u in d.units for p in u.posts}

    def department(self, code: str) -> str:
        return self.departments.get(code, code)

    def duty(self, code: str) -> str:
        duty = self.duties.get(code)
        return f"{self.department(duty.department)}「{duty.name}」" if duty else code


def overlap_finding(overlap: Overlap, names: _Names) -> Finding:
    first, second = overlap.duties
    summary = (
        f"职责交叉（{OVERLAP_LABELS[overlap.kind]}）：{names.duty(first)}与{names.duty(second)}"
        f"都承担「{overlap.object}」的「{overlap.action}」"
    )
    return Finding(
        key=f"{OVERLAP}:{first}|{second}",
        category=OVERLAP,
        kind=overlap.kind,
        severity=HIGH,
        summary=summary,
        departments=overlap.departments,
        payload=overlap.to_json_dict(),
    )


def suspected_finding(suspected: SuspectedOverlap, names: _Names) -> Finding:
    first, second = suspected.duties
    return Finding(
        key=f"{SUSPECTED_OVERLAP}:{first}|{second}",
        category=SUSPECTED_OVERLAP,
        kind=SUSPECTED_OVERLAP,
        severity=MEDIUM,
        summary=f"疑似职责交叉（名称相似度 {suspected.score:.2f}）：{names.duty(first)}与{names.duty(second)}",
        departments=suspected.departments,
        payload=suspected.to_json_dict(),
    )


def _gap_subject(gap: Gap, names: _Names) -> tuple[str, tuple[str, ...]]:
    """What the gap is about, in words, and the department it belongs to (if any)."""
    if gap.kind == MANDATE_UNCOVERED:
        mandate = names.mandates.get(gap.ref)
        text = f"法定职责 {gap.ref}（{mandate.object} {mandate.action}）" if mandate else f"法定职责 {gap.ref}"
        return text, ()
    if gap.kind in (DUTY_WITHOUT_UNIT, DUTY_WITHOUT_POST):
        duty = names.duties.get(gap.ref)
        return names.duty(gap.ref), ((duty.department,) if duty else ())
    if gap.kind in (POST_VACANT, POST_WITHOUT_BACKUP):
        post = names.posts.get(gap.ref)
        department = names.post_department.get(gap.ref)
        label = f"{names.department(department)}{post.name}（{gap.ref}）" if post and department else gap.ref
        return label, ((department,) if department else ())
    if gap.ref in names.unit_department:
        department = names.unit_department[gap.ref]
        return f"{names.department(department)}{names.units[gap.ref].name}（{gap.ref}）", (department,)
    return f"{names.department(gap.ref)}（{gap.ref}）", ((gap.ref,) if gap.ref in names.departments else ())


def gap_finding(gap: Gap, names: _Names) -> Finding:
    subject, departments = _gap_subject(gap, names)
    return Finding(
        key=f"{GAP}:{gap.kind}:{gap.ref}",
        category=GAP,
        kind=gap.kind,
        severity=GAP_SEVERITY[gap.kind],
        summary=f"{GAP_LABELS[gap.kind]}：{subject}",
        departments=departments,
        payload=gap.to_json_dict(),
    )


def report_findings(report: AnalysisReport, document: CatalogDocument) -> list[Finding]:
    """Every finding of the report, each once."""
    names = _Names(document)
    return [
        *(overlap_finding(o, names) for o in report.overlaps),
        *(suspected_finding(s, names) for s in report.suspected_overlaps),
        *(gap_finding(g, names) for g in report.gaps),
    ]


def runaround_finding(finding: RunaroundFinding, post_department: dict[str, str]) -> Finding:
    """A matter bounced around: high severity, the path in the summary."""
    where = "部门" if finding.level == DEPARTMENT_LEVEL else "岗位"
    if finding.level == DEPARTMENT_LEVEL:
        departments = tuple(sorted(set(finding.path)))
    else:
        departments = tuple(sorted({post_department[p] for p in finding.path if p in post_department}))
    return Finding(
        key=finding.key,
        category=RUNAROUND,
        kind=f"runaround_{finding.level}",
        severity=HIGH,
        summary=(
            f"推诿：案件 {finding.instance_id} 的任务 {finding.task_id} 在{where}之间循环转办："
            f"{' → '.join(finding.cycle)}（共转办 {finding.transfers} 次，被退回 {finding.refusals} 次）"
        ),
        departments=departments,
        payload=finding.to_json_dict(),
    )
