"""Public pages of the catalog (政务公开): search, one duty, version history with the diff.

Only published versions are shown here; drafts belong to the legal office's page. No sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import DB_INT_MAX
from api.pages import catalog_diff_view
from api.pages.formatting import moment
from api.pages.web import PageRoute, current_actor, page_session, render
from engine.auth.roles import Actor
from engine.auth.service import user_names
from engine.catalog import document as doc
from engine.catalog import service as catalog
from engine.config import setting
from engine.errors import Gone, NotFound
from engine.models.catalog import CatalogVersion

router = APIRouter(route_class=PageRoute)

PAGE_SIZE = 20
DUTY_ROLE_LABELS = {"sole": "主办", "lead": "牵头", "partner": "配合"}
POST_ROLE_LABELS = {"A": "A角（主责）", "B": "B角（备岗）"}


@dataclass(frozen=True)
class Organisation:
    """Names of departments, units and posts of one version, for printing codes as names."""

    departments: dict[str, doc.Department]
    units: dict[str, doc.Unit]
    posts: dict[str, doc.Post]
    unit_of_post: dict[str, str]

    @classmethod
    def of(cls, departments: list[doc.Department]) -> Organisation:
        units = {u.code: u for d in departments for u in d.units}
        posts = {p.code: p for u in units.values() for p in u.posts}
        return cls(
            departments={d.code: d for d in departments},
            units=units,
            posts=posts,
            unit_of_post={p.code: u.code for u in units.values() for p in u.posts},
        )

    def department_name(self, code: str) -> str:
        department = self.departments.get(code)
        return department.name if department else code


def published_version(session: Session, version_id: int | None = None,
                      region: str | None = None) -> CatalogVersion | None:
    """The version the public sees: the given published one, or the newest published one of the
    region asked for, else of the region the server serves (DUTYFLOW_REGION), else of any."""
    if version_id is None:
        try:
            return catalog.find_version(session, "published", region or setting("region"))
        except NotFound:
            return None
    version = catalog.get_version(session, version_id)
    if not version.is_published:
        raise NotFound(f"清单版本 {version_id} 尚未发布", [f"version: {version_id} 不是已发布版本"])
    return version


@router.get("/catalog")
def search(
    request: Request,
    q: str = Query("", max_length=200),
    department: str = Query("", max_length=200),
    category: str = Query("", max_length=50),
    region: str = Query("", max_length=200),
    page: int = Query(1, ge=1, le=DB_INT_MAX // PAGE_SIZE),
    session: Session = Depends(page_session),
    actor: Actor | None = Depends(current_actor),
) -> Response:
    version = published_version(session, region=region or None)
    # Regions with a published catalog: a province's server offers each region's own list.
    regions = catalog.published_regions(session)
    context: dict = {"title": "权责清单查询", "version": version, "q": q, "department": department,
                     "category": category, "categories": doc.CATEGORIES, "role_labels_duty": DUTY_ROLE_LABELS,
                     "regions": regions, "region": version.region if version is not None else region}
    if version is not None:
        departments = catalog.list_departments(session, version.id)
        found = catalog.search_duties(session, version.id, q=q or None, department=department or None,
                                      category=category or None, limit=PAGE_SIZE,
                                      offset=(page - 1) * PAGE_SIZE)
        context.update(departments=departments, org=Organisation.of(departments), results=found.duties,
                       total=found.total, page=page, pages=max(1, -(-found.total // PAGE_SIZE)))
    return render(request, "catalog/search.html", context, actor=actor)


@router.get("/catalog/versions")
def versions(
    request: Request,
    old: int | None = Query(None, ge=0, le=DB_INT_MAX),
    new: int | None = Query(None, ge=0, le=DB_INT_MAX),
    session: Session = Depends(page_session),
    actor: Actor | None = Depends(current_actor),
) -> Response:
    published = [v for v in catalog.list_versions(session) if v.is_published]
    published.sort(key=lambda v: (v.published_at, v.id), reverse=True)
    diff = None
    if old is not None and new is not None:
        diff = catalog_diff_view.diff_of(session, published_version(session, old).id,
                                         published_version(session, new).id)
    elif len(published) >= 2:
        old, new = published[1].id, published[0].id
        diff = catalog_diff_view.diff_of(session, old, new)
    return render(request, "catalog/versions.html", {
        "title": "清单版本与调整说明", "versions": published, "diff": diff, "old": old, "new": new,
        "downloads": catalog_diff_view.download_links, "value_text": catalog_diff_view.value_text,
        # The publisher by the account's name (a process publishes as the person who decided it).
        "publishers": user_names(session, [v.published_by for v in published]),
    }, actor=actor)


@router.get("/catalog/{code}")
def duty_page(
    request: Request,
    code: str,
    version: int | None = Query(None, ge=0, le=DB_INT_MAX),
    session: Session = Depends(page_session),
    actor: Actor | None = Depends(current_actor),
) -> Response:
    shown = published_version(session, version)
    if shown is None:
        raise NotFound("尚未发布权责清单", ["catalog: 还没有已发布的版本"])
    try:
        duty = catalog.get_duty(session, shown.id, code)
    except NotFound:
        gone = catalog.cancellation_of(session, shown.region, code)
        if gone is None:
            raise
        # A duty an earlier list had: say when and in which version it was cancelled, not 404.
        when = gone.cancelled_in or shown
        raise Gone(f"事项「{gone.name}」（{code}）已在{shown.region}权责清单 {when.version} 版本中取消",
                   [f"最后列入：{gone.last_version.version} 版本（{moment(gone.last_version.published_at)} 发布）",
                    f"取消于：{when.version} 版本（{moment(when.published_at)} 发布）；调整说明见“版本历史”"]) from None
    org = Organisation.of(catalog.list_departments(session, shown.id))
    return render(request, "catalog/duty.html", {
        "title": duty.name, "duty": duty, "version": shown, "org": org,
        "role_labels_duty": DUTY_ROLE_LABELS, "post_role_labels": POST_ROLE_LABELS,
    }, actor=actor)
