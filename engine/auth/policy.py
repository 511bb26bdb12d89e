"""Who may do what: the one permission policy routes, pages, CLI and engine ask.

It is longer than other modules on purpose: every "may this person do this" lives here and nowhere
else (issue 15), so a reader checks one file against docs/permissions.md.

Every question "may this actor do this?" about processes, cases, tasks and case clocks is
answered here and nowhere else. Each action of `Action` has one `require_*` function; a refusal
raises `Refused` (a `Forbidden`, answered 403) whose message says in Chinese why, and whose
`action` names the action refused. State problems (a task already claimed, a case already
finished) are not permissions: the runtime answers them with 409 after the policy has said yes.

The roles (docs/permissions.md has the whole table):
- staff at a post: holds a post of the catalog version in force (`engine.catalog.in_force.staff_posts`);
- unit head: holds a post marked `head: true` in its unit;
- department head: holds the post the catalog names as the department's `head_post`;
- legal_office / establishment_office / efficiency_office / admin: roles of the user account
  (`engine.auth.roles`); an admin passes every role check (`Actor.has_role`), but is nobody's
  department head.

The catalog decides heads: a unit without a `head: true` post has no unit head, and a department
without `head_post` has no department head, so nobody may approve its extensions (the message
says so). There is no fallback that makes every post a head.

"Supervisor" means one thing here: the efficiency office (效能办), which oversees every case, or
an admin (`is_supervisor`). The heads a red matter is escalated to (督办, `escalation_posts`) and
the heads who may adjust or extend a case's clock are heads, never supervisors.

The policy reads tables (engine.models) and the catalog in force (engine.catalog.in_force); it
imports nothing from engine.runtime, so every layer above may ask it.

Step 2 of the roadmap (policies per process in BPMN) builds on `Action` and these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, or_, select, union
from sqlmodel import Session, col

from engine.auth.roles import (
    ADMIN,
    COORDINATOR_ROLES,
    EFFICIENCY_OFFICE,
    ESTABLISHMENT_OFFICE,
    LEGAL_OFFICE,
    ROLES,
    Actor,
)
from engine.catalog.in_force import catalog_version_id, published_answer, staff_posts
from engine.catalog.service import named_department_head
from engine.errors import Forbidden
from engine.models.catalog import CatalogDepartment, CatalogDuty, CatalogPost, CatalogUnit, CatalogVersion
from engine.models.runtime import BACKUP, HANDLER, READER, TRANSFER, ProcessInstance, TaskAssignment, WorkTask
from engine.models.timers import CaseDeadline


class Action(StrEnum):
    """Everything the policy decides, with the Chinese name used in messages and docs."""

    START = "start"  # 发起流程（按流程区分）
    READ_INSTANCE = "read_instance"  # 查看办件：详情、时间线、流程图、计时（/clock）、定时器（/timers）
    SUSPEND = "suspend"  # 挂起、激活办件
    READ_TASK = "read_task"  # 查看任务
    ACT = "act"  # 办结、签收、转办、退回（在承办岗位上办理）
    DELEGATE = "delegate"  # 委派给 B角
    RECEIVE_TRANSFER = "receive_transfer"  # 接收、拒收转办
    WITHDRAW = "withdraw"  # 撤回自己办结的步骤
    URGE = "urge"  # 催办
    COPY = "copy"  # 抄送
    COMMENT = "comment"  # 发表意见
    ADJUST_CLOCK = "adjust_clock"  # 暂停、恢复、重新计时
    EXTEND = "extend"  # 批准延期
    REQUEST_EXTENSION = "request_extension"  # 申请延期
    WITHDRAW_APPLICATION = "withdraw_application"  # 登记申请人撤回
    DEPLOY = "deploy"  # 部署流程定义
    READ_METRICS = "read_metrics"  # 效能指标
    READ_TIMER_QUEUE = "read_timer_queue"  # 定时器队列概况
    READ_WARNINGS = "read_warnings"  # 黄牌红牌事项与督办记录
    IMPORT_CATALOG = "import_catalog"  # 导入清单草稿（含 /legal 页面）
    PUBLISH_CATALOG = "publish_catalog"  # 直接发布清单版本
    ENTER_CALENDAR_YEAR = "enter_calendar_year"  # 录入年度节假日安排
    READ_ALERTS = "read_alerts"  # 查看预警、分析报告与监督看板（/dashboard）
    HANDLE_ALERTS = "handle_alerts"  # 运行分析、确认、办结预警，就交叉预警发起争议
    MANAGE_ACCOUNTS = "manage_accounts"  # 管理账号：使某人的登录失效
    READ_EVALUATION = "read_evaluation"  # 查看绩效考评：年度、指标体系、客观指标、评分与结果
    MANAGE_EVALUATION = "manage_evaluation"  # 管理绩效考评：创建年度、调整指标、目标计划书、处分记录、计算、发布
    ENTER_EVALUATION_SCORES = "enter_evaluation_scores"  # 录入绩效考评评分
    READ_UNIT_EVALUATION = "read_unit_evaluation"  # 查看本单位的绩效考评（单位负责人）
    READ_ACCOUNTABILITY = "read_accountability"  # 查看问责台账
    CAST_BALLOT = "cast_ballot"  # 满意度测评：填写本人的测评表、查看本人的票

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[Action, str] = {
    Action.START: "发起流程",
    Action.READ_INSTANCE: "查看办件（含计时与定时器）",
    Action.SUSPEND: "挂起或激活办件",
    Action.READ_TASK: "查看任务",
    Action.ACT: "办理任务（办结、签收、转办、退回）",
    Action.DELEGATE: "委派给 B角",
    Action.RECEIVE_TRANSFER: "接收或拒收转办",
    Action.WITHDRAW: "撤回",
    Action.URGE: "催办",
    Action.COPY: "抄送",
    Action.COMMENT: "发表意见",
    Action.ADJUST_CLOCK: "暂停、恢复或重新计时",
    Action.EXTEND: "批准延期",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.WITHDRAW_APPLICATION: "登记申请人撤回",
    Action.DEPLOY: "部署流程定义",
    Action.READ_METRICS: "查看效能指标",
    Action.READ_TIMER_QUEUE: "查看定时器队列",
    Action.READ_WARNINGS: "查看黄牌、红牌事项和督办记录",
    Action.IMPORT_CATALOG: "导入清单草稿",
    Action.PUBLISH_CATALOG: "发布清单版本",
    Action.ENTER_CALENDAR_YEAR: "录入年度节假日安排",
    Action.READ_ALERTS: "查看职责交叉与空缺预警",
    Action.HANDLE_ALERTS: "处理预警（分析、确认、办结、发起争议）",
    Action.MANAGE_ACCOUNTS: "管理账号",
    Action.READ_EVALUATION: "查看绩效考评",
    Action.MANAGE_EVALUATION: "管理绩效考评（创建年度、调整指标、计算和发布结果）",
    Action.ENTER_EVALUATION_SCORES: "录入绩效考评评分",
    Action.READ_UNIT_EVALUATION: "查看本单位的绩效考评",
    Action.READ_ACCOUNTABILITY: "查看问责台账",
    Action.CAST_BALLOT: "填写满意度测评表",
}


class Refused(Forbidden):
    """The policy says no (403); `action` names what was refused."""

    def __init__(self, action: Action, message: str, problems: list[str] | None = None):
        super().__init__(message, problems)
        self.action = action


# ---------------------------------------------------------------- catalog facts the policy reads


def department_head_post(session: Session, department_code: str | None) -> str | None:
    """The head post the catalog in force names for the department (`head_post`), or None."""
    version_id = catalog_version_id(session)
    if not department_code or version_id is None:
        return None
    return named_department_head(session, version_id, department_code)


def unit_head_posts(session: Session, unit_code: str | None) -> list[str]:
    """The posts marked `head: true` in the unit (none marked: no unit head)."""
    version_id = catalog_version_id(session)
    if not unit_code or version_id is None:
        return []
    return list(session.scalars(
        select(col(CatalogPost.code)).join(CatalogUnit, col(CatalogUnit.id) == col(CatalogPost.unit_id))
        .where(col(CatalogPost.version_id) == version_id, col(CatalogUnit.code) == unit_code, col(CatalogPost.head).is_(True))
        .order_by(col(CatalogPost.position))
    ))


def escalation_posts(session: Session, unit_code: str | None, department_code: str | None,
                     exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Where an overdue matter is escalated (督办): the unit's head posts, else the department's
    head post, else nowhere (the efficiency office sees it in the warning lists regardless).
    Posts in `exclude` (the late handler's) are never escalated to: a unit head late on their
    own step goes up to the department head."""
    heads = [post for post in unit_head_posts(session, unit_code) if post not in exclude]
    if heads:
        return heads
    head = department_head_post(session, department_code)
    return [head] if head and head not in exclude else []


