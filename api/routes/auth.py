"""Routes: auth — API tokens (POST /api/token), logout, one's own password, and the administrator's
accounts (/api/users: list, provision from the catalog, reset a password, disable, enable, end
sign-ins; engine.auth.accounts). The sign-in and account pages are in api/pages/."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import get_session
from api.security import (
    SignInLimiter,
    TooManyAttempts,
    auth_clock,
    client_address,
    request_session_id,
    require_action,
    require_actor,
    sign_in,
    sign_in_limiter,
    token_for_session,
)
from engine.auth import accounts
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.auth.service import authenticate, dummy_password_hash, end_session, revoke_user_sessions

router = APIRouter()
# Answers carrying a secret (a token, one-time passwords) are kept by no cache.
NO_STORE = "no-store"


@router.post("/api/token", summary="用用户名和密码换取 API 令牌（Bearer）",
             responses={401: {"description": "用户名或密码错误"}, 429: {"description": "登录失败次数过多"}})
def create_token(
    request: Request,
    response: Response,
    username: str = Form(..., max_length=256),
    password: str = Form(..., max_length=1024),
    session: Session = Depends(get_session, scope="function"),
    limiter: SignInLimiter = Depends(sign_in_limiter),
) -> dict:
    address = client_address(request)
    try:
        limiter.check(username, address)
    except TooManyAttempts as exc:
        raise HTTPException(status_code=429, detail=exc.message,
                            headers={"Retry-After": str(exc.retry_after)}) from None
    user = authenticate(session, username, password)
    if user is None:
        limiter.failed(username, address)
        raise HTTPException(status_code=401, detail="用户名或密码错误")
    limiter.succeeded(username)
    signed_in = sign_in(request, session, user)
    response.headers["Cache-Control"] = NO_STORE  # RFC 6749 §5.1: a token response is never cached
    return {"access_token": token_for_session(request.app.state.settings, signed_in.id), "token_type": "bearer",
            "expires_at": signed_in.expires_at.isoformat(), "must_change_password": user.must_change_password}


@router.post("/api/logout", summary="退出登录：当前令牌立即失效")
def logout(
    request: Request,
    _actor: Actor = Depends(require_actor),
    session: Session = Depends(get_session, scope="function"),
) -> dict:
    end_session(session, request_session_id(request), auth_clock(request).now())
    return {"detail": "已退出登录"}


@router.post("/api/users/{username}/revoke-sessions", summary="使某用户的全部登录（网页与令牌）立即失效（管理员）")
def revoke_sessions(
    request: Request,
    username: str = Path(..., max_length=64),
    _actor: Actor = Depends(require_action(Action.MANAGE_ACCOUNTS)),
    session: Session = Depends(get_session, scope="function"),
) -> dict:
    ended = revoke_user_sessions(session, username, auth_clock(request).now())
    return {"username": username, "revoked": ended}


@router.get("/api/me", summary="当前登录用户")
def me(actor: Actor = Depends(require_actor)) -> dict:
    return {"username": actor.username, "staff_id": actor.staff_id, "roles": sorted(actor.roles),
            "display_name": actor.display_name}


class PasswordChange(BaseModel):
    current_password: str = Field(..., max_length=accounts.MAX_PASSWORD_LENGTH)
    new_password: str = Field(..., max_length=accounts.MAX_PASSWORD_LENGTH)


@router.post("/api/account/password", summary="修改本人密码（一次性密码登录后必须先修改）",
             responses={422: {"description": "当前密码不正确，或新密码不符合要求"}})
def change_own_password(
    request: Request,
    body: PasswordChange,
    actor: Actor = Depends(require_actor),
    session: Session = Depends(get_session, scope="function"),
) -> dict:
    accounts.change_password(session, actor.username, body.current_password, body.new_password,
                             auth_clock(request).now(), keep_session=request_session_id(request))
    return {"detail": "密码已修改", "username": actor.username}


def _change(change: accounts.AccountChange) -> dict:
    return {**asdict(change), "role_names": accounts.role_names(change.roles)}


@router.get("/api/users", summary="全部账号：姓名、角色、岗位、是否停用、是否须改密码（管理员）")
def list_users(
    actor: Actor = Depends(require_action(Action.MANAGE_ACCOUNTS)),
    session: Session = Depends(get_session, scope="function"),
) -> list[dict]:
    return [asdict(row) for row in accounts.list_accounts(session, actor)]


@router.post("/api/users/provision",
             summary="按现行清单为全部在岗人员开设账号、校正角色、停用离岗人员（管理员；一次性密码只返回这一次）")
def provision_users(
    request: Request,
    response: Response,
    actor: Actor = Depends(require_action(Action.MANAGE_ACCOUNTS)),
    session: Session = Depends(get_session, scope="function"),
) -> dict:
    result = accounts.provision_staff(session, actor, auth_clock(request).now())
    response.headers["Cache-Control"] = NO_STORE  # one-time passwords
    return {"version": result.version, "created": [_change(c) for c in result.created],
            "updated": [_change(c) for c in result.updated], "disabled": [_change(c) for c in result.disabled],
            "skipped": result.skipped, "unchanged": result.unchanged}


@router.post("/api/users/{username}/reset-password",
             summary="重置密码：返回一次性密码（只这一次），登录后须先修改（管理员）")
def reset_user_password(
    request: Request,
    response: Response,
    username: str = Path(..., max_length=64),
    actor: Actor = Depends(require_action(Action.MANAGE_ACCOUNTS)),
    session: Session = Depends(get_session, scope="function"),
) -> dict:
    user, password = accounts.reset_password(session, actor, username, auth_clock(request).now())
    response.headers["Cache-Control"] = NO_STORE  # a one-time password
    return {"username": user.username, "name": user.display_name, "password": password,
            "must_change_password": True}


def _set_active(request: Request, session: Session, actor: Actor, username: str, active: bool) -> dict:
    user = accounts.set_account_active(session, actor, username, active, auth_clock(request).now())
    return {"username": user.username, "name": user.display_name, "active": user.active}


@router.post("/api/users/{username}/disable", summary="停用账号：不能再登录，现有登录立即失效（管理员）")
def disable_user(
    request: Request,
    username: str = Path(..., max_length=64),
    actor: Actor = Depends(require_action(Action.MANAGE_ACCOUNTS)),
    session: Session = Depends(get_session, scope="function"),
) -> dict:
    return _set_active(request, session, actor, username, False)


@router.post("/api/users/{username}/enable", summary="启用账号（管理员）")
def enable_user(
    request: Request,
    username: str = Path(..., max_length=64),
    actor: Actor = Depends(require_action(Action.MANAGE_ACCOUNTS)),
    session: Session = Depends(get_session, scope="function"),
) -> dict:
    return _set_active(request, session, actor, username, True)


def on_startup(app: FastAPI) -> None:
    """Make the dummy hash now, so the first sign-in of an unknown user is not slower than others."""
    dummy_password_hash()


def on_shutdown(app: FastAPI) -> None:
    """Nothing to release."""
