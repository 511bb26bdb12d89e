"""runtime tables: process definitions, instances, tasks at posts, task assignments, timing log

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import engine.models.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _str(length: int):
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "process_definition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", _str(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", _str(200), nullable=False),
        sa.Column("filename", _str(300), nullable=False),
        sa.Column("content_hash", _str(64), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("deployed_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("deployed_by", _str(150), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("process_id", "version", name="uq_process_definition_version"),
        sa.UniqueConstraint("process_id", "content_hash", name="uq_process_definition_content"),
    )
    op.create_index("ix_process_definition_process_id", "process_definition", ["process_id"])

    op.create_table(
        "process_instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("process_id", _str(200), nullable=False),
        sa.Column("status", _str(20), nullable=False),
        sa.Column("duty_code", _str(100), nullable=True),
        sa.Column("subject", _str(300), nullable=False),
        sa.Column("start_data", sa.JSON(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("started_by", _str(150), nullable=False),
        sa.Column("starter_staff_id", _str(100), nullable=True),
        sa.Column("updated_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("ended_at", engine.models.types.AwareDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["definition_id"], ["process_definition.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_process_instance_definition_id", "process_instance", ["definition_id"])
    op.create_index("ix_process_instance_process_id", "process_instance", ["process_id"])
    op.create_index("ix_process_instance_status", "process_instance", ["status"])
    op.create_index("ix_process_instance_duty_code", "process_instance", ["duty_code"])

    op.create_table(
        "work_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("spiff_task_id", _str(36), nullable=False),
        sa.Column("task_spec", _str(200), nullable=False),
        sa.Column("name", _str(200), nullable=False),
        sa.Column("lane", _str(200), nullable=True),
        sa.Column("stage", _str(50), nullable=True),
        sa.Column("state", _str(20), nullable=False),
        sa.Column("post_code", _str(100), nullable=True),
        sa.Column("ready_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("claimed_by", _str(150), nullable=True),
        sa.Column("claimed_staff_id", _str(100), nullable=True),
        sa.Column("claimed_at", engine.models.types.AwareDateTime(), nullable=True),
        sa.Column("transfer_to_post", _str(100), nullable=True),
        sa.Column("transfer_reason", sa.Text(), nullable=True),
        sa.Column("delegated_post", _str(100), nullable=True),
        sa.Column("urge_count", sa.Integer(), nullable=False),
        sa.Column("completed_at", engine.models.types.AwareDateTime(), nullable=True),
        sa.Column("completed_by", _str(150), nullable=True),
        sa.Column("completed_staff_id", _str(100), nullable=True),
        sa.Column("completed_post", _str(100), nullable=True),
        sa.Column("closed_reason", _str(30), nullable=True),
        sa.Column("form_data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_task_instance_id", "work_task", ["instance_id"])
    op.create_index("ix_work_task_spiff_task_id", "work_task", ["spiff_task_id"])
    op.create_index("ix_work_task_state", "work_task", ["state"])
    op.create_index("ix_work_task_post_code", "work_task", ["post_code"])
    op.create_index("ix_work_task_instance_state", "work_task", ["instance_id", "state"])

    op.create_table(
        "task_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("post_code", _str(100), nullable=False),
        sa.Column("kind", _str(20), nullable=False),
        sa.Column("created_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["work_task.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "post_code", "kind", name="uq_task_assignment"),
    )
    op.create_index("ix_task_assignment_task_id", "task_assignment", ["task_id"])
    op.create_index("ix_task_assignment_post_code", "task_assignment", ["post_code"])

    op.create_table(
        "timing_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("kind", _str(30), nullable=False),
        sa.Column("at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("actor", _str(150), nullable=True),
        sa.Column("staff_id", _str(100), nullable=True),
        sa.Column("post_code", _str(100), nullable=True),
        sa.Column("target_post", _str(100), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("wall_seconds", sa.Float(), nullable=True),
        sa.Column("working_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["work_task.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_timing_event_instance_id", "timing_event", ["instance_id"])
    op.create_index("ix_timing_event_task_id", "timing_event", ["task_id"])
    op.create_index("ix_timing_event_kind", "timing_event", ["kind"])
    op.create_index("ix_timing_event_at", "timing_event", ["at"])
    op.create_index("ix_timing_event_post_code", "timing_event", ["post_code"])


def downgrade() -> None:
    op.drop_table("timing_event")
    op.drop_table("task_assignment")
    op.drop_table("work_task")
    op.drop_table("process_instance")
    op.drop_table("process_definition")
