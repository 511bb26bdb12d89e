"""Tables of the runtime core (SQLModel): definitions, instances, tasks at posts, the timing log.

Migration: engine/migrations/versions/0003_runtime.py builds these tables; 0017 adds
`work_task.stage_deadline_id`, 0018 the index of the running instances.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from engine.models.types import AwareDateTime

# Instance status
RUNNING = "running"
SUSPENDED = "suspended"
COMPLETED = "completed"
FAILED = "failed"
INSTANCE_STATUSES = (RUNNING, SUSPENDED, COMPLETED, FAILED)

# Task row status: open tasks are READY; a closed task says why in `closed_reason`.
TASK_READY = "ready"
TASK_COMPLETED = "completed"
TASK_CANCELLED = "cancelled"

# Assignment kinds: who may see / act on a task row.
HANDLER = "handler"  # the post(s) the lane resolved to (or that accepted a transfer)
BACKUP = "backup"  # the B角 post a task was delegated to
TRANSFER = "transfer"  # a post asked to take the task over (pending acceptance)
READER = "reader"  # 抄送: may read and comment, not act


class ProcessDefinition(SQLModel, table=True):
    """One immutable version of one BPMN process; the parsed spec is serialized once, here."""

    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("process_id", "version", name="uq_process_definition_version"),
        UniqueConstraint("process_id", "content_hash", name="uq_process_definition_content"),
    )

    id: int | None = Field(default=None, primary_key=True)
    process_id: str = Field(max_length=200, index=True)
    version: int
    name: str = Field(max_length=200)
    filename: str = Field(max_length=300)
    content_hash: str = Field(max_length=64)
    # Large texts stay out of repr() so logs and error messages remain readable.
    bpmn_xml: str = Field(sa_column=Column(Text, nullable=False), repr=False)
    spec_json: str = Field(sa_column=Column(Text, nullable=False), repr=False)
    deployed_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    deployed_by: str = Field(max_length=150)


# The running instances (ended_at not set): the efficiency figures count them live (engine.runtime.rollups).
_RUNNING_INSTANCE = text("ended_at IS NULL")


class ProcessInstance(SQLModel, table=True):
    """A running or finished case; `state_json` is the workflow without its spec."""

    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_running", "started_at", sqlite_where=_RUNNING_INSTANCE,
              postgresql_where=_RUNNING_INSTANCE),
    )

    id: int | None = Field(default=None, primary_key=True)
    definition_id: int = Field(foreign_key="process_definition.id", index=True)
    process_id: str = Field(max_length=200, index=True)
    status: str = Field(default=RUNNING, max_length=20, index=True)
    duty_code: str | None = Field(default=None, max_length=100, index=True)
    subject: str = Field(default="", max_length=300)
    start_data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state_json: str = Field(sa_column=Column(Text, nullable=False), repr=False)
    # Optimistic lock: the mapper's version column (below), so every ORM update of the row is
    # UPDATE ... SET version = :v + 1 WHERE id = :id AND version = :v (0 rows: StaleDataError).
    version: int = Field(default=1)
    started_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    started_by: str = Field(max_length=150)
    starter_staff_id: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    ended_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class WorkTask(SQLModel, table=True):
    """A human task (BPMN user/manual task) while it is, or after it was, ready at a post."""

    __tablename__ = "work_task"
    __table_args__ = (Index("ix_work_task_instance_status", "instance_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="process_instance.id", index=True)
    spiff_task_id: str = Field(max_length=36, index=True)
    task_spec: str = Field(max_length=200)
    name: str = Field(max_length=200)
    lane: str | None = Field(default=None, max_length=200)
    stage: str | None = Field(default=None, max_length=50)
    status: str = Field(default=TASK_READY, max_length=20, index=True)
    # The responsible post: the first post the lane resolved to, or the post that accepted a transfer.
    post_code: str | None = Field(default=None, max_length=100, index=True)
    ready_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    claimed_by: str | None = Field(default=None, max_length=150)
    claimed_staff_id: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    transfer_to_post: str | None = Field(default=None, max_length=100)
    transfer_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delegated_post: str | None = Field(default=None, max_length=100)
    urge_count: int = Field(default=0)
    completed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    completed_by: str | None = Field(default=None, max_length=150)
    completed_staff_id: str | None = Field(default=None, max_length=100)
    completed_post: str | None = Field(default=None, max_length=100)
    # completed / sent_back / withdrawn / cancelled (boundary event, instance ended …)
    closed_reason: str | None = Field(default=None, max_length=30)
    form_data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The stage row (`stage_deadline.id`) opened for this readiness of the step, written in the step
    # that inserts both (engine.runtime.clocks.sync); NULL: the step has no stage row. The figures
    # join an open step to its stage limit by this key (migration 0017). No foreign key: the stage
    # table is declared with the clocks, and the row is never deleted.
    stage_deadline_id: int | None = Field(default=None)


class TaskAssignment(SQLModel, table=True):
    """Which posts see a task and why (handler, backup, transfer, reader); drives the inbox."""

    __tablename__ = "task_assignment"
    __table_args__ = (UniqueConstraint("task_id", "post_code", "kind", name="uq_task_assignment"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="work_task.id", index=True)
    post_code: str = Field(max_length=100, index=True)
    kind: str = Field(max_length=20)
    created_at: datetime = Field(sa_type=AwareDateTime, nullable=False)


class TimingEvent(SQLModel, table=True):
    """Append-only timing log: who did what to which task when, and how long it had taken."""

    __tablename__ = "timing_event"
    # (kind, at), not kind alone: the figures ask for one kind of event in a period (推诿: the
    # transfers of a year), and every question by kind alone uses its first column as before.
    __table_args__ = (Index("ix_timing_event_kind_at", "kind", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="process_instance.id", index=True)
    task_id: int | None = Field(default=None, foreign_key="work_task.id", index=True)
    kind: str = Field(max_length=30)
    at: datetime = Field(sa_type=AwareDateTime, nullable=False, index=True)
    actor: str | None = Field(default=None, max_length=150)
    staff_id: str | None = Field(default=None, max_length=100)
    post_code: str | None = Field(default=None, max_length=100, index=True)
    target_post: str | None = Field(default=None, max_length=100)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Elapsed since the task became ready (task events) or the instance started (instance events).
    wall_seconds: float | None = None
    working_seconds: float | None = None
