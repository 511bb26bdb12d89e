"""Tables of the runtime timers, deadlines and warnings (SQLModel).

- `runtime_timer`: everything that must happen at a moment — BPMN timers waiting in a workflow
  and the yellow/red warnings of case and stage clocks. Written in the engine step's transaction,
  claimed by workers with a lease, finished with a fenced update. Workers find due rows through
  the (status, due_at) index and never load instances to look for them.
- `case_deadline`: the case clock of one instance (限时办结): its limit, start of counting,
  pauses, restarts, extensions and the computed due / yellow moments.
- `stage_deadline`: one row each time a tracked step (a user task carrying `stage`,
  `stage_limit` or `clock` properties) becomes ready: its own limit and due moment, and whether
  it pauses or restarts the case clock.
- `escalation`: a red case or stage handed to the unit head (督办), visible in the API.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from engine.models.types import AwareDateTime


class TimerStatus:
    pending = "pending"  # waiting for its moment (possibly leased by a worker right now)
    fired = "fired"  # done: the BPMN timer fired / the warning was given
    noop = "noop"  # due, but the workflow no longer waited for it: finished without effect
    cancelled = "cancelled"  # the task stopped waiting before the moment came
    failed = "failed"  # firing raised repeatedly; kept for people to look at


class TimerKind:
    bpmn = "bpmn_timer"  # a timer event waiting inside the workflow
    case_yellow = "case_yellow"
    case_red = "case_red"
    stage_yellow = "stage_yellow"
    stage_red = "stage_red"

    warnings = (case_yellow, case_red, stage_yellow, stage_red)


# Task id used by case-level warning rows (they belong to no single task).
CASE_SUBJECT = "case"


class RuntimeTimer(SQLModel, table=True):
    __tablename__ = "runtime_timer"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id", "kind", "due_at", name="uq_runtime_timer_key"),
        Index("ix_runtime_timer_status_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="process_instance.id", index=True)
    # The SpiffWorkflow task id (UUID text) of the waiting timer or tracked step, or "case".
    task_id: str = Field(max_length=40)
    kind: str = Field(max_length=20)
    # The BPMN element id (timer) or the stage name: shown in listings, not used for logic.
    spec_name: str = Field(default="", max_length=200)
    due_at: datetime = Field(sa_type=AwareDateTime)
    status: str = Field(default=TimerStatus.pending, max_length=12)
    lock_owner: str | None = Field(default=None, max_length=100)
    lock_expires_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_error: str | None = Field(default=None, max_length=2000)


# The open case clocks (the efficiency figures count them live; engine.runtime.rollups).
_OPEN_CASE = text("finished_at IS NULL")


class CaseDeadline(SQLModel, table=True):
    __tablename__ = "case_deadline"
    __table_args__ = (
        Index("ix_case_deadline_open", "created_at", sqlite_where=_OPEN_CASE, postgresql_where=_OPEN_CASE),
    )

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="process_instance.id", unique=True)
    duty_code: str | None = Field(default=None, max_length=100)
    # Who answers for the case (from the duty's unit, or the process data): open yellow/red
    # lists and escalations are grouped by these.
    unit_code: str | None = Field(default=None, max_length=100)
    department_code: str | None = Field(default=None, max_length=100, index=True)
    # The limit as catalogs write it ("5个工作日") and where it came from: committed/statutory/data.
    limit_text: str = Field(max_length=40)
    limit_source: str = Field(max_length=20)
    # Counting runs from here (the day of this moment is not counted); moved by a restart.
    counting_from: datetime = Field(sa_type=AwareDateTime)
    restarts: int = Field(default=0)
    # Approved extensions, each a limit text ("10个工作日"), applied after the limit in order.
    extensions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Office time (seconds) the clock stood still in finished pauses; shifts the due moment.
    paused_seconds: int = Field(default=0)
    paused_since: datetime | None = Field(default=None, sa_type=AwareDateTime)
    pause_reason: str | None = Field(default=None, max_length=200)
    due_at: datetime = Field(sa_type=AwareDateTime)
    yellow_at: datetime = Field(sa_type=AwareDateTime)
    provisional: bool = Field(default=False)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    on_time: bool | None = Field(default=None)
    created_at: datetime = Field(sa_type=AwareDateTime)


class StageDeadline(SQLModel, table=True):
    __tablename__ = "stage_deadline"
    # One row per time a step became ready: a step sent back and redone gets a new row.
    __table_args__ = (Index("ix_stage_deadline_task", "instance_id", "task_id"),)

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="process_instance.id", index=True)
    task_id: str = Field(max_length=40)
    task_spec: str = Field(max_length=200)
    stage: str | None = Field(default=None, max_length=40)
    limit_text: str | None = Field(default=None, max_length=40)
    # "pause" (clock stops while the step is open) or "restart" (count restarts after it) or None.
    clock_mode: str | None = Field(default=None, max_length=12)
    started_at: datetime = Field(sa_type=AwareDateTime)
    due_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    yellow_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    provisional: bool = Field(default=False)
    # open → completed / cancelled (cancelled: interrupted, sent back, or the instance ended).
    status: str = Field(default="open", max_length=12)
    ended_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    overran: bool = Field(default=False)


class Escalation(SQLModel, table=True):
    __tablename__ = "escalation"
    __table_args__ = (UniqueConstraint("instance_id", "subject", "kind", "due_at", name="uq_escalation_key"),)

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="process_instance.id", index=True)
    subject: str = Field(max_length=40)  # "case" or the task id of the overrun stage
    kind: str = Field(max_length=20)  # case_red / stage_red
    stage: str | None = Field(default=None, max_length=40)
    due_at: datetime = Field(sa_type=AwareDateTime)
    # Unit head posts the matter is escalated to (督办), resolved through the catalog.
    to_posts: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    unit_code: str | None = Field(default=None, max_length=100)
    department_code: str | None = Field(default=None, max_length=100, index=True)
    created_at: datetime = Field(sa_type=AwareDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
