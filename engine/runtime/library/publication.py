"""权责清单发布 (catalog_publication): the draft version under review, and publishing it.

One publication per draft: while a catalog_publication case runs (or is suspended) for a draft,
a second one is refused (`check_draft`, 409) and the draft cannot be replaced by re-importing
its region/name/version (`refuse_replacing_under_review`, the handler of the
`draft_replacing` hook fired by engine.catalog.service.import_catalog).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session, col

from engine.bounds import INT_COLUMN_MAX
from engine.catalog import service as catalog
from engine.errors import Conflict, InvalidInput
from engine.models.catalog import CatalogVersion
from engine.models.runtime import RUNNING, SUSPENDED, ProcessInstance
from engine.runtime.library.context import actor_name, now, session, step_context

PROCESS_ID = "catalog_publication"
# A case in these states still reviews its draft; a completed or failed one no longer does.
UNDER_WAY = (RUNNING, SUSPENDED)


def _version_of(start_data: dict) -> int | None:
    try:
        return int(start_data.get("version_id"))  # type: ignore[arg-type]  # None/text → caught below
    except (TypeError, ValueError):
        return None


def publications_under_way(db: Session, version_ids: Iterable[int] | None = None,
                           except_instance: int | None = None) -> dict[int, int]:
    """{draft version id: id of the catalog_publication case reviewing it}, for the cases still
    under way (running or suspended), optionally only for `version_ids`. Only the cases under way
    of this one process are read (a handful), through the indexed process_id and status columns;
    the version id sits in each case's start data."""
    wanted = set(version_ids) if version_ids is not None else None
    if wanted is not None and not wanted:
        return {}
    query = select(col(ProcessInstance.id), col(ProcessInstance.start_data)).where(
        col(ProcessInstance.process_id) == PROCESS_ID, col(ProcessInstance.status).in_(UNDER_WAY))
    if except_instance is not None:
        query = query.where(col(ProcessInstance.id) != except_instance)
    found: dict[int, int] = {}
    for instance_id, start_data in db.execute(query.order_by(col(ProcessInstance.id))):
        version_id = _version_of(start_data or {})
        if version_id is not None and (wanted is None or version_id in wanted):
            found.setdefault(version_id, instance_id)
    return found


def under_review_conflict(version: CatalogVersion, instance_id: int, doing: str) -> Conflict:
    return Conflict(
        f"清单草稿 {version.region} {version.name} 版本 {version.version} 正在发布流程中（办件 #{instance_id}），{doing}",
        [f"version_id: 版本 {version.version} 已由发布流程办件 #{instance_id} 审核中；"
         "请在该流程中退回修改，或待其结束后再操作"],
    )


def check_draft(version_id) -> dict:
    """The draft version to publish; unknown → InvalidInput, already published → Conflict,
    already under a publication case still under way → Conflict naming that case."""
    db = session()
    try:
        wanted = int(version_id)
    except (TypeError, ValueError):
        wanted = -1
    version = None
    if 0 <= wanted <= INT_COLUMN_MAX:
        # Locked (PostgreSQL): two starts for one draft run this check one after the other, so the
        # second sees the first's case. SQLite serializes writers already (the case row is written).
        version = db.scalars(select(CatalogVersion).where(col(CatalogVersion.id) == wanted)
                             .with_for_update()).first()
    if version is None:
        raise InvalidInput(f"找不到清单版本 '{version_id}'", [f"version_id: 未知的清单版本编号 '{version_id}'"])
    catalog.ensure_draft(version)
    this_case = getattr(step_context().instance, "id", None)
    running = publications_under_way(db, [version.id], except_instance=this_case)
    if version.id in running:
        raise under_review_conflict(version, running[version.id], "不能重复启动发布流程")
    return {"id": version.id, "region": version.region, "name": version.name, "version": version.version}


def refuse_replacing_under_review(db: Session, version_id: int) -> None:
    """Handler of the `draft_replacing` hook: re-importing a draft that a publication case is
    reviewing would change what the reviewers approve under their feet → Conflict (409)."""
    running = publications_under_way(db, [version_id])
    if version_id in running:
        version = catalog.get_version(db, version_id)
        raise under_review_conflict(version, running[version.id], "不能以重新导入替换")


def publish_catalog(version_id) -> dict:
    """Freeze and publish the reviewed draft (the engine publishes it, not a person by hand)."""
    try:
        version = catalog.publish_version(session(), int(version_id), actor_name() or "system", now())
    except Conflict as exc:
        raise Conflict("清单版本已发布，不能重复发布", exc.problems) from None
    published_at = version.published_at.isoformat() if version.published_at is not None else None
    return {"id": version.id, "version": version.version, "published_at": published_at}
