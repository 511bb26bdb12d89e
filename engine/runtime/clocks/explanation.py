"""计时明细: a case clock explained in plain Chinese, one line per thing that moved it, and a
summary line — from the case row and the clock's timing events. Read-only.

Each line is {"at": "YYYY-MM-DD HH:MM" (Beijing) or None, "text": "…"}: when the application was
received and how the count runs; the one-time notice and the wait for 补正 (or a late notice, which
stops nothing, 行政许可法 §32); the restart after the materials arrived; each pause and resume of a
special procedure (§45) with the office time it stood still; extensions requested, approved or
refused (§42), by whom and whether the applicant was told; yellow and red cards and the 督办 of the
case. The summary (at None) says where the clock stands now: due when, how much counted and how
much left — or finished on time or late, or waiting for 补正. Lengths of time are office time of
the working calendar, written in working days of the calendar's office-day length (7 hours by
default) and the hours and minutes over. Stage warnings belong to the steps' own clocks and are
left to the timeline. People are named as the catalog in force names them (the staff id of the
event), posts by their names.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from engine.calendar.limits import LimitKind, read_limit
from engine.calendar.working import WorkingCalendar
from engine.catalog.in_force import catalog_version_id
from engine.clock import BEIJING, Clock
from engine.errors import InvalidInput, NotFound
from engine.models.auth import UserAccount
from engine.models.catalog import CatalogPost, CatalogStaff
from engine.models.runtime import ProcessInstance, TimingEvent
from engine.models.timers import CaseDeadline, TimerKind
from engine.runtime.calendars import LazyCalendar
from engine.runtime.clocks.arithmetic import as_utc
from engine.runtime.clocks.limits import (
    CASE_OF_INSTANCE,
    CORRECTION_REASON,
    MANUAL_PAUSE_PREFIX,
    pause_reason_name,
    untimed_reason,
    waiting_for_correction,
)

# The timing events that say something about the case clock (engine.runtime.clocks.changes, sync,
# commands, warnings; engine.runtime.extension_requests).
CLOCK_EVENT_KINDS = ("paused", "resumed", "restarted", "extended", "extension_requested", "extension_refused",
                     "notice_late", "warned", "overdue", "escalated")
CLOCK_EVENTS = (
    select(TimingEvent)
    .where(col(TimingEvent.instance_id) == bindparam("instance_id"),
           col(TimingEvent.kind).in_(bindparam("kinds", expanding=True)))
    .order_by(col(TimingEvent.at), col(TimingEvent.id))
)
STAFF_NAMES = select(col(CatalogStaff.staff_id), col(CatalogStaff.name)).where(
    col(CatalogStaff.version_id) == bindparam("version_id"),
    col(CatalogStaff.staff_id).in_(bindparam("staff_ids", expanding=True)))
POST_NAMES = select(col(CatalogPost.code), col(CatalogPost.name)).where(
    col(CatalogPost.version_id) == bindparam("version_id"), col(CatalogPost.code).in_(bindparam("codes", expanding=True)))
USER_NAMES = select(col(UserAccount.username), col(UserAccount.display_name)).where(
    col(UserAccount.username).in_(bindparam("usernames", expanding=True)))

LIMIT_SOURCES = {"committed": "承诺时限", "statutory": "法定时限", "data": "启动时给定"}
# How the applicant was told of an extension (the 延期审批 step's `applicant_notice`).
NOTICE_WAYS = {"书面": "已书面告知申请人", "当面": "已当面告知申请人", "电子": "已通过电子方式告知申请人"}
# Events that name the person who acted (the others are the engine's or the worker's own).
PERSON_EVENTS = ("extended", "extension_requested", "extension_refused", "paused", "resumed", "restarted")

Line = dict[str, str | None]


def explain_clock(session: Session, instance_id: int, clock: Clock) -> list[Line]:
    """The 计时明细 of an instance at the clock's moment; one 不计时 line, with why, when it has no
    case clock. NotFound when the instance does not exist."""
    case = session.execute(CASE_OF_INSTANCE, {"instance_id": instance_id}).scalar_one_or_none()
    if case is None:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFound(f"流程实例 {instance_id} 不存在")
        return untimed_explanation(untimed_reason(session, instance)[1])
    return explain_case(session, case, clock.now())


def untimed_explanation(reason: str) -> list[Line]:
    """The 计时明细 of an instance without a case clock: one line, 不计时 and why."""
    return [{"at": None, "text": f"不计时：{reason}"}]


def explain_case(session: Session, case: CaseDeadline, now: datetime) -> list[Line]:
    """The lines of a case clock, oldest first, then the summary at `now`."""
    calendar = LazyCalendar(session).get()
    events = list(session.execute(CLOCK_EVENTS, {"instance_id": case.instance_id,
                                                 "kinds": list(CLOCK_EVENT_KINDS)}).scalars())
    names = Names(session, events)
    day = int(calendar.office_hours.day_length.total_seconds())
    source = LIMIT_SOURCES.get(case.limit_source)
    lines = [line(case.created_at, f"收到申请，{start_phrase(case.limit_text)}"
                                   f"（办结时限 {case.limit_text}{'，' + source if source else ''}）")]
    correction_since: datetime | None = None
    for event in events:
        detail = event.detail or {}
        text: str | None = None
        if event.kind == "paused":
            reason = str(detail.get("reason") or "")
            if reason == CORRECTION_REASON:
                correction_since = event.at
                text = "一次性告知补正材料，等待补正期间不计时"
            elif reason.startswith(MANUAL_PAUSE_PREFIX):
                text = f"人工暂停计时：{pause_reason_name(reason)}（{names.person(event)}）"
            else:
                text = f"因{pause_reason_name(reason) or '特别程序'}暂停计时"
        elif event.kind == "resumed":
            text = resumed_text(event, detail, names, day)
        elif event.kind == "restarted":
            text = restarted_text(event, detail, names, calendar, correction_since, day)
            correction_since = None
        elif event.kind == "extended":
            notice = detail.get("applicant_notice")
            told = NOTICE_WAYS.get(notice, f"已告知申请人（{notice}）") if notice else "未记录告知申请人"
            why = f"理由：{detail['reason']}" if detail.get("reason") else ""
            if detail.get("decision_reason"):
                why += f"{'；' if why else ''}审批意见：{detail['decision_reason']}"
            text = (f"延期 {detail.get('limit')}，{names.person(event, detail.get('approved_by'))}批准，{told}"
                    f"{'（' + why + '）' if why else ''}，办结时限延至 {minute_of(detail.get('due_at'))}")
        elif event.kind == "extension_requested":
            text = (f"{names.person(event)}申请延期 {detail.get('limit')}"
                    f"{'（理由：' + str(detail['reason']) + '）' if detail.get('reason') else ''}，待部门负责人审批")
        elif event.kind == "extension_refused":
            opinion = f"：{detail['decision_reason']}" if detail.get("decision_reason") else ""
            text = (f"延期 {detail.get('limit')} 未获批准（{names.person(event, detail.get('refused_by'))}{opinion}），"
                    "办结时限不变")
        elif event.kind == "notice_late":
            text = (f"一次性告知逾期（收到申请后 {detail.get('notice_limit')}内应告知，即 "
                    f"{minute_of(detail.get('notice_due'))} 前）：计时不暂停、不重新计算")
        elif event.kind == "warned" and detail.get("scope") == "case":
            text = f"黄牌：临近办结时限 {minute_of(detail.get('due_at'))}"
        elif event.kind == "overdue" and detail.get("scope") == "case":
            text = f"红牌：已超过办结时限 {minute_of(detail.get('due_at'))}"
        elif event.kind == "escalated" and detail.get("kind") == TimerKind.case_red:
            posts = [names.post(code) for code in detail.get("to_posts") or []]
            text = f"超期督办：移送{'、'.join(posts)}" if posts else "超期督办：清单未指定负责人岗位，无人接收督办"
        if text is not None:
            lines.append(line(event.at, text))
    lines.append({"at": None, "text": summary(case, calendar, now, day)})
    return lines


def resumed_text(event: TimingEvent, detail: dict[str, Any], names: Names, day: int) -> str:
    reason = detail.get("reason")
    seconds = int(detail.get("paused_working_seconds") or 0)
    what = pause_reason_name(reason) if reason else ""
    by = f"，{names.person(event)}恢复" if reason and str(reason).startswith(MANUAL_PAUSE_PREFIX) else ""
    due = minute_of(detail.get("due_at"))
    moved = f"办结时限顺延至 {due}" if seconds > 0 else f"暂停在办公时间以外，办结时限不变（{due}）"
    return f"恢复计时（{what}暂停 {office_span(seconds, day)}{by}），{moved}"


def restarted_text(event: TimingEvent, detail: dict[str, Any], names: Names, calendar: WorkingCalendar,
                   correction_since: datetime | None, day: int) -> str:
    received = parse_moment(detail.get("counting_from")) or event.at
    notes = []
    if correction_since is not None:
        waited = calendar.working_time_between(correction_since, received)
        notes.append(f"等待补正 {office_span(int(waited.total_seconds()), day)}")
    if event.actor:
        notes.append(f"{names.person(event)}登记")
    bracket = f"（{'，'.join(notes)}）" if notes else ""
    if minute(received) != minute(event.at):
        return f"补正材料于 {minute(received)} 收到，自次日起重新计时{bracket}"
    return f"补正材料收到，自次日起重新计时{bracket}"


def summary(case: CaseDeadline, calendar: WorkingCalendar, now: datetime, day: int) -> str:
    """Where the clock stands at `now` (or stood when the case finished)."""
    due = minute(case.due_at)
    provisional = "；期限涉及尚未公布节假日安排的年度，为暂定" if case.provisional else ""
    if case.finished_at is not None:
        counted = counted_seconds(case, calendar, case.finished_at)
        text = f"办结于 {minute(case.finished_at)}，{'按时' if case.on_time else '超期'}（办结时限 {due}，共计 {office_span(counted, day)}"
        late = int(calendar.working_time_between(case.due_at, case.finished_at).total_seconds())
        if not case.on_time and late > 0:
            text += f"，超出 {office_span(late, day)}"
        return text + f"）{provisional}"
    if case.paused_since is not None:
        counted = counted_seconds(case, calendar, case.paused_since)
        since = minute(case.paused_since)
        if waiting_for_correction(case):
            return (f"等待补正材料，计时暂停（自 {since} 起，此前已计 {office_span(counted, day)}）；"
                    f"补正材料收到后自次日起重新计算 {case.limit_text}")
        left = int(calendar.working_time_between(case.paused_since, case.due_at).total_seconds())
        standing = f"剩余 {office_span(left, day)}" if left > 0 else f"暂停前已超过办结时限 {due}"
        return (f"计时暂停中（{pause_reason_name(case.pause_reason)}，自 {since} 起）：已计 {office_span(counted, day)}，"
                f"{standing}；恢复计时后办结时限相应顺延{provisional}")
    counted = counted_seconds(case, calendar, now)
    if as_utc(now) < as_utc(case.due_at):
        left = int(calendar.working_time_between(now, case.due_at).total_seconds())
        return f"办结时限 {due} 前（已计 {office_span(counted, day)}，剩余 {office_span(left, day)}）{provisional}"
    over = int(calendar.working_time_between(case.due_at, now).total_seconds())
    return f"办结时限 {due}，已超期{' ' + office_span(over, day) if over > 0 else ''}（已计 {office_span(counted, day)}）{provisional}"


def counted_seconds(case: CaseDeadline, calendar: WorkingCalendar, until: datetime) -> int:
    """Office time the clock counted from its start to `until`, finished pauses taken out. The day
    a day count starts on is not counted (it counts from that day's close); an hour count or a
    same-day limit counts from the moment itself."""
    start = case.counting_from
    if day_count(case.limit_text):
        start = calendar.close_of(start.astimezone(calendar.tz).date())
    counted = calendar.working_time_between(start, until) - timedelta(seconds=case.paused_seconds)
    return max(int(counted.total_seconds()), 0)


def day_count(limit_text: str) -> bool:
    try:
        kind = read_limit(limit_text).kind
    except InvalidInput:
        return True  # a limit the current rules no longer read: the clock counted it in days
    return kind in (LimitKind.working_days, LimitKind.calendar_days, LimitKind.months)


def start_phrase(limit_text: str) -> str:
    try:
        kind = read_limit(limit_text).kind
    except InvalidInput:
        kind = LimitKind.working_days
    if kind is LimitKind.same_day:
        return "当日办公时间结束前办结"
    if kind is LimitKind.hours:
        return "自收到时起按办公时间计时"
    return "自次日起计时"


def office_span(seconds: int, day_seconds: int) -> str:
    """Office time as people count it: 5 个工作日 / 1 个工作日 2 小时 30 分 / 3 小时 (0 个工作日)."""
    days, rest = divmod(abs(int(seconds)), day_seconds)
    hours, rest = divmod(rest, 3600)
    parts = [f"{days} 个工作日"] if days else []
    if hours:
        parts.append(f"{hours} 小时")
    if rest // 60:
        parts.append(f"{rest // 60} 分")
    return " ".join(parts) or "0 个工作日"


def line(at: datetime | None, text: str) -> Line:
    return {"at": minute(at) if at is not None else None, "text": text}


def minute(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def parse_moment(text: Any) -> datetime | None:
    """A moment the log keeps as ISO text (beijing_iso)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BEIJING)


