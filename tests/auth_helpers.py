"""Signed-in API callers for tests: create the account, start a sign-in session, return its token.

A token names a sign-in session stored in the database (api.security), so issuing one needs the
test's database: the `settings` fixture carries its URL.
"""

from __future__ import annotations

from api.security import session_lifetime, token_for_session
from engine.auth.service import create_user, get_user, start_session
from engine.clock import SystemClock
from engine.config import Settings
from engine.db import Database
from tests.runtime_helpers import load_demo_catalog

_databases: dict[str, Database] = {}


def _database(settings: Settings) -> Database:
    found = _databases.get(settings.database_url)
    if found is None:
        found = _databases[settings.database_url] = Database(settings.database_url)
    return found


def issue_token(settings: Settings, username: str) -> str:
    """A bearer token of a new sign-in session of an existing account (as POST /api/token gives)."""
    with _database(settings).session() as session:
        user = get_user(session, username)
        assert user is not None, f"no account {username!r} to sign in"
        signed_in = start_session(session, user, SystemClock().now(), session_lifetime(settings))
    return token_for_session(settings, signed_in.id)


def bearer_headers(database, clock, settings, username: str, roles) -> dict[str, str]:
    with database.session() as session:
        create_user(session, username=username, password="secret-pass", now=clock.now(), roles=list(roles))
    return {"Authorization": f"Bearer {issue_token(settings, username)}"}


def signed_in(client, database, clock, settings, demo_catalog_path):
    """The test client with an admin and a plain staff member (`client.as_(username)` gives headers)."""
    load_demo_catalog(database, clock, demo_catalog_path)
    with database.session() as session:
        create_user(session, "admin", "password-123", clock.now(), roles=["admin"])
        create_user(session, "chenjing", "password-123", clock.now(), roles=["staff"], staff_id="S003")
    client.as_ = lambda username: {"Authorization": f"Bearer {issue_token(settings, username)}"}
    return client
