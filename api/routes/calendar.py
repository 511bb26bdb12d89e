"""Routes: the working-day calendar — compute a due time, show a year's schedule, enter a year."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import get_clock, get_session
from api.security import require_action
from api.times import BeijingTime
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.calendar.limits import MAX_LIMIT, ParsedLimit, format_limit, parse_limit, parse_moment
from engine.calendar.service import FIRST_YEAR, LAST_YEAR, enter_year_and_recompute, list_days, weekday_name
from engine.calendar.stored import load_calendar
from engine.calendar.units import TimeLimit
from engine.calendar.working import DEFAULT_OFFICE_HOURS, OfficeHours
from engine.clock import BEIJING, Clock
from engine.errors import InvalidInput

router = APIRouter()

class LimitOut(BaseModel):
    value: int
    unit: str = Field(description="working_days / calendar_days / hours")
    text: str = Field(description="规范写法，如 5个工作日")


class DueOut(BaseModel):
    start: BeijingTime
    due: BeijingTime = Field(description="北京时间（+08:00）")
    weekday: str
    provisional: bool = Field(description="为真时该期限依赖尚未公布节假日安排的年度，仅按周末推算")
    limit: LimitOut


class DayOut(BaseModel):
    date: date
    weekday: str
    is_working: bool
    source: str = Field(description="official（官方数据）/ entered（管理员录入）")
    note: str | None


class YearOut(BaseModel):
    year: int
    source: str = Field(description="official / entered / provisional（尚未公布，仅按周末推算）")
    entered_by: str | None = None
    entered_at: BeijingTime | None = None
    notice: str | None = None
    days: list[DayOut]


class YearIn(BaseModel):
    holidays: list[date] = Field(description="放假日期（可包含放假期间的周末）")
    workdays: list[date] = Field(default_factory=list, description="调休上班的周六、周日")
    note: str = Field(default="", description="依据，如国务院办公厅通知文号")
    day_notes: dict[date, str] = Field(default_factory=dict, description="日期 → 节日名称，如 春节")


class EnteredOut(YearOut):
    recomputed: int = Field(description="按新录入的安排重新计算的暂定期限数")


@router.get("/calendar/due", response_model=DueOut, summary="按时限计算办理期限")
def compute_due(
    request: Request,
    start: str = Query(
        ..., description="开始时间（受理时间），ISO 8601；不带时区按北京时间", examples=["2026-09-30T10:00"]
    ),
    limit: str = Query(..., description="时限，如 5个工作日、30日、4小时"),
    session: Session = Depends(get_session, scope="function"),
) -> DueOut:
    started = parse_moment(start, "start")
    time_limit = parse_limit(limit)
    check_due_input(started, time_limit, start, limit)
    deadline = load_calendar(session, office_hours_of(request)).due(started, time_limit)
    return DueOut(
        start=started,
        due=deadline.at,
        weekday=weekday_name(deadline.at.date()),
        provisional=deadline.provisional,
        limit=LimitOut(value=time_limit.value, unit=time_limit.unit.value, text=format_limit(time_limit)),
    )


@router.get("/calendar/days", response_model=YearOut, summary="某年度的节假日与调休上班日")
def year_days(
    year: int = Query(..., description="年份，如 2026"),
    session: Session = Depends(get_session, scope="function"),
) -> YearOut:
    return _year_out(list_days(session, year))


@router.put("/calendar/years/{year}", response_model=EnteredOut, summary="录入某年度节假日安排（管理员）")
def put_year(
    year: int,
    body: YearIn,
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(require_action(Action.ENTER_CALENDAR_YEAR)),
) -> EnteredOut:
    entered = enter_year_and_recompute(
        session,
        year,
        body.holidays,
        body.workdays,
        actor,
        clock.now(),
        body.note,
        body.day_notes,
        office_hours_of(request),
    )
    return EnteredOut(**_year_out(list_days(session, year)).model_dump(), recomputed=entered.recomputed)


def check_due_input(started: datetime, time_limit: TimeLimit | ParsedLimit, start_text: str, limit_text: str,
                    names: tuple[str, str] = ("start", "limit")) -> None:
    """Refuse (InvalidInput, naming the text) a start outside the calendar's years or a limit longer
    than MAX_LIMIT; shared by the API and `dutyflow calendar due`."""
    if not FIRST_YEAR <= started.year <= LAST_YEAR:
        raise InvalidInput(f"开始时间超出范围：{start_text}", [f"{names[0]}: 年份应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间"])
    parsed = ParsedLimit.of(time_limit)
    most = MAX_LIMIT.get(parsed.kind)
    if most is not None and parsed.value > most:
        longest = format_limit(ParsedLimit(parsed.kind, most))
        raise InvalidInput(f"时限过长：{limit_text}", [f"{names[1]}: 不得超过 {longest}"])


def office_hours_of(request: Request) -> OfficeHours:
    text = getattr(request.app.state.settings, "office_hours", None)
    return OfficeHours.parse(text) if text else DEFAULT_OFFICE_HOURS


def _year_out(schedule) -> YearOut:
    return YearOut(
        year=schedule.year,
        source=schedule.source.value,
        entered_by=schedule.entered_by,
        entered_at=schedule.entered_at.astimezone(BEIJING) if schedule.entered_at else None,
        notice=schedule.notice,
        days=[
            DayOut(
                date=d.day,
                weekday=weekday_name(d.day),
                is_working=d.is_working,
                source=d.source.value,
                note=d.note,
            )
            for d in schedule.days
        ],
    )


def on_startup(app: FastAPI) -> None:
    """Called once when the app starts (after migrations); app.state has database, clock, settings."""


def on_shutdown(app: FastAPI) -> None:
    """Called once when the app stops."""
