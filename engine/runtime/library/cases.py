"""限时办结 (time_limited_case): opening a case from the catalog, and the one-time notice rule."""

from __future__ import annotations

from engine.calendar.limits import parse_limit
from engine.catalog.service import named_department_head
from engine.errors import InvalidInput
from engine.runtime.clocks import commands
from engine.runtime.library.catalog_lookup import duty_info, head_post
from engine.runtime.library.context import catalog_version_id, now, session, step_context


def open_case(duty_code: str, limit: str | None = None) -> dict:
    """The case's routing and limit from the catalog in force.

    handler_post: the duty's A post (the B post when there is no A); unit_head: the head post of
    the duty's first unit (or department); limit: the given one, else the committed, else the
    statutory limit. A duty without any limit cannot run as a time-limited case.
    """
    if not duty_code:
        raise InvalidInput("缺少事项编码", ["duty_code: 必须给出要办理的权责事项编码"])
    version_id = catalog_version_id()
    info = duty_info(session(), version_id, str(duty_code))
    effective = limit or info["limit"]
    if not effective:
        raise InvalidInput(f"事项 '{duty_code}' 没有时限", [
            f"limit: 事项 '{duty_code}'（{info['name']}）在清单中没有承诺或法定时限，请在启动数据中给出 limit"])
    unit = info["units"][0] if info["units"] else None
    handler = (info["a_posts"] or info["b_posts"])[0]
    unit_head = head_post(session(), version_id, info["department"], unit)
    if unit_head == handler:
        # The handler heads the unit: decisions and 超期督促 go up to the department's head, never
        # back to the handler (a head deciding their own case, or urged by themself).
        named = named_department_head(session(), version_id, info["department"])
        unit_head = named if named and named != handler else unit_head
    return {
        "duty_code": info["code"],
        "duty_name": info["name"],
        "department": info["department"],
        "handler_post": handler,
        "backup_post": info["b_posts"][0] if info["b_posts"] else None,
        "unit_head": unit_head,
        # 本行政机关负责人 who decides extensions (延期审批); None when the catalog names none, and
        # then a request is refused with that reason before the step could be reached.
        "department_head": named_department_head(session(), version_id, info["department"]),
        "limit": effective,
        "phone": info["phone"],
    }


def one_time_notice(notice_count: int, missing_materials: str | None) -> int:
    """Record the one-time notice (一次性告知): all missing materials at once, once per case.

    A second notice for the same case is itself a violation of the rule, so it is refused and the
    handler must decide (accept or refuse) on the corrected application.
    """
    if int(notice_count or 0) >= 1:
        raise InvalidInput("本案已一次性告知过补正材料，不得再次告知", [
            "decision: 同一案件只能一次性告知一次；补正后的申请应予受理或不予受理"])
    if not (missing_materials or "").strip():
        raise InvalidInput("一次性告知必须列明需补正的全部材料", ["missing_materials: 不能为空"])
    return int(notice_count or 0) + 1


def decide_extension(decision: str, limit: str, reason: str, decision_reason: str | None,
                     applicant_notice: str | None) -> dict:
    """The head's decision in 延期审批, applied to the case clock (engine.runtime.clocks.commands):
    approved — the limit is extended, with who approved it and how the applicant was told;
    refused — recorded, the clock unchanged. The person deciding must be the department head and
    must not handle the case; an approval after the due moment is refused."""
    context = step_context()
    actor = context.actor
    if actor is None:
        raise InvalidInput("延期审批需要由部门负责人办理", ["actor: 无"])
    instance_id = context.instance.id
    case = commands.get_case(session(), instance_id, for_update=True)
    if decision == "approve":
        commands.approve_extension(session(), now(), case, parse_limit(limit), reason, actor,
                                   notice=applicant_notice, decision_reason=decision_reason)
    elif decision == "refuse":
        commands.refuse_extension(session(), now(), case, limit, reason, actor, decision_reason)
    else:
        raise InvalidInput("延期决定有误", [f"extension_decision: 应为 approve（批准）或 refuse（不批准），而不是 {decision!r}"])
    return {"decision": decision, "limit": limit, "due_at": case.due_at.isoformat()}
