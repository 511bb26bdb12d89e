"""What the efficiency-figure tests share: the accept → review → decide test process
(tests/bpmn/accept_review_decide.bpmn) on the demo's 最低生活保障审批, its steps done by the demo's
people, moments of 2026 in Beijing time, and figures by group."""

from __future__ import annotations

from datetime import datetime

from engine.clock import BEIJING
from engine.runtime import service
from tests.runtime_helpers import CHEN, WANG, ZHAO, open_task

DUTY = "MZ-GF-001"
CASE_DATA = {"duty_code": DUTY, "applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": 1}
# The 决定 step of the test process with a stage limit of its own (2 hours), spliced into the file.
DECIDE_PROPERTY = '<spiffworkflow:property name="stage" value="决定" />'.encode()
TWO_HOURS = '<spiffworkflow:property name="stage_limit" value="2小时" />'.encode()


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BEIJING)


def complete(database, clock, instance_id: int, step: str, actor, data: dict) -> int:
    """Complete the open step of the case as `actor`; returns the task row's id."""
    with database.session() as session:
        task_id = open_task(database, instance_id, step).id
        service.complete_task(session, clock, task_id, data, actor)
    return task_id


def accept(database, clock, instance_id) -> int:
    return complete(database, clock, instance_id, "accept", CHEN, {"accepted": True})


def review(database, clock, instance_id) -> int:
    return complete(database, clock, instance_id, "review", ZHAO, {"opinion": "符合条件"})


def decide(database, clock, instance_id) -> int:
    return complete(database, clock, instance_id, "decide", WANG, {"decision": "approve"})


def by_group(figures):
    return {row.group: row for row in figures.rows}