# The look-ups of every start and step, built once on the tables: a Core statement through
# `session.execute` costs about half of the same one written with model attributes.
_DEPARTMENT = CatalogDepartment.__table__  # type: ignore[attr-defined]
_UNIT = CatalogUnit.__table__  # type: ignore[attr-defined]
_POST = CatalogPost.__table__  # type: ignore[attr-defined]
_DUTY = CatalogDuty.__table__  # type: ignore[attr-defined]
_ASSIGNMENT = TaskAssignment.__table__  # type: ignore[attr-defined]
DEPARTMENTS_OF_POSTS = (
    select(_DEPARTMENT.c.code)
    .join(_UNIT, _UNIT.c.department_id == _DEPARTMENT.c.id)
    .join(_POST, _POST.c.unit_id == _UNIT.c.id)
    .where(_POST.c.version_id == bindparam("version_id"), _POST.c.code.in_(bindparam("posts", expanding=True)))
)
DUTY_DEPARTMENT = (
    select(_DEPARTMENT.c.code).join(_DUTY, _DUTY.c.department_id == _DEPARTMENT.c.id)
    .where(_DUTY.c.version_id == bindparam("version_id"), _DUTY.c.code == bindparam("code"))
)


def departments_of_posts(session: Session, posts: Iterable[str]) -> set[str]:
    """Codes of the departments the given posts belong to (catalog version in force)."""
    posts = sorted(set(posts))
    version_id = catalog_version_id(session)
    if not posts or version_id is None:
        return set()
    return set(published_answer(session, version_id, "departments_of_posts", tuple(posts), lambda: frozenset(
        session.execute(DEPARTMENTS_OF_POSTS, {"version_id": version_id, "posts": posts}).scalars())))


