"""The accountability ledger (问责台账): grounds, the person, decisions, queries.

A sanction is a record of
- who: the person's staff id, name, post, unit and department (from the catalog in force when the
  process opens; kept, so a later catalog does not rewrite the ledger);
- for what (`GROUND_KINDS`): a red card (`overdue` timing event of a case), a 一次性告知 violation
  (`notice_late` timing event), an upheld complaint (the `decide_complaint` step of an
  `efficiency_complaint` instance, substantiated yes or partly) or a failed rectification (a
  `check_rectification` step of a `self_inspection_campaign` instance returned). The ground is
  checked against the record when the process opens: an event or a step that does not exist, or
  does not say what the ground claims, is refused (422);
- after the person's statement (申辩), taken at their post from the person themself;
- decided by whom (the efficiency office, or the leader the office names), the outcome (a kind of
  `SANCTION_KINDS`, or none) with reasons, when.

`SANCTION_KINDS` says which kinds count as 处分 for the downgrade rules of the evaluation
(docs/evaluation.md): 提醒谈话 and 批评教育 do not; the others do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from engine import audit
from engine.auth import policy
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.models.accountability import NO_SANCTION, SANCTIONED, AccountabilityAction
from engine.models.catalog import CatalogStaff
from engine.models.runtime import ProcessInstance, TimingEvent, WorkTask

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_TEXT = 5000

# code → (Chinese name, counts as 处分 for the evaluation's downgrade rules)
SANCTION_KINDS: dict[str, tuple[str, bool]] = {
    "reminder_talk": ("提醒谈话", False),
    "criticism": ("批评教育", False),
    "efficiency_warning": ("效能告诫", True),
    "public_criticism": ("通报批评", True),
    "admonition_talk": ("诫勉谈话", True),
    "post_removal": ("调离岗位", True),
    "disciplinary": ("移送纪检监察机关给予处分", True),
}
OUTCOME_NAMES = {SANCTIONED: "问责", NO_SANCTION: "不予问责"}

RED_CARD = "red_card"
NOTICE_VIOLATION = "notice_violation"
UPHELD_COMPLAINT = "upheld_complaint"
FAILED_RECTIFICATION = "failed_rectification"
GROUND_KINDS = {
    RED_CARD: "红牌（办件超期）",
    NOTICE_VIOLATION: "违反一次性告知制",
    UPHELD_COMPLAINT: "效能投诉属实",
    FAILED_RECTIFICATION: "整改不合格",
}
# Grounds that are a timing event of a case, and the event kind that proves them.
EVENT_GROUNDS = {RED_CARD: "overdue", NOTICE_VIOLATION: "notice_late"}
# Grounds that are a step of a process: (process id, step, field, values that prove them).
STEP_GROUNDS = {
    UPHELD_COMPLAINT: ("efficiency_complaint", "decide_complaint", "substantiated", ("yes", "partly")),
    FAILED_RECTIFICATION: ("self_inspection_campaign", "check_rectification", "verdict", ("return",)),
}


@dataclass(frozen=True)
class Person:
    staff_id: str
    name: str
    post: str
    unit: str
    department: str


def _int(value: Any, field: str, required: bool = True) -> int | None:
    if value is None or value == "":
        if required:
            raise InvalidInput(f"请给出{field}", [f"{field}: 必填，应为正整数"])
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{field} 应为正整数", [f"{field}: {value!r}"]) from None
    if not 1 <= number <= 2**31 - 1:
        raise InvalidInput(f"{field} 应为正整数", [f"{field}: {value!r}"])
    return number


def check_ground(session: Session, kind: Any, instance_id: Any, event_id: Any = None,
                 task_id: Any = None) -> dict[str, Any]:
    """The ground checked against the record: {kind, instance_id, event_id, task_id, text}."""
    if kind not in GROUND_KINDS:
        raise InvalidInput(f"未知的问责事由类型 {kind!r}",
                           [f"ground_kind: 应为 {'、'.join(f'{k}（{v}）' for k, v in GROUND_KINDS.items())} 之一"])
    number = _int(instance_id, "ground_instance")
    instance = session.get(ProcessInstance, number)
    if instance is None:
        raise InvalidInput(f"办件 {number} 不存在", [f"ground_instance: {number}"])
    label = f"办件 {instance.id}（{instance.subject or instance.process_id}）"
    if kind in EVENT_GROUNDS:
        event = session.get(TimingEvent, _int(event_id, "ground_event"))
        if event is None or event.instance_id != instance.id or event.kind != EVENT_GROUNDS[kind]:
            raise InvalidInput(f"{GROUND_KINDS[kind]}的依据须是该办件的 {EVENT_GROUNDS[kind]} 计时记录",
                               [f"ground_event: {event_id} 不是办件 {instance.id} 的 {EVENT_GROUNDS[kind]} 事件"])
        at = event.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
        return {"kind": kind, "instance_id": instance.id, "event_id": event.id, "task_id": event.task_id,
                "text": f"{GROUND_KINDS[kind]}：{label}，计时记录 {event.id}（{at}）"}
    process_id, step, field, values = STEP_GROUNDS[kind]
    task = session.get(WorkTask, _int(task_id, "ground_task"))
    if (task is None or task.instance_id != instance.id or instance.process_id != process_id
            or task.task_spec != step or task.completed_at is None or task.form_data.get(field) not in values):
        raise InvalidInput(f"{GROUND_KINDS[kind]}的依据须是 {process_id} 办件中已办结的「{step}」步骤（{field} 为 "
                           f"{'/'.join(values)}）", [f"ground_task: {task_id} 不符合"])
    return {"kind": kind, "instance_id": instance.id, "event_id": None, "task_id": task.id,
            "text": f"{GROUND_KINDS[kind]}：{label}，步骤「{task.name}」（任务 {task.id}）"}


def person(session: Session, staff_id: Any, post: Any = None) -> Person:
    """The person held accountable, at the given post (one they hold) or their first post."""
    code = str(staff_id or "").strip()
    if not code:
        raise InvalidInput("请给出被问责人员编号", ["staff_id: 必填"])
    version_id = catalog_version_id(session)
    if version_id is None:
        raise Conflict("尚无权责清单", ["catalog: 请先导入并发布权责清单"])
    name = session.scalars(select(col(CatalogStaff.name)).where(
        col(CatalogStaff.version_id) == version_id, col(CatalogStaff.staff_id) == code)).first()
    held = catalog.posts_of_staff(session, version_id, code)
    if name is None or not held:
        raise InvalidInput(f"现行清单中没有在岗人员 {code}", [f"staff_id: {code} 不在任何岗位上"])
    chosen = str(post).strip() if post else held[0]
    if chosen not in held:
        raise InvalidInput(f"{name}不在岗位 {chosen}", [f"post: {chosen} 不是 {code} 的岗位（{'、'.join(held)}）"])
    return Person(code, name, chosen, catalog.unit_of_post(session, version_id, chosen),
                  catalog.department_of_post(session, version_id, chosen))


def check_decider_post(session: Session, post: str, who: Person) -> None:
    """A leader the office names to decide: a post of the catalog in force, not the person's own."""
    version_id = catalog_version_id(session)
    try:
        if version_id is None:
            raise NotFound("尚无权责清单")
        catalog.unit_of_post(session, version_id, post)
    except NotFound:
        raise InvalidInput(f"决定岗位 {post} 不在现行清单中", [f"decider_post: {post}"]) from None
    if post == who.post:
        raise InvalidInput("被问责人的岗位不能作出决定", [f"decider_post: {post} 是被问责人的岗位"])


