"""Findings of a report as alert specifications: a stable key, severity and a Chinese summary.

The key never contains the score, the kind of overlap or names, only what identifies the finding
(the duty pair, the gap's kind and ref), so a finding seen again updates its alert in place.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from engine.analysis.gaps import (
    DUTY_WITHOUT_POST,
    DUTY_WITHOUT_UNIT,
    MANDATE_UNCOVERED,
    NO_SANDING,
    OVER_QUOTA,
    POST_VACANT,
    POST_WITHOUT_BACKUP,
    Gap,
)
from engine.analysis.overlaps import SAME_OBJECT, TAXONOMY, TWO_LEADS, Overlap
from engine.analysis.report import APPROVAL_SUPERVISION_BOUNDARY, AnalysisReport, Boundary, SuspectedOverlap
from engine.analysis.runaround import DEPARTMENT_LEVEL, RunaroundFinding
from engine.catalog.document import CatalogDocument

OVERLAP = "overlap"
SUSPECTED_OVERLAP = "suspected_overlap"
GAP = "gap"
RUNAROUND = "runaround"
BOUNDARY = "boundary"  # 审管衔接: the category of approval_supervision_boundary findings
BOUNDARY_LABELS = {APPROVAL_SUPERVISION_BOUNDARY: "审管衔接"}
# 编制与岗位: who is in post — a post with nobody (岗位空缺) or no B角, more people than the quota
# (超编). The analysis finds them with the gaps, but no duty is left uncarried, so they are not
# 职责空缺 (issue 13: the dashboard listed them there).
STAFFING = "staffing"
STAFFING_KINDS = frozenset({POST_VACANT, POST_WITHOUT_BACKUP, OVER_QUOTA})
# What people read for each alert category (dashboard, CLI): docs/glossary.md.
CATEGORY_LABELS = {
    OVERLAP: "职责交叉",
    SUSPECTED_OVERLAP: "疑似交叉",
    GAP: "职责空缺",
    STAFFING: "编制与岗位",
    RUNAROUND: "推诿",
    BOUNDARY: "审管衔接",
}
# A cluster's summary names this many duties, then "等 N 项".
SUMMARY_DUTIES = 6
MAX_KEY = 500  # analysis_alert.finding_key

HIGH, MEDIUM, LOW = "high", "medium", "low"

OVERLAP_LABELS = {SAME_OBJECT: "同一对象重复", TAXONOMY: "上下级对象交叉", TWO_LEADS: "两个牵头部门"}
GAP_LABELS = {
    MANDATE_UNCOVERED: "法定职责无人承担",
    DUTY_WITHOUT_UNIT: "事项未落实承办机构",
    DUTY_WITHOUT_POST: "事项未落实到岗位",
    POST_VACANT: "岗位空缺",
    POST_WITHOUT_BACKUP: "岗位未设B角",
    OVER_QUOTA: "超编",
    NO_SANDING: "事项未落实到内设机构或岗位",
}
GAP_SEVERITY = {
    MANDATE_UNCOVERED: HIGH,
    DUTY_WITHOUT_UNIT: MEDIUM,
    DUTY_WITHOUT_POST: MEDIUM,
    POST_VACANT: MEDIUM,
    POST_WITHOUT_BACKUP: LOW,
    OVER_QUOTA: MEDIUM,
    NO_SANDING: MEDIUM,
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


def cluster_key(category: str, codes: tuple[str, ...]) -> str:
    """`<category>:<codes joined by |>`; a cluster too long for the alert's key column (500) is
    keyed by its first code and the SHA-1 of all its codes, stable as long as its members are."""
    key = f"{category}:{'|'.join(codes)}"
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha1("|".join(codes).encode("utf-8")).hexdigest()
    return f"{category}:{codes[0][:MAX_KEY - len(category) - 60]}|…{len(codes)}项|{digest}"


def _reason_text(reasons: tuple[str, ...]) -> str:
    """The first two reasons and the similarity (always last) for the summary; all are in the payload."""
    shown = reasons if len(reasons) <= 3 else (*reasons[:2], reasons[-1])
    return "；".join(shown)


def _duty_list(codes: tuple[str, ...], names: _Names) -> str:
    shown = "、".join(names.duty(c) for c in codes[:SUMMARY_DUTIES])
    return shown + (f"等 {len(codes)} 项" if len(codes) > SUMMARY_DUTIES else "")


def suspected_finding(suspected: SuspectedOverlap, names: _Names) -> Finding:
    """One cluster of suspected overlaps; the key is its duty codes (a pair keeps the old key)."""
    reasons = _reason_text(suspected.reasons) or f"名称相似度 {suspected.score:.2f}"
    return Finding(
        key=cluster_key(SUSPECTED_OVERLAP, suspected.duties),
        category=SUSPECTED_OVERLAP,
        kind=SUSPECTED_OVERLAP,
        severity=MEDIUM,
        summary=f"疑似职责交叉（{reasons}）：{_duty_list(suspected.duties, names)}",
        departments=suspected.departments,
        payload=suspected.to_json_dict(),
    )


def boundary_finding(boundary: Boundary, names: _Names) -> Finding:
    """审管衔接: the approval bureau and a sector bureau each hold part of one licence."""
    return Finding(
        key=cluster_key(BOUNDARY, boundary.duties),
        category=BOUNDARY,
        kind=boundary.kind,
        severity=LOW,
        summary=(
            f"审管衔接（同一许可按环节分在审批局与行业主管部门，{_reason_text(boundary.reasons)}）："
            f"{_duty_list(boundary.duties, names)}"
        ),
        departments=boundary.departments,
        payload=boundary.to_json_dict(),
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
    if gap.kind == NO_SANDING:
        return f"{names.department(gap.ref)}（{gap.ref}）", ((gap.ref,) if gap.ref in names.departments else ())
    if gap.ref in names.unit_department:
        department = names.unit_department[gap.ref]
        return f"{names.department(department)}{names.units[gap.ref].name}（{gap.ref}）", (department,)
    return f"{names.department(gap.ref)}（{gap.ref}）", ((gap.ref,) if gap.ref in names.departments else ())


def gap_category(kind: str) -> str:
    """The alert category of a gap of this kind: 编制与岗位 (`STAFFING_KINDS`) or 职责空缺."""
    return STAFFING if kind in STAFFING_KINDS else GAP


def gap_finding(gap: Gap, names: _Names) -> Finding:
    subject, departments = _gap_subject(gap, names)
    summary = f"{GAP_LABELS[gap.kind]}：{subject}"
    if gap.kind == NO_SANDING:
        summary = f"{subject}：{gap.count} 项事项未落实到内设机构或岗位：本清单没有三定分解"
    return Finding(
        # The key keeps its "gap:" prefix whatever the category: an alert keeps its identity.
        key=f"{GAP}:{gap.kind}:{gap.ref}",
        category=gap_category(gap.kind),
        kind=gap.kind,
        severity=GAP_SEVERITY[gap.kind],
        summary=summary,
        departments=departments,
        payload=gap.to_json_dict(),
    )


def report_findings(report: AnalysisReport, document: CatalogDocument) -> list[Finding]:
    """Every finding of the report, each once."""
    names = _Names(document)
    return [
        *(overlap_finding(o, names) for o in report.overlaps),
        *(suspected_finding(s, names) for s in report.suspected_overlaps),
        *(boundary_finding(b, names) for b in report.boundaries),
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
