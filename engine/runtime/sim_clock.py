"""Make SpiffWorkflow's timers obey our Clock.

SpiffWorkflow decides whether a BPMN timer has fired (and computes the due time of duration
timers) with `datetime.now(timezone.utc)`, looked up by global name in its timer module. We
replace that name with a `datetime` subclass whose `now()` returns the moment set by the caller
around an engine step (`engine_time(...)`, or the clock of core's script context), and real time
when none is set. Tests therefore move
BPMN timers with a ControlledClock, production runs on the real clock, and no code sleeps.

The moment lives in a context variable, so concurrent requests and worker threads each see
their own "now".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions import timer

from engine.clock import Clock
from engine.runtime.scripting import current_script_context

_engine_now: ContextVar[datetime | None] = ContextVar("dutyflow_engine_now", default=None)


class ShimDatetime(datetime):
    """`datetime` whose now() is the engine step's moment when one is set."""

    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same contract as datetime.now
        moment = current_engine_time()
        if moment is None:
            return datetime.now(tz)
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


def current_engine_time() -> datetime | None:
    """The moment of the running engine step: set by `engine_time`, else the clock of core's
    script context (set around every engine step), else None (real time)."""
    moment = _engine_now.get()
    if moment is not None:
        return moment
    context = current_script_context()
    if context is not None and context.clock is not None:
        return context.clock.now()
    return None


@contextmanager
def engine_time(moment: datetime | Clock) -> Iterator[datetime]:
    """Run the enclosed engine steps "at" `moment` (an aware datetime or a Clock's now())."""
    if not isinstance(moment, datetime):
        moment = moment.now()
    if moment.tzinfo is None:
        raise ValueError("engine_time needs a timezone-aware moment")
    install_shim()
    token = _engine_now.set(moment)
    try:
        yield moment
    finally:
        _engine_now.reset(token)


_installed = False


def install_shim() -> None:
    """Replace `datetime` in SpiffWorkflow's timer module (idempotent, done on first use)."""
    global _installed
    if _installed:
        return
    timer.datetime = ShimDatetime
    _installed = True


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


install_shim()
