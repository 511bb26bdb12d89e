"""The limits clocks count: a case's limit from the catalog or its data, and a workflow's stage limits.

Step properties (spiffworkflow properties on a user task, `task_spec.extensions["properties"]`):
- `stage`: the stage the step belongs to (受理 / 审查 / 决定 / 送达 …), shown in listings;
- `stage_limit`: the stage's own limit as catalogs write it (`2个工作日`); stage limits in the
  case limit's unit that add up to more than it are scaled down to add up to it exactly, so one
  process serves duties with different limits; `无` gives the step no clock;
- `clock`: `pause` — the case clock stands still while the step is open (hearing, testing,
  expert review; 行政许可法 §45), for the reason `pause_reason` gives (`$field`: the value of
  that data field, e.g. `$special_procedure` = `hearing`); `correction` — the step waits for the
  applicant's corrected materials (补正): if the one-time notice before it came within the duty's
  notice limit (5个工作日 from receipt unless the catalog says otherwise, 行政许可法 §32) the case
  clock stands still while it is open and the count starts afresh from the day after it
  completes; a later notice is recorded (`notice_late`) and neither stops nor restarts the clock.

The case limit is the duty's committed limit in the catalog version in force (`data["duty_code"]`),
else its statutory limit, else `data["limit"]` ("5个工作日"). Limits are read as real tables
write them (engine.calendar.limits.read_limit): 即办 ends at the close of the receiving day, months
by 民法典 §201–203, a bracketed note is kept, and a duty whose limit is 无 gets no clock at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from engine.calendar.limits import LimitKind, ParsedLimit, format_limit, read_limit
from engine.calendar.units import LimitUnit, TimeLimit
from engine.catalog import service as catalog
from engine.catalog.cells import parsed_limit
from engine.catalog.in_force import catalog_version_id
from engine.errors import InvalidInput, NotFound
from engine.models.runtime import ProcessInstance
from engine.models.timers import CaseDeadline
from engine.runtime.clocks.arithmetic import DeclaredLimit, allocate_stage_limits

PAUSE = "pause"
# The BPMN value of the step that waits for 补正: after a timely 一次性告知 the case clock stands
# still while it is open (pause reason `correction`), and when it completes the count starts
# afresh (重新计时). `restart` is how definitions deployed before issue 14 spell it.
CORRECTION = "correction"
RESTART = "restart"
CORRECTION_MODES = (CORRECTION, RESTART)
CLOCK_MODES = (PAUSE, CORRECTION, RESTART)
# A step that pauses may name the data field that says why (`pause_reason="$special_procedure"`).
PAUSE_REASON = "pause_reason"

# pause_reason of a case clock waiting for 补正 (set only after a timely notice).
CORRECTION_REASON = "correction"
# The reasons a clock stands still, as people read them.
PAUSE_REASON_NAMES = {
    CORRECTION_REASON: "等待补正材料",
    "hearing": "听证",
    "expert_review": "专家评审",
    "testing": "检验检测",
    "appraisal": "鉴定",
    "tender": "招标拍卖",
}
# 行政许可法 §32: missing materials are told on the spot or within five days (working days, §82).
DEFAULT_NOTICE_LIMIT = ParsedLimit(LimitKind.working_days, 5, text="5个工作日")


def waiting_for_correction(case: Any) -> bool:
    """Whether a case clock stands still waiting for the applicant's corrected materials."""
    return case.paused_since is not None and case.pause_reason == CORRECTION_REASON


def pause_reason_name(reason: str | None) -> str | None:
    """A pause reason as people read it (the stored code, or free text given by a person)."""
    if reason is None:
        return None
    return PAUSE_REASON_NAMES.get(reason, reason.removeprefix(MANUAL_PAUSE_PREFIX))


# A pause asked for through the API is ended only through the API, never by a step closing.
MANUAL_PAUSE_PREFIX = "人工暂停："

# case_deadline.limit_text / stage_deadline.limit_text hold at most this many characters.
LIMIT_TEXT_LENGTH = 40


