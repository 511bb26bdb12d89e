"""Entering a year's schedule in the database (SQLite and PostgreSQL) and reading it back."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from engine import hooks
from engine.calendar.limits import parse_limit
from engine.calendar.service import enter_year, enter_year_and_recompute, list_days
from engine.calendar.stored import load_calendar
from engine.calendar.working import DaySource, WorkingCalendar
from engine.clock import BEIJING
from engine.errors import InvalidInput
from engine.models.calendar import CalendarDay, CalendarYear

# A plausible 2027 schedule (the real one is published around November 2026).
HOLIDAYS_2027 = [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)] + [
    date(2027, 2, 6) + timedelta(days=i) for i in range(8)
]
WORKDAYS_2027 = [date(2027, 1, 30), date(2027, 2, 20)]  # Saturdays


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BEIJING)


def _enter_2027(database, clock, **kwargs):
    arguments = dict(
        holidays=HOLIDAYS_2027,
        workdays=WORKDAYS_2027,
        actor="admin",
        now=clock.now(),
        note="国办发明电〔2026〕9号",
    )
    arguments.update(kwargs)
    with database.session() as session:
        return enter_year(session, 2027, **arguments)


def test_empty_database_gives_official_data_and_provisional_later_years(database):
    with database.session() as session:
        calendar = load_calendar(session)
    assert calendar.due(at(2026, 9, 30, 10, 0), parse_limit("5个工作日")).at == at(2026, 10, 13, 17, 30)
    assert calendar.year_source(2027) is DaySource.provisional


def test_entering_a_year_makes_its_deadlines_certain(database, clock):
    with database.session() as session:
        before = load_calendar(session).due(at(2027, 2, 5, 10, 0), parse_limit("3个工作日"))
    # Provisional 2027: the statutory 春节 (除夕 02-05 … 初三 02-08) rests, no 调休 guessed:
    # 02-06/07 weekend, 02-08 初三, then 02-09 (1), 02-10 (2), 02-11 (3).
    assert before == before.__class__(at(2027, 2, 11, 17, 30), True)

    _enter_2027(database, clock)

    with database.session() as session:
        calendar = load_calendar(session)
    after = calendar.due(at(2027, 2, 5, 10, 0), parse_limit("3个工作日"))
    # 02-06..02-13 off; 02-14 Sunday; 02-15, 02-16, 02-17.
    assert after.at == at(2027, 2, 17, 17, 30)
    assert after.provisional is False
    assert calendar.is_working_day(date(2027, 1, 30))  # 调休 Saturday
    assert not calendar.is_working_day(date(2027, 1, 1))


def test_list_days_shows_entered_days_with_who_and_when(database, clock):
    _enter_2027(database, clock, day_notes={date(2027, 1, 1): "元旦", date(2027, 1, 30): "春节调休"})
    with database.session() as session:
        schedule = list_days(session, 2027)
    assert schedule.source is DaySource.entered
    assert schedule.entered_by == "admin"
    assert schedule.entered_at == clock.now()
    assert schedule.notice == "国办发明电〔2026〕9号"
    assert [d.day for d in schedule.days] == sorted(HOLIDAYS_2027 + WORKDAYS_2027)
    first = schedule.days[0]
    assert (first.day, first.is_working, first.source, first.note) == (
        date(2027, 1, 1),
        False,
        DaySource.entered,
        "元旦",
    )
    worked = next(d for d in schedule.days if d.day == date(2027, 1, 30))
    assert worked.is_working and worked.note == "春节调休"


def test_list_days_for_official_and_provisional_years(database):
    with database.session() as session:
        official = list_days(session, 2026)
        provisional = list_days(session, 2030)
    assert official.source is DaySource.official
    saturday = next(d for d in official.days if d.day == date(2026, 10, 10))
    assert saturday.is_working and saturday.note == "国庆节" and saturday.source is DaySource.official
    assert any(d.day == date(2026, 2, 17) and not d.is_working and d.note == "春节" for d in official.days)
    # A year nobody published lists the 办法's fixed holidays (no 调休), marked provisional.
    assert provisional.source is DaySource.provisional
    assert all(not d.is_working and d.source is DaySource.provisional for d in provisional.days)
    named = {(d.day, d.note) for d in provisional.days}
    assert {(date(2030, 1, 1), "元旦"), (date(2030, 5, 1), "劳动节"), (date(2030, 5, 2), "劳动节")} <= named
    assert {(date(2030, 10, day), "国庆节") for day in (1, 2, 3)} <= named
    assert [d.note for d in provisional.days].count("春节") == 4


def test_entering_again_replaces_the_year(database, clock):
    _enter_2027(database, clock)
    clock.advance(days=1)
    _enter_2027(database, clock, holidays=[date(2027, 10, 1)], workdays=[], actor="li", note="更正")
    with database.session() as session:
        rows = session.exec(select(CalendarDay)).all()
        record = session.get(CalendarYear, 2027)
        calendar = load_calendar(session)
    assert [(r.day, r.is_working) for r in rows] == [(date(2027, 10, 1), False)]
    assert (record.entered_by, record.source) == ("li", "更正")
    assert record.entered_at == clock.now()
    assert calendar.is_working_day(date(2027, 1, 1))


def test_an_entered_official_year_replaces_the_package_data(database, clock):
    with database.session() as session:
        enter_year(session, 2026, [date(2026, 10, 1)], [], "admin", clock.now(), "测试更正")
        calendar = load_calendar(session)
    assert calendar.year_source(2026) is DaySource.entered
    assert calendar.is_working_day(date(2026, 10, 2))
    assert not calendar.is_working_day(date(2026, 10, 10))


@pytest.mark.parametrize(
    ("holidays", "workdays", "expected"),
    [
        ([date(2028, 1, 3)], [], "放假日期 2028-01-03：不在 2027 年内"),
        ([date(2027, 1, 1), date(2027, 1, 1)], [], "放假日期 2027-01-01：重复列出"),
        ([date(2027, 1, 4)], [date(2027, 1, 4)], "2027-01-04：同时列为放假日期和调休上班日期"),
        ([date(2027, 1, 1)], [date(2027, 1, 6)], "调休上班日期 2027-01-06（星期三）：本来就是工作日"),
        ([], [date(2027, 1, 9)], "放假日期：未列出任何日期"),
        ([date(2027, 1, 1), date(2027, 1, 10)], [], "放假日期 2027-01-10（星期日）：本来就是休息日"),
    ],
)
def test_bad_schedules_are_refused_and_nothing_is_written(database, clock, holidays, workdays, expected):
    with pytest.raises(InvalidInput) as error:
        _enter_2027(database, clock, holidays=holidays, workdays=workdays)
    assert any(expected in problem for problem in error.value.problems), error.value.problems
    with database.session() as session:
        assert session.exec(select(CalendarYear)).all() == []
        assert session.exec(select(CalendarDay)).all() == []


def test_every_problem_is_listed_at_once(database, clock):
    with pytest.raises(InvalidInput) as error:
        _enter_2027(
            database, clock, holidays=[date(2026, 5, 1)], workdays=[date(2027, 3, 3), date(2025, 1, 4)]
        )
    assert len(error.value.problems) == 3


def test_a_failed_replacement_keeps_the_old_schedule(database, clock):
    _enter_2027(database, clock)
    with pytest.raises(InvalidInput):
        _enter_2027(database, clock, holidays=[date(2027, 1, 1)], workdays=[date(2027, 1, 1)])
    with database.session() as session:
        assert len(session.exec(select(CalendarDay)).all()) == len(HOLIDAYS_2027 + WORKDAYS_2027)


def test_weekend_days_inside_a_holiday_span_are_accepted(database, clock):
    # Notices say "1月1日至3日放假"; 01-02 and 01-03 of 2027 are a weekend. Listing them is fine.
    _enter_2027(database, clock, holidays=[date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)], workdays=[])
    with database.session() as session:
        assert len(list_days(session, 2027).days) == 3


def test_year_out_of_range_is_refused(database, clock):
    with database.session() as session, pytest.raises(InvalidInput):
        list_days(session, 1850)


def test_enter_year_and_recompute_returns_the_new_calendar(database, clock):
    with database.session() as session:
        entered = enter_year_and_recompute(
            session, 2027, HOLIDAYS_2027, WORKDAYS_2027, "admin", clock.now(), "通知"
        )
    assert entered.record.year == 2027
    assert entered.calendar.year_source(2027) is DaySource.entered
    assert not entered.calendar.is_working_day(date(2027, 2, 8))


def test_entering_a_year_hands_the_new_calendar_to_the_runtime(database, clock, monkeypatch):
    calls = []

    def recompute_provisional(session, calendar, now):
        # The runtime sees the new year already, inside the same transaction.
        calls.append((calendar.year_source(2027), now, session.get(CalendarYear, 2027) is not None))
        return 7

    # In place of the runtime's handler engine.application connected to the hook.
    monkeypatch.setattr(hooks.calendar_year_entered, "handler", recompute_provisional)
    with database.session() as session:
        entered = enter_year_and_recompute(session, 2027, HOLIDAYS_2027, WORKDAYS_2027, "admin", clock.now())
    assert calls == [(DaySource.entered, clock.now(), True)]
    assert entered.recomputed == 7


def test_a_failing_recomputation_rolls_the_entry_back(database, clock, monkeypatch):
    def recompute_provisional(session, calendar, now):
        raise RuntimeError("boom")

    monkeypatch.setattr(hooks.calendar_year_entered, "handler", recompute_provisional)
    with pytest.raises(RuntimeError), database.session() as session:
        enter_year_and_recompute(session, 2027, HOLIDAYS_2027, WORKDAYS_2027, "admin", clock.now())
    with database.session() as session:
        assert session.get(CalendarYear, 2027) is None


def test_entering_the_published_2026_notice_reproduces_the_official_calendar(database, clock):
    from chinese_calendar import constants

    holidays = sorted(d for d in constants.holidays if d.year == 2026)
    workdays = sorted(d for d in constants.workdays if d.year == 2026)
    official = WorkingCalendar()
    with database.session() as session:
        enter_year(session, 2026, holidays, workdays, "admin", clock.now(), "国办发明电〔2025〕7号")
        entered = load_calendar(session)
    assert entered.year_source(2026) is DaySource.entered
    every_day = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    assert [entered.is_working_day(d) for d in every_day] == [official.is_working_day(d) for d in every_day]
