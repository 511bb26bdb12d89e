"""The `dutyflow` command. Each area registers its commands in its own module, loaded when one of
its commands runs (api.cli.app.COMMANDS)."""

from __future__ import annotations

import gc

# The command's libraries (Typer, Rich, SQLAlchemy, the tables …) load with the cyclic collector
# paused: they allocate hundreds of thousands of long-lived objects, and each full collection
# meanwhile walks them all again (~18 % of the start-up, which counts in the analysis's time
# aims, issue 11 item 6). Resumed as soon as they are loaded; api.cli.app.collection_paused
# does the same for the module of the command that runs.
_collecting = gc.isenabled()
gc.disable()
from api.cli.app import app  # noqa: E402

if _collecting:
    gc.enable()


def main() -> None:
    app()
