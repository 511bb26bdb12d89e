"""Routes: case clocks (限时办结), pause/resume/restart/extension, yellow/red lists, escalations,
timer rows; and the embedded timer worker of a SQLite server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session

from api.deps import DB_INT_MAX, get_clock, get_session
from api.security import require_actor
from engine.auth import policy
from engine.auth.roles import Actor
from engine.clock import BEIJING, Clock
from engine.models.timers import RuntimeTimer, TimerStatus
from engine.runtime import extension_requests, service, timers
from engine.runtime.clocks import commands as clock_commands
from engine.runtime.clocks import views as clock_views
from engine.runtime.clocks import warnings as clock_warnings
from engine.runtime.worker import EmbeddedWorker, should_embed

router = APIRouter()

# An instance id in a path: bounded, so an id past the database's integer is a 422, not a 500.
InstanceId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="流程实例编号")]


class StageOut(BaseModel):
    task_id: str
    task_spec: str
    stage: str | None
    limit: str | None
    clock: str | None = Field(description="pause（暂停计时）/ restart（完成后重新计时）/ 空")
    started_at: str
    due_at: str | None
    yellow_at: str | None
    status: str = Field(description="open / completed / cancelled")
    ended_at: str | None
    overran: bool = Field(description="该环节超过自身时限（红牌），即使整体未超期")
    state: str
    provisional: bool


class EscalationOut(BaseModel):
    id: int
    instance_id: int
    kind: str = Field(description="case_red（整体超期）/ stage_red（环节超时）")
    stage: str | None
    due_at: str | None
    to_posts: list[str] = Field(description="督办对象：承办单位负责人岗位")
    unit_code: str | None
    department_code: str | None
    created_at: str | None
    resolved_at: str | None


class CaseClockOut(BaseModel):
    """A case's clock; an instance without one (state `none`, 不计时 — e.g. its duty's limit is 无)
    keeps its identity and the limit as the catalog writes it, with every timing field empty."""

    instance_id: int
    duty_code: str | None
    unit_code: str | None
    department_code: str | None
    limit: str | None = Field(description="办结时限，如 5个工作日；不计时的事项为清单所写（如“无”），无从得知时为空")
    limit_source: str | None = Field(description="committed（承诺时限）/ statutory（法定时限）/ data（启动数据）")
    untimed_reason: str | None = Field(default=None, description="不计时的原因（仅 state 为 none 时），如“事项无法定时限”")
    counting_from: str | None = Field(description="计时起点（当日不计入）；补正后重新计时会移动它；不计时为空")
    restarts: int
    extensions: list[str]
    paused: bool
    paused_since: str | None
    pause_reason: str | None
    paused_working_seconds: int
    finished_at: str | None
    on_time: bool | None
    scope: str
    due_at: str | None
    yellow_at: str | None
    time_left_seconds: int | None = Field(description="剩余办公时间（秒），负数表示已超期")
    state: str = Field(description="green / yellow / red / paused / done / none（不计时）")
    provisional: bool = Field(description="为真时期限依赖尚未公布节假日安排的年度，仅按周末推算")
    stage: str | None
    stages: list[StageOut]
    escalations: list[EscalationOut]
    explanation: list[dict[str, str | None]] = Field(
        default_factory=list,
        description="计时明细：每行 {at: 北京时间“YYYY-MM-DD HH:MM”或空, text: 说明}，按时间先后，最后一行（at 为空）为当前计时情况")


class PauseIn(BaseModel):
    reason: str = Field(description="暂停原因：听证、检验检测、专家评审等")


class RestartIn(BaseModel):
    received_at: datetime | None = Field(default=None, description="补正材料收到的时间（缺省为现在），次日起重新计时")
    reason: str = Field(default="补正材料已收到")


class ExtendIn(BaseModel):
    limit: str = Field(description="延长的时限，如 10个工作日")
    reason: str = Field(description="延期理由")


class ExtensionRequestIn(BaseModel):
    # Bounded on its own, not only by the body limit: the reason goes into the head's step and the
    # timing log (engine.runtime.extension_requests.MAX_REASON_CHARS says why).
    limit: str = Field(max_length=50, description="申请延长的时限，如 10个工作日")
    reason: str = Field(max_length=extension_requests.MAX_REASON_CHARS,
                        description=f"延期理由，最多 {extension_requests.MAX_REASON_CHARS} 个字符")


class WarningStageOut(BaseModel):
    task_id: str
    stage: str
    due_at: str | None


class WarningOut(BaseModel):
    instance_id: int
    duty_code: str | None
    unit_code: str | None
    department_code: str | None
    state: str = Field(description="yellow（黄牌）/ red（红牌，超期或环节超时）")
    case_state: str
    due_at: str | None
    time_left_seconds: int | None
    provisional: bool
    red_stages: list[WarningStageOut]


class TimerOut(BaseModel):
    id: int
    instance_id: int
    task_id: str
    kind: str
    spec_name: str
    due_at: str
    status: str
    attempts: int
    lock_owner: str | None


class TimerSummaryOut(BaseModel):
    pending: int
    due_now: int = Field(description="已到期但尚未触发的行数")
    oldest_due_at: str | None = Field(description="最早的未触发到期时间；持续落后说明 worker 未运行")
    failed: int


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).isoformat()


@router.get("/instances/{instance_id}/clock", response_model=CaseClockOut, summary="办结时限：整体与各环节计时")
def get_case_clock(instance_id: InstanceId, session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
                   actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    service.get_instance(session, instance_id, actor)  # 404, or 403 as for the instance itself
    return clock_views.case_clock(session, instance_id, clock)


@router.post("/instances/{instance_id}/clock/pause", response_model=CaseClockOut, summary="暂停计时（听证、检验检测、专家评审）")
def pause_clock(instance_id: InstanceId, body: PauseIn, session: Session = Depends(get_session, scope="function"),
                clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    clock_commands.pause_case(session, clock, instance_id, body.reason, actor)
    return clock_views.case_clock(session, instance_id, clock)


@router.post("/instances/{instance_id}/clock/resume", response_model=CaseClockOut, summary="恢复计时")
def resume_clock(instance_id: InstanceId, session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
                 actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    clock_commands.resume_case(session, clock, instance_id, actor)
    return clock_views.case_clock(session, instance_id, clock)


@router.post("/instances/{instance_id}/clock/restart", response_model=CaseClockOut, summary="补正后重新计时")
def restart_clock(instance_id: InstanceId, body: RestartIn, session: Session = Depends(get_session, scope="function"),
                  clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    clock_commands.record_correction(session, clock, instance_id, body.received_at, body.reason, actor)
    return clock_views.case_clock(session, instance_id, clock)


@router.post("/instances/{instance_id}/clock/extension-request", response_model=CaseClockOut,
             summary="申请延期（承办人，须在期限届满前；由部门负责人在“延期审批”环节决定）")
def request_extension(instance_id: InstanceId, body: ExtensionRequestIn, session: Session = Depends(get_session, scope="function"),
                      clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    extension_requests.request_extension(session, clock, instance_id, body.limit, body.reason, actor)
    return clock_views.case_clock(session, instance_id, clock)


@router.post("/instances/{instance_id}/clock/extend", response_model=CaseClockOut,
             summary="批准延期（部门负责人，须在期限届满前；仅用于没有“延期审批”环节的流程）")
def extend_clock(instance_id: InstanceId, body: ExtendIn, session: Session = Depends(get_session, scope="function"),
                 clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    clock_commands.extend_case(session, clock, instance_id, body.limit, body.reason, actor)
    return clock_views.case_clock(session, instance_id, clock)


@router.get("/warnings", response_model=list[WarningOut], summary="黄牌、红牌事项（可按部门筛选）")
def list_warnings(department: str | None = Query(default=None, max_length=64, description="部门编码"),
                  session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
                  actor: Actor = Depends(require_actor)) -> list[dict[str, Any]]:
    scope = policy.warning_departments(session, actor, department)
    if scope is None:
        return clock_warnings.open_warnings(session, clock, None)
    return [w for code in scope for w in clock_warnings.open_warnings(session, clock, code)]


@router.get("/escalations", response_model=list[EscalationOut], summary="超期督办记录")
def list_escalations(department: str | None = Query(default=None, max_length=64, description="部门编码"),
                     open_only: bool = Query(default=True, description="只列未办结的"),
                     session: Session = Depends(get_session, scope="function"),
                     actor: Actor = Depends(require_actor)) -> list[dict[str, Any]]:
    scope = policy.warning_departments(session, actor, department)
    if scope is None:
        return clock_warnings.list_escalations(session, None, open_only)
    return [e for code in scope for e in clock_warnings.list_escalations(session, code, open_only)]


@router.get("/instances/{instance_id}/timers", response_model=list[TimerOut], summary="实例待触发的定时器与预警")
def instance_timers(instance_id: InstanceId, session: Session = Depends(get_session, scope="function"),
                    actor: Actor = Depends(require_actor)) -> list[dict[str, Any]]:
    service.get_instance(session, instance_id, actor)  # 404, or 403 as for the instance itself
    return [_timer_out(row) for row in timers.pending_timers(session, instance_id)]


@router.get("/timers/summary", response_model=TimerSummaryOut, summary="定时器队列概况（运维）")
def timer_summary(session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
                  actor: Actor = Depends(require_actor)) -> dict[str, Any]:
    policy.require_timer_queue(actor)
    now = clock.now()
    pending = RuntimeTimer.status == TimerStatus.pending
    count = session.execute(select(func.count()).select_from(RuntimeTimer).where(pending)).scalar_one()
    due = session.execute(
        select(func.count(), func.min(RuntimeTimer.due_at)).where(pending, RuntimeTimer.due_at <= now)
    ).one()
    failed = session.execute(
        select(func.count()).select_from(RuntimeTimer).where(RuntimeTimer.status == TimerStatus.failed)
    ).scalar_one()
    oldest = due[1]
    if isinstance(oldest, str):
        oldest = datetime.fromisoformat(oldest)
    return {"pending": count, "due_now": due[0], "oldest_due_at": _iso(oldest), "failed": failed}


def _timer_out(row: RuntimeTimer) -> dict[str, Any]:
    return {
        "id": row.id, "instance_id": row.instance_id, "task_id": row.task_id, "kind": row.kind,
        "spec_name": row.spec_name, "due_at": _iso(row.due_at), "status": row.status,
        "attempts": row.attempts, "lock_owner": row.lock_owner,
    }


def on_startup(app: FastAPI) -> None:
    """Start the embedded timer worker (unless settings.embedded_worker is "off": should_embed)."""
    database = app.state.database
    if should_embed(app.state.settings.embedded_worker, database):
        embedded = EmbeddedWorker(database, app.state.clock)
        embedded.start()
        app.state.timer_worker = embedded


def on_shutdown(app: FastAPI) -> None:
    """Stop the embedded worker, letting the row it is firing finish."""
    embedded = getattr(app.state, "timer_worker", None)
    if embedded is not None:
        embedded.stop()
        app.state.timer_worker = None
