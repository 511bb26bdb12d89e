"""防篡改记录: the audit_entry hash chain and its one-row head; the rows written before it are sealed

Revision ID: 0012
Revises: 0011

The timing log and the evaluation rows that exist when this runs are chained as they stand
(table by table, in id order): from here on, changing any of them shows in `dutyflow audit verify`.
"""
import sqlalchemy as sa
from alembic import op

from engine.audit.chain import seal_existing

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("subject_table", sa.String(length=60), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_audit_entry_subject", "audit_entry", ["subject_table", "subject_id", "seq"])
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
    )
    seal_existing(op.get_bind())  # also writes the head row


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    op.drop_index("ix_audit_entry_subject", table_name="audit_entry")
    op.drop_table("audit_entry")
