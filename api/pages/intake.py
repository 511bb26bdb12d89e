"""Starting matters from the inbox: register a first inquiry (首问登记) or accept an application for a
duty the staff member's posts carry (受理办件). Both start the library's processes."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from api import messages
from api.deps import get_clock
from api.pages.web import PageRoute, flash, page_session, redirect, signed_in
from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.clock import Clock
from engine.errors import Forbidden, InvalidInput
from engine.runtime import service as runtime

router = APIRouter(route_class=PageRoute)

FIRST_INQUIRY = "first_inquiry"
TIME_LIMITED_CASE = "time_limited_case"


@dataclass(frozen=True)
class DutyChoice:
    code: str
    name: str


def case_duties(session: Session, actor: Actor) -> list[DutyChoice]:
    """Duties carried by the actor's posts that run as time-limited cases (their `process`)."""
    version = catalog.current_version(session)
    if version is None or actor.staff_id is None:
        return []
    found: dict[str, DutyChoice] = {}
    for post in catalog.posts_of_staff(session, version.id, actor.staff_id):
        for carried in catalog.duties_of_post(session, version.id, post):
            if carried.code not in found and catalog.get_duty(session, version.id, carried.code).process == TIME_LIMITED_CASE:
                found[carried.code] = DutyChoice(carried.code, carried.name)
    return list(found.values())


def _require_staff(actor: Actor) -> None:
    if actor.staff_id is None:
        raise Forbidden("此账号未关联工作人员，不能登记办件", [f"{actor.username}: 未关联工作人员编号"])


def _start(session: Session, clock: Clock, process_id: str, data: dict, actor: Actor) -> int:
    """Start the process; a process error is shown to the person and nothing is kept."""
    with messages.fields_by_their_labels():
        instance = runtime.start_instance(session, clock, process_id, data, actor)
    if instance.status == "failed":
        raise InvalidInput("办件未能启动", [instance.error or "流程出错"])
    return instance.id


@router.post("/inbox/inquiries")
def register_inquiry(
    request: Request,
    matter: str = Form(""),
    citizen: str = Form(""),
    contact: str = Form(""),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(signed_in),
) -> Response:
    _require_staff(actor)
    if not matter.strip():
        raise InvalidInput("请填写来访（来电）事项", ["matter: 不能为空"])
    instance_id = _start(session, clock, FIRST_INQUIRY, {
        "matter": matter.strip(), "citizen": citizen.strip(), "contact": contact.strip(),
        "subject": f"首问：{matter.strip()[:40]}",
    }, actor)
    flash(request, f"已登记首问事项（办件 #{instance_id}），请在待办中处理")
    return redirect("/inbox")


@router.post("/inbox/cases")
def accept_application(
    request: Request,
    duty_code: str = Form(""),
    applicant: str = Form(""),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(signed_in),
) -> Response:
    _require_staff(actor)
    problems = []
    duties = {d.code: d.name for d in case_duties(session, actor)}
    if duty_code not in duties:
        problems.append(f"duty_code: '{duty_code}' 不是您所在岗位承办的限时办结事项")
    if not applicant.strip():
        problems.append("applicant: 请填写申请人")
    if problems:
        raise InvalidInput("办件信息有误", problems)
    instance_id = _start(session, clock, TIME_LIMITED_CASE, {
        "duty_code": duty_code, "applicant": applicant.strip(), "subject": f"{applicant.strip()} · {duties[duty_code]}",
    }, actor)
    flash(request, f"已登记办件 #{instance_id}，自次日起按事项承诺时限计时")
    return redirect("/inbox")
