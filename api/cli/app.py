"""The Typer application shared by the command modules, and helpers they all use.

Commands are registered lazily: the root group knows which module defines each command
(`COMMANDS`) and imports it when the command is looked up, so `dutyflow analyze FILE` loads the
analysis and the catalog reader, not the web routes, the runtime or SpiffWorkflow (issue 11
item 6: the start-up counts in the analysis's time aims). A part that only some runs of a
command need is loaded the same way, when a run needs it (`load`). A module whose commands need the
engine's hooks connected (publishing, importing drafts, entering calendar years, running
process scripts) names `prepare = engine.application.wire`; the group calls it before any of
its commands runs, as the root callback used to for every command.

`dutyflow --help` (and `dutyflow` alone) lists every command with one line of help, from
`SUMMARIES`, not from the commands themselves: asking each command for its help imported every
command module — the engine, SpiffWorkflow and the web app — for a listing (2.4 s of CPU against
0.3 s). Each summary is its command's own short help, which a test compares with the loaded
commands (tests/test_cli_help_listing.py), so the two cannot drift apart.
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
from typer.core import TyperCommand

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
# What `dutyflow --help` says of each command: its short help (the module docstring says why here).
SUMMARIES = {
    "analyze": "分析权责清单：职责交叉、疑似交叉（名称相似）、职责空缺与编制岗位问题。",
    "import": "导入清单，校验通过后存为草稿版本（同一版本号的草稿会被替换）。",
    "export": "导出清单为 YAML、JSON 或 Excel 工作簿。",
    "publish": "发布一个草稿版本；发布后该版本冻结，不可再修改。",
    "diff": "两个版本之间的调整说明：新增、取消和逐字段变更的事项（只比较同一区划的版本）。",
    "versions": "列出所有清单版本。",
    "deploy": "部署 BPMN 流程定义：内容相同保持原版本，内容变化生成新版本；任何文件有误则全部不部署。",
    "definitions": "列出已部署的流程定义。",
    "start": "发起一个流程实例。",
    "instances": "列出流程实例（最新在前）。",
    "timeline": "显示流程实例的计时日志：谁在何时做了什么、用了多少工作时间。",
    "tasks": "某人的待办：本岗、B角委派、待接收的转办、抄送。",
    "task": "办理任务：签收、办结、转办、接收、拒收、委派B角、退回、撤回、催办、抄送、意见。",
    "suspend": "挂起流程实例（效能办）。",
    "activate": "激活已挂起的流程实例（效能办）。",
    "metrics": "效能指标，分两种口径标明：办件（按案件，每件计一次）与环节（按步骤，每个步骤计一次）。",
    "serve": "启动 Web 服务（API 文档见 /docs）。",
    "worker": "运行定时器 worker：唤醒到期的 BPMN 定时器和黄牌/红牌预警，并每 2 秒把待封存的防篡改记录链入哈希链"
              "（PostgreSQL 上可并行运行多个）。",
    "diagram": "绘制 SVG 图：三定结构、职责交叉关系、对象分类。",
    "alerts": "协调人预警：查看与刷新。",
    "audit": "防篡改记录：办理时限记录、考评评分与结果的哈希链。",
    "calendar": "工作日历：计算办理期限、查看和录入年度节假日安排。",
    "clock": "办结时限：按情景文件重放办件的法定事件，逐步查看计时。",
    "evaluation": "绩效考评：考评年度、指标体系、评分、计算结果。",
    "processes": "效能制度流程（processes/*.bpmn）：生成流程图、重排 BPMN 图形布局。",
    "users": "账号管理：按清单开设账号、查看角色、重置密码、停用与启用。",
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
    """The root group: loads a command's module when the command is looked up (`COMMANDS`); its
    own help lists the commands from `SUMMARIES`, loading none."""

    listing = False  # set while the group writes its own help

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*super().list_commands(ctx), *COMMANDS]))

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False

    def get_command(self, ctx: Any, name: str) -> Any:
        if self.listing and name not in self.commands and name in SUMMARIES:
            # A stand-in that only tells the listing its line of help; running the command still
            # goes through the lookup below, which loads the real one.
            return TyperCommand(name, help=SUMMARIES[name])
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
