"""效能投诉 (efficiency_complaint): finding the department complained about through the catalog."""

from __future__ import annotations

from engine.catalog import service as catalog
from engine.errors import InvalidInput, NotFound
from engine.runtime.library.catalog_lookup import department_head, match_duties
from engine.runtime.library.context import catalog_version_id, session


def register_complaint(subject: str | None, complainant: str | None) -> dict:
    """Check the complaint can be registered and propose the departments concerned."""
    problems = []
    subject = subject or ""
    if not subject.strip():
        problems.append("subject: 投诉事项不能为空")
    if not (complainant or "").strip():
        problems.append("complainant: 投诉人不能为空（匿名投诉请填“匿名”）")
    if problems:
        raise InvalidInput("投诉登记不完整", problems)
    matches = match_duties(session(), catalog_version_id(), subject, limit=5)
    departments = []
    for match in matches:
        if match.department not in departments:
            departments.append(match.department)
    return {"proposed_departments": departments, "proposed_duties": [m.as_dict() for m in matches]}


def assign_complaint(department: str | None, duty_code: str | None, proposed: list | None) -> dict:
    """The responsible department (given; else the duty's; else the catalog's best match) and the
    post that answers for it."""
    version_id = catalog_version_id()
    if not department and duty_code:
        try:
            department = catalog.get_duty(session(), version_id, str(duty_code)).department
        except NotFound:
            raise InvalidInput(f"权责清单中没有事项 '{duty_code}'", [f"duty_code: 未知事项编码 '{duty_code}'"]) from None
    if not department and proposed:
        department = proposed[0]
    if not department:
        raise InvalidInput("无法确定被投诉部门", ["department: 清单中没有匹配的部门，请指定部门编码"])
    return {"department": department, "respondent_post": department_head(session(), version_id, str(department))}
