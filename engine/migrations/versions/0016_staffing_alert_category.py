"""analysis_alert.category 'staffing' (编制与岗位) for vacant posts, posts without a B角 and over
quota, which were stored under 'gap' (职责空缺) and listed there (issue 13)

The analysis sets the new category on every alert it sees again; this moves the rows it will not
see again (closed, or of a region not re-analysed) as well, so one kind never sits in two
categories. The finding keys keep their "gap:" prefix: no alert changes identity.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# engine.analysis.findings.STAFFING_KINDS, written out: a migration keeps the values of its day.
STAFFING_KINDS = ("post_vacant", "post_without_backup", "over_quota")

alert = sa.table("analysis_alert", sa.column("category", sa.String), sa.column("kind", sa.String))


def upgrade() -> None:
    op.execute(
        alert.update()
        .where(alert.c.category == "gap", alert.c.kind.in_(STAFFING_KINDS))
        .values(category="staffing")
    )


def downgrade() -> None:
    op.execute(
        alert.update()
        .where(alert.c.category == "staffing", alert.c.kind.in_(STAFFING_KINDS))
        .values(category="gap")
    )
