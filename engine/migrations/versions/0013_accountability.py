"""问责台账 (accountability_action) and the 满意度测评 (evaluation_survey, _ballot, _ballot_item)

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

import engine.models.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Aware = engine.models.types.AwareDateTime


def upgrade() -> None:
    op.create_table(
        "accountability_action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("staff_id", sa.String(length=100), nullable=False),
        sa.Column("staff_name", sa.String(length=200), nullable=False),
        sa.Column("post_code", sa.String(length=100), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=True),
        sa.Column("department_code", sa.String(length=100), nullable=True),
        sa.Column("ground_kind", sa.String(length=30), nullable=False),
        sa.Column("ground_instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("ground_event_id", sa.Integer(), sa.ForeignKey("timing_event.id"), nullable=True),
        sa.Column("ground_task_id", sa.Integer(), sa.ForeignKey("work_task.id"), nullable=True),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=150), nullable=False),
        sa.Column("opened_at", Aware(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("statement_by", sa.String(length=150), nullable=False),
        sa.Column("statement_at", Aware(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("sanction_kind", sa.String(length=30), nullable=True),
        sa.Column("counts_for_evaluation", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=150), nullable=False),
        sa.Column("decided_post", sa.String(length=100), nullable=True),
        sa.Column("decided_at", Aware(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.UniqueConstraint("instance_id", name="uq_accountability_action_instance"),
    )
    op.create_index("ix_accountability_action_staff_id", "accountability_action", ["staff_id"])
    op.create_index("ix_accountability_action_ground_instance_id", "accountability_action", ["ground_instance_id"])
    op.create_index("ix_accountability_action_year", "accountability_action", ["year"])
    op.create_table(
        "evaluation_survey",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year_id", sa.Integer(), sa.ForeignKey("evaluation_year.id"), nullable=False),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instance.id"), nullable=True),
        sa.Column("subject", sa.String(length=10), nullable=False),
        sa.Column("leaders", sa.JSON(), nullable=False),
        sa.Column("leader_indicator", sa.String(length=100), nullable=False),
        sa.Column("staff_indicator", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_by", sa.String(length=150), nullable=False),
        sa.Column("opened_at", Aware(), nullable=False),
        sa.Column("closed_at", Aware(), nullable=True),
    )
    op.create_index("ix_evaluation_survey_year_id", "evaluation_survey", ["year_id"])
    op.create_table(
        "evaluation_ballot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("evaluation_survey.id"), nullable=False),
        sa.Column("rater_staff_id", sa.String(length=100), nullable=False),
        sa.Column("rater_group", sa.String(length=10), nullable=False),
        sa.Column("submitted_at", Aware(), nullable=False),
        sa.UniqueConstraint("survey_id", "rater_staff_id", name="uq_evaluation_ballot_rater"),
    )
    op.create_index("ix_evaluation_ballot_survey_id", "evaluation_ballot", ["survey_id"])
    op.create_table(
        "evaluation_ballot_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ballot_id", sa.Integer(), sa.ForeignKey("evaluation_ballot.id"), nullable=False),
        sa.Column("survey_id", sa.Integer(), sa.ForeignKey("evaluation_survey.id"), nullable=False),
        sa.Column("rater_group", sa.String(length=10), nullable=False),
        sa.Column("subject_code", sa.String(length=100), nullable=False),
        sa.Column("value_cents", sa.Integer(), nullable=False),
    )
    op.create_index("ix_evaluation_ballot_item_ballot_id", "evaluation_ballot_item", ["ballot_id"])
    op.create_index("ix_evaluation_ballot_item_survey_id", "evaluation_ballot_item", ["survey_id"])


def downgrade() -> None:
    op.drop_table("evaluation_ballot_item")
    op.drop_table("evaluation_ballot")
    op.drop_table("evaluation_survey")
    op.drop_table("accountability_action")
