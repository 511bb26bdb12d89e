"""Time limits as real tables write them ⇄ `ParsedLimit` / `TimeLimit`; start times as people type them.

Published catalogs are typed by hand. Everything below occurs in real tables and is read:
- counts of days or hours: `5个工作日`, `20工作日`, `30日`, `30天`, `4小时`, full-width digits,
  Chinese numerals (`十五个工作日`, `二十日`), an optional 个 and a trailing 内/以内/之内;
- calendar months and years: `1个月`, `一个月`, `3个月`, `1年` (民法典 §201–203, see
  `WorkingCalendar.add_months`);
- same-day limits: `即办`, `即办件`, `当场办结`, `立即办结`, `当场`, `0个工作日` … — they end at the
  close of office hours of the receiving day;
- no limit at all: `无`, `/`, `—`, `-`, `无法定时限`, `不限`, an empty cell — a duty without a clock
  (kind `none`), which is not the same as an unreadable cell;
- notes in brackets, anywhere in the cell: `15个工作日（不含公示时间）`, `10个工作日(含)`,
  `20日【法定】` — kept in `note`, never dropped silently.

行政许可法 §82: a 行政许可 duty's limits are counted in working days, so for that category a bare
`N日`/`N天` is N working days; written `自然日`/`日历日` it stays calendar days. For every other
category `N日` is calendar days (other laws say "日" for calendar days). `read_limit` takes the
category for this reason.

Anything else is refused with the text named (InvalidInput), never guessed; callers place it.
`parse_limit` is the older, narrower entry point: it returns the catalog model's `TimeLimit`
(days or hours, value > 0, no note) and refuses what that model cannot hold.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from engine.bounds import INT_COLUMN_MAX
from engine.calendar.units import LimitUnit, TimeLimit
from engine.clock import BEIJING
from engine.errors import InvalidInput

LICENSING = "行政许可"


class LimitKind(StrEnum):
    """What a limit text means; the first three are the catalog model's `LimitUnit` values."""

    working_days = "working_days"
    calendar_days = "calendar_days"
    hours = "hours"
    months = "months"  # calendar months (a year is read as 12): same day number of the last month
    same_day = "same_day"  # 即办 / 当场办结 / 0个工作日: by the close of the receiving day
    none = "none"  # 无 / 不限 / 无法定时限: the duty has no clock


# Counting a limit costs time in proportion to its length (a billion working days kept a request
# busy for hours; a due date past the year 9999 overflowed into a 500), and no duty's limit runs
# ten years: the calendar refuses to count longer ones (InvalidInput, answered 422), whoever asks —
# the API, the CLI, a case started on an imported duty, a BPMN timer.
MAX_LIMIT: dict[LimitKind, int] = {LimitKind.working_days: 2500, LimitKind.calendar_days: 3660,
                                   LimitKind.hours: 20000, LimitKind.months: 120}


@dataclass(frozen=True)
class ParsedLimit:
    """A limit as read from a table: its kind, count, bracketed note and the text as written."""

    kind: LimitKind
    value: int = 0
    note: str | None = None
    text: str = ""
    # True when a bare `N日` was read as working days because the duty is a 行政许可 (§82).
    by_section_82: bool = False

    @property
    def has_clock(self) -> bool:
        return self.kind is not LimitKind.none

    def time_limit(self) -> TimeLimit | None:
        """The catalog model's TimeLimit for day and hour counts; None for the other kinds."""
        if self.kind in _TIME_LIMIT_KINDS:
            return TimeLimit(value=self.value, unit=LimitUnit(self.kind.value))
        return None

    @classmethod
    def of(cls, limit: TimeLimit | ParsedLimit) -> ParsedLimit:
        if isinstance(limit, ParsedLimit):
            return limit
        # 即办 and 无 carry no value; a ParsedLimit counts 0 of them.
        return cls(LimitKind(LimitUnit(limit.unit).value), limit.value or 0, text=format_limit(limit))

    def __str__(self) -> str:
        return format_limit(self)


