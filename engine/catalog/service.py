"""The catalog's rules: versions (draft → published), import, look-ups for the runtime, search, diff.

Every function takes the caller's Session (one transaction per change, see engine.db) and, when it
changes something, the moment `now`. A published version is frozen: any change to it → Conflict.

At ~575 lines it holds two jobs that should part: version commands (import, publish, diff) and
the look-ups the runtime asks (posts, heads, duties of a post); the look-ups are the next to move,
next to engine/catalog/in_force.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from engine import hooks
from engine.bounds import INT_COLUMN_MAX
from engine.catalog import document as doc
from engine.catalog import store
from engine.catalog.diff import VersionDiff, check_same_region, diff_documents
from engine.catalog.in_force import catalog_version_id, published_answer
from engine.catalog.validation import validate_document
from engine.clock import BEIJING, ensure_aware
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.catalog import (
    DRAFT,
    PUBLISHED,
    CatalogDepartment,
    CatalogDuty,
    CatalogDutyPost,
    CatalogObject,
    CatalogPost,
    CatalogPostHolder,
    CatalogRoleBinding,
    CatalogStaff,
    CatalogUnit,
    CatalogVersion,
)

PUBLISHED_IS_FROZEN = "已发布的版本不可修改，请使用新的版本号"
# As long as CatalogVersion.version may be: a longer reference cannot name a version.
VERSION_REF_MAX_LENGTH = 100


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def same_name_warnings(document: doc.CatalogDocument) -> list[str]:
    """Items of one department with the same name: allowed (real tables list a matter once per
    sub-item code) but usually a copy-paste slip, so the import names both and goes on."""
    departments = {d.code: d.name for d in document.departments}
    first: dict[tuple[str, str], tuple[int, doc.Duty]] = {}
    warnings: list[str] = []
    for index, duty in enumerate(document.duties, start=1):
        key = (duty.department, duty.name.strip())
        if key in first:
            number, other = first[key]
            warnings.append(
                f"{departments.get(duty.department, duty.department)}：第{number}项（{other.code}）与第{index}项"
                f"（{duty.code}）同名「{duty.name}」，请核对是否重复"
            )
        else:
            first[key] = (index, duty)
    return warnings


# ---------------------------------------------------------------- versions


def import_catalog(
    session: Session,
    document: doc.CatalogDocument,
    actor: str | None,
    now: datetime,
    source: str | None = None,
    checked: bool = False,
) -> CatalogVersion:
    """Validate and store the whole catalog as a draft version.

    Re-importing the region/name/version of a draft replaces that draft (same id), unless the
    `draft_replacing` hook's handler refuses (a publication case reviews it → Conflict); of a
    published version → Conflict. Any problem → InvalidInput with every problem and nothing stored.
    `checked`: the document comes straight from `io.read_catalog`, which validated it before the
    transaction began; validating it again here would hold the transaction (on SQLite the write
    lock) for as long as validation takes.
    """
    _require_aware(now)
    if not checked:
        document = validate_document(document)
    info = document.catalog
    version = session.scalars(
        select(CatalogVersion).where(
            col(CatalogVersion.region) == info.region,
            col(CatalogVersion.name) == info.name,
            col(CatalogVersion.version) == info.version,
        )
    ).first()
    if version is not None and version.is_published:
        raise Conflict(
            PUBLISHED_IS_FROZEN,
            [f"catalog.version: {info.region} {info.name} 版本 '{info.version}' 已于 "
             f"{ensure_aware(version.published_at or version.created_at).astimezone(BEIJING):%Y-%m-%d %H:%M} 发布"],
        )
    if version is None:
        version = CatalogVersion(region=info.region, name=info.name, version=info.version, created_at=now)
    else:
        hooks.draft_replacing.fire(session, version.id)
        store.delete_contents(session, version.id)
    version.effective_date = info.effective_date
    version.status = DRAFT
    version.source = source
    version.created_by = actor
    version.created_at = now
    session.add(version)
    session.flush()
    store.store_document(session, version.id, document)
    return version


def load_document(session: Session, version_id: int) -> doc.CatalogDocument:
    """The stored version as a CatalogDocument (the same document that was imported)."""
    version = get_version(session, version_id)
    objects, synonyms, mandates, roles = store.load_reference_data(session, version.id)
    return doc.CatalogDocument(
        catalog=doc.CatalogInfo(
            region=version.region, name=version.name, version=version.version,
            effective_date=version.effective_date,
        ),
        departments=store.load_departments(session, version.id),
        objects=objects,
        action_synonyms=synonyms,
        mandates=mandates,
        duties=store.load_duties(session, version.id),
        roles=roles,
    )


def get_version(session: Session, version_id: int) -> CatalogVersion:
    version = session.get(CatalogVersion, version_id)
    if version is None:
        raise NotFound(f"清单版本 {version_id} 不存在", [f"version: 不存在的版本编号 {version_id}"])
    return version


def list_versions(session: Session) -> list[CatalogVersion]:
    """All versions, oldest first."""
    return list(session.scalars(select(CatalogVersion).order_by(col(CatalogVersion.id))))


def _newest(session: Session, status: str | None, region: str | None = None) -> CatalogVersion | None:
    query = select(CatalogVersion)
    if region is not None:
        query = query.where(col(CatalogVersion.region) == region)
    if status == PUBLISHED:
        query = query.where(col(CatalogVersion.status) == PUBLISHED).order_by(
            col(CatalogVersion.published_at).desc(), col(CatalogVersion.id).desc()
        )
    else:
        if status is not None:
            query = query.where(col(CatalogVersion.status) == status)
        query = query.order_by(col(CatalogVersion.id).desc())
    return session.scalars(query.limit(1)).first()


def current_version(session: Session, region: str | None = None) -> CatalogVersion | None:
    """The version in force: the newest published one, else the newest draft; None when there is none.
    `region`: of that region only; none given: the one answer of engine.catalog.in_force (the
    region the server serves, else any)."""
    if region is None:
        version_id = catalog_version_id(session)
        return session.get(CatalogVersion, version_id) if version_id is not None else None
    return _newest(session, PUBLISHED, region) or _newest(session, DRAFT, region)


def version_in_force(session: Session, region: str) -> CatalogVersion | None:
    """The region's newest published version: the one its alerts and public catalog follow."""
    return _newest(session, PUBLISHED, region)


