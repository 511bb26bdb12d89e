"""Comparisons of recorded moments with the engine step's moment (the caller's Clock).

Working-day due moments themselves come from the timers area (`due_after("5个工作日")`,
`case_due()` in engine.runtime.timer_functions).
"""

from __future__ import annotations

from datetime import datetime

from engine.clock import BEIJING
from engine.errors import InvalidInput
from engine.runtime.library.context import now


def parse_moment(value: str, name: str = "时间") -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"无法识别的时间：{value!r}", [f"{name}: 应为带时区的 ISO 8601 时间"]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


def not_yet(moment: str | None) -> bool:
    """True while `moment` lies in the future (a gateway loops a watcher back to its timer)."""
    if not moment:
        return False
    return parse_moment(moment) > now()


def is_past(moment: str | None) -> bool:
    """True once `moment` has passed (a rectification accepted after its due date is late)."""
    return moment is not None and moment != "" and parse_moment(moment) < now()


def now_iso() -> str:
    """The engine step's moment, ISO 8601 with +08:00 (recorded in task data)."""
    return now().astimezone(BEIJING).isoformat()
