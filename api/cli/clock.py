"""CLI commands: clock — replay a case's legal events against the real process and clock."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from api.cli.app import app, fail
from engine.application import wire
from engine.config import get_settings
from engine.db import Database
from engine.errors import DutyflowError
from engine.runtime import simulation

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire

clock_app = typer.Typer(help="办结时限：按情景文件重放办件的法定事件，逐步查看计时。", no_args_is_help=True)
app.add_typer(clock_app, name="clock")


@clock_app.command("simulate")
def simulate(
    scenario: Path = typer.Argument(..., help="情景文件（YAML，格式见 docs/clock-scenarios.md）"),
    database: str = typer.Option(
        None, "--database", help="用作草稿的空数据库（默认在临时目录新建 SQLite，用完即删）；切勿指向在用的数据库"
    ),
) -> None:
    """在草稿数据库上按时间重放一个限时办结案件的事件，每个事件后输出一行 JSON 计时结果。"""
    try:
        parsed = simulation.read_scenario(scenario)
    except DutyflowError as exc:
        fail(exc.message, exc.problems, code=2)
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="dutyflow-simulate-") as scratch:
        url = database or f"sqlite:///{Path(scratch) / 'scratch.db'}"
        db = Database(url)
        try:
            for line in simulation.replay(db, parsed, settings.processes_dir, settings.demo_catalog):
                typer.echo(json.dumps(line, ensure_ascii=False))
        except DutyflowError as exc:
            fail(exc.message, exc.problems, code=2)
        finally:
            db.dispose()
