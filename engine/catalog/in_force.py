"""The catalog version in force and the posts a person holds in it: the one answer every package asks.

The version in force is the newest published version, else the newest draft, of the region the
server serves (DUTYFLOW_REGION), or of any region when none is set.
`catalog_version_id` and `staff_posts` answer from a cache in `session.info`, which lives until
the transaction ends or writes a catalog table (the listeners below drop it then), so a step sees
one catalog and a step that writes none asks once.

`published_answers` keeps what a published version answers (duty documents, lane targets, head
posts) for the life of the process, keyed by its publication token, in an LRU of
`PUBLISHED_VERSIONS_KEPT` versions (`VERSION_ANSWERS`). A published version never changes (the
catalog's service refuses any change to it), but its id can: a database emptied and refilled
(tests do it between tests), or another database at the same URL, reuses ids for other contents.
So the key is not the id but the token the statement that finds the version in force reads with
it: `catalog_version.publication_token`, 128 random bits written when the version was published
(engine.catalog.service; migration 0022 gave one to each version published before), next to the
database URL and the id. A version published without one (rows written behind the service's back)
gets answers for one transaction only. Rows of a published version changed behind the service's
back (an SQL `UPDATE` by hand) are not seen by a process that already read them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, event, func, select
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session

from engine.config import setting
from engine.db import core_connection, database_key
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
TOKEN_KEY = "dutyflow_published_token"  # session.info: that version's publication token (or None)
ANSWERS_KEY = "dutyflow_published_answers"  # session.info: (version id, kind) → answers about a published version
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

    version_in_force: Any  # (version_id, published_id, published_token)
    staff_posts_in_force: Any  # (version_id, published_id, published_token, code) rows for `staff_id`


def _in_force_statements(one_region: bool) -> InForceStatements:
    region_filter = [_VERSION.c.region == bindparam("region")] if one_region else []
    newest_published = (
        select(_VERSION.c.id).where(_VERSION.c.status == PUBLISHED, *region_filter)
        .order_by(_VERSION.c.published_at.desc(), _VERSION.c.id.desc()).limit(1)
    )
    newest_published_token = newest_published.with_only_columns(_VERSION.c.publication_token)
    newest_draft = (
        select(_VERSION.c.id).where(_VERSION.c.status == DRAFT, *region_filter)
        .order_by(_VERSION.c.id.desc()).limit(1)
    )
    # The version in force (and whether it is published) in one statement instead of one or two.
    published_id = newest_published.scalar_subquery()
    version_in_force = select(func.coalesce(published_id, newest_draft.scalar_subquery()).label("version_id"),
                              published_id.label("published_id"),
                              newest_published_token.scalar_subquery().label("published_token"))
    # The first question of a step is usually "which posts does the actor hold": the version in
    # force and those posts in one statement (one row with code NULL when they hold none).
    in_force = version_in_force.subquery("in_force")
    staff_posts_in_force = (
        select(in_force.c.version_id, in_force.c.published_id, in_force.c.published_token, _POST.c.code)
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


def _remember_version(session: Session, version_id: int | None, published_id: int | None,
                      token: str | None) -> None:
    session.info[VERSION_KEY] = version_id
    if published_id is not None:
        session.info[PUBLISHED_KEY] = published_id
        session.info[TOKEN_KEY] = token


def catalog_version_id(session: Session) -> int | None:
    """The id of the catalog version in force (newest published, else newest draft, of the region
    the server serves), or None."""
    if VERSION_KEY not in session.info:
        statements, params = _statements()
        row = core_connection(session).execute(statements.version_in_force, params).one()
        _remember_version(session, row.version_id, row.published_id, row.published_token)
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
            _remember_version(session, rows[0].version_id, rows[0].published_id, rows[0].published_token)
            found = [row.code for row in rows if row.code is not None]
        cache[staff_id] = set(found)
    return cache[staff_id]


# ---------------------------------------------------------------- answers of a published version

# Per process: (database URL, version id, publication token) → kind of answer → question → answer,
# the most recently used PUBLISHED_VERSIONS_KEPT versions (the module docstring says why the token).
PUBLISHED_VERSIONS_KEPT = 16
VERSION_ANSWERS: OrderedDict[tuple[str, int, str], dict[str, dict[Any, Any]]] = OrderedDict()
_ANSWERS_LOCK = threading.Lock()  # uvicorn runs sync endpoints in threads


def _process_answers(session: Session, version_id: int, kind: str) -> dict[Any, Any] | None:
    """The process-wide answers of `kind` about `version_id`, when it is the version in force of
    this transaction, published, with a publication token; else None."""
    token = session.info.get(TOKEN_KEY)
    if token is None or session.info.get(PUBLISHED_KEY) != version_id:
        return None
    key = (database_key(session), version_id, token)
    with _ANSWERS_LOCK:
        answers = VERSION_ANSWERS.get(key)
        if answers is None:
            answers = VERSION_ANSWERS[key] = {}
            while len(VERSION_ANSWERS) > PUBLISHED_VERSIONS_KEPT:
                VERSION_ANSWERS.popitem(last=False)
        else:
            VERSION_ANSWERS.move_to_end(key)
        return answers.setdefault(kind, {})


def forget_published_answers(url: str) -> None:
    """Drop what this process keeps about the published versions of the database at `url`: for a
    caller that empties it or puts older rows back (the test tier between tests), after which a
    version's token and contents may no longer be the ones the answers were read from."""
    with _ANSWERS_LOCK:
        for key in [key for key in VERSION_ANSWERS if key[0] == url]:
            del VERSION_ANSWERS[key]


