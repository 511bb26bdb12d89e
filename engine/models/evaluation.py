"""Tables of 绩效考评 (evaluation): a year, its indicator trees, who is evaluated, plans, scores,
sanctions that feed the downgrade rules, and results.

Migration: engine/migrations/versions/0011_evaluation.py builds exactly these tables.

- `evaluation_year`: one evaluation year of a department (its 内设机构 are the units evaluated,
  their staff the people) or of a region (its departments are the units); status draft → open →
  closed. The trees may change only while the year is a draft; scores are entered while it is open;
  publishing closes it.
- `evaluation_indicator`: one node of an indicator tree (subject `unit` or `staff`). `weight_bp`
  is the node's share of its parent in basis points (10000 = 100 %), so the weights are exact
  integers; every level sums to 10000 (engine.evaluation.scheme checks it). `kind` is `group` for
  an inner node, `subjective` for a leaf people score, `objective` for a leaf computed from the
  record by `formula` (engine.evaluation.indicators).
- `evaluation_subject`: a unit or a person evaluated in the year (code = unit code or staff id).
- `evaluation_plan`: a unit's 目标计划书 for the year.
- `evaluation_score`: one leaf's score of one unit or person, an exact fraction
  (`value_num`/`value_den`): an entered score has at most two decimals (den 100), a computed one
  keeps its fraction (2/3 of 100 stays 200/3). Entered again, the row is replaced (who and when
  with it); the tamper-evident history is issue 12 item 5.
- `evaluation_sanction`: what the downgrade rules read (a person punished for a violation, a unit's
  major accident). Entered by the efficiency office for now; the accountability ledger (issue 12
  item 4) will write these rows from its decisions.
- `evaluation_result`: a unit's or a person's total (exact fraction), grade before and after the
  downgrade rules, and the use of results (先进, 优秀个人 candidate, 重点整改单位).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.models.types import AwareDateTime

# Year status
YEAR_DRAFT = "draft"
YEAR_OPEN = "open"
YEAR_CLOSED = "closed"
YEAR_STATUSES = (YEAR_DRAFT, YEAR_OPEN, YEAR_CLOSED)

# Scope of a year
SCOPE_DEPARTMENT = "department"
SCOPE_REGION = "region"

# Who is evaluated
SUBJECT_UNIT = "unit"
SUBJECT_STAFF = "staff"
SUBJECTS = (SUBJECT_UNIT, SUBJECT_STAFF)

# Indicator kinds
GROUP = "group"
SUBJECTIVE = "subjective"
OBJECTIVE = "objective"
INDICATOR_KINDS = (GROUP, SUBJECTIVE, OBJECTIVE)

# Score sources
ENTERED = "entered"
COMPUTED = "computed"

# Sanction kinds read by the downgrade rules
PUNISHED = "punished"  # a person punished for a violation of discipline or law (staff)
MAJOR_ACCIDENT = "major_accident"  # a major accident with serious effects (unit)
SANCTION_KINDS = (PUNISHED, MAJOR_ACCIDENT)


class EvaluationYear(SQLModel, table=True):
    __tablename__ = "evaluation_year"
    __table_args__ = (UniqueConstraint("scope_kind", "scope_code", "year", name="uq_evaluation_year_scope"),)

    id: int = Field(default=None, primary_key=True)
    scope_kind: str = Field(max_length=20)
    # The department code, or the region's name.
    scope_code: str = Field(max_length=200)
    scope_name: str = Field(max_length=300)
    year: int
    status: str = Field(default=YEAR_DRAFT, max_length=12)
    catalog_version_id: int | None = Field(default=None, foreign_key="catalog_version.id")
    created_by: str = Field(max_length=150)
    created_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    opened_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    computed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    published_by: str | None = Field(default=None, max_length=150)
    published_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class EvaluationIndicator(SQLModel, table=True):
    __tablename__ = "evaluation_indicator"
    __table_args__ = (UniqueConstraint("year_id", "subject", "code", name="uq_evaluation_indicator_code"),)

    id: int = Field(default=None, primary_key=True)
    year_id: int = Field(foreign_key="evaluation_year.id", index=True)
    subject: str = Field(max_length=10)
    position: int = 0
    code: str = Field(max_length=100)
    name: str = Field(max_length=200)
    parent_code: str | None = Field(default=None, max_length=100)
    weight_bp: int
    kind: str = Field(max_length=12)
    formula: str | None = Field(default=None, max_length=40)
    # 1-4 for an indicator of one quarter (its period is that quarter), None for the whole year.
    quarter: int | None = None


class EvaluationSubject(SQLModel, table=True):
    __tablename__ = "evaluation_subject"
    __table_args__ = (UniqueConstraint("year_id", "subject", "code", name="uq_evaluation_subject_code"),)

    id: int = Field(default=None, primary_key=True)
    year_id: int = Field(foreign_key="evaluation_year.id", index=True)
    subject: str = Field(max_length=10)
    position: int = 0
    code: str = Field(max_length=100)
    name: str = Field(max_length=300)
    # A person's unit (the unit of their first post), None for a unit.
    unit_code: str | None = Field(default=None, max_length=100)
    # 在岗: only staff in post may be proposed as 优秀个人.
    in_post: bool = True


class EvaluationPlan(SQLModel, table=True):
    __tablename__ = "evaluation_plan"
    __table_args__ = (UniqueConstraint("year_id", "unit_code", name="uq_evaluation_plan_unit"),)

    id: int = Field(default=None, primary_key=True)
    year_id: int = Field(foreign_key="evaluation_year.id", index=True)
    unit_code: str = Field(max_length=100)
    text: str = Field(sa_column=Column(Text, nullable=False))
    submitted_by: str = Field(max_length=150)
    submitted_at: datetime = Field(sa_type=AwareDateTime, nullable=False)


class EvaluationScore(SQLModel, table=True):
    __tablename__ = "evaluation_score"
    __table_args__ = (
        UniqueConstraint("year_id", "subject", "subject_code", "indicator_code", name="uq_evaluation_score_leaf"),
    )

    id: int = Field(default=None, primary_key=True)
    year_id: int = Field(foreign_key="evaluation_year.id", index=True)
    subject: str = Field(max_length=10)
    subject_code: str = Field(max_length=100)
    indicator_code: str = Field(max_length=100)
    quarter: int | None = None
    value_num: int = Field(sa_column=Column(BigInteger, nullable=False))
    value_den: int = Field(sa_column=Column(BigInteger, nullable=False))
    source: str = Field(default=ENTERED, max_length=10)
    note: str | None = Field(default=None, max_length=1000)
    entered_by: str = Field(max_length=150)
    entered_at: datetime = Field(sa_type=AwareDateTime, nullable=False)


class EvaluationSanction(SQLModel, table=True):
    __tablename__ = "evaluation_sanction"

    id: int = Field(default=None, primary_key=True)
    year_id: int = Field(foreign_key="evaluation_year.id", index=True)
    subject: str = Field(max_length=10)
    subject_code: str = Field(max_length=100)
    kind: str = Field(max_length=20)
    reason: str = Field(max_length=1000)
    recorded_by: str = Field(max_length=150)
    recorded_at: datetime = Field(sa_type=AwareDateTime, nullable=False)


class EvaluationResult(SQLModel, table=True):
    __tablename__ = "evaluation_result"
    __table_args__ = (UniqueConstraint("year_id", "subject", "subject_code", name="uq_evaluation_result_subject"),)

    id: int = Field(default=None, primary_key=True)
    year_id: int = Field(foreign_key="evaluation_year.id", index=True)
    subject: str = Field(max_length=10)
    subject_code: str = Field(max_length=100)
    total_num: int = Field(sa_column=Column(BigInteger, nullable=False))
    total_den: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The total truncated to two decimals, as shown (engine.evaluation.scoring.display).
    total_display: str = Field(max_length=20)
    grade_by_score: str = Field(max_length=10)
    grade: str = Field(max_length=10)
    # Why the grade differs from the score's (downgrade rules), in Chinese.
    reasons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    key_rectification: bool = False  # 重点整改单位
    advanced: bool = False  # 先进处室/单位 (units) or 优秀个人 candidate (staff)
    rank: int | None = None
    computed_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
