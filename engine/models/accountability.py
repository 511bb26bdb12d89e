"""Tables of 问责 (the accountability ledger) and of the year-end 满意度测评 (satisfaction survey).

Migration: engine/migrations/versions/0013_accountability.py builds exactly these tables.

- `accountability_action`: one decision of the `accountability` process (docs/accountability.md):
  who (staff id, name, post, unit, department at the time), for what (the ground: a red card or a
  一次性告知 violation — a timing event of a case —, an upheld complaint or a failed rectification —
  a step of an efficiency_complaint / self_inspection_campaign instance), the person's statement
  (申辩), the decision (a sanction kind, or none) with reasons, who decided and when. Written once
  when the decision is taken, never updated. `counts_for_evaluation` says whether the sanction is
  a 处分 the downgrade rules read (engine.evaluation.service.sanctions_for), `year` is the
  calendar year (Beijing) of the decision: the evaluation year it weighs on.
- `evaluation_survey`: one year-end satisfaction survey of an evaluation year (its units or its
  staff are rated); `leaders` are the staff ids of the 领导班子, every other rater is 中层以下.
- `evaluation_ballot`: one rater's ballot (one per rater and survey: a unique key), with the
  rater's group; `evaluation_ballot_item`: one score of the ballot (value in hundredths). Ballots
  are never returned to anyone but their rater; the tally averages them per group in SQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.models.types import AwareDateTime

# Outcome of an accountability decision
SANCTIONED = "sanction"
NO_SANCTION = "none"

# Survey status and rater groups
SURVEY_OPEN = "open"
SURVEY_CLOSED = "closed"
LEADER = "leader"  # 领导班子
OTHER = "other"  # 中层以下人员


class AccountabilityAction(SQLModel, table=True):
    __tablename__ = "accountability_action"
    __table_args__ = (UniqueConstraint("instance_id", name="uq_accountability_action_instance"),)

    id: int = Field(default=None, primary_key=True)
    # The accountability process instance that decided it (one decision per instance).
    instance_id: int = Field(foreign_key="process_instance.id")
    staff_id: str = Field(max_length=100, index=True)
    staff_name: str = Field(max_length=200)
    post_code: str = Field(max_length=100)
    unit_code: str | None = Field(default=None, max_length=100)
    department_code: str | None = Field(default=None, max_length=100)
    # red_card / notice_violation / upheld_complaint / failed_rectification
    ground_kind: str = Field(max_length=30)
    ground_instance_id: int = Field(foreign_key="process_instance.id", index=True)
    ground_event_id: int | None = Field(default=None, foreign_key="timing_event.id")
    ground_task_id: int | None = Field(default=None, foreign_key="work_task.id")
    grounds: str = Field(sa_column=Column(Text, nullable=False))
    opened_by: str = Field(max_length=150)
    opened_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    statement: str = Field(sa_column=Column(Text, nullable=False))
    statement_by: str = Field(max_length=150)
    statement_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    outcome: str = Field(max_length=10)
    sanction_kind: str | None = Field(default=None, max_length=30)
    counts_for_evaluation: bool = False
    reasons: str = Field(sa_column=Column(Text, nullable=False))
    decided_by: str = Field(max_length=150)
    decided_post: str | None = Field(default=None, max_length=100)
    decided_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    year: int = Field(index=True)


class EvaluationSurvey(SQLModel, table=True):
    __tablename__ = "evaluation_survey"

    id: int = Field(default=None, primary_key=True)
    year_id: int = Field(foreign_key="evaluation_year.id", index=True)
    instance_id: int | None = Field(default=None, foreign_key="process_instance.id")
    subject: str = Field(max_length=10)  # unit / staff: who is rated
    leaders: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    leader_indicator: str = Field(max_length=100)
    staff_indicator: str = Field(max_length=100)
    status: str = Field(default=SURVEY_OPEN, max_length=10)
    opened_by: str = Field(max_length=150)
    opened_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class EvaluationBallot(SQLModel, table=True):
    __tablename__ = "evaluation_ballot"
    __table_args__ = (UniqueConstraint("survey_id", "rater_staff_id", name="uq_evaluation_ballot_rater"),)

    id: int = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="evaluation_survey.id", index=True)
    rater_staff_id: str = Field(max_length=100)
    rater_group: str = Field(max_length=10)
    submitted_at: datetime = Field(sa_type=AwareDateTime, nullable=False)


class EvaluationBallotItem(SQLModel, table=True):
    __tablename__ = "evaluation_ballot_item"

    id: int = Field(default=None, primary_key=True)
    ballot_id: int = Field(foreign_key="evaluation_ballot.id", index=True)
    survey_id: int = Field(foreign_key="evaluation_survey.id", index=True)
    rater_group: str = Field(max_length=10)
    subject_code: str = Field(max_length=100)
    value_cents: int  # the score × 100 (0–10000)