def require_person_themself(actor: Actor | None, staff_id: str) -> None:
    """申辩 is the person's own: another holder of the same post may not state it for them."""
    if actor is None or getattr(actor, "staff_id", None) != staff_id:
        raise Forbidden("申辩只能由被问责人本人提出", [f"需要人员 {staff_id} 本人办理"])


def check_decision(outcome: Any, sanction_kind: Any, reasons: Any) -> tuple[str, str | None, str]:
    if outcome not in OUTCOME_NAMES:
        raise InvalidInput("决定应为 sanction（问责）或 none（不予问责）", [f"outcome: {outcome!r}"])
    kind = str(sanction_kind or "").strip() or None
    if outcome == SANCTIONED and kind not in SANCTION_KINDS:
        raise InvalidInput("问责须选择问责方式", [f"sanction_kind: 应为 {'、'.join(SANCTION_KINDS)} 之一，而不是 {kind!r}"])
    if outcome == NO_SANCTION and kind is not None:
        raise InvalidInput("不予问责时不能选择问责方式", [f"sanction_kind: {kind}"])
    text = str(reasons or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput("请写明决定理由（不超过 5000 字）", ["reasons: 必填"])
    return outcome, kind, text


def record_decision(session: Session, *, instance_id: int, who: Person, ground: dict[str, Any], opened_by: str,
                    opened_at: datetime, statement: str, statement_by: str, statement_at: datetime,
                    outcome: str, sanction_kind: str | None, reasons: str, decided_by: str,
                    decided_post: str | None, now: datetime) -> AccountabilityAction:
    """Write the decision to the ledger (once per process instance)."""
    if session.scalars(select(AccountabilityAction).where(col(AccountabilityAction.instance_id) == instance_id)).first():
        raise Conflict(f"问责流程 {instance_id} 的决定已经登记", [f"instance: {instance_id}"])
    row = AccountabilityAction(
        instance_id=instance_id, staff_id=who.staff_id, staff_name=who.name, post_code=who.post,
        unit_code=who.unit, department_code=who.department, ground_kind=ground["kind"],
        ground_instance_id=ground["instance_id"], ground_event_id=ground.get("event_id"),
        ground_task_id=ground.get("task_id"), grounds=ground["text"], opened_by=opened_by, opened_at=opened_at,
        statement=statement, statement_by=statement_by, statement_at=statement_at, outcome=outcome,
        sanction_kind=sanction_kind,
        counts_for_evaluation=bool(sanction_kind and SANCTION_KINDS[sanction_kind][1]),
        reasons=reasons, decided_by=decided_by, decided_post=decided_post, decided_at=now,
        year=now.astimezone(BEIJING).year)
    session.add(row)
    session.flush()
    _chain(session, row)
    return row


def _chain(session: Session, row: AccountabilityAction) -> None:
    """Chain the decision into the tamper-evident record (issue 12 item 5): the row as stored,
    read when the transaction commits."""
    audit.record(session, "accountability_action", row.id)


# ---------------------------------------------------------------- queries


def to_json(row: AccountabilityAction) -> dict[str, Any]:
    return {
        "id": row.id, "instance_id": row.instance_id, "staff_id": row.staff_id, "staff_name": row.staff_name,
        "post_code": row.post_code, "unit_code": row.unit_code, "department_code": row.department_code,
        "ground_kind": row.ground_kind, "ground_kind_name": GROUND_KINDS[row.ground_kind],
        "ground_instance_id": row.ground_instance_id, "ground_event_id": row.ground_event_id,
        "ground_task_id": row.ground_task_id, "grounds": row.grounds,
        "opened_by": row.opened_by, "opened_at": row.opened_at.isoformat(),
        "statement": row.statement, "statement_by": row.statement_by, "statement_at": row.statement_at.isoformat(),
        "outcome": row.outcome, "outcome_name": OUTCOME_NAMES[row.outcome], "sanction_kind": row.sanction_kind,
        "sanction_name": SANCTION_KINDS[row.sanction_kind][0] if row.sanction_kind else None,
        "counts_for_evaluation": row.counts_for_evaluation, "reasons": row.reasons,
        "decided_by": row.decided_by, "decided_post": row.decided_post, "decided_at": row.decided_at.isoformat(),
        "year": row.year,
    }


def ledger(session: Session, actor: Actor, *, staff_id: str | None = None, year: int | None = None,
           limit: int = 200, offset: int = 0) -> list[AccountabilityAction]:
    policy.require(actor, Action.READ_ACCOUNTABILITY)
    query = select(AccountabilityAction)
    if staff_id:
        query = query.where(col(AccountabilityAction.staff_id) == staff_id)
    if year:
        query = query.where(col(AccountabilityAction.year) == year)
    return list(session.scalars(query.order_by(col(AccountabilityAction.id)).limit(limit).offset(offset)))


def get(session: Session, actor: Actor, action_id: int) -> AccountabilityAction:
    policy.require(actor, Action.READ_ACCOUNTABILITY)
    row = session.get(AccountabilityAction, action_id)
    if row is None:
        raise NotFound(f"问责记录 {action_id} 不存在", [f"id: {action_id}"])
    return row
