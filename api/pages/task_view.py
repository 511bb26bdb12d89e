"""Everything the task page shows, gathered from the runtime, timers and catalog services."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.pages import task_forms
from engine.auth import policy
from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.clock import Clock
from engine.errors import NotFound
from engine.models.runtime import ProcessDefinition
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


def post_names(groups: list[dict[str, Any]]) -> dict[str, str]:
    return {p["code"]: f"{group['label']} · {p['name']}" for group in groups for p in group["posts"]}


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
    """The instance's process diagram with its current steps highlighted, ready to inline."""
    svg = diagram.instance_svg(session, instance_id).decode("utf-8")
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def task_context(session: Session, clock: Clock, task_id: int, actor: Actor) -> dict[str, Any]:
    row = runtime.get_task(session, task_id, actor)
    instance = runtime.get_instance(session, row.instance_id)
    relation = policy.relation_of(session, row, actor)
    groups = post_choices(session)
    events = runtime.timeline(session, instance.id)
    return {
        "title": row.name,
        "task": row,
        "instance": instance,
        "process_name": process_name(session, instance.definition_id),
        "fields": runtime.task_form(session, row),
        "posts": runtime.task_posts(session, row),
        "relation": relation,
        "is_open": row.state == "ready" and instance.status == "running",
        "deadline": runtime.task_deadline(session, row, clock) if row.state == "ready" else None,
        "case": case_clock(session, instance.id, clock),
        "events": [(event, task_forms.event_text(event)) for event in events],
        "post_groups": groups,
        "post_names": post_names(groups),
        "choice_label": task_forms.choice_label,
        "diagram": diagram_svg(session, instance.id),
        "data": runtime.instance_data(session, instance.id),
    }
