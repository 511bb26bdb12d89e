"""Provisional years: the fixed holidays of 《全国年节及纪念日放假办法》 rest even before the notice.

2027 has no official data (chinesecalendar ships through 2026) and, in these tests, nobody entered
it. Its statutory holidays under the 2024 revision (in force 2025-01-01), worked out by hand:
- 元旦 2027-01-01, a Friday (2026-12-31 is a Thursday).
- 春节 除夕 to 正月初三. 正月初一 of 丁未 is 2027-02-06 (Saturday); the 12th month of 丙午 begins
  2027-01-08 and has 29 days (01-08 … 02-05), so 除夕 is 腊月廿九 = 2027-02-05 (Friday); 初二 02-07
  (Sunday), 初三 02-08 (Monday).
- 清明: the sun reaches 15° ecliptic longitude on 2027-04-05 (Monday) about 08:17 Beijing time.
- 劳动节 05-01 (Saturday), 05-02 (Sunday).
- 端午 五月初五: 五月初一 of 2027 is 06-05 (the months 正月 30, 二月 30, 三月 29, 四月 30 days from
  02-06: 02-06 + 119 days = 06-05), so 初五 = 2027-06-09 (Wednesday).
- 中秋 八月十五: 五月 29, 六月 29, 七月 30 days from 06-05 give 八月初一 = 09-01, so 十五 = 2027-09-15
  (Wednesday).
- 国庆 10-01 (Friday) to 10-03 (Sunday).
No 调休 is guessed: weekends rest, and e.g. Saturday 2027-01-30 stays a rest day.
"""

from __future__ import annotations

from datetime import date, datetime

import chinese_calendar
import pytest
from typer.testing import CliRunner

import api.cli.calendar  # noqa: F401  (registers the commands)
from api.cli.app import app
from engine.calendar.limits import parse_limit
from engine.calendar.service import enter_year_and_recompute, list_days
from engine.calendar.statutory import qingming, statutory_holidays
from engine.calendar.stored import load_calendar
from engine.calendar.working import DaySource, WorkingCalendar, official_years
from engine.clock import BEIJING

runner = CliRunner()

HOLIDAYS_2027 = {
    date(2027, 1, 1): "元旦",
    date(2027, 2, 5): "春节",
    date(2027, 2, 6): "春节",
    date(2027, 2, 7): "春节",
    date(2027, 2, 8): "春节",
    date(2027, 4, 5): "清明节",
    date(2027, 5, 1): "劳动节",
    date(2027, 5, 2): "劳动节",
    date(2027, 6, 9): "端午节",
    date(2027, 9, 15): "中秋节",
    date(2027, 10, 1): "国庆节",
    date(2027, 10, 2): "国庆节",
    date(2027, 10, 3): "国庆节",
}


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BEIJING)


def test_2027_statutory_holidays_as_worked_out_by_hand():
    assert 2027 not in official_years(), "chinesecalendar now ships 2027: pick a later provisional year"
    assert statutory_holidays(2027) == HOLIDAYS_2027


def test_qingming_is_the_solar_term_day_not_a_fixed_date():
    # Cross-check with chinesecalendar's own solar-term formula (a different algorithm):
    # 2025-04-04, 2026-04-05, 2027-04-05, 2028-04-04 (a leap year moves it back a day).
    for year, expected in ((2025, date(2025, 4, 4)), (2026, date(2026, 4, 5)), (2027, date(2027, 4, 5)),
                           (2028, date(2028, 4, 4))):
        assert qingming(year) == expected
    # Through 2099: for 2100 the two disagree (04-05 computed astronomically here, 04-04 by
    # chinesecalendar's empirical formula, at the very end of its range); not checked.
    for year in range(2027, 2100):
        terms = dict((name, day) for day, name in chinese_calendar.get_solar_terms(
            date(year, 4, 1), date(year, 4, 10)))
        assert qingming(year) == terms["清明"], year


def test_every_statutory_day_rests_in_the_published_schedules_2004_to_2026():
    """The versions of the 办法 (1999, 2007, 2013, 2024) against the official data: each computed day
    is a rest day in the State Council's arrangement of its year — the notice never moves them."""
    for year in range(2004, 2027):
        for day, name in statutory_holidays(year).items():
            assert not chinese_calendar.is_workday(day), (day, name)
    # Under the 2024 revision the names agree with the notices too (chinesecalendar says 清明, 端午 …).
    for year in (2025, 2026):
        for day, name in statutory_holidays(year).items():
            official = chinese_calendar.constants.Holiday(chinese_calendar.constants.holidays[day]).chinese
            assert name.removesuffix("节") == official.removesuffix("节"), (day, name, official)


