"""Routes: process definitions, instances, tasks at posts (inbox and every operation), timeline, metrics.

A thin layer over `engine.runtime.service`: each handler runs in one transaction (`get_session`, or
for a case's start and a step's completion `api.security.signed_in_work`),
errors come back as `{"detail", "problems"}` with 403/404/409/422. The answers every case start and
task operation give (the case, the task's detail) are read by the engine's readers that need the
fewest statements (`task_posts_and_form`, `version_and_tasks`): they are part of every clerk's
step. Uploading definitions needs
the admin role; suspending/resuming needs the efficiency office; task operations need the
signed-in staff member to hold the task's post (or its B角 delegation).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Path, Query, Request, UploadFile
from pydantic import BaseModel, Field
from sqlmodel import Session

from api import messages
from api.deps import DB_INT_MAX, get_clock, get_session
from api.security import require_action, require_actor, require_session_id, signed_in_work
from api.times import BeijingTime
from engine.auth import policy
from engine.auth.roles import Actor
from engine.clock import BEIJING, Clock
from engine.errors import DutyflowError
from engine.models.runtime import ProcessDefinition, ProcessInstance, TimingEvent, WorkTask
from engine.runtime import service, withdrawals
from engine.runtime.metrics import GROUPINGS, efficiency_figures

router = APIRouter()
log = logging.getLogger(__name__)

# Ids in paths are bounded to the database's integer: a bigger one is a 422, never a 500.
DefinitionId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="流程定义编号")]
InstanceId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="流程实例编号")]
TaskId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="任务编号")]
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


# ---------------------------------------------------------------- response models


class DefinitionOut(BaseModel):
    id: int
    process_id: str
    version: int
    name: str = Field(description="流程中文名称")
    filename: str
    content_hash: str
    deployed_at: BeijingTime
    deployed_by: str


class DeployedOut(DefinitionOut):
    created: bool = Field(description="false：同样内容已部署过，返回原版本")


class DefinitionDetailOut(DefinitionOut):
    bpmn_xml: str
    tasks: list[dict[str, Any]] = Field(description="人工步骤：task_spec、name、lane、stage、form")


class TaskOut(BaseModel):
    id: int
    instance_id: int
    task_spec: str = Field(description="SpiffWorkflow 步骤名（多实例步骤的每一项为 \"<id> [child]\"）")
    bpmn_id: str = Field(description="BPMN 步骤编号（多实例步骤不带 [child] 后缀）")
    item: dict[str, Any] | None = Field(
        default=None, description="多实例步骤的本项：name 为变量名（如 checked_item），value 为本项内容")
    name: str
    lane: str | None
    stage: str | None
    status: str = Field(description="ready（待办）/ completed（已办结）/ cancelled（已关闭）")
    post_code: str | None = Field(description="承办岗位")
    ready_at: BeijingTime
    claimed_by: str | None
    claimed_at: BeijingTime | None
    transfer_to_post: str | None = Field(description="待接收的转办岗位")
    transfer_reason: str | None
    delegated_post: str | None = Field(description="已委派的 B角岗位")
    urge_count: int
    completed_at: BeijingTime | None
    completed_by: str | None
    completed_post: str | None
    closed_reason: str | None
    form_data: dict[str, Any]


class InboxItemOut(BaseModel):
    task: TaskOut
    relation: str = Field(description="handler（本岗）/ backup（B角）/ transfer（待接收转办）/ reader（抄送）/ done（已办）")
    instance_id: int
    process_id: str
    subject: str
    duty_code: str | None
    deadline: dict[str, Any] | None = Field(description="到期时间、剩余工作时间、green/yellow/red、是否暂定")


class EventOut(BaseModel):
    id: int
    instance_id: int
    task_id: int | None
    kind: str
    at: BeijingTime
    actor: str | None
    staff_id: str | None
    post_code: str | None
    target_post: str | None
    detail: dict[str, Any]
    wall_seconds: float | None
    working_seconds: float | None


class TaskDetailOut(TaskOut):
    posts: dict[str, list[str]] = Field(description="handler / backup / transfer / reader 岗位")
    form: list[dict[str, Any]] = Field(description="表单字段声明")
    deadline: dict[str, Any] | None
    events: list[EventOut]


class InstanceOut(BaseModel):
    id: int
    definition_id: int
    process_id: str
    status: str = Field(description="running / suspended / completed / failed")
    duty_code: str | None
    subject: str
    version: int
    started_at: BeijingTime
    started_by: str
    updated_at: BeijingTime
    ended_at: BeijingTime | None
    error: str | None = Field(description="失败原因（status=failed 时）")


class InstanceDetailOut(InstanceOut):
    definition_version: int
    data: dict[str, Any]
    current_tasks: list[TaskOut]
    tasks: list[TaskOut]


class CaseMetricOut(BaseModel):
    group: str = Field(description="部门或内设机构代码（办件所属事项的承办单位）")
    received: int = Field(description="收件数：本期受理的计时办件")
    finished: int = Field(description="已办结件数")
    open: int = Field(description="在办件数")
    completion_rate: float | None = Field(description="办结率 = 办结件数 ÷ 收件数")
    on_time: int = Field(description="按时办结件数（在办结时限内办结，含批准的延期、扣除暂停）")
    late: int = Field(description="超期办结件数")
    on_time_rate: float | None = Field(description="按时办结率 = 按时办结件数 ÷ 办结件数")
    open_yellow: int
    open_red: int
    open_paused: int = Field(description="暂停计时中的在办件（不算黄牌红牌）")


class CaseMetricsOut(BaseModel):
    scope: Literal["case"]
    scope_label: str = Field(description="办件（按案件）")
    by: str
    rows: list[CaseMetricOut]
    untimed_cases: int | None = Field(description="本期未计时（无办结时限）的办件数，不计入统计")
    notes: list[str]


class StepMetricOut(BaseModel):
    group: str = Field(description="岗位、内设机构或部门代码")
    total: int = Field(description="本期到达的步骤数")
    completed: int
    open: int
    completion_rate: float | None = Field(description="办结率 = 办结步骤 ÷ 步骤数")
    with_stage_limit: int = Field(description="有环节时限的办结步骤")
    without_stage_limit: int = Field(description="无环节时限的办结步骤（不计入按时办结率）")
    on_time: int = Field(description="在自身环节时限内办结的步骤")
    late: int = Field(description="超出自身环节时限办结的步骤")
    on_time_rate: float | None = Field(description="按时办结率 = 按时步骤 ÷ 有环节时限的办结步骤")
    mean_working_seconds: float | None
    p90_working_seconds: float | None
    open_yellow: int
    open_red: int
    open_paused: int


class StepMetricsOut(BaseModel):
    scope: Literal["step"]
    scope_label: str = Field(description="环节（按步骤）")
    by: str
    rows: list[StepMetricOut]
    untimed_cases: int | None = None
    notes: list[str]


# ---------------------------------------------------------------- request models


class StartIn(BaseModel):
    process_id: str
    data: dict[str, Any] = Field(default_factory=dict, description="启动数据，如 duty_code、applicant")
    version: int | None = Field(default=None, ge=1, le=DB_INT_MAX, description="默认最新版本")


class CompleteIn(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict, description="表单数据")


class TransferIn(BaseModel):
    to_post: str
    reason: str


class ReasonIn(BaseModel):
    reason: str = ""


class SendBackIn(BaseModel):
    to_task_spec: str = Field(description="退回到的步骤 id")
    reason: str


class UrgeIn(BaseModel):
    message: str = ""


class CopyIn(BaseModel):
    posts: list[str]


class CommentIn(BaseModel):
    text: str


# ---------------------------------------------------------------- converters


def _definition(row: ProcessDefinition) -> dict[str, Any]:
    return DefinitionOut.model_validate(row, from_attributes=True).model_dump()


def _task(row: WorkTask, items: dict[int, dict[str, Any]] | None = None) -> TaskOut:
    """`items`: the multi-instance items of the listed tasks (`service.task_items`, at most one query)."""
    return TaskOut(**row.model_dump(), bpmn_id=service.bpmn_id(row), item=(items or {}).get(row.id))


def _event(row: TimingEvent) -> EventOut:
    return EventOut.model_validate(row, from_attributes=True)


def _instance(row: ProcessInstance) -> InstanceOut:
    return InstanceOut.model_validate(row, from_attributes=True)


def _deadline(view) -> dict[str, Any] | None:
    return view.as_dict() if view is not None else None


def _task_detail(session: Session, clock: Clock, row: WorkTask) -> TaskDetailOut:
    deadline = service.task_deadline(session, row, clock) if row.status == "ready" else None
    posts, form = service.task_posts_and_form(session, row)
    return TaskDetailOut(
        **row.model_dump(), bpmn_id=service.bpmn_id(row), item=service.task_item(session, row),
        posts=posts,
        form=form,
        deadline=_deadline(deadline),
        events=[_event(e) for e in service.ev.task_events(session, row.id)],
    )


def _instance_detail(session: Session, row: ProcessInstance) -> InstanceDetailOut:
    version, tasks = service.version_and_tasks(session, row)
    items = service.task_items(session, tasks)
    return InstanceDetailOut(
        **_instance(row).model_dump(),
        definition_version=version,
        data=service.instance_data(session, row.id, saved=row),
        current_tasks=[_task(t, items) for t in tasks if t.status == "ready"],
        tasks=[_task(t, items) for t in tasks],
    )


# ---------------------------------------------------------------- definitions


@router.get("/definitions", summary="流程定义列表（默认每个流程的最新版本）", response_model=list[DefinitionOut])
def list_definitions(
    process_id: str | None = None,
    all_versions: bool = Query(False, description="列出所有版本"),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    return [_definition(r) for r in service.list_definitions(session, process_id, all_versions)]


@router.post("/definitions", summary="上传并部署 BPMN 流程定义（系统管理员）", status_code=201,
             response_model=list[DeployedOut])
def upload_definition(
    file: UploadFile = File(..., description="BPMN 2.0 文件"),
    session: Session = Depends(get_session, scope="function"),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(require_action(policy.Action.DEPLOY)),
):
    # A plain `def`: parsing and checking run in the thread pool, never on the event loop. Reading
    # at most MAX_UPLOAD_BYTES + 1 bytes is enough for the definition checks to answer an
    # over-size file with 413 (their limit, MAX_DEFINITION_BYTES, is smaller).
    content = file.file.read(MAX_UPLOAD_BYTES + 1)
    deployed = service.deploy_definition(session, clock, content, file.filename or "upload.bpmn", actor)
    return [{**_definition(d.definition), "created": d.created} for d in deployed]


@router.get("/definitions/{definition_id}", summary="流程定义详情（含 BPMN XML 与人工步骤）",
            response_model=DefinitionDetailOut)
def definition_detail(definition_id: DefinitionId, session: Session = Depends(get_session, scope="function"),
                      _actor: Actor = Depends(require_actor)):
    row = service.get_definition(session, definition_id)
    return {**_definition(row), "bpmn_xml": row.bpmn_xml, "tasks": service.definition_tasks(row)}


# ---------------------------------------------------------------- instances


# Starting a case and completing a step are every clerk's requests: `async def`, in one trip to the
# thread pool (api.security.signed_in_work) instead of five.
@router.post("/instances", summary="发起流程实例", status_code=201, response_model=InstanceDetailOut)
async def start_instance(body: StartIn, request: Request, clock: Clock = Depends(get_clock),
                         session_id: str = Depends(require_session_id)):
    def work(session: Session, actor: Actor) -> InstanceDetailOut:
        with messages.fields_by_their_labels():
            row = service.start_instance(session, clock, body.process_id, body.data, actor, body.version)
        return _instance_detail(session, row)

    return await signed_in_work(request, session_id, work)


@router.get("/instances", summary="流程实例列表（效能办看全部，其他人看与自己相关的）", response_model=list[InstanceOut])
def list_instances(
    status: str | None = None,
    process_id: str | None = None,
    duty_code: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=DB_INT_MAX),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(require_actor),
):
    rows = service.list_instances(session, status, process_id, duty_code, limit, offset, actor=actor)
    return [_instance(r) for r in rows]


@router.get("/instances/{instance_id}", summary="流程实例详情（当前任务与数据）", response_model=InstanceDetailOut)
def instance_detail(instance_id: InstanceId, session: Session = Depends(get_session, scope="function"), actor: Actor = Depends(require_actor)):
    row = service.get_instance(session, instance_id, actor)
    return _instance_detail(session, row)


@router.get("/instances/{instance_id}/timeline", summary="流程实例的计时日志（时间线）", response_model=list[EventOut])
def instance_timeline(instance_id: InstanceId, session: Session = Depends(get_session, scope="function"), actor: Actor = Depends(require_actor)):
    service.get_instance(session, instance_id, actor)
    return [_event(e) for e in service.timeline(session, instance_id)]


@router.post("/instances/{instance_id}/suspend", summary="挂起流程实例（效能办）", response_model=InstanceOut)
def suspend_instance(instance_id: InstanceId, body: ReasonIn | None = None, session: Session = Depends(get_session, scope="function"),
                     clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)):
    return _instance(service.suspend_instance(session, clock, instance_id, actor, (body or ReasonIn()).reason))


@router.post("/instances/{instance_id}/withdraw-application", response_model=InstanceOut,
             summary="登记申请人撤回申请（本件的承办人；办件终止，计时停止）")
def withdraw_application(instance_id: InstanceId, body: ReasonIn, session: Session = Depends(get_session, scope="function"),
                         clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)):
    withdrawals.withdraw_application(session, clock, instance_id, body.reason, actor)
    return _instance(service.get_instance(session, instance_id, actor))


@router.post("/instances/{instance_id}/activate", summary="激活已挂起的流程实例（效能办）", response_model=InstanceOut)
def activate_instance(instance_id: InstanceId, session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
                    actor: Actor = Depends(require_actor)):
    return _instance(service.activate_instance(session, clock, instance_id, actor))


# ---------------------------------------------------------------- tasks


@router.get("/tasks", summary="我的待办（本岗、B角委派、待接收转办、抄送）", response_model=list[InboxItemOut])
def my_inbox(include_done: bool = Query(False, description="同时列出我已办结的任务"),
             session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
             actor: Actor = Depends(require_actor)):
    entries = service.inbox(session, clock, actor, include_done)
    items = service.task_items(session, [e.task for e in entries])
    return [
        InboxItemOut(task=_task(e.task, items), relation=e.relation, instance_id=e.instance.id,
                     process_id=e.instance.process_id, subject=e.instance.subject, duty_code=e.instance.duty_code,
                     deadline=_deadline(e.deadline))
        for e in entries
    ]


@router.get("/tasks/{task_id}", summary="任务详情（岗位、表单、期限、办理记录）", response_model=TaskDetailOut)
def task_detail(task_id: TaskId, session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
                actor: Actor = Depends(require_actor)):
    return _task_detail(session, clock, service.get_task(session, task_id, actor))


def _after(session: Session, clock: Clock, task_id: int) -> TaskDetailOut:
    return _task_detail(session, clock, service.get_task(session, task_id))


@router.post("/tasks/{task_id}/claim", summary="签收任务", response_model=TaskDetailOut)
def claim(task_id: TaskId, session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
          actor: Actor = Depends(require_actor)):
    service.claim_task(session, clock, task_id, actor)
    return _after(session, clock, task_id)


@router.post("/tasks/{task_id}/complete", summary="办结任务（提交表单）", response_model=TaskDetailOut)
async def complete(task_id: TaskId, body: CompleteIn, request: Request, clock: Clock = Depends(get_clock),
                   session_id: str = Depends(require_session_id)):
    def work(session: Session, actor: Actor) -> TaskDetailOut:
        with messages.task_fields_by_their_labels(session, task_id, actor):
            row = service.complete_task(session, clock, task_id, body.data, actor)
        # The row as the step wrote it (the engine keeps the session's object of it up to date),
        # not read again.
        return _task_detail(session, clock, row)

    return await signed_in_work(request, session_id, work)


@router.post("/tasks/{task_id}/transfer", summary="转办给其他岗位（对方接收前仍由本岗负责）", response_model=TaskDetailOut)
def transfer(task_id: TaskId, body: TransferIn, session: Session = Depends(get_session, scope="function"),
             clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)):
    service.transfer_task(session, clock, task_id, body.to_post, body.reason, actor)
    return _after(session, clock, task_id)


@router.post("/tasks/{task_id}/accept", summary="接收转办", response_model=TaskDetailOut)
def accept(task_id: TaskId, session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
           actor: Actor = Depends(require_actor)):
    service.accept_transfer(session, clock, task_id, actor)
    return _after(session, clock, task_id)


@router.post("/tasks/{task_id}/refuse", summary="拒收转办（须说明理由）", response_model=TaskDetailOut)
def refuse(task_id: TaskId, body: ReasonIn, session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
           actor: Actor = Depends(require_actor)):
    service.refuse_transfer(session, clock, task_id, body.reason, actor)
    return _after(session, clock, task_id)


@router.post("/tasks/{task_id}/delegate", summary="委派给 B角岗位（AB角）", response_model=TaskDetailOut)
def delegate(task_id: TaskId, body: ReasonIn | None = None, session: Session = Depends(get_session, scope="function"),
             clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)):
    service.delegate_to_backup(session, clock, task_id, actor, (body or ReasonIn()).reason)
    return _after(session, clock, task_id)


@router.post("/tasks/{task_id}/send-back", summary="退回到之前的步骤", response_model=TaskDetailOut)
def send_back(task_id: TaskId, body: SendBackIn, session: Session = Depends(get_session, scope="function"),
              clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)):
    service.send_back(session, clock, task_id, body.to_task_spec, body.reason, actor)
    return _after(session, clock, task_id)


@router.post("/tasks/{task_id}/withdraw", summary="撤回自己办结的步骤（下一步尚未办理时）", response_model=TaskDetailOut)
def withdraw(task_id: TaskId, session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
             actor: Actor = Depends(require_actor)):
    service.withdraw(session, clock, task_id, actor)
    return _after(session, clock, task_id)


@router.post("/tasks/{task_id}/urge", summary="催办", response_model=TaskDetailOut)
def urge(task_id: TaskId, body: UrgeIn | None = None, session: Session = Depends(get_session, scope="function"),
         clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)):
    service.urge(session, clock, task_id, actor, (body or UrgeIn()).message)
    return _after(session, clock, task_id)


@router.post("/tasks/{task_id}/copy", summary="抄送给其他岗位", response_model=TaskDetailOut)
def copy(task_id: TaskId, body: CopyIn, session: Session = Depends(get_session, scope="function"), clock: Clock = Depends(get_clock),
         actor: Actor = Depends(require_actor)):
    service.copy_to(session, clock, task_id, body.posts, actor)
    return _after(session, clock, task_id)


@router.post("/tasks/{task_id}/comment", summary="发表办理意见", response_model=EventOut, status_code=201)
def comment(task_id: TaskId, body: CommentIn, session: Session = Depends(get_session, scope="function"),
            clock: Clock = Depends(get_clock), actor: Actor = Depends(require_actor)):
    return _event(service.comment(session, clock, task_id, body.text, actor))


# ---------------------------------------------------------------- metrics


@router.get("/metrics", summary="效能指标：办件（按案件）或环节（按步骤）的办结率、按时办结率、黄红牌数",
            response_model=CaseMetricsOut | StepMetricsOut)
def metrics(
    scope: str = Query("case", description="case：办件（按案件，每件计一次）；step：环节（按步骤，每个步骤计一次）"),
    by: str | None = Query(None, description=f"统计口径：{' / '.join(GROUPINGS)}；办件只能按 department / unit"
                                             "（默认 department），环节默认 post"),
    since: datetime | None = Query(None, description="期间起（含）：办件按收件时间，环节按到达时间"),
    until: datetime | None = Query(None, description="期间止（不含）"),
    process_id: str | None = None,
    session: Session = Depends(get_session, scope="function"),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(require_actor),
):
    policy.require_metrics(actor)
    since = since.replace(tzinfo=BEIJING) if since is not None and since.tzinfo is None else since
    until = until.replace(tzinfo=BEIJING) if until is not None and until.tzinfo is None else until
    return efficiency_figures(session, clock, scope, by, since, until, process_id).as_dict()


# ---------------------------------------------------------------- lifecycle


def on_startup(app: FastAPI) -> None:
    """Deploy `processes/` (as actor "system"): new content becomes a new version, same content is kept."""
    settings = app.state.settings
    directory = settings.processes_dir
    if not directory.is_dir():
        return
    try:
        with app.state.database.session() as session:
            deployed = service.deploy_directory(session, app.state.clock, directory, service.SYSTEM_ACTOR)
        created = [f"{d.definition.process_id} v{d.definition.version}" for d in deployed if d.created]
        if created:
            log.info("deployed process definitions: %s", ", ".join(created))
    except DutyflowError as exc:
        # A broken file must not keep the server (and the other processes' running cases) down.
        log.error("process definitions in %s not deployed: %s", directory, exc)


def on_shutdown(app: FastAPI) -> None:
    """Nothing to release: specs are cached per process and need no clean-up."""
