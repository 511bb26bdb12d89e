"""Sign-in pages: /login, /logout, and / (which sends each user to the page of their job)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.pages.web import PageRoute, current_actor, flash, home_for, page_session, redirect, render
from api.security import SESSION_USER_KEY
from engine.auth.roles import Actor
from engine.auth.service import actor_for, authenticate

router = APIRouter(route_class=PageRoute)


def safe_next(target: str | None) -> str | None:
    """Only paths of this site (no scheme, no //host) may follow a sign-in: no open redirects."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/")
def home(actor: Actor | None = Depends(current_actor)) -> Response:
    return redirect(home_for(actor))


@router.get("/login")
def login_form(request: Request, next: str | None = None, actor: Actor | None = Depends(current_actor)) -> Response:
    return render(request, "login.html", {"next": safe_next(next) or ""}, actor=actor)


@router.post("/login")
def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    next: str = Form(""),
    session: Session = Depends(page_session),
) -> Response:
    user = authenticate(session, username.strip(), password)
    if user is None:
        return render(request, "login.html", {"error": "用户名或密码错误", "username": username,
                                              "next": safe_next(next) or ""}, status_code=401)
    request.session.clear()
    request.session[SESSION_USER_KEY] = user.username
    flash(request, f"欢迎，{user.display_name or user.username}")
    return redirect(safe_next(next) or home_for(actor_for(user)))


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    flash(request, "已退出登录", "info")
    return redirect("/catalog")
