"""Time limits as catalogs write them (`5个工作日`, `30日`, `4小时`) ⇄ `TimeLimit`; start times as people type them.

Published catalogs are typed by hand: full-width digits, Chinese numerals (`五个工作日`, `十日`),
an optional 个 and a trailing 内/以内 all occur, so the parser accepts them; anything else is
refused with the text named, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from engine.catalog.document import LimitUnit, TimeLimit
from engine.clock import BEIJING
from engine.errors import InvalidInput

# Unit words, longest first so `个工作日` is not read as `日`.
_UNIT_WORDS: dict[str, LimitUnit] = {
    "工作日": LimitUnit.working_days,
    "自然日": LimitUnit.calendar_days,
    "日历日": LimitUnit.calendar_days,
    "日": LimitUnit.calendar_days,
    "天": LimitUnit.calendar_days,
    "小时": LimitUnit.hours,
}
_PATTERN = re.compile(
    r"^(?P<number>[0-9零〇一二两三四五六七八九十百千]+)\s*个?\s*"
    r"(?P<unit>" + "|".join(_UNIT_WORDS) + r")\s*(?:以内|之内|内)?$"
)
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
_FORMAT_SUFFIX = {LimitUnit.working_days: "个工作日", LimitUnit.calendar_days: "日", LimitUnit.hours: "小时"}


def parse_limit(text: str) -> TimeLimit:
    """`5个工作日` → TimeLimit(value=5, unit=working_days). Raises InvalidInput naming the text."""
    normalised = unicodedata.normalize("NFKC", text or "").strip().replace(" ", "")
    match = _PATTERN.match(normalised)
    value = _parse_number(match["number"]) if match else None
    if match is None or value is None:
        raise InvalidInput(
            f"无法识别的时限：{text!r}",
            [f"时限 {text!r}：应写作“5个工作日”“20工作日”“30日”“30天”“4小时”之类的形式"],
        )
    if value <= 0:
        raise InvalidInput(f"时限必须大于零：{text!r}", [f"时限 {text!r}：数值必须为正整数"])
    return TimeLimit(value=value, unit=_UNIT_WORDS[match["unit"]])


def format_limit(limit: TimeLimit) -> str:
    """TimeLimit(5, working_days) → `5个工作日` (the form the Excel exporter and pages print)."""
    return f"{limit.value}{_FORMAT_SUFFIX[LimitUnit(limit.unit)]}"


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
