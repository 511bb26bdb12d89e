"""The statutory holidays of 《全国年节及纪念日放假办法》, for years whose schedule is not published.

The State Council's yearly notice (around November) only *arranges* the holidays — it adds 调休
days and bridges — but the holidays themselves are fixed by the 办法, whatever the notice says.
So a year without official or entered data is not "weekends only": its statutory holidays are
certainly rest days, and only the 调休 is unknown (never guessed here; the year stays 暂定).

Versions of the 办法 (the one in force on January 1 of the year applies):
- 2024 revision (国务院令第795号, in force 2025-01-01): 元旦 1 day (1-1); 春节 4 days (除夕 to
  正月初三); 清明 1 day (the day of the 清明 solar term); 劳动节 2 days (5-1, 5-2); 端午 1 day
  (五月初五); 中秋 1 day (八月十五); 国庆 3 days (10-1 to 10-3).
- 2013 revision (国务院令第644号, 2014–2024): as 2007 but 春节 is 初一 to 初三.
- 2007 revision (国务院令第513号, 2008–2013): 元旦 1; 春节 除夕, 初一, 初二; 清明 1; 劳动节 1;
  端午 1; 中秋 1; 国庆 3.
- 1999 revision (国务院令第270号, before 2008): 元旦 1; 春节 初一 to 初三; 劳动节 5-1 to 5-3;
  国庆 3.
(chinesecalendar ships official data for 2004–2026, so the older versions only matter for the
earliest years an administrator can look at; a test checks every version against that data.)

Lunar dates and the 清明 solar term come from `lunar-python` (6tail/lunar-python, MIT, no
dependencies): it is actively maintained (releases through 2025), computes new moons and solar
terms astronomically (the 寿星天文历 algorithms) in Beijing time for any year, and gives both the
lunar calendar and the 24 solar terms from one library — lunardate and zhdate have no solar terms
and rely on a table ending in 2099/2100; cnlunar and borax would do but are broader almanacs. 除夕
is taken as the day before 正月初一, so a 12th month of 29 days (腊月廿九, e.g. 2027-02-05) is
handled without asking how long the month is.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from lunar_python import Lunar, Solar

ONE_DAY = timedelta(days=1)
REVISION_2024_FROM = 2025
REVISION_2013_FROM = 2014
REVISION_2007_FROM = 2008


def _lunar(year: int, month: int, day: int) -> date:
    """The Gregorian date of a (non-leap) lunar month day of lunar year `year`."""
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def qingming(year: int) -> date:
    """The day (Beijing time) the sun reaches 15° ecliptic longitude: April 4, 5 or 6."""
    # Mid-April lies in lunar year `year` (正月初一 is always before Feb 21), whose table holds 清明.
    term = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    return date(term.getYear(), term.getMonth(), term.getDay())


def spring_festival(year: int) -> date:
    """正月初一 of the lunar year that begins in Gregorian `year`."""
    return _lunar(year, 1, 1)


@lru_cache(maxsize=256)
def statutory_holidays(year: int) -> dict[date, str]:
    """{date: holiday name} of the rest days the 办法 in force in `year` fixes, weekends not added.

    No 调休 (worked weekends, bridged days, 补休 when a holiday falls on a weekend) is included:
    only the State Council's notice decides those.
    """
    days: dict[date, str] = {date(year, 1, 1): "元旦"}
    new_year = spring_festival(year)
    if year >= REVISION_2024_FROM:
        spring = [new_year - ONE_DAY, new_year, new_year + ONE_DAY, new_year + 2 * ONE_DAY]
    elif year >= REVISION_2013_FROM or year < REVISION_2007_FROM:
        spring = [new_year, new_year + ONE_DAY, new_year + 2 * ONE_DAY]
    else:
        spring = [new_year - ONE_DAY, new_year, new_year + ONE_DAY]
    days.update(dict.fromkeys(spring, "春节"))
    if year >= REVISION_2007_FROM:
        days[qingming(year)] = "清明节"
        days[_lunar(year, 5, 5)] = "端午节"
        days[_lunar(year, 8, 15)] = "中秋节"
    labour_days = 2 if year >= REVISION_2024_FROM else 1 if year >= REVISION_2007_FROM else 3
    days.update({date(year, 5, d): "劳动节" for d in range(1, labour_days + 1)})
    # 国庆 and 中秋 can coincide (2020-10-01); the day is one rest day, named after both.
    for d in range(1, 4):
        day = date(year, 10, d)
        days[day] = "中秋节、国庆节" if days.get(day) == "中秋节" else "国庆节"
    return dict(sorted(days.items()))
