"""The `dutyflow` command. Each area registers its commands in its own module; importing them
here registers them all on the one Typer application (api.cli.app)."""

from __future__ import annotations

from api.cli import (  # noqa: F401  (register commands)
    analysis,
    audit,
    calendar,
    catalog,
    clock,
    evaluation,
    processes,
    runtime,
    serve,
    users,
    worker,
)
from api.cli.app import app


def main() -> None:
    app()
