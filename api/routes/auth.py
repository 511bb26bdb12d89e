"""Routes: auth — API tokens (POST /api/token). The sign-in pages are in api/routes/pages.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from sqlmodel import Session

from api.deps import get_session
from api.security import issue_token, require_actor
from engine.auth.roles import Actor
from engine.auth.service import authenticate

router = APIRouter()


@router.post("/api/token", summary="用用户名和密码换取 API 令牌（Bearer）")
def create_token(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    session: Session = Depends(get_session, scope="function"),
) -> dict:
    user = authenticate(session, username, password)
    if user is None:
        raise HTTPException(status_code=401, detail="用户名或密码错误")
    return {"access_token": issue_token(request.app.state.settings, user.username), "token_type": "bearer"}


@router.get("/api/me", summary="当前登录用户")
def me(actor: Actor = Depends(require_actor)) -> dict:
    return {"username": actor.username, "staff_id": actor.staff_id, "roles": sorted(actor.roles),
            "display_name": actor.display_name}


def on_startup(app: FastAPI) -> None:
    """Nothing to prepare: demo users are created by the pages area when the demo is loaded."""


def on_shutdown(app: FastAPI) -> None:
    """Nothing to release."""
