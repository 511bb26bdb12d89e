"""Replaying a case's legal events through the real process and clock (`dutyflow clock simulate`).

The scenario format is docs/clock-scenarios.md. A replay imports and publishes a catalog on a
scratch database, deploys `time_limited_case`, and then, for each event at its moment: lets the
worker fire every warning due by then (yellow, red, escalation — as the server's worker would),
drives the step of the process the event names as the person the catalog puts on that step (or
the one named by `as`), and reports the case clock as the API shows it. Nothing here models the
law: the engine's own services decide, refuse and count; this module only reads the file, picks
who acts, and words the clock in the scenario's output format.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlmodel import Session, col

from engine.auth.roles import STAFF, Actor
from engine.calendar.limits import read_limit
from engine.calendar.units import TimeLimit
from engine.catalog import cells, io
from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id
from engine.clock import BEIJING, ControlledClock
from engine.db import Database
from engine.errors import DutyflowError, InvalidInput
from engine.migrate import upgrade
from engine.models.runtime import TASK_READY, WorkTask
from engine.runtime import extension_requests, instance_service, task_service, withdrawals
from engine.runtime.clocks import views
from engine.runtime.clocks.limits import CORRECTION_REASON, MANUAL_PAUSE_PREFIX, PAUSE_REASON_NAMES
from engine.runtime.deployment import deploy_definition
from engine.runtime.service import SYSTEM_ACTOR
from engine.runtime.worker import Worker

PROCESS = "time_limited_case"
# Special procedures a `pause` may name (行政许可法 §45): the review form's choices.
PAUSE_REASONS = tuple(reason for reason in PAUSE_REASON_NAMES if reason != CORRECTION_REASON)
# Each `do` and the step of time_limited_case it completes (None: not a step of its own).
STEPS: dict[str, str | None] = {
    "receive": None, "accept": "accept_application", "reject": "accept_application",
    "notify_missing": "accept_application", "correction_received": "receive_correction",
    "withdraw": "receive_correction", "pause": "review", "resume": "special_procedure",
    "request_extension": None, "approve_extension": "approve_extension",
    "refuse_extension": "approve_extension", "review_done": "review", "decide": "decide",
    "deliver": "deliver", "check": None,
}
TIME_FORMAT = "%Y-%m-%d %H:%M"
MAX_EVENTS = 500  # a scenario is a case's history, not a load test
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Event:
    at: datetime
    do: str
    reason: str | None = None
    limit: str | None = None
    materials: str | None = None
    as_staff: str | None = None


@dataclass(frozen=True)
class Scenario:
    duty: str
    catalog: Path | None
    limit: str | None
    events: tuple[Event, ...]


def read_scenario(path: Path) -> Scenario:
    """The scenario file, checked: unknown `do`, times out of order or unreadable, a missing duty
    or a missing catalog → InvalidInput naming the place (the CLI exits 2)."""
    if not path.is_file():
        raise InvalidInput(f"情景文件 {path} 不存在", [f"{path}：找不到文件"])
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput("情景文件过大", [f"{path}：{len(raw)} 字节，上限 {MAX_FILE_BYTES}"])
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise InvalidInput("情景文件不是有效的 YAML", [f"{path}：{exc}"]) from None
    if not isinstance(data, dict):
        raise InvalidInput("情景文件应为一个映射（duty、events …）", [f"{path}：顶层不是映射"])
    duty = data.get("duty")
    if not isinstance(duty, str) or not duty.strip():
        raise InvalidInput("情景缺少 duty（事项编码）", ["duty：必填"])
    catalog_path = None
    if data.get("catalog") is not None:
        catalog_path = (path.parent / str(data["catalog"])).resolve()
        if not catalog_path.is_file():
            raise InvalidInput(f"情景指定的清单 {data['catalog']} 不存在", [f"catalog：{catalog_path} 找不到"])
    limit = data.get("limit")
    if limit is not None:
        limit = str(limit)
        try:
            read_limit(limit)
        except InvalidInput as exc:
            raise InvalidInput(f"情景的 limit 无法识别：{exc.message}", ["limit：" + limit]) from None
    raw_events = data.get("events")
    if not isinstance(raw_events, list) or not raw_events:
        raise InvalidInput("情景缺少 events（事件列表）", ["events：至少一个事件"])
    if len(raw_events) > MAX_EVENTS:
        raise InvalidInput("情景事件过多", [f"events：{len(raw_events)} 个，上限 {MAX_EVENTS}"])
    events: list[Event] = []
    for i, item in enumerate(raw_events):
        events.append(_event(i, item, events[-1].at if events else None))
    return Scenario(duty=duty.strip(), catalog=catalog_path, limit=limit, events=tuple(events))


def _event(i: int, item: Any, previous: datetime | None) -> Event:
    where = f"events[{i}]"
    if not isinstance(item, dict):
        raise InvalidInput("事件应为映射（at、do …）", [f"{where}：{item!r}"])
    do = item.get("do")
    if do not in STEPS:
        raise InvalidInput(f"未知的事件 {do!r}", [f"{where}.do：应为 {'、'.join(STEPS)} 之一"])
    try:
        at = datetime.strptime(str(item.get("at")), TIME_FORMAT).replace(tzinfo=BEIJING)
    except ValueError:
        raise InvalidInput("事件时间格式有误", [f"{where}.at：应为北京时间 YYYY-MM-DD HH:MM，而不是 {item.get('at')!r}"]) from None
    if previous is not None and at < previous:
        raise InvalidInput("事件时间须按先后顺序", [f"{where}.at：{at:%Y-%m-%d %H:%M} 早于上一事件 {previous:%Y-%m-%d %H:%M}"])
    if do == "pause" and item.get("reason") not in PAUSE_REASONS:
        raise InvalidInput("暂停计时需要特别程序的种类", [f"{where}.reason：应为 {'、'.join(PAUSE_REASONS)} 之一"])
    if do == "request_extension" and not item.get("limit"):
        raise InvalidInput("申请延期需要延长的时限", [f"{where}.limit：必填（如“10个工作日”）"])
    text = {key: (str(item[key]) if item.get(key) is not None else None) for key in ("reason", "limit", "materials", "as")}
    return Event(at=at, do=do, reason=text["reason"], limit=text["limit"], materials=text["materials"],
                 as_staff=text["as"])


def prepare(database: Database, scenario: Scenario, processes_dir: Path, default_catalog: Path,
            clock: ControlledClock) -> None:
    """Migrate the scratch database, import and publish the catalog (the scenario's limit, if
    given, as the duty's committed limit), and deploy the process."""
    upgrade(database)
    document = io.read_catalog(scenario.catalog or default_catalog)
    duty = next((d for d in document.duties if d.code == scenario.duty), None)
    if duty is None:
        raise InvalidInput(f"清单中没有事项 {scenario.duty}", [f"duty：{scenario.duty} 不在 {document.catalog.name} 中"])
    if scenario.limit is not None:
        duty.committed_limit = TimeLimit.model_validate(cells.parse_limit_cell(scenario.limit, duty.category))
        duty.statutory_limit = None  # the scenario's limit replaces both (no statutory check)
    now = clock.now()
    with database.session() as session:
        version = catalog.import_catalog(session, document, "system", now, source="clock simulate")
        catalog.publish_version(session, version.id, "system", now)
        xml = (processes_dir / f"{PROCESS}.bpmn").read_bytes()
        deploy_definition(session, clock, xml, f"{PROCESS}.bpmn", SYSTEM_ACTOR)


def replay(database: Database, scenario: Scenario, processes_dir: Path, default_catalog: Path) -> Iterator[dict[str, Any]]:
    """One output object per event, in order (docs/clock-scenarios.md)."""
    clock = ControlledClock(scenario.events[0].at)
    prepare(database, scenario, processes_dir, default_catalog, clock)
    worker = Worker(database, clock, worker_id="clock-simulate", lease_seconds=60, batch=50)
    instance_id: int | None = None
    for event in scenario.events:
        clock.set(event.at)
        worker.run_until_idle()
        ok, error = True, None
        try:
            with database.session() as session:
                instance_id = apply(session, clock, scenario, event, instance_id)
        except DutyflowError as exc:
            ok, error = False, exc.message
        worker.run_until_idle()
        with database.session() as session:
            state = clock_output(session, clock, instance_id)
        yield {"at": event.at.strftime(TIME_FORMAT), "do": event.do, "ok": ok, "error": error, "clock": state}


def apply(session: Session, clock: ControlledClock, scenario: Scenario, event: Event, instance_id: int | None) -> int | None:
    """Drive the event's step; returns the case's instance id (set by `receive`)."""
    if event.do == "check":
        return instance_id
    if event.do == "receive":
        if instance_id is not None:
            raise InvalidInput("本情景的申请已经收到", ["receive：每个情景只有一个办件"])
        handler = actor_for(session, first_post_of_duty(session, scenario.duty), event.as_staff)
        row = instance_service.start_instance(session, clock, PROCESS, {"duty_code": scenario.duty}, handler)
        return row.id
    if instance_id is None:
        raise InvalidInput("尚未收到申请", [f"{event.do}：请先有 receive 事件"])
    if event.do == "withdraw" and open_task(session, instance_id, "receive_correction") is None:
        # Not waiting for 补正: the applicant's withdrawal is recorded by the case's handler.
        task = open_task(session, instance_id, None)
        handler = actor_for(session, task.post_code if task else first_post_of_duty(session, scenario.duty),
                            event.as_staff)
        withdrawals.withdraw_application(session, clock, instance_id, event.reason or "申请人撤回申请", handler)
        return instance_id
    if event.do == "request_extension":
        task = open_task(session, instance_id, None)
        requester = actor_for(session, task.post_code if task else first_post_of_duty(session, scenario.duty),
                              event.as_staff)
        extension_requests.request_extension(session, clock, instance_id, event.limit or "",
                                             event.reason or "情况复杂", requester)
        return instance_id
    spec = STEPS[event.do]
    task = open_task(session, instance_id, spec)
    if task is None:
        raise InvalidInput(f"办件当前没有“{step_name(spec)}”环节可办理", [f"{event.do}：该环节尚未到达或已办结"])
    actor = actor_for(session, task.post_code, event.as_staff)
    assert task.id is not None
    for data in step_data(event):
        task_service.complete_task(session, clock, task.id, data, actor)
        if event.do == "reject":  # 不予受理 ends after its decision is delivered (送达不予受理决定书)
            refusal = open_task(session, instance_id, "deliver_refusal")
            if refusal is not None and refusal.id is not None:
                task_service.complete_task(session, clock, refusal.id, {"delivery_method": "当场"},
                                           actor_for(session, refusal.post_code, event.as_staff))
    return instance_id


def step_data(event: Event) -> list[dict[str, Any]]:
    """The form data the event submits to its step."""
    reason = event.reason
    data: dict[str, dict[str, Any]] = {
        "accept": {"decision": "accept"},
        "reject": {"decision": "refuse", "reason": reason or "不属于受理范围"},
        "notify_missing": {"decision": "notify_missing", "missing_materials": event.materials or reason or "需补正的全部材料"},
        "correction_received": {"correction": "corrected", "correction_note": reason or ""},
        "withdraw": {"correction": "withdrawn", "correction_note": reason or "申请人撤回"},
        "pause": {"opinion": "需要特别程序", "special_procedure": reason},
        "resume": {"procedure_result": reason or "特别程序结束"},
        "approve_extension": {"extension_decision": "approve", "extension_decision_reason": reason or "同意延期",
                              "applicant_notice": "书面"},
        "refuse_extension": {"extension_decision": "refuse", "extension_decision_reason": reason or "不同意延期",
                             "applicant_notice": "书面"},
        "review_done": {"opinion": reason or "审查完毕", "special_procedure": "none"},
        "decide": {"decision": "approve", "decision_reason": reason or ""},
        "deliver": {"delivery_method": "当场"},
    }
    return [data[event.do]]


STEP_NAMES = {"accept_application": "受理", "receive_correction": "接收补正材料", "review": "审查",
              "special_procedure": "特别程序", "approve_extension": "延期审批", "decide": "决定", "deliver": "送达"}


def step_name(spec: str | None) -> str:
    return STEP_NAMES.get(spec or "", spec or "")


def open_task(session: Session, instance_id: int, spec: str | None) -> WorkTask | None:
    """The open step `spec` of the case (any open handling step when None)."""
    query = select(WorkTask).where(col(WorkTask.instance_id) == instance_id, col(WorkTask.status) == TASK_READY)
    if spec is not None:
        query = query.where(col(WorkTask.task_spec) == spec)
    return session.execute(query.order_by(col(WorkTask.id))).scalars().first()


def first_post_of_duty(session: Session, duty_code: str) -> str:
    version_id = catalog_version_id(session)
    assert version_id is not None, "the scenario's catalog was published"
    duty = catalog.get_duty(session, version_id, duty_code)
    posts = [p.post for p in duty.posts if str(p.role) == "A"] or [p.post for p in duty.posts]
    if not posts:
        raise InvalidInput(f"事项 {duty_code} 没有承办岗位", ["duty：清单未给该事项指定岗位"])
    return posts[0]


def actor_for(session: Session, post_code: str | None, staff_id: str | None) -> Actor:
    """The person acting: `as` when given, else the first holder of the step's post."""
    version_id = catalog_version_id(session)
    assert version_id is not None, "the scenario's catalog was published"
    if staff_id is None:
        holders = catalog.post_holders(session, version_id, post_code) if post_code else []
        if not holders:
            raise InvalidInput(f"岗位 {post_code} 无人在岗，无法办理", [f"post：{post_code} 空缺；可用 as 指定办理人"])
        staff_id = holders[0].id
    names = {person.staff_id: person.name for person in catalog.list_staff(session, version_id)}
    if staff_id not in names:
        raise InvalidInput(f"清单中没有人员 {staff_id}", [f"as：{staff_id} 不在清单中"])
    roles = frozenset({STAFF, *catalog.staff_roles(session, version_id, staff_id)})
    return Actor(username=staff_id.lower(), staff_id=staff_id, roles=roles, display_name=names[staff_id])


def clock_output(session: Session, clock: ControlledClock, instance_id: int | None) -> dict[str, Any] | None:
    """The case clock in the scenario's output format (None before the application is received)."""
    if instance_id is None:
        return None
    view = views.case_clock(session, instance_id, clock)
    state = {"done": "finished"}.get(view["state"], view["state"])
    finished = view["finished_at"] is not None
    if finished:
        state = "finished"
    reason = view["pause_reason"]
    if reason is not None and reason.startswith(MANUAL_PAUSE_PREFIX):
        reason = reason.removeprefix(MANUAL_PAUSE_PREFIX)
    return {
        "state": state,
        "pause_reason": reason if view["paused"] else None,
        "due": _minutes(view["due_at"]),
        "yellow": _minutes(view["yellow_at"]),
        "provisional": bool(view["provisional"]),
        "on_time": view["on_time"] if finished else None,
    }


def _minutes(iso: str | None) -> str | None:
    if iso is None:
        return None
    return datetime.fromisoformat(iso).astimezone(BEIJING).strftime(TIME_FORMAT)
