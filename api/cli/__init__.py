"""The `dutyflow` command. Each area registers its commands in its own module."""

from __future__ import annotations

from api.cli.app import app


def main() -> None:
    from api.cli import analysis, calendar, catalog, processes, runtime, serve, worker  # noqa: F401  (register commands)

    app()
