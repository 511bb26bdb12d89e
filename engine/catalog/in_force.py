"""The catalog version in force and the posts a person holds in it: the one answer every package asks.

The version in force is the newest published version, else the newest draft, of the region the
server serves (DUTYFLOW_REGION), or of any region when none is set.
`catalog_version_id` and `staff_posts` answer from a cache in `session.info`, which lives until
the transaction ends or writes a catalog table (the listeners below drop it then), so a step sees
one catalog and a step that writes none asks once.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import and_, bindparam, event, func, select
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from engine.config import setting
from engine.db import core_connection
from engine.models.catalog import (
    DRAFT,
    PUBLISHED,
    CatalogPost,
    CatalogPostHolder,
    CatalogStaff,
    CatalogVersion,
)

VERSION_KEY = "dutyflow_catalog_version_id"  # session.info: the version id in force (or None)
POSTS_KEY = "dutyflow_staff_posts"  # session.info: staff id → posts held in that version
PUBLISHED_KEY = "dutyflow_published_version_id"  # session.info: the version in force, when published
DUTIES_KEY = "dutyflow_duties"  # session.info: (version id, code) → duty document of a published version
LANES_KEY = "dutyflow_lane_targets"  # session.info: (version id, lane target) → its post codes (runtime.tasks)
CATALOG_MODELS = "engine.models.catalog"

# Statements on the tables, built once: asked in every step, and a Core statement costs half of the
# same one written with model attributes (no ORM compile state). They run on the session's
# connection (`engine.db.core_connection`: the autoflush first, then the same transaction without
# the ORM's per-statement work, which a statement that loads no ORM object does not need).
_VERSION = CatalogVersion.__table__  # type: ignore[attr-defined]
_POST = CatalogPost.__table__  # type: ignore[attr-defined]
_HOLDER = CatalogPostHolder.__table__  # type: ignore[attr-defined]
_STAFF = CatalogStaff.__table__  # type: ignore[attr-defined]
STAFF_POSTS = (
    select(_POST.c.code)
    .join(_HOLDER, _HOLDER.c.post_id == _POST.c.id)
    .join(_STAFF, _STAFF.c.id == _HOLDER.c.staff_pk)
    .where(_STAFF.c.version_id == bindparam("version_id"), _STAFF.c.staff_id == bindparam("staff_id"))
    .order_by(_POST.c.id)
)


@dataclass(frozen=True)
class InForceStatements:
    """The statements that find the version in force, for all regions or for one (bound as `region`)."""

    version_in_force: Any  # (version_id, published_id)
    staff_posts_in_force: Any  # (version_id, published_id, code) rows for `staff_id`


def _in_force_statements(one_region: bool) -> InForceStatements:
    region_filter = [_VERSION.c.region == bindparam("region")] if one_region else []
    newest_published = (
        select(_VERSION.c.id).where(_VERSION.c.status == PUBLISHED, *region_filter)
        .order_by(_VERSION.c.published_at.desc(), _VERSION.c.id.desc()).limit(1)
    )
    newest_draft = (
        select(_VERSION.c.id).where(_VERSION.c.status == DRAFT, *region_filter)
        .order_by(_VERSION.c.id.desc()).limit(1)
    )
    # The version in force (and whether it is published) in one statement instead of one or two.
    published_id = newest_published.scalar_subquery()
    version_in_force = select(func.coalesce(published_id, newest_draft.scalar_subquery()).label("version_id"),
                              published_id.label("published_id"))
    # The first question of a step is usually "which posts does the actor hold": the version in
    # force and those posts in one statement (one row with code NULL when they hold none).
    in_force = version_in_force.subquery("in_force")
    staff_posts_in_force = (
        select(in_force.c.version_id, in_force.c.published_id, _POST.c.code)
        .select_from(in_force.outerjoin(
            _STAFF.join(_HOLDER, _HOLDER.c.staff_pk == _STAFF.c.id).join(_POST, _POST.c.id == _HOLDER.c.post_id),
            and_(_STAFF.c.version_id == in_force.c.version_id, _STAFF.c.staff_id == bindparam("staff_id"))))
        .order_by(_POST.c.id)
    )
    return InForceStatements(version_in_force, staff_posts_in_force)


# Built once each: every region shares the one-region statements (the region is a parameter).
ANY_REGION = _in_force_statements(one_region=False)
ONE_REGION = _in_force_statements(one_region=True)


def _statements() -> tuple[InForceStatements, dict[str, Any]]:
    """The statements for the region this server serves, with their parameters."""
    region = setting("region")
    return (ONE_REGION, {"region": region}) if region else (ANY_REGION, {})


def _remember_version(session: Session, version_id: int | None, published_id: int | None) -> None:
    session.info[VERSION_KEY] = version_id
    if published_id is not None:
        session.info[PUBLISHED_KEY] = published_id


def catalog_version_id(session: Session) -> int | None:
    """The id of the catalog version in force (newest published, else newest draft, of the region
    the server serves), or None."""
    if VERSION_KEY not in session.info:
        statements, params = _statements()
        row = core_connection(session).execute(statements.version_in_force, params).one()
        _remember_version(session, row.version_id, row.published_id)
    version_id: int | None = session.info[VERSION_KEY]
    return version_id


def staff_posts(session: Session, staff_id: str | None) -> set[str]:
    """The codes of the posts the person holds in the version in force (empty: none, or unknown)."""
    if not staff_id:
        return set()
    cache: dict[str, set[str]] = session.info.setdefault(POSTS_KEY, {})
    if staff_id not in cache:
        if VERSION_KEY in session.info:
            known: int | None = session.info[VERSION_KEY]
            found = core_connection(session).execute(STAFF_POSTS, {"version_id": known, "staff_id": staff_id}).scalars().all() \
                if known is not None else []
        else:
            statements, params = _statements()
            rows = core_connection(session).execute(statements.staff_posts_in_force,
                                                    {"staff_id": staff_id, **params}).all()
            _remember_version(session, rows[0].version_id, rows[0].published_id)
            found = [row.code for row in rows if row.code is not None]
        cache[staff_id] = set(found)
    return cache[staff_id]


def lane_targets(session: Session) -> dict[tuple[int, str], list[str]]:
    """This transaction's answers to "which posts does this lane target name" (a post, unit,
    department or role code), by (version id, code): a step that makes several tasks in one lane
    (a multi-instance step, parallel branches) asks once. Dropped with the other answers when the
    transaction writes a catalog table."""
    cache: dict[tuple[int, str], list[str]] = session.info.setdefault(LANES_KEY, {})
    return cache


def published_duties(session: Session, version_id: int) -> dict[tuple[int, str], Any] | None:
    """This transaction's duty documents of `version_id` (engine.catalog.service.get_duty), when it
    is known to be published — the version in force found published, or the session's own model
    object of it says so — else None: a draft's duties are never cached (a draft may be re-imported)."""
    published = session.info.get(PUBLISHED_KEY) == version_id
    if not published:
        held = session.identity_map.get(identity_key(CatalogVersion, version_id))
        published = held is not None and held.status == PUBLISHED
    if not published:
        return None
    cache: dict[tuple[int, str], Any] = session.info.setdefault(DUTIES_KEY, {})
    return cache


