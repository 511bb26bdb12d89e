"""Who is calling: signed bearer tokens for the API, a signed session cookie for pages.

Both carry only the id of a sign-in session stored in the database (engine.models.auth.AuthSession),
signed with DUTYFLOW_SECRET_KEY: a forged or replayed one names no live session and is refused, and
logout, an administrator or disabling the account ends a sign-in at once. Checking one costs one
primary-key lookup joined to the account (`engine.auth.service.session_actor`).

`get_actor` returns the Actor or None; `require_actor` and `require_action(...)` are the
dependencies routes use (401 when not signed in, 403 when the role is missing).

Sign-in attempts go through `SignInLimiter` (the `limits` library, moving windows): too many
failures for one account or from one address and further attempts are answered 429 without even
checking the password.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import get_session
from engine.auth import policy
from engine.auth.roles import Actor
from engine.auth.service import session_actor, start_session
from engine.clock import Clock
from engine.config import Settings
from engine.models.auth import AuthSession, UserAccount

# Key of the session id in the session cookie's data.
SESSION_ID_KEY = "sid"
TOKEN_SALT = "dutyflow-api-token"
# Longest username kept as a rate-limit key (anything longer cannot be an account anyway).
MAX_LIMIT_KEY = 128


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=TOKEN_SALT)


def session_lifetime(settings: Settings) -> timedelta:
    return timedelta(hours=settings.session_hours)


def token_for_session(settings: Settings, session_id: str) -> str:
    """The bearer token of a sign-in session (signed; names the session only)."""
    return _serializer(settings).dumps({"s": session_id})


def auth_clock(request: Request) -> Clock:
    """Sign-ins run on real time, not on the app's clock: the business clock may be moved (tests,
    simulations), while a stolen cookie's useful life must be counted in real hours."""
    return request.app.state.auth_clock


def sign_in(request: Request, session: Session, user: UserAccount) -> AuthSession:
    """Start a sign-in session for `user` (the caller puts its id into a cookie or a token)."""
    settings = request.app.state.settings
    return start_session(session, user, auth_clock(request).now(), session_lifetime(settings))


def _session_id_from_token(settings: Settings, token: str) -> str | None:
    try:
        data = _serializer(settings).loads(token, max_age=settings.session_hours * 3600)
    except BadSignature:  # also SignatureExpired, its subclass
        return None
    session_id = data.get("s") if isinstance(data, dict) else None
    return session_id if isinstance(session_id, str) else None


def request_session_id(request: Request) -> str | None:
    """The sign-in session the request names (bearer token first, else the session cookie)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return _session_id_from_token(request.app.state.settings, header[7:].strip())
    if "session" in request.scope:
        session_id = request.session.get(SESSION_ID_KEY)
        return session_id if isinstance(session_id, str) else None
    return None


# While an account must change its password (a one-time password from an administrator), only
# these routes serve it; every other page redirects to the first, every other API route answers 403.
PASSWORD_PAGE = "/account/password"
PASSWORD_API = "/api/account/password"
PASSWORD_CHANGE_ROUTES = frozenset({PASSWORD_PAGE, PASSWORD_API, "/logout", "/api/logout", "/api/me"})


class PasswordChangeRequired(HTTPException):
    """Signed in with a one-time password: the holder must choose their own first (pages turn this
    into a redirect to PASSWORD_PAGE, api.pages.web.PageRoute)."""

    def __init__(self) -> None:
        super().__init__(status_code=403, detail="请先修改密码：管理员设置的一次性密码只能用来修改密码"
                                                  f"（网页 {PASSWORD_PAGE}，接口 POST {PASSWORD_API}）")


def get_actor(request: Request, session: Session = Depends(get_session, scope="function")) -> Actor | None:
    session_id = request_session_id(request)
    if not session_id:
        return None
    return _live_actor(request, session, session_id)


def _live_actor(request: Request, session: Session, session_id: str) -> Actor | None:
    """The person signed in by a session the request names, if it is live (the database's part of
    the sign-in check)."""
    signed_in = session_actor(session, session_id, auth_clock(request).now())
    if signed_in is None:
        return None
    if signed_in.must_change_password and request.url.path not in PASSWORD_CHANGE_ROUTES:
        raise PasswordChangeRequired()
    return signed_in.actor


def _not_signed_in() -> HTTPException:
    return HTTPException(status_code=401, detail="请先登录", headers={"WWW-Authenticate": "Bearer"})


# --- one trip to the thread pool ----------------------------------------------------------------
# A plain-`def` route with `get_session` and `require_actor` makes five trips from the event loop to
# FastAPI's thread pool and back: the session's start, the sign-in check, the endpoint, the check
# of its answer against the response model, the session's commit. Each costs the event loop and the
# pool thread CPU (a future, a queue, two thread wake-ups): measured served (`dutyflow serve`, one
# clerk, bench/http_load.py's requests), the event loop's CPU fell from 1.6–3.0 to 1.2–1.9 ms a step
# when the clerk's two requests made one trip each. The routes every clerk's step goes through are
# `async def` and make that one trip (`signed_in_work`): the transaction, the rest of the sign-in
# check and the work, in the order the dependencies ran them.


async def require_session_id(request: Request) -> str:
    """The sign-in session a request names, its signature checked (no I/O, on the event loop): 401
    without one, before the body is looked at, like `require_actor`. The database's part of the
    check is `signed_in_work`'s."""
    session_id = request_session_id(request)
    if not session_id:
        raise _not_signed_in()
    return session_id