def test_older_versions_of_the_rules():
    # 2003 (1999 version): 春节 初一–初三 only; 正月初一 was 2003-02-01, so 除夕 01-31 is not a holiday;
    # 劳动节 05-01..05-03; no 清明, 端午 or 中秋 yet.
    days_2003 = statutory_holidays(2003)
    assert [d for d, n in days_2003.items() if n == "春节"] == [date(2003, 2, 1), date(2003, 2, 2), date(2003, 2, 3)]
    assert [d for d, n in days_2003.items() if n == "劳动节"] == [date(2003, 5, d) for d in (1, 2, 3)]
    assert "清明节" not in days_2003.values()
    # 2020 (2013 version): 中秋 fell on 10-01 with 国庆: one day, both names; 春节 初一 01-25 … 初三 01-27.
    days_2020 = statutory_holidays(2020)
    assert days_2020[date(2020, 10, 1)] == "中秋节、国庆节"
    assert [d for d, n in days_2020.items() if n == "春节"] == [date(2020, 1, 25), date(2020, 1, 26), date(2020, 1, 27)]


def test_provisional_2027_rests_on_statutory_holidays_and_weekends_without_guessing_tiaoxiu():
    calendar = WorkingCalendar()
    assert calendar.year_source(2027) is DaySource.provisional
    for day in HOLIDAYS_2027:
        assert not calendar.is_working_day(day), day
        assert calendar.is_provisional(day)
    assert not calendar.is_working_day(date(2027, 1, 30))  # a Saturday: no 调休 is guessed
    assert calendar.is_working_day(date(2027, 2, 9))  # Tuesday after 初三: no bridge day guessed
    assert calendar.is_working_day(date(2027, 10, 4))  # Monday after 国庆: no 补休 guessed
    # Counting the whole year: 365 days, 104 weekend days (2027-01-01 is a Friday: 52 full weeks
    # plus Friday 12-31), and the holidays on weekdays: 01-01, 02-05, 02-08, 04-05, 06-09, 09-15,
    # 10-01 = 7 → 365 - 104 - 7 = 254 working days.
    assert calendar.working_days_between(at(2026, 12, 31, 12, 0), at(2027, 12, 31, 12, 0)) == 254


def test_one_working_day_from_new_years_eve_2026_is_monday_4_january_marked_provisional():
    # The rule: the start day is not counted; N working days end at the close of office (17:30)
    # of the N-th working day after it. 2026-12-31 (Thursday) 10:00; 2027-01-01 Friday is 元旦,
    # 01-02/03 the weekend, so the first working day after 12-31 is Monday 2027-01-04.
    deadline = WorkingCalendar().due(at(2026, 12, 31, 10, 0), parse_limit("1个工作日"))
    assert deadline.at == at(2027, 1, 4, 17, 30)
    assert deadline.provisional is True


@pytest.fixture
def cli_env(database, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    return database


def test_cli_due_across_new_year_gives_4_january_marked_provisional(cli_env):
    result = runner.invoke(app, ["calendar", "due", "--start", "2026-12-31T10:00", "--limit", "1个工作日"])
    assert result.exit_code == 0, result.output
    assert "办理期限：2027-01-04 17:30（星期一）（暂定：该年度节假日安排尚未公布）" in result.output


def test_cli_days_lists_the_statutory_holidays_of_a_provisional_year(cli_env):
    result = runner.invoke(app, ["calendar", "days", "2027"])
    assert result.exit_code == 0, result.output
    assert "暂定" in result.output
    assert "2027-02-05（星期五）放假  春节" in result.output
    assert "2027-06-09（星期三）放假  端午节" in result.output
    assert "调休上班" not in result.output


def test_entering_the_year_replaces_the_provisional_holidays(database, clock):
    """The published notice wins: 2027's days become those entered, and the year is no longer 暂定."""
    with database.session() as session:
        assert [d.day for d in list_days(session, 2027).days] == list(HOLIDAYS_2027)
        before = load_calendar(session).due(at(2027, 9, 29, 9, 0), parse_limit("5个工作日"))
    # Provisional: 09-30 (1), 10-01 国庆 and the weekend rest, 10-04 (2) … 10-07 (5).
    assert (before.at, before.provisional) == (at(2027, 10, 7, 17, 30), True)
    # A made-up notice: 10-01..10-07 off (with 中秋 merged), Saturday 10-09 worked.
    holidays = [date(2027, 1, 1)] + [date(2027, 10, d) for d in range(1, 8)]
    with database.session() as session:
        entered = enter_year_and_recompute(session, 2027, holidays, [date(2027, 10, 9)], "admin", clock.now())
    # Entered: 09-30 (1), 10-08 Friday (2), 10-09 Saturday worked (3), 10-11 (4), 10-12 (5).
    after = entered.calendar.due(at(2027, 9, 29, 9, 0), parse_limit("5个工作日"))
    assert (after.at, after.provisional) == (at(2027, 10, 12, 17, 30), False)
    with database.session() as session:
        schedule = list_days(session, 2027)
    assert schedule.source is DaySource.entered
    assert [d.day for d in schedule.days] == sorted(holidays + [date(2027, 10, 9)])


def test_next_working_day_skips_the_spring_festival_of_a_provisional_year():
    # Thursday 2027-02-04 → 02-05 除夕 (Friday), 02-06/07 weekend, 02-08 初三 (Monday) → Tuesday 02-09.
    assert WorkingCalendar().next_working_day(date(2027, 2, 4)) == date(2027, 2, 9)
