"""HTML forms for user tasks: the declared fields (engine.runtime.forms) as inputs, and back.

A browser sends every value as text; this module turns the posted form into the data the engine
validates (lists from lines, datetimes with the Beijing offset, empty inputs left out so the
engine reports a missing required field itself). Validation stays in the engine.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from engine.models.runtime import BACKUP, HANDLER, READER, TRANSFER
from engine.runtime.clocks.limits import pause_reason_name

FIELD_PREFIX = "f_"

# Chinese words for the enum values the process library uses; other values are shown as they are.
CHOICE_LABELS = {
    "accept": "接收/受理", "agreed": "协商一致", "answer": "直接答复", "approve": "通过", "confirm": "确认",
    "corrected": "已补正", "expert_review": "专家评审", "failed": "未通过", "handle": "本岗位办理",
    "hearing": "听证", "meeting": "召开协调会", "no": "否", "no_response": "未答复", "none": "无",
    "notify_missing": "一次性告知补正", "object": "有异议", "partly": "部分属实", "publish": "发布",
    "refer_government": "报请政府决定", "refuse": "退回/拒绝", "reject": "退回", "resolved": "已解决",
    "return": "退回", "revise": "退回修改", "ruled": "编办裁定", "satisfied": "满意", "testing": "检验检测",
    "transfer": "转办", "unsatisfied": "不满意", "withdrawn": "申请人撤回", "yes": "是",
}

EVENT_LABELS = {
    "instance_started": "发起办件", "task_ready": "到达", "claimed": "签收", "transferred": "转办",
    "accepted": "接收转办", "refused": "退回转办", "delegated": "委派B角", "sent_back": "退回上一步",
    "withdrawn": "撤回", "urged": "催办", "copied": "抄送", "commented": "意见", "completed": "办结",
    "paused": "暂停计时", "resumed": "恢复计时", "restarted": "重新计时", "extended": "延期",
    "extension_requested": "申请延期", "extension_refused": "不批准延期", "notice_late": "一次性告知逾期（违规）",
    "application_withdrawn": "申请人撤回",
    "warned": "黄牌预警", "overdue": "红牌超期", "escalated": "升级督办", "suspended": "挂起", "reactivated": "激活",
    "instance_ended": "流程结束", "failed": "流程出错",
}

RELATION_LABELS = {HANDLER: "承办", BACKUP: "B角代办", TRANSFER: "待接收转办", READER: "抄送", "done": "已办"}


def choice_label(value: str) -> str:
    return CHOICE_LABELS.get(value, value)


def _value(field: dict[str, Any], form: FormData) -> Any:
    """The posted value of one field in the engine's terms, or None when left empty."""
    name = FIELD_PREFIX + field["name"]
    if field["type"] == "list":
        lines = [line.strip() for line in str(form.get(name, "")).splitlines()]
        return [line for line in lines if line] or None
    raw = form.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None
    if field["type"] == "datetime" and len(text) <= 16:
        return f"{text}:00+08:00"  # <input type=datetime-local> gives 2026-09-30T10:00, in Beijing time
    return text


def submitted_data(fields: list[dict[str, Any]], form: FormData) -> dict[str, Any]:
    """The task data from a posted form; tasks without declared fields take a free note."""
    if not fields:
        note = str(form.get(FIELD_PREFIX + "note", "")).strip()
        return {"note": note} if note else {}
    data = {}
    for field in fields:
        value = _value(field, form)
        if value is not None:
            data[field["name"]] = value
    return data


def event_text(event: Any) -> str:
    """One line for the timeline: what happened, from which post to which, and why."""
    detail = event.detail or {}
    parts = [EVENT_LABELS.get(event.kind, event.kind)]
    if event.target_post and event.kind in ("transferred", "refused", "accepted"):
        parts.append(f"→ {event.target_post}")
    for key in ("reason", "text", "comment", "message", "limit"):
        if detail.get(key):
            value = detail[key]
            if key == "reason" and event.kind in ("paused", "resumed"):
                value = pause_reason_name(str(value))  # a code (correction, hearing …) as people read it
            parts.append(f"：{value}")
            break
    return " ".join(parts)
