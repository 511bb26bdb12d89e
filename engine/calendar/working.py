"""The working-day calendar: the single source of truth for working days and office time.

A day's status comes from, in order of trust:
1. an administrator-entered year (the State Council notice typed in; counts as official);
2. the `chinesecalendar` package for the years it ships (NotImplementedError outside them);
3. otherwise *provisional*: weekends and the statutory holidays of 《全国年节及纪念日放假办法》
   (元旦, 春节 除夕–初三, 清明, 劳动节, 端午, 中秋, 国庆; see `engine.calendar.statutory`) rest, no
   调休 is guessed; every result that touched such a day says so (暂定), because the State
   Council's arrangement of the year is not published yet.

Counting rules (行政许可法 §82, 民法典 §201–203 and local rules): the day of the triggering event is
not counted; a working-day limit ends at the close of office hours of its last day; a calendar-day
or calendar-month limit whose last day is a rest day runs to the next working day, and a month
limit ends on the same day number of its last month (that month's last day when it has none); a
same-day limit (即办) ends at the close of the receiving day; an hour limit counts office hours
only. All results are aware datetimes in Beijing time.
"""

from __future__ import annotations

import calendar as calendar_module
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cached_property, lru_cache

import chinese_calendar

from engine.calendar.limits import MAX_LIMIT, LimitKind, ParsedLimit
from engine.calendar.statutory import statutory_holidays
from engine.calendar.units import LimitUnit, TimeLimit
from engine.clock import BEIJING
from engine.errors import InvalidInput

ONE_DAY = timedelta(days=1)


class DaySource(StrEnum):
    """Where a year's schedule comes from (shown next to every date the calendar produced)."""

    official = "official"  # the chinesecalendar package
    entered = "entered"  # typed in by an administrator from the State Council notice
    provisional = "provisional"  # nothing published yet: weekends and the statutory holidays, no 调休


@dataclass(frozen=True)
class OfficeHours:
    """Office periods of a working day, in local time; default 09:00–12:00 and 13:30–17:30."""

    periods: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))

    def __post_init__(self) -> None:
        problems = []
        if not self.periods:
            problems.append("办公时间：至少需要一个时段")
        previous_end = None
        for start, end in self.periods:
            if start >= end:
                problems.append(f"办公时段 {start:%H:%M}-{end:%H:%M}：开始时间必须早于结束时间")
            if previous_end is not None and start < previous_end:
                problems.append(f"办公时段 {start:%H:%M}-{end:%H:%M}：与前一时段重叠或顺序颠倒")
            previous_end = end
        if problems:
            raise InvalidInput("办公时间设置有误", problems)

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """`09:00-12:00,13:30-17:30` → OfficeHours (for settings and command-line options)."""
        periods = []
        for part in text.replace("，", ",").split(","):
            try:
                start, end = (time.fromisoformat(p.strip()) for p in part.split("-"))
            except ValueError:
                raise InvalidInput(
                    "办公时间设置有误", [f"办公时段 {part.strip()!r}：应写作 09:00-12:00"]
                ) from None
            periods.append((start, end))
        return cls(tuple(periods))

    @cached_property
    def offsets(self) -> tuple[tuple[timedelta, timedelta], ...]:
        """The periods as offsets from midnight (cheap to add to a day's midnight)."""
        return tuple((_span(time(0), start), _span(time(0), end)) for start, end in self.periods)

    @property
    def close(self) -> time:
        return self.periods[-1][1]

    @property
    def day_length(self) -> timedelta:
        return sum((_span(start, end) for start, end in self.periods), timedelta())


DEFAULT_OFFICE_HOURS = OfficeHours()


@dataclass(frozen=True)
class Deadline:
    """A computed moment; `provisional` when it rests on a year whose schedule is not published."""

    at: datetime
    provisional: bool


@dataclass(frozen=True)
class _Year:
    """Classification of every day of one year, computed once (the hot path is a byte lookup)."""

    first_ordinal: int
    working: bytes
    source: DaySource

    @property
    def provisional(self) -> bool:
        return self.source is DaySource.provisional