def list_regions(session: Session) -> list[str]:
    """Every region with a stored version, in order of first import."""
    rows = session.execute(
        select(col(CatalogVersion.region), func.min(col(CatalogVersion.id))).group_by(col(CatalogVersion.region))
        .order_by(func.min(col(CatalogVersion.id)))
    ).all()
    return [region for region, _ in rows]


def published_regions(session: Session) -> list[str]:
    """The regions with a published version, by name (one query)."""
    return list(session.scalars(select(col(CatalogVersion.region)).where(col(CatalogVersion.status) == PUBLISHED)
                                .distinct().order_by(col(CatalogVersion.region))))


def in_force_versions(session: Session) -> list[CatalogVersion]:
    """The version in force of each region that has a published one."""
    found = (version_in_force(session, region) for region in list_regions(session))
    return [version for version in found if version is not None]


def find_version(session: Session, ref: str | int | None, region: str | None = None) -> CatalogVersion:
    """A version by reference: numeric id, version string, "current", "published" or "latest".

    None means "current". A number is tried as an id first, then as a version string; a version
    string shared by several catalogs picks the newest of them. `region`: "current", "published",
    "latest" and version strings look in that region only (an id names one version anyway).
    """
    if region is not None and (len(region) > 200 or not region.isprintable()):
        raise InvalidInput("区划无效", ["region: 应为不超过 200 个可见字符的区划名称或代码"])
    text = "current" if ref is None else str(ref).strip()
    # Parsed strictly: a reference longer than any stored version string, or with control
    # characters (PostgreSQL refuses NUL in text), names no version and is refused before a query.
    if len(text) > VERSION_REF_MAX_LENGTH or not text.isprintable():
        raise InvalidInput("清单版本引用无效", [f"version: 应为版本编号、版本号（不超过 {VERSION_REF_MAX_LENGTH} 个可见字符）、"
                                                "current、published 或 latest"])
    if text in ("current", "published", "latest"):
        found = {
            "current": lambda s: current_version(s, region),
            "published": lambda s: _newest(s, PUBLISHED, region),
            "latest": lambda s: _newest(s, None, region),
        }[text](session)
        if found is None:
            what = "已发布的清单版本" if text == "published" else "任何清单版本"
            what = f"{region} 的{what}" if region is not None else what
            raise NotFound(f"尚无{what}", [f"version: '{text}' 找不到对应版本，请先导入{'并发布' if text == 'published' else ''}清单"])
        return found
    # ASCII digits only: str.isdigit() accepts '²' and other Unicode digits that int() refuses.
    if text.isascii() and text.isdigit() and int(text) <= INT_COLUMN_MAX:
        version = session.get(CatalogVersion, int(text))
        if version is not None:
            return version
    query = select(CatalogVersion).where(col(CatalogVersion.version) == text)
    if region is not None:
        query = query.where(col(CatalogVersion.region) == region)
    version = session.scalars(query.order_by(col(CatalogVersion.id).desc()).limit(1)).first()
    if version is None:
        where = f"{region} 的" if region is not None else ""
        raise NotFound(f"找不到{where}清单版本 '{text}'",
                       [f"version: 未知版本 '{text}'（可用编号、版本号、current、published 或 latest）"])
    return version