def headed_departments(session: Session, actor: Actor) -> set[str]:
    """Departments whose named head post the actor holds."""
    held = staff_posts(session, actor.staff_id)
    version_id = catalog_version_id(session)
    if not held or version_id is None:
        return set()
    return set(session.scalars(
        select(col(CatalogDepartment.code)).where(col(CatalogDepartment.version_id) == version_id,
                                             col(CatalogDepartment.head_post).in_(sorted(held)))
    ))


def headed_units_of(session: Session, actor: Actor) -> set[str]:
    """Units where the actor holds a post marked `head: true`."""
    held = staff_posts(session, actor.staff_id)
    version_id = catalog_version_id(session)
    if not held or version_id is None:
        return set()
    return set(session.scalars(
        select(col(CatalogUnit.code)).join(CatalogPost, col(CatalogPost.unit_id) == col(CatalogUnit.id))
        .where(col(CatalogPost.version_id) == version_id, col(CatalogPost.code).in_(sorted(held)), col(CatalogPost.head).is_(True))
    ))


def duty_department(session: Session, duty_code: str | None) -> str | None:
    version_id = catalog_version_id(session)
    if not duty_code or version_id is None:
        return None
    department: str | None = published_answer(session, version_id, "duty_department", duty_code, lambda: session.execute(
        DUTY_DEPARTMENT, {"version_id": version_id, "code": duty_code}).scalar())
    return department


def _department_name(session: Session, code: str | None) -> str:
    version_id = catalog_version_id(session)
    if not code or version_id is None:
        return "承办部门"
    name = session.scalars(
        select(col(CatalogDepartment.name)).where(col(CatalogDepartment.version_id) == version_id,
                                             col(CatalogDepartment.code) == code)
    ).first()
    return f"{name}（{code}）" if name else code


def is_supervisor(actor: Actor) -> bool:
    """The efficiency office (效能办) oversees every case; an admin may do what it may."""
    return actor.has_role(EFFICIENCY_OFFICE)


# ---------------------------------------------------------------- starting a process

# Processes only a coordinating office may start (README, docs/processes.md).
OFFICE_PROCESSES: dict[str, tuple[str, str]] = {
    "self_inspection_campaign": (EFFICIENCY_OFFICE, "效能办"),
    "efficiency_complaint": (EFFICIENCY_OFFICE, "效能办"),
    # 问责 and the evaluation processes (docs/accountability.md, docs/evaluation.md)
    "accountability": (EFFICIENCY_OFFICE, "效能办"),
    "evaluation_quarterly_report": (EFFICIENCY_OFFICE, "效能办"),
    "evaluation_survey": (EFFICIENCY_OFFICE, "效能办"),
    "evaluation_admonition": (EFFICIENCY_OFFICE, "效能办"),
    "duty_dispute": (ESTABLISHMENT_OFFICE, "编办"),
}
PUBLICATION = "catalog_publication"
TIME_LIMITED_CASE = "time_limited_case"
FIRST_INQUIRY = "first_inquiry"


