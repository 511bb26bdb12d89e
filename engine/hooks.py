"""Named hooks: the three places where a lower package makes something happen in a higher one.

Packages import only downwards (docs/architecture.md): the catalog may not import the analysis,
the calendar may not import the runtime. Yet publishing a catalog version must refresh that
region's alerts (engine.analysis), and entering a calendar year must recompute the provisional
deadlines (engine.runtime's clocks), and re-importing a draft must be refused while a publication
case (engine.runtime) reviews it. So the lower package fires a hook named here, and
`engine.application.wire()` — called by every entry point (the app, the CLI, the worker, the
tests) — connects each hook to its handler in the upper package. The lower package never names
the upper one, and the handler runs in the caller's transaction, exactly as a direct call would.

A hook has one handler. Firing a hook nobody connected raises: an entry point that forgot
`wire()` would otherwise publish a version without its alerts, silently.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, ParamSpec, TypeVar

from sqlmodel import Session

P = ParamSpec("P")
R = TypeVar("R")


class HookNotConnected(RuntimeError):
    """A hook fired before engine.application.wire() connected it."""


class Hook(Generic[P, R]):
    """A named call from a lower package to the one handler a higher package connected."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handler: Callable[P, R] | None = None

    def connect(self, handler: Callable[P, R]) -> None:
        """Make `handler` the one that runs when the hook fires. Connecting the same handler again
        changes nothing (wire() is idempotent); a different one while connected is a wiring
        mistake and raises, rather than one silently replacing the other."""
        if self.handler is not None and self.handler is not handler:
            raise RuntimeError(f"hook {self.name} is already connected to {self.handler!r}")
        self.handler = handler

    def fire(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.handler is None:
            raise HookNotConnected(
                f"hook {self.name} is not connected: the entry point must call engine.application.wire() first"
            )
        return self.handler(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"


# Fired by engine.catalog.service.publish_version, inside its transaction, after the version is
# marked published: (session, version_id, now). The handler brings the region's alerts in line
# with its new version in force.
version_published: Hook[[Session, int, datetime], object] = Hook("version_published")

# Fired by engine.calendar.service.enter_year_and_recompute after a year's schedule is stored:
# (session, calendar, now) → how many provisional deadlines moved. The calendar is an
# engine.calendar.working.WorkingCalendar, typed Any because a base module may not import the
# calendar package above it.
calendar_year_entered: Hook[[Session, Any, datetime], int] = Hook("calendar_year_entered")

# Fired by engine.catalog.service.import_catalog before a re-import replaces a draft's contents:
# (session, version_id). The handler raises engine.errors.Conflict when the draft may not be
# replaced (a catalog_publication case is reviewing it); returning means it may.
draft_replacing: Hook[[Session, int], None] = Hook("draft_replacing")
