"""The working calendar clocks count on: one per database, cached, checked once per transaction.

`CALENDARS` keeps, for the life of the process, one calendar per database URL, rebuilt when the
entered years or the office-hours setting change; whether they changed is asked once per
transaction (one small query, remembered in `session.info`). The timing log and BPMN timer
functions use the same calendar (`calendar_for`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from engine.calendar.working import OfficeHours, WorkingCalendar, load_calendar
from engine.config import setting
from engine.db import database_key
from engine.models.calendar import CalendarDay, CalendarYear

# (entered years, newest entry, stored days, office hours): a calendar is rebuilt when it changes.
Fingerprint = tuple[int, object, int, str]

# Per database URL: the fingerprint the calendar was built for, and the calendar (process lifetime).
CALENDARS: dict[str, tuple[Fingerprint, WorkingCalendar]] = {}
# session.info key: the fingerprint checked in this transaction.
CHECKED_KEY = "dutyflow_calendar_fingerprint"

FINGERPRINT = select(
    select(func.count()).select_from(CalendarYear).scalar_subquery(),
    select(func.max(col(CalendarYear.entered_at))).scalar_subquery(),
    select(func.count()).select_from(CalendarDay).scalar_subquery(),
)


def calendar_for(session: Session) -> WorkingCalendar:
    """The working calendar of this session's database, rebuilt only when its entered years change."""
    key = database_key(session)
    cached = CALENDARS.get(key)
    if cached is not None and session.info.get(CHECKED_KEY) == cached[0]:
        return cached[1]
    office_hours: str = setting("office_hours")
    years, newest, days = session.execute(FINGERPRINT).one()
    fingerprint: Fingerprint = (years, newest, days, office_hours)
    if cached is None or cached[0] != fingerprint:
        cached = CALENDARS[key] = (fingerprint, load_calendar(session, OfficeHours.parse(office_hours)))
    session.info[CHECKED_KEY] = fingerprint
    return cached[1]


class LazyCalendar:
    """The calendar of a session, loaded on first use, so steps that compute no moment cost no query."""

    def __init__(self, session: Session):
        self.session = session
        self.calendar: WorkingCalendar | None = None

    def get(self) -> WorkingCalendar:
        if self.calendar is None:
            self.calendar = calendar_for(self.session)
        return self.calendar
