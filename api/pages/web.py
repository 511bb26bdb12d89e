"""What every page shares: templates, the signed-in actor, role checks, flash messages, errors.

Page routes use `PageRoute`, which turns errors into pages instead of the API's JSON:
- not signed in → redirect to /login?next=… ;
- an engine error on a GET → an error page listing every problem, with the error's status;
- an engine error on a POST → the request's transaction is rolled back, the problems are flashed
  and the browser goes back to the form (POST-redirect-GET), so nothing is half-written;
- a value the database refuses as data (NUL, out of range, too long) is handled like an engine
  error, with status 422.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError
from sqlmodel import Session

from api import messages
from api.deps import get_session
from api.input_guard import DATA_REFUSED
from api.pages import formatting
from api.security import PASSWORD_PAGE, PasswordChangeRequired, get_actor
from engine.auth import policy
from engine.auth.roles import (
    ADMIN,
    ROLES,
    STAFF,
    Actor,
)
from engine.errors import DutyflowError

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
formatting.install(templates.env)

FLASH_KEY = "_flashes"
# The session cookie holds flashes; a long list of problems is cut so the cookie stays small.
MAX_FLASH_PROBLEMS = 25


class LoginRequired(Exception):
    """A private page was asked for without signing in."""


# --- flash messages ------------------------------------------------------------------------
def flash(request: Request, message: str, kind: str = "ok", problems: list[str] | None = None) -> None:
    """Remember a message for the next page the browser shows (kind: ok / error / info)."""
    problems = list(problems or [])
    if len(problems) > MAX_FLASH_PROBLEMS:
        hidden = len(problems) - MAX_FLASH_PROBLEMS
        problems = problems[:MAX_FLASH_PROBLEMS] + [f"……另有 {hidden} 个问题未显示"]
    request.session.setdefault(FLASH_KEY, [])
    request.session[FLASH_KEY] = [*request.session[FLASH_KEY], {"kind": kind, "message": message,
                                                                 "problems": problems}]


def pop_flashes(request: Request) -> list[dict]:
    return request.session.pop(FLASH_KEY, [])


# --- who is signed in ----------------------------------------------------------------------
# The dependencies below that do no I/O are `async def`: run on the event loop rather than in the
# thread pool (api.deps).
async def page_session(request: Request, session: Session = Depends(get_session, scope="function")) -> Session:
    """The request's one transaction, remembered so an error can roll it back before the error page.

    Function scope: the transaction commits when the handler returns and *before* the response
    is sent. With FastAPI's default (request scope) it would commit after the redirect had gone
    out, and the browser's next GET could read the state from before the change.
    """
    request.state.db_session = session
    return session


def current_actor(request: Request, session: Session = Depends(page_session)) -> Actor | None:
    return get_actor(request, session)


async def signed_in(actor: Actor | None = Depends(current_actor)) -> Actor:
    if actor is None:
        raise LoginRequired()
    return actor


def require_page_action(action: policy.Action) -> Callable[..., Awaitable[Actor]]:
    """Dependency factory: signed in and allowed the office action by the permission policy
    (engine.auth.policy), else its refusal as a 403 page."""

    async def dependency(actor: Actor = Depends(signed_in)) -> Actor:
        policy.require(actor, action)
        return actor

    return dependency


def home_for(actor: Actor | None) -> str:
    """Where `/` sends someone: the page of their main job."""
    if actor is None:
        return "/catalog"
    if policy.may(actor, policy.Action.READ_ALERTS) and ADMIN not in actor.roles:
        return "/dashboard"
    if policy.may(actor, policy.Action.IMPORT_CATALOG) and ADMIN not in actor.roles:
        return "/legal"
    if actor.staff_id and STAFF in actor.roles:
        return "/inbox"
    if ADMIN in actor.roles:
        return "/dashboard"
    return "/catalog"


def navigation(actor: Actor | None) -> list[tuple[str, str]]:
    """Menu entries for this actor: public ones for everyone, the rest by role."""
    items = [("/catalog", "权责清单"), ("/catalog/versions", "版本与调整")]
    if actor is None:
        return items
    if actor.staff_id or ADMIN in actor.roles:
        items.append(("/inbox", "我的待办"))
    if policy.may(actor, policy.Action.READ_ALERTS):
        items.append(("/dashboard", "监督看板"))
    if policy.may(actor, policy.Action.READ_EVALUATION):
        items.append(("/evaluation", "绩效考评"))
    if policy.may(actor, policy.Action.IMPORT_CATALOG):
        items.append(("/legal", "清单管理"))
    if policy.may(actor, policy.Action.MANAGE_ACCOUNTS):
        items.append(("/accounts", "账号管理"))
    return items


# --- rendering -----------------------------------------------------------------------------
def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    actor: Actor | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    base = {
        "actor": actor,
        "nav": navigation(actor),
        "flashes": pop_flashes(request),
        "role_labels": ROLES,
        "current_path": request.url.path,
    }
    return templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    """After a POST: 303 so the browser GETs the next page (POST-redirect-GET)."""
    return RedirectResponse(url, status_code=303)


def _rollback(request: Request) -> None:
    session: Session | None = getattr(request.state, "db_session", None)
    if session is not None:
        session.rollback()


def _back_url(request: Request) -> str:
    """The page the form was on (same site only), else the home page."""
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if referer and parts.netloc == request.url.netloc and parts.path.startswith("/"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/"


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _validation_problems(exc: RequestValidationError) -> list[str]:
    return messages.validation_problems(exc.errors())


def _actor_or_none(request: Request) -> Actor | None:
    """The actor for an error page's menu, read in the request's (rolled back) session."""
    session: Session | None = getattr(request.state, "db_session", None)
    if session is None:
        return None
    try:
        return get_actor(request, session)
    except Exception:  # noqa: BLE001 - the menu is a courtesy; the error page must still show
        session.rollback()
        return None


async def error_page(request: Request, status: int, message: str, problems: list[str]) -> Response:
    if request.method != "GET":
        flash(request, message, "error", problems)
        return redirect(_back_url(request))
    actor = _actor_or_none(request)
    return render(request, "error.html", {"status": status, "message": message, "problems": problems},
                  actor=actor, status_code=status)


class PageRoute(APIRoute):
    """An APIRoute whose errors become pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return _login_redirect(request)
            except PasswordChangeRequired:
                return redirect(PASSWORD_PAGE)
            except DutyflowError as exc:
                _rollback(request)
                return await error_page(request, exc.status_code, exc.message, messages.readable_problems(exc.problems))
            except RequestValidationError as exc:
                _rollback(request)
                return await error_page(request, 422, messages.VALIDATION_MESSAGE, _validation_problems(exc))
            except DataError:
                # The database refused a submitted value (NUL, out of range, too long): the
                # visitor's input, shown as a page like any other refusal (api.input_guard).
                _rollback(request)
                return await error_page(request, 422, DATA_REFUSED, [])
            except HTTPException as exc:
                _rollback(request)
                if exc.status_code == 401:
                    return _login_redirect(request)
                return await error_page(request, exc.status_code, str(exc.detail), [])

        return page_handler
