"""The catalog interchange document (format v1, docs/catalog-format.md) as typed objects.

This is the in-memory form every importer produces and every exporter and the analysis consume.
Field names are the format's own. Structural checks live here (types, enums); cross-references
(unknown department, duplicate code, taxonomy cycle …) are checked by `engine.catalog.validation`.
Unknown extra fields are accepted and ignored, as the format allows.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from engine.bounds import INT_COLUMN_MAX

# The limit types belong to the calendar, which counts them; imported here because a duty holds
# them, and so that `engine.catalog.document.TimeLimit` names them as well.
from engine.calendar.units import COUNTED_UNITS, LimitUnit, TimeLimit  # noqa: F401

CATEGORIES: tuple[str, ...] = (
    "行政许可",
    "行政处罚",
    "行政强制",
    "行政征收",
    "行政给付",
    "行政检查",
    "行政确认",
    "行政奖励",
    "行政裁决",
    "其他行政权力",
    "公共服务",
    "内部管理",
)
STAGES: tuple[str, ...] = ("受理", "审查", "决定", "送达", "事后监管", "其他")
DEPARTMENT_KINDS: tuple[str, ...] = ("政府工作部门", "直属事业单位", "派出机构", "乡镇街道", "其他")


class _Item(BaseModel):
    # Codes and versions typed as YAML numbers (`version: 2026`, `code: 101`) are text in the format.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, coerce_numbers_to_str=True)


class DutyRole(StrEnum):
    """主办方式: how a department carries a duty (the format's `duties[].role`). Not an account's
    role (engine.auth.roles) and not a post's A/B role on a duty (validation.POST_ROLES)."""

    sole = "sole"
    lead = "lead"
    partner = "partner"


class Holder(_Item):
    id: str
    name: str


class Post(_Item):
    code: str
    name: str
    holders: list[Holder] = Field(default_factory=list)
    backup: str | None = None
    # dutyflow extension: the unit's head post (科室负责人), where escalations land.
    head: bool = False


class Unit(_Item):
    code: str
    name: str
    staffing_quota: int | None = Field(default=None, ge=0, le=INT_COLUMN_MAX)
    posts: list[Post] = Field(default_factory=list)


class Department(_Item):
    code: str
    name: str
    kind: str | None = None
    staffing_quota: int | None = Field(default=None, ge=0, le=INT_COLUMN_MAX)
    units: list[Unit] = Field(default_factory=list)
    # dutyflow extension: the department's head post (部门负责人), a post of one of its units. Only
    # the holders of this post may approve an extension of the department's cases (延期); a
    # department that names none has nobody who may (see docs/permissions.md).
    head_post: str | None = None


class TaxonomyObject(_Item):
    name: str
    parent: str | None = None
    aliases: list[str] = Field(default_factory=list)


class Mandate(_Item):
    code: str
    object: str
    action: str
    basis: list[str] = Field(default_factory=list)


class PostAssignment(_Item):
    post: str
    role: str = "A"  # "A" or "B"; checked by validation so the error names the place


class StageText(_Item):
    stage: str
    text: str


class Duty(_Item):
    code: str
    name: str
    category: str
    department: str
    role: DutyRole = DutyRole.sole
    partners: list[str] = Field(default_factory=list)
    object: str | None = None
    action: str | None = None
    excludes: list[str] = Field(default_factory=list)
    basis: list[str] = Field(default_factory=list)
    units: list[str] = Field(default_factory=list)
    posts: list[PostAssignment] = Field(default_factory=list)
    stages: list[StageText] = Field(default_factory=list)
    accountability: list[str] = Field(default_factory=list)
    statutory_limit: TimeLimit | None = None
    committed_limit: TimeLimit | None = None
    # dutyflow extensions (issue 14): how long after receipt 一次性告知 may still be given (default
    # 5个工作日, 行政许可法 §32), and how much time an extension may add in all (default for
    # 行政许可 10个工作日, §42; none for other categories unless given here).
    notice_limit: TimeLimit | None = None
    extension_limit: TimeLimit | None = None
    fee: str | None = None
    phone: str | None = None
    process: str | None = None


class CatalogInfo(_Item):
    region: str
    name: str
    version: str
    effective_date: date | None = None


# The roles a catalog's `roles:` may bind (the format's dutyflow extension, docs/catalog-format.md),
# with their names: the three coordinating offices. The catalog is the legal office's file, so it
# may not make anyone an administrator (engine.auth.roles.CATALOG_ROLES is this set).
BINDABLE_ROLES = {"legal_office": "法制办", "establishment_office": "编办", "efficiency_office": "效能办"}


class CatalogDocument(_Item):
    catalog: CatalogInfo
    departments: list[Department]
    objects: list[TaxonomyObject] = Field(default_factory=list)
    action_synonyms: dict[str, str] = Field(default_factory=dict)
    mandates: list[Mandate] = Field(default_factory=list)
    duties: list[Duty]
    # dutyflow extension: which departments, units or posts play the coordinating roles
    # (legal_office 法制办, establishment_office 编办, efficiency_office 效能办). Tasks in a BPMN lane
    # named after a role land at these posts; users holding them get the role.
    roles: dict[str, list[str]] = Field(default_factory=dict)

    # Convenience look-ups used by analysis and runtime; cheap to rebuild, never stored.
    def department_by_code(self) -> dict[str, Department]:
        return {d.code: d for d in self.departments}

    def units_by_code(self) -> dict[str, Unit]:
        return {u.code: u for d in self.departments for u in d.units}

    def posts_by_code(self) -> dict[str, Post]:
        return {p.code: p for d in self.departments for u in d.units for p in u.posts}

    def duty_by_code(self) -> dict[str, Duty]:
        return {d.code: d for d in self.duties}


def without_personal_data(document: CatalogDocument) -> CatalogDocument:
    """A copy for the public (政务公开 downloads): every post keeps its name, B角 and duties, but
    not who holds it — staff names and ids are personal data, shown only to signed-in staff."""
    public = document.model_copy(deep=True)
    for department in public.departments:
        for unit in department.units:
            for post in unit.posts:
                post.holders = []
    return public