T = TypeVar("T")


async def signed_in_work(request: Request, session_id: str, work: Callable[[Session, Actor], T]) -> T:
    """`work(session, actor)` in one trip to the thread pool: in the request's one transaction (as
    `get_session`: committed when `work` returns, before the answer is sent; rolled back on error),
    after the database's part of the sign-in check (as `require_actor`: 401 for a session that is
    not live, 403 while the password must be changed). `session_id`: `require_session_id`'s."""
    return await run_in_threadpool(_signed_in_work, request, session_id, work)


def _signed_in_work(request: Request, session_id: str, work: Callable[[Session, Actor], T]) -> T:
    with request.app.state.database.session() as session:
        actor = _live_actor(request, session, session_id)
        if actor is None:
            raise _not_signed_in()
        return work(session, actor)


# `async def` where a dependency does no I/O: run on the event loop, not in the thread pool (api.deps).
async def require_actor(actor: Actor | None = Depends(get_actor)) -> Actor:
    if actor is None:
        raise _not_signed_in()
    return actor


def require_action(action: policy.Action):
    """Dependency factory: the permission policy must allow the office action (an admin passes);
    otherwise its refusal (403, in Chinese, naming the roles) answers the request."""

    async def dependency(actor: Actor = Depends(require_actor)) -> Actor:
        policy.require(actor, action)
        return actor

    return dependency


# --- sign-in rate limiting --------------------------------------------------------------------
class TooManyAttempts(Exception):
    """Sign-in refused before the password is checked: too many recent failures."""

    def __init__(self, retry_at: float, timezone: str):
        self.retry_after = max(1, math.ceil(retry_at - time.time()))
        moment = datetime.fromtimestamp(retry_at, UTC).astimezone(ZoneInfo(timezone))
        minutes = max(1, math.ceil(self.retry_after / 60))
        self.message = f"登录失败次数过多，请于 {moment:%H:%M} 之后（约 {minutes} 分钟后）再试"
        super().__init__(self.message)


class SignInLimiter:
    """Failed sign-ins counted per account and per client address in moving windows.

    Only failures count (a user who types the password right is never slowed down), and a success
    clears the account's count but not the address's (one valid account must not reset the count
    of an address trying others). While either limit is exhausted every attempt is refused —
    the right password included — so guessing stops for the rest of the window.
    """

    def __init__(self, settings: Settings):
        self.per_account: RateLimitItem = parse(settings.login_limit_account)
        self.per_address: RateLimitItem = parse(settings.login_limit_address)
        self.storage = storage_from_string(settings.login_limit_storage)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.timezone = settings.timezone

    def _keys(self, username: str, address: str) -> tuple[tuple[RateLimitItem, str, str], ...]:
        return ((self.per_account, "account", username.strip()[:MAX_LIMIT_KEY]),
                (self.per_address, "address", address))

    def check(self, username: str, address: str) -> None:
        """Raise TooManyAttempts if this account or this address has no attempts left."""
        for item, kind, identifier in self._keys(username, address):
            if not self.limiter.test(item, "sign-in", kind, identifier):
                stats = self.limiter.get_window_stats(item, "sign-in", kind, identifier)
                raise TooManyAttempts(stats.reset_time, self.timezone)

    def failed(self, username: str, address: str) -> None:
        for item, kind, identifier in self._keys(username, address):
            self.limiter.hit(item, "sign-in", kind, identifier)

    def succeeded(self, username: str) -> None:
        self.limiter.clear(self.per_account, "sign-in", "account", username.strip()[:MAX_LIMIT_KEY])

    def reset(self) -> None:
        self.storage.reset()


def client_address(request: Request) -> str:
    """The caller's address: the connecting one, or what a trusted proxy says (forwarded_allow_ips)."""
    return request.client.host if request.client else "unknown"


async def sign_in_limiter(request: Request) -> SignInLimiter:
    return request.app.state.sign_in_limiter


# --- the session cookie -----------------------------------------------------------------------
class SessionCookieMiddleware:
    """Starlette's signed session cookie, marked Secure when it must be.

    Secure on every response with DUTYFLOW_COOKIE_SECURE=1; otherwise on the responses to requests
    that came over HTTPS — directly, or as a trusted proxy's X-Forwarded-Proto says (the proxy
    headers middleware, outside this one, has already set the scheme; an untrusted client's header
    changed nothing). Two Starlette middlewares over the same app, one per flag, rather than a
    copy of its cookie code.
    """

    def __init__(self, app: ASGIApp, secret_key: str, session_cookie: str, max_age: int, https_only: bool):
        options = {"secret_key": secret_key, "session_cookie": session_cookie, "max_age": max_age,
                   "same_site": "lax"}
        self.secure = SessionMiddleware(app, https_only=True, **options)
        self.plain = self.secure if https_only else SessionMiddleware(app, https_only=False, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.secure if scope.get("scheme") in ("https", "wss") else self.plain
        await chosen(scope, receive, send)