def version_counts(session: Session, version_id: int) -> dict[str, int]:
    """How much a version holds: departments, units, posts, staff, duties."""
    version_columns = {
        "departments": col(CatalogDepartment.version_id),
        "units": col(CatalogUnit.version_id),
        "posts": col(CatalogPost.version_id),
        "staff": col(CatalogStaff.version_id),
        "duties": col(CatalogDuty.version_id),
    }
    return {
        key: session.scalar(select(func.count()).where(column == version_id)) or 0
        for key, column in version_columns.items()
    }


def ensure_draft(version: CatalogVersion) -> None:
    """Refuse any change to a published version."""
    if version.is_published:
        raise Conflict(PUBLISHED_IS_FROZEN, [f"version: 版本 '{version.version}'（编号 {version.id}）已发布"])


def new_publication_token() -> str:
    """The token of one publication (catalog_version.publication_token): 128 random bits, so no
    two publications — in this database or in any other at the same address — ever share one."""
    return secrets.token_hex(16)


def publish_version(session: Session, version_id: int, actor: str | None, now: datetime) -> CatalogVersion:
    """Freeze a draft and record who published it and when."""
    _require_aware(now)
    version = get_version(session, version_id)
    if version.is_published:
        raise Conflict(
            "该版本已发布，不能重复发布",
            [f"version: 版本 '{version.version}'（编号 {version.id}）已由 {version.published_by or '未知'} "
             f"于 {ensure_aware(version.published_at or version.created_at).astimezone(BEIJING):%Y-%m-%d %H:%M} 发布"],
        )
    version.status = PUBLISHED
    version.published_by = actor
    version.published_at = now
    version.publication_token = new_publication_token()
    session.add(version)
    session.flush()
    # Alerts follow the version in force of each region, so only publishing syncs them (a draft
    # gets a preview report instead). The analysis sits above the catalog: it answers through the
    # hook engine.application connected (engine.hooks).
    hooks.version_published.fire(session, version.id, now)
    return version


def _meta(version: CatalogVersion) -> dict:
    return {"id": version.id, "region": version.region, "name": version.name, "version": version.version,
            "status": version.status}


def diff_versions(session: Session, old_id: int, new_id: int) -> VersionDiff:
    """Added, removed and changed duties from version `old_id` to `new_id` (调整说明); versions of two
    regions → InvalidInput (engine.catalog.diff)."""
    old, new = get_version(session, old_id), get_version(session, new_id)
    check_same_region(_meta(old), _meta(new))  # before loading two whole catalogs for nothing
    return diff_documents(load_document(session, old.id), load_document(session, new.id), _meta(old), _meta(new))


# ---------------------------------------------------------------- duties


@dataclass(frozen=True)
class DutyPage:
    total: int
    duties: list[doc.Duty]


def _object_and_descendants(session: Session, version_id: int, name: str) -> set[str]:
    """The object named (an alias counts as the object), its descendants, and all their aliases."""
    objects = session.scalars(select(CatalogObject).where(col(CatalogObject.version_id) == version_id)).all()
    canonical = {o.name: o.name for o in objects}
    for o in objects:
        for alias in o.aliases:
            canonical.setdefault(alias, o.name)
    root = canonical.get(name)
    if root is None:
        return {name}
    children: dict[str, list[str]] = {}
    for o in objects:
        if o.parent:
            children.setdefault(o.parent, []).append(o.name)
    found, todo = set(), [root]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    aliases = {alias for o in objects if o.name in found for alias in o.aliases}
    return found | aliases


