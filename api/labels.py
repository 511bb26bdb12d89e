"""One catalogue of the words people read for the engine's codes, shared by the pages and the CLI.

Task relations (handler → 承办), clock states (green → 正常), timeline events (task_ready → 到达)
with their details as a sentence, form choices (approve → 通过), alert severities (high → 高) and
the system actor (system → 系统). A code without a word here is shown as it is, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from engine.clock import BEIJING
from engine.models.runtime import BACKUP, HANDLER, READER, TRANSFER
from engine.runtime.clocks.limits import pause_reason_name

# Chinese words for the enum values the process library uses; other values are shown as they are.
CHOICE_LABELS = {
    "accept": "接收/受理", "agreed": "协商一致", "answer": "直接答复", "approve": "通过", "confirm": "确认",
    "corrected": "已补正", "expert_review": "专家评审", "failed": "未通过", "handle": "本岗位办理",
    "hearing": "听证", "meeting": "召开协调会", "no": "否", "no_response": "未答复", "none": "无",
    "notify_missing": "一次性告知补正", "object": "有异议", "partly": "部分属实", "publish": "发布",
    "refer_government": "报请政府决定", "refuse": "退回/拒绝", "reject": "退回", "resolved": "已解决",
    "return": "退回", "revise": "退回修改", "ruled": "编办裁定", "satisfied": "满意", "testing": "检验检测",
    "transfer": "转办", "unsatisfied": "不满意", "withdrawn": "申请人撤回", "yes": "是",
    "appraisal": "鉴定", "tender": "招标拍卖",  # the 特别程序 of 审查 (time_limited_case)
}

EVENT_LABELS = {
    "instance_started": "发起办件", "task_ready": "到达", "claimed": "签收", "transferred": "转办",
    "accepted": "接收转办", "refused": "退回转办", "delegated": "委派B角", "sent_back": "退回上一步",
    "withdrawn": "撤回", "urged": "催办", "copied": "抄送", "commented": "意见", "completed": "办结",
    "cancelled": "待办关闭",
    "paused": "暂停计时", "resumed": "恢复计时", "restarted": "重新计时", "extended": "延期",
    "extension_requested": "申请延期", "extension_refused": "不批准延期", "notice_late": "一次性告知逾期（违规）",
    "application_withdrawn": "申请人撤回",
    "warned": "黄牌预警", "overdue": "红牌超期", "escalated": "升级督办", "suspended": "挂起", "reactivated": "激活",
    "instance_ended": "流程结束", "failed": "流程出错",
}

RELATION_LABELS = {HANDLER: "承办", BACKUP: "B角代办", TRANSFER: "待接收转办", READER: "抄送", "done": "已办"}

# A deadline's state (engine.runtime.clocks): the card it shows, or why there is none.
STATE_LABELS = {"green": "正常", "yellow": "黄牌预警", "red": "红牌超期", "paused": "计时暂停",
                "none": "不计时", "done": "已办结"}

SEVERITY_LABELS = {"high": "高", "medium": "中", "low": "低"}

# Who acted when no person did (deploys, the demo catalog, timers): engine.runtime.service.SYSTEM_ACTOR.
SYSTEM_USERNAME = "system"
SYSTEM_NAME = "系统"

# Why a step's open task was closed without being done (engine.runtime.tasks: closed_reason).
CLOSING_REASONS = {"cancelled": "流程已转入其他步骤", "sent_back": "因退回而关闭", "withdrawn": "因撤回而关闭"}


def choice_label(value: str) -> str:
    return CHOICE_LABELS.get(value, value)


def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind, kind)


def relation_label(relation: str) -> str:
    return RELATION_LABELS.get(relation, relation)


def state_label(state: str | None) -> str:
    return STATE_LABELS.get(state or "", state or "")


def severity_label(severity: str) -> str:
    return SEVERITY_LABELS.get(severity, severity)


def person_label(username: str | None, names: Mapping[str, str] | None = None) -> str:
    """A user as people know them: the account's display name, 系统 for the system, else the username."""
    if not username:
        return ""
    if username == SYSTEM_USERNAME:
        return SYSTEM_NAME
    return (names or {}).get(username) or username


def _moment(value: Any) -> str:
    """An ISO moment from an event's detail in Beijing time, as the pages print it."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _span(seconds: Any) -> str:
    """Working seconds as hours and minutes (3小时15分)."""
    minutes = int(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours}小时{minutes}分" if hours else f"{minutes}分"


def event_detail_text(kind: str, detail: Mapping[str, Any] | None,
                      post: Callable[[str], str] = str) -> str:
    """An event's detail as a sentence (not its JSON): reasons, limits, new due moments, posts by
    the name `post` gives them. Keys that only the engine reads (field names, ids) are left out."""
    d = dict(detail or {})
    parts: list[str] = []

    def posts(key: str) -> str:
        return "、".join(post(str(code)) for code in d.get(key) or [])

    if kind == "instance_started" and d.get("version"):
        parts.append(f"按第 {d['version']} 版流程定义")
    elif kind == "task_ready" and d.get("posts"):
        parts.append(f"待办岗位：{posts('posts')}")
    elif kind == "accepted" and d.get("from_post"):
        parts.append(f"转自 {post(str(d['from_post']))}")
    elif kind == "urged" and d.get("count"):
        parts.append(f"第 {d['count']} 次催办")
    elif kind == "copied" and d.get("posts"):
        parts.append(f"抄送：{posts('posts')}")
    elif kind == "completed" and d.get("dropped_transfer_to"):
        parts.append(f"未接收的转办（至 {post(str(d['dropped_transfer_to']))}）作废")
    elif kind == "cancelled" and d.get("reason"):
        parts.append(CLOSING_REASONS.get(str(d["reason"]), str(d["reason"])))
        d.pop("reason")
    elif kind in ("warned", "overdue"):
        scope = f"环节「{d['stage']}」" if d.get("scope") == "stage" and d.get("stage") else "办件"
        if d.get("due_at"):
            parts.append(f"{scope}时限 {_moment(d['due_at'])}")
    elif kind == "escalated" and d.get("to_posts"):
        parts.append(f"督办岗位：{posts('to_posts')}")
    elif kind == "notice_late":
        if d.get("notice_limit"):
            parts.append(f"告知时限 {d['notice_limit']}")
        if d.get("notice_due"):
            parts.append(f"应于 {_moment(d['notice_due'])} 前告知")
        if d.get("rule"):
            parts.append(str(d["rule"]))
    if d.get("limit"):
        parts.append(f"时限 {d['limit']}")
    if d.get("reason"):
        reason = str(d["reason"])
        if kind in ("paused", "resumed", "restarted"):
            reason = pause_reason_name(reason) or reason  # a code (correction, hearing …) as people read it
        parts.append(f"理由：{reason}")
    for key, label in (("text", "意见"), ("message", "内容"), ("approved_by", "批准人"), ("refused_by", "决定人"),
                       ("decision_reason", "决定理由"), ("error", "原因")):
        if d.get(key):
            parts.append(f"{label}：{d[key]}")
    if d.get("paused_working_seconds"):
        parts.append(f"暂停 {_span(d['paused_working_seconds'])}（工作时间）")
    if d.get("counting_from"):
        parts.append(f"自 {_moment(d['counting_from'])} 起算")
    if d.get("due_at") and kind not in ("warned", "overdue"):
        parts.append(f"办结时限 {_moment(d['due_at'])}")
    return "；".join(parts)