@dataclass
class WorkingCalendar:
    """Working days and office time. Pure: build it from data, or from the DB with
    `engine.calendar.stored.load_calendar`.

    `overrides` maps dates to is-working for entered years (their departures from the plain week);
    `entered_years` are the years an administrator entered, which replace the package's data.
    """

    overrides: dict[date, bool] = field(default_factory=dict)
    entered_years: set[int] = field(default_factory=set)
    office_hours: OfficeHours = DEFAULT_OFFICE_HOURS
    tz: tzinfo = BEIJING
    _years: dict[int, _Year] = field(default_factory=dict, init=False, repr=False)

    # --- days -------------------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        year = self._year(day.year)
        return year.working[day.toordinal() - year.first_ordinal] == 1

    def is_provisional(self, day: date) -> bool:
        return self._year(day.year).provisional

    def year_source(self, year: int) -> DaySource:
        return self._year(year).source

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self._step_working_days(day, 1, 1)

    def close_of(self, day: date) -> datetime:
        """The close of office hours on `day` — where day-based limits end."""
        return datetime.combine(day, self.office_hours.close, tzinfo=self.tz)

    # --- deadlines --------------------------------------------------------------------------
    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """Close of office on the n-th working day after the day of `start` (which is not counted).

        n == 0 means "by the close of today", or of the next working day if today is a rest day.
        """
        if n < 0:
            raise InvalidInput("工作日数不能为负数", [f"工作日数：{n}"])
        first = self._local(start).date()
        day = first
        if n == 0:
            while not self.is_working_day(day):
                day += ONE_DAY
        else:
            first += ONE_DAY
            day = self._step_working_days(day, n, 1)
        return Deadline(self.close_of(day), self._touches_provisional(first, day))

    def due(self, start: datetime, limit: TimeLimit | ParsedLimit) -> Deadline:
        """When a matter started at `start` with `limit` must be finished.

        A limit of kind `none` (无, 不限) has no due moment: callers check `limit.has_clock` first;
        asking anyway is refused rather than answered with an invented date.
        """
        if isinstance(limit, ParsedLimit):
            kind, value = limit.kind, limit.value
        else:
            # 即办 and 无 carry no value (counted as 0, as ParsedLimit does).
            kind, value = LimitKind(LimitUnit(limit.unit).value), limit.value or 0
        most = MAX_LIMIT.get(kind)
        if most is not None and value > most:
            raise InvalidInput(f"时限过长：{value}（{kind.value}），无法计算期限",
                               [f"limit: 不得超过 {most}（{kind.value}）"])
        if kind is LimitKind.working_days:
            return self.add_working_days(start, value)
        if kind is LimitKind.hours:
            return self.add_working_time(start, timedelta(hours=value))
        if kind is LimitKind.months:
            return self.add_months(start, value)
        if kind is LimitKind.same_day:
            return self.same_day(start)
        if kind is LimitKind.none:
            text = limit.text if isinstance(limit, ParsedLimit) else ""
            raise InvalidInput(f"时限 {text!r} 表示不限时，没有办理期限", [f"时限 {text!r}：该事项不计时"])
        last = self._local(start).date() + timedelta(days=value)
        end = last if self.is_working_day(last) else self.next_working_day(last)
        return Deadline(self.close_of(end), self._touches_provisional(last, end))

    def same_day(self, start: datetime) -> Deadline:
        """即办 / 当场办结: the close of office hours of the receiving day.

        A matter received on a rest day, or on a working day after the close, is received when the
        office next opens — a same-day limit cannot end before the matter arrived.
        """
        moment = self._local(start)
        day = moment.date()
        if not self.is_working_day(day) or moment >= self.close_of(day):
            day = self.next_working_day(day)
        return Deadline(self.close_of(day), self._touches_provisional(moment.date(), day))

    def add_months(self, start: datetime, months: int) -> Deadline:
        """A period of calendar months (民法典 §201–203; a year is 12 months).

        §201: the day of the start is not counted. §202: the period ends on the day of the last
        month with the start's day number, or on that month's last day when it has no such day
        (01-31 + 1个月 → 02-28, or 02-29 in a leap year). §203: when that day is a statutory rest
        day the period ends on the next working day, at the close of business hours.
        """
        if months <= 0:
            raise InvalidInput("月数必须大于零", [f"月数：{months}"])
        first = self._local(start).date()
        index = first.year * 12 + first.month - 1 + months
        year, month = divmod(index, 12)
        month += 1
        last = date(year, month, min(first.day, calendar_module.monthrange(year, month)[1]))
        end = last if self.is_working_day(last) else self.next_working_day(last)
        return Deadline(self.close_of(end), self._touches_provisional(last, end))

    # --- comparing limits -------------------------------------------------------------------
    def compare_limits(self, a: TimeLimit | ParsedLimit, b: TimeLimit | ParsedLimit, start: datetime) -> int:
        """-1, 0 or 1 as `a` ends before, with or after `b` for a matter started at `start`.

        Limits in different units (25日 against 20个工作日, 1个月 against 30日) are only comparable
        through the calendar: both due moments are computed from the same start. No limit (无) is
        longer than every limit.
        """
        a_due, b_due = (self._due_or_none(ParsedLimit.of(x), start) for x in (a, b))
        if a_due == b_due:
            return 0
        if a_due is None or (b_due is not None and a_due > b_due):
            return 1
        return -1

    def longer_at(
        self, committed: TimeLimit | ParsedLimit, statutory: TimeLimit | ParsedLimit, starts: list[datetime]
    ) -> datetime | None:
        """The first of `starts` at which `committed` ends after `statutory` (None: never longer).

        Catalog validation uses this to check that a committed limit (承诺时限) is not longer than
        the statutory one (法定时限) like with like. With one reference start per day of a year,
        25日 against 20个工作日 is accepted when at no start the 25 calendar days end later (20
        working days span four weeks or more); the returned start names the case that fails.
        """
        for start in starts:
            if self.compare_limits(committed, statutory, start) > 0:
                return start
        return None

    def _due_or_none(self, limit: ParsedLimit, start: datetime) -> datetime | None:
        return self.due(start, limit).at if limit.has_clock else None

    def add_working_time(self, start: datetime, amount: timedelta) -> Deadline:
        """The moment when `amount` of office time has passed after `start` (shifts after a pause).

        Time outside office hours does not count; a result that exactly fills a period ends at
        that period's close (12:00, not 13:30).
        """
        if amount < timedelta(0):
            raise InvalidInput("办公时长不能为负数", [f"时长：{amount}"])
        moment = self._local(start)
        first = day = moment.date()
        if amount == timedelta(0):
            return Deadline(moment, self.is_provisional(day))
        remaining = amount
        day_length = self.office_hours.day_length
        while True:
            if self.is_working_day(day):
                periods = self._periods(day)
                if moment <= periods[0][0] and remaining > day_length:
                    remaining -= day_length  # a whole day consumed; skip period arithmetic
                else:
                    for period_start, period_end in periods:
                        begin = max(period_start, moment)
                        if begin >= period_end:
                            continue
                        available = period_end - begin
                        if remaining <= available:
                            return Deadline(begin + remaining, self._touches_provisional(first, day))
                        remaining -= available
            day += ONE_DAY
            moment = datetime(day.year, day.month, day.day, tzinfo=self.tz)

    def subtract_working_days(self, due: datetime, n: int) -> Deadline:
        """The same time of day n working days before `due` (yellow "one working day before")."""
        if n < 0:
            raise InvalidInput("工作日数不能为负数", [f"工作日数：{n}"])
        local_due = self._local(due)
        day = self._step_working_days(local_due.date(), n, -1)
        at = datetime.combine(day, local_due.time(), tzinfo=self.tz)
        return Deadline(at, self._touches_provisional(day, local_due.date()))

    def fraction_point(self, start: datetime, due: datetime, fraction: float) -> Deadline:
        """The moment `fraction` of the office time from start to due is used ("two thirds used")."""
        if not 0 <= fraction <= 1:
            raise InvalidInput("比例必须在 0 到 1 之间", [f"比例：{fraction}"])
        point = self.add_working_time(start, self.working_time_between(start, due) * fraction)
        return Deadline(point.at, point.provisional or self._touches_provisional(point.at.date(), due.date()))

    # --- elapsed time -----------------------------------------------------------------------
    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Office time from a to b; negative when b is before a (time overdue, for countdowns)."""
        a, b = self._local(a), self._local(b)
        if b < a:
            return -self.working_time_between(b, a)
        first, last = a.date(), b.date()
        if first == last:
            return self._office_time_within(first, a, b)
        # Whole working days in between count fully; only the two ends need period arithmetic.
        middle = self._count_working_days(first + ONE_DAY, last - ONE_DAY)
        return (
            self._office_time_within(first, a, b)
            + self.office_hours.day_length * middle
            + self._office_time_within(last, a, b)
        )

    def working_days_between(self, a: datetime, b: datetime) -> int:
        """Working days after the day of a up to and including the day of b (negative if b < a).

        Matches add_working_days: add_working_days(a, n) falls on a day d with
        working_days_between(a, d) == n.
        """
        start, end = self._local(a).date(), self._local(b).date()
        if end < start:
            return -self.working_days_between(b, a)
        return self._count_working_days(start + ONE_DAY, end)

    def is_office_time(self, moment: datetime) -> bool:
        moment = self._local(moment)
        if not self.is_working_day(moment.date()):
            return False
        return any(start <= moment < end for start, end in self._periods(moment.date()))

    # --- internals --------------------------------------------------------------------------
    def _local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("WorkingCalendar needs timezone-aware datetimes")
        return moment.astimezone(self.tz)

    def _periods(self, day: date) -> list[tuple[datetime, datetime]]:
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return [(midnight + start, midnight + end) for start, end in self.office_hours.offsets]

    def _office_time_within(self, day: date, a: datetime, b: datetime) -> timedelta:
        """Office time of `day` that lies between a and b."""
        total = timedelta(0)
        if self.is_working_day(day):
            for period_start, period_end in self._periods(day):
                overlap = min(period_end, b) - max(period_start, a)
                if overlap > timedelta(0):
                    total += overlap
        return total

    def _count_working_days(self, first: date, last: date) -> int:
        """Working days from first to last inclusive (0 when last < first), counted per year map."""
        count = 0
        for year_number in range(first.year, last.year + 1):
            year = self._year(year_number)
            low = max(first.toordinal(), year.first_ordinal) - year.first_ordinal
            high = min(last.toordinal(), year.first_ordinal + len(year.working) - 1) - year.first_ordinal
            if high >= low:
                count += year.working.count(1, low, high + 1)
        return count

    def _step_working_days(self, day: date, n: int, direction: int) -> date:
        """The n-th working day after (direction 1) or before (-1) `day`; walks the year byte maps."""
        year_number = day.year
        year = self._year(year_number)
        flags = year.working
        index = day.toordinal() - year.first_ordinal
        while n:
            index += direction
            if not 0 <= index < len(flags):
                year_number += direction
                year = self._year(year_number)
                flags = year.working
                index = 0 if direction > 0 else len(flags) - 1
            if flags[index]:
                n -= 1
        return date.fromordinal(year.first_ordinal + index)

    def _touches_provisional(self, first: date, last: date) -> bool:
        if last < first:
            first, last = last, first
        return any(self._year(year).provisional for year in range(first.year, last.year + 1))

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._classify_year(year)
        return cached

    def _classify_year(self, year: int) -> _Year:
        jan1 = date(year, 1, 1)
        days = [jan1 + timedelta(days=i) for i in range((date(year + 1, 1, 1) - jan1).days)]
        if year in self.entered_years:
            source, working = DaySource.entered, [d.weekday() < 5 for d in days]
        elif year in official_years():
            source, working = DaySource.official, list(_official_working_days(year))
        else:
            # The 办法's holidays are certain even before the notice; only its 调休 is unknown.
            rest = statutory_holidays(year)
            source, working = DaySource.provisional, [d.weekday() < 5 and d not in rest for d in days]
        # Overrides apply on top whatever the source, so an administrator's entry always wins.
        working = [self.overrides.get(d, w) for d, w in zip(days, working, strict=True)]
        return _Year(jan1.toordinal(), bytes(working), source)


@lru_cache(maxsize=64)
def _official_working_days(year: int) -> tuple[bool, ...]:
    """The package's working-day flags of a whole year, computed once per process: the package's
    per-day look-up is slow and calendars are built per transaction (timing log, deadlines)."""
    jan1 = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - jan1).days
    return tuple(chinese_calendar.is_workday(jan1 + timedelta(days=i)) for i in range(days))


@lru_cache(maxsize=1)
def official_years() -> range:
    """The years the installed chinesecalendar package has data for (it raises outside them)."""
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def official_day_name(day: date) -> str | None:
    """The package's Chinese name for a holiday or 调休 day (国庆节, 春节 …), if any."""
    # The tables hold the Holiday enum's value (its English name); the enum knows the Chinese one.
    english = chinese_calendar.holidays.get(day) or chinese_calendar.workdays.get(day)
    if english is None:
        return None
    try:
        return chinese_calendar.Holiday(english).chinese
    except ValueError:
        return str(english)


def _span(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)
