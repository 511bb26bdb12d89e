"""The administrator's side of the calendar: enter a published year, list a year's special days.

When the State Council publishes next year's schedule (around November) an administrator types
it in; from then on that year counts as official and deadlines computed provisionally on weekends
alone are recomputed in the same transaction. The deadline rows belong to the runtime, above
this package: `enter_year_and_recompute` fires the hook `engine.hooks.calendar_year_entered`, which
engine.application connects to the runtime's recomputation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar
from sqlmodel import Session, col, delete, select

from engine import hooks
from engine.calendar.statutory import statutory_holidays
from engine.calendar.stored import load_calendar
from engine.calendar.working import (
    DEFAULT_OFFICE_HOURS,
    DaySource,
    OfficeHours,
    WorkingCalendar,
    official_day_name,
    official_years,
)
from engine.errors import InvalidInput
from engine.models.calendar import CalendarDay, CalendarYear

FIRST_YEAR, LAST_YEAR = 2000, 2100
WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


@dataclass(frozen=True)
class SpecialDay:
    """A day that departs from the plain week: a holiday, or a 调休 working weekend."""

    day: date
    is_working: bool
    source: DaySource
    note: str | None


@dataclass(frozen=True)
class YearSchedule:
    year: int
    source: DaySource
    days: list[SpecialDay]
    entered_by: str | None = None
    entered_at: datetime | None = None
    notice: str | None = None  # the State Council notice the administrator cited


@dataclass(frozen=True)
class EnteredYear:
    record: CalendarYear
    calendar: WorkingCalendar
    # How many provisional deadlines the runtime moved with the new calendar.
    recomputed: int


def enter_year(
    session: Session,
    year: int,
    holidays: list[date],
    workdays: list[date],
    actor: object,
    now: datetime,
    note: str = "",
    day_notes: dict[date, str] | None = None,
) -> CalendarYear:
    """Publish a year's schedule: replaces that year's rows and records who entered it and when.

    `holidays` are the days off (weekend days inside a holiday span may be listed, as the notice
    lists them; a weekend day not joined to a weekday off is refused as a likely typo);
    `workdays` are the 调休 weekend days worked (weekdays are refused). `actor` is a username or an Actor.
    """
    day_notes = day_notes or {}
    _check_entry(year, holidays, workdays, now, note, day_notes)
    session.exec(delete(CalendarDay).where(col(CalendarDay.year) == year))
    record = session.get(CalendarYear, year) or CalendarYear(year=year, entered_by="", entered_at=now)
    record.entered_by = str(getattr(actor, "username", actor))
    record.entered_at = now
    record.source = note.strip()
    session.add(record)
    session.flush()  # the year row first: days refer to it
    for day in holidays:
        session.add(CalendarDay(day=day, year=year, is_working=False, note=day_notes.get(day)))
    for day in workdays:
        session.add(CalendarDay(day=day, year=year, is_working=True, note=day_notes.get(day)))
    session.flush()
    return record


def enter_year_and_recompute(
    session: Session,
    year: int,
    holidays: list[date],
    workdays: list[date],
    actor: object,
    now: datetime,
    note: str = "",
    day_notes: dict[date, str] | None = None,
    office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
) -> EnteredYear:
    """`enter_year`, then recompute every provisional deadline with the new calendar (one transaction)."""
    record = enter_year(session, year, holidays, workdays, actor, now, note, day_notes)
    calendar = load_calendar(session, office_hours)
    return EnteredYear(record, calendar, recompute_provisional_deadlines(session, calendar, now))


def recompute_provisional_deadlines(session: Session, calendar: WorkingCalendar, now: datetime) -> int:
    """Hand the new calendar to the runtime, which owns the deadline rows (through the hook
    `calendar_year_entered`); returns how many provisional deadlines moved."""
    return hooks.calendar_year_entered.fire(session, calendar, now)


def list_days(session: Session, year: int) -> YearSchedule:
    """A year's holidays and 调休 working days with where they come from, in date order."""
    _check_year(year)
    record = session.get(CalendarYear, year)
    if record is not None:
        rows = session.exec(
            select(CalendarDay).where(CalendarDay.year == year).order_by(col(CalendarDay.day))
        ).all()
        days = [SpecialDay(r.day, r.is_working, DaySource.entered, r.note) for r in rows]
        return YearSchedule(
            year, DaySource.entered, days, record.entered_by, record.entered_at, record.source
        )
    if year in official_years():
        return YearSchedule(year, DaySource.official, _official_days(year))
    # Not published: the 办法's statutory holidays are certain; 调休 is unknown and not listed.
    days = [SpecialDay(d, False, DaySource.provisional, name) for d, name in statutory_holidays(year).items()]
    return YearSchedule(year, DaySource.provisional, days)


