"""a department's head post (catalog `head_post`)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: versions imported before this revision name no head, and nobody may approve their
    # extensions until a new version naming one is published (docs/permissions.md).
    with op.batch_alter_table("catalog_department") as batch:
        batch.add_column(sa.Column("head_post", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_department") as batch:
        batch.drop_column("head_post")
