"""What people ask of a case clock: pause, resume, correction (补正) and extension (延期).

Who may ask is the permission policy's answer (engine.auth.policy: `require_adjust_clock`,
`require_extension`); this module asks it and then checks states (409) and input (422). An
instance without a case clock (its duty's limit is 无, or nothing gave it a limit) is refused by
name, 409 该办件不计时, to whoever may read it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from engine.auth import policy
from engine.auth.roles import Actor
from engine.calendar.limits import format_limit, parse_limit, read_limit
from engine.calendar.units import LimitUnit, TimeLimit
from engine.clock import BEIJING, Clock
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.runtime import ProcessInstance
from engine.models.timers import CaseDeadline
from engine.runtime.calendars import LazyCalendar
from engine.runtime.clocks import changes
from engine.runtime.clocks.arithmetic import beijing_iso
from engine.runtime.clocks.limits import CASE_OF_INSTANCE, counted, duty_category, untimed_reason

UNTIMED = "该办件不计时"

CASE_OF_INSTANCE_LOCKED = CASE_OF_INSTANCE.with_for_update()


def get_case(session: Session, instance_id: int, for_update: bool = False) -> CaseDeadline:
    """The case clock of an instance; NotFound (404) when it has none."""
    case = session.execute(CASE_OF_INSTANCE_LOCKED if for_update else CASE_OF_INSTANCE,
                           {"instance_id": instance_id}).scalar_one_or_none()
    if case is None:
        raise NotFound(f"流程实例 {instance_id} 没有办结时限", [f"instance_id={instance_id}：该实例不计时（事项无时限且启动数据未给出 limit）"])
    return case


def timed_case(session: Session, instance_id: int, actor: Actor, for_update: bool = False) -> CaseDeadline:
    """The case clock a pause, resume, correction or extension works on. An instance without one is
    refused by name, 409, to whoever may read it: there is no clock to adjust, which is not the
    same as a missing instance (404); an outsider learns no more than reading it would tell (403)."""
    case = session.execute(CASE_OF_INSTANCE_LOCKED if for_update else CASE_OF_INSTANCE,
                           {"instance_id": instance_id}).scalar_one_or_none()
    if case is not None:
        return case
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    policy.require_read_instance(session, actor, instance)
    raise Conflict(f"{UNTIMED}，没有可暂停、恢复、重新计时或延期的办结时限",
                   [f"instance_id={instance_id}：{untimed_reason(session, instance)[1]}"])


def require_running_clock(case: CaseDeadline) -> None:
    if case.finished_at is not None:
        raise Conflict("该事项已办结，计时已停止",
                       [f"instance_id={case.instance_id}：办结于 {case.finished_at.astimezone(BEIJING):%Y-%m-%d %H:%M}"])


def adjustable_case(session: Session, instance_id: int, actor: Actor | None) -> CaseDeadline:
    """The running case clock a person pauses, resumes or restarts, locked for this transaction:
    the policy is asked first, states after."""
    signed_in = policy.require_signed_in(actor, policy.Action.ADJUST_CLOCK)
    case = timed_case(session, instance_id, signed_in, for_update=True)
    policy.require_adjust_clock(session, signed_in, case)
    return case


def pause_case(session: Session, clock: Clock, instance_id: int, reason: str, actor: Actor | None) -> CaseDeadline:
    """Stop the case clock (听证、检验检测、专家评审): the time until resume is not counted."""
    case = adjustable_case(session, instance_id, actor)
    if not (reason or "").strip():
        raise InvalidInput("暂停计时需要说明理由", ["reason：不能为空（如“专家评审”“听证”）"])
    require_running_clock(case)
    if case.paused_since is not None:
        raise Conflict("计时已处于暂停状态", [f"instance_id={instance_id}：自 {case.paused_since.astimezone(BEIJING):%Y-%m-%d %H:%M} 起暂停"])
    changes.pause(session, case, clock.now(), changes.MANUAL_PAUSE_PREFIX + reason.strip(), actor=actor)
    return case


def resume_case(session: Session, clock: Clock, instance_id: int, actor: Actor | None) -> CaseDeadline:
    """Let a paused case clock run again; the office time it stood still moves its due moment."""
    case = adjustable_case(session, instance_id, actor)
    require_running_clock(case)
    if case.paused_since is None:
        raise Conflict("计时未暂停", [f"instance_id={instance_id}：计时正在进行"])
    changes.resume(session, case, LazyCalendar(session), clock.now(), actor=actor)
    return case


def record_correction(session: Session, clock: Clock, instance_id: int, received_at: datetime | None, reason: str,
                      actor: Actor | None) -> CaseDeadline:
    """补正: the corrected materials arrived at `received_at` (else now); the count restarts from
    the day after (HTTP `…/clock/restart`, timing event `restarted`)."""
    case = adjustable_case(session, instance_id, actor)
    require_running_clock(case)
    now = clock.now()
    if received_at is not None:
        if received_at.tzinfo is None:
            received_at = received_at.replace(tzinfo=BEIJING)
        if received_at > now:
            raise InvalidInput("材料接收时间不能晚于当前时间", [f"received_at：{received_at.isoformat()}"])
        if received_at < case.counting_from:
            raise InvalidInput("材料接收时间早于当前计时起点", [f"received_at：{received_at.isoformat()}"])
    changes.restart(session, case, LazyCalendar(session), now, reason=(reason or "补正材料已收到").strip(),
                    actor=actor, received_at=received_at)
    return case


def extend_case(session: Session, clock: Clock, instance_id: int, limit_text: str, reason: str,
                actor: Actor | None) -> CaseDeadline:
    """Approve an extension (延期): whom the policy lets (`require_extension`: the head of the case's
    department as the catalog names it, never for a case they handle); bounded by
    `check_extension`; and only before the deadline passes: an approval after expiry is refused
    and the case stays overdue."""
    signed_in = policy.require_signed_in(actor, policy.Action.EXTEND)
    case = timed_case(session, instance_id, signed_in, for_update=True)
    require_running_clock(case)
    policy.require_extension(session, signed_in, case)
    limit = parse_limit(limit_text)
    if not (reason or "").strip():
        raise InvalidInput("延期需要说明理由", ["reason：不能为空"])
    check_extension(session, case, limit)
    now = clock.now()
    if now >= case.due_at:
        raise Conflict("已超过办结时限，不能再批准延期（延期须在期限届满前批准）",
                       [f"办结时限 {case.due_at.astimezone(BEIJING):%Y-%m-%d %H:%M} 已过；该事项仍按超期处理"])
    case.extensions = [*case.extensions, format_limit(limit)]
    changes.recompute(case, LazyCalendar(session).get())
    session.add(case)
    changes.schedule_case_warnings(session, case, now)
    changes.log_clock_event(session, instance_id, "extended", now, actor=actor,
                            detail={"limit": format_limit(limit), "reason": reason.strip(),
                                    "due_at": beijing_iso(case.due_at)})
    return case


# 《行政许可法》第四十二条: a decision not made within twenty days may, with the approval of the
# agency's head, be extended by ten days (working days, §82) — once, so ten days in all.
LICENSING = "行政许可"
LICENSING_EXTENSION = TimeLimit(value=10, unit=LimitUnit.working_days)


def check_extension(session: Session, case: CaseDeadline, limit: TimeLimit) -> None:
    """How far a case may be extended (422 otherwise). Kept simple until extensions become a BPMN
    step: an extension is counted in the unit of the case's own limit, and all extensions of the
    case together may add at most that limit again; for a 行政许可 duty at most ten working days
    in all (《行政许可法》第四十二条)."""
    own = counted(read_limit(case.limit_text))
    if own is None:
        raise InvalidInput("即办事项不能延期", [f"办结时限 {case.limit_text}：当日办结的事项没有可延长的天数"])
    cap, basis = own, f"延期总计不得超过该事项本身的办结时限 {format_limit(own)}"
    if duty_category(session, case.duty_code) == LICENSING:
        cap = LICENSING_EXTENSION if own.unit != LICENSING_EXTENSION.unit else min(
            own, LICENSING_EXTENSION, key=lambda t: t.value or 0)
        basis = "行政许可事项依《行政许可法》第四十二条，经负责人批准只能延长十个工作日"
    if limit.unit != cap.unit:
        raise InvalidInput("延长的时限与办结时限的计量单位不同",
                           [f"limit：{format_limit(limit)}；请以与 {format_limit(cap)} 相同的单位填写"])
    # A counted limit always has a value (TimeLimit refuses a count without one).
    cap_value, asked = cap.value or 0, limit.value or 0
    granted = sum(read_limit(text).value for text in case.extensions if read_limit(text).kind.value == cap.unit)
    if granted + asked > cap_value:
        left = max(cap_value - granted, 0)
        raise InvalidInput(f"延期超过上限：{basis}",
                           [f"limit：{format_limit(limit)}；已批准 {granted}，至多还可延长 "
                            f"{format_limit(TimeLimit(value=left, unit=cap.unit)) if left else '0（已用完）'}"])
