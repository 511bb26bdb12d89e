"""Runtime figures for the dashboard: matters at risk by department, completion and on-time rates."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from engine.clock import Clock


def dashboard_figures(session: Session, clock: Clock) -> dict[str, Any] | None:
    """None until the runtime's metrics are available (filled in when the runtime area lands)."""
    return None
