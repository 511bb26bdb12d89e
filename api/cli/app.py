"""The Typer application shared by the command modules, and helpers they all use."""

from __future__ import annotations

import re

import typer
from rich.console import Console

from api.cli.frame import ChineseGroup
from engine.application import wire
from engine.config import get_settings
from engine.db import Database

app = typer.Typer(
    name="dutyflow",
    help="dutyflow：权责清单、效能制度流程与职责分析。数据库由环境变量 DUTYFLOW_DATABASE_URL 选择。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ChineseGroup,  # the frame (usage, panels, --help, parser errors) in Chinese: api.cli.frame
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def connect_hooks() -> None:
    # Runs before every command (the worker included): the engine's hooks are connected, so a
    # catalog published or a calendar year entered from the command line acts as from the app.
    wire()


def open_database() -> Database:
    """The database named by DUTYFLOW_DATABASE_URL (SQLite file by default), migrated to the newest schema."""
    database = Database(get_settings().database_url)
    database.upgrade()
    return database


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
