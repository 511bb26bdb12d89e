"""User accounts: create, authenticate, turn into Actors."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from engine.auth.models import UserAccount
from engine.auth.passwords import hash_password, verify_password
from engine.auth.roles import ROLES, Actor
from engine.errors import Conflict, InvalidInput

MIN_PASSWORD_LENGTH = 8


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


def get_user(session: Session, username: str) -> UserAccount | None:
    return session.exec(select(UserAccount).where(UserAccount.username == username)).first()


def authenticate(session: Session, username: str, password: str) -> UserAccount | None:
    user = get_user(session, username)
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    return user


def actor_for(user: UserAccount) -> Actor:
    return Actor(
        username=user.username,
        staff_id=user.staff_id,
        roles=frozenset(user.roles.split()),
        display_name=user.display_name or user.username,
    )
