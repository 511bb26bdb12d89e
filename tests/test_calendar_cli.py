"""`dutyflow calendar …`: due times printed in Chinese, entering a year from a YAML file."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import api.cli.calendar  # noqa: F401  (registers the commands)
from api.cli.app import app

runner = CliRunner()

SCHEDULE_2027 = """\
note: 国办发明电〔2026〕9号
holidays: [2027-01-01, 2027-01-02, 2027-01-03, 2027-02-06, 2027-02-07, 2027-02-08]
workdays: [2027-01-30]
notes:
  2027-01-01: 元旦
"""


@pytest.fixture
def cli_env(database, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    return database


def _output(result) -> str:
    return result.output + (getattr(result, "stderr", "") if result.stderr_bytes is not None else "")


def test_due_prints_the_acceptance_example(cli_env):
    result = runner.invoke(app, ["calendar", "due", "--start", "2026-09-30T10:00", "--limit", "5个工作日"])
    assert result.exit_code == 0, _output(result)
    assert "办理期限：2026-10-13 17:30（星期二）" in result.output
    assert "暂定" not in result.output


def test_due_in_an_unpublished_year_says_provisional(cli_env):
    result = runner.invoke(app, ["calendar", "due", "--start", "2027-03-01T10:00", "--limit", "5个工作日"])
    assert result.exit_code == 0
    assert "办理期限：2027-03-08 17:30（星期一）（暂定：该年度节假日安排尚未公布）" in result.output


def test_one_working_day_from_new_years_eve_is_the_fourth_marked_provisional(cli_env):
    # Issue 14's check, as the command is written there: 2027-01-01 元旦 (《全国年节及纪念日放假办法》)
    # and the weekend 01-02/03 are rest days even without the State Council's notice for 2027.
    result = runner.invoke(app, ["calendar", "due", "--start", "2026-12-31T10:00", "--limit", "1个工作日"])
    assert result.exit_code == 0, _output(result)
    assert "办理期限：2027-01-04 17:30（星期一）（暂定：该年度节假日安排尚未公布）" in result.output


def test_bad_limit_exits_non_zero_naming_it(cli_env):
    result = runner.invoke(app, ["calendar", "due", "--start", "2026-09-30T10:00", "--limit", "五周"])
    assert result.exit_code != 0
    assert "五周" in _output(result)
    result = runner.invoke(app, ["calendar", "due", "--start", "明天", "--limit", "5日"])
    assert result.exit_code != 0
    assert "--start" in _output(result)


def test_enter_year_from_yaml_then_due_is_certain(cli_env, tmp_path):
    schedule = tmp_path / "2027.yaml"
    schedule.write_text(SCHEDULE_2027, encoding="utf-8")
    result = runner.invoke(app, ["calendar", "enter-year", "2027", "--file", str(schedule), "--by", "wang"])
    assert result.exit_code == 0, _output(result)
    assert "已录入 2027 年节假日安排：放假 6 天，调休上班 1 天。" in result.output

    result = runner.invoke(app, ["calendar", "due", "--start", "2027-02-05T10:00", "--limit", "1个工作日"])
    assert "办理期限：2027-02-09 17:30（星期二）" in result.output
    assert "暂定" not in result.output

    result = runner.invoke(app, ["calendar", "days", "2027"])
    assert result.exit_code == 0
    assert "管理员录入" in result.output
    assert "录入人：wang" in result.output
    assert "2027-01-01（星期五）放假  元旦" in result.output
    assert "2027-01-30（星期六）调休上班" in result.output


def test_enter_year_refuses_a_bad_file_and_writes_nothing(cli_env, tmp_path):
    schedule = tmp_path / "bad.yaml"
    schedule.write_text("holidays: [2027-01-04, 明天]\nworkdays: [2027-01-04]\n", encoding="utf-8")
    result = runner.invoke(app, ["calendar", "enter-year", "2027", "--file", str(schedule)])
    assert result.exit_code != 0
    assert "明天" in _output(result)

    schedule.write_text("holidays: [2027-01-04]\nworkdays: [2027-01-04]\n", encoding="utf-8")
    result = runner.invoke(app, ["calendar", "enter-year", "2027", "--file", str(schedule)])
    assert result.exit_code != 0
    assert "同时列为放假日期和调休上班日期" in _output(result)

    result = runner.invoke(app, ["calendar", "enter-year", "2027", "--file", str(tmp_path / "missing.yaml")])
    assert result.exit_code != 0
    assert "missing.yaml" in _output(result)

    result = runner.invoke(app, ["calendar", "days", "2027"])
    assert "暂定" in result.output
