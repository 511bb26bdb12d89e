"""Working-day calendar: time limits, working days and office time, the administrator's year table."""

from engine.calendar.limits import LimitKind, ParsedLimit, format_limit, parse_limit, read_limit
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
    "LimitKind",
    "OfficeHours",
    "ParsedLimit",
    "WorkingCalendar",
    "format_limit",
    "load_calendar",
    "parse_limit",
    "read_limit",
]
