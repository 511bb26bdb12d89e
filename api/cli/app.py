"""The Typer application shared by the command modules, and helpers they all use.

Commands are registered lazily: the root group knows which module defines each command
(`COMMANDS`) and imports it when the command is looked up, so `dutyflow analyze FILE` loads the
analysis and the catalog reader, not the web routes, the runtime or SpiffWorkflow (issue 11
item 6: the start-up counts in the analysis's time aims). A part that only some runs of a
command need is loaded the same way, when a run needs it (`load`). A module whose commands need the
engine's hooks connected (publishing, importing drafts, entering calendar years, running
process scripts) names `prepare = engine.application.wire`; the group calls it before any of
its commands runs, as the root callback used to for every command.
"""

from __future__ import annotations

import gc
import importlib
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import typer
import typer.main
from rich.console import Console

from api.cli.frame import ChineseGroup

# Each command and the module that defines it, in the order `dutyflow --help` lists them.
COMMANDS = {
    "analyze": "api.cli.analysis",
    **dict.fromkeys(("import", "export", "publish", "diff", "versions"), "api.cli.catalog"),
    **dict.fromkeys(
        ("deploy", "definitions", "start", "instances", "timeline", "tasks", "task", "suspend", "activate", "metrics"),
        "api.cli.runtime",
    ),
    "serve": "api.cli.serve",
    "worker": "api.cli.worker",
    "diagram": "api.cli.diagrams",
    "alerts": "api.cli.alerts",
    "audit": "api.cli.audit",
    "calendar": "api.cli.calendar",
    "clock": "api.cli.clock",
    "evaluation": "api.cli.evaluation",
    "processes": "api.cli.processes",
    "users": "api.cli.users",
}


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile. For the one short process of a command: loading
    its modules, or reading and analysing a big catalog, creates hundreds of thousands of objects
    that live until the process ends, and every full collection walks all of them again (~18 %
    of the import time; at 100,000 duties reading the file took twice as long with the collector
    on). The collector runs as before afterwards; the web app never goes through here."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load(module: str) -> ModuleType:
    """A module of the command line, imported when a command (or a run of one) needs it, with
    the collector paused: the commands' modules (`COMMANDS`), and the parts only some runs of a
    command take — `dutyflow analyze` loads the table readers (openpyxl), the settings, the
    database and the migrations only for a table or a stored version, not for a YAML/JSON file
    (api.cli.analysis)."""
    with collection_paused():
        return importlib.import_module(module)


class CommandGroup(ChineseGroup):
    """The root group: loads a command's module when the command is looked up (`COMMANDS`)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*super().list_commands(ctx), *COMMANDS]))

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in self.commands and name in COMMANDS:
            load(COMMANDS[name])  # its decorators register its commands on `app`
            command = typer.main.get_group(app).commands.get(name)
            if command is not None:
                self.commands[name] = command
        return super().get_command(ctx, name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        prepare = getattr(sys.modules.get(COMMANDS.get(name or "", "")), "prepare", None)
        if command is not None and prepare is not None:
            prepare()
        return name, command, rest


app = typer.Typer(
    name="dutyflow",
    help="dutyflow：权责清单、效能制度流程与职责分析。数据库由环境变量 DUTYFLOW_DATABASE_URL 选择。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=CommandGroup,  # lazy commands; the frame (usage, panels, --help, parser errors) in Chinese: api.cli.frame
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def root() -> None:
    # Keeps the root a group while no command module is loaded yet (Typer makes a lone command
    # the whole program); the hooks are connected per module (`prepare`, see the module doc).
    pass


def fail(message: str, problems: list[str] | None = None, code: int = 1) -> None:
    """Print an error for a person and exit non-zero."""
    err_console.print(f"[bold red]错误：[/]{message}", highlight=False)
    for problem in problems or []:
        err_console.print(f"  - {problem}", highlight=False, markup=False)
    raise typer.Exit(code)


# A Chinese character next to an ASCII word (a code, a number, a date).
_CJK_ASCII = re.compile(r"(?<=[\u3400-\u9fff\uff00-\uffef\u3000-\u303f])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[\u3400-\u9fff])")


def cell_text(text: str) -> str:
    """Text for a table cell that may wrap: a space between Chinese and an ASCII word (as Chinese
    typesetting spaces them), so rich wraps there and folds only the Chinese, never inside a code
    like MZ-SHJZ-01 (rich breaks lines at spaces, and folds a word only when it is longer than the
    column)."""
    return _CJK_ASCII.sub(" ", text)