_TIME_LIMIT_KINDS = (LimitKind.working_days, LimitKind.calendar_days, LimitKind.hours)
# Unit words, longest first so `个工作日` is not read as `日`. A bare 日/天 is decided by the category.
_BARE_DAY = "bare_day"
_UNIT_WORDS: dict[str, str] = {
    "工作日": LimitKind.working_days,
    "自然日": LimitKind.calendar_days,
    "日历日": LimitKind.calendar_days,
    "日": _BARE_DAY,
    "天": _BARE_DAY,
    "小时": LimitKind.hours,
    "月": LimitKind.months,
    "年": LimitKind.months,
}
_PATTERN = re.compile(
    r"^(?P<number>[0-9零〇一二两三四五六七八九十百千]+)(?P<ge>个)?"
    r"(?P<unit>" + "|".join(_UNIT_WORDS) + r")(?:以内|之内|内)?$"
)
# Cells that say "there is no limit" (after NFKC: full-width ／ and － are / and -).
_NO_LIMIT_TEXTS = frozenset(
    {"", "无", "/", "\\", "-", "--", "—", "——", "–", "无法定时限", "无承诺时限", "无时限", "无期限", "不限",
     "不限时", "无限制", "不设时限"}
)
# Cells that say "finished on the spot / the same day".
_SAME_DAY_TEXTS = frozenset(
    {"即办", "即办件", "即时办结", "即来即办", "随到随办", "立即办结", "立即", "立办", "当场办结", "当场办理",
     "当场", "当日办结", "当天办结", "当日", "当天"}
)
# Bracket pairs as tables use them (NFKC has already turned （）［］ into ()[]).
_NOTE = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]|【([^【】]*)】|〔([^〔〕]*)〕")
_BRACKETS = "()[]【】〔〕"
_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_MULTIPLIERS = {"十": 10, "百": 100, "千": 1000}
_FORMAT_SUFFIX = {
    LimitKind.working_days: "个工作日",
    LimitKind.calendar_days: "日",
    LimitKind.hours: "小时",
    LimitKind.months: "个月",
}
_EXPECTED_FORMS = "应写作“5个工作日”“20日”“4小时”“1个月”“即办”或“无”之类的形式，说明可放在括号内"


def is_licensing(category: str | None) -> bool:
    """A 行政许可 duty (also sub-typed values such as `行政许可-变更`), whose limits §82 counts in working days."""
    return category is not None and unicodedata.normalize("NFKC", category).strip().startswith(LICENSING)


def day_unit_for(category: str | None) -> LimitUnit:
    """What a bare `N日` means for a duty of `category` (行政许可法 §82)."""
    return LimitUnit.working_days if is_licensing(category) else LimitUnit.calendar_days


def read_limit(text: str | None, category: str | None = None) -> ParsedLimit:
    """Read a limit cell as real tables write it. `category` is the duty's 事项类型 (for §82).

    Raises InvalidInput naming the text when it is not a limit (a typo, `5周`, unbalanced brackets).
    """
    written = "" if text is None else str(text)
    normalised = unicodedata.normalize("NFKC", written).strip()
    notes = [next(g for g in m.groups() if g is not None).strip() for m in _NOTE.finditer(normalised)]
    core = re.sub(r"\s+", "", _NOTE.sub("", normalised))
    note = "；".join(n for n in notes if n) or None
    if any(ch in _BRACKETS for ch in core):
        raise InvalidInput(f"无法识别的时限：{written!r}", [f"时限 {written!r}：括号不成对"])
    if core in _NO_LIMIT_TEXTS:
        return ParsedLimit(LimitKind.none, note=note, text=written)
    if core in _SAME_DAY_TEXTS:
        return ParsedLimit(LimitKind.same_day, note=note, text=written)
    match = _PATTERN.match(core)
    value = _parse_number(match["number"]) if match else None
    # `3月` without 个 reads as March; tables that mean a period write 3个月.
    if match is None or value is None or (match["unit"] == "月" and not match["ge"]):
        raise InvalidInput(f"无法识别的时限：{written!r}", [f"时限 {written!r}：{_EXPECTED_FORMS}"])
    word: str = match["unit"]
    kind = _UNIT_WORDS[word]
    if word == "年":
        value *= 12
    by_section_82 = False
    if kind == _BARE_DAY:
        kind = LimitKind(day_unit_for(category).value)
        by_section_82 = kind is LimitKind.working_days
    if value == 0:
        if kind in (LimitKind.working_days, LimitKind.calendar_days):
            return ParsedLimit(LimitKind.same_day, note=note, text=written)  # 0个工作日 = 当日办结
        raise InvalidInput(f"时限必须大于零：{written!r}", [f"时限 {written!r}：数值必须为正整数"])
    if value > INT_COLUMN_MAX:
        # More than the INTEGER column holds (and than TimeLimit accepts): refused here, named,
        # rather than failing later in the model or the database with a 500.
        raise InvalidInput(f"时限数值过大：{written!r}", [f"时限 {written!r}：数值不能大于 {INT_COLUMN_MAX}"])
    return ParsedLimit(LimitKind(kind), value, note, written, by_section_82)