def require_start(session: Session, actor: Actor, process_id: str, data: dict[str, Any]) -> None:
    """Who may start which process:
    - self_inspection_campaign, efficiency_complaint, accountability, evaluation_quarterly_report,
      evaluation_survey, evaluation_admonition: the efficiency office;
    - duty_dispute: the establishment office;
    - catalog_publication: the legal office, or a department head for their own department
      (`drafter_post`, when given, must be a post of that department);
    - time_limited_case: staff at a post of the duty's department (the window receiving it);
    - first_inquiry: staff at a post; `first_post`, when given, must be one of their own posts;
    - any other deployed process: anyone signed in, but a `duty_code` in the start data must be a
      duty of the starter's own department.
    An admin may start every process (Actor.has_role)."""
    if ADMIN in actor.roles:
        return
    if process_id in OFFICE_PROCESSES:
        role, office = OFFICE_PROCESSES[process_id]
        if not actor.has_role(role):
            raise Refused(Action.START, f"只有{office}可以发起流程 {process_id}", [f"actor.roles: 需要 {role}"])
        return
    if process_id == PUBLICATION:
        _require_publication_start(session, actor, data)
        return
    held = staff_posts(session, actor.staff_id)
    if process_id in (TIME_LIMITED_CASE, FIRST_INQUIRY) and not held:
        raise Refused(Action.START, "您不在权责清单的任何岗位上，不能发起该流程",
                      [f"{actor.username}: 未在现行清单中任职"])
    if process_id == FIRST_INQUIRY:
        first_post = data.get("first_post")
        if first_post and first_post not in held:
            raise Refused(Action.START, f"首问岗位只能是您本人的岗位，您不在岗位 {first_post}",
                          [f"data.first_post: {first_post} 不是您的岗位（您的岗位：{'、'.join(sorted(held))}）"])
    duty_code = data.get("duty_code")
    if isinstance(duty_code, str) and duty_code.strip():
        _require_own_duty(session, actor, duty_code.strip(), held)


def _require_own_duty(session: Session, actor: Actor, duty_code: str, held: set[str]) -> None:
    department = duty_department(session, duty_code)
    if department is None:
        return  # an unknown duty is bad input: the runtime answers 422 naming it
    if department not in departments_of_posts(session, held):
        raise Refused(Action.START, f"事项 {duty_code} 属于{_department_name(session, department)}，"
                      "您只能为本部门的事项发起办件",
                      [f"data.duty_code: {duty_code} 不是您所在部门的事项"])


def _require_publication_start(session: Session, actor: Actor, data: dict[str, Any]) -> None:
    if actor.has_role(LEGAL_OFFICE):
        return
    headed = headed_departments(session, actor)
    if not headed:
        raise Refused(Action.START, "只有法制办或起草部门的负责人可以发起权责清单发布流程",
                      ["当前账号需要法制办角色，或持有清单为部门指定的负责人岗位"])
    drafter = data.get("drafter_post")
    if drafter and not departments_of_posts(session, [drafter]) & headed:
        raise Refused(Action.START, f"起草岗位 {drafter} 不属于您负责的部门",
                      [f"data.drafter_post: {drafter} 不在 {'、'.join(sorted(headed))} 部门"])


# ---------------------------------------------------------------- instances


def instance_answerers(session: Session, instance: ProcessInstance) -> tuple[str | None, str | None]:
    """(unit, department) that answer for a case: its clock's, else its duty's department."""
    found = session.execute(
        select(col(CaseDeadline.unit_code), col(CaseDeadline.department_code)).where(col(CaseDeadline.instance_id) == instance.id)
    ).first()
    if found is not None and found[1]:
        return found[0], found[1]
    return (found[0] if found else None), duty_department(session, instance.duty_code)


def may_read_instance(session: Session, actor: Actor, instance: ProcessInstance) -> bool:
    """The efficiency office and admins read every case; others the cases they started, that
    reached one of their posts (handler, B角, transfer or copy) or that they completed a step
    of, and the heads of the case's unit and department (who may adjust or extend its clock)."""
    if is_supervisor(actor) or instance.started_by == actor.username:
        return True
    if instance.id is not None and instance.id in instances_at_posts(session, actor, [instance.id]):
        return True
    held = staff_posts(session, actor.staff_id)
    if not held:
        return False
    unit, department = instance_answerers(session, instance)
    heads = set(unit_head_posts(session, unit))
    head = department_head_post(session, department)
    if head:
        heads.add(head)
    return bool(heads & held)


def require_read_instance(session: Session, actor: Actor, instance: ProcessInstance) -> None:
    """The instance, its timeline, diagram, clock (/clock) and timers (/timers) share this rule."""
    if not may_read_instance(session, actor, instance):
        raise Refused(Action.READ_INSTANCE, f"您无权查看流程实例 {instance.id}",
                      ["只有发起人、经办岗位、抄送岗位、本部门负责人和效能办可以查看"])


def instances_at_posts(session: Session, actor: Actor, only: list[int] | None = None) -> set[int]:
    """Instances with a task at one of the actor's posts (any assignment kind) or completed by them."""
    held = sorted(staff_posts(session, actor.staff_id))
    completed = select(col(WorkTask.instance_id)).where(col(WorkTask.completed_by) == actor.username)
    query = completed if not held else union(
        completed, select(col(WorkTask.instance_id)).join(TaskAssignment, col(TaskAssignment.task_id) == col(WorkTask.id))
        .where(col(TaskAssignment.post_code).in_(held)))
    ids = {row[0] for row in session.execute(query).all()}
    return ids if only is None else ids & set(only)


