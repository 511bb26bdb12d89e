"""Finding 11 (sessions): a sign-in is a server-side session that logout, an administrator,
disabling the account and its expiry end — a copied cookie or token replayed afterwards signs
nobody in — and the session cookie is Secure when configured or when a trusted proxy says HTTPS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import select

from api.main import SESSION_COOKIE, create_app
from engine.auth.service import create_user, set_active
from engine.clock import ControlledClock
from engine.models.auth import AuthSession, UserAccount

PASSWORD = "right-password-1"


@pytest.fixture
def people(database, clock):
    with database.session() as session:
        create_user(session, "chen", PASSWORD, clock.now(), roles=["staff"], staff_id="S003")
        create_user(session, "root", PASSWORD, clock.now(), roles=["admin"])


def _sign_in_page(client, username="chen") -> str:
    """Sign in through the form like a browser; the session cookie's value."""
    response = client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client.cookies[SESSION_COOKIE]


def _token(client, username="chen") -> dict[str, str]:
    response = client.post("/api/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _me(app, cookie: str | None = None, headers: dict | None = None) -> int:
    """/api/me from a fresh browser that carries only what an attacker copied."""
    with TestClient(app) as other:
        if cookie:
            other.cookies.set(SESSION_COOKIE, cookie)
        return other.get("/api/me", headers=headers or {}).status_code


def test_a_cookie_replayed_after_logout_signs_nobody_in(app, client, people):
    stolen = _sign_in_page(client)
    assert _me(app, cookie=stolen) == 200
    assert client.post("/logout", follow_redirects=False).status_code == 303
    assert _me(app, cookie=stolen) == 401
    with TestClient(app) as other:
        other.cookies.set(SESSION_COOKIE, stolen)
        inbox = other.get("/inbox", follow_redirects=False)
    assert inbox.status_code in (302, 303, 307) and "/login" in inbox.headers["location"]


def test_a_token_is_refused_after_its_logout(app, client, people):
    headers = _token(client)
    assert client.get("/api/me", headers=headers).json()["username"] == "chen"
    assert client.post("/api/logout", headers=headers).status_code == 200
    assert _me(app, headers=headers) == 401


def test_an_admin_ends_every_sign_in_of_a_user(app, client, people):
    token, cookie = _token(client), _sign_in_page(client)
    admin = _token(client, "root")
    # Staff may not end someone else's sessions.
    assert client.post("/api/users/root/revoke-sessions", headers=token).status_code == 403
    response = client.post("/api/users/chen/revoke-sessions", headers=admin)
    assert response.status_code == 200 and response.json() == {"username": "chen", "revoked": 2}
    assert _me(app, headers=token) == 401 and _me(app, cookie=cookie) == 401
    assert _me(app, headers=admin) == 200  # the admin's own sign-in is untouched
    missing = client.post("/api/users/nobody/revoke-sessions", headers=admin)
    assert missing.status_code == 404 and "nobody" in missing.json()["detail"]


def test_a_disabled_users_tokens_stop_working(app, client, people, database, clock):
    token = _token(client)
    with database.session() as session:  # even without revoking its sessions
        user = session.exec(select(UserAccount).where(UserAccount.username == "chen")).one()
        user.active = False
        session.add(user)
    assert _me(app, headers=token) == 401
    with database.session() as session:
        set_active(session, "chen", True, clock.now())
    assert _me(app, headers=token) == 200
    with database.session() as session:
        set_active(session, "chen", False, clock.now())  # disabling also ends its sessions
        set_active(session, "chen", True, clock.now())
    assert _me(app, headers=token) == 401


def test_a_sign_in_expires_after_the_session_hours(app, client, people):
    auth_clock = ControlledClock(app.state.auth_clock.now())
    app.state.auth_clock = auth_clock
    token, cookie = _token(client), _sign_in_page(client)
    auth_clock.advance(timedelta(hours=11, minutes=59))
    assert _me(app, headers=token) == 200 and _me(app, cookie=cookie) == 200
    auth_clock.advance(timedelta(minutes=1))  # 12 hours (DUTYFLOW_SESSION_HOURS) after sign-in
    assert _me(app, headers=token) == 401 and _me(app, cookie=cookie) == 401


def test_a_new_sign_in_ends_the_previous_session_of_that_browser(app, client, people, database):
    before = _sign_in_page(client)
    after = _sign_in_page(client)
    assert before != after
    assert _me(app, cookie=before) == 401 and _me(app, cookie=after) == 200


def test_a_signed_in_request_costs_one_lookup_of_the_session(app, client, people, database):
    headers = _token(client)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        assert client.get("/api/me", headers=headers).status_code == 200
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    touching = [s for s in statements if "auth_session" in s or "user_account" in s]
    assert len(touching) == 1 and "auth_session.id =" in touching[0]


def test_sessions_are_rows_with_an_expiry(client, people, database):
    _token(client)
    with database.session() as session:
        [row] = session.exec(select(AuthSession)).all()
    assert row.expires_at - row.created_at == timedelta(hours=12) and row.revoked_at is None
    assert len(row.id) >= 40  # 32 random bytes, URL-safe


# --- the Secure flag ----------------------------------------------------------------------------
def _cookie_header(app, client_address=("127.0.0.1", 50000), headers=None) -> str:
    with TestClient(app, client=client_address) as browser:
        response = browser.post("/login", data={"username": "chen", "password": PASSWORD},
                                headers=headers or {}, follow_redirects=False)
    assert response.status_code == 303, response.text
    [cookie] = [v for k, v in response.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v]
    return cookie.lower()


def _app(database, clock, settings, **changes):
    return create_app(settings=settings.model_copy(update=changes), database=database, clock=clock, migrate=False)


def test_the_cookie_is_not_secure_over_plain_http_by_default(database, clock, settings, people):
    cookie = _cookie_header(_app(database, clock, settings))
    assert "secure" not in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_the_cookie_is_secure_when_configured(database, clock, settings, people):
    assert "; secure" in _cookie_header(_app(database, clock, settings, cookie_secure=True))


def test_a_trusted_proxy_saying_https_makes_the_cookie_secure(database, clock, settings, people):
    app = _app(database, clock, settings, forwarded_allow_ips=("10.0.0.5",))
    https = {"X-Forwarded-Proto": "https"}
    assert "; secure" in _cookie_header(app, ("10.0.0.5", 40000), https)
    # The same header from anyone else changes nothing.
    assert "secure" not in _cookie_header(app, ("10.0.0.6", 40000), https)
    # Nor from anywhere when no proxy is configured.
    assert "secure" not in _cookie_header(_app(database, clock, settings), ("10.0.0.5", 40000), https)


def test_the_address_a_trusted_proxy_names_is_the_one_rate_limited(database, clock, settings, people):
    app = _app(database, clock, settings, forwarded_allow_ips=("10.0.0.0/24",))
    with TestClient(app, client=("10.0.0.5", 40000)) as proxy:
        for n in range(20):
            proxy.post("/api/token", data={"username": f"user{n}", "password": "guess"},
                       headers={"X-Forwarded-For": "203.0.113.9"})
        # Another client behind the same proxy is not blocked by that one's failures …
        ok = proxy.post("/api/token", data={"username": "chen", "password": PASSWORD},
                        headers={"X-Forwarded-For": "198.51.100.7"})
        # … while the guessing client is.
        blocked = proxy.post("/api/token", data={"username": "chen", "password": PASSWORD},
                             headers={"X-Forwarded-For": "203.0.113.9"})
    assert ok.status_code == 200 and blocked.status_code == 429
