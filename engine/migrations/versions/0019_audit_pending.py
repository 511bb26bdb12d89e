"""防篡改记录: audit_pending, the entries a step records and the sealer links into the chain later
(issue 15: the chain off the step's critical path; engine/audit/chain.py)

Revision ID: 0019
Revises: 0018

Nothing is pending when this runs (every step so far sealed its own links). Downgrade seals what is
pending first, so the older code finds every recorded row linked.
"""
import sqlalchemy as sa
from alembic import op

from engine.audit.chain import seal_batch

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subject_table", sa.String(length=60), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    conn = op.get_bind()
    while seal_batch(conn, 1000):
        pass
    op.drop_table("audit_pending")
