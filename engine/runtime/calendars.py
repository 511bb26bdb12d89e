"""The working calendar clocks count on: one per database, cached, checked once per transaction.

`CALENDARS` keeps, for the life of the process, one calendar per database URL, rebuilt when the
entered years or the office-hours setting change; whether they changed is asked once per
transaction (one small query, remembered in `session.info`). The timing log and BPMN timer
functions use the same calendar (`calendar_for`).

A step's first read may carry that query's columns (`FINGERPRINT_COLUMNS`) and hand their values
over (`note_fingerprint`): the step then runs one statement fewer, and the check still sees the
database as the transaction found it before its first calendar question.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from engine.calendar.stored import load_calendar
from engine.calendar.working import OfficeHours, WorkingCalendar
from engine.config import setting
from engine.db import core_connection, database_key
from engine.models.calendar import CalendarDay, CalendarYear

# (entered years, newest entry, stored days, office hours): a calendar is rebuilt when it changes.
Fingerprint = tuple[int, object, int, str]

# Per database URL: the fingerprint the calendar was built for, and the calendar (process lifetime).
CALENDARS: dict[str, tuple[Fingerprint, WorkingCalendar]] = {}
# session.info key: the fingerprint checked in this transaction.
CHECKED_KEY = "dutyflow_calendar_fingerprint"

# On the tables, run on the session's connection (`core_connection`): a statement that loads no ORM
# object, asked once a transaction.
_YEARS = CalendarYear.__table__  # type: ignore[attr-defined]
_DAYS = CalendarDay.__table__  # type: ignore[attr-defined]
FINGERPRINT_COLUMNS = (
    select(func.count()).select_from(_YEARS).scalar_subquery().label("calendar_years"),
    select(func.max(_YEARS.c.entered_at)).scalar_subquery().label("calendar_newest"),
    select(func.count()).select_from(_DAYS).scalar_subquery().label("calendar_days"),
)
FINGERPRINT = select(*FINGERPRINT_COLUMNS)
# session.info key: the database part of the fingerprint read along with another statement of the
# transaction (`note_fingerprint`); lives until `calendar_for` takes it or the transaction ends.
READ_KEY = "dutyflow_calendar_read"


def note_fingerprint(session: Session, years: int, newest: object, days: int) -> None:
    """The values of `FINGERPRINT_COLUMNS`, selected by a statement the transaction ran anyway
    before any calendar question: `calendar_for` checks them instead of asking."""
    if CHECKED_KEY not in session.info:
        session.info[READ_KEY] = (years, newest, days)


def calendar_for(session: Session) -> WorkingCalendar:
    """The working calendar of this session's database, rebuilt only when its entered years change."""
    key = database_key(session)
    cached = CALENDARS.get(key)
    if cached is not None and session.info.get(CHECKED_KEY) == cached[0]:
        return cached[1]
    office_hours: str = setting("office_hours")
    read = session.info.pop(READ_KEY, None)
    years, newest, days = read if read is not None else core_connection(session).execute(FINGERPRINT).one()
    fingerprint: Fingerprint = (years, newest, days, office_hours)
    if cached is None or cached[0] != fingerprint:
        cached = CALENDARS[key] = (fingerprint, load_calendar(session, OfficeHours.parse(office_hours)))
    session.info[CHECKED_KEY] = fingerprint
    return cached[1]


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_read(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:  # a read is good for its own transaction only
        session.info.pop(READ_KEY, None)


class LazyCalendar:
    """The calendar of a session, loaded on first use, so steps that compute no moment cost no query."""

    def __init__(self, session: Session):
        self.session = session
        self.calendar: WorkingCalendar | None = None

    def get(self) -> WorkingCalendar:
        if self.calendar is None:
            self.calendar = calendar_for(self.session)
        return self.calendar
