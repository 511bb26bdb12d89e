"""work_task.state → work_task.status: one name for a row's stage of life, as on instances,
timers, stage clocks, alerts and catalog versions (docs/glossary.md, issue 15 item 6); and the
rollups and stage-row ids of an upgraded database filled (see upgrade)

`state` stays only for SpiffWorkflow's own task state and the serialised workflow (`state_json`).
Both backends rename a column in place (SQLite ≥ 3.25, PostgreSQL): no table is copied, and the
values (ready / completed / cancelled) are unchanged. SQLite cannot rename an index, so the two
indexes on the column are dropped and made again under their new names on both backends.

Revision ID: 0020
Revises: 0019
"""

from datetime import UTC, datetime

from alembic import op

from engine.runtime import rollups

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_work_task_instance_state", table_name="work_task")
    op.drop_index("ix_work_task_state", table_name="work_task")
    op.execute("ALTER TABLE work_task RENAME COLUMN state TO status")
    op.create_index("ix_work_task_status", "work_task", ["status"])
    op.create_index("ix_work_task_instance_status", "work_task", ["instance_id", "status"])
    # An upgraded database gives the same figures: each existing task row names its stage row
    # (0017's column, an open step's attempt ending now, as the figures counted it before), and
    # the rollups (0015, 0018) start from every completed step, finished case and ended instance
    # already recorded, through the statements the runtime adds new ones with. Those name the
    # tables as they are at the head, so these calls belong to the newest migration that changes
    # the rollups or the rows they sum; move them when adding one.
    connection = op.get_bind()
    rollups.fill_stage_ids(connection, datetime.now(UTC))
    rollups.rebuild(connection)


def downgrade() -> None:
    op.drop_index("ix_work_task_instance_status", table_name="work_task")
    op.drop_index("ix_work_task_status", table_name="work_task")
    op.execute("ALTER TABLE work_task RENAME COLUMN status TO state")
    op.create_index("ix_work_task_state", "work_task", ["state"])
    op.create_index("ix_work_task_instance_state", "work_task", ["instance_id", "state"])
