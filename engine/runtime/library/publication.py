"""权责清单发布 (catalog_publication): the draft version under review, and publishing it."""

from __future__ import annotations

from engine.catalog import service as catalog
from engine.errors import Conflict, InvalidInput, NotFound
from engine.runtime.library.context import actor_name, now, session


def check_draft(version_id) -> dict:
    """The draft version to publish; unknown → InvalidInput, already published → Conflict."""
    try:
        version = catalog.get_version(session(), int(version_id))
    except (NotFound, TypeError, ValueError):
        raise InvalidInput(f"找不到清单版本 '{version_id}'", [f"version_id: 未知的清单版本编号 '{version_id}'"]) from None
    catalog.ensure_draft(version)
    return {"id": version.id, "region": version.region, "name": version.name, "version": version.version}


def publish_catalog(version_id) -> dict:
    """Freeze and publish the reviewed draft (the engine publishes it, not a person by hand)."""
    try:
        version = catalog.publish_version(session(), int(version_id), actor_name() or "system", now())
    except Conflict as exc:
        raise Conflict("清单版本已发布，不能重复发布", exc.problems) from None
    published_at = version.published_at.isoformat() if version.published_at is not None else None
    return {"id": version.id, "version": version.version, "published_at": published_at}