def visible_instances_clause(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    """A WHERE clause on ProcessInstance selecting what `may_read_instance` allows; None = all."""
    if is_supervisor(actor):
        return None
    mine = sorted(instances_at_posts(session, actor))
    conditions = [col(ProcessInstance.started_by) == actor.username, col(ProcessInstance.id).in_(mine)]
    headed_units = sorted(headed_units_of(session, actor))
    if headed_units:
        conditions.append(col(ProcessInstance.id).in_(
            select(col(CaseDeadline.instance_id)).where(col(CaseDeadline.unit_code).in_(headed_units))))
    headed = sorted(headed_departments(session, actor))
    if headed:
        version_id = catalog_version_id(session)
        conditions.append(col(ProcessInstance.id).in_(
            select(col(CaseDeadline.instance_id)).where(col(CaseDeadline.department_code).in_(headed))))
        conditions.append(col(ProcessInstance.duty_code).in_(
            select(col(CatalogDuty.code)).join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogDuty.department_id))
            .where(col(CatalogDuty.version_id) == version_id, col(CatalogDepartment.code).in_(headed))))
    return or_(*conditions)


def require_suspend(actor: Actor) -> None:
    if not is_supervisor(actor):
        raise Refused(Action.SUSPEND, "只有效能办或系统管理员可以挂起或激活流程",
                      ["actor.roles: 需要 efficiency_office 或 admin"])


def require_urge(actor: Actor, instance: ProcessInstance) -> None:
    if not (is_supervisor(actor) or instance.started_by == actor.username):
        raise Refused(Action.URGE, "只有效能办或发起人可以催办", ["actor.roles: 需要 efficiency_office，或是本件发起人"])


def may_urge(actor: Actor, instance: ProcessInstance) -> bool:
    return is_supervisor(actor) or instance.started_by == actor.username


# ---------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Relation:
    """How an actor stands to a task: the post they would act from, and what they may see."""

    acting_post: str | None  # a handler or B角 post the actor holds
    transfer_target: bool  # holds the post a pending transfer goes to
    reader: bool  # holds a post the task was copied to
    supervisor: bool  # efficiency office or admin

    @property
    def can_act(self) -> bool:
        return self.acting_post is not None

    @property
    def can_see(self) -> bool:
        return self.can_act or self.transfer_target or self.reader or self.supervisor


# (kind, post) of every assignment of a task: handler, B角, transfer and reader posts in one query.
TASK_ASSIGNMENTS = (
    select(_ASSIGNMENT.c.kind, _ASSIGNMENT.c.post_code)
    .where(_ASSIGNMENT.c.task_id == bindparam("task_id")).order_by(_ASSIGNMENT.c.id)
)


def relation_of(session: Session, row: WorkTask, actor: Actor) -> Relation:
    held = staff_posts(session, actor.staff_id)
    by_kind: dict[str, list[str]] = {}
    for kind, post_code in session.execute(TASK_ASSIGNMENTS, {"task_id": row.id}).all():
        by_kind.setdefault(kind, []).append(post_code)
    acting = row.post_code if row.post_code in held else next((p for p in by_kind.get(HANDLER, []) if p in held), None)
    if acting is None and row.delegated_post and row.delegated_post in held:
        acting = row.delegated_post
    return Relation(
        acting_post=acting,
        transfer_target=bool(row.transfer_to_post and row.transfer_to_post in held),
        reader=bool(set(by_kind.get(READER, [])) & held),
        supervisor=is_supervisor(actor),
    )


def may_read_task(session: Session, actor: Actor, row: WorkTask, instance: ProcessInstance | None = None) -> bool:
    """Whoever the task reached (post, B角, transfer, copy), who completed it, and whoever may
    read its case (the case's page lists its tasks anyway)."""
    if relation_of(session, row, actor).can_see or row.completed_by == actor.username:
        return True
    instance = instance if instance is not None else session.get(ProcessInstance, row.instance_id)
    return instance is not None and may_read_instance(session, actor, instance)


def require_read_task(session: Session, actor: Actor, row: WorkTask, action: Action = Action.READ_TASK) -> None:
    if not may_read_task(session, actor, row):
        verb = "发表意见" if action == Action.COMMENT else "查看"
        raise Refused(action, f"您无权对任务 {row.id} {verb}" if action == Action.COMMENT else f"您无权{verb}任务 {row.id}")


def require_act(session: Session, actor: Actor, row: WorkTask) -> str:
    """The post the actor acts from (complete, claim, transfer, send back); refused when they hold
    neither the task's post nor its B角 delegation, or when a colleague has claimed it."""
    acting_post = acting_post_of(session, row, actor)
    if acting_post is None:
        raise Refused(Action.ACT, f"您不在任务「{row.name}」的承办岗位上", [f"task.post: {row.post_code}"])
    if row.claimed_by and row.claimed_by != actor.username:
        raise Refused(Action.ACT, f"任务「{row.name}」已由 {row.claimed_by} 签收，只有签收人可以办理",
                      [f"task.claimed_by: {row.claimed_by}"])
    return acting_post