def forget_catalog(session: Session | OrmSession) -> None:
    """Drop this transaction's answers: the catalog was just written (e.g. a script of the catalog
    publication process published a version), and the next questions see the new state."""
    session.info.pop(VERSION_KEY, None)
    session.info.pop(POSTS_KEY, None)
    session.info.pop(PUBLISHED_KEY, None)
    session.info.pop(DUTIES_KEY, None)
    session.info.pop(LANES_KEY, None)


def is_catalog_class(cls: Any) -> bool:
    return getattr(cls, "__module__", None) == CATALOG_MODELS


# The answers are dropped whenever the transaction writes a catalog table, by the ORM or by an
# ORM-enabled insert/update/delete statement, instead of after every engine step: a step that
# writes no catalog row keeps them, and a write outside a step is seen too.
@event.listens_for(OrmSession, "after_flush")
def forget_after_catalog_flush(session: OrmSession, _flush_context: Any) -> None:
    if not any(key in session.info for key in (VERSION_KEY, POSTS_KEY, DUTIES_KEY, LANES_KEY)):
        return  # nothing cached: nothing to drop
    if any(is_catalog_class(type(obj)) for obj in chain(session.new, session.dirty, session.deleted)):
        forget_catalog(session)


@event.listens_for(OrmSession, "do_orm_execute")
def forget_after_catalog_statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and is_catalog_class(mapper.class_):
        forget_catalog(state.session)
