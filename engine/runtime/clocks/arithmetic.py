"""Due and yellow arithmetic of a clock on a working calendar: pure functions, no database.

- due: the calendar's due moment of the limit counted from the day after the start (close of
  office of the last day), extended by approved extensions and shifted by finished pauses
  (yellow moves with it: only counted time is "used");
- yellow (黄牌): the earlier of "`days_before` working day(s) before due" and "`fraction_used` of
  the limit's office time used" (defaults 1 and 2/3; DUTYFLOW_YELLOW_DAYS_BEFORE /
  DUTYFLOW_YELLOW_FRACTION), never at the moment the clock starts: for a limit so short that
  "one working day before" is at or before the start, two thirds of the office time it has;
- red (红牌): from the due moment on (overdue).
Stage limits that add up to more than the case limit are scaled down to add up to it exactly
(`allocate_stage_limits`, largest remainder).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import lru_cache

from engine.calendar.limits import ParsedLimit, read_limit
from engine.calendar.units import TimeLimit
from engine.calendar.working import WorkingCalendar
from engine.clock import BEIJING
from engine.config import setting
from engine.errors import InvalidInput

# A declared stage limit: (task spec name, value, limit kind).
DeclaredLimit = tuple[str, int, str]


@dataclass(frozen=True)
class WarningPolicy:
    """When a running clock turns yellow: whichever of the two comes first."""

    days_before: int = 1
    fraction_used: Fraction = Fraction(2, 3)


# The policies of the settings seen so far, by (days_before, fraction text); kept for the
# process (one entry per distinct setting, so in practice one).
WARNING_POLICIES: dict[tuple[int, str], WarningPolicy] = {}


def warning_policy() -> WarningPolicy:
    """The policy of the settings (DUTYFLOW_YELLOW_DAYS_BEFORE, DUTYFLOW_YELLOW_FRACTION)."""
    key: tuple[int, str] = (setting("yellow_days_before"), setting("yellow_fraction"))
    policy = WARNING_POLICIES.get(key)
    if policy is None:
        days_before, fraction_text = key
        try:
            fraction = Fraction(fraction_text.strip()).limit_denominator(1000)
        except (ValueError, ZeroDivisionError):
            raise InvalidInput("黄牌比例设置有误", [f"DUTYFLOW_YELLOW_FRACTION={fraction_text!r}：应写作 2/3 或 0.7"]) from None
        policy = WARNING_POLICIES[key] = WarningPolicy(days_before=days_before, fraction_used=fraction)
    return policy


@dataclass(frozen=True)
class Moments:
    due_at: datetime
    yellow_at: datetime
    provisional: bool


def compute_moments(calendar: WorkingCalendar, counting_from: datetime, limit: TimeLimit | ParsedLimit,
                    extensions: Sequence[str] = (), paused_seconds: int = 0,
                    policy: WarningPolicy | None = None) -> Moments:
    """Due and yellow moments of a clock started at `counting_from` (its day not counted).

    Yellow is never at the moment the clock starts (issue 14 item 7): "`days_before` working
    day(s) before due" counts only when it falls after the start; for a limit that short (即办, a
    one-working-day step arriving after the close or on a rest day) yellow comes when
    `fraction_used` (2/3 unless set otherwise) of the office time from the start to due is used.
    A limit of kind `none` has no moments: callers check `has_clock` first (calendar.due refuses).
    """
    policy = policy or warning_policy()
    deadline = calendar.due(counting_from, limit)
    provisional = deadline.provisional
    for text in extensions:
        deadline = calendar.due(deadline.at, read_limit(text))
        provisional = provisional or deadline.provisional
    due = deadline.at
    # Office time of the whole limit, counted from the close of the first (uncounted) day.
    count_start = calendar.close_of(counting_from.astimezone(calendar.tz).date())
    total = calendar.working_time_between(count_start, due)
    fraction = policy.fraction_used if 0 < policy.fraction_used < 1 else None
    candidates = [calendar.subtract_working_days(due, policy.days_before).at] if policy.days_before else []
    if total > timedelta(0) and fraction is not None:
        candidates.append(calendar.add_working_time(count_start, total * fraction.numerator / fraction.denominator).at)
    candidates = [c for c in candidates if counting_from < c <= due]
    if not candidates:
        # A short limit: "one day left" is reached at once. Two thirds of the office time the
        # clock really has, from its start (the first day's remaining hours included).
        span = calendar.working_time_between(counting_from, due)
        share = fraction or Fraction(2, 3)
        if span > timedelta(0):
            point = calendar.add_working_time(counting_from, span * share.numerator / share.denominator).at
            if counting_from < point <= due:
                candidates.append(point)
    yellow = min(candidates or [due])
    if paused_seconds:
        # Time paused is not counted (§45 special procedures): due and yellow both move by the
        # office time the clock stood still, so yellow's "share used" counts counted time only and
        # a case does not resume already yellow. A pause that began after yellow moves it to a
        # moment before the resume, so a case yellow before its pause is yellow after it.
        shift = timedelta(seconds=paused_seconds)
        moved_due = calendar.add_working_time(due, shift)
        moved_yellow = calendar.add_working_time(yellow, shift)
        due, yellow = moved_due.at, moved_yellow.at
        provisional = provisional or moved_due.provisional
    return Moments(due.astimezone(BEIJING), yellow.astimezone(BEIJING), provisional)


# A clock's states, as the API, the pages and the timing log's `level` name them (glossary):
# 绿 / 黄牌 / 红牌, 暂停计时, 已办结.
GREEN, YELLOW, RED, PAUSED, DONE = "green", "yellow", "red", "paused", "done"


def clock_state(due_at: datetime | None, yellow_at: datetime | None, now: datetime, finished: bool = False,
                paused_since: datetime | None = None) -> str:
    """green / yellow / red (or done / paused) of a clock at `now`.

    A paused clock is `paused` — never yellow or red while it stands still — unless it was
    already overdue when it stopped: then it stays red, as the time counted was over the limit.
    """
    if finished:
        return DONE
    if paused_since is not None:
        return RED if due_at is not None and paused_since >= due_at else PAUSED
    if due_at is None:
        return GREEN
    if now >= due_at:
        return RED
    if yellow_at is not None and now >= yellow_at:
        return YELLOW
    return GREEN


STATE_RANKS = {DONE: 0, GREEN: 1, PAUSED: 1, YELLOW: 2, RED: 3}


def state_rank(state: str) -> int:
    """How bad a clock state is (red worst): the worse of a stage and its case is shown."""
    return STATE_RANKS.get(state, 0)


# Memo of allocations by (declared limits, case limit): pure, at most 512 entries, kept for the
# process (a process serves few distinct case limits).
@lru_cache(maxsize=512)
def allocate_stage_limits(declared: tuple[DeclaredLimit, ...], case_limit: tuple[int, str]) -> tuple[DeclaredLimit, ...]:
    """The declared stage limits, scaled down (largest remainder) to add up to the case limit when
    they are in its unit and add up to more; otherwise as declared."""
    value, unit = case_limit
    total = sum(v for _, v, _ in declared)
    if any(u != unit for _, _, u in declared) or total <= value:
        return declared
    shares = [(name, v * value / total) for name, v, _ in declared]
    floors = {name: int(share) for name, share in shares}
    left = value - sum(floors.values())
    for name, _share in sorted(shares, key=lambda s: s[1] - int(s[1]), reverse=True)[:left]:
        floors[name] += 1
    # A stage left with no whole day ends by the close of the day it started (limit 0).
    return tuple((name, floors[name], unit) for name, _, _ in declared)


def beijing_iso(moment: datetime | None) -> str | None:
    """A moment as the API shows it: ISO 8601 in Beijing time (None stays None)."""
    return moment.astimezone(BEIJING).isoformat() if moment is not None else None


def as_utc(moment: datetime) -> datetime:
    """A stored moment in UTC (SQLite hands back naive UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
