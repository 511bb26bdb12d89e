"""Who is calling: signed bearer tokens for the API, a signed session cookie for pages.

`get_actor` returns the Actor or None; `require_actor` and `require_roles(...)` are the
dependencies routes use (401 when not signed in, 403 when the role is missing).
"""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import Session

from api.deps import get_session
from engine.auth.roles import Actor
from engine.auth.service import actor_for, get_user
from engine.config import Settings

TOKEN_MAX_AGE_SECONDS = 12 * 3600
SESSION_USER_KEY = "username"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="dutyflow-api-token")


def issue_token(settings: Settings, username: str) -> str:
    return _serializer(settings).dumps({"u": username})


def _username_from_token(settings: Settings, token: str) -> str | None:
    try:
        return _serializer(settings).loads(token, max_age=TOKEN_MAX_AGE_SECONDS)["u"]
    except (BadSignature, SignatureExpired, KeyError, TypeError):
        return None


def _username_from_request(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return _username_from_token(request.app.state.settings, header[7:].strip())
    if "session" in request.scope:
        return request.session.get(SESSION_USER_KEY)
    return None


def get_actor(request: Request, session: Session = Depends(get_session, scope="function")) -> Actor | None:
    username = _username_from_request(request)
    if not username:
        return None
    user = get_user(session, username)
    if user is None or not user.active:
        return None
    return actor_for(user)


def require_actor(actor: Actor | None = Depends(get_actor)) -> Actor:
    if actor is None:
        raise HTTPException(status_code=401, detail="请先登录", headers={"WWW-Authenticate": "Bearer"})
    return actor


def require_roles(*roles: str):
    """Dependency factory: the caller must hold one of `roles` (admins pass every check)."""

    def dependency(actor: Actor = Depends(require_actor)) -> Actor:
        if not actor.has_role(*roles):
            raise HTTPException(status_code=403, detail=f"需要以下角色之一：{', '.join(roles)}")
        return actor

    return dependency
