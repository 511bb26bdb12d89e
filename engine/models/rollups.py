"""Rollups of the efficiency figures (SQLModel): sums kept in each step's transaction so that a
year's figures read a few thousand rows instead of every case and step (issue 12 item 6).

They hold only what can no longer change: a step once it is completed, a case once its clock has
stopped. Open steps and open cases are counted live (their colours depend on the moment anyway),
so no correction of an open case or step — a pause, an extension, a restart, a send-back, a
withdrawal — ever has to be taken back out of a rollup. engine/runtime/rollups.py writes them and
says which statement is the only source of their numbers.

- `step_rollup`: completed steps per (post, process, Beijing day the step became ready,
  working-time bucket). The bucket (engine.runtime.rollups.BUCKET_BOUNDS, log-spaced) is for the
  90th percentile; the counts and sums are exact whatever the bucket.
- `step_month_rollup`: the same by Beijing month, for long periods.
- `case_rollup`: finished cases per (department, unit, process, Beijing day the instance started,
  Beijing day the case clock started) — the 办件 figures count by the first day, 高效履职 by the
  second; they are the same day but for a clock that started in a later step.
- `instance_rollup`: ended instances (completed or failed) per (process, duty, department and unit
  of the case clock, Beijing day the instance started, whether it has a case clock) — 常规工作 counts
  a year's cases per duty from it, and the 办件 figures the instances without a clock.

Keys are never NULL ('' stands for "not in the catalog" / "no working time logged"), so the unique
constraint that ON CONFLICT needs matches them on SQLite and PostgreSQL alike. Days are text
'YYYY-MM-DD' (Beijing), compared as strings.
"""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

STEP_ROLLUP_KEY = ("post_code", "process_id", "ready_day", "bucket")
STEP_MONTH_ROLLUP_KEY = ("post_code", "process_id", "ready_month", "bucket")
CASE_ROLLUP_KEY = ("department_code", "unit_code", "process_id", "started_day", "created_day")
INSTANCE_ROLLUP_KEY = ("process_id", "duty_code", "department_code", "unit_code", "started_day", "timed")


class StepRollup(SQLModel, table=True):
    __tablename__ = "step_rollup"
    __table_args__ = (UniqueConstraint(*STEP_ROLLUP_KEY, name="uq_step_rollup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    # The post that completed the step (else the post it was assigned to).
    post_code: str = Field(max_length=100)
    process_id: str = Field(max_length=200)
    ready_day: str = Field(max_length=10)
    # Working-time bucket of the step; -1: no `completed` event with a working time.
    bucket: int
    completed: int = Field(default=0)
    with_stage_limit: int = Field(default=0)
    on_time: int = Field(default=0)
    # Sum of the working seconds of the steps of the row (those with a working time: bucket ≥ 0).
    working_seconds: float = Field(default=0.0)


class StepMonthRollup(SQLModel, table=True):
    """`step_rollup` summed by Beijing month ('YYYY-MM'): a year's figures read a dozen months per
    post and bucket, and only the days of a period outside whole months come from `step_rollup`."""

    __tablename__ = "step_month_rollup"
    __table_args__ = (UniqueConstraint(*STEP_MONTH_ROLLUP_KEY, name="uq_step_month_rollup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    post_code: str = Field(max_length=100)
    process_id: str = Field(max_length=200)
    ready_month: str = Field(max_length=7)
    bucket: int
    completed: int = Field(default=0)
    with_stage_limit: int = Field(default=0)
    on_time: int = Field(default=0)
    working_seconds: float = Field(default=0.0)


class CaseRollup(SQLModel, table=True):
    __tablename__ = "case_rollup"
    __table_args__ = (UniqueConstraint(*CASE_ROLLUP_KEY, name="uq_case_rollup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    department_code: str = Field(max_length=100)
    unit_code: str = Field(max_length=100)
    process_id: str = Field(max_length=200)
    started_day: str = Field(max_length=10)
    created_day: str = Field(max_length=10)
    finished: int = Field(default=0)
    on_time: int = Field(default=0)
    late: int = Field(default=0)
    # Timing events of these cases (`extended`, `notice_late`): how many, and on how many cases.
    extensions: int = Field(default=0)
    extended_cases: int = Field(default=0)
    notices_late: int = Field(default=0)
    notice_late_cases: int = Field(default=0)


class InstanceRollup(SQLModel, table=True):
    """Ended instances: an instance ends once (`ended_at` is set when it completes or fails and never
    cleared), and its case clock — or the lack of one — and the clock's unit are final by then."""

    __tablename__ = "instance_rollup"
    __table_args__ = (UniqueConstraint(*INSTANCE_ROLLUP_KEY, name="uq_instance_rollup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    process_id: str = Field(max_length=200)
    # The instance's duty ('' none) and its case clock's department and unit ('' none or no clock).
    duty_code: str = Field(max_length=100)
    department_code: str = Field(max_length=100)
    unit_code: str = Field(max_length=100)
    started_day: str = Field(max_length=10)
    # Whether the instance has a case clock (a `case_deadline` row).
    timed: bool
    ended: int = Field(default=0)
