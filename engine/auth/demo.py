"""Demo accounts: one per staff holder of the current catalog version, plus an administrator.

Used when the server starts with the demo catalog (`dutyflow serve --demo`), so every role can be
tried at once. The username is the holder id lower-cased (S003 → `s003`); the roles are `staff`
plus the coordinating roles bound to the holder's posts (the catalog's `roles:` extension); every
demo account shares the documented password DEMO_PASSWORD. Never used outside the demo.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from sqlmodel import Session, col, select

from engine.auth.passwords import hash_password
from engine.auth.roles import ADMIN, CATALOG_ROLES, ROLES, STAFF
from engine.catalog import service as catalog_service
from engine.models.auth import UserAccount

DEMO_PASSWORD = "dutyflow-demo"
ADMIN_USERNAME = "admin"
ADMIN_NAME = "系统管理员"


class DemoAccount(NamedTuple):
    username: str
    password: str
    roles: list[str]
    staff_name: str


def _demo_staff(session: Session) -> list[tuple[str, str, list[str]]]:
    """(staff id, name, roles) of every holder of the current catalog version.

    A fixed number of queries however many holders there are: the posts behind each coordinating
    role are resolved once, then matched against the posts each person holds (what
    catalog_service.staff_roles answers for one person)."""
    version = catalog_service.current_version(session)
    if version is None:
        return []
    posts_by_role = catalog_service.role_posts(session, version.id)
    return [
        (person.staff_id, person.name,
         sorted({STAFF, *(catalog_service.roles_of_posts(person.posts, posts_by_role) & CATALOG_ROLES)}))
        for person in catalog_service.list_staff(session, version.id)
    ]


@lru_cache(maxsize=1)
def _demo_password_hash() -> str:
    # Argon2 is slow on purpose (~0.1–0.3 s a hash); every demo account has the same password, so
    # one hash serves them all and start-up stays quick even with hundreds of holders.
    return hash_password(DEMO_PASSWORD)


def _update(user: UserAccount, roles: list[str], staff_id: str | None, name: str) -> None:
    user.roles = " ".join(sorted(set(roles) & set(ROLES)))
    user.staff_id = staff_id
    user.display_name = name


def ensure_demo_users(session: Session, now: datetime) -> list[DemoAccount]:
    """Create (or refresh) the demo accounts; calling it again changes nothing. Returns them all.

    One query finds the accounts that exist already; the new ones go in with one flush (batched
    inserts), not one round trip per person."""
    wanted: list[tuple[str, list[str], str | None, str]] = [
        (staff_id.lower(), roles, staff_id, name) for staff_id, name, roles in _demo_staff(session)
    ]
    wanted.append((ADMIN_USERNAME, [ADMIN], None, ADMIN_NAME))
    existing = {
        user.username: user
        for user in session.exec(select(UserAccount).where(col(UserAccount.username).in_([w[0] for w in wanted])))
    }
    for username, roles, staff_id, name in wanted:
        user = existing.get(username)
        if user is None:
            user = UserAccount(username=username, password_hash=_demo_password_hash(), created_at=now)
        _update(user, roles, staff_id, name)
        session.add(user)
    session.flush()
    return [DemoAccount(username, DEMO_PASSWORD, roles, name) for username, roles, _, name in wanted]