def parse_limit(text: str, category: str | None = None) -> TimeLimit:
    """`5个工作日` → TimeLimit(value=5, unit=working_days). Raises InvalidInput naming the text.

    Only day and hour counts fit the catalog model's TimeLimit: a same-day, month or no-limit text,
    or one with a note, is refused with what it was read as (use `read_limit` to accept those).
    """
    parsed = read_limit(text, category)
    limit = parsed.time_limit()
    if limit is None:
        reading = {
            LimitKind.same_day: "当日办结（即办），此处需要大于零的天数或小时数",
            LimitKind.none: "无时限，此处需要一个时限",
            LimitKind.months: "按月计算的时限，此处只接受天数或小时数",
        }[parsed.kind]
        raise InvalidInput(f"时限 {text!r} 为{reading}", [f"时限 {text!r}：{reading}"])
    if parsed.note:
        raise InvalidInput(
            f"时限 {text!r} 带有说明“{parsed.note}”，此处无法保留",
            [f"时限 {text!r}：此处只接受不带括号说明的时限，如“{format_limit(limit)}”"],
        )
    return limit


def format_limit(limit: TimeLimit | ParsedLimit) -> str:
    """TimeLimit(5, working_days) → `5个工作日`; a ParsedLimit with its note in brackets.

    A ParsedLimit's text reads back (`read_limit`) to the same limit whatever the category: a §82
    `20日` is printed `20个工作日`, calendar days `30个自然日`. A TimeLimit keeps the short `30日`
    the exporter has always written (read it back without a category, or as 自然日).
    """
    if isinstance(limit, TimeLimit):
        return f"{limit.value}{_FORMAT_SUFFIX[LimitKind(LimitUnit(limit.unit).value)]}"
    if limit.kind is LimitKind.none:
        body = "无"
    elif limit.kind is LimitKind.same_day:
        body = "即办"
    elif limit.kind is LimitKind.calendar_days:
        body = f"{limit.value}个自然日"  # not `日`: for a 行政许可 that would read back as working days
    else:
        body = f"{limit.value}{_FORMAT_SUFFIX[limit.kind]}"
    return f"{body}（{limit.note}）" if limit.note else body


def parse_moment(text: str, name: str) -> datetime:
    """ISO 8601 from a person; without an offset it is Beijing time, as offices read it."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"无法识别的时间：{text!r}", [f"{name} {text!r}：应为 ISO 8601 时间，如 2026-09-30T10:00"]
        ) from None
    return moment.replace(tzinfo=BEIJING) if moment.tzinfo is None else moment.astimezone(BEIJING)


def _parse_number(token: str) -> int | None:
    if token.isdigit() and token.isascii():
        return int(token)
    if any(ch.isascii() for ch in token):
        return None  # digits mixed with numerals (`1十`) is a typo, not a number
    return _parse_chinese_numeral(token)


def _parse_chinese_numeral(token: str) -> int | None:
    """十 → 10, 十五 → 15, 二十 → 20, 一百二十 → 120, 一〇 → None (not a written-out numeral)."""
    total, digit = 0, None
    last_multiplier = 10_000
    for ch in token:
        if ch in "零〇" and total and digit is None:
            continue  # 一百零五: the 零 only marks the empty tens place
        if ch in _DIGITS:
            if digit is not None:
                return None  # two digits in a row (一五) is not how limits are written
            digit = _DIGITS[ch]
        else:
            multiplier = _MULTIPLIERS[ch]
            if multiplier >= last_multiplier:
                return None
            total += (1 if digit is None else digit) * multiplier
            digit, last_multiplier = None, multiplier
    return total + (digit or 0)
