"""What library functions need from the engine step that calls them: session, moment, actor,
and the catalog version in force.

BPMN scripts call library functions with plain data only; everything else comes from core's
script context (`engine.runtime.scripting.current_script_context`), set around engine steps.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from engine.catalog import in_force
from engine.catalog import service as catalog
from engine.errors import Conflict, InvalidInput
from engine.runtime.library.catalog_lookup import check_post
from engine.runtime.scripting import ScriptContext, current_script_context


def step_context() -> ScriptContext:
    context = current_script_context()
    if context is None:
        # A library function called outside an engine step is a programming error, not user input.
        raise RuntimeError("process library functions run only inside an engine step")
    return context


def session() -> Session:
    return step_context().session


def now() -> datetime:
    return step_context().clock.now()


def actor_name() -> str | None:
    actor = step_context().actor
    return getattr(actor, "username", None) if actor is not None else None


def actor_staff_id() -> str | None:
    actor = step_context().actor
    return getattr(actor, "staff_id", None) if actor is not None else None


def catalog_version_id() -> int:
    """The catalog version in force (the newest published one, else the newest draft)."""
    version_id = in_force.catalog_version_id(session())
    if version_id is None:
        raise Conflict("尚无权责清单，流程无法确定承办岗位", ["catalog: 请先导入并发布权责清单"])
    return version_id


def starter_post(given: str | None = None, field: str = "post") -> str:
    """The post a person acts from: the given code (checked against the catalog), else the first
    post the acting person holds; someone holding no post must name one."""
    version_id = catalog_version_id()
    if given:
        return check_post(session(), version_id, str(given), field)
    staff_id = actor_staff_id()
    posts = catalog.posts_of_staff(session(), version_id, staff_id) if staff_id else []
    if not posts:
        raise InvalidInput("无法确定经办岗位", [f"{field}: 当前用户未在清单中任职，请在启动数据中给出岗位编码"])
    return posts[0]
