"""Time source. Production code asks a Clock for `now()`; tests substitute a controlled one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def __init__(self, tz: tzinfo = BEIJING):
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(self.tz)


class ControlledClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=BEIJING)
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=BEIJING)
        self._now = moment

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now = self._now + (delta or timedelta(**kwargs))
        return self._now


def ensure_aware(moment: datetime, tz: tzinfo = BEIJING) -> datetime:
    """Naive datetimes (as SQLite returns them) are UTC in our storage; give them an offset."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC).astimezone(tz)
    return moment