def acting_post_of(session: Session, row: WorkTask, actor: Actor) -> str | None:
    """`relation_of(...).acting_post`, without reading the task's assignments when the actor holds
    the task's own post (the usual step: that post comes first in relation_of too)."""
    if row.post_code in staff_posts(session, actor.staff_id):
        return row.post_code
    return relation_of(session, row, actor).acting_post


def require_claim(session: Session, actor: Actor, row: WorkTask) -> str:
    """Claiming needs the task's post (or its B角 delegation); that someone claimed it already is
    a state conflict the runtime answers (409), not a permission."""
    acting_post = acting_post_of(session, row, actor)
    if acting_post is None:
        raise Refused(Action.ACT, f"您不在任务「{row.name}」的承办岗位上", [f"task.post: {row.post_code}"])
    return acting_post


def require_receive_transfer(session: Session, actor: Actor, row: WorkTask) -> None:
    """Accepting or refusing a pending transfer: a holder of the post it goes to."""
    if row.transfer_to_post not in staff_posts(session, actor.staff_id):
        raise Refused(Action.RECEIVE_TRANSFER, f"转办对象是岗位 {row.transfer_to_post}，您不在该岗位",
                      [f"task.transfer_to_post: {row.transfer_to_post}"])


def require_delegate(session: Session, actor: Actor, row: WorkTask, backup: str) -> None:
    """AB角: the holder, the B角 post's staff taking it over, or the efficiency office."""
    relation = relation_of(session, row, actor)
    if not (relation.can_act or backup in staff_posts(session, actor.staff_id) or relation.supervisor):
        raise Refused(Action.DELEGATE, f"您不在任务「{row.name}」的承办岗位或其 B角岗位上", [f"task.post: {row.post_code}"])


def require_copy(session: Session, actor: Actor, row: WorkTask) -> Relation:
    relation = relation_of(session, row, actor)
    if not (relation.can_act or relation.supervisor):
        raise Refused(Action.COPY, f"您不在任务「{row.name}」的承办岗位上，不能抄送", [f"task.post: {row.post_code}"])
    return relation


def require_withdraw(actor: Actor, row: WorkTask) -> None:
    """Only the person who completed a step may take it back."""
    if row.completed_by and row.completed_by != actor.username:
        raise Refused(Action.WITHDRAW, "只能撤回自己办结的步骤", [f"task.completed_by: {row.completed_by}"])


# ---------------------------------------------------------------- case clocks


def handled_case(session: Session, actor: Actor, instance_id: int) -> bool:
    """Whether the case is the actor's own: they started it, completed or claimed a step of it, or
    hold a post a step of it was assigned to (handler, B角 or transfer; a copy is not handling)."""
    started = session.scalars(select(col(ProcessInstance.started_by)).where(col(ProcessInstance.id) == instance_id)).first()
    if started == actor.username:
        return True
    touched = session.scalar(select(func.count()).select_from(WorkTask).where(
        col(WorkTask.instance_id) == instance_id, HANDLING_STEP,
        or_(col(WorkTask.completed_by) == actor.username, col(WorkTask.claimed_by) == actor.username)))
    if touched:
        return True
    held = sorted(staff_posts(session, actor.staff_id))
    if not held:
        return False
    return bool(session.scalar(
        select(func.count()).select_from(TaskAssignment).join(WorkTask, col(WorkTask.id) == col(TaskAssignment.task_id))
        .where(col(WorkTask.instance_id) == instance_id, HANDLING_STEP, col(TaskAssignment.post_code).in_(held),
               col(TaskAssignment.kind).in_((HANDLER, BACKUP, TRANSFER)))
    )) or bool(session.scalar(
        select(func.count()).select_from(WorkTask)
        .where(col(WorkTask.instance_id) == instance_id, HANDLING_STEP, col(WorkTask.post_code).in_(held))
    ))


# Steps that oversee a case rather than handle it: deciding an extension (延期审批) makes nobody
# the case's handler, else the head deciding it would be barred by their own step.
OVERSIGHT_STAGES = ("延期审批",)
HANDLING_STEP = or_(col(WorkTask.stage).is_(None), col(WorkTask.stage).not_in(OVERSIGHT_STAGES))


def require_signed_in(actor: Actor | None, action: Action) -> Actor:
    """The actor, when there is one: an engine call on behalf of nobody is refused (403)."""
    if actor is None:
        raise Refused(action, "需要登录", [])
    return actor


