"""Account pages: /accounts for the administrator (who holds which role, provision from the
catalog, reset a password, disable and enable) and /account/password for everyone (one's own
password; the only page served while a one-time password must be changed, api.security).

One-time passwords are shown once, on the page answering the POST that made them (never put in a
flash message: the session cookie is signed, not encrypted)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.pages.web import PageRoute, flash, home_for, page_session, redirect, render, require_page_action
from api.security import PASSWORD_PAGE, auth_clock, request_session_id
from engine.auth import accounts
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.auth.service import actor_for, get_user, session_user
from engine.errors import InvalidInput

router = APIRouter(route_class=PageRoute)
MANAGER = require_page_action(Action.MANAGE_ACCOUNTS)
USERNAME = Form(..., max_length=64)


def _page(request: Request, session: Session, actor: Actor, **extra) -> Response:
    rows = accounts.list_accounts(session, actor)
    counts = {"total": len(rows), "active": sum(r.active for r in rows),
              "must_change": sum(r.active and r.must_change_password for r in rows)}
    return render(request, "accounts.html", {"title": "账号管理", "accounts": rows, "counts": counts, **extra},
                  actor=actor)


@router.get("/accounts")
def accounts_page(request: Request, actor: Actor = Depends(MANAGER),
                  session: Session = Depends(page_session)) -> Response:
    return _page(request, session, actor)


def _issued(response: Response) -> Response:
    """A page showing one-time passwords is kept by no cache and no back button (no-store): on an
    office's shared computer the next person must not find them in the browser's history."""
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/accounts/provision")
def provision(request: Request, actor: Actor = Depends(MANAGER), session: Session = Depends(page_session)) -> Response:
    result = accounts.provision_staff(session, actor, auth_clock(request).now())
    return _issued(_page(request, session, actor, provision=result,
                         issued=[(c.username, c.name, c.password) for c in result.created]))


@router.post("/accounts/reset-password")
def reset(request: Request, username: str = USERNAME, actor: Actor = Depends(MANAGER),
          session: Session = Depends(page_session)) -> Response:
    user, password = accounts.reset_password(session, actor, username, auth_clock(request).now())
    return _issued(_page(request, session, actor, reset=user.display_name or user.username,
                         issued=[(user.username, user.display_name, password)]))


@router.post("/accounts/disable")
def disable(request: Request, username: str = USERNAME, actor: Actor = Depends(MANAGER),
            session: Session = Depends(page_session)) -> Response:
    user = accounts.set_account_active(session, actor, username, False, auth_clock(request).now())
    flash(request, f"已停用 {user.display_name or user.username}（{user.username}）的账号，其登录已全部失效")
    return redirect("/accounts")


@router.post("/accounts/enable")
def enable(request: Request, username: str = USERNAME, actor: Actor = Depends(MANAGER),
           session: Session = Depends(page_session)) -> Response:
    user = accounts.set_account_active(session, actor, username, True, auth_clock(request).now())
    flash(request, f"已启用 {user.display_name or user.username}（{user.username}）的账号")
    return redirect("/accounts")


def _signed_in_user(request: Request, session: Session):
    """The account of this sign-in (must-change included: this page is where it must go)."""
    session_id = request_session_id(request)
    return session_user(session, session_id, auth_clock(request).now()) if session_id else None


@router.get(PASSWORD_PAGE)
def password_form(request: Request, session: Session = Depends(page_session)) -> Response:
    user = _signed_in_user(request, session)
    if user is None:
        return redirect(f"/login?next={PASSWORD_PAGE}")
    return render(request, "account_password.html", {"title": "修改密码", "forced": user.must_change_password,
                                                     "min_length": accounts.MIN_PASSWORD_LENGTH},
                  actor=None if user.must_change_password else actor_for(user))


@router.post(PASSWORD_PAGE)
def change_password(
    request: Request,
    current_password: str = Form("", max_length=accounts.MAX_PASSWORD_LENGTH),
    new_password: str = Form("", max_length=accounts.MAX_PASSWORD_LENGTH),
    confirm_password: str = Form("", max_length=accounts.MAX_PASSWORD_LENGTH),
    session: Session = Depends(page_session),
) -> Response:
    user = _signed_in_user(request, session)
    if user is None:
        return redirect(f"/login?next={PASSWORD_PAGE}")
    forced = user.must_change_password
    try:
        accounts.change_password(session, user.username, current_password, new_password, auth_clock(request).now(),
                                 confirm=confirm_password, keep_session=request_session_id(request))
    except InvalidInput as exc:
        session.rollback()
        return render(request, "account_password.html",
                      {"title": "修改密码", "forced": forced, "min_length": accounts.MIN_PASSWORD_LENGTH,
                       "error": exc.message, "problems": exc.problems},
                      actor=None if forced else actor_for(user), status_code=422)
    changed = get_user(session, user.username)
    flash(request, "密码已修改" + ("，欢迎使用" if forced else ""))
    return redirect(home_for(actor_for(changed)) if changed else "/")
