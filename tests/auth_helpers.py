"""A signed-in API caller for tests: create the account, return its bearer header."""

from __future__ import annotations

from api.security import issue_token
from engine.auth.service import create_user


def bearer_headers(database, clock, settings, username: str, roles) -> dict[str, str]:
    with database.session() as session:
        create_user(session, username=username, password="secret-pass", now=clock.now(), roles=list(roles))
    return {"Authorization": f"Bearer {issue_token(settings, username)}"}
