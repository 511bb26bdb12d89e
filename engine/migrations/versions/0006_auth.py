"""auth tables

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import engine.models.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=True),
        sa.Column("roles", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", engine.models.types.AwareDateTime(), nullable=False),
    )
    op.create_index("ix_user_account_username", "user_account", ["username"], unique=True)
    op.create_index("ix_user_account_staff_id", "user_account", ["staff_id"])


def downgrade() -> None:
    op.drop_index("ix_user_account_staff_id", table_name="user_account")
    op.drop_index("ix_user_account_username", table_name="user_account")
    op.drop_table("user_account")
