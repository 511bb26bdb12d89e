"""work_task.stage_deadline_id: the stage row of each readiness of a step, written in the step that
opens both, so the figures join an open step to its stage limit by primary key (filled for the existing rows
by migration 0020)

Before, the figures found a step's stage row by `engine.runtime.rollups.attempt_stage_id` (the
latest stage row of its SpiffWorkflow task started when the task row became ready, failing that
before it ended) — two correlated subqueries per open step, and at 1,000,000 cases a hash of every
stage row (docs/benchmarks.md, "Issue 12 item 6"). The existing rows get the row that rule finds,
in one UPDATE (`rollups.fill_stage_ids`, run by 0020: the runtime's statements name the tables as
they stand at the head); the rows of tasks that never had a stage row stay NULL.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("work_task", sa.Column("stage_deadline_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_task") as batch:
        batch.drop_column("stage_deadline_id")
