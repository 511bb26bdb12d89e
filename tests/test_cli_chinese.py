"""The command line speaks Chinese: its frame (usage, panels, --help, parser errors) and the words
for codes in `tasks`, `timeline` and `alerts list` (api.cli.frame, api.labels); tables keep ASCII
codes whole at 80 columns."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from api.cli import analysis as _analysis  # noqa: F401  (registers the commands)
from api.cli import catalog as _catalog  # noqa: F401
from api.cli import runtime as cli_runtime
from api.cli.app import app, console
from engine.auth.service import create_user
from tests.timers_helpers import setup_catalog_and_processes, start

ENGLISH_FRAME = ("Usage", "Options", "Arguments", "Commands", "Show this message", "Missing argument",
                 "Error", "No such option", "Invalid value", "[required]", "Try ")
MZ = {"unit_code": "MZ-SHJZ", "department_code": "MZ", "applicant": "张三"}


def _no_english_frame(output: str) -> None:
    for word in ENGLISH_FRAME:
        assert word not in output, f"{word!r} in:\n{output}"


def _words(output: str) -> set[str]:
    """The ASCII words (codes, numbers, dates) of an output."""
    return set(re.findall(r"[A-Za-z0-9_\-:.]+", output))


# ---------------------------------------------------------------- the frame
def test_help_and_errors_are_chinese():
    runner = CliRunner()
    root = runner.invoke(app, ["--help"])
    assert root.exit_code == 0, root.output
    _no_english_frame(root.output)
    assert "用法：dutyflow [选项] 命令 [参数]..." in root.output
    assert "选项" in root.output and "命令" in root.output and "显示此帮助并退出" in root.output

    sub = runner.invoke(app, ["timeline", "--help"])  # a subcommand with an argument and the help option
    assert sub.exit_code == 0, sub.output
    _no_english_frame(sub.output)
    assert "用法：dutyflow timeline [选项]" in sub.output
    assert "参数" in sub.output and "[必填]" in sub.output and "显示此帮助并退出" in sub.output

    nested = runner.invoke(app, ["alerts", "list", "--help"])  # a command of a sub-application
    assert nested.exit_code == 0 and "用法：dutyflow alerts list [选项]" in nested.output
    _no_english_frame(nested.output)


@pytest.mark.parametrize(("args", "message"), [
    (["timeline"], "缺少参数 'instance_id'。"),
    (["tasks"], "缺少选项 '--user'。"),
    (["metrics", "--bogus"], "没有这个选项：--bogus"),
    (["timeline", "x"], "'instance_id' 的值无效：应为整数"),
    (["nope"], "没有命令 'nope'。"),
    (["alerts", "lst"], "没有命令 'lst'。是不是要用 'list'？"),
    (["tasks", "--user"], "选项 --user 需要给出值"),
])
def test_parser_errors_are_chinese(args, message):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output  # a usage error keeps Click's exit code
    _no_english_frame(result.output)
    assert message in result.output and "错误" in result.output


# ---------------------------------------------------------------- words, not codes
@pytest.fixture
def case_cli(database, clock, demo_catalog_path, monkeypatch):
    """A timed case (5个工作日) just started by 陈静 (chenjing, S003, post MZ-SHJZ-01), the CLI on
    the test clock."""
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    monkeypatch.setattr(cli_runtime, "SystemClock", lambda: clock)
    setup_catalog_and_processes(database, clock, demo_catalog_path, "timed_case")
    with database.session() as session:
        create_user(session, "chenjing", "password-123", clock.now(), roles=["staff"], staff_id="S003",
                    display_name="陈静")
    case = start(database, clock, "timed_case", {**MZ, "limit": "5个工作日"})
    runner = CliRunner()

    def run(*args: str, width: int = 250):
        monkeypatch.setattr(console, "width", width)
        return runner.invoke(app, list(args))

    run.case = case
    return run


def test_tasks_and_timeline_print_words(case_cli):
    tasks = case_cli("tasks", "--user", "chenjing")
    assert tasks.exit_code == 0, tasks.output
    # Just started with 5 working days to go: the step is 陈静's own (承办) and the clock green (正常).
    [row] = [line for line in tasks.output.splitlines() if "承办" in line]
    assert "正常" in row and "待办" in row and "低保审核岗" in row  # the post by name, not MZ-SHJZ-01
    for code in ("handler", "green", "ready", "MZ-SHJZ-01"):
        assert code not in tasks.output

    timeline = case_cli("timeline", str(case_cli.case))
    assert timeline.exit_code == 0, timeline.output
    table = timeline.output.split("计时明细：")[0]
    # Started (发起办件) by 陈静, then the first step arrived (到达) at her post, named.
    assert "发起办件" in table and "到达" in table and "陈静" in table
    assert "待办岗位：" in table and "低保审核岗" in table
    for code in ("instance_started", "task_ready", "chenjing", "{", '"posts"', "MZ-SHJZ-01"):
        assert code not in table


def test_alerts_list_prints_severity_in_words(case_cli):
    # The catalog in force (published by the fixture) has two overlaps; alerts follow it after a refresh.
    assert case_cli("alerts", "refresh").exit_code == 0
    listed = case_cli("alerts", "list", "--kind", "overlap")
    assert listed.exit_code == 0, listed.output
    # Overlaps are high-severity findings (engine.analysis.findings.overlap_finding): 高, twice.
    assert "预警（2）" in listed.output
    rows = [line for line in listed.output.splitlines() if "待处理" in line]
    assert len(rows) == 2 and all("高" in row for row in rows)
    for code in ("high", "medium", "low", "open"):
        assert code not in listed.output


def test_publisher_system_is_named(database, clock, demo_catalog_path, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    monkeypatch.setattr(console, "width", 250)
    imported = CliRunner().invoke(app, ["import", str(demo_catalog_path), "--by", "system"])
    assert imported.exit_code == 0, imported.output
    published = CliRunner().invoke(app, ["publish", "--by", "system"])
    assert published.exit_code == 0, published.output
    assert "发布人 系统" in published.output and "system" not in published.output
    versions = CliRunner().invoke(app, ["versions"])
    assert "系统" in versions.output and "system" not in versions.output


# ---------------------------------------------------------------- 80 columns
@pytest.mark.parametrize("command", [("tasks", "--user", "chenjing"), ("timeline", "{case}"),
                                     ("alerts", "list")])
def test_tables_at_80_columns_keep_codes_whole(case_cli, command):
    assert case_cli("alerts", "refresh").exit_code == 0
    args = [arg.format(case=case_cli.case) for arg in command]
    wide = case_cli(*args, width=250)
    narrow = case_cli(*args, width=80)
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in narrow.output.splitlines()) <= 80
    # Every ASCII word (an id, a date, a time, a number) printed at 80 columns is one printed whole
    # at 250: a code cut across two lines would leave pieces the wide table does not have.
    assert _words(narrow.output) <= _words(wide.output), _words(narrow.output) - _words(wide.output)
