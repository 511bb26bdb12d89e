"""Working-day calendar: time limits, working days and office time, the administrator's year table."""

from engine.calendar.limits import format_limit, parse_limit
from engine.calendar.working import (
    DEFAULT_OFFICE_HOURS,
    DaySource,
    Deadline,
    OfficeHours,
    WorkingCalendar,
    load_calendar,
)

__all__ = [
    "DEFAULT_OFFICE_HOURS",
    "Deadline",
    "DaySource",
    "OfficeHours",
    "WorkingCalendar",
    "format_limit",
    "load_calendar",
    "parse_limit",
]
