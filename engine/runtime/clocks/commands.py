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
from engine.models.runtime import ProcessDefinition, ProcessInstance
from engine.models.timers import CaseDeadline
from engine.runtime.calendars import LazyCalendar
from engine.runtime.clocks import changes
from engine.runtime.clocks.arithmetic import beijing_iso
from engine.runtime.clocks.limits import (
    CASE_OF_INSTANCE,
    MANUAL_PAUSE_PREFIX,
    counted,
    duty_in_force,
    pause_reason_name,
    untimed_reason,
    waiting_for_correction,
)

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
    if waiting_for_correction(case):
        raise Conflict("计时已因等待补正材料而停止", [f"instance_id={instance_id}：一次性告知后等待申请人补正"])
    if case.paused_since is not None:
        raise Conflict("计时已处于暂停状态", [f"instance_id={instance_id}：自 {case.paused_since.astimezone(BEIJING):%Y-%m-%d %H:%M} 起暂停"])
    changes.pause(session, case, clock.now(), MANUAL_PAUSE_PREFIX + reason.strip(), actor=actor)
    return case


def resume_case(session: Session, clock: Clock, instance_id: int, actor: Actor | None) -> CaseDeadline:
    """Let a paused case clock run again; the office time it stood still moves its due moment."""
    case = adjustable_case(session, instance_id, actor)
    require_running_clock(case)
    if case.paused_since is None:
        raise Conflict("计时未暂停", [f"instance_id={instance_id}：计时正在进行"])
    if waiting_for_correction(case):
        raise Conflict("等待补正期间不能恢复计时：补正材料收到后自次日起重新计时",
                       [f"instance_id={instance_id}：请登记“补正材料已收到”"])
    if not changes.manual_pause(case):
        raise Conflict(f"计时因{pause_reason_name(case.pause_reason)}暂停，由该环节办结时恢复",
                       [f"instance_id={instance_id}：请办理特别程序环节"])
    changes.resume(session, case, LazyCalendar(session), clock.now(), actor=actor)
    return case


def record_correction(session: Session, clock: Clock, instance_id: int, received_at: datetime | None, reason: str,
                      actor: Actor | None) -> CaseDeadline:
    """补正: the corrected materials arrived at `received_at` (else now); the count restarts from
    the day after (HTTP `…/clock/restart`, timing event `restarted`).

    Only a case waiting for 补正 restarts: one whose one-time notice came in time (engine.runtime
    .clocks.sync.notice_given). Without a notice, or after a late one (行政许可法 §32: the
    application counts as accepted on receipt), the count is not reset — else any clock could be."""
    case = adjustable_case(session, instance_id, actor)
    require_running_clock(case)
    if not waiting_for_correction(case):
        raise Conflict("该办件没有在一次性告知后等待补正，不能重新计时", [
            f"instance_id={instance_id}：只有在受理期限内一次性告知需补正材料的办件，补正材料收到后才重新计时"])
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
    """Approve an extension (延期) by hand (`POST …/clock/extend`), for a process that has no
    extension step of its own; a process with one (time_limited_case's 延期审批) is refused: there
    the handler requests and the head decides in the step, so the request and the applicant's
    notice are on record."""
    signed_in = policy.require_signed_in(actor, policy.Action.EXTEND)
    case = timed_case(session, instance_id, signed_in, for_update=True)
    if extension_step_of(session, instance_id):
        raise Conflict("本流程的延期须经“延期审批”环节：由承办人申请，部门负责人在该环节决定",
                       [f"instance_id={instance_id}：请承办人使用“申请延期”（…/clock/extension-request）"])
    limit = parse_limit(limit_text)
    return approve_extension(session, clock.now(), case, limit, reason, signed_in, notice=None)


def approve_extension(session: Session, now: datetime, case: CaseDeadline, limit: TimeLimit, reason: str,
                      actor: Actor, notice: str | None, decision_reason: str | None = None) -> CaseDeadline:
    """Grant an extension: whom the policy lets (`require_extension`: the head of the case's
    department as the catalog names it, never for a case they handle); bounded by the duty's
    allowance (`check_extension`); and only before the deadline passes: an approval after expiry
    is refused and the case stays overdue."""
    require_running_clock(case)
    policy.require_extension(session, actor, case)
    if not (reason or "").strip():
        raise InvalidInput("延期需要说明理由", ["reason：不能为空"])
    check_extension(session, case, limit)
    if case.paused_since is None and now >= case.due_at:
        raise Conflict("已超过办结时限，不能再批准延期（延期须在期限届满前批准）",
                       [f"办结时限 {case.due_at.astimezone(BEIJING):%Y-%m-%d %H:%M} 已过；该事项仍按超期处理"])
    case.extensions = [*case.extensions, format_limit(limit)]
    changes.recompute(case, LazyCalendar(session).get())
    session.add(case)
    changes.schedule_case_warnings(session, case, now)
    changes.log_clock_event(session, case.instance_id, "extended", now, actor=actor,
                            detail={"limit": format_limit(limit), "reason": reason.strip(),
                                    "approved_by": actor.display_name or actor.username,
                                    "decision_reason": (decision_reason or "").strip() or None,
                                    "applicant_notice": notice, "due_at": beijing_iso(case.due_at)})
    return case


