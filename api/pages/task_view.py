"""Everything the task page shows, gathered from the runtime, timers and catalog services."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from api.labels import CLOSING_REASONS, person_label
from api.pages import task_forms
from api.pages.metrics_view import names_of_current_catalog
from engine.auth import policy
from engine.auth.roles import Actor
from engine.auth.service import user_names
from engine.catalog import service as catalog
from engine.clock import Clock
from engine.errors import NotFound
from engine.models.runtime import ProcessDefinition, WorkTask
from engine.runtime import diagram
from engine.runtime import service as runtime
from engine.runtime.clocks import views as clock_views


def post_choices(session: Session) -> list[dict[str, Any]]:
    """Posts of the current catalog grouped by department and unit, for the transfer picker."""
    version = catalog.current_version(session)
    if version is None:
        return []
    groups = []
    for department in catalog.list_departments(session, version.id):
        for unit in department.units:
            if unit.posts:
                groups.append({
                    "label": f"{department.name} · {unit.name}",
                    "posts": [{"code": p.code, "name": p.name,
                               "holders": "、".join(h.name for h in p.holders) or "空缺"} for p in unit.posts],
                })
    return groups


def department_choices(session: Session) -> list[dict[str, str]]:
    """Departments of the current catalog by name, for a field that names one (被投诉部门)."""
    version = catalog.current_version(session)
    if version is None:
        return []
    return [{"code": code, "name": name} for code, name in catalog.department_names(session, version.id)]


def post_names(groups: list[dict[str, Any]]) -> dict[str, str]:
    return {p["code"]: f"{group['label']} · {p['name']}" for group in groups for p in group["posts"]}


# The case data people read (start data and what the process library sets), with the label each is
# known by; a form field's own label comes from its declaration. Anything else — ids, counters,
# the library's working variables — is the engine's, not the clerk's, and is not shown.
DATA_LABELS = {
    "duty_code": "事项", "duty_name": "事项名称", "applicant": "申请人", "subject": "事由", "matter": "事项内容",
    "citizen": "群众", "contact": "联系方式", "complainant": "投诉人", "limit": "办结时限",
    "handler_post": "承办岗位", "backup_post": "B角岗位", "unit_head": "决定岗位（单位负责人）",
    "department_head": "延期审批岗位（部门负责人）", "first_post": "首问岗位", "units": "科室", "duties": "事项",
    # Shown by name (ORGANISATION_KEYS), so not as the forms' 部门编码.
    "department": "被投诉部门", "lead": "牵头部门",
}
POST_KEYS = {"handler_post", "backup_post", "unit_head", "department_head", "first_post", "to_post"}
# Data naming a department or unit by its code (投诉 department, 争议 lead, 自查 units).
ORGANISATION_KEYS = {"department", "lead", "units", "departments"}


def readable_data(session: Session, instance: Any, data: dict[str, Any], names: dict[str, str]) -> list[tuple[str, str]]:
    """The case data as (label, value) a clerk reads: labelled fields only, posts by name, choices
    in words, yes/no for flags, lists joined."""
    fields = runtime.process_form_fields(session, instance)
    shown: list[tuple[str, str]] = []
    organisations: dict[str, str] | None = None  # departments and units by name, read when needed
    for key, value in data.items():
        if value in (None, "", []) or isinstance(value, dict):
            continue
        field = fields.get(key)
        label = DATA_LABELS.get(key) or (field.label if field is not None else "")
        if not label:
            continue
        text = readable_value(key, value, names)
        if key == "duty_code":
            text = duty_title(session, str(value))
        elif key == "duties" and isinstance(value, list):
            text = "、".join(duty_title(session, str(code)) for code in value)
        elif key in ORGANISATION_KEYS:
            if organisations is None:
                organisations = names_of_current_catalog(session)
            text = readable_value(key, value, organisations)
        shown.append((label, text))
    return shown


def duty_title(session: Session, code: str) -> str:
    """A duty as people name it: 最低生活保障审批（MZ-GF-001）."""
    version = catalog.current_version(session)
    if version is None:
        return code
    try:
        return f"{catalog.get_duty(session, version.id, code).name}（{code}）"
    except NotFound:
        return code


def readable_value(key: str, value: Any, names: dict[str, str]) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(readable_value(key, item, names) for item in value)
    text = str(value)
    if key in POST_KEYS or key.endswith("_post") or key in ORGANISATION_KEYS:
        return names.get(text, text)
    return task_forms.choice_label(text)


def timeline_lines(session: Session, events: list[Any], post_names_: dict[str, str]) -> list[dict[str, Any]]:
    """The timeline as people read it: when, who by name, at which post by name, which step, what."""
    people = user_names(session, [e.actor for e in events])
    task_ids = {e.task_id for e in events if e.task_id}
    steps = dict(session.execute(select(col(WorkTask.id), col(WorkTask.name))
                                 .where(col(WorkTask.id).in_(sorted(task_ids)))).all()) if task_ids else {}

    def post(code: str) -> str:
        return post_names_.get(code, code)

    return [{"at": e.at, "who": person_label(e.actor, people) if e.actor else "系统",
             "post": post(e.post_code) if e.post_code else None,
             "text": task_forms.event_text(e, post, steps.get(e.task_id) if e.task_id else None)} for e in events]


def recommendations(session: Session, proposals: Any, names: dict[str, str]) -> list[dict[str, str]]:
    """The catalog's proposals for a first inquiry (首问), as a clerk chooses among them: the post by
    name, the duty by name, its department, and why it was proposed."""
    if not isinstance(proposals, list):
        return []
    version = catalog.current_version(session)
    departments = {d.code: d.name for d in catalog.list_departments(session, version.id)} if version else {}
    shown = []
    for item in proposals:
        if not isinstance(item, dict) or not item.get("post"):
            continue
        score = item.get("score")
        reason = f"名称与所问事项相近（相近度 {round(float(score) * 100)}%）" if isinstance(score, int | float) \
            else "清单推荐"
        shown.append({"post": names.get(str(item["post"]), str(item["post"])), "duty": str(item.get("duty_name") or item.get("duty")),
                      "department": departments.get(str(item.get("department")), str(item.get("department") or "")),
                      "reason": reason})
    return shown


def case_clock(session: Session, instance_id: int, clock: Clock) -> dict[str, Any] | None:
    """The case's clock (limit, due, paused …); state `none` (不计时) when the instance has none.
    None only when the instance itself is gone."""
    try:
        return clock_views.case_clock(session, instance_id, clock)
    except NotFound:
        return None


def process_name(session: Session, definition_id: int) -> str:
    definition = session.get(ProcessDefinition, definition_id)
    return definition.name if definition else ""


def diagram_svg(session: Session, instance_id: int) -> str:
    """The instance's process diagram with its current steps highlighted, ready to inline. Its
    heading names the process for people only: the renderer adds the process id after the name
    (限时办结（time_limited_case）) for the diagrams/ files developers read; it is dropped here.
    (The drawing's <title>, its tooltip, is the process's name already: engine.runtime.diagram.)"""
    svg = diagram.instance_svg(session, instance_id).decode("utf-8")
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    instance = runtime.get_instance(session, instance_id)
    return svg.replace(f"（{instance.process_id}）</text>", "</text>", 1)


def task_context(session: Session, clock: Clock, task_id: int, actor: Actor) -> dict[str, Any]:
    row = runtime.get_task(session, task_id, actor)
    instance = runtime.get_instance(session, row.instance_id)
    relation = policy.relation_of(session, row, actor)
    groups = post_choices(session)
    names = post_names(groups)
    events = runtime.timeline(session, instance.id)
    data = runtime.instance_data(session, instance.id)
    posts, fields = runtime.task_posts_and_form(session, row)  # one read for both
    return {
        "title": row.name,
        "task": row,
        "instance": instance,
        "process_name": process_name(session, instance.definition_id),
        "fields": fields,
        "posts": posts,
        "relation": relation,
        "is_open": row.status == "ready" and instance.status == "running",
        "deadline": runtime.task_deadline(session, row, clock) if row.status == "ready" else None,
        "case": case_clock(session, instance.id, clock),
        "events": timeline_lines(session, events, names),
        "post_groups": groups,
        "department_choices": department_choices(session),
        "post_names": names,
        "choice_label": task_forms.choice_label,
        "diagram": diagram_svg(session, instance.id),
        "people": user_names(session, [row.completed_by]),
        "closing_reasons": CLOSING_REASONS,
        "data": readable_data(session, instance, data, names),
        "recommendations": recommendations(session, data.get("proposed_posts"), names),
    }
