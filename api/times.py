"""One form of time in every API answer: ISO 8601 in Beijing time with its offset (+08:00).

Stored moments are UTC (SQLite hands them back naive), and pydantic writes an aware UTC moment
with `Z`: the same answer mixed `2026-09-30T01:00:00Z` with `2026-09-30T09:00:00+08:00`, and
people reading it took one for the other. Every moment an answer carries goes through
`BeijingTime`; inputs still accept any offset (naive ones are read as Beijing time where the
route says so).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer

from engine.clock import BEIJING, ensure_aware


def beijing_iso(moment: datetime) -> str:
    return ensure_aware(moment).astimezone(BEIJING).isoformat()


BeijingTime = Annotated[datetime, PlainSerializer(beijing_iso, return_type=str, when_used="json")]
