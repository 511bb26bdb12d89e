"""The working calendar of a database: the package's days with the administrator's entered years.

Apart from engine.calendar.working, which is pure and reads no table: the catalog's validator
counts limits with the working calendar, and reading a catalog file (`dutyflow analyze FILE`)
should not load the tables (engine.models loads every one of them; issue 11 item 6).
"""

from __future__ import annotations

from sqlmodel import Session, select

from engine.calendar.working import DEFAULT_OFFICE_HOURS, OfficeHours, WorkingCalendar
from engine.models.calendar import CalendarDay, CalendarYear


def load_calendar(session: Session, office_hours: OfficeHours = DEFAULT_OFFICE_HOURS) -> WorkingCalendar:
    """The calendar with the administrator-entered years of the database."""
    entered = set(session.exec(select(CalendarYear.year)).all())
    overrides = {row.day: row.is_working for row in session.exec(select(CalendarDay)).all()}
    return WorkingCalendar(overrides=overrides, entered_years=entered, office_hours=office_hours)
