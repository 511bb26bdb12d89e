"""User accounts: create, authenticate, turn into Actors; sign-in sessions (start, check, end)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import CursorResult, Update, bindparam, delete, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from engine.auth.passwords import hash_password, verify_password
from engine.auth.roles import ROLES, Actor
from engine.db import core_connection
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.auth import AuthSession, UserAccount

MIN_PASSWORD_LENGTH = 8
# 32 random bytes: a session id cannot be guessed, and it is also signed into the cookie/token.
SESSION_ID_BYTES = 32


def _check_roles(roles: list[str]) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput("未知角色", [f"roles: 未知角色 '{r}'（可选：{', '.join(ROLES)}）" for r in unknown])
    return sorted(set(roles))


def create_user(
    session: Session,
    username: str,
    password: str,
    now: datetime,
    roles: list[str] | None = None,
    staff_id: str | None = None,
    display_name: str = "",
) -> UserAccount:
    problems = []
    if not username or not username.strip():
        problems.append("username: 不能为空")
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"password: 至少 {MIN_PASSWORD_LENGTH} 个字符")
    if problems:
        raise InvalidInput("用户信息有误", problems)
    if get_user(session, username) is not None:
        raise Conflict(f"用户名 '{username}' 已存在")
    user = UserAccount(
        username=username.strip(),
        password_hash=hash_password(password),
        roles=" ".join(_check_roles(roles or ["staff"])),
        staff_id=staff_id,
        display_name=display_name,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def user_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """Username → the account's display name, in one query (what pages and the CLI show for people)."""
    wanted = sorted({name for name in usernames if name})
    if not wanted:
        return {}
    rows = session.execute(select(col(UserAccount.username), col(UserAccount.display_name))
                           .where(col(UserAccount.username).in_(wanted)))
    return {username: display for username, display in rows if display}


def get_user(session: Session, username: str) -> UserAccount | None:
    return session.exec(select(UserAccount).where(UserAccount.username == username)).first()


@lru_cache(maxsize=1)
def dummy_password_hash() -> str:
    """An Argon2 hash of a random password nobody knows, made like every real one."""
    return hash_password(secrets.token_urlsafe(32))


def authenticate(session: Session, username: str, password: str) -> UserAccount | None:
    """The account if the password is right. An unknown or disabled account costs one Argon2
    verification too (against the dummy hash): the answer's timing does not tell who exists."""
    user = get_user(session, username)
    if user is None or not user.active:
        verify_password(password, dummy_password_hash())
        return None
    if not verify_password(password, user.password_hash):
        return None
    return user


def actor_for(user: UserAccount) -> Actor:
    return _actor(user.username, user.staff_id, user.roles, user.display_name)


def _actor(username: str, staff_id: str | None, roles: str, display_name: str) -> Actor:
    return Actor(username=username, staff_id=staff_id, roles=frozenset(roles.split()),
                 display_name=display_name or username)


# --- sign-in sessions -------------------------------------------------------------------------
def start_session(session: Session, user: UserAccount, now: datetime, lifetime: timedelta) -> AuthSession:
    """A new sign-in for `user`, valid for `lifetime` unless ended earlier. The user's sessions
    that have run out are deleted on the way, so the table holds only live and recent ones."""
    session.execute(delete(AuthSession).where(col(AuthSession.user_id) == user.id,
                                              col(AuthSession.expires_at) < now))
    row = AuthSession(id=secrets.token_urlsafe(SESSION_ID_BYTES), user_id=user.id, created_at=now,
                      expires_at=now + lifetime)
    session.add(row)
    session.flush()
    return row


_SESSION_USER = (
    select(UserAccount, AuthSession.expires_at, AuthSession.revoked_at)
    .join(AuthSession, col(AuthSession.user_id) == col(UserAccount.id))
    .where(col(AuthSession.id) == bindparam("p_session"))
)


def session_user(session: Session, session_id: str, now: datetime) -> UserAccount | None:
    """The account signed in by this session, if the session is live and the account active
    (pages that show or change the account; a request only needs `session_actor`)."""
    row = session.exec(_SESSION_USER, params={"p_session": session_id}).first()
    if row is None:
        return None
    user, expires_at, revoked_at = row
    if revoked_at is not None or expires_at <= now or not user.active:
        return None
    return user


@dataclass(frozen=True)
class SignedIn:
    """Who a live sign-in session is, as a request needs it."""

    actor: Actor
    must_change_password: bool


# Every signed-in request runs this, so it is built once with a bound parameter (no statement to
# build and key per request) and reads only what a request needs of the account, as plain columns
# on the session's connection: no account object (with its password hash) to load into the session.
_SESSION_ACTOR = (
    core_select(col(UserAccount.username), col(UserAccount.staff_id), col(UserAccount.roles),
                col(UserAccount.display_name), col(UserAccount.active), col(UserAccount.must_change_password),
                col(AuthSession.expires_at), col(AuthSession.revoked_at))
    .join(AuthSession, col(AuthSession.user_id) == col(UserAccount.id))
    .where(col(AuthSession.id) == bindparam("p_session"))
)


def session_actor(session: Session, session_id: str, now: datetime) -> SignedIn | None:
    """The person signed in by this session, if the session is live and the account active.

    One primary-key lookup joined to the account: this runs on every signed-in request."""
    row = core_connection(session).execute(_SESSION_ACTOR, {"p_session": session_id}).first()
    if row is None:
        return None
    username, staff_id, roles, display_name, active, must_change, expires_at, revoked_at = row
    if revoked_at is not None or expires_at <= now or not active:
        return None
    return SignedIn(actor=_actor(username, staff_id, roles, display_name), must_change_password=bool(must_change))


def rows_updated(session: Session, statement: Update) -> int:
    # An UPDATE's result is a CursorResult, which counts the rows; sqlmodel's Session.execute is
    # typed as returning a plain Result for every statement.
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def end_session(session: Session, session_id: str, now: datetime) -> bool:
    """Log out: the session's cookie or token stops working, even if replayed. False if it was
    not live."""
    return rows_updated(session, update(AuthSession)
                         .where(col(AuthSession.id) == session_id, col(AuthSession.revoked_at).is_(None))
                         .values(revoked_at=now)) > 0


def revoke_user_sessions(session: Session, username: str, now: datetime) -> int:
    """End every live sign-in of an account (an administrator's action); how many were ended."""
    user = get_user(session, username)
    if user is None:
        raise NotFound(f"用户 '{username}' 不存在", [f"username: {username}"])
    return rows_updated(session, update(AuthSession)
                         .where(col(AuthSession.user_id) == user.id, col(AuthSession.revoked_at).is_(None),
                                col(AuthSession.expires_at) > now)
                         .values(revoked_at=now))


def set_active(session: Session, username: str, active: bool, now: datetime) -> UserAccount:
    """Enable or disable an account; disabling also ends its sign-ins."""
    user = get_user(session, username)
    if user is None:
        raise NotFound(f"用户 '{username}' 不存在", [f"username: {username}"])
    user.active = active
    session.add(user)
    session.flush()
    if not active:
        revoke_user_sessions(session, username, now)
    return user
