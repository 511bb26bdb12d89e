"""Routes: the duty catalog — organisation, duties and search, versions, diff, import and export.

Internal views (`/api/...`) need a signed-in user and show drafts too; writes (import, publish)
need the legal office (法制办) or an admin. The public view (`/api/public/...`) needs no sign-in
and serves published versions only: a draft is "not found" there, never shown.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Form,
    Query,
    Response,
    UploadFile,
)
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import DB_INT_MAX, get_clock, get_session
from api.security import require_action, require_actor
from api.times import BeijingTime
from api.uploads import UPLOAD_TOO_LARGE, UploadRoute
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.catalog import io as catalog_io
from engine.catalog import service
from engine.catalog.document import Department, Duty, Holder, without_personal_data
from engine.catalog.io import MEDIA_TYPES, WRITE_FORMATS, write_catalog
from engine.catalog.limits import MAX_UPLOAD_BYTES, mb
from engine.clock import Clock
from engine.config import setting
from engine.errors import InvalidInput, NotFound
from engine.models.catalog import CatalogVersion

router = APIRouter()
log = logging.getLogger(__name__)

upload_router = APIRouter(route_class=UploadRoute)

VERSION_HELP = "版本：编号、版本号、current（默认）、published 或 latest"
PUBLIC_VERSION_HELP = "已发布的版本：编号、版本号或 published（默认，最新发布的版本）"


class VersionOut(BaseModel):
    id: int
    region: str
    name: str
    version: str
    effective_date: date | None
    status: str = Field(description="draft（草稿）/ published（已发布）")
    source: str | None
    created_by: str | None
    created_at: BeijingTime
    published_by: str | None
    published_at: BeijingTime | None


class VersionDetailOut(VersionOut):
    counts: dict[str, int] = Field(description="departments, units, posts, staff, duties 的数量")


class DutyPageOut(BaseModel):
    version: VersionOut
    total: int
    limit: int
    offset: int
    items: list[Duty]


class DutyOut(BaseModel):
    version: VersionOut
    duty: Duty
    department_name: str | None


class PostOut(BaseModel):
    code: str
    name: str
    unit: str
    department: str
    holders: list[Holder]
    backup: str | None
    head: bool
    duties: list[dict[str, str]] = Field(description="该岗位承办的事项：code、name、role（A/B）")


class PostPageOut(BaseModel):
    total: int = Field(description="符合条件的岗位总数")
    limit: int
    offset: int
    items: list[PostOut]


class StaffOut(BaseModel):
    staff_id: str
    name: str
    posts: list[str]
    roles: list[str] = Field(description="经清单 roles 绑定获得的协调角色")


class ImportOut(BaseModel):
    version: VersionOut
    counts: dict[str, int]
    warnings: list[str] = Field(default_factory=list, description="不阻止导入的提醒，如同一部门内同名事项（点明两行）")


def _version_out(version: CatalogVersion) -> VersionOut:
    return VersionOut.model_validate(version, from_attributes=True)


def _internal_version(session: Session, ref: str | None) -> CatalogVersion:
    return service.find_version(session, ref or "current")


def _public_version(session: Session, ref: str | None, region: str | None = None) -> CatalogVersion:
    """Only published versions exist for the public; a draft answers as unknown. Without a region:
    the region the server serves (DUTYFLOW_REGION), else any."""
    version = service.find_version(session, ref or "published", region or setting("region"))
    if not version.is_published:
        raise NotFound(f"找不到已发布的清单版本 '{ref}'", [f"version: '{ref}' 不是已发布的版本"])
    return version


def _duty_page(session, version, q, department, category, object_, limit, offset) -> DutyPageOut:
    page = service.search_duties(session, version.id, q=q, department=department, category=category,
                                 object=object_, limit=limit, offset=offset)
    return DutyPageOut(version=_version_out(version), total=page.total, limit=limit, offset=offset, items=page.duties)


def _duty_out(session: Session, version: CatalogVersion, code: str) -> DutyOut:
    duty = service.get_duty(session, version.id, code)
    names = {d.code: d.name for d in service.list_departments(session, version.id)}
    return DutyOut(version=_version_out(version), duty=duty, department_name=names.get(duty.department))


def _download(session: Session, version: CatalogVersion, fmt: str, public: bool = False) -> Response:
    """The version as a file. `public`: without personal data (no post holders' names or ids);
    a signed-in export keeps them."""
    fmt = fmt.lower()
    if fmt not in WRITE_FORMATS:
        raise InvalidInput(f"不支持的导出格式 '{fmt}'", [f"format: 可选 {', '.join(WRITE_FORMATS)}"])
    document = service.load_document(session, version.id)
    content = write_catalog(without_personal_data(document) if public else document, fmt)
    filename = f"{version.name}-{version.version}.{fmt}"
    ascii_name = f"catalog-{version.id}-{quote(version.version, safe='')}.{fmt}"
    # The ASCII name serves old clients; filename* (RFC 5987) carries the Chinese name.
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
    media_type = MEDIA_TYPES[fmt] + ("; charset=utf-8" if fmt != "xlsx" else "")
    return Response(content=content, media_type=media_type, headers={"Content-Disposition": disposition})


Q = Query(None, description="文本：事项名称、编码、管理对象或行为中包含")
DEPARTMENT_Q = Query(None, description="部门编码或名称")
CATEGORY_Q = Query(None, description="事项类型（12 类之一）")
OBJECT_Q = Query(None, description="管理对象（含其别名及对象分类中的下级对象）")
LIMIT_Q = Query(50, ge=1, le=500)
OFFSET_Q = Query(0, ge=0, le=DB_INT_MAX)


# ---------------------------------------------------------------- internal view


REGION_Q = Query(None, max_length=200, description="区划：只看这个区划的版本")


@router.get("/versions", response_model=list[VersionOut], summary="清单版本列表")
def list_versions(
    region: str | None = REGION_Q,
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    return [_version_out(v) for v in service.list_versions(session) if region is None or v.region == region]


@router.get("/versions/diff", summary="两个版本之间的调整说明（新增、取消、逐字段变更）")
def diff_versions(
    from_: str = Query(..., alias="from", description=VERSION_HELP),
    to: str = Query(..., description=VERSION_HELP),
    region: str | None = REGION_Q,
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
) -> dict[str, Any]:
    old, new = service.find_version(session, from_, region), service.find_version(session, to, region)
    diff = service.diff_versions(session, old.id, new.id)
    return {**diff.to_dict(), "text": diff.text()}


@router.get("/versions/{ref}", response_model=VersionDetailOut, summary="版本详情")
def version_detail(ref: str, session: Session = Depends(get_session, scope="function"), _actor: Actor = Depends(require_actor)):
    version = service.find_version(session, ref)
    return VersionDetailOut(**_version_out(version).model_dump(), counts=service.version_counts(session, version.id))


@router.post("/versions/{ref}/publish", response_model=VersionOut, summary="发布版本（发布后冻结，不可修改）")
def publish(
    ref: str,
    session: Session = Depends(get_session, scope="function"),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(require_action(Action.PUBLISH_CATALOG)),
):
    version = service.find_version(session, ref)
    return _version_out(service.publish_version(session, version.id, actor.username, clock.now()))


@upload_router.post("/import", response_model=ImportOut, status_code=201,
                     summary=f"导入清单文件（YAML/JSON/xlsx/CSV，不超过 {mb(MAX_UPLOAD_BYTES)}），存为草稿版本",
                     responses={413: {"description": UPLOAD_TOO_LARGE}})
def import_file(
    file: UploadFile = File(..., description=".yaml/.yml/.json/.xlsx/.csv"),
    region: str | None = Form(None, max_length=200,
                              description="区划：版本属于哪个区划（覆盖表中 区划名称/区划代码 列或文件头中的）"),
    name: str | None = Form(None, description="覆盖文件中的清单名称"),
    version: str | None = Form(None, description="覆盖文件中的版本号"),
    session: Session = Depends(get_session, scope="function"),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(require_action(Action.IMPORT_CATALOG)),
):
    # A plain `def`: FastAPI runs it in its thread pool, so parsing a large file never holds up
    # the event loop. The sign-in check began this request's transaction, which on SQLite holds
    # the write lock (BEGIN IMMEDIATE) and on PostgreSQL a connection: end it before parsing, so
    # other requests go on meanwhile; storing opens the next one and holds it only to store.
    session.commit()
    document = catalog_io.read_catalog(file.file.read(), file.filename or "",
                                       overrides={"region": region, "name": name, "version": version})
    stored = service.import_catalog(session, document, actor.username, clock.now(), source=file.filename,
                                    checked=True)
    return ImportOut(version=_version_out(stored), counts=service.version_counts(session, stored.id),
                     warnings=service.same_name_warnings(document))


router.include_router(upload_router)


@router.get("/export", summary="导出清单（yaml / json / xlsx 下载）")
def export(
    version: str | None = Query(None, description=VERSION_HELP),
    format: str = Query("yaml", description="yaml / json / xlsx"),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    return _download(session, _internal_version(session, version), format)


@router.get("/departments", response_model=list[Department], summary="部门（含内设机构、岗位、在岗人员）")
def departments(
    version: str | None = Query(None, description=VERSION_HELP),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    return service.list_departments(session, _internal_version(session, version).id)


@router.get("/departments/{code}", response_model=Department, summary="一个部门（含内设机构、岗位、在岗人员）")
def department(
    code: str,
    version: str | None = Query(None, description=VERSION_HELP),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    return service.get_department(session, _internal_version(session, version).id, code)


def _post_out(post: service.PostListing) -> PostOut:
    return PostOut(code=post.code, name=post.name, backup=post.backup, head=post.head, unit=post.unit,
                   department=post.department, holders=post.holders,
                   duties=[{"code": d.code, "name": d.name, "role": d.role} for d in post.duties])


@router.get("/posts", response_model=PostPageOut, summary="岗位列表（可按部门或内设机构筛选，分页）")
def posts(
    version: str | None = Query(None, description=VERSION_HELP),
    department: str | None = Query(None, max_length=100, description="部门编码"),
    unit: str | None = Query(None, max_length=100, description="内设机构编码"),
    limit: int = LIMIT_Q,
    offset: int = OFFSET_Q,
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    version_id = _internal_version(session, version).id
    page = service.list_posts(session, version_id, department=department, unit=unit, limit=limit, offset=offset)
    return PostPageOut(total=page.total, limit=limit, offset=offset, items=[_post_out(p) for p in page.posts])


@router.get("/posts/{code}", response_model=PostOut, summary="岗位详情（在岗人员、B角、承办事项）")
def post(
    code: str,
    version: str | None = Query(None, description=VERSION_HELP),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    version_id = _internal_version(session, version).id
    page = service.list_posts(session, version_id, code=code, limit=1)
    if not page.posts:
        raise NotFound(f"找不到岗位 '{code}'", [f"post: 未知岗位 '{code}'"])
    return _post_out(page.posts[0])


def _staff_out(info: service.StaffInfo, posts_by_role: dict[str, set[str]]) -> StaffOut:
    roles = sorted(service.roles_of_posts(info.posts, posts_by_role))
    return StaffOut(staff_id=info.staff_id, name=info.name, posts=info.posts, roles=roles)


@router.get("/staff", response_model=list[StaffOut], summary="人员（一人可在多个岗位）")
def staff(
    version: str | None = Query(None, description=VERSION_HELP),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    version_id = _internal_version(session, version).id
    posts_by_role = service.role_posts(session, version_id)  # once, not per person
    return [_staff_out(info, posts_by_role) for info in service.list_staff(session, version_id)]


@router.get("/staff/{staff_id}", response_model=StaffOut, summary="一名人员的岗位与角色")
def staff_member(
    staff_id: str,
    version: str | None = Query(None, description=VERSION_HELP),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    version_id = _internal_version(session, version).id
    for info in service.list_staff(session, version_id):
        if info.staff_id == staff_id:
            return _staff_out(info, service.role_posts(session, version_id))
    raise NotFound(f"找不到人员 '{staff_id}'", [f"staff: 未知人员编号 '{staff_id}'"])


@router.get("/duties", response_model=DutyPageOut, summary="检索权责事项")
def duties(
    q: str | None = Q,
    department: str | None = DEPARTMENT_Q,
    category: str | None = CATEGORY_Q,
    object: str | None = OBJECT_Q,
    version: str | None = Query(None, description=VERSION_HELP),
    limit: int = LIMIT_Q,
    offset: int = OFFSET_Q,
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    return _duty_page(session, _internal_version(session, version), q, department, category, object, limit, offset)


@router.get("/duties/{code}", response_model=DutyOut, summary="权责事项详情")
def duty(
    code: str,
    version: str | None = Query(None, description=VERSION_HELP),
    session: Session = Depends(get_session, scope="function"),
    _actor: Actor = Depends(require_actor),
):
    return _duty_out(session, _internal_version(session, version), code)


# ---------------------------------------------------------------- public view (published only)


@router.get("/public/versions", response_model=list[VersionOut], summary="公开：已发布的清单版本")
def public_versions(region: str | None = REGION_Q, session: Session = Depends(get_session, scope="function")):
    return [_version_out(v) for v in service.list_versions(session)
            if v.is_published and (region is None or v.region == region)]


@router.get("/public/versions/diff", summary="公开：两个已发布版本之间的调整说明")
def public_diff(
    from_: str = Query(..., alias="from", description=PUBLIC_VERSION_HELP),
    to: str = Query(..., description=PUBLIC_VERSION_HELP),
    region: str | None = REGION_Q,
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    old, new = _public_version(session, from_, region), _public_version(session, to, region)
    diff = service.diff_versions(session, old.id, new.id)
    return {**diff.to_dict(), "text": diff.text()}


@router.get("/public/duties", response_model=DutyPageOut, summary="公开：检索已发布清单的权责事项")
def public_duties(
    q: str | None = Q,
    department: str | None = DEPARTMENT_Q,
    category: str | None = CATEGORY_Q,
    object: str | None = OBJECT_Q,
    version: str | None = Query(None, description=PUBLIC_VERSION_HELP),
    region: str | None = REGION_Q,
    limit: int = LIMIT_Q,
    offset: int = OFFSET_Q,
    session: Session = Depends(get_session, scope="function"),
):
    return _duty_page(session, _public_version(session, version, region), q, department, category, object, limit,
                      offset)


@router.get("/public/duties/{code}", response_model=DutyOut, summary="公开：权责事项详情")
def public_duty(
    code: str,
    version: str | None = Query(None, description=PUBLIC_VERSION_HELP),
    region: str | None = REGION_Q,
    session: Session = Depends(get_session, scope="function"),
):
    return _duty_out(session, _public_version(session, version, region), code)


@router.get("/public/export", summary="公开：下载已发布的清单（yaml / json / xlsx；不含在岗人员姓名和编号）")
def public_export(
    version: str | None = Query(None, description=PUBLIC_VERSION_HELP),
    format: str = Query("yaml", description="yaml / json / xlsx"),
    region: str | None = REGION_Q,
    session: Session = Depends(get_session, scope="function"),
):
    return _download(session, _public_version(session, version, region), format, public=True)


# ---------------------------------------------------------------- lifecycle


def load_demo_catalog(app: FastAPI) -> CatalogVersion | None:
    """Import and publish the demo catalog when demo mode is on and no catalog exists yet."""
    settings = app.state.settings
    if not settings.demo:
        return None
    with app.state.database.session() as session:
        if service.list_versions(session):
            return None
        now = app.state.clock.now()
        document = catalog_io.read_catalog(settings.demo_catalog)
        version = service.import_catalog(session, document, "system", now, source=settings.demo_catalog.name)
        service.publish_version(session, version.id, "system", now)
        log.info("已导入并发布演示清单 %s %s", version.name, version.version)
        return version


def on_startup(app: FastAPI) -> None:
    """Called once when the app starts (after migrations); app.state has database, clock, settings."""
    load_demo_catalog(app)


def on_shutdown(app: FastAPI) -> None:
    """Called once when the app stops."""
