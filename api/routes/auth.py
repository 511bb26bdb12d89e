"""Routes: auth — API tokens (POST /api/token), logout, an administrator ending a user's sign-ins.
The sign-in pages are in api/pages/signin.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Path, Request
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
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.auth.service import authenticate, dummy_password_hash, end_session, revoke_user_sessions

router = APIRouter()


@router.post("/api/token", summary="用用户名和密码换取 API 令牌（Bearer）",
             responses={401: {"description": "用户名或密码错误"}, 429: {"description": "登录失败次数过多"}})
def create_token(
    request: Request,
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
    return {"access_token": token_for_session(request.app.state.settings, signed_in.id), "token_type": "bearer",
            "expires_at": signed_in.expires_at.isoformat()}


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


def on_startup(app: FastAPI) -> None:
    """Make the dummy hash now, so the first sign-in of an unknown user is not slower than others."""
    dummy_password_hash()


def on_shutdown(app: FastAPI) -> None:
    """Nothing to release."""
