"""Calendar functions for BPMN timer expressions (registered with core's script engine).

SpiffWorkflow's durations know no working days, so a working-day timer is written as a
`timeDate` whose expression calls one of these and gets an absolute ISO moment with +08:00:

    <bpmn:timeDate>due_after("5个工作日")</bpmn:timeDate>   the limit after the step's moment
    <bpmn:timeDate>case_due()</bpmn:timeDate>               the case clock's due moment
    <bpmn:timeDate>case_yellow()</bpmn:timeDate>            the case clock's yellow moment

"Now" is the engine step's moment (the caller's Clock), so tests move these with a
ControlledClock. The calendar is the database's (entered years included) when a session is at
hand, the built-in one otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from engine.calendar.limits import read_limit
from engine.calendar.working import WorkingCalendar
from engine.clock import BEIJING, SystemClock
from engine.errors import InvalidInput
from engine.runtime.calendars import calendar_for
from engine.runtime.clocks.arithmetic import compute_moments
from engine.runtime.clocks.limits import CASE_OF_INSTANCE, case_data, resolve_case_limit
from engine.runtime.scripting import current_script_context, register_script_function
from engine.runtime.sim_clock import current_engine_time


def _now() -> datetime:
    moment = current_engine_time()
    if moment is None:
        moment = SystemClock().now()
    return moment


def _calendar() -> WorkingCalendar:
    context = current_script_context()
    if context is not None and context.session is not None:
        return calendar_for(context.session)
    return WorkingCalendar()


def due_after(limit: str) -> str:
    """The moment `limit` ("5个工作日", "30日", "4小时", "1个月", "即办") after now, ISO 8601 with +08:00.

    A limit meaning "no limit" (无) has no moment: the calendar refuses it with the text named.
    """
    deadline = _calendar().due(_now(), read_limit(str(limit)))
    return deadline.at.astimezone(BEIJING).isoformat()


def _case_moments() -> tuple[datetime, datetime]:
    context = current_script_context()
    if context is None or context.session is None or context.instance is None:
        raise InvalidInput("case_due()/case_yellow() 只能在流程实例中使用", ["脚本上下文中没有流程实例"])
    instance = context.instance
    case = None
    if getattr(instance, "id", None) is not None:
        case = context.session.execute(CASE_OF_INSTANCE, {"instance_id": instance.id}).scalar_one_or_none()
    if case is not None:
        return case.due_at, case.yellow_at
    # The first engine steps run before the case row is written (after the step): compute it.
    data = getattr(instance, "start_data", None) or case_data(instance, None)
    resolved = resolve_case_limit(context.session, data or {})
    if resolved is None:
        raise InvalidInput("该流程实例没有办结时限", ["启动数据中没有 duty_code（带时限的事项）或 limit"])
    if not resolved.limit.has_clock:
        raise InvalidInput("该事项不计时，没有办结时限", [f"时限 {resolved.limit.text}：该事项不计时"])
    moments = compute_moments(_calendar(), _now(), resolved.limit)
    return moments.due_at, moments.yellow_at


def case_due() -> str:
    """The case clock's due moment (办结时限), ISO 8601 with +08:00."""
    return _case_moments()[0].astimezone(BEIJING).isoformat()


def case_yellow() -> str:
    """The moment the case turns yellow, ISO 8601 with +08:00."""
    return _case_moments()[1].astimezone(BEIJING).isoformat()


TIMER_FUNCTIONS: dict[str, Callable[..., str]] = {"due_after": due_after, "case_due": case_due, "case_yellow": case_yellow}


def register_timer_functions() -> None:
    """Make the functions above callable from BPMN expressions (idempotent)."""
    for name, function in TIMER_FUNCTIONS.items():
        register_script_function(name, function)


register_timer_functions()
