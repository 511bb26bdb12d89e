"""Routes: timers."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

router = APIRouter()


def on_startup(app: FastAPI) -> None:
    """Called once when the app starts (after migrations); app.state has database, clock, settings."""


def on_shutdown(app: FastAPI) -> None:
    """Called once when the app stops."""
