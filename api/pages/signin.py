"""Sign-in pages: /login, /logout, and / (which sends each user to the page of their job)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.pages.web import PageRoute, current_actor, flash, home_for, page_session, redirect, render
from api.security import (
    PASSWORD_PAGE,
    SESSION_ID_KEY,
    SignInLimiter,
    TooManyAttempts,
    auth_clock,
    client_address,
    request_session_id,
    sign_in,
    sign_in_limiter,
)
from engine.auth.roles import Actor
from engine.auth.service import actor_for, authenticate, end_session

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
    limiter: SignInLimiter = Depends(sign_in_limiter),
) -> Response:
    username, address = username.strip(), client_address(request)
    again = {"username": username, "next": safe_next(next) or ""}
    try:
        limiter.check(username, address)
    except TooManyAttempts as exc:
        response = render(request, "login.html", {"error": exc.message, **again}, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    user = authenticate(session, username, password)
    if user is None:
        limiter.failed(username, address)
        return render(request, "login.html", {"error": "用户名或密码错误", **again}, status_code=401)
    limiter.succeeded(username)
    # A fresh session (and cookie contents) at every sign-in: nothing set before it carries over.
    previous = request_session_id(request)
    if previous:
        end_session(session, previous, auth_clock(request).now())
    request.session.clear()
    request.session[SESSION_ID_KEY] = sign_in(request, session, user).id
    if user.must_change_password:
        # A one-time password from an administrator: nothing else until the holder chooses their own.
        flash(request, f"欢迎，{user.display_name or user.username}。请先修改管理员设置的一次性密码", "info")
        return redirect(PASSWORD_PAGE)
    flash(request, f"欢迎，{user.display_name or user.username}")
    return redirect(safe_next(next) or home_for(actor_for(user)))


@router.post("/logout")
def logout(request: Request, session: Session = Depends(page_session)) -> Response:
    # Ended on the server too: a copy of the cookie replayed later signs nobody in.
    session_id = request_session_id(request)
    if session_id:
        end_session(session, session_id, auth_clock(request).now())
    request.session.clear()
    flash(request, "已退出登录", "info")
    return redirect("/catalog")
