"""How fast the working-day calendar computes deadlines (the runtime computes one per task and timer).

Run: PYTHONPATH=. python bench/calendar_due.py [N]   (default 100,000 starts spread over 2026)
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

from engine.calendar.limits import parse_limit
from engine.calendar.working import WorkingCalendar
from engine.clock import BEIJING


def main(n: int) -> None:
    calendar = WorkingCalendar()
    first = datetime(2026, 1, 5, 10, 0, tzinfo=BEIJING)
    step = timedelta(minutes=365 * 24 * 60 / n)
    starts = [first + step * i for i in range(n)]
    for text in ("5个工作日", "20个工作日", "30日", "4小时"):
        limit = parse_limit(text)
        began = time.perf_counter()
        for start in starts:
            calendar.due(start, limit)
        elapsed = time.perf_counter() - began
        print(f"{text:>8}: {n:,} deadlines in {elapsed:.2f} s ({n / elapsed:,.0f}/s)")
    began = time.perf_counter()
    for start in starts:
        calendar.working_time_between(start, start + timedelta(days=14))
    elapsed = time.perf_counter() - began
    print(f"working_time_between over 14 days: {n:,} in {elapsed:.2f} s ({n / elapsed:,.0f}/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
