"""One matter (办件) as a whole: its steps with their deadlines, clock, timeline and diagram, and 催办
for the efficiency office or whoever started it. Linked from the dashboard, inbox and legal page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import DB_INT_MAX, get_clock
from api.pages.inbox import schedule_json, yellow_margin
from api.pages.print_views import ACCEPTANCE_STEP, NOTIFY, REFUSE
from api.pages.task_view import (
    case_clock,
    diagram_svg,
    post_choices,
    post_names,
    process_name,
    timeline_lines,
)
from api.pages.web import PageRoute, flash, page_session, redirect, render, signed_in
from engine.auth import policy
from engine.auth.roles import Actor
from engine.auth.service import user_names
from engine.clock import Clock
from engine.runtime import service as runtime
from engine.runtime.calendars import calendar_for

router = APIRouter(route_class=PageRoute)

# Ids in paths are bounded to the database's integer: a bigger one is a 422, never a 500.
TaskId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="任务编号")]
InstanceId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="流程实例编号")]
TaskId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="任务编号")]

INSTANCE_STATUS = {"running": "办理中", "completed": "已办结", "suspended": "已挂起", "failed": "出错"}


def steps_of(session: Session, clock: Clock, instance_id: int) -> list[dict[str, Any]]:
    """Every step of the matter in order; open ones with their deadline and yellow margin."""
    calendar = calendar_for(session)
    steps = []
    for row in runtime.instance_tasks(session, instance_id):
        deadline = runtime.task_deadline(session, row, clock) if row.status == "ready" else None
        steps.append({"task": row, "deadline": deadline, "yellow_below": yellow_margin(calendar, deadline)})
    return steps


def papers_of(steps: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The papers the case's 受理 produced, to print for the applicant: (title, path suffix)."""
    decisions = {s["task"].form_data.get("decision") for s in steps
                 if s["task"].task_spec == ACCEPTANCE_STEP and s["task"].status == "completed"}
    return [(title, suffix) for decision, title, suffix in ((NOTIFY, "一次性告知书", "notice.html"),
                                                           (REFUSE, "不予受理决定书", "refusal.html"))
            if decision in decisions]


@router.get("/cases/{instance_id}")
def case_page(
    request: Request,
    instance_id: InstanceId,
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(signed_in),
) -> Response:
    instance = runtime.get_instance(session, instance_id, actor)
    calendar = calendar_for(session)
    may_urge = policy.may_urge(actor, instance)
    names = post_names(post_choices(session))
    steps = steps_of(session, clock, instance.id)
    return render(request, "case.html", {
        "title": f"办件 #{instance.id}", "instance": instance,
        "process_name": process_name(session, instance.definition_id),
        "status_labels": INSTANCE_STATUS, "steps": steps, "papers": papers_of(steps),
        "case": case_clock(session, instance.id, clock), "may_urge": may_urge,
        "events": timeline_lines(session, runtime.timeline(session, instance.id), names),
        "post_names": names, "diagram": diagram_svg(session, instance.id),
        "people": user_names(session, [instance.started_by, *(s["task"].completed_by for s in steps)]),
        "schedule": schedule_json(session, clock.now()),
        "day_seconds": int(calendar.office_hours.day_length.total_seconds()),
    }, actor=actor)


@router.post("/cases/{instance_id}/tasks/{task_id}/urge")
def urge(
    request: Request,
    instance_id: InstanceId,
    task_id: TaskId,
    message: str = Form(""),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(signed_in),
) -> Response:
    row = runtime.urge(session, clock, task_id, actor, message)
    flash(request, f"已催办「{row.name}」（第 {row.urge_count} 次）")
    return redirect(f"/cases/{row.instance_id}")
