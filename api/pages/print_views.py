"""Print views of the papers a 限时办结 case hands to the applicant, as offices print them (A4):

- `GET /cases/{id}/notice.html` — 一次性告知书: the applicant, the duty by name, every missing
  material as the handler listed it in the notice, the office and the date, and the 补正 rule
  that applies to this case (in time: the wait does not count and the limit starts afresh the day
  after the materials arrive; late: 行政许可法 §32, the application counts as accepted on the day
  it was received and the clock neither stops nor restarts);
- `GET /cases/{id}/refusal.html` — 不予受理决定书: the applicant, the duty, the reason, and how to
  seek review (行政复议 within 60 days, 行政复议法 §20; 行政诉讼 within six months, 行政诉讼法 §46).

Both read what the 受理 step recorded (its form data), never a value typed for the print. Whoever
may read the case may print them (engine.auth.policy.require_read_instance); a case without such
a notice or refusal answers 404 in Chinese. The pages carry no navigation: only the paper, with
print.css for the screen and the printer.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import DB_INT_MAX
from api.pages.web import PageRoute, page_session, render, signed_in
from engine.auth.roles import Actor
from engine.calendar.limits import format_limit
from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id
from engine.clock import BEIJING
from engine.errors import NotFound
from engine.models.runtime import ProcessInstance, WorkTask
from engine.runtime import service as runtime
from engine.runtime.clocks.limits import duty_in_force, notice_limit

router = APIRouter(route_class=PageRoute)

InstanceId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="流程实例编号")]

ACCEPTANCE_STEP = "accept_application"  # 受理 in processes/time_limited_case.bpmn
NOTIFY, REFUSE = "notify_missing", "refuse"
# How the handler separates the materials in the notice's one text field (docs/processes.md: "户口簿；收入证明").
MATERIAL_SEPARATORS = re.compile(r"[；;\n]+")


def chinese_date(moment: datetime) -> str:
    """2026-09-30 09:00+08:00 → 2026年9月30日 (the date as Beijing counts it)."""
    day = moment.astimezone(BEIJING)
    return f"{day.year}年{day.month}月{day.day}日"


def materials(text: str) -> list[str]:
    return [item.strip() for item in MATERIAL_SEPARATORS.split(text or "") if item.strip()]


def acceptance_decision(session: Session, instance: ProcessInstance, decision: str) -> WorkTask:
    """The completed 受理 step that took `decision` (a case is noticed once, refused at most once)."""
    found = [t for t in runtime.instance_tasks(session, instance.id)
             if t.task_spec == ACCEPTANCE_STEP and t.status == "completed" and t.form_data.get("decision") == decision]
    if not found:
        paper = "一次性告知书" if decision == NOTIFY else "不予受理决定书"
        what = "没有作出一次性告知" if decision == NOTIFY else "没有作出不予受理决定"
        raise NotFound(f"办件 #{instance.id} 没有{paper}", [f"办件 #{instance.id}：受理时{what}"])
    return found[-1]


def case_facts(session: Session, instance: ProcessInstance) -> dict[str, Any]:
    """Applicant, duty and office of the case: the duty and department by name from the catalog in
    force, else as the case recorded them when it opened."""
    data = runtime.instance_data(session, instance.id)
    case = data.get("case") if isinstance(data.get("case"), dict) else {}
    duty = duty_in_force(session, instance.duty_code)
    department_code = (duty.department if duty is not None else None) or case.get("department")
    department = department_code or ""
    region = ""
    version_id = catalog_version_id(session)
    if version_id is not None:
        region = catalog.get_version(session, version_id).region or ""
        if department_code:
            try:
                department = catalog.get_department(session, version_id, department_code).name
            except NotFound:
                department = department_code
    applicant = str(data.get("applicant") or instance.start_data.get("applicant") or "").strip()
    return {
        "applicant": applicant or "申请人",
        "duty_name": (duty.name if duty is not None else None) or case.get("duty_name") or instance.duty_code or "",
        "duty_code": instance.duty_code,
        "office": department,
        "region": region,
        "phone": case.get("phone") or (duty.phone if duty is not None else None),
        "limit": case.get("limit") or data.get("limit"),
        "received": chinese_date(instance.started_at),
    }


def correction_rule(session: Session, instance: ProcessInstance, limit: str | None) -> dict[str, Any]:
    """Which 补正 rule the notice states: in time (the wait does not count, the limit restarts) or
    late (行政许可法 §32: accepted on receipt; the clock neither stops nor restarts)."""
    late = next((e for e in runtime.timeline(session, instance.id) if e.kind == "notice_late"), None)
    allowed = notice_limit(session, instance.duty_code)
    allowed_text = allowed.text or format_limit(allowed)
    if late is not None:
        return {"late": True, "notice_limit": late.detail.get("notice_limit") or allowed_text,
                "received": chinese_date(instance.started_at)}
    return {"late": False, "notice_limit": allowed_text, "limit": limit}


@router.get("/cases/{instance_id}/notice.html")
def notice_page(request: Request, instance_id: InstanceId, session: Session = Depends(page_session),
                actor: Actor = Depends(signed_in)) -> Response:
    instance = runtime.get_instance(session, instance_id, actor)
    step = acceptance_decision(session, instance, NOTIFY)
    facts = case_facts(session, instance)
    return render(request, "print_notice.html", {
        "title": f"一次性告知书 · 办件 #{instance.id}", "instance": instance, "facts": facts,
        "materials": materials(str(step.form_data.get("missing_materials") or "")),
        "date": chinese_date(step.completed_at or instance.started_at),
        "rule": correction_rule(session, instance, facts["limit"]),
    }, actor=actor)


@router.get("/cases/{instance_id}/refusal.html")
def refusal_page(request: Request, instance_id: InstanceId, session: Session = Depends(page_session),
                 actor: Actor = Depends(signed_in)) -> Response:
    instance = runtime.get_instance(session, instance_id, actor)
    step = acceptance_decision(session, instance, REFUSE)
    return render(request, "print_refusal.html", {
        "title": f"不予受理决定书 · 办件 #{instance.id}", "instance": instance,
        "facts": case_facts(session, instance), "reason": str(step.form_data.get("reason") or "").strip(),
        "date": chinese_date(step.completed_at or instance.started_at),
    }, actor=actor)
