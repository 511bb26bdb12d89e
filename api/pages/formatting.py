"""How pages print things: moments in Beijing time, working-time spans, limits, warning states.

Also the office-time schedule the live countdown needs: the browser only knows the task's working
seconds left at render time, so it is given the office periods ahead and subtracts only the time
that falls inside them — the countdown stops at lunch, at night and on rest days, like the engine's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import Environment

from api.labels import STATE_LABELS, state_label  # noqa: F401  (the pages' names)
from engine.calendar.units import TimeLimit
from engine.calendar.working import WorkingCalendar
from engine.catalog.cells import format_limit_cell
from engine.clock import BEIJING
from engine.runtime.clocks.limits import pause_reason_name

# The words for clock states live in api.labels, one catalogue with the CLI.
# How far ahead the countdown schedule reaches; a page left open longer simply stops counting.
SCHEDULE_DAYS = 14


def moment(value: datetime | str | None, with_seconds: bool = False) -> str:
    """2026-09-30 09:00 (Beijing time) for any aware datetime or ISO string; '' for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def working_span(seconds: float | int | None, day_seconds: int = 7 * 3600) -> str:
    """Working seconds as people say them: 2个工作日3小时15分 (a working day = the office hours)."""
    if seconds is None:
        return ""
    total = int(abs(seconds)) // 60
    days, rest = divmod(total, day_seconds // 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days}个工作日")
    if hours:
        parts.append(f"{hours}小时")
    if minutes or not parts:
        parts.append(f"{minutes}分")  # whole days print without a trailing 0分
    text = "".join(parts)
    return f"超期{text}" if seconds < 0 else text


def limit_text(limit: TimeLimit | dict | None) -> str:
    """A duty's limit as people read it, note included: `15个工作日（不含公示时间）`, `即办`, `无`."""
    if not limit:
        return ""
    if isinstance(limit, dict):
        limit = TimeLimit(**limit)
    return format_limit_cell(limit) or ""


def office_schedule(calendar: WorkingCalendar, now: datetime, days: int = SCHEDULE_DAYS) -> list[list[int]]:
    """Office periods from today for `days` days as [start_ms, end_ms] pairs (epoch milliseconds)."""
    periods: list[list[int]] = []
    today: date = now.astimezone(calendar.tz).date()
    for offset in range(days):
        day = today + timedelta(days=offset)
        if not calendar.is_working_day(day):
            continue
        for start, end in calendar.office_hours.periods:
            periods.append([
                int(datetime.combine(day, start, tzinfo=calendar.tz).timestamp() * 1000),
                int(datetime.combine(day, end, tzinfo=calendar.tz).timestamp() * 1000),
            ])
    return periods


def install(env: Environment) -> None:
    """Register the filters the templates use."""
    filters: dict[str, Any] = {
        "moment": moment,
        "working_span": working_span,
        "limit_text": limit_text,
        "state_label": state_label,
        "pause_reason": pause_reason_name,
    }
    env.filters.update(filters)
    # Case data shown as JSON keeps Chinese readable instead of \uXXXX escapes.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