def minute_of(text: Any) -> str:
    moment = parse_moment(text)
    return minute(moment) if moment is not None else "—"


class Names:
    """The names of the people and posts the clock events mention, each kind in one query: staff by
    the catalog in force (the event's staff id), else the account's display name, else the username."""

    def __init__(self, session: Session, events: list[TimingEvent]):
        acting = [e for e in events if e.kind in PERSON_EVENTS]
        staff_ids = sorted({e.staff_id for e in acting if e.staff_id})
        usernames = sorted({e.actor for e in acting if e.actor and not e.staff_id})
        codes = sorted({str(c) for e in events if e.kind == "escalated" for c in (e.detail or {}).get("to_posts") or []})
        version_id = catalog_version_id(session) if staff_ids or codes else None
        self.staff: dict[str, str] = {}
        self.posts: dict[str, str] = {}
        self.users: dict[str, str] = {}
        if version_id is not None and staff_ids:
            self.staff = dict(session.execute(STAFF_NAMES, {"version_id": version_id, "staff_ids": staff_ids}).tuples().all())
        if version_id is not None and codes:
            self.posts = dict(session.execute(POST_NAMES, {"version_id": version_id, "codes": codes}).tuples().all())
        if usernames:
            self.users = {u: n for u, n in session.execute(USER_NAMES, {"usernames": usernames}).tuples() if n}

    def person(self, event: TimingEvent, given: Any = None) -> str:
        """Who acted in an event; `given`: the name the event itself recorded (approved_by …)."""
        if event.staff_id and event.staff_id in self.staff:
            return self.staff[event.staff_id]
        if given:
            return str(given)
        if event.actor:
            return self.users.get(event.actor, event.actor)
        return "系统"

    def post(self, code: str) -> str:
        return self.posts.get(code, code)
