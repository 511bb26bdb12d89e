"""Rollups of the efficiency figures (step_rollup, step_month_rollup, case_rollup), made empty (the rows
already there are summed by the newest migration, see below), and an index of the open case clocks

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OPEN = sa.text("finished_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "step_rollup",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("post_code", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("ready_day", sa.String(length=10), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("with_stage_limit", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("working_seconds", sa.Float(), nullable=False),
        sa.UniqueConstraint("post_code", "process_id", "ready_day", "bucket", name="uq_step_rollup_key"),
    )
    op.create_table(
        "step_month_rollup",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("post_code", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("ready_month", sa.String(length=7), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("with_stage_limit", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("working_seconds", sa.Float(), nullable=False),
        sa.UniqueConstraint("post_code", "process_id", "ready_month", "bucket", name="uq_step_month_rollup_key"),
    )
    op.create_table(
        "case_rollup",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("department_code", sa.String(length=100), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("started_day", sa.String(length=10), nullable=False),
        sa.Column("created_day", sa.String(length=10), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("extended_cases", sa.Integer(), nullable=False),
        sa.Column("notices_late", sa.Integer(), nullable=False),
        sa.Column("notice_late_cases", sa.Integer(), nullable=False),
        sa.UniqueConstraint("department_code", "unit_code", "process_id", "started_day", "created_day",
                            name="uq_case_rollup_key"),
    )
    op.create_index("ix_case_deadline_open", "case_deadline", ["created_at"], sqlite_where=OPEN, postgresql_where=OPEN)
    # The rollups are filled from the rows already recorded by the newest migration that changes
    # them or the rows they sum (0020 today, `rollups.rebuild`), with the runtime's own statements, which are written
    # for the tables as they stand at the head: run here, they would name columns not made yet.


def downgrade() -> None:
    op.drop_index("ix_case_deadline_open", table_name="case_deadline")
    op.drop_table("case_rollup")
    op.drop_table("step_month_rollup")
    op.drop_table("step_rollup")
