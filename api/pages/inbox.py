"""Staff pages: 我的待办 (inbox with live working-time countdowns), 已办, and one task with its
form, timeline, process diagram and the buttons of the efficiency rules.

Every action calls the runtime's service, which checks the post (and role) of the actor; the page
only hides buttons that cannot apply, it never decides who may act.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from api import messages
from api.deps import DB_INT_MAX, get_clock
from api.pages import formatting, intake, task_forms
from api.pages.task_view import task_context
from api.pages.web import PageRoute, flash, page_session, redirect, render, signed_in
from engine.auth.roles import ADMIN, Actor
from engine.calendar.working import WorkingCalendar
from engine.catalog import service as catalog
from engine.clock import Clock
from engine.errors import Forbidden
from engine.models.runtime import ProcessDefinition, TimingEvent
from engine.runtime import service as runtime
from engine.runtime.calendars import calendar_for
from engine.runtime.clocks import commands as clock_commands

router = APIRouter(route_class=PageRoute)

# Ids in paths are bounded to the database's integer: a bigger one is a 422, never a 500.
TaskId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="任务编号")]

# Open tasks without a limit sort after every timed one; among equals, the oldest first.
UNTIMED = float("inf")


def staff_member(actor: Actor = Depends(signed_in)) -> Actor:
    """Tasks land at posts: the inbox needs an account bound to a staff record (admins may look)."""
    if actor.staff_id is None and ADMIN not in actor.roles:
        raise Forbidden("此账号未关联工作人员，没有待办事项", [f"{actor.username}: 未关联工作人员编号"])
    return actor


def schedule_json(session: Session, now: datetime) -> str:
    """The office periods ahead, for the live countdown (see formatting.office_schedule)."""
    calendar = calendar_for(session)
    return json.dumps({
        "now": int(now.timestamp() * 1000),
        "day_seconds": int(calendar.office_hours.day_length.total_seconds()),
        "periods": formatting.office_schedule(calendar, now),
    })


def yellow_margin(calendar: WorkingCalendar, deadline: Any) -> int | None:
    """Working seconds left at the yellow moment, so the countdown turns yellow in the browser."""
    if deadline is None or deadline.yellow_at is None or deadline.due_at is None:
        return None
    return int(calendar.working_time_between(deadline.yellow_at, deadline.due_at).total_seconds())


def _time_left(entry: runtime.InboxEntry) -> float:
    deadline = entry.deadline
    if deadline is None or deadline.time_left_seconds is None:
        return UNTIMED
    return deadline.time_left_seconds


# The events that change where a transfer stands; the newest of them says whether it was refused.
TRANSFER_EVENTS = ("transferred", "accepted", "refused")


def refused_transfers(session: Session, task_ids: list[int]) -> dict[int, TimingEvent]:
    """{task id: its `refused` event} for the tasks whose last transfer was returned by the post
    asked to take it over (and not transferred again since): the sender sees the reason.
    The newest transfer event of each task is found in SQL (max id per task)."""
    if not task_ids:
        return {}
    newest = (select(func.max(col(TimingEvent.id)))
              .where(col(TimingEvent.task_id).in_(task_ids), col(TimingEvent.kind).in_(TRANSFER_EVENTS))
              .group_by(col(TimingEvent.task_id)))
    found = session.exec(select(TimingEvent).where(col(TimingEvent.id).in_(newest), TimingEvent.kind == "refused"))
    return {event.task_id: event for event in found if event.task_id is not None}


def split_inbox(entries: list[runtime.InboxEntry]) -> tuple[list, list, list]:
    """(open tasks by time left, copies to read, done tasks newest first)."""
    open_tasks = [e for e in entries if e.relation not in ("done", "reader") and e.task.status == "ready"]
    copies = [e for e in entries if e.relation == "reader"]
    done = [e for e in entries if e.relation == "done"]
    open_tasks.sort(key=lambda e: (_time_left(e), e.task.ready_at, e.task.id))
    done.sort(key=lambda e: (e.task.completed_at or e.task.ready_at), reverse=True)
    return open_tasks, copies, done


@router.get("/inbox")
def inbox(
    request: Request,
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(staff_member),
) -> Response:
    open_tasks, copies, done = split_inbox(runtime.inbox(session, clock, actor, include_done=True))
    calendar = calendar_for(session)
    version = catalog.current_version(session)
    refusals = refused_transfers(session, [e.task.id for e in open_tasks])
    codes = ([e.task.post_code for e in open_tasks + copies] + [e.task.completed_post for e in done]
             + [r.post_code for r in refusals.values()])
    post_names = catalog.post_names_of(session, version.id, codes) if version is not None else {}
    # A case without a subject is named by its process's Chinese name, never its id.
    definitions = {e.instance.definition_id for e in open_tasks + copies + done}
    process_names = dict(session.execute(select(col(ProcessDefinition.id), col(ProcessDefinition.name))
                                         .where(col(ProcessDefinition.id).in_(definitions))).all()) if definitions else {}
    return render(request, "inbox.html", {
        "title": "我的待办", "open_tasks": open_tasks, "copies": copies, "done": done,
        "relation_labels": task_forms.RELATION_LABELS, "schedule": schedule_json(session, clock.now()),
        "day_seconds": int(calendar.office_hours.day_length.total_seconds()),
        "margins": {e.task.id: yellow_margin(calendar, e.deadline) for e in open_tasks},
        "case_duties": intake.case_duties(session, actor), "post_names": post_names, "refusals": refusals,
        "process_names": process_names,
    }, actor=actor)


@router.get("/tasks/{task_id}")
def task_page(
    request: Request,
    task_id: TaskId,
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(signed_in),
) -> Response:
    context = task_context(session, clock, task_id, actor)
    calendar = calendar_for(session)
    context.update(schedule=schedule_json(session, clock.now()),
                   day_seconds=int(calendar.office_hours.day_length.total_seconds()),
                   yellow_below=yellow_margin(calendar, context["deadline"]))
    return render(request, "task.html", context, actor=actor)


def post_name(session: Session, code: str | None) -> str:
    """A post as a flash message names it: 岗位 MZ-SHJZ-02（市民政局 · 社会救助科 · 临时救助岗）, the
    code people find in the catalog and the name they know it by (the code alone if the catalog in
    force does not have it)."""
    version = catalog.current_version(session)
    names = catalog.post_names_of(session, version.id, [code]) if version is not None and code else {}
    name = names.get(code or "")
    return f"岗位 {code}（{name}）" if name else f"岗位 {code}"


def _back(task_id: int) -> Response:
    return redirect(f"/tasks/{task_id}")


@router.post("/tasks/{task_id}/complete")
async def complete(
    request: Request,
    task_id: TaskId,
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(signed_in),
) -> Response:
    row = runtime.get_task(session, task_id, actor)
    form = runtime.task_form(session, row)
    data = task_forms.submitted_data(form, await request.form())
    with messages.fields_by_their_labels(lambda: form):
        runtime.complete_task(session, clock, task_id, data, actor)
    flash(request, f"「{row.name}」已办结")
    return redirect("/inbox")


@router.post("/tasks/{task_id}/claim")
def claim(request: Request, task_id: TaskId, session: Session = Depends(page_session),
          clock: Clock = Depends(get_clock), actor: Actor = Depends(signed_in)) -> Response:
    row = runtime.claim_task(session, clock, task_id, actor)
    flash(request, f"已签收「{row.name}」")
    return _back(task_id)


@router.post("/tasks/{task_id}/transfer")
def transfer(request: Request, task_id: TaskId, to_post: str = Form(""), reason: str = Form(""),
             session: Session = Depends(page_session), clock: Clock = Depends(get_clock),
             actor: Actor = Depends(signed_in)) -> Response:
    row = runtime.transfer_task(session, clock, task_id, to_post, reason, actor)
    flash(request, f"「{row.name}」已转办给{post_name(session, row.transfer_to_post)}，对方接收前仍由您负责（首问负责）")
    return _back(task_id)


@router.post("/tasks/{task_id}/accept")
def accept(request: Request, task_id: TaskId, session: Session = Depends(page_session),
           clock: Clock = Depends(get_clock), actor: Actor = Depends(signed_in)) -> Response:
    row = runtime.accept_transfer(session, clock, task_id, actor)
    flash(request, f"已接收转办「{row.name}」，现由{post_name(session, row.post_code)}承办")
    return _back(task_id)


@router.post("/tasks/{task_id}/refuse")
def refuse(request: Request, task_id: TaskId, reason: str = Form(""), session: Session = Depends(page_session),
           clock: Clock = Depends(get_clock), actor: Actor = Depends(signed_in)) -> Response:
    row = runtime.refuse_transfer(session, clock, task_id, reason, actor)
    flash(request, f"已退回转办「{row.name}」")
    return redirect("/inbox")


@router.post("/tasks/{task_id}/delegate")
def delegate(request: Request, task_id: TaskId, reason: str = Form(""), session: Session = Depends(page_session),
             clock: Clock = Depends(get_clock), actor: Actor = Depends(signed_in)) -> Response:
    row = runtime.delegate_to_backup(session, clock, task_id, actor, reason)
    flash(request, f"「{row.name}」已交 B角{post_name(session, row.delegated_post)}代办")
    return _back(task_id)


@router.post("/tasks/{task_id}/comment")
def comment(request: Request, task_id: TaskId, text: str = Form(""), session: Session = Depends(page_session),
            clock: Clock = Depends(get_clock), actor: Actor = Depends(signed_in)) -> Response:
    runtime.comment(session, clock, task_id, text, actor)
    flash(request, "意见已记录")
    return _back(task_id)


def _instance_of(session: Session, task_id: int, actor: Actor) -> int:
    return runtime.get_task(session, task_id, actor).instance_id


@router.post("/tasks/{task_id}/pause")
def pause(request: Request, task_id: TaskId, reason: str = Form(""), session: Session = Depends(page_session),
          clock: Clock = Depends(get_clock), actor: Actor = Depends(signed_in)) -> Response:
    clock_commands.pause_case(session, clock, _instance_of(session, task_id, actor), reason, actor)
    flash(request, f"已暂停计时（{reason.strip()}），暂停期间不计入办理时限")
    return _back(task_id)


@router.post("/tasks/{task_id}/resume")
def resume(request: Request, task_id: TaskId, session: Session = Depends(page_session),
           clock: Clock = Depends(get_clock), actor: Actor = Depends(signed_in)) -> Response:
    clock_commands.resume_case(session, clock, _instance_of(session, task_id, actor), actor)
    flash(request, "已恢复计时")
    return _back(task_id)


@router.post("/tasks/{task_id}/restart")
def restart(request: Request, task_id: TaskId, reason: str = Form(""), session: Session = Depends(page_session),
            clock: Clock = Depends(get_clock), actor: Actor = Depends(signed_in)) -> Response:
    case = clock_commands.record_correction(session, clock, _instance_of(session, task_id, actor), None,
                                  reason or "补正材料已收到", actor)
    flash(request, f"补正材料已收到，自次日起重新计时，新的办结时限 {formatting.moment(case.due_at)}")
    return _back(task_id)

