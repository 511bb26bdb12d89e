"""What a time limit counts and how much: `LimitUnit` and `TimeLimit`, the calendar's own types.

They live here, at the bottom, because the calendar counts them (engine.calendar.working,
engine.calendar.limits) and the catalog only stores them: a duty's `statutory_limit` and
`committed_limit` are TimeLimits (engine.catalog.document imports them from here).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

from engine.bounds import INT_COLUMN_MAX


class LimitUnit(StrEnum):
    """What a limit counts. The first three take a `value`; the rest are how real tables write
    limits that are not a count of days or hours (engine.calendar.limits.read_limit)."""

    working_days = "working_days"
    calendar_days = "calendar_days"
    hours = "hours"
    months = "months"  # calendar months (民法典 §201–203): `1个月`, `3个月`
    same_day = "same_day"  # 即办 / 当场办结 / 0个工作日: by the close of office hours of the receiving day
    none = "none"  # 无 / 不限 / 无法定时限: the duty has no clock (an absent limit is "not recorded")


COUNTED_UNITS = (LimitUnit.working_days, LimitUnit.calendar_days, LimitUnit.hours, LimitUnit.months)


class TimeLimit(BaseModel):
    """A duty's limit: `{value: 20, unit: working_days}`, `{unit: same_day}`, `{unit: none}`,
    with an optional `note` kept from the table (`不含公示时间` of `15个工作日（不含公示时间）`)."""

    # As every item of the catalog document (engine.catalog.document): unknown fields ignored,
    # text trimmed, a number typed where text is meant read as text.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, coerce_numbers_to_str=True)

    # Bounded to the INTEGER column it is stored in: past it an upload failed with 500.
    value: int | None = Field(default=None, gt=0, le=INT_COLUMN_MAX)
    unit: LimitUnit
    note: str | None = Field(default=None, max_length=200)

    @model_serializer(mode="wrap")
    def _without_empty(self, handler: Any) -> dict[str, Any]:
        # `{value: 20, unit: working_days}` stays what it was for every reader (API, diff, export):
        # no `note: null`, and 即办/无 carry no `value: null`.
        return {k: v for k, v in handler(self).items() if v is not None}

    @model_validator(mode="after")
    def _value_fits_unit(self) -> TimeLimit:
        # A count needs its number; 即办 and 无 have none (a number there would be silently ignored).
        if self.unit in COUNTED_UNITS and self.value is None:
            raise ValueError(f"时限单位 {self.unit.value} 需要填写数值 value")
        if self.unit not in COUNTED_UNITS and self.value is not None:
            raise ValueError(f"时限单位 {self.unit.value} 不带数值，value 应省略")
        return self