def search_duties(
    session: Session,
    version_id: int,
    q: str | None = None,
    department: str | None = None,
    category: str | None = None,
    object: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> DutyPage:
    """Duties of a version matching every filter given, in catalog order.

    q: text in code, name, object or action; department: code or name; object: the object,
    its aliases and everything below it in the taxonomy.
    """
    query = select(CatalogDuty).where(col(CatalogDuty.version_id) == version_id)
    if q and q.strip():
        pattern = f"%{q.strip()}%"
        query = query.where(
            or_(
                col(CatalogDuty.name).like(pattern),
                col(CatalogDuty.code).like(pattern),
                col(CatalogDuty.object).like(pattern),
                col(CatalogDuty.action).like(pattern),
            )
        )
    if department:
        department_ids = select(col(CatalogDepartment.id)).where(
            col(CatalogDepartment.version_id) == version_id,
            or_(col(CatalogDepartment.code) == department, col(CatalogDepartment.name) == department),
        )
        query = query.where(col(CatalogDuty.department_id).in_(department_ids))
    if category:
        query = query.where(col(CatalogDuty.category) == category)
    if object:
        query = query.where(col(CatalogDuty.object).in_(_object_and_descendants(session, version_id, object)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(col(CatalogDuty.position)).limit(limit).offset(offset)).all()
    return DutyPage(total=total or 0, duties=store.duty_documents(session, list(rows)))


def named_department_head(session: Session, version_id: int, department: str | None) -> str | None:
    """The department's `head_post` as version `version_id` names it (None: none named, or no such
    department): the one answer, for the policy (the version in force) and the process library
    (the case's version); a published version's answer is kept (`in_force.published_answers`)."""
    if not department:
        return None
    return published_answer(session, version_id, "department_head", department, lambda: session.scalars(
        select(col(CatalogDepartment.head_post)).where(col(CatalogDepartment.version_id) == version_id,
                                                  col(CatalogDepartment.code) == department)
    ).first())


def get_duty(session: Session, version_id: int, code: str) -> doc.Duty:
    """The duty's document (shared: read it, don't change it).

    A start reads the same duty three times (the start check, the `open_case` script, the case
    clock's limit), four statements each: the document of a published version — frozen — is kept
    (`in_force.published_answers`: for the life of the process when the version in force carries
    a publication token, else for the rest of the transaction); a draft's is read every time.
    """
    def read() -> doc.Duty:
        row = session.scalars(
            select(CatalogDuty).where(col(CatalogDuty.version_id) == version_id, col(CatalogDuty.code) == code)
        ).first()
        if row is None:
            raise NotFound(f"找不到事项 '{code}'", [f"duty: 未知事项编码 '{code}'"])
        return store.duty_documents(session, [row])[0]

    return published_answer(session, version_id, "duties", code, read)


def list_departments(session: Session, version_id: int) -> list[doc.Department]:
    """Departments with their units, posts and holders, in catalog order."""
    get_version(session, version_id)
    return store.load_departments(session, version_id)


def department_names(session: Session, version_id: int) -> list[tuple[str, str]]:
    """(code, name) of every department of a version, in catalog order: one small read, for a
    picker that needs no units, posts or holders."""
    return [(code, name) for code, name in session.execute(
        select(col(CatalogDepartment.code), col(CatalogDepartment.name))
        .where(col(CatalogDepartment.version_id) == version_id).order_by(col(CatalogDepartment.position)))]


def get_department(session: Session, version_id: int, code: str) -> doc.Department:
    for department in list_departments(session, version_id):
        if department.code == code:
            return department
    raise NotFound(f"找不到部门 '{code}'", [f"department: 未知部门 '{code}'"])


@dataclass(frozen=True)
class StaffInfo:
    staff_id: str
    name: str
    posts: list[str]


def list_staff(session: Session, version_id: int) -> list[StaffInfo]:
    """Every person of the version with the posts they hold (ordered by staff id)."""
    rows = session.execute(
        select(col(CatalogStaff.staff_id), col(CatalogStaff.name), col(CatalogPost.code))
        .join(CatalogPostHolder, col(CatalogPostHolder.staff_pk) == col(CatalogStaff.id))
        .join(CatalogPost, col(CatalogPost.id) == col(CatalogPostHolder.post_id))
        .where(col(CatalogStaff.version_id) == version_id)
        .order_by(col(CatalogStaff.staff_id), col(CatalogPost.position), col(CatalogPost.id))
    ).all()
    people: dict[str, StaffInfo] = {}
    for staff_id, name, post in rows:
        people.setdefault(staff_id, StaffInfo(staff_id, name, [])).posts.append(post)
    return list(people.values())


# ---------------------------------------------------------------- look-ups for the runtime


def _post_row(session: Session, version_id: int, post_code: str) -> CatalogPost:
    row = session.scalars(
        select(CatalogPost).where(col(CatalogPost.version_id) == version_id, col(CatalogPost.code) == post_code)
    ).first()
    if row is None:
        raise NotFound(f"找不到岗位 '{post_code}'", [f"post: 未知岗位 '{post_code}'"])
    return row


def _unit_row(session: Session, version_id: int, unit_code: str) -> CatalogUnit | None:
    return session.scalars(
        select(CatalogUnit).where(col(CatalogUnit.version_id) == version_id, col(CatalogUnit.code) == unit_code)
    ).first()


def _posts_where(session: Session, *conditions) -> list[str]:
    query = (
        select(col(CatalogPost.code))
        .join(CatalogUnit, col(CatalogUnit.id) == col(CatalogPost.unit_id))
        .join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogUnit.department_id))
        .where(*conditions)
        .order_by(col(CatalogDepartment.position), col(CatalogUnit.position), col(CatalogPost.position))
    )
    return list(session.scalars(query))


