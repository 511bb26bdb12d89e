"""Finding 11 (sign-in): guessing is rate limited, unknown users cost the same as known ones, and a
foreign page cannot sign the browser in (login CSRF). Each test fails if the attack works."""

from __future__ import annotations

import types

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

import api.security
import engine.auth.service
from engine.auth.service import create_user, dummy_password_hash, set_active
from engine.models.auth import AuthSession

PASSWORD = "right-password-1"


@pytest.fixture
def chen(database, clock):
    with database.session() as session:
        create_user(session, "chen", PASSWORD, clock.now(), roles=["staff"], staff_id="S003")
    return "chen"


def _token(client, username, password):
    return client.post("/api/token", data={"username": username, "password": password})


def _sessions(database) -> list[AuthSession]:
    with database.session() as session:
        return list(session.exec(select(AuthSession)).all())


# --- rate limiting ----------------------------------------------------------------------------
def test_eighty_wrong_passwords_then_the_right_one_is_refused(client, chen, database):
    answers = [_token(client, "chen", f"guess-{n:03d}").status_code for n in range(80)]
    # 5 failures per account per 15 minutes (the default); every further attempt is refused
    # before the password is even checked.
    assert answers[:5] == [401] * 5
    assert set(answers[5:]) == {429}
    refused = _token(client, "chen", PASSWORD)
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.json()["detail"] and "分钟后" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 15 * 60
    assert "access_token" not in refused.json() and _sessions(database) == []


def test_the_sign_in_page_is_limited_too(client, chen, database):
    for n in range(5):
        assert client.post("/login", data={"username": "chen", "password": f"guess-{n}"}).status_code == 401
    page = client.post("/login", data={"username": "chen", "password": PASSWORD}, follow_redirects=False)
    assert page.status_code == 429
    assert "登录失败次数过多" in page.text and "Retry-After" in page.headers
    assert _sessions(database) == []


def test_the_account_limit_holds_whatever_address_the_guesses_come_from(app, chen):
    for n in range(5):
        with TestClient(app, client=(f"203.0.113.{n + 1}", 40000)) as other:
            assert _token(other, "chen", f"guess-{n}").status_code == 401
    with TestClient(app, client=("198.51.100.7", 40000)) as fresh:
        assert _token(fresh, "chen", PASSWORD).status_code == 429


def test_one_address_guessing_many_accounts_is_stopped(app, database, clock, chen):
    with database.session() as session:
        create_user(session, "wang", PASSWORD, clock.now())
    with TestClient(app, client=("203.0.113.9", 40000)) as attacker:
        # 20 failures per address per 15 minutes, spread over 20 accounts (4 each would stay under
        # any per-account limit).
        for n in range(20):
            assert _token(attacker, f"user{n}", "guess").status_code == 401
        assert _token(attacker, "wang", PASSWORD).status_code == 429
    with TestClient(app, client=("198.51.100.7", 40000)) as colleague:
        assert _token(colleague, "wang", PASSWORD).status_code == 200


def test_an_untrusted_x_forwarded_for_does_not_give_a_fresh_address(client, chen):
    for n in range(25):
        client.post("/api/token", data={"username": f"user{n}", "password": "guess"},
                    headers={"X-Forwarded-For": f"192.0.2.{n}"})
    assert _token(client, "chen", PASSWORD).status_code == 429


def test_a_success_clears_the_account_count_so_typos_never_lock_out(client, chen):
    for _round in range(3):
        for n in range(4):
            assert _token(client, "chen", f"typo-{n}").status_code == 401
        assert _token(client, "chen", PASSWORD).status_code == 200


def test_the_limit_ends_when_the_window_has_passed(client, chen, monkeypatch):
    now = [1_900_000_000.0]
    fake_time = types.SimpleNamespace(time=lambda: now[0])
    # The limiter's clock (the limits library and the retry time both read time.time()).
    for module in ("limits.storage.memory", "limits.strategies", "api.security"):
        monkeypatch.setattr(f"{module}.time", fake_time)
    for n in range(5):
        assert _token(client, "chen", f"guess-{n}").status_code == 401
    now[0] += 14 * 60
    assert _token(client, "chen", PASSWORD).status_code == 429
    now[0] += 61  # 15 minutes and a second after the first failure
    assert _token(client, "chen", PASSWORD).status_code == 200


# --- constant-time answers ----------------------------------------------------------------------
@pytest.fixture
def verifications(monkeypatch):
    """Every password verification the sign-in makes: (password, hash) pairs."""
    calls: list[tuple[str, str]] = []
    real = engine.auth.service.verify_password

    def spy(password: str, password_hash: str) -> bool:
        calls.append((password, password_hash))
        return real(password, password_hash)

    monkeypatch.setattr(engine.auth.service, "verify_password", spy)
    return calls


def test_an_unknown_user_costs_one_argon2_verification_like_a_wrong_password(client, chen, database,
                                                                             verifications):
    assert _token(client, "nobody", "some-password").status_code == 401
    assert verifications == [("some-password", dummy_password_hash())]
    assert dummy_password_hash().startswith("$argon2id$")
    verifications.clear()
    assert _token(client, "chen", "wrong-password").status_code == 401
    with database.session() as session:
        real_hash = engine.auth.service.get_user(session, "chen").password_hash
    assert verifications == [("wrong-password", real_hash)]
    # Made like every real hash: the same algorithm and cost parameters.
    assert dummy_password_hash().split("$")[:4] == real_hash.split("$")[:4]


def test_a_disabled_user_costs_the_same_and_is_refused(client, chen, database, clock, verifications):
    with database.session() as session:
        set_active(session, "chen", False, clock.now())
    assert _token(client, "chen", PASSWORD).status_code == 401
    assert verifications == [(PASSWORD, dummy_password_hash())]


def test_the_sign_in_page_verifies_the_dummy_hash_for_unknown_users(client, verifications):
    assert client.post("/login", data={"username": "nobody", "password": "x" * 10}).status_code == 401
    assert verifications == [("x" * 10, dummy_password_hash())]


# --- login CSRF -----------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/login-trap.html"},
    {"Origin": "http://testserver.evil.example"},
])
def test_a_foreign_page_cannot_sign_the_browser_in(client, chen, database, headers):
    # No session cookie yet: the browser of the victim has never visited the site.
    assert "dutyflow_session" not in client.cookies
    response = client.post("/login", data={"username": "chen", "password": PASSWORD}, headers=headers,
                           follow_redirects=False)
    assert response.status_code == 403
    assert "跨站提交已被拒绝" in response.text
    assert "set-cookie" not in response.headers and _sessions(database) == []


def test_signing_in_from_this_site_still_works(client, chen, database):
    response = client.post("/login", data={"username": "chen", "password": PASSWORD},
                           headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/api/me").json()["username"] == "chen"
    assert len(_sessions(database)) == 1


def test_the_limiter_is_a_fresh_one_per_app(app):
    # What keeps tests independent without sleeping: every app counts from zero.
    assert isinstance(app.state.sign_in_limiter, api.security.SignInLimiter)
    assert app.state.sign_in_limiter.limiter.test(app.state.sign_in_limiter.per_account, "sign-in",
                                                  "account", "chen")
