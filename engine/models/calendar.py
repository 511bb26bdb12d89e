"""Tables of this area (SQLModel): the years an administrator has entered and their special days.

Only departures from the plain week are stored (holidays, 调休 working weekends); every other
day of an entered year follows Monday–Friday. A year present here counts as official.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from engine.models.types import AwareDateTime


class CalendarYear(SQLModel, table=True):
    """A year's holiday schedule as published by the State Council and entered by an administrator."""

    __tablename__ = "calendar_year"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    entered_by: str = Field(max_length=64)
    entered_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    # Where the schedule comes from, e.g. 国办发明电〔2026〕X号 — shown next to the dates.
    source: str = Field(default="", max_length=255)


class CalendarDay(SQLModel, table=True):
    """One day of an entered year that departs from the plain week."""

    __tablename__ = "calendar_day"

    day: date = Field(primary_key=True)
    year: int = Field(foreign_key="calendar_year.year", index=True)
    is_working: bool
    # The holiday's name (春节, 国庆节 …) or why a weekend is worked; optional.
    note: str | None = Field(default=None, max_length=64)
