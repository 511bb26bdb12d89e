"""runtime timer, deadline and warning tables

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import engine.models.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _dt(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, engine.models.types.AwareDateTime(), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "runtime_timer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        _str("task_id", 40),
        _str("kind", 20),
        _str("spec_name", 200),
        _dt("due_at"),
        _str("status", 12),
        _str("lock_owner", 100, nullable=True),
        _dt("lock_expires_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _dt("created_at"),
        _dt("finished_at", nullable=True),
        _str("last_error", 2000, nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "task_id", "kind", "due_at", name="uq_runtime_timer_key"),
    )
    op.create_index("ix_runtime_timer_status_due", "runtime_timer", ["status", "due_at"])
    op.create_index(op.f("ix_runtime_timer_instance_id"), "runtime_timer", ["instance_id"])

    op.create_table(
        "case_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        _str("duty_code", 100, nullable=True),
        _str("unit_code", 100, nullable=True),
        _str("department_code", 100, nullable=True),
        _str("limit_text", 40),
        _str("limit_source", 20),
        _dt("counting_from"),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("extensions", sa.JSON(), nullable=False),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        _dt("paused_since", nullable=True),
        _str("pause_reason", 200, nullable=True),
        _dt("due_at"),
        _dt("yellow_at"),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        _dt("finished_at", nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        _dt("created_at"),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id"),
    )
    op.create_index(op.f("ix_case_deadline_department_code"), "case_deadline", ["department_code"])

    op.create_table(
        "stage_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        _str("task_id", 40),
        _str("task_spec", 200),
        _str("stage", 40, nullable=True),
        _str("limit_text", 40, nullable=True),
        _str("clock_mode", 12, nullable=True),
        _dt("started_at"),
        _dt("due_at", nullable=True),
        _dt("yellow_at", nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        _str("status", 12),
        _dt("ended_at", nullable=True),
        sa.Column("overran", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_stage_deadline_instance_id"), "stage_deadline", ["instance_id"])
    op.create_index("ix_stage_deadline_task", "stage_deadline", ["instance_id", "task_id"])

    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        _str("subject", 40),
        _str("kind", 20),
        _str("stage", 40, nullable=True),
        _dt("due_at"),
        sa.Column("to_posts", sa.JSON(), nullable=False),
        _str("unit_code", 100, nullable=True),
        _str("department_code", 100, nullable=True),
        _dt("created_at"),
        _dt("resolved_at", nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "subject", "kind", "due_at", name="uq_escalation_key"),
    )
    op.create_index(op.f("ix_escalation_instance_id"), "escalation", ["instance_id"])
    op.create_index(op.f("ix_escalation_department_code"), "escalation", ["department_code"])


def downgrade() -> None:
    op.drop_table("escalation")
    op.drop_table("stage_deadline")
    op.drop_table("case_deadline")
    op.drop_table("runtime_timer")
