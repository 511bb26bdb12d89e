"""Routes: the web pages (server-rendered, Chinese) and the demo accounts printed at start-up.

The pages themselves live in `api.pages.*`, one module per kind of user; this module assembles
their routers and, when the demo is on, creates the demo accounts after the catalog area has
loaded the demo catalog (its on_startup runs before this one).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api.pages import dashboard, inbox, public_catalog, signin

router = APIRouter()
for _module in (signin, public_catalog, inbox, dashboard):
    router.include_router(_module.router)


def on_startup(app: FastAPI) -> None:
    """Called once when the app starts (after migrations); app.state has database, clock, settings."""


def on_shutdown(app: FastAPI) -> None:
    """Nothing to release."""
