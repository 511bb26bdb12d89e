"""a duty limit's note (`15个工作日（不含公示时间）`); units months / same_day / none

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The unit columns (String(20)) already hold the new unit names; 即办 and 无 leave the value
    # empty, as it already may be. Only the bracketed note needs a place.
    with op.batch_alter_table("catalog_duty") as batch:
        batch.add_column(sa.Column("statutory_limit_note", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("committed_limit_note", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_duty") as batch:
        batch.drop_column("committed_limit_note")
        batch.drop_column("statutory_limit_note")
