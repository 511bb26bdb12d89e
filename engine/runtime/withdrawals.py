"""申请人撤回: the applicant withdraws the application before the decision, and the case ends.

A process that lets the applicant withdraw at any point waits for the BPMN message
`application_withdrawn` (time_limited_case does, on a branch of its own next to the 补正 step's
own withdrawal). The handler records the withdrawal with its reason; the message ends the case,
and the case clock stops (engine.runtime.clocks.changes.finish judges it by the time counted).
This module sits above the clocks because delivering a message runs an engine step.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlmodel import Session

from engine.auth import policy
from engine.auth.roles import Actor
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.runtime import RUNNING, ProcessInstance
from engine.runtime import events
from engine.runtime.instances import load_workflow, run_step, save_workflow

WITHDRAWN_MESSAGE = "application_withdrawn"


def withdraw_application(session: Session, clock: Any, instance_id: int, reason: str, actor: Actor | None) -> None:
    """Record that the applicant withdrew the application; the case ends (申请人撤回办结)."""
    signed_in = policy.require_signed_in(actor, policy.Action.WITHDRAW_APPLICATION)
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    policy.require_withdraw_application(session, signed_in, instance)
    if not (reason or "").strip():
        raise InvalidInput("登记撤回需要说明申请人撤回的情况", ["reason：不能为空（如“申请人书面申请撤回”）"])
    instance_row, workflow = load_workflow(session, instance_id)
    if instance_row.status != RUNNING:
        raise Conflict("办件不在办理中，不能登记撤回", [f"instance_id={instance_id}：状态 {instance_row.status}"])
    if not any(e.name == WITHDRAWN_MESSAGE for e in workflow.waiting_events()):
        raise Conflict("本流程不能在此时登记申请人撤回", [f"instance_id={instance_id}：流程没有等待撤回的环节"])
    now = clock.now()

    def deliver() -> None:
        workflow.catch(BpmnEvent(MessageEventDefinition(WITHDRAWN_MESSAGE), {}))
        workflow.do_engine_steps()

    run_step(session, clock, instance_row, workflow, deliver, actor=signed_in)
    events.log_event(session, instance_id=instance_id, kind="application_withdrawn", at=now, actor=signed_in,
                     detail={"reason": reason.strip()})
    save_workflow(session, instance_row, workflow, clock, actor=signed_in)