def weekday_name(day: date) -> str:
    return WEEKDAY_NAMES[day.weekday()]


def _official_days(year: int) -> list[SpecialDay]:
    days = [
        SpecialDay(d, False, DaySource.official, official_day_name(d))
        for d in chinese_calendar.holidays
        if d.year == year
    ]
    days += [
        SpecialDay(d, True, DaySource.official, official_day_name(d))
        for d in chinese_calendar.workdays
        if d.year == year
    ]
    return sorted(days, key=lambda s: s.day)


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"年份超出范围：{year}", [f"年份 {year}：应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间"])


def _check_entry(
    year: int,
    holidays: list[date],
    workdays: list[date],
    now: datetime,
    note: str,
    day_notes: dict[date, str],
) -> None:
    _check_year(year)
    if now.tzinfo is None:
        raise ValueError("enter_year needs a timezone-aware `now`")
    problems: list[str] = []
    if not holidays:
        problems.append(f"放假日期：未列出任何日期（{year} 年的节假日安排不可能没有放假日）")
    problems += _list_problems("放假日期", year, holidays)
    problems += _list_problems("调休上班日期", year, workdays)
    for day in sorted(set(holidays) & set(workdays)):
        problems.append(f"{day.isoformat()}：同时列为放假日期和调休上班日期")
    for day in sorted(set(workdays)):
        if day.weekday() < 5 and day.year == year:
            problems.append(
                f"调休上班日期 {day.isoformat()}（{weekday_name(day)}）：本来就是工作日，只有周六、周日才需列为调休上班"
            )
    problems += _lone_weekend_holidays(year, holidays)
    if len(note.strip()) > 255:
        problems.append("说明：不能超过 255 个字符")
    for day, text in sorted(day_notes.items()):
        if day not in set(holidays) | set(workdays):
            problems.append(f"备注 {day.isoformat()}：该日期不在放假或调休上班日期中")
        if len(text) > 64:
            problems.append(f"备注 {day.isoformat()}：不能超过 64 个字符")
    if problems:
        raise InvalidInput(f"{year} 年节假日安排有误，未保存", problems)


def _lone_weekend_holidays(year: int, holidays: list[date]) -> list[str]:
    """Weekend days may be listed inside a holiday span (notices say "1月1日至3日放假"), but a
    weekend "holiday" not joined to any weekday off changes nothing and is almost surely a typo."""
    listed = {d for d in holidays if d.year == year}
    problems = []
    for day in sorted(listed):
        if day.weekday() < 5:
            continue
        run = _run_around(day, listed)
        if all(d.weekday() >= 5 for d in run):
            problems.append(
                f"放假日期 {day.isoformat()}（{weekday_name(day)}）：本来就是休息日，且未与工作日的放假日期相连，请核对"
            )
    return problems


def _run_around(day: date, listed: set[date]) -> list[date]:
    """The consecutive listed days containing `day`."""
    run = [day]
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    while before in listed:
        run.append(before)
        before -= timedelta(days=1)
    while after in listed:
        run.append(after)
        after += timedelta(days=1)
    return run


def _list_problems(label: str, year: int, days: list[date]) -> list[str]:
    problems = [f"{label} {d.isoformat()}：不在 {year} 年内" for d in days if d.year != year]
    problems += [f"{label} {d.isoformat()}：重复列出" for d, n in sorted(Counter(days).items()) if n > 1]
    return problems
