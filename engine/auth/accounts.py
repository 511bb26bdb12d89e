"""Accounts for a real office: an administrator provisions the catalog's staff, resets passwords,
disables leavers and lists who holds which role.

- `provision_staff`: one account per holder of the catalog version in force (username = the holder
  id lower-cased, S003 → `s003`, as the demo does); roles = `staff` plus the coordinating roles
  bound to the holder's posts (the catalog's `roles:` extension). Existing accounts get roles and
  name brought in line with the catalog (an `admin` role given by hand is kept); an account whose
  person holds no post any more is disabled (its sign-ins end), never deleted — the timing log
  and the evaluation keep naming them. A fixed number of queries however many holders there are.
- New accounts and reset passwords get a random one-time password, returned once (never stored
  in clear) and marked `must_change_password`: the holder chooses their own at the next sign-in
  before anything else (api.security refuses every other route meanwhile).
- `change_password`: the holder's own change, with the rules of create_user (length).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from engine.auth import policy
from engine.auth.passwords import hash_password, verify_password
from engine.auth.roles import ADMIN, CATALOG_ROLES, ROLES, STAFF, Actor
from engine.auth.service import (
    MIN_PASSWORD_LENGTH,
    create_user,
    get_user,
    revoke_user_sessions,
    rows_updated,
    set_active,
)
from engine.catalog import service as catalog_service
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models.auth import AuthSession, UserAccount
from engine.models.catalog import CatalogPost, CatalogPostHolder, CatalogStaff, CatalogUnit

# Longest password accepted (the sign-in forms accept up to 1024 characters).
MAX_PASSWORD_LENGTH = 1024
# One-time passwords: 12 characters without look-alikes (0/O, 1/l/I), read aloud or copied by hand.
ONE_TIME_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
ONE_TIME_LENGTH = 12


def one_time_password() -> str:
    return "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(ONE_TIME_LENGTH))


def role_names(roles: list[str] | set[str] | str) -> str:
    """Roles in Chinese, in the order of ROLES: `staff legal_office` → 工作人员、法制办."""
    held = set(roles.split()) if isinstance(roles, str) else set(roles)
    return "、".join(label for role, label in ROLES.items() if role in held)


@dataclass(frozen=True)
class AccountChange:
    username: str
    name: str
    staff_id: str | None
    roles: list[str]
    # A new account's one-time password (shown once); None for updated or disabled accounts.
    password: str | None = None
    # What changed for an updated account, in Chinese (角色：工作人员 → 工作人员、效能办).
    changes: list[str] = field(default_factory=list)


@dataclass
class ProvisionResult:
    version: str | None = None
    created: list[AccountChange] = field(default_factory=list)
    updated: list[AccountChange] = field(default_factory=list)
    disabled: list[AccountChange] = field(default_factory=list)
    # Holders whose username is taken by an account bound to nobody or to someone else.
    skipped: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.disabled)


def _holders(session: Session) -> tuple[str | None, dict[str, tuple[str, list[str]]]]:
    """(version label, {staff id: (name, roles)}) of the catalog in force; three queries plus one per
    coordinating role bound in the catalog (catalog_service.role_posts), not one per person."""
    version = catalog_service.current_version(session)
    if version is None:
        return None, {}
    posts_by_role = catalog_service.role_posts(session, version.id)
    return version.version, {
        person.staff_id: (person.name,
                          sorted({STAFF, *(catalog_service.roles_of_posts(person.posts, posts_by_role) & CATALOG_ROLES)}))
        for person in catalog_service.list_staff(session, version.id)
    }


def provision_staff(session: Session, actor: Actor, now: datetime) -> ProvisionResult:
    """Accounts for the catalog in force (module docstring). Calling it again changes nothing."""
    policy.require(actor, policy.Action.MANAGE_ACCOUNTS)
    label, holders = _holders(session)
    result = ProvisionResult(version=label)
    bound = {user.staff_id: user for user in session.exec(
        select(UserAccount).where(col(UserAccount.staff_id).is_not(None)).order_by(col(UserAccount.username)))}
    wanted_names = [staff_id.lower() for staff_id in holders if staff_id not in bound]
    taken = set(session.exec(select(UserAccount.username)
                             .where(col(UserAccount.username).in_(wanted_names)))) if wanted_names else set()
    for staff_id, (name, roles) in holders.items():
        user = bound.get(staff_id)
        if user is None:
            username = staff_id.lower()
            if username in taken:
                result.skipped.append(f"{name}（{staff_id}）：用户名 {username} 已被其他账号使用")
                continue
            password = one_time_password()
            session.add(UserAccount(username=username, password_hash=hash_password(password), roles=" ".join(roles),
                                    staff_id=staff_id, display_name=name, must_change_password=True,
                                    created_at=now))
            result.created.append(AccountChange(username, name, staff_id, roles, password=password))
            continue
        # An admin role given by hand stays; every other role follows the catalog.
        new_roles = sorted(set(roles) | (set(user.roles.split()) & {ADMIN}))
        changes = []
        if new_roles != sorted(user.roles.split()):
            changes.append(f"角色：{role_names(user.roles) or '无'} → {role_names(new_roles)}")
            user.roles = " ".join(new_roles)
        if user.display_name != name:
            changes.append(f"姓名：{user.display_name or '无'} → {name}")
            user.display_name = name
        if changes:
            session.add(user)
            result.updated.append(AccountChange(user.username, name, staff_id, new_roles, changes=changes))
        else:
            result.unchanged += 1
    # The administrator running this is never disabled by it (they could lock everyone out).
    leavers = [user for staff_id, user in bound.items()
               if staff_id not in holders and user.active and user.username != actor.username]
    if leavers and label is not None:
        ids = [user.id for user in leavers]
        session.execute(update(UserAccount).where(col(UserAccount.id).in_(ids)).values(active=False))
        session.execute(update(AuthSession).where(col(AuthSession.user_id).in_(ids),
                                                  col(AuthSession.revoked_at).is_(None),
                                                  col(AuthSession.expires_at) > now).values(revoked_at=now))
        for user in leavers:
            user.active = False
            result.disabled.append(AccountChange(user.username, user.display_name, user.staff_id,
                                                 sorted(user.roles.split()), changes=["不再在现行清单的任何岗位上"]))
    session.flush()
    return result


def _user(session: Session, username: str) -> UserAccount:
    user = get_user(session, username)
    if user is None:
        raise NotFound(f"账号 {username} 不存在", [f"username: 没有用户名为 {username} 的账号"])
    return user


def reset_password(session: Session, actor: Actor, username: str, now: datetime) -> tuple[UserAccount, str]:
    """A new one-time password for the account (returned once); its sign-ins end and the holder
    must choose their own password at the next sign-in."""
    policy.require(actor, policy.Action.MANAGE_ACCOUNTS)
    user = _user(session, username)
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    session.add(user)
    session.flush()
    revoke_user_sessions(session, username, now)
    return user, password


def set_account_active(session: Session, actor: Actor, username: str, active: bool, now: datetime) -> UserAccount:
    """Disable (its sign-ins end at once) or enable an account. Nobody disables their own account:
    the last administrator could lock everyone out."""
    policy.require(actor, policy.Action.MANAGE_ACCOUNTS)
    user = _user(session, username)
    if not active and user.username == actor.username:
        raise Conflict("不能停用自己的账号", [f"username: {username} 是当前登录的账号"])
    return set_active(session, username, active, now)


def create_admin(session: Session, username: str, name: str, now: datetime) -> tuple[UserAccount, str]:
    """An administrator account with a one-time password (the command line's way to start an
    office's first administrator; whoever runs it already holds the database)."""
    password = one_time_password()
    user = create_user(session, username.strip(), password, now, roles=[ADMIN], display_name=name.strip())
    user.must_change_password = True
    session.add(user)
    session.flush()
    return user, password


def password_problems(current_ok: bool, current: str, new: str, confirm: str | None) -> list[str]:
    problems = []
    if not current_ok:
        problems.append("当前密码：不正确")
    if len(new) < MIN_PASSWORD_LENGTH:
        problems.append(f"新密码：至少 {MIN_PASSWORD_LENGTH} 个字符")
    elif len(new) > MAX_PASSWORD_LENGTH:
        problems.append(f"新密码：最多 {MAX_PASSWORD_LENGTH} 个字符")
    elif new == current:
        problems.append("新密码：不能与当前密码相同")
    if confirm is not None and confirm != new:
        problems.append("确认新密码：与新密码不一致")
    return problems


def change_password(session: Session, username: str, current: str, new: str, now: datetime,
                    confirm: str | None = None, keep_session: str | None = None) -> UserAccount:
    """The holder changes their own password (the current one proves it is them). Their other
    sign-ins end; `keep_session` (the one making the change) stays."""
    user = _user(session, username)
    problems = password_problems(verify_password(current, user.password_hash), current, new, confirm)
    if problems:
        raise InvalidInput("密码未修改", problems)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    session.add(user)
    session.flush()
    others = [col(AuthSession.user_id) == user.id, col(AuthSession.revoked_at).is_(None),
              col(AuthSession.expires_at) > now]
    if keep_session:
        others.append(col(AuthSession.id) != keep_session)
    rows_updated(session, update(AuthSession).where(*others).values(revoked_at=now))
    return user


@dataclass(frozen=True)
class AccountRow:
    username: str
    name: str
    staff_id: str | None
    roles: list[str]
    role_names: str
    posts: list[str]
    active: bool
    must_change_password: bool
    # Bound to a person the catalog in force no longer lists.
    not_in_catalog: bool


def list_accounts(session: Session, actor: Actor) -> list[AccountRow]:
    """Every account with its roles (Chinese), the posts its person holds in the catalog in force
    (单位 岗位), active and must-change. Two queries."""
    policy.require(actor, policy.Action.MANAGE_ACCOUNTS)
    version = catalog_service.current_version(session)
    posts: dict[str, list[str]] = {}
    if version is not None:
        rows = session.execute(
            select(col(CatalogStaff.staff_id), col(CatalogUnit.name), col(CatalogPost.name))
            .join(CatalogPostHolder, col(CatalogPostHolder.staff_pk) == col(CatalogStaff.id))
            .join(CatalogPost, col(CatalogPost.id) == col(CatalogPostHolder.post_id))
            .join(CatalogUnit, col(CatalogUnit.id) == col(CatalogPost.unit_id))
            .where(col(CatalogStaff.version_id) == version.id)
            .order_by(col(CatalogStaff.staff_id), col(CatalogPost.position), col(CatalogPost.id))
        ).all()
        for staff_id, unit, post in rows:
            posts.setdefault(staff_id, []).append(f"{unit} {post}")
    return [
        AccountRow(user.username, user.display_name or user.username, user.staff_id, sorted(user.roles.split()),
                   role_names(user.roles), posts.get(user.staff_id or "", []), user.active,
                   user.must_change_password, bool(user.staff_id) and user.staff_id not in posts)
        for user in session.exec(select(UserAccount).order_by(col(UserAccount.username)))
    ]
