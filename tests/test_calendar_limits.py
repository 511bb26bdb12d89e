"""Time limits as catalogs write them, and start times as people type them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.calendar.limits import format_limit, parse_limit, parse_moment
from engine.calendar.units import LimitUnit, TimeLimit
from engine.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("5个工作日", 5, LimitUnit.working_days),
        ("20工作日", 20, LimitUnit.working_days),
        ("30日", 30, LimitUnit.calendar_days),
        ("30天", 30, LimitUnit.calendar_days),
        ("4小时", 4, LimitUnit.hours),
        ("5个小时", 5, LimitUnit.hours),
        ("５个工作日", 5, LimitUnit.working_days),  # full-width digit
        ("２０ 工作日", 20, LimitUnit.working_days),
        ("五个工作日", 5, LimitUnit.working_days),
        ("十日", 10, LimitUnit.calendar_days),
        ("十五日", 15, LimitUnit.calendar_days),
        ("二十个工作日", 20, LimitUnit.working_days),
        ("两小时", 2, LimitUnit.hours),
        ("一百零五天", 105, LimitUnit.calendar_days),
        ("20个工作日内", 20, LimitUnit.working_days),
        ("三十日以内", 30, LimitUnit.calendar_days),
        ("60个自然日", 60, LimitUnit.calendar_days),
        (" 7 日 ", 7, LimitUnit.calendar_days),
    ],
)
def test_parse_limit_reads_catalog_spellings(text, value, unit):
    assert parse_limit(text) == TimeLimit(value=value, unit=unit)


# 即办, 无, 1个月 and bracketed notes are read by read_limit (tests/test_calendar_limit_texts.py);
# parse_limit, which returns the catalog's TimeLimit, refuses those saying what it read.
@pytest.mark.parametrize("text", ["", "即办", "5周", "五", "一五日", "1十日", "abc个工作日", "5个工作日5", "3月"])
def test_unknown_text_is_refused_naming_it(text):
    with pytest.raises(InvalidInput) as error:
        parse_limit(text)
    assert repr(text) in error.value.message
    assert error.value.problems


def test_zero_is_refused():
    with pytest.raises(InvalidInput) as error:
        parse_limit("0个工作日")
    assert "大于零" in error.value.message


@pytest.mark.parametrize(
    ("limit", "text"),
    [
        (TimeLimit(value=5, unit=LimitUnit.working_days), "5个工作日"),
        (TimeLimit(value=30, unit=LimitUnit.calendar_days), "30日"),
        (TimeLimit(value=4, unit=LimitUnit.hours), "4小时"),
    ],
)
def test_format_limit_round_trips(limit, text):
    assert format_limit(limit) == text
    assert parse_limit(text) == limit


def test_parse_moment_reads_naive_times_as_beijing():
    moment = parse_moment("2026-09-30T10:00", "start")
    assert moment.utcoffset() == timedelta(hours=8)
    assert (moment.hour, moment.minute) == (10, 0)
    assert parse_moment("2026-09-30T02:00:00+00:00", "start") == moment
    assert isinstance(moment, datetime)


def test_parse_moment_refuses_garbage_naming_the_field():
    with pytest.raises(InvalidInput) as error:
        parse_moment("昨天上午", "start")
    assert "start" in error.value.problems[0]