def require_adjust_clock(session: Session, actor: Actor, case: CaseDeadline) -> None:
    """Pause, resume, restart by hand: the efficiency office, the case's department head or unit
    head, or the holders of the case's posts (who record the hearing or the corrected materials)."""
    instance_id = case.instance_id
    if is_supervisor(actor):
        return
    held = staff_posts(session, actor.staff_id)
    heads = set(unit_head_posts(session, case.unit_code))
    head = department_head_post(session, case.department_code)
    if head:
        heads.add(head)
    if heads & held or handled_case(session, actor, instance_id):
        return
    raise Refused(Action.ADJUST_CLOCK, "无权调整该事项的计时",
                  [f"{actor.username}：不是承办岗位、承办单位负责人、部门负责人或效能办"])


def require_request_extension(session: Session, actor: Actor, case: CaseDeadline) -> None:
    """Asking for an extension (申请延期): someone who handles the case (started it, acted on a
    step, or holds a post a step was assigned to), and only where the catalog names the
    department head who would decide it."""
    department = _department_name(session, case.department_code)
    if department_head_post(session, case.department_code) is None:
        raise Refused(Action.REQUEST_EXTENSION,
                      f"权责清单没有指定{department}的负责人岗位（head_post），无人可以审批延期，因此不能申请",
                      [f"departments.{case.department_code or '?'}.head_post: 未指定；请在清单中指定部门负责人岗位"])
    if not handled_case(session, actor, case.instance_id):
        raise Refused(Action.REQUEST_EXTENSION, "只有本件的承办人可以申请延期",
                      [f"{actor.username}：没有经办本件"])


def require_withdraw_application(session: Session, actor: Actor, instance: ProcessInstance) -> None:
    """Recording the applicant's withdrawal (申请人撤回): someone who handles the case — it ends
    the case, so neither a reader nor a coordinator records it for the handler."""
    assert instance.id is not None
    if not handled_case(session, actor, instance.id):
        raise Refused(Action.WITHDRAW_APPLICATION, "只有本件的承办人可以登记申请人撤回",
                      [f"{actor.username}：没有经办本件"])


def require_extension(session: Session, actor: Actor, case: CaseDeadline) -> None:
    """Approving an extension (延期): only the head of the case's department as the catalog names
    it (`head_post`), and never for a case they handle. No head named: nobody may approve."""
    instance_id = case.instance_id
    department = _department_name(session, case.department_code)
    head = department_head_post(session, case.department_code)
    if head is None:
        raise Refused(Action.EXTEND, f"权责清单没有指定{department}的负责人岗位（head_post），无人可以批准延期",
                      [f"departments.{case.department_code or '?'}.head_post: 未指定；请在清单中指定部门负责人岗位"])
    if head not in staff_posts(session, actor.staff_id):
        raise Refused(Action.EXTEND, f"只有{department}负责人（岗位 {head}）可以批准延期",
                      [f"{actor.username}：不在岗位 {head}"])
    if handled_case(session, actor, instance_id):
        raise Refused(Action.EXTEND, "不能批准自己经办的办件延期",
                      [f"{actor.username}：发起、签收、办理过本件，或在本件的承办岗位上"])


# ---------------------------------------------------------------- administration


# Actions decided by the account's role alone: the roles that may (an admin passes every one) and
# how the refusal names them. Everything else in this module also looks at posts, cases and tasks.
OFFICE_ACTIONS: dict[Action, tuple[tuple[str, ...], str]] = {
    Action.DEPLOY: ((), "系统管理员"),
    Action.ENTER_CALENDAR_YEAR: ((), "系统管理员"),
    Action.MANAGE_ACCOUNTS: ((), "系统管理员"),
    Action.IMPORT_CATALOG: ((LEGAL_OFFICE,), "法制办或系统管理员"),
    Action.PUBLISH_CATALOG: ((LEGAL_OFFICE,), "法制办或系统管理员"),
    # The coordinators' dashboard shows metrics and alerts to both offices; the API says the same.
    Action.READ_METRICS: (COORDINATOR_ROLES, "编办、效能办或系统管理员"),
    Action.READ_ALERTS: (COORDINATOR_ROLES, "编办、效能办或系统管理员"),
    Action.HANDLE_ALERTS: (COORDINATOR_ROLES, "编办、效能办或系统管理员"),
    Action.READ_TIMER_QUEUE: ((EFFICIENCY_OFFICE,), "效能办或系统管理员"),
    # 绩效考评 (docs/evaluation.md): the efficiency office runs the year and, for now, enters the
    # scores; the evaluation processes (issue 12 item 3) will let raters score through their steps.
    Action.READ_EVALUATION: ((EFFICIENCY_OFFICE,), "效能办或系统管理员"),
    Action.MANAGE_EVALUATION: ((EFFICIENCY_OFFICE,), "效能办或系统管理员"),
    Action.ENTER_EVALUATION_SCORES: ((EFFICIENCY_OFFICE,), "效能办或系统管理员"),
    # 问责台账 (docs/accountability.md): names, grounds, statements and decisions of people.
    Action.READ_ACCOUNTABILITY: ((EFFICIENCY_OFFICE,), "效能办或系统管理员"),
}