# ---------------------------------------------------------------- step properties
def step_properties(task_spec: Any) -> dict[str, str]:
    """The spiffworkflow properties of a task spec, as text ({} when it has none)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    properties = extensions.get("properties") or {}
    return {str(k): str(v) for k, v in properties.items()}


def tracked(task_spec: Any) -> bool:
    """Whether a step has a clock of its own or acts on the case clock."""
    props = step_properties(task_spec)
    return bool(props.get("stage") or props.get("stage_limit") or props.get("clock"))


def check_step_properties(task_spec: Any, where: str) -> list[str]:
    """Problems in a task's timing properties (deployment checks them)."""
    props = step_properties(task_spec)
    problems = []
    if props.get("stage_limit"):
        try:
            read_limit(props["stage_limit"])
        except InvalidInput:
            problems.append(f"{where}：stage_limit {props['stage_limit']!r} 不是有效的时限（如“2个工作日”）")
    if props.get("clock") and props["clock"] not in CLOCK_MODES:
        problems.append(f"{where}：clock 只能是 pause（暂停计时）或 correction（等待补正、补正后重新计时），"
                        f"而不是 {props['clock']!r}")
    return problems


# ---------------------------------------------------------------- stage limits of a workflow
@dataclass(frozen=True)
class StageFacts:
    """What a process spec (with its subprocess specs) says about stage clocks."""

    has_tracked_steps: bool
    declared: tuple[DeclaredLimit, ...]  # (task spec name, value, kind) of each step with a stage_limit


# Facts by top-level process spec: computed on first use, kept as long as the spec object lives
# (specs are immutable per definition version and held by engine.runtime.serializer.SPEC_CACHE).
STAGE_FACTS: WeakKeyDictionary[Any, StageFacts] = WeakKeyDictionary()


def stage_facts(workflow: Any) -> StageFacts:
    facts = STAGE_FACTS.get(workflow.spec)
    if facts is None:
        specs = [workflow.spec, *getattr(workflow, "subprocess_specs", {}).values()]
        declared = []
        has_tracked = False
        for spec in specs:
            for name, task_spec in spec.task_specs.items():
                has_tracked = has_tracked or tracked(task_spec)
                text = step_properties(task_spec).get("stage_limit")
                if text:
                    limit = read_limit(text)
                    declared.append((name, limit.value, limit.kind.value))
        facts = STAGE_FACTS[workflow.spec] = StageFacts(has_tracked, tuple(declared))
    return facts


def has_tracked_steps(workflow: Any) -> bool:
    return stage_facts(workflow).has_tracked_steps


def stage_limits(workflow: Any, case_limit: TimeLimit | ParsedLimit | None) -> dict[str, ParsedLimit]:
    """Each tracked step's own limit; scaled down to add up to the case limit when they exceed it.

    A case that has no clock (无) has no stage clocks either; in a same-day case (即办) every stage
    ends by the close of the day it started. A stage_limit of `无` gives that step no clock.
    """
    declared = stage_facts(workflow).declared
    if case_limit is not None:
        case_limit = parsed_limit(case_limit) if isinstance(case_limit, TimeLimit) else case_limit
        if not case_limit.has_clock:
            return {}
        if case_limit.kind is LimitKind.same_day:
            return {name: ParsedLimit(LimitKind.same_day, text="即办") for name, _, kind in declared
                    if kind != LimitKind.none}
        if declared:
            declared = allocate_stage_limits(declared, (case_limit.value, case_limit.kind.value))
    return {name: stage_limit(value, kind) for name, value, kind in declared if kind != LimitKind.none}


def stage_limit(value: int, kind: str) -> ParsedLimit:
    limit = ParsedLimit(LimitKind(kind), value)
    return ParsedLimit(limit.kind, limit.value, text=format_limit(limit))


# ---------------------------------------------------------------- the case's limit
# The case clock row of an instance (`instance_id`), the one query for it.
CASE_OF_INSTANCE = select(CaseDeadline).where(col(CaseDeadline.instance_id) == bindparam("instance_id"))


@dataclass(frozen=True)
class CaseLimit:
    limit: ParsedLimit  # kind `none` (无): the duty has no clock, the case gets none
    source: str  # committed / statutory / data
    duty_code: str | None
    unit_code: str | None
    department_code: str | None


