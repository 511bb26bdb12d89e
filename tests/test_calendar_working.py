"""WorkingCalendar without a database: real 2026 holidays and 调休, office hours, provisional years.

2026 facts (State Council notice, as shipped in chinesecalendar): National Day + Mid-autumn
10-01..10-07 off, Saturday 10-10 worked; Spring Festival 02-15..02-23 off, Saturdays 02-14 and
02-28 worked; Dragon Boat 06-19..06-21 off.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from engine.calendar.limits import parse_limit
from engine.calendar.units import LimitUnit, TimeLimit
from engine.calendar.working import DaySource, OfficeHours, WorkingCalendar, official_years
from engine.clock import BEIJING
from engine.errors import InvalidInput


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BEIJING)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


def test_acceptance_five_working_days_over_national_day(calendar):
    deadline = calendar.due(at(2026, 9, 30, 10, 0), parse_limit("5个工作日"))
    # 10-08 Thu, 10-09 Fri, 10-10 Sat (调休, worked), 10-12 Mon, 10-13 Tue.
    assert deadline.at == at(2026, 10, 13, 17, 30)
    assert deadline.at.utcoffset() == timedelta(hours=8)
    assert deadline.provisional is False


def test_real_2026_days(calendar):
    assert not calendar.is_working_day(date(2026, 10, 1))
    assert not calendar.is_working_day(date(2026, 10, 7))
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday, 调休
    assert not calendar.is_working_day(date(2026, 10, 11))  # ordinary Sunday
    assert calendar.is_working_day(date(2026, 2, 14))  # Saturday before Spring Festival, 调休
    assert not calendar.is_working_day(date(2026, 2, 16))  # 除夕 week, Monday off
    assert calendar.is_working_day(date(2026, 9, 30))
    assert calendar.year_source(2026) is DaySource.official


def test_spring_festival_2026(calendar):
    # Accepted Friday 02-13: 02-14 (Sat, 调休) counts, 02-15..02-23 off, then 02-24, 02-25.
    assert calendar.add_working_days(at(2026, 2, 13, 16, 0), 3).at == at(2026, 2, 25, 17, 30)
    # Accepted on a holiday: the day itself is not counted; counting starts after the break.
    assert calendar.add_working_days(at(2026, 2, 18, 11, 0), 1).at == at(2026, 2, 24, 17, 30)


def test_day_of_acceptance_is_not_counted_even_after_hours(calendar):
    assert calendar.add_working_days(at(2026, 9, 28, 8, 0), 1).at == at(2026, 9, 29, 17, 30)
    assert calendar.add_working_days(at(2026, 9, 28, 23, 0), 1).at == at(2026, 9, 29, 17, 30)


def test_zero_working_days_is_close_of_today_or_next_working_day(calendar):
    assert calendar.add_working_days(at(2026, 9, 30, 10, 0), 0).at == at(2026, 9, 30, 17, 30)
    assert calendar.add_working_days(at(2026, 10, 3, 10, 0), 0).at == at(2026, 10, 8, 17, 30)


def test_calendar_day_limit_ending_on_a_weekend_runs_to_next_working_day(calendar):
    # 2026-10-01 + 30 days = Saturday 10-31 → Monday 11-02.
    deadline = calendar.due(at(2026, 10, 1, 9, 0), parse_limit("30日"))
    assert deadline.at == at(2026, 11, 2, 17, 30)
    # Ending on an ordinary working day it stays there: 09-30 + 30 = Friday 10-30.
    assert calendar.due(at(2026, 9, 30, 10, 0), parse_limit("30天")).at == at(2026, 10, 30, 17, 30)


def test_calendar_day_limit_ending_in_a_holiday_runs_past_it(calendar):
    # 09-26 (a holiday Saturday) + 10 days = 10-06, inside National Day → 10-08.
    assert calendar.due(at(2026, 9, 26, 9, 0), parse_limit("10日")).at == at(2026, 10, 8, 17, 30)


def test_hour_limit_counts_office_hours_across_lunch_and_overnight(calendar):
    # 11:00 + 4h: 1h before lunch, 3h after 13:30 → 16:30 the same day.
    assert calendar.due(at(2026, 9, 29, 11, 0), parse_limit("4小时")).at == at(2026, 9, 29, 16, 30)
    # 15:00 on 09-30: 2.5h that day, then National Day, then 1.5h from 09:00 on 10-08.
    assert calendar.due(at(2026, 9, 30, 15, 0), parse_limit("4小时")).at == at(2026, 10, 8, 10, 30)
    # Started during lunch: counting begins at 13:30.
    assert calendar.due(at(2026, 9, 29, 12, 30), TimeLimit(value=1, unit=LimitUnit.hours)).at == at(
        2026, 9, 29, 14, 30
    )


def test_time_that_exactly_fills_a_period_ends_at_its_close(calendar):
    assert calendar.add_working_time(at(2026, 9, 29, 9, 0), timedelta(hours=3)).at == at(2026, 9, 29, 12, 0)
    assert calendar.add_working_time(at(2026, 9, 29, 9, 0), timedelta(hours=7)).at == at(2026, 9, 29, 17, 30)
    assert calendar.add_working_time(at(2026, 9, 29, 9, 0), timedelta(hours=14)).at == at(2026, 9, 30, 17, 30)


def test_add_working_time_shifts_over_several_days_and_holidays(calendar):
    # A 3-day pause (21 office hours) starting 09-30 09:00 ends 10-09 17:30.
    assert calendar.add_working_time(at(2026, 9, 30, 9, 0), timedelta(hours=21)).at == at(2026, 10, 9, 17, 30)
    assert calendar.add_working_time(at(2026, 9, 30, 10, 0), timedelta(0)).at == at(2026, 9, 30, 10, 0)


def test_working_time_between_is_office_time_and_signed(calendar):
    start, due = at(2026, 9, 30, 10, 0), at(2026, 10, 13, 17, 30)
    # 09-30: 6h; 10-08, 10-09, 10-10, 10-12, 10-13: 7h each.
    assert calendar.working_time_between(start, due) == timedelta(hours=41)
    assert calendar.working_time_between(due, start) == -timedelta(hours=41)
    assert calendar.working_time_between(at(2026, 10, 2, 9, 0), at(2026, 10, 5, 18, 0)) == timedelta(0)
    assert calendar.working_time_between(at(2026, 9, 29, 11, 30), at(2026, 9, 29, 14, 0)) == timedelta(
        minutes=60
    )


def test_two_thirds_used_point_is_reachable_by_composition(calendar):
    start = at(2026, 9, 30, 10, 0)
    due = calendar.due(start, parse_limit("5个工作日")).at
    two_thirds = calendar.add_working_time(start, calendar.working_time_between(start, due) * 2 / 3)
    # 41h * 2/3 = 27h20m: 6h (09-30) + 7h + 7h + 7h (10-08..10-10) = 27h, then 20 minutes on 10-12.
    assert two_thirds.at == at(2026, 10, 12, 9, 20)
    assert calendar.fraction_point(start, due, 2 / 3) == two_thirds
    assert calendar.fraction_point(start, due, 1).at == due
    with pytest.raises(InvalidInput):
        calendar.fraction_point(start, due, 1.5)


def test_shifting_a_due_time_by_a_pause(calendar):
    # Paused for one whole working day: due moves from Tuesday's close to Wednesday's close.
    assert calendar.add_working_time(at(2026, 10, 13, 17, 30), timedelta(hours=7)).at == at(
        2026, 10, 14, 17, 30
    )
    assert calendar.add_working_time(at(2026, 10, 13, 17, 30), timedelta(hours=3)).at == at(
        2026, 10, 14, 12, 0
    )


def test_working_days_between_matches_add_working_days(calendar):
    start = at(2026, 9, 30, 10, 0)
    assert calendar.working_days_between(start, at(2026, 10, 13, 9, 0)) == 5
    assert calendar.working_days_between(start, at(2026, 10, 7, 9, 0)) == 0
    assert calendar.working_days_between(at(2026, 10, 13, 9, 0), start) == -5


def test_subtract_working_days_for_yellow_one_working_day_before(calendar):
    yellow = calendar.subtract_working_days(at(2026, 10, 13, 17, 30), 1)
    assert yellow.at == at(2026, 10, 12, 17, 30)
    # Back over the holiday: one working day before 10-08 17:30 is 09-30 17:30.
    assert calendar.subtract_working_days(at(2026, 10, 8, 17, 30), 1).at == at(2026, 9, 30, 17, 30)


def test_later_years_are_provisional_weekends_and_statutory_holidays(calendar):
    assert official_years().stop - 1 == 2026, "installed chinesecalendar covers a new year: update this test"
    assert calendar.is_provisional(date(2027, 1, 4))
    assert not calendar.is_provisional(date(2026, 12, 31))
    assert calendar.year_source(2027) is DaySource.provisional
    # 2027-01-01 is a Friday and 元旦 whatever the notice says (放假办法 §2); the weekend rests.
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert not calendar.is_working_day(date(2027, 1, 2))
    assert calendar.is_working_day(date(2027, 1, 4))
    deadline = calendar.due(at(2027, 3, 1, 10, 0), parse_limit("5个工作日"))
    assert deadline.at == at(2027, 3, 8, 17, 30)
    assert deadline.provisional is True


def test_a_deadline_crossing_into_a_provisional_year_is_provisional(calendar):
    inside = calendar.due(at(2026, 12, 21, 10, 0), parse_limit("5个工作日"))
    assert inside.at == at(2026, 12, 28, 17, 30)
    assert inside.provisional is False
    # From Monday 12-28: 12-29 (1), 12-30 (2), 12-31 (3), 01-01 元旦 and 01-02/03 weekend rest,
    # 01-04 (4), 01-05 (5).
    crossing = calendar.due(at(2026, 12, 28, 10, 0), parse_limit("5个工作日"))
    assert crossing.at == at(2027, 1, 5, 17, 30)
    assert crossing.provisional is True
    assert calendar.add_working_time(at(2026, 12, 31, 16, 0), timedelta(hours=2)).provisional is True
    assert calendar.subtract_working_days(at(2027, 1, 4, 17, 30), 1).provisional is True


def test_entered_year_counts_as_official_and_wins():
    # An administrator enters 2027: 01-01 off, Saturday 01-02... here a made-up schedule.
    overrides = {date(2027, 1, 1): False, date(2027, 1, 9): True}
    calendar = WorkingCalendar(overrides=overrides, entered_years={2027})
    assert calendar.year_source(2027) is DaySource.entered
    assert not calendar.is_provisional(date(2027, 1, 1))
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2027, 1, 9))
    deadline = calendar.due(at(2026, 12, 30, 10, 0), parse_limit("3个工作日"))
    # 12-31 (1), 01-01 off, 01-02/03 weekend, 01-04 (2), 01-05 (3).
    assert deadline.at == at(2027, 1, 5, 17, 30)
    assert deadline.provisional is False


def test_configurable_office_hours():
    calendar = WorkingCalendar(office_hours=OfficeHours.parse("08:30-12:00,14:30-18:00"))
    assert calendar.due(at(2026, 9, 30, 10, 0), parse_limit("5个工作日")).at == at(2026, 10, 13, 18, 0)
    assert calendar.due(at(2026, 9, 29, 11, 0), parse_limit("2小时")).at == at(2026, 9, 29, 15, 30)
    assert calendar.is_office_time(at(2026, 9, 29, 8, 45))
    assert not calendar.is_office_time(at(2026, 9, 29, 13, 0))
    assert not calendar.is_office_time(at(2026, 10, 2, 10, 0))


def test_bad_office_hours_are_refused_with_the_period_named():
    with pytest.raises(InvalidInput) as error:
        OfficeHours.parse("12:00-09:00")
    assert "12:00-09:00" in error.value.problems[0]
    with pytest.raises(InvalidInput):
        OfficeHours.parse("9点到12点")
    with pytest.raises(InvalidInput):
        OfficeHours.parse("09:00-12:00,11:00-17:00")


def test_other_timezones_are_converted_to_beijing(calendar):

    utc_start = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 Beijing
    assert calendar.due(utc_start, parse_limit("5个工作日")).at == at(2026, 10, 13, 17, 30)
    with pytest.raises(ValueError):
        calendar.due(datetime(2026, 9, 30, 10, 0), parse_limit("5个工作日"))


def test_negative_counts_are_refused(calendar):
    with pytest.raises(InvalidInput):
        calendar.add_working_days(at(2026, 9, 30, 10, 0), -1)
    with pytest.raises(InvalidInput):
        calendar.add_working_time(at(2026, 9, 30, 10, 0), timedelta(hours=-1))


def _reference_office_time(calendar: WorkingCalendar, a: datetime, b: datetime) -> timedelta:
    """Day-by-day reference used to cross-check the optimised count."""
    total, day = timedelta(0), a.date()
    while day <= b.date():
        if calendar.is_working_day(day):
            for start, end in calendar.office_hours.periods:
                low = max(datetime.combine(day, start, tzinfo=BEIJING), a)
                high = min(datetime.combine(day, end, tzinfo=BEIJING), b)
                total += max(high - low, timedelta(0))
        day += timedelta(days=1)
    return total


def test_counts_and_additions_agree_on_random_moments(calendar):
    rng = random.Random(20260930)
    origin = at(2026, 9, 1, 0, 0)
    for _ in range(300):
        start = origin + timedelta(minutes=rng.randrange(0, 200 * 24 * 60))
        amount = timedelta(minutes=rng.randrange(1, 40 * 60))
        end = calendar.add_working_time(start, amount).at
        assert calendar.working_time_between(start, end) == amount
        assert _reference_office_time(calendar, start, end) == amount
        n = rng.randrange(1, 30)
        due = calendar.add_working_days(start, n).at
        assert calendar.working_days_between(start, due) == n
        assert calendar.is_working_day(due.date())
        other = origin + timedelta(minutes=rng.randrange(0, 200 * 24 * 60))
        low, high = min(start, other), max(start, other)
        assert calendar.working_time_between(low, high) == _reference_office_time(calendar, low, high)
