"""绩效考评: evaluation years, indicator trees, subjects, plans, scores, sanctions, results

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

import engine.models.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Aware = engine.models.types.AwareDateTime


def upgrade() -> None:
    op.create_table(
        "evaluation_year",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope_kind", sa.String(length=20), nullable=False),
        sa.Column("scope_code", sa.String(length=200), nullable=False),
        sa.Column("scope_name", sa.String(length=300), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("catalog_version_id", sa.Integer(), sa.ForeignKey("catalog_version.id"), nullable=True),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", Aware(), nullable=False),
        sa.Column("opened_at", Aware(), nullable=True),
        sa.Column("computed_at", Aware(), nullable=True),
        sa.Column("published_by", sa.String(length=150), nullable=True),
        sa.Column("published_at", Aware(), nullable=True),
        sa.UniqueConstraint("scope_kind", "scope_code", "year", name="uq_evaluation_year_scope"),
    )
    op.create_table(
        "evaluation_indicator",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year_id", sa.Integer(), sa.ForeignKey("evaluation_year.id"), nullable=False),
        sa.Column("subject", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_code", sa.String(length=100), nullable=True),
        sa.Column("weight_bp", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("formula", sa.String(length=40), nullable=True),
        sa.Column("quarter", sa.Integer(), nullable=True),
        sa.UniqueConstraint("year_id", "subject", "code", name="uq_evaluation_indicator_code"),
    )
    op.create_index("ix_evaluation_indicator_year_id", "evaluation_indicator", ["year_id"])
    op.create_table(
        "evaluation_subject",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year_id", sa.Integer(), sa.ForeignKey("evaluation_year.id"), nullable=False),
        sa.Column("subject", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=True),
        sa.Column("in_post", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("year_id", "subject", "code", name="uq_evaluation_subject_code"),
    )
    op.create_index("ix_evaluation_subject_year_id", "evaluation_subject", ["year_id"])
    op.create_table(
        "evaluation_plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year_id", sa.Integer(), sa.ForeignKey("evaluation_year.id"), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(length=150), nullable=False),
        sa.Column("submitted_at", Aware(), nullable=False),
        sa.UniqueConstraint("year_id", "unit_code", name="uq_evaluation_plan_unit"),
    )
    op.create_index("ix_evaluation_plan_year_id", "evaluation_plan", ["year_id"])
    op.create_table(
        "evaluation_score",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year_id", sa.Integer(), sa.ForeignKey("evaluation_year.id"), nullable=False),
        sa.Column("subject", sa.String(length=10), nullable=False),
        sa.Column("subject_code", sa.String(length=100), nullable=False),
        sa.Column("indicator_code", sa.String(length=100), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=True),
        sa.Column("value_num", sa.BigInteger(), nullable=False),
        sa.Column("value_den", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("entered_by", sa.String(length=150), nullable=False),
        sa.Column("entered_at", Aware(), nullable=False),
        sa.UniqueConstraint("year_id", "subject", "subject_code", "indicator_code", name="uq_evaluation_score_leaf"),
    )
    op.create_index("ix_evaluation_score_year_id", "evaluation_score", ["year_id"])
    op.create_table(
        "evaluation_sanction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year_id", sa.Integer(), sa.ForeignKey("evaluation_year.id"), nullable=False),
        sa.Column("subject", sa.String(length=10), nullable=False),
        sa.Column("subject_code", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("recorded_by", sa.String(length=150), nullable=False),
        sa.Column("recorded_at", Aware(), nullable=False),
    )
    op.create_index("ix_evaluation_sanction_year_id", "evaluation_sanction", ["year_id"])
    op.create_table(
        "evaluation_result",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year_id", sa.Integer(), sa.ForeignKey("evaluation_year.id"), nullable=False),
        sa.Column("subject", sa.String(length=10), nullable=False),
        sa.Column("subject_code", sa.String(length=100), nullable=False),
        sa.Column("total_num", sa.BigInteger(), nullable=False),
        sa.Column("total_den", sa.BigInteger(), nullable=False),
        sa.Column("total_display", sa.String(length=20), nullable=False),
        sa.Column("grade_by_score", sa.String(length=10), nullable=False),
        sa.Column("grade", sa.String(length=10), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("key_rectification", sa.Boolean(), nullable=False),
        sa.Column("advanced", sa.Boolean(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("computed_at", Aware(), nullable=False),
        sa.UniqueConstraint("year_id", "subject", "subject_code", name="uq_evaluation_result_subject"),
    )
    op.create_index("ix_evaluation_result_year_id", "evaluation_result", ["year_id"])


def downgrade() -> None:
    for table in ("evaluation_result", "evaluation_sanction", "evaluation_score", "evaluation_plan",
                  "evaluation_subject", "evaluation_indicator"):
        op.drop_index(f"ix_{table}_year_id", table_name=table)
        op.drop_table(table)
    op.drop_table("evaluation_year")
