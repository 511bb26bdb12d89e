"""Limit texts as real tables write them, and §82 units by category.

2026 facts used (State Council notice, shipped in chinesecalendar): 中秋 09-25 (Friday) off;
国庆 10-01..10-07 off, Saturday 10-10 worked; Saturday 02-28 worked (春节 调休). Office hours
09:00–12:00, 13:30–17:30: a day-based limit ends at 17:30 of its last day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

import api.cli.calendar  # noqa: F401  (registers the commands)
from api.cli.app import app
from engine.calendar.limits import (
    LimitKind,
    ParsedLimit,
    day_unit_for,
    format_limit,
    is_licensing,
    parse_limit,
    read_limit,
)
from engine.calendar.units import LimitUnit, TimeLimit
from engine.calendar.working import WorkingCalendar
from engine.clock import BEIJING
from engine.errors import InvalidInput

runner = CliRunner()


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BEIJING)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


# Every text of the issue, and the spellings around them seen in real tables.
@pytest.mark.parametrize(
    ("text", "kind", "value", "note"),
    [
        ("即办", LimitKind.same_day, 0, None),
        ("即办件", LimitKind.same_day, 0, None),
        ("当场办结", LimitKind.same_day, 0, None),
        ("立即办结", LimitKind.same_day, 0, None),
        ("当场", LimitKind.same_day, 0, None),
        ("0个工作日", LimitKind.same_day, 0, None),
        ("０个工作日", LimitKind.same_day, 0, None),
        ("即办（当场办结）", LimitKind.same_day, 0, "当场办结"),
        ("无", LimitKind.none, 0, None),
        ("/", LimitKind.none, 0, None),
        ("／", LimitKind.none, 0, None),
        ("—", LimitKind.none, 0, None),
        ("-", LimitKind.none, 0, None),
        ("无法定时限", LimitKind.none, 0, None),
        ("不限", LimitKind.none, 0, None),
        ("", LimitKind.none, 0, None),
        ("  ", LimitKind.none, 0, None),
        ("1个月", LimitKind.months, 1, None),
        ("3个月", LimitKind.months, 3, None),
        ("一个月", LimitKind.months, 1, None),
        ("1年", LimitKind.months, 12, None),
        ("15个工作日（不含公示时间）", LimitKind.working_days, 15, "不含公示时间"),
        ("10个工作日(含)", LimitKind.working_days, 10, "含"),
        ("20日【法定】", LimitKind.calendar_days, 20, "法定"),
        ("20个工作日（不含专家评审时间）（含）", LimitKind.working_days, 20, "不含专家评审时间；含"),
        ("十五个工作日", LimitKind.working_days, 15, None),
        ("二十日", LimitKind.calendar_days, 20, None),
        ("4小时", LimitKind.hours, 4, None),
    ],
)
def test_real_table_texts_are_read(text, kind, value, note):
    parsed = read_limit(text)
    assert (parsed.kind, parsed.value, parsed.note) == (kind, value, note)
    assert parsed.text == text  # as written, for pages that show the table's own words
    assert parsed.has_clock is (kind is not LimitKind.none)


@pytest.mark.parametrize("text", ["5周", "3月", "五", "一五日", "20个工作日（不含", "20个工作日）", "0小时", "abc"])
def test_unreadable_texts_are_refused_naming_the_text(text):
    with pytest.raises(InvalidInput) as error:
        read_limit(text)
    assert repr(text) in error.value.message
    assert error.value.problems and repr(text) in error.value.problems[0]


# --- same day -------------------------------------------------------------------------------------
def test_same_day_limits_end_at_the_close_of_the_receiving_day(calendar):
    limit = read_limit("即办")
    # Received Tuesday 2026-09-29 10:00 → that day's close, 17:30.
    assert calendar.due(at(2026, 9, 29, 10, 0), limit).at == at(2026, 9, 29, 17, 30)
    # 0个工作日 is the same thing (the receiving day is counted as day zero).
    assert calendar.due(at(2026, 9, 29, 10, 0), read_limit("0个工作日")).at == at(2026, 9, 29, 17, 30)
    # Received after the close (18:00): the office deals with it when it next opens → 09-30 17:30.
    assert calendar.due(at(2026, 9, 29, 18, 0), limit).at == at(2026, 9, 30, 17, 30)
    # Received on 10-01 (国庆 holiday; the office is shut until Thursday 10-08) → 10-08 17:30.
    assert calendar.due(at(2026, 10, 1, 10, 0), limit).at == at(2026, 10, 8, 17, 30)


# --- no limit -------------------------------------------------------------------------------------
def test_no_limit_has_no_due_moment(calendar):
    limit = read_limit("无法定时限")
    assert limit.has_clock is False and limit.time_limit() is None
    with pytest.raises(InvalidInput) as error:
        calendar.due(at(2026, 9, 29, 10, 0), limit)
    assert "无法定时限" in error.value.message


# --- calendar months (民法典 §201–203) ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "text", "due", "why"),
    [
        # 2026 is not a leap year: 01-31 + 1个月 has no 02-31 → the month's last day, 02-28 — a
        # Saturday, but worked in 2026 (春节 调休), so the period ends that day.
        (at(2026, 1, 31, 10, 0), "1个月", at(2026, 2, 28, 17, 30), "last day of February, a 调休 workday"),
        # 2028 is a leap year: 01-31 + 1个月 → 02-29 (Tuesday; provisional year, no holiday then).
        (at(2028, 1, 31, 10, 0), "1个月", at(2028, 2, 29, 17, 30), "leap-year February"),
        # 03-15 + 3个月 → 06-15 (Monday, 端午 is 06-19).
        (at(2026, 3, 15, 10, 0), "3个月", at(2026, 6, 15, 17, 30), "same day number"),
        # 09-01 + 一个月 → 10-01, 国庆: §203 moves it to the next working day, Thursday 10-08.
        (at(2026, 9, 1, 10, 0), "一个月", at(2026, 10, 8, 17, 30), "last day a holiday"),
        # 2027-01-31 + 1个月 → 2027-02-28, a Sunday (provisional 2027) → Monday 03-01.
        (at(2027, 1, 31, 10, 0), "1个月", at(2027, 3, 1, 17, 30), "last day a Sunday"),
        # 2026-12-31 + 2个月 → 2027-02-28 (Sunday) → 03-01; the year changes on the way.
        (at(2026, 12, 31, 10, 0), "2个月", at(2027, 3, 1, 17, 30), "across the year"),
    ],
)
def test_month_limits_follow_the_civil_code(calendar, start, text, due, why):
    assert calendar.due(start, read_limit(text)).at == due, why


def test_month_limit_in_a_provisional_year_is_provisional(calendar):
    assert calendar.due(at(2027, 1, 31, 10, 0), read_limit("1个月")).provisional is True
    assert calendar.due(at(2026, 3, 15, 10, 0), read_limit("3个月")).provisional is False


# --- §82 units by category ------------------------------------------------------------------------
def test_section_82_days_of_a_licensing_duty_are_working_days():
    assert is_licensing("行政许可") and is_licensing("行政许可-变更")
    assert not is_licensing("行政处罚") and not is_licensing(None)
    assert day_unit_for("行政许可") is LimitUnit.working_days
    assert day_unit_for("行政检查") is LimitUnit.calendar_days
    licensing = read_limit("20日", "行政许可")
    assert (licensing.kind, licensing.value, licensing.by_section_82) == (LimitKind.working_days, 20, True)
    # Written 自然日 it stays calendar days, even for a 行政许可.
    assert read_limit("20自然日", "行政许可").kind is LimitKind.calendar_days
    assert read_limit("20个自然日", "行政许可").by_section_82 is False
    # Other categories: 日 is calendar days (other laws say 日 for calendar days).
    assert read_limit("20日", "行政处罚").kind is LimitKind.calendar_days
    assert read_limit("20日").kind is LimitKind.calendar_days
    # parse_limit takes the category too (keeps returning the catalog's TimeLimit).
    assert parse_limit("20日", "行政许可") == TimeLimit(value=20, unit=LimitUnit.working_days)


def test_section_82_changes_the_due_date_of_a_licensing_item(calendar):
    start = at(2026, 9, 24, 10, 0)  # Thursday
    # Calendar days: 09-24 + 20 = 10-14 (Wednesday, a working day).
    assert calendar.due(start, read_limit("20日")).at == at(2026, 10, 14, 17, 30)
    # §82 working days: 09-25 中秋 off, 09-28 (1), 09-29 (2), 09-30 (3), 10-01..07 off,
    # 10-08 (4), 10-09 (5), Saturday 10-10 worked (6), 10-12..16 (7–11), 10-19..23 (12–16),
    # 10-26 (17), 10-27 (18), 10-28 (19), 10-29 (20).
    assert calendar.due(start, read_limit("20日", "行政许可")).at == at(2026, 10, 29, 17, 30)


def _every_day_of_2026() -> list[datetime]:
    return [at(2026, 1, 1, 10, 0) + timedelta(days=i) for i in range(365)]


def test_limits_in_different_units_compare_like_with_like(calendar):
    starts = _every_day_of_2026()
    statutory = read_limit("20个工作日")
    # 25 calendar days never end after 20 working days in 2026 (20 working days span at least four
    # weeks, 28 days, and a holiday only lengthens them): a shorter commitment, accepted.
    assert calendar.longer_at(read_limit("25日"), statutory, starts) is None
    # The bare numbers would have said 25 > 20 and refused it.
    # 30日 from Thursday 2026-01-01 ends 01-31 (Saturday) → Monday 02-02, while 20 working days
    # (01-01..03 holiday, Sunday 01-04 worked (1), 01-05..09 (2–6), 01-12..16 (7–11), 01-19..23
    # (12–16), 01-26..29 (17–20)) end Thursday 01-29: longer, and the first start says where.
    assert calendar.longer_at(read_limit("30日"), statutory, starts) == at(2026, 1, 1, 10, 0)
    # A 行政许可's committed 25日 is 25 working days (§82): longer than a statutory 20个工作日.
    assert calendar.longer_at(read_limit("25日", "行政许可"), statutory, starts) == starts[0]
    # compare_limits for one start; no limit is longer than any limit; TimeLimit works too.
    start = at(2026, 1, 1, 10, 0)
    assert calendar.compare_limits(read_limit("30日"), statutory, start) == 1
    assert calendar.compare_limits(statutory, TimeLimit(value=20, unit=LimitUnit.working_days), start) == 0
    # 即办 ends before 1个工作日 on a working day (Tuesday 09-29: 09-29 against 09-30), but received
    # on the 元旦 holiday both end on the first working day, Sunday 01-04 (worked in 2026).
    assert calendar.compare_limits(read_limit("即办"), read_limit("1个工作日"), at(2026, 9, 29, 10, 0)) == -1
    assert calendar.compare_limits(read_limit("即办"), read_limit("1个工作日"), start) == 0
    assert calendar.compare_limits(read_limit("无"), read_limit("1年"), start) == 1
    assert calendar.compare_limits(read_limit("无"), read_limit("/"), start) == 0


# --- formatting and the older entry point ---------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "category", "printed"),
    [
        ("15个工作日（不含公示时间）", None, "15个工作日（不含公示时间）"),
        ("10个工作日(含)", None, "10个工作日（含）"),
        ("即办件", None, "即办"),
        ("—", None, "无"),
        ("3个月", None, "3个月"),
        ("20日", "行政许可", "20个工作日"),
        ("30日", None, "30个自然日"),
    ],
)
def test_parsed_limits_print_and_read_back_whatever_the_category(text, category, printed):
    parsed = read_limit(text, category)
    assert format_limit(parsed) == printed == str(parsed)
    again = read_limit(printed, "行政许可")
    assert (again.kind, again.value, again.note) == (parsed.kind, parsed.value, parsed.note)


def test_parse_limit_refuses_what_the_catalog_model_cannot_hold_saying_what_it_read():
    with pytest.raises(InvalidInput) as error:
        parse_limit("即办")
    assert "当日办结" in error.value.message and "'即办'" in error.value.message
    with pytest.raises(InvalidInput) as error:
        parse_limit("无")
    assert "无时限" in error.value.message
    with pytest.raises(InvalidInput) as error:
        parse_limit("1个月")
    assert "按月" in error.value.message
    # A note would be lost in a TimeLimit: refused rather than dropped silently.
    with pytest.raises(InvalidInput) as error:
        parse_limit("15个工作日（不含公示时间）")
    assert "不含公示时间" in error.value.message


def test_parsed_limit_of_a_time_limit():
    parsed = ParsedLimit.of(TimeLimit(value=5, unit=LimitUnit.working_days))
    assert (parsed.kind, parsed.value, parsed.text) == (LimitKind.working_days, 5, "5个工作日")
    assert parsed.time_limit() == TimeLimit(value=5, unit=LimitUnit.working_days)


# --- the command line -----------------------------------------------------------------------------
@pytest.fixture
def cli_env(database, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    return database


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("即办", "办理期限：2026-09-29 17:30（星期二）"),
        ("即办件", "办理期限：2026-09-29 17:30（星期二）"),
        ("当场办结", "办理期限：2026-09-29 17:30（星期二）"),
        ("立即办结", "办理期限：2026-09-29 17:30（星期二）"),
        ("0个工作日", "办理期限：2026-09-29 17:30（星期二）"),
        ("无", "该事项不计时，没有办理期限"),
        ("/", "该事项不计时，没有办理期限"),
        ("—", "该事项不计时，没有办理期限"),
        ("无法定时限", "该事项不计时，没有办理期限"),
        # 09-29 + 1个月 → 10-29 (Thursday).
        ("1个月", "办理期限：2026-10-29 17:30（星期四）"),
        # 09-30 (1), 10-08 (2), 10-09 (3), 10-10 Saturday worked (4), 10-12..16 (5–9), 10-19..23
        # (10–14), 10-26 (15).
        ("15个工作日（不含公示时间）", "办理期限：2026-10-26 17:30（星期一）"),
        # 09-30 (1), 10-08 (2), 10-09 (3), 10-10 (4), 10-12..16 (5–9), 10-19 (10).
        ("10个工作日(含)", "办理期限：2026-10-19 17:30（星期一）"),
    ],
)
def test_cli_due_accepts_every_text_of_real_tables(cli_env, limit, expected):
    result = runner.invoke(app, ["calendar", "due", "--start", "2026-09-29T10:00", "--limit", limit])
    assert result.exit_code == 0, result.output
    assert expected in result.output


def test_cli_due_applies_section_82_with_a_category(cli_env):
    result = runner.invoke(
        app, ["calendar", "due", "--start", "2026-09-24T10:00", "--limit", "20日", "--category", "行政许可"]
    )
    assert result.exit_code == 0, result.output
    assert "办理期限：2026-10-29 17:30（星期四）" in result.output
    assert "第八十二条" in result.output


def test_cli_due_refuses_an_unreadable_text_naming_it(cli_env):
    result = runner.invoke(app, ["calendar", "due", "--start", "2026-09-29T10:00", "--limit", "5周"])
    assert result.exit_code != 0
    assert "5周" in result.output + (result.stderr if result.stderr_bytes is not None else "")
