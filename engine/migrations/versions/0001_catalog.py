"""catalog tables: versions and, per version, departments, units, posts, staff, taxonomy, mandates, duties

Revision ID: 0001
Revises: None
"""
import sqlalchemy as sa
from alembic import op

import engine.models.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", engine.models.types.AwareDateTime(), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("published_at", engine.models.types.AwareDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("region", "name", "version", name="uq_catalog_version_ref")
    )
    op.create_index(op.f("ix_catalog_version_version"), "catalog_version", ["version"], unique=False)
    op.create_table("catalog_action_synonym",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=200), nullable=False),
        sa.Column("canonical", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "variant", name="uq_catalog_action_synonym")
    )
    op.create_index(op.f("ix_catalog_action_synonym_version_id"), "catalog_action_synonym", ["version_id"], unique=False)
    op.create_table("catalog_department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=True),
        sa.Column("staffing_quota", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "code", name="uq_catalog_department_code")
    )
    op.create_index(op.f("ix_catalog_department_version_id"), "catalog_department", ["version_id"], unique=False)
    op.create_table("catalog_mandate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("object", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=200), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "code", name="uq_catalog_mandate_code")
    )
    op.create_index(op.f("ix_catalog_mandate_version_id"), "catalog_mandate", ["version_id"], unique=False)
    op.create_table("catalog_object",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent", sa.String(length=200), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "name", name="uq_catalog_object_name")
    )
    op.create_index(op.f("ix_catalog_object_version_id"), "catalog_object", ["version_id"], unique=False)
    op.create_table("catalog_role_binding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_catalog_role_binding_role"), "catalog_role_binding", ["role"], unique=False)
    op.create_index(op.f("ix_catalog_role_binding_version_id"), "catalog_role_binding", ["version_id"], unique=False)
    op.create_table("catalog_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "staff_id", name="uq_catalog_staff_id")
    )
    op.create_index(op.f("ix_catalog_staff_staff_id"), "catalog_staff", ["staff_id"], unique=False)
    op.create_index(op.f("ix_catalog_staff_version_id"), "catalog_staff", ["version_id"], unique=False)
    op.create_table("catalog_duty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("object", sa.String(length=200), nullable=True),
        sa.Column("action", sa.String(length=200), nullable=True),
        sa.Column("partners", sa.JSON(), nullable=False),
        sa.Column("excludes", sa.JSON(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("accountability", sa.JSON(), nullable=False),
        sa.Column("statutory_limit_value", sa.Integer(), nullable=True),
        sa.Column("statutory_limit_unit", sa.String(length=20), nullable=True),
        sa.Column("committed_limit_value", sa.Integer(), nullable=True),
        sa.Column("committed_limit_unit", sa.String(length=20), nullable=True),
        sa.Column("fee", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=100), nullable=True),
        sa.Column("process", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["catalog_department.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "code", name="uq_catalog_duty_code")
    )
    op.create_index(op.f("ix_catalog_duty_category"), "catalog_duty", ["category"], unique=False)
    op.create_index(op.f("ix_catalog_duty_department_id"), "catalog_duty", ["department_id"], unique=False)
    op.create_index(op.f("ix_catalog_duty_object"), "catalog_duty", ["object"], unique=False)
    op.create_index(op.f("ix_catalog_duty_version_id"), "catalog_duty", ["version_id"], unique=False)
    op.create_table("catalog_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("staffing_quota", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["catalog_department.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "code", name="uq_catalog_unit_code")
    )
    op.create_index(op.f("ix_catalog_unit_department_id"), "catalog_unit", ["department_id"], unique=False)
    op.create_index(op.f("ix_catalog_unit_version_id"), "catalog_unit", ["version_id"], unique=False)
    op.create_table("catalog_duty_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duty_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["duty_id"], ["catalog_duty.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["catalog_unit.id"]),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_catalog_duty_unit_duty_id"), "catalog_duty_unit", ["duty_id"], unique=False)
    op.create_index(op.f("ix_catalog_duty_unit_unit_id"), "catalog_duty_unit", ["unit_id"], unique=False)
    op.create_table("catalog_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("backup", sa.String(length=100), nullable=True),
        sa.Column("head", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["catalog_unit.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "code", name="uq_catalog_post_code")
    )
    op.create_index(op.f("ix_catalog_post_unit_id"), "catalog_post", ["unit_id"], unique=False)
    op.create_index(op.f("ix_catalog_post_version_id"), "catalog_post", ["version_id"], unique=False)
    op.create_table("catalog_duty_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("duty_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=1), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["duty_id"], ["catalog_duty.id"]),
        sa.ForeignKeyConstraint(["post_id"], ["catalog_post.id"]),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index(op.f("ix_catalog_duty_post_duty_id"), "catalog_duty_post", ["duty_id"], unique=False)
    op.create_index(op.f("ix_catalog_duty_post_post_id"), "catalog_duty_post", ["post_id"], unique=False)
    op.create_table("catalog_post_holder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("staff_pk", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["catalog_post.id"]),
        sa.ForeignKeyConstraint(["staff_pk"], ["catalog_staff.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["catalog_version.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "staff_pk", name="uq_catalog_post_holder")
    )
    op.create_index(op.f("ix_catalog_post_holder_post_id"), "catalog_post_holder", ["post_id"], unique=False)
    op.create_index(op.f("ix_catalog_post_holder_staff_pk"), "catalog_post_holder", ["staff_pk"], unique=False)
    op.create_index(op.f("ix_catalog_post_holder_version_id"), "catalog_post_holder", ["version_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_catalog_post_holder_version_id"), table_name="catalog_post_holder")
    op.drop_index(op.f("ix_catalog_post_holder_staff_pk"), table_name="catalog_post_holder")
    op.drop_index(op.f("ix_catalog_post_holder_post_id"), table_name="catalog_post_holder")
    op.drop_table("catalog_post_holder")
    op.drop_index(op.f("ix_catalog_duty_post_post_id"), table_name="catalog_duty_post")
    op.drop_index(op.f("ix_catalog_duty_post_duty_id"), table_name="catalog_duty_post")
    op.drop_table("catalog_duty_post")
    op.drop_index(op.f("ix_catalog_post_version_id"), table_name="catalog_post")
    op.drop_index(op.f("ix_catalog_post_unit_id"), table_name="catalog_post")
    op.drop_table("catalog_post")
    op.drop_index(op.f("ix_catalog_duty_unit_unit_id"), table_name="catalog_duty_unit")
    op.drop_index(op.f("ix_catalog_duty_unit_duty_id"), table_name="catalog_duty_unit")
    op.drop_table("catalog_duty_unit")
    op.drop_index(op.f("ix_catalog_unit_version_id"), table_name="catalog_unit")
    op.drop_index(op.f("ix_catalog_unit_department_id"), table_name="catalog_unit")
    op.drop_table("catalog_unit")
    op.drop_index(op.f("ix_catalog_duty_version_id"), table_name="catalog_duty")
    op.drop_index(op.f("ix_catalog_duty_object"), table_name="catalog_duty")
    op.drop_index(op.f("ix_catalog_duty_department_id"), table_name="catalog_duty")
    op.drop_index(op.f("ix_catalog_duty_category"), table_name="catalog_duty")
    op.drop_table("catalog_duty")
    op.drop_index(op.f("ix_catalog_staff_version_id"), table_name="catalog_staff")
    op.drop_index(op.f("ix_catalog_staff_staff_id"), table_name="catalog_staff")
    op.drop_table("catalog_staff")
    op.drop_index(op.f("ix_catalog_role_binding_version_id"), table_name="catalog_role_binding")
    op.drop_index(op.f("ix_catalog_role_binding_role"), table_name="catalog_role_binding")
    op.drop_table("catalog_role_binding")
    op.drop_index(op.f("ix_catalog_object_version_id"), table_name="catalog_object")
    op.drop_table("catalog_object")
    op.drop_index(op.f("ix_catalog_mandate_version_id"), table_name="catalog_mandate")
    op.drop_table("catalog_mandate")
    op.drop_index(op.f("ix_catalog_department_version_id"), table_name="catalog_department")
    op.drop_table("catalog_department")
    op.drop_index(op.f("ix_catalog_action_synonym_version_id"), table_name="catalog_action_synonym")
    op.drop_table("catalog_action_synonym")
    op.drop_index(op.f("ix_catalog_version_version"), table_name="catalog_version")
    op.drop_table("catalog_version")