def _resolve_code(session: Session, version_id: int, code: str) -> list[str] | None:
    """Posts of a post, unit or department code; None when the code is none of them."""
    if session.scalars(
        select(col(CatalogPost.id)).where(col(CatalogPost.version_id) == version_id, col(CatalogPost.code) == code)
    ).first():
        return [code]
    unit = _unit_row(session, version_id, code)
    if unit is not None:
        return _posts_where(session, col(CatalogPost.unit_id) == unit.id)
    department = session.scalars(
        select(CatalogDepartment).where(col(CatalogDepartment.version_id) == version_id, col(CatalogDepartment.code) == code)
    ).first()
    if department is not None:
        return _posts_where(session, col(CatalogUnit.department_id) == department.id)
    return None


def _role_targets(session: Session, version_id: int, role: str) -> list[str]:
    return list(
        session.scalars(
            select(col(CatalogRoleBinding.target))
            .where(col(CatalogRoleBinding.version_id) == version_id, col(CatalogRoleBinding.role) == role)
            .order_by(col(CatalogRoleBinding.position))
        )
    )


def resolve_posts(session: Session, version_id: int, target: str) -> list[str]:
    """Post codes meant by `target`: a post, a unit (its posts), a department (all its posts) or a
    role of the `roles:` binding (the posts of what it is bound to). Unknown → NotFound."""
    posts = _resolve_code(session, version_id, target)
    if posts is not None:
        return posts
    targets = _role_targets(session, version_id, target)
    if not targets:
        raise NotFound(
            f"找不到岗位、内设机构、部门或角色 '{target}'",
            [f"target: '{target}' 既不是岗位、内设机构、部门编码，也不是清单 roles 中的角色"],
        )
    result: list[str] = []
    for code in targets:
        for post in _resolve_code(session, version_id, code) or []:
            if post not in result:
                result.append(post)
    return result


def posts_of_staff(session: Session, version_id: int, staff_id: str) -> list[str]:
    """The posts a person holds in the version ([] when the person holds none or is unknown)."""
    return list(
        session.scalars(
            select(col(CatalogPost.code))
            .join(CatalogPostHolder, col(CatalogPostHolder.post_id) == col(CatalogPost.id))
            .join(CatalogStaff, col(CatalogStaff.id) == col(CatalogPostHolder.staff_pk))
            .where(col(CatalogStaff.version_id) == version_id, col(CatalogStaff.staff_id) == staff_id)
            .order_by(col(CatalogPost.id))
        )
    )


@dataclass(frozen=True)
class Cancellation:
    """A duty no longer in a region's published list: the last version that had it and the one
    that dropped it (the first published after it)."""

    code: str
    name: str
    last_version: CatalogVersion
    cancelled_in: CatalogVersion | None