def clock_limit_text(limit: ParsedLimit) -> str:
    """The limit a clock keeps and shows, note included (`15个工作日（不含公示时间）`).

    It reads back (`read_limit`, no category) to the same limit: a §82 `20日` is kept as
    `20个工作日`. A note too long for the column is shortened with `…`, never cut mid-bracket.
    """
    text = format_limit(limit)
    if len(text) <= LIMIT_TEXT_LENGTH or not limit.note:
        return text
    bare = format_limit(ParsedLimit(limit.kind, limit.value))
    room = LIMIT_TEXT_LENGTH - len(bare) - 3  # the brackets and the ellipsis
    return f"{bare}（{limit.note[:max(room, 0)]}…）"


def resolve_case_limit(session: Session, data: dict[str, Any]) -> CaseLimit | None:
    """The limit of a case: the duty's committed limit, else its statutory one, else data["limit"]."""
    duty_code = data.get("duty_code") or None
    unit_code = data.get("unit_code") or None
    department_code = data.get("department_code") or None
    if duty_code:
        duty = duty_limits(session, str(duty_code))
        if duty is not None:
            committed, statutory, duty_units, duty_department = duty
            # The catalog says who answers for a duty's case, not the start data: its department
            # (whose head alone may extend it) and one of its units (the data may pick which).
            department_code = duty_department
            unit_code = unit_code if unit_code in duty_units else (duty_units[0] if duty_units else None)
            for limit, source in ((committed, "committed"), (statutory, "statutory")):
                if limit is not None:
                    return CaseLimit(parsed_limit(limit), source, str(duty_code), unit_code, department_code)
    if data.get("limit"):
        return CaseLimit(read_limit(str(data["limit"])), "data", duty_code, unit_code, department_code)
    return None


DutyLimits = tuple[TimeLimit | None, TimeLimit | None, list[str], str]


def duty_limits(session: Session, duty_code: str) -> DutyLimits | None:
    """(committed, statutory, unit codes, department code) of a duty in the catalog version in force."""
    version_id = catalog_version_id(session)
    if version_id is None:
        return None
    try:
        duty = catalog.get_duty(session, version_id, duty_code)
    except NotFound:
        return None
    return duty.committed_limit, duty.statutory_limit, list(duty.units), duty.department


def notice_limit(session: Session, duty_code: str | None) -> ParsedLimit:
    """How long after receipt the one-time notice may come: the duty's `notice_limit`, else 5个工作日."""
    duty = duty_in_force(session, duty_code)
    if duty is not None and duty.notice_limit is not None:
        return parsed_limit(duty.notice_limit)
    return DEFAULT_NOTICE_LIMIT


def duty_in_force(session: Session, duty_code: str | None) -> Any:
    """The duty (engine.catalog.document.Duty) in the catalog version in force, or None."""
    version_id = catalog_version_id(session)
    if not duty_code or version_id is None:
        return None
    try:
        return catalog.get_duty(session, version_id, duty_code)
    except NotFound:
        return None


def counted(limit: ParsedLimit) -> TimeLimit | None:
    """A limit counted in days, hours or months as the catalog's TimeLimit; None for 即办 and 无."""
    if limit.kind in (LimitKind.same_day, LimitKind.none):
        return None
    return TimeLimit(value=limit.value, unit=LimitUnit(limit.kind.value))


def case_data(instance_row: Any, workflow: Any) -> dict[str, Any]:
    """The data the instance started with (duty_code, limit, unit_code …)."""
    data = getattr(instance_row, "start_data", None)
    if isinstance(data, dict) and data:
        return data
    if workflow is None:
        return {}
    for task in workflow.tasks.values():
        if task.task_spec.name == "Start":
            start: dict[str, Any] = task.data
            return start
    return {}


def untimed_reason(session: Session, instance: ProcessInstance) -> tuple[CaseLimit | None, str]:
    """The limit the instance's duty or start data gives (None when none does) and why it has no clock."""
    data = dict(instance.start_data or {})
    if instance.duty_code:
        data.setdefault("duty_code", instance.duty_code)
    try:
        resolved = resolve_case_limit(session, data)
    except InvalidInput:
        resolved = None  # a start limit the current rules cannot read: the case has no clock either way
    if resolved is None:
        return None, "事项无时限且启动数据未给出时限"
    if not resolved.limit.has_clock:
        return resolved, "事项无法定时限"
    # The duty has a limit now but the case has no clock: it started before the catalog gave one,
    # or its process has no timed step. Its clock is not invented afterwards.
    return resolved, "本件未计时（启动时事项无时限或流程不计时）"
