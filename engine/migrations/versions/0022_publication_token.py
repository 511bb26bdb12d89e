"""catalog_version.publication_token: a random value written when a version is published

What a process keeps about a published version (its duties' documents, lane targets, head posts:
engine.catalog.in_force) is keyed by this token. Before, only PostgreSQL could keep those answers
beyond a transaction, keyed by the version row's `xmin`; SQLite has no such number and read them
again in every step. The versions published before this migration get a token each here.

Revision ID: 0022
Revises: 0021
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_version") as batch:
        batch.add_column(sa.Column("publication_token", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    version = sa.table("catalog_version", sa.column("id", sa.Integer()), sa.column("status", sa.String()),
                       sa.column("publication_token", sa.String()))
    published = conn.execute(sa.select(version.c.id).where(version.c.status == "published")).scalars().all()
    for version_id in published:  # a region publishes a version a year or so: few rows
        conn.execute(sa.update(version).where(version.c.id == version_id)
                     .values(publication_token=secrets.token_hex(16)))


def downgrade() -> None:
    with op.batch_alter_table("catalog_version") as batch:
        batch.drop_column("publication_token")