def cancellation_of(session: Session, region: str, code: str) -> Cancellation | None:
    """When and where a duty code left the region's published catalog (None: it never was in it)."""
    found = session.execute(
        select(CatalogVersion, col(CatalogDuty.name))
        .join(CatalogDuty, col(CatalogDuty.version_id) == col(CatalogVersion.id))
        .where(col(CatalogVersion.region) == region, col(CatalogVersion.status) == PUBLISHED,
               col(CatalogDuty.code) == code)
        .order_by(col(CatalogVersion.published_at).desc(), col(CatalogVersion.id).desc()).limit(1)
    ).first()
    if found is None:
        return None
    last, name = found
    later = session.scalars(
        select(CatalogVersion).where(col(CatalogVersion.region) == region, col(CatalogVersion.status) == PUBLISHED,
                                     col(CatalogVersion.published_at) > last.published_at)
        .order_by(col(CatalogVersion.published_at), col(CatalogVersion.id)).limit(1)
    ).first()
    return Cancellation(code=code, name=name, last_version=last, cancelled_in=later)


def post_name(session: Session, version_id: int, post_code: str) -> str | None:
    """A post as people name it — 市民政局 · 社会救助科 · 低保审核岗 — or None when unknown."""
    return post_names_of(session, version_id, [post_code]).get(post_code)


def post_names_of(session: Session, version_id: int, post_codes: Iterable[str]) -> dict[str, str]:
    """Each known post's name as people say it (department · unit · post), in one query."""
    codes = sorted({code for code in post_codes if code})
    if not codes:
        return {}
    rows = session.execute(
        select(col(CatalogPost.code), col(CatalogDepartment.name), col(CatalogUnit.name), col(CatalogPost.name))
        .join(CatalogUnit, col(CatalogUnit.id) == col(CatalogPost.unit_id))
        .join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogUnit.department_id))
        .where(col(CatalogPost.version_id) == version_id, col(CatalogPost.code).in_(codes))
    ).all()
    return {code: f"{department} · {unit} · {post}" for code, department, unit, post in rows}


def post_holders(session: Session, version_id: int, post_code: str) -> list[doc.Holder]:
    """The people in a post, in catalog order ([] = vacant). Unknown post → NotFound."""
    post = _post_row(session, version_id, post_code)
    rows = session.execute(
        select(col(CatalogStaff.staff_id), col(CatalogStaff.name))
        .join(CatalogPostHolder, col(CatalogPostHolder.staff_pk) == col(CatalogStaff.id))
        .where(col(CatalogPostHolder.post_id) == post.id)
        .order_by(col(CatalogPostHolder.position))
    ).all()
    return [doc.Holder(id=staff_id, name=name) for staff_id, name in rows]


def backup_post(session: Session, version_id: int, post_code: str) -> str | None:
    """The B角 post of a post, or None when it has none."""
    return _post_row(session, version_id, post_code).backup


def head_posts(session: Session, version_id: int, unit_code: str) -> list[str]:
    """The unit's head posts (marked `head`), else all its posts. Unknown unit → NotFound."""
    unit = _unit_row(session, version_id, unit_code)
    if unit is None:
        raise NotFound(f"找不到内设机构 '{unit_code}'", [f"unit: 未知内设机构 '{unit_code}'"])
    heads = _posts_where(session, col(CatalogPost.unit_id) == unit.id, col(CatalogPost.head).is_(True))
    return heads or _posts_where(session, col(CatalogPost.unit_id) == unit.id)


def unit_of_post(session: Session, version_id: int, post_code: str) -> str:
    post = _post_row(session, version_id, post_code)
    # get_one: the foreign keys guarantee the row.
    return session.get_one(CatalogUnit, post.unit_id).code


def department_of_post(session: Session, version_id: int, post_code: str) -> str:
    post = _post_row(session, version_id, post_code)
    unit = session.get_one(CatalogUnit, post.unit_id)
    return session.get_one(CatalogDepartment, unit.department_id).code


@dataclass(frozen=True)
class PostDuty:
    """A duty carried by a post, with the post's role in it (A = 主责, B = 备岗)."""

    code: str
    name: str
    role: str


def duties_of_post(session: Session, version_id: int, post_code: str) -> list[PostDuty]:
    post = _post_row(session, version_id, post_code)
    rows = session.execute(
        select(col(CatalogDuty.code), col(CatalogDuty.name), col(CatalogDutyPost.role))
        .join(CatalogDutyPost, col(CatalogDutyPost.duty_id) == col(CatalogDuty.id))
        .where(col(CatalogDutyPost.post_id) == post.id)
        .order_by(col(CatalogDuty.position))
    ).all()
    return [PostDuty(code, name, role) for code, name, role in rows]