def published_answers(session: Session, version_id: int, kind: str) -> dict[Any, Any] | None:
    """Answers of `kind` (each caller names its own: "duties", "heads", …) about `version_id` that
    hold as long as it is published, to read and fill; None when it is not known to be published
    (a draft may be re-imported: never cached). Process-wide when it is the version in force found
    published with a publication token, else this transaction's — the version in force
    found published, or the session's own model object of it says so — dropped with the other
    answers when the transaction writes a catalog table. The answers are shared: read them, never
    change them."""
    shared = _process_answers(session, version_id, kind)
    if shared is not None:
        return shared
    published = session.info.get(PUBLISHED_KEY) == version_id
    if not published:
        held = session.identity_map.get(identity_key(CatalogVersion, version_id))
        published = held is not None and held.status == PUBLISHED
    if not published:
        return None
    answers: dict[tuple[int, str], dict[Any, Any]] = session.info.setdefault(ANSWERS_KEY, {})
    return answers.setdefault((version_id, kind), {})


T = TypeVar("T")


def published_answer(session: Session, version_id: int, kind: str, question: Hashable, read: Callable[[], T]) -> T:
    """The answer of `kind` to `question` about `version_id`: kept in `published_answers` while the
    version is known to be published, else `read()` each time. An exception from `read` (no such
    row) is not kept, so the question is asked again."""
    known = published_answers(session, version_id, kind)
    if known is not None and question in known:
        kept: T = known[question]
        return kept
    answer = read()
    if known is not None:
        known[question] = answer
    return answer


def lane_targets(session: Session) -> dict[tuple[int, str], list[str]]:
    """The answers to "which posts does this lane target name" (a post, unit, department or role
    code) in the version in force, by (version id, code): process-wide when that version is
    published with a token (`published_answers`), else this transaction's, so a step that makes
    several tasks in one lane (a multi-instance step, parallel branches) asks once. This
    transaction's are dropped with the other answers when it writes a catalog table."""
    version_id = session.info.get(VERSION_KEY)
    if version_id is not None:
        shared = _process_answers(session, version_id, "lanes")
        if shared is not None:
            return shared
    cache: dict[tuple[int, str], list[str]] = session.info.setdefault(LANES_KEY, {})
    return cache


def forget_catalog(session: Session | OrmSession) -> None:
    """Drop this transaction's answers: the catalog was just written (e.g. a script of the catalog
    publication process published a version), and the next questions see the new state."""
    session.info.pop(VERSION_KEY, None)
    session.info.pop(POSTS_KEY, None)
    session.info.pop(PUBLISHED_KEY, None)
    session.info.pop(TOKEN_KEY, None)
    session.info.pop(ANSWERS_KEY, None)
    session.info.pop(LANES_KEY, None)


def is_catalog_class(cls: Any) -> bool:
    return getattr(cls, "__module__", None) == CATALOG_MODELS


# The answers are dropped whenever the transaction writes a catalog table, by the ORM or by an
# ORM-enabled insert/update/delete statement, instead of after every engine step: a step that
# writes no catalog row keeps them, and a write outside a step is seen too.
@event.listens_for(OrmSession, "after_flush")
def forget_after_catalog_flush(session: OrmSession, _flush_context: Any) -> None:
    if not any(key in session.info for key in (VERSION_KEY, POSTS_KEY, ANSWERS_KEY, LANES_KEY)):
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
