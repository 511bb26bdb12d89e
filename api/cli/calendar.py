"""CLI commands: calendar — compute a due time, show a year's schedule, enter a published year."""

from __future__ import annotations

import getpass
from datetime import date, datetime
from pathlib import Path

import typer
import yaml

from api.cli.app import app, console, fail
from api.cli.database import open_database
from api.routes.calendar import check_due_input
from engine.application import wire
from engine.calendar.limits import format_limit, parse_moment, read_limit
from engine.calendar.service import enter_year_and_recompute, list_days, weekday_name
from engine.calendar.stored import load_calendar
from engine.calendar.working import DaySource, OfficeHours
from engine.clock import BEIJING, SystemClock
from engine.config import get_settings
from engine.errors import DutyflowError, InvalidInput

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire

calendar_app = typer.Typer(help="工作日历：计算办理期限、查看和录入年度节假日安排。", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")

PROVISIONAL_NOTE = "（暂定：该年度节假日安排尚未公布）"
SOURCE_NAMES = {
    DaySource.official: "官方数据",
    DaySource.entered: "管理员录入",
    DaySource.provisional: "暂定（按周末和法定节日推算，调休尚未公布）",
}


@calendar_app.command("due")
def due(
    start: str = typer.Option(
        ..., "--start", help="开始时间（受理时间），如 2026-09-30T10:00；不带时区按北京时间"
    ),
    limit: str = typer.Option(..., "--limit", help="时限，如 5个工作日、30日、4小时、1个月、即办、无"),
    category: str = typer.Option(
        None, "--category", help="事项类型；行政许可的“N日”按工作日计算（行政许可法第八十二条）"
    ),
) -> None:
    """按时限计算办理期限（受理当日不计，遇节假日顺延，调休上班日计入）。"""
    try:
        started = parse_moment(start, "--start")
        time_limit = read_limit(limit, category)
        check_due_input(started, time_limit, start, limit, ("--start", "--limit"))
        if not time_limit.has_clock:
            console.print(f"时限：{format_limit(time_limit)}，该事项不计时，没有办理期限", highlight=False, markup=False)
            return
        database = open_database()
        with database.session() as session:
            deadline = load_calendar(session, OfficeHours.parse(get_settings().office_hours)).due(
                started, time_limit
            )
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    at = deadline.at
    line = f"办理期限：{at:%Y-%m-%d %H:%M}（{weekday_name(at.date())}）"
    console.print(line + (PROVISIONAL_NOTE if deadline.provisional else ""), highlight=False, markup=False)
    section_82 = "（行政许可法第八十二条：按工作日计算）" if time_limit.by_section_82 else ""
    console.print(
        f"时限：{format_limit(time_limit)}{section_82}，自 {started:%Y-%m-%d %H:%M} 起算",
        highlight=False,
        markup=False,
    )


@calendar_app.command("days")
def days(year: int = typer.Argument(..., help="年份，如 2026")) -> None:
    """列出某年度的放假日期和调休上班日期及其来源。"""
    try:
        with open_database().session() as session:
            schedule = list_days(session, year)
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(f"{year} 年节假日安排：{SOURCE_NAMES[schedule.source]}", highlight=False, markup=False)
    if schedule.entered_by:
        entered = schedule.entered_at.astimezone(BEIJING)
        console.print(
            f"录入人：{schedule.entered_by}，录入时间：{entered:%Y-%m-%d %H:%M}",
            highlight=False,
            markup=False,
        )
    if schedule.notice:
        console.print(f"依据：{schedule.notice}", highlight=False, markup=False)
    for day in schedule.days:
        kind = "调休上班" if day.is_working else "放假"
        note = f"  {day.note}" if day.note else ""
        console.print(
            f"{day.day.isoformat()}（{weekday_name(day.day)}）{kind}{note}", highlight=False, markup=False
        )


@calendar_app.command("enter-year")
def enter_year_command(
    year: int = typer.Argument(..., help="年份，如 2027"),
    file: Path = typer.Option(
        ..., "--file", help="YAML 文件：holidays、workdays 两个日期列表，可选 note、notes"
    ),
    actor: str = typer.Option(None, "--by", help="录入人（默认当前系统用户）"),
) -> None:
    """录入国务院公布的某年度节假日安排；该年度的暂定期限随即重新计算。"""
    try:
        holidays, workdays, note, day_notes = read_schedule_file(file)
        with open_database().session() as session:
            entered = enter_year_and_recompute(
                session,
                year,
                holidays,
                workdays,
                actor or getpass.getuser(),
                SystemClock().now(),
                note,
                day_notes,
                OfficeHours.parse(get_settings().office_hours),
            )
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(
        f"已录入 {year} 年节假日安排：放假 {len(holidays)} 天，调休上班 {len(workdays)} 天。",
        highlight=False,
        markup=False,
    )
    console.print(f"已重新计算 {entered.recomputed} 个暂定期限。", highlight=False, markup=False)


def read_schedule_file(path: Path) -> tuple[list[date], list[date], str, dict[date, str]]:
    """holidays/workdays lists of dates, optional note and notes {date: name}; errors name the place."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"无法读取文件：{path}", [f"{path}：{exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"文件不是有效的 YAML：{path}", [f"{path}：{exc}"]) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"文件格式有误：{path}", [f"{path}：应包含 holidays 和 workdays 两个列表"])
    problems: list[str] = []
    holidays = _dates(data.get("holidays"), "holidays", problems)
    workdays = _dates(data.get("workdays") or [], "workdays", problems)
    notes_raw = data.get("notes") or {}
    if not isinstance(notes_raw, dict):
        problems.append("notes：应为“日期: 名称”的映射")
        notes_raw = {}
    day_notes = {}
    for key, value in notes_raw.items():
        parsed = _date(key, f"notes 的键 {key!r}", problems)
        if parsed is not None:
            day_notes[parsed] = str(value)
    if problems:
        raise InvalidInput(f"文件内容有误：{path}", problems)
    return holidays, workdays, str(data.get("note") or ""), day_notes


def _dates(value: object, name: str, problems: list[str]) -> list[date]:
    if not isinstance(value, list):
        problems.append(f"{name}：应为日期列表，如 [2027-01-01, 2027-02-06]")
        return []
    parsed = [_date(item, f"{name} 第 {i} 项 {item!r}", problems) for i, item in enumerate(value, start=1)]
    return [d for d in parsed if d is not None]


def _date(value: object, place: str, problems: list[str]) -> date | None:
    # YAML turns 2027-01-01 into a date already; quoted strings are parsed here.
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(f"{place}：不是有效日期（应写作 2027-01-01）")
        return None
