"""Tables of the duty catalog: one set of rows per catalog version.

Every row belongs to a version (`version_id`); a published version's rows are never edited (the
service refuses with Conflict). Lists nobody queries (basis, stages, accountability …) are JSON
columns; what is queried stays relational: duty↔department, duty↔units, duty↔posts (A/B), post
holders, and plain columns for category/object/action/name so search can filter on them.
`position` keeps the document's order so an export gives back exactly what was imported.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.models.types import AwareDateTime

DRAFT = "draft"
PUBLISHED = "published"


class CatalogVersion(SQLModel, table=True):
    __tablename__ = "catalog_version"
    __table_args__ = (UniqueConstraint("region", "name", "version", name="uq_catalog_version_ref"),)

    id: int = Field(default=None, primary_key=True)
    region: str = Field(max_length=200)
    name: str = Field(max_length=300)
    version: str = Field(max_length=100, index=True)
    effective_date: date | None = Field(default=None)
    status: str = Field(default=DRAFT, max_length=20)
    source: str | None = Field(default=None, max_length=500)
    created_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    published_by: str | None = Field(default=None, max_length=100)
    published_at: datetime | None = Field(default=None, sa_column=Column(AwareDateTime(), nullable=True))
    # A random value written when the version is published and never again: what a process keeps
    # about a published version is keyed by it (engine.catalog.in_force), since ids are reused by
    # a database emptied and refilled while a token is never drawn twice.
    publication_token: str | None = Field(default=None, max_length=32)

    @property
    def is_published(self) -> bool:
        return self.status == PUBLISHED


class CatalogDepartment(SQLModel, table=True):
    __tablename__ = "catalog_department"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_catalog_department_code"),)

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    position: int = 0
    code: str = Field(max_length=100)
    name: str = Field(max_length=300)
    kind: str | None = Field(default=None, max_length=50)
    staffing_quota: int | None = None
    # The department's head post code (部门负责人岗位, the catalog's `head_post`), or None.
    head_post: str | None = Field(default=None, max_length=100)


class CatalogUnit(SQLModel, table=True):
    __tablename__ = "catalog_unit"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_catalog_unit_code"),)

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    department_id: int = Field(foreign_key="catalog_department.id", index=True)
    position: int = 0
    code: str = Field(max_length=100)
    name: str = Field(max_length=300)
    staffing_quota: int | None = None


class CatalogPost(SQLModel, table=True):
    __tablename__ = "catalog_post"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_catalog_post_code"),)

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    unit_id: int = Field(foreign_key="catalog_unit.id", index=True)
    position: int = 0
    code: str = Field(max_length=100)
    name: str = Field(max_length=300)
    # The B角 post, by code (validated to be another post of the same version).
    backup: str | None = Field(default=None, max_length=100)
    head: bool = False


class CatalogStaff(SQLModel, table=True):
    """A person; `staff_id` is the holder id of the catalog (S001) and of user accounts."""

    __tablename__ = "catalog_staff"
    __table_args__ = (UniqueConstraint("version_id", "staff_id", name="uq_catalog_staff_id"),)

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    staff_id: str = Field(max_length=100, index=True)
    name: str = Field(max_length=100)


class CatalogPostHolder(SQLModel, table=True):
    __tablename__ = "catalog_post_holder"
    __table_args__ = (UniqueConstraint("post_id", "staff_pk", name="uq_catalog_post_holder"),)

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    post_id: int = Field(foreign_key="catalog_post.id", index=True)
    staff_pk: int = Field(foreign_key="catalog_staff.id", index=True)
    position: int = 0


class CatalogObject(SQLModel, table=True):
    """One node of the object taxonomy (对象分类)."""

    __tablename__ = "catalog_object"
    __table_args__ = (UniqueConstraint("version_id", "name", name="uq_catalog_object_name"),)

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    position: int = 0
    name: str = Field(max_length=200)
    parent: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class CatalogActionSynonym(SQLModel, table=True):
    __tablename__ = "catalog_action_synonym"
    __table_args__ = (UniqueConstraint("version_id", "variant", name="uq_catalog_action_synonym"),)

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    position: int = 0
    variant: str = Field(max_length=200)
    canonical: str = Field(max_length=200)


class CatalogMandate(SQLModel, table=True):
    __tablename__ = "catalog_mandate"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_catalog_mandate_code"),)

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    position: int = 0
    code: str = Field(max_length=100)
    object: str = Field(max_length=200)
    action: str = Field(max_length=200)
    basis: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class CatalogDuty(SQLModel, table=True):
    __tablename__ = "catalog_duty"
    __table_args__ = (UniqueConstraint("version_id", "code", name="uq_catalog_duty_code"),)

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    department_id: int = Field(foreign_key="catalog_department.id", index=True)
    position: int = 0
    code: str = Field(max_length=200)
    name: str = Field(max_length=500)
    category: str = Field(max_length=50, index=True)
    role: str = Field(default="sole", max_length=20)
    object: str | None = Field(default=None, max_length=200, index=True)
    action: str | None = Field(default=None, max_length=200)
    partners: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    excludes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    basis: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # [{"stage": "受理", "text": "…"}, …]
    stages: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    accountability: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    statutory_limit_value: int | None = None
    statutory_limit_unit: str | None = Field(default=None, max_length=20)
    committed_limit_value: int | None = None
    committed_limit_unit: str | None = Field(default=None, max_length=20)
    # A limit's bracketed note as the table wrote it (`不含公示时间`); the unit also holds
    # months / same_day / none (value empty for the last two), see engine.catalog.document.LimitUnit.
    statutory_limit_note: str | None = Field(default=None, max_length=200)
    committed_limit_note: str | None = Field(default=None, max_length=200)
    # 补正告知期限 and 延期上限 (dutyflow extensions; no note, 即办/无 not meaningful here).
    notice_limit_value: int | None = None
    notice_limit_unit: str | None = Field(default=None, max_length=20)
    extension_limit_value: int | None = None
    extension_limit_unit: str | None = Field(default=None, max_length=20)
    fee: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=100)
    process: str | None = Field(default=None, max_length=200)


class CatalogDutyUnit(SQLModel, table=True):
    """承办机构: a unit that carries a duty."""

    __tablename__ = "catalog_duty_unit"

    id: int = Field(default=None, primary_key=True)
    duty_id: int = Field(foreign_key="catalog_duty.id", index=True)
    unit_id: int = Field(foreign_key="catalog_unit.id", index=True)
    position: int = 0


class CatalogDutyPost(SQLModel, table=True):
    """承办岗位: a post that carries a duty, as A角 or B角."""

    __tablename__ = "catalog_duty_post"

    id: int = Field(default=None, primary_key=True)
    duty_id: int = Field(foreign_key="catalog_duty.id", index=True)
    post_id: int = Field(foreign_key="catalog_post.id", index=True)
    role: str = Field(default="A", max_length=1)
    position: int = 0


class CatalogRoleBinding(SQLModel, table=True):
    """The `roles:` extension: a coordinating role played by a department, unit or post (by code)."""

    __tablename__ = "catalog_role_binding"

    id: int = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="catalog_version.id", index=True)
    position: int = 0
    role: str = Field(max_length=100, index=True)
    target: str = Field(max_length=100)
