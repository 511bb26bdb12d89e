"""职责争议 (duty_dispute): the parties from the catalog, the parties' confirmations, and the
catalog revision draft. The catalog in force is never touched: the old division keeps applying
until a revision is published through catalog_publication."""

from __future__ import annotations

from engine.catalog import service as catalog
from engine.errors import InvalidInput, NotFound
from engine.runtime.library.catalog_lookup import department_head
from engine.runtime.library.context import catalog_version_id, session


def open_dispute(duties, lead: str | None = None) -> dict:
    """The disputed duties as the catalog now divides them, the departments involved, the lead
    department (given, else the first duty's) and each party's answering post."""
    codes = [c.strip() for c in duties.split(",")] if isinstance(duties, str) else list(duties or [])
    if len(codes) < 1:
        raise InvalidInput("职责争议必须列出涉及的事项", ["duties: 至少列出一个事项编码"])
    version_id = catalog_version_id()
    rows, problems = [], []
    for code in codes:
        try:
            duty = catalog.get_duty(session(), version_id, code)
            rows.append({"code": duty.code, "name": duty.name, "department": duty.department,
                         "role": getattr(duty.role, "value", duty.role)})
        except NotFound:
            problems.append(f"duties: 未知事项编码 '{code}'")
    if problems:
        raise InvalidInput("争议事项有误", problems)
    departments = []
    for row in rows:
        if row["department"] not in departments:
            departments.append(row["department"])
    lead = lead or departments[0]
    if lead not in departments:
        raise InvalidInput("牵头部门必须是争议一方", [f"lead: '{lead}' 不在争议部门 {departments} 中"])
    return {
        "duties": rows,
        "departments": departments,
        "lead": lead,
        "lead_post": department_head(session(), version_id, lead),
        "party_posts": {d: department_head(session(), version_id, d) for d in departments},
        "old_division": {row["code"]: row["department"] for row in rows},
    }


def tally_confirmations(confirmations: dict) -> str:
    """"agreed" when every party confirmed the negotiated split, else "failed"."""
    values = list((confirmations or {}).values())
    return "agreed" if values and all(v == "confirm" for v in values) else "failed"


def draft_revision(dispute: dict, decided_by: str, division: str | None) -> dict:
    """The catalog revision draft for the disputed duties: who decided, the agreed or ruled
    division, and the current division it would replace (which applies until then)."""
    division = division or ""
    if not division.strip():
        raise InvalidInput("必须写明确定的职责分工", ["division: 不能为空"])
    return {
        "status": "draft",
        "decided_by": decided_by,
        "division": division.strip(),
        "duties": [dict(row, current_department=row["department"]) for row in dispute["duties"]],
        "departments": dispute["departments"],
    }