def refuse_extension(session: Session, now: datetime, case: CaseDeadline, limit_text: str, reason: str,
                     actor: Actor, decision_reason: str | None) -> None:
    """The head refuses an extension: recorded; the clock is unchanged."""
    policy.require_extension(session, actor, case)
    changes.log_clock_event(session, case.instance_id, "extension_refused", now, actor=actor,
                            detail={"limit": limit_text, "reason": reason,
                                    "refused_by": actor.display_name or actor.username,
                                    "decision_reason": (decision_reason or "").strip() or None})


def check_extension_request(session: Session, now: datetime, case: CaseDeadline, limit_text: str,
                            reason: str, actor: Actor) -> TimeLimit:
    """A handler's request for more time (申请延期), before the step decides it: by someone who
    handles the case, with a reason, before the due moment, within the allowance, and only where
    the catalog names the head who would decide."""
    require_running_clock(case)
    policy.require_request_extension(session, actor, case)
    limit = parse_limit(limit_text)
    if not (reason or "").strip():
        raise InvalidInput("申请延期需要说明理由", ["reason：不能为空"])
    if waiting_for_correction(case):
        raise Conflict("等待补正期间不计时，无需申请延期", [f"instance_id={case.instance_id}：补正材料收到后重新计时"])
    if case.paused_since is None and now >= case.due_at:
        raise Conflict("已超过办结时限，不能再申请延期（延期须在期限届满前申请并批准）",
                       [f"办结时限 {case.due_at.astimezone(BEIJING):%Y-%m-%d %H:%M} 已过"])
    check_extension(session, case, limit)
    return limit


# The BPMN message a process waits for when it decides extensions in a step of its own.
EXTENSION_MESSAGE = "extension_requested"


def extension_step_of(session: Session, instance_id: int) -> bool:
    """Whether the instance's process decides extensions in a step of its own (it catches the
    message `extension_requested`, as time_limited_case's 延期审批 does)."""
    instance = session.get(ProcessInstance, instance_id)
    definition = session.get(ProcessDefinition, instance.definition_id) if instance is not None else None
    return definition is not None and f'name="{EXTENSION_MESSAGE}"' in definition.bpmn_xml


# 《行政许可法》第四十二条: a decision not made within twenty days may, with the approval of the
# agency's head, be extended by ten days (working days, §82) — once, so ten days in all.
LICENSING = "行政许可"
LICENSING_EXTENSION = TimeLimit(value=10, unit=LimitUnit.working_days)


def extension_allowance(session: Session, case: CaseDeadline) -> tuple[TimeLimit | None, str]:
    """How much time extensions may add to the case in all, and the rule that says so.

    The duty's `extension_limit` when the catalog gives one; else for 行政许可 ten working days
    (§42); else none for a duty of another category. A case without a duty (a limit from its
    start data, a process outside the catalog) may add at most its own limit again."""
    duty = duty_in_force(session, case.duty_code)
    if duty is not None and duty.extension_limit is not None:
        return duty.extension_limit, f"清单规定该事项延期总计不得超过 {format_limit(duty.extension_limit)}"
    category = duty.category if duty is not None else None
    if category == LICENSING:
        return LICENSING_EXTENSION, "行政许可事项依《行政许可法》第四十二条，经负责人批准只能延长十个工作日"
    if duty is not None:
        return None, f"清单未规定{category or ''}事项“{duty.name}”可以延期（可在清单中为该事项填写“延期上限”）"
    own = counted(read_limit(case.limit_text))
    if own is None:
        return None, f"办结时限 {case.limit_text} 当日办结，没有可延长的天数"
    return own, f"延期总计不得超过该事项本身的办结时限 {format_limit(own)}"


def check_extension(session: Session, case: CaseDeadline, limit: TimeLimit) -> None:
    """How far a case may be extended (422 otherwise): all extensions together within the
    allowance, in its unit."""
    cap, basis = extension_allowance(session, case)
    if cap is None:
        raise InvalidInput(f"该事项不得延期：{basis}", [f"limit：{format_limit(limit)}"])
    if limit.unit != cap.unit:
        raise InvalidInput("延长的时限与可延期的上限计量单位不同",
                           [f"limit：{format_limit(limit)}；请以与 {format_limit(cap)} 相同的单位填写"])
    # A counted limit always has a value (TimeLimit refuses a count without one).
    cap_value, asked = cap.value or 0, limit.value or 0
    granted = sum(read_limit(text).value for text in case.extensions if read_limit(text).kind.value == cap.unit)
    if granted + asked > cap_value:
        left = max(cap_value - granted, 0)
        raise InvalidInput(f"延期超过上限：{basis}",
                           [f"limit：{format_limit(limit)}；已批准 {granted}，至多还可延长 "
                            f"{format_limit(TimeLimit(value=left, unit=cap.unit)) if left else '0（已用完）'}"])