def versions_of_region_in_force(session: Session) -> Any:
    """The ids of the catalog versions of the region whose catalog is in force, as a subquery.

    Heads are heads in the catalog in force; a server may hold other regions' catalogs too (an
    evaluation year of another region), where the same standard codes (民政局 MZ) name other
    departments and other people."""
    in_force = select(col(CatalogVersion.region)).where(col(CatalogVersion.id) == catalog_version_id(session))
    return select(col(CatalogVersion.id)).where(col(CatalogVersion.region) == in_force.scalar_subquery())


def of_region_in_force(session: Session, version_id: int | None) -> bool:
    """Whether a catalog version is of the region whose catalog is in force (an evaluation year's
    catalog: its codes name this region's departments, units and people)."""
    return version_id is not None and bool(session.scalar(
        select(func.count()).where(col(CatalogVersion.id) == version_id,
                                   col(CatalogVersion.id).in_(versions_of_region_in_force(session)))))


def require_unit_evaluation(session: Session, actor: Actor, unit_code: str, *, by_department: bool,
                            year_catalog: int | None) -> None:
    """One unit's evaluation (its scores, grade, staff and the cases behind its objective
    indicators): whoever may read every evaluation (efficiency office, admin), or the unit's own
    head — the holder of a `head: true` post of the unit, or, when the units evaluated are
    departments (a region's year, `by_department`), the holder of the department's `head_post` —
    and only in a year evaluating a catalog of the region in force (`year_catalog`, the year's
    catalog version): a code is a unit of one region, not of every region using the same code."""
    if may(actor, Action.READ_EVALUATION):
        return
    headed = headed_departments(session, actor) if by_department else headed_units_of(session, actor)
    if unit_code not in headed or not of_region_in_force(session, year_catalog):
        raise Refused(Action.READ_UNIT_EVALUATION, "只有效能办、系统管理员或本单位负责人可以查看本单位的绩效考评",
                      [f"{actor.username}：不是 {unit_code} 的负责人"])


def require_ballot(actor: Actor) -> None:
    """满意度测评: only a person (an account bound to a staff id) fills a ballot, and only their own;
    whether they are a rater of the survey is the survey's question (403 there too). An admin
    account without a staff id is nobody and may not vote."""
    if not actor.staff_id:
        raise Refused(Action.CAST_BALLOT, "只有参加测评的工作人员本人可以填写满意度测评表",
                      [f"当前账号 {actor.username} 没有对应的工作人员"])


def may(actor: Actor | None, action: Action) -> bool:
    """Whether the actor may do an office action (menus ask this before offering it)."""
    if actor is None:
        return False
    roles, _who = OFFICE_ACTIONS[action]
    return actor.has_role(*roles) if roles else ADMIN in actor.roles


def require(actor: Actor, action: Action) -> None:
    """Refuse an office action to an actor without the role (routes, pages and CLI ask this)."""
    if not may(actor, action):
        roles, who = OFFICE_ACTIONS[action]
        needed = "、".join(ROLES[role] for role in roles) or ROLES[ADMIN]
        raise Refused(action, f"只有{who}可以{action.label}", [f"当前账号 {actor.username} 需要角色：{needed}"])


def require_deploy(actor: Actor) -> None:
    require(actor, Action.DEPLOY)


def require_metrics(actor: Actor) -> None:
    require(actor, Action.READ_METRICS)


def warning_departments(session: Session, actor: Actor, department: str | None) -> list[str] | None:
    """The departments whose yellow/red matters and escalations (督办) the actor may list:
    None = every department (the coordinating offices, admin); otherwise the departments whose
    `head_post` the actor holds — a department head follows their own department's overdue
    matters. A named `department` outside that set, or nobody's head, is refused: the lists name
    the handlers and the duties of other departments' cases."""
    if actor.has_role(*COORDINATOR_ROLES):
        return [department] if department else None
    headed = sorted(headed_departments(session, actor))
    if not headed:
        raise Refused(Action.READ_WARNINGS, "只有编办、效能办、系统管理员或部门负责人可以查看黄牌、红牌事项",
                      ["actor: 不是协调机构人员，也不是部门负责人"])
    if department is None:
        return headed
    if department not in headed:
        raise Refused(Action.READ_WARNINGS, f"部门负责人只能查看本部门的黄牌、红牌事项（{department} 不是本部门）",
                      [f"department: {department} 不是本人负责的部门"])
    return [department]


def require_timer_queue(actor: Actor) -> None:
    require(actor, Action.READ_TIMER_QUEUE)
