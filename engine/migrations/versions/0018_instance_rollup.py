"""instance_rollup: the ended instances per process, duty, case clock's department and unit,
Beijing start day and whether they have a case clock (常规工作 and the instances without a clock
read it instead of every instance of the period), an index of the running instances (counted
live); the rollup is filled from the instances already there by migration 0020

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

RUNNING = sa.text("ended_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "instance_rollup",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("duty_code", sa.String(length=100), nullable=False),
        sa.Column("department_code", sa.String(length=100), nullable=False),
        sa.Column("unit_code", sa.String(length=100), nullable=False),
        sa.Column("started_day", sa.String(length=10), nullable=False),
        sa.Column("timed", sa.Boolean(), nullable=False),
        sa.Column("ended", sa.Integer(), nullable=False),
        sa.UniqueConstraint("process_id", "duty_code", "department_code", "unit_code", "started_day", "timed",
                            name="uq_instance_rollup_key"),
    )
    op.create_index("ix_process_instance_running", "process_instance", ["started_at"],
                    sqlite_where=RUNNING, postgresql_where=RUNNING)


def downgrade() -> None:
    op.drop_index("ix_process_instance_running", table_name="process_instance")
    op.drop_table("instance_rollup")
