"""sign-in sessions: cookies and tokens name a server-side row that logout and admins revoke

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import engine.models.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_session",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("created_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("expires_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("revoked_at", engine.models.types.AwareDateTime(), nullable=True),
    )
    op.create_index("ix_auth_session_user_id", "auth_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_auth_session_user_id", table_name="auth_session")
    op.drop_table("auth_session")
