"""timing_event: an index on (kind, at) in place of the one on kind alone

The 推诿 (runarounds) figure of 高效履职 asks for the accepted transfers of a period
(`engine.evaluation.indicators.runarounds`). With an index on kind alone and another on at alone,
SQLite walked every event of the period through the `at` index: 22–24 s of CPU for one department's
year at 1,000,000 cases (6,000,000 events; docs/benchmarks.md, "third session"). An index on
(kind, at) finds the period's transfers directly, and serves every question by kind alone with its
first column, so it replaces the index on kind: no more index entries per event written.

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_timing_event_kind_at", "timing_event", ["kind", "at"])
    op.drop_index("ix_timing_event_kind", table_name="timing_event")


def downgrade() -> None:
    op.create_index("ix_timing_event_kind", "timing_event", ["kind"])
    op.drop_index("ix_timing_event_kind_at", table_name="timing_event")
