"""申请延期: a handler asks for more time, and the process's 延期审批 step takes it to the head.

The request is checked by the clock rules (engine.runtime.clocks.commands.check_extension_request:
who, why, before the due moment, within the duty's allowance, a head named to decide) and then
delivered to the workflow as the BPMN message `extension_requested`, carrying the limit and the
reason into the step's data. The head decides in the step; its script (`decide_extension`,
engine.runtime.library.cases) applies the decision to the clock. This module sits above the
clocks because delivering a message runs an engine step (engine.runtime.instances).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlmodel import Session

from engine.auth import policy
from engine.auth.roles import Actor
from engine.calendar.limits import format_limit
from engine.errors import Conflict, InvalidInput
from engine.models.runtime import RUNNING
from engine.runtime.clocks import changes, commands
from engine.runtime.clocks.arithmetic import beijing_iso
from engine.runtime.instances import load_workflow, run_step, save_workflow

# The catch event of the request in time_limited_case; its data flows into 延期审批.
REQUEST_EVENT = "extension_request"
DECISION_STEP = "approve_extension"

# The reason is read by the head in the 延期审批 step and kept in the case's timing log: a few
# sentences, not a document; bounded here so a request from the CLI is held to what the API allows.
MAX_REASON_CHARS = 500


def request_extension(session: Session, clock: Any, instance_id: int, limit_text: str, reason: str,
                      actor: Actor | None) -> dict[str, Any]:
    """Ask for an extension of the case: the 延期审批 step becomes ready at the department head."""
    signed_in = policy.require_signed_in(actor, policy.Action.REQUEST_EXTENSION)
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput("延期理由过长", [f"延期理由：最多 {MAX_REASON_CHARS} 个字符，现有 {len(reason)} 个"])
    case = commands.timed_case(session, instance_id, signed_in, for_update=True)
    now = clock.now()
    if not commands.extension_step_of(session, instance_id):
        raise Conflict("本流程没有延期审批环节，延期由部门负责人直接批准",
                       [f"instance_id={instance_id}：请部门负责人使用“批准延期”（…/clock/extend）"])
    limit = commands.check_extension_request(session, now, case, limit_text, reason, signed_in)
    instance_row, workflow = load_workflow(session, instance_id)
    if instance_row.status != RUNNING:
        raise Conflict("办件不在办理中，不能申请延期", [f"instance_id={instance_id}：状态 {instance_row.status}"])
    waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == REQUEST_EVENT]
    if not waiting:
        raise Conflict("本件已有延期申请等待审批", [f"instance_id={instance_id}：请等待部门负责人在“延期审批”环节决定"])
    request = {"extension_limit": format_limit(limit), "extension_reason": reason.strip(),
               "extension_requested_by": signed_in.display_name or signed_in.username,
               "extension_requested_at": beijing_iso(now)}

    def deliver() -> None:
        workflow.catch(BpmnEvent(MessageEventDefinition(commands.EXTENSION_MESSAGE), {}))
        workflow.do_engine_steps()
        # The request goes into the data of the step that decides it. Set after the step is
        # ready: a task inherits its parent's data when it becomes ready, which would bring back
        # an earlier request's limit and reason on a second request.
        for task in workflow.get_tasks(state=TaskState.READY):
            if task.task_spec.bpmn_id == DECISION_STEP:
                task.data.update(request)

    run_step(session, clock, instance_row, workflow, deliver, actor=signed_in)
    save_workflow(session, instance_row, workflow, clock, actor=signed_in)
    changes.log_clock_event(session, instance_id, "extension_requested", now, actor=signed_in,
                            detail={"limit": request["extension_limit"], "reason": request["extension_reason"]})
    return request
