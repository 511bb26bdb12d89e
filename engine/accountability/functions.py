"""Script functions of processes/accountability.bpmn (问责), registered with the restricted
script engine by `register_script_functions()`; engine.application.wire() calls it at every entry
point. They live here, not in engine.runtime.library, because they write the ledger of this
package, which sits above the runtime (docs/architecture.md).

Each takes plain task data; the session, clock and acting person come from the engine step's
script context (engine.runtime.scripting.current_script_context).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.accountability import ledger
from engine.auth.roles import EFFICIENCY_OFFICE
from engine.errors import Forbidden, InvalidInput
from engine.runtime.scripting import ScriptContext, current_script_context, register_script_function

# The one process whose steps may write the ledger: only the efficiency office starts it
# (engine.auth.policy.OFFICE_PROCESSES), the person states their case in it and the decider decides.
ACCOUNTABILITY_PROCESS = "accountability"


def _context() -> ScriptContext:
    """The engine step's context, refused unless the step belongs to an `accountability` instance.

    The functions are registered for every process, and `record_accountability` writes whatever
    case and decision it is handed. Without this check any deployed process — which plain staff
    may start — could write a 处分 against anyone (a 诫勉 in their year's evaluation) with no
    申辩 and no decider: a BPMN deploy would become a way to sanction people."""
    context = current_script_context()
    if context is None:
        raise RuntimeError("process functions run only inside an engine step")
    process_id = getattr(context.instance, "process_id", None)
    if process_id != ACCOUNTABILITY_PROCESS:
        raise Forbidden("问责只能通过问责流程（accountability）立案、申辩、决定和登记",
                        [f"流程 {process_id or '（无）'}：不是问责流程，不能调用问责函数"])
    return context


def _actor_name(context: ScriptContext) -> str:
    return str(getattr(context.actor, "username", None) or "system")


def open_accountability(staff_id: Any, post: Any, ground_kind: Any, ground_instance: Any, ground_event: Any,
                        ground_task: Any, grounds: Any, decider_post: Any = None) -> dict[str, Any]:
    """Check the person and the ground against the record; the case as the process carries it."""
    context = _context()
    session = context.session
    who = ledger.person(session, staff_id, post)
    ground = ledger.check_ground(session, ground_kind, ground_instance, ground_event, ground_task)
    text = str(grounds or "").strip()
    if not text or len(text) > ledger.MAX_TEXT:
        raise InvalidInput("请写明问责事由（不超过 5000 字）", ["grounds: 必填"])
    decider = str(decider_post).strip() if decider_post else EFFICIENCY_OFFICE
    if decider != EFFICIENCY_OFFICE:
        ledger.check_decider_post(session, decider, who)
    return {"staff_id": who.staff_id, "name": who.name, "post": who.post, "unit": who.unit,
            "department": who.department, "ground": dict(ground, text=f"{ground['text']}。{text}"),
            "decider": decider, "opened_by": _actor_name(context), "opened_at": context.clock.now().isoformat()}


def take_statement(case: dict[str, Any]) -> dict[str, Any]:
    """The 申辩 is the person's own: who and when."""
    context = _context()
    ledger.require_person_themself(context.actor, case["staff_id"])
    return {"by": _actor_name(context), "at": context.clock.now().isoformat()}


def check_accountability_decision(case: dict[str, Any], outcome: Any, sanction_kind: Any, reasons: Any) -> dict:
    """The decision, checked when the decider completes the step (422 naming the problem)."""
    context = _context()
    if getattr(context.actor, "staff_id", None) == case["staff_id"]:
        raise Forbidden("不能对本人的问责作出决定", [f"{_actor_name(context)}：是被问责人"])
    outcome, kind, text = ledger.check_decision(outcome, sanction_kind, reasons)
    return {"outcome": outcome, "sanction_kind": kind, "reasons": text, "by": _actor_name(context),
            "staff_id": getattr(context.actor, "staff_id", None)}


def record_accountability(case: dict[str, Any], statement: Any, statement_record: dict[str, Any],
                          decision: dict[str, Any]) -> dict[str, Any]:
    """Write the decision to the ledger; the ledger row's id and whether it counts as 处分."""
    context = _context()
    session = context.session
    instance_id = getattr(context.instance, "id", None)
    if instance_id is None:
        raise RuntimeError("record_accountability runs inside an instance")
    who = ledger.Person(case["staff_id"], case["name"], case["post"], case["unit"], case["department"])
    decided_post = case["decider"] if case["decider"] != EFFICIENCY_OFFICE else None
    row = ledger.record_decision(
        session, instance_id=instance_id, who=who, ground=case["ground"], opened_by=case["opened_by"],
        opened_at=datetime.fromisoformat(case["opened_at"]), statement=str(statement),
        statement_by=statement_record["by"], statement_at=datetime.fromisoformat(statement_record["at"]),
        outcome=decision["outcome"], sanction_kind=decision["sanction_kind"], reasons=decision["reasons"],
        decided_by=decision["by"], decided_post=decided_post, now=context.clock.now())
    return {"id": row.id, "counts_for_evaluation": row.counts_for_evaluation, "year": row.year}


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "open_accountability": open_accountability,
    "take_statement": take_statement,
    "check_accountability_decision": check_accountability_decision,
    "record_accountability": record_accountability,
}


def register_script_functions() -> None:
    for name, fn in FUNCTIONS.items():
        register_script_function(name, fn)
