"""a duty's 补正告知期限 (notice_limit) and 延期上限 (extension_limit)

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_duty") as batch:
        batch.add_column(sa.Column("notice_limit_value", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("notice_limit_unit", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("extension_limit_value", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("extension_limit_unit", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_duty") as batch:
        batch.drop_column("extension_limit_unit")
        batch.drop_column("extension_limit_value")
        batch.drop_column("notice_limit_unit")
        batch.drop_column("notice_limit_value")
