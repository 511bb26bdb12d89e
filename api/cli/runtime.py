"""CLI commands: runtime — deploy definitions, start cases, inbox and task operations, timeline, metrics.

Whoever runs the CLI has the server's database in hand, so deploying runs as the system
administrator; everything done on behalf of a person names them with `--user` (a user account
bound to a staff id), and the same checks as in the API apply (403/409/422 print the problems).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlmodel import col, select

from api import messages
from api.cli.app import app, cell_text, console, fail
from api.cli.database import open_database
from api.labels import event_detail_text, event_label, person_label, relation_label, state_label
from engine.application import wire
from engine.auth.roles import Actor
from engine.auth.service import actor_for, get_user, user_names
from engine.catalog import service as catalog
from engine.clock import BEIJING, SystemClock
from engine.config import get_settings
from engine.errors import DutyflowError, InvalidInput, NotFound
from engine.models.runtime import WorkTask
from engine.runtime import service
from engine.runtime.clocks import views as clock_views
from engine.runtime.metrics import (
    GROUPING_LABELS,
    SCOPES,
    STEP,
    CaseMetricRow,
    StepMetricRow,
    efficiency_figures,
)

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire

TASK_ACTIONS = ("claim", "complete", "transfer", "accept", "refuse", "delegate", "send-back", "withdraw", "urge",
                "copy", "comment")
STATUS_TEXT = {"running": "办理中", "suspended": "已挂起", "completed": "已办结", "failed": "失败",
               "ready": "待办", "cancelled": "已关闭"}


def _time(moment) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if moment else ""


def _post_names(session, codes) -> dict[str, str]:
    """Post code → 部门 · 科室 · 岗位 from the catalog in force, in one query (codes it lacks stay codes)."""
    version = catalog.current_version(session)
    return catalog.post_names_of(session, version.id, codes) if version is not None else {}


def _task_names(session, task_ids) -> dict[int, str]:
    wanted = sorted({task_id for task_id in task_ids if task_id})
    if not wanted:
        return {}
    return dict(session.exec(select(WorkTask.id, WorkTask.name).where(col(WorkTask.id).in_(wanted))).all())


def _actor(session, username: str) -> Actor:
    user = get_user(session, username)
    if user is None or not user.active:
        raise NotFound(f"用户 '{username}' 不存在或已停用", [f"--user: {username}"])
    return actor_for(user)


def _json(text: str | None, option: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("JSON 格式有误", [f"{option}: {exc}"]) from None
    if not isinstance(value, dict):
        raise InvalidInput("JSON 应为对象", [f"{option}: 例如 '{{\"decision\": \"approve\"}}'"])
    return value


@app.command("deploy")
def deploy_command(
    paths: list[Path] = typer.Argument(None, help="BPMN 文件或目录（默认 DUTYFLOW_PROCESSES_DIR）"),
) -> None:
    """部署 BPMN 流程定义：内容相同保持原版本，内容变化生成新版本；任何文件有误则全部不部署。"""
    targets = paths or [get_settings().processes_dir]
    try:
        database = open_database()
        clock = SystemClock()
        with database.session() as session:
            deployed = []
            for path in targets:
                if path.is_dir():
                    deployed += service.deploy_directory(session, clock, path, service.SYSTEM_ACTOR)
                elif path.is_file():
                    deployed += service.deploy_definition(session, clock, path.read_bytes(), path.name,
                                                          service.SYSTEM_ACTOR)
                else:
                    raise NotFound(f"找不到 {path}", [f"path: {path}"])
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    for item in deployed:
        d = item.definition
        state = "新版本" if item.created else "未变化"
        console.print(f"{d.process_id} 第 {d.version} 版「{d.name}」（{state}）", highlight=False)


@app.command("definitions")
def definitions_command(all_versions: bool = typer.Option(False, "--all", help="列出所有版本")) -> None:
    """列出已部署的流程定义。"""
    database = open_database()
    with database.session() as session:
        rows = service.list_definitions(session, all_versions=all_versions)
        people = user_names(session, [d.deployed_by for d in rows])
    table = Table("编号", "流程", "版本", "名称", "文件", "部署时间", "部署人")
    for d in rows:
        table.add_row(str(d.id), d.process_id, str(d.version), d.name, d.filename, _time(d.deployed_at),
                      person_label(d.deployed_by, people))
    console.print(table)


@app.command("start")
def start_command(
    process_id: str = typer.Argument(..., help="流程编号，如 time_limited_case"),
    user: str = typer.Option(..., "--user", help="发起人用户名"),
    data: str | None = typer.Option(None, "--data", help='启动数据 JSON，如 \'{"duty_code": "MZ-XK-001"}\''),
) -> None:
    """发起一个流程实例。"""
    try:
        database = open_database()
        with database.session() as session:
            start_data, starter = _json(data, "--data"), _actor(session, user)
            with messages.fields_by_their_labels():
                instance = service.start_instance(session, SystemClock(), process_id, start_data, starter)
            tasks = service.instance_tasks(session, instance.id, open_only=True)
            posts = _post_names(session, [t.post_code for t in tasks])
    except DutyflowError as exc:
        fail(exc.message, messages.readable_problems(exc.problems))
    if instance.status == "failed":
        fail(f"流程实例 {instance.id} 运行失败", [instance.error or ""])
    console.print(f"已发起流程实例 {instance.id}（{STATUS_TEXT.get(instance.status, instance.status)}）", highlight=False)
    for t in tasks:
        console.print(f"  待办任务 {t.id}「{t.name}」→ 岗位 {posts.get(t.post_code or '', t.post_code)}（{t.post_code}）",
                      highlight=False)


@app.command("instances")
def instances_command(status: str | None = typer.Option(None, "--status", help="running/suspended/completed/failed"),
                      limit: int = typer.Option(50, "--limit")) -> None:
    """列出流程实例（最新在前）。"""
    database = open_database()
    with database.session() as session:
        rows = service.list_instances(session, status=status, limit=limit)
        people = user_names(session, [i.started_by for i in rows])
    table = Table("编号", "流程", "状态", "事项", "标题", "发起人", "发起时间")
    for i in rows:
        table.add_row(str(i.id), i.process_id, STATUS_TEXT.get(i.status, i.status), i.duty_code or "", i.subject,
                      person_label(i.started_by, people), _time(i.started_at))
    console.print(table)


@app.command("timeline")
def timeline_command(instance_id: int = typer.Argument(..., help="流程实例编号")) -> None:
    """显示流程实例的计时日志：谁在何时做了什么、用了多少工作时间。"""
    try:
        database = open_database()
        with database.session() as session:
            instance = service.get_instance(session, instance_id)
            events = service.timeline(session, instance_id)
            clock = clock_views.case_clock(session, instance_id, SystemClock())
            detail_posts = [code for e in events for key in ("posts", "to_posts") for code in (e.detail or {}).get(key) or []]
            detail_posts += [(e.detail or {}).get(key) for e in events for key in ("from_post", "dropped_transfer_to")]
            posts = _post_names(session, [e.post_code for e in events] + [e.target_post for e in events] + detail_posts)
            people = user_names(session, [e.actor for e in events] + [instance.started_by])
            steps = _task_names(session, [e.task_id for e in events])
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(f"流程实例 {instance.id} {instance.process_id}（{STATUS_TEXT.get(instance.status, instance.status)}）",
                  highlight=False)
    if instance.error:
        console.print(f"失败原因：{instance.error}", highlight=False)
    # Columns of codes and numbers never break inside a word; the Chinese ones wrap (fold) to the width.
    table = Table(expand=False)
    table.add_column("时间", min_width=10)
    table.add_column("事件", overflow="fold")
    table.add_column("步骤", overflow="fold")
    table.add_column("人员", overflow="fold")
    table.add_column("岗位", overflow="fold")
    table.add_column("工作时长(时)", no_wrap=True, justify="right")
    table.add_column("说明", overflow="fold", ratio=1)

    def post(code: str | None) -> str:
        return posts.get(code or "", code or "")

    for e in events:
        hours = f"{e.working_seconds / 3600:.1f}" if e.working_seconds is not None else ""
        step = f"{steps.get(e.task_id, '')}（任务 {e.task_id}）" if e.task_id else ""
        text = event_detail_text(e.kind, e.detail, post)
        if e.target_post and e.kind in ("transferred", "refused", "delegated", "urged"):
            text = f"→ {post(e.target_post)}" + (f"；{text}" if text else "")
        table.add_row(_time(e.at), event_label(e.kind), step, person_label(e.actor, people), post(e.post_code), hours,
                      cell_text(text))
    console.print(table)
    if clock["state"] != "none" or instance.duty_code:  # a process outside the catalog has no clock to explain
        console.print("计时明细：", highlight=False)
        for entry in clock["explanation"]:
            console.print(f"  {entry['at'] or '':16}  {entry['text']}", highlight=False, markup=False)


@app.command("tasks")
def tasks_command(user: str = typer.Option(..., "--user", help="用户名"),
                  done: bool = typer.Option(False, "--done", help="同时列出已办结的")) -> None:
    """某人的待办：本岗、B角委派、待接收的转办、抄送。"""
    try:
        database = open_database()
        with database.session() as session:
            entries = service.inbox(session, SystemClock(), _actor(session, user), include_done=done)
            posts = _post_names(session, [e.task.post_code for e in entries])
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    table = Table()
    table.add_column("任务", overflow="fold")
    table.add_column("状态", no_wrap=True)
    table.add_column("关系", no_wrap=True)
    table.add_column("岗位", overflow="fold")
    table.add_column("办件", overflow="fold")
    table.add_column("到期", min_width=10)
    table.add_column("预警", no_wrap=True)
    for e in entries:
        due = e.deadline.due_at if e.deadline is not None else None
        table.add_row(f"{e.task.id} {e.task.name}", STATUS_TEXT.get(e.task.status, e.task.status),
                      relation_label(e.relation), posts.get(e.task.post_code or "", e.task.post_code or ""),
                      cell_text(f"{e.instance.id} {e.instance.subject}"), _time(due),
                      state_label(e.deadline.state if e.deadline is not None else "none"))
    console.print(table)


@app.command("task")
def task_command(
    action: str = typer.Argument(..., help=" / ".join(TASK_ACTIONS)),
    task_id: int = typer.Argument(..., help="任务编号"),
    user: str = typer.Option(..., "--user", help="办理人用户名"),
    data: str | None = typer.Option(None, "--data", help="complete 的表单数据 JSON"),
    to_post: str | None = typer.Option(None, "--to-post", help="transfer 的目标岗位"),
    to_step: str | None = typer.Option(None, "--to-step", help="send-back 退回到的步骤编号"),
    reason: str = typer.Option("", "--reason", help="transfer/refuse/send-back/delegate 的理由"),
    posts: list[str] = typer.Option(None, "--post", help="copy 的抄送岗位（可重复）"),
    text: str = typer.Option("", "--text", help="comment 的意见 / urge 的催办内容"),
) -> None:
    """办理任务：签收、办结、转办、接收、拒收、委派B角、退回、撤回、催办、抄送、意见。"""
    if action not in TASK_ACTIONS:
        fail(f"未知操作 '{action}'", [f"可选：{', '.join(TASK_ACTIONS)}"])
    try:
        database = open_database()
        clock = SystemClock()
        with database.session() as session:
            actor = _actor(session, user)
            _run_action(session, clock, action, task_id, actor, data, to_post, to_step, reason, posts or [], text)
            row = service.get_task(session, task_id)
            instance = service.get_instance(session, row.instance_id)
            post_name = _post_names(session, [row.post_code]).get(row.post_code or "", row.post_code)
    except DutyflowError as exc:
        fail(exc.message, messages.readable_problems(exc.problems))
    console.print(f"任务 {row.id}「{row.name}」：{STATUS_TEXT.get(row.status, row.status)}，岗位 {post_name}",
                  highlight=False)
    if instance.status == "failed":
        fail(f"流程实例 {instance.id} 运行失败", [instance.error or ""])


def _run_action(session, clock, action, task_id, actor, data, to_post, to_step, reason, posts, text) -> None:
    if action == "claim":
        service.claim_task(session, clock, task_id, actor)
    elif action == "complete":
        # A refusal names the fields as the task's form labels them, as the pages and the API do.
        submitted = _json(data, "--data")
        with messages.task_fields_by_their_labels(session, task_id, actor):
            service.complete_task(session, clock, task_id, submitted, actor)
    elif action == "transfer":
        service.transfer_task(session, clock, task_id, to_post or "", reason, actor)
    elif action == "accept":
        service.accept_transfer(session, clock, task_id, actor)
    elif action == "refuse":
        service.refuse_transfer(session, clock, task_id, reason, actor)
    elif action == "delegate":
        service.delegate_to_backup(session, clock, task_id, actor, reason)
    elif action == "send-back":
        service.send_back(session, clock, task_id, to_step or "", reason, actor)
    elif action == "withdraw":
        service.withdraw(session, clock, task_id, actor)
    elif action == "urge":
        service.urge(session, clock, task_id, actor, text)
    elif action == "copy":
        service.copy_to(session, clock, task_id, posts, actor)
    else:
        service.comment(session, clock, task_id, text, actor)


@app.command("suspend")
def suspend_command(instance_id: int = typer.Argument(...), user: str = typer.Option(..., "--user"),
                    reason: str = typer.Option("", "--reason")) -> None:
    """挂起流程实例（效能办）。"""
    _instance_action(lambda s, c, a: service.suspend_instance(s, c, instance_id, a, reason), user)


@app.command("activate")
def activate_command(instance_id: int = typer.Argument(...), user: str = typer.Option(..., "--user")) -> None:
    """激活已挂起的流程实例（效能办）。"""
    _instance_action(lambda s, c, a: service.activate_instance(s, c, instance_id, a), user)


def _instance_action(fn, user: str) -> None:
    try:
        database = open_database()
        with database.session() as session:
            instance = fn(session, SystemClock(), _actor(session, user))
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(f"流程实例 {instance.id}：{STATUS_TEXT.get(instance.status, instance.status)}", highlight=False)


@app.command("metrics")
def metrics_command(
    by: str | None = typer.Option(None, "--by", help="部门 department / 内设机构 unit / 岗位 post（岗位只用于环节统计）"),
    scope: str = typer.Option("both", "--scope", help="case 办件（按案件）/ step 环节（按步骤）/ both 两者"),
    process_id: str | None = typer.Option(None, "--process"),
) -> None:
    """效能指标，分两种口径标明：办件（按案件，每件计一次）与环节（按步骤，每个步骤计一次）。"""
    if scope not in (*SCOPES, "both"):
        fail("统计范围有误", [f"--scope: {scope!r} 应为 case（办件）、step（环节）或 both"])
    scopes = list(SCOPES) if scope == "both" else [scope]
    skipped = None
    if scope == "both" and by == "post":
        # Cases are counted per department or unit of their duty: by post there are steps only.
        scopes, skipped = [STEP], "办件（按案件）按部门或内设机构统计，没有按岗位的办件统计；以下只列环节（按步骤）。"
    try:
        database = open_database()
        with database.session() as session:
            figures = [efficiency_figures(session, SystemClock(), s, by, process_id=process_id) for s in scopes]
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    if skipped:
        console.print(skipped, highlight=False)
    for fig in figures:
        title = f"{fig.scope_label}，按{GROUPING_LABELS[fig.by]}"
        if fig.scope == "case":
            table = Table(GROUPING_LABELS[fig.by], "收件", "办结", "在办", "办结率", "按时", "超期", "按时办结率", "黄牌", "红牌",
                          "暂停", title=title)
            for c in fig.rows:
                assert isinstance(c, CaseMetricRow)
                table.add_row(c.group, str(c.received), str(c.finished), str(c.open), _pct(c.completion_rate),
                              str(c.on_time), str(c.late), _pct(c.on_time_rate), str(c.open_yellow), str(c.open_red),
                              str(c.open_paused))
        else:
            table = Table(GROUPING_LABELS[fig.by], "步骤", "办结", "在办", "办结率", "有环节时限", "按时", "超时", "按时办结率",
                          "平均(时)", "P90(时)", "黄牌", "红牌", "暂停", title=title)
            for m in fig.rows:
                assert isinstance(m, StepMetricRow)
                table.add_row(m.group, str(m.total), str(m.completed), str(m.open), _pct(m.completion_rate),
                              str(m.with_stage_limit), str(m.on_time), str(m.late), _pct(m.on_time_rate),
                              _hours(m.mean_working_seconds), _hours(m.p90_working_seconds), str(m.open_yellow),
                              str(m.open_red), str(m.open_paused))
        console.print(table)
        for note in fig.notes:
            console.print(note, highlight=False)


def _pct(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "—"


def _hours(seconds: float | None) -> str:
    return f"{seconds / 3600:.1f}" if seconds is not None else "—"