@dataclass(frozen=True)
class PostListing:
    """A post as the post list shows it: where it sits, who holds it, which duties it carries."""

    code: str
    name: str
    unit: str
    department: str
    backup: str | None
    head: bool
    holders: list[doc.Holder]
    duties: list[PostDuty]


@dataclass(frozen=True)
class PostPage:
    total: int
    posts: list[PostListing]


def list_posts(session: Session, version_id: int, *, department: str | None = None, unit: str | None = None,
               code: str | None = None, limit: int = 50, offset: int = 0) -> PostPage:
    """One page of a version's posts in catalog order, filtered in the database, in four statements
    whatever the page holds (count, posts, their holders, their duties): a province's catalog has
    tens of thousands of posts, so neither the whole catalog nor one query per post is read."""
    get_version(session, version_id)
    where = [col(CatalogPost.version_id) == version_id]
    if department is not None:
        where.append(col(CatalogDepartment.code) == department)
    if unit is not None:
        where.append(col(CatalogUnit.code) == unit)
    if code is not None:
        where.append(col(CatalogPost.code) == code)
    joined = (select(col(CatalogPost.id))
              .join(CatalogUnit, col(CatalogUnit.id) == col(CatalogPost.unit_id))
              .join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogUnit.department_id))
              .where(*where))
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    rows = session.execute(
        joined.add_columns(col(CatalogPost.code), col(CatalogPost.name), col(CatalogUnit.code),
                           col(CatalogDepartment.code), col(CatalogPost.backup), col(CatalogPost.head))
        .order_by(col(CatalogDepartment.position), col(CatalogUnit.position), col(CatalogPost.position))
        .limit(limit).offset(offset)
    ).all()
    ids = [row[0] for row in rows]
    holders: dict[int, list[doc.Holder]] = {post_id: [] for post_id in ids}
    duties: dict[int, list[PostDuty]] = {post_id: [] for post_id in ids}
    if ids:
        for post_id, staff_id, name in session.execute(
            select(col(CatalogPostHolder.post_id), col(CatalogStaff.staff_id), col(CatalogStaff.name))
            .join(CatalogStaff, col(CatalogStaff.id) == col(CatalogPostHolder.staff_pk))
            .where(col(CatalogPostHolder.post_id).in_(ids))
            .order_by(col(CatalogPostHolder.position))
        ):
            holders[post_id].append(doc.Holder(id=staff_id, name=name))
        for post_id, duty_code, duty_name, role in session.execute(
            select(col(CatalogDutyPost.post_id), col(CatalogDuty.code), col(CatalogDuty.name), col(CatalogDutyPost.role))
            .join(CatalogDuty, col(CatalogDuty.id) == col(CatalogDutyPost.duty_id))
            .where(col(CatalogDutyPost.post_id).in_(ids))
            .order_by(col(CatalogDuty.position))
        ):
            duties[post_id].append(PostDuty(duty_code, duty_name, role))
    return PostPage(total=total, posts=[
        PostListing(code=code_, name=name, unit=unit_code, department=department_code, backup=backup,
                    head=bool(head), holders=holders[post_id], duties=duties[post_id])
        for post_id, code_, name, unit_code, department_code, backup, head in rows])


def role_posts(session: Session, version_id: int) -> dict[str, set[str]]:
    """The posts behind each coordinating role of a version (`roles:` extension), resolved once:
    listing everyone's roles then costs a fixed number of queries, not several per person."""
    names = session.scalars(
        select(col(CatalogRoleBinding.role)).where(col(CatalogRoleBinding.version_id) == version_id).distinct()
    )
    return {role: set(resolve_posts(session, version_id, role)) for role in names}


def roles_of_posts(held: set[str] | list[str], posts_by_role: dict[str, set[str]]) -> set[str]:
    """The coordinating roles bound to any of the `held` posts."""
    held = set(held)
    return {role for role, posts in posts_by_role.items() if held & posts}


def staff_roles(session: Session, version_id: int, staff_id: str) -> set[str]:
    """The coordinating roles (`roles:` extension) bound to any post the person holds."""
    held = set(posts_of_staff(session, version_id, staff_id))
    if not held:
        return set()
    return roles_of_posts(held, role_posts(session, version_id))
