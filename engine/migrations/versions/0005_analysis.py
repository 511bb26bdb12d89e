"""analysis tables

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa  # noqa: F401
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op  # noqa: F401

import engine.models.types  # noqa: F401  (AwareDateTime)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("finding_key", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("departments", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("catalog_version_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("last_seen_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("acknowledged_at", engine.models.types.AwareDateTime(), nullable=True),
        sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("resolved_at", engine.models.types.AwareDateTime(), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("closed_at", engine.models.types.AwareDateTime(), nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("dispute_instance_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "finding_key", name="uq_analysis_alert_scope_key"),
    )
    op.create_index("ix_analysis_alert_status", "analysis_alert", ["status"])
    op.create_index("ix_analysis_alert_catalog_version_id", "analysis_alert", ["catalog_version_id"])
    op.create_index("ix_analysis_alert_status_kind", "analysis_alert", ["status", "kind"])


def downgrade() -> None:
    op.drop_index("ix_analysis_alert_status_kind", table_name="analysis_alert")
    op.drop_index("ix_analysis_alert_catalog_version_id", table_name="analysis_alert")
    op.drop_index("ix_analysis_alert_status", table_name="analysis_alert")
    op.drop_table("analysis_alert")
