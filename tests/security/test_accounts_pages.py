"""Attacks on the administrator's account pages (/accounts) and the answers carrying secrets.

- Nobody but the administrator resets a password, disables or enables an account, or provisions
  from the catalog — not the efficiency office, not the legal office, not a department head, not
  staff — through the pages (signed in by the real /login form, posting from this site: the refusal
  is flashed on the next page) or the API (403); nothing changes (the victim's password still signs in, the account stays active).
- The administrator's own session posted from another site (a forged form resetting 彭亮's
  password would hand the attacker nothing, but disabling every office account would stop the
  government's work) is refused before any route: 403, nothing changed.
- One-time passwords and tokens are answered with `Cache-Control: no-store`, so no cache and no
  back button keeps them on an office's shared computer (RFC 6749 §5.1 for the token).
Both backends.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from engine.auth.service import authenticate, create_user
from engine.models.auth import UserAccount
from tests.auth_helpers import issue_token
from tests.browser_helpers import DEMO_PASSWORD, load_demo, sign_in

ACTIONS = [("/accounts/reset-password", {"username": "s090"}), ("/accounts/disable", {"username": "s090"}),
           ("/accounts/enable", {"username": "s090"}), ("/accounts/provision", {})]


@pytest.fixture
def office(client, database, clock):
    load_demo(database, clock)
    with database.session() as session:
        create_user(session, "root", "root-password", clock.now(), roles=["admin"], display_name="管理员")
    return client


def unchanged(database) -> bool:
    """彭亮 (s090) still signs in with the demo password, is active and need not change it; no
    account was provisioned (the demo set-up made them all: 26 holders + the demo admin + root)."""
    with database.session() as session:
        user = authenticate(session, "s090", DEMO_PASSWORD)
        count = len(list(session.scalars(select(UserAccount))))
        return user is not None and user.active and not user.must_change_password and count == COUNT[database.url]


COUNT: dict[str, int] = {}


@pytest.mark.parametrize("who", ["s090", "s080", "s001", "s003"])  # 效能办, 法制办, 民政局负责人, staff
def test_only_the_administrator_manages_accounts(office, database, settings, who):
    with database.session() as session:
        COUNT[database.url] = len(list(session.scalars(select(UserAccount))))
    sign_in(office, who)
    for path, data in ACTIONS:
        # A refused page form is flashed on the page it came from (POST-redirect-GET), nothing written.
        refused = office.post(path, data=data, headers={"origin": "http://testserver"}, follow_redirects=False)
        assert refused.status_code == 303, (who, path, refused.status_code)
        shown = office.get(refused.headers["location"])
        assert "只有系统管理员可以管理账号" in shown.text, (who, path)
    token = {"Authorization": f"Bearer {issue_token(settings, who)}"}
    for path in ("/api/users/s090/reset-password", "/api/users/s090/disable", "/api/users/provision"):
        assert office.post(path, headers=token).status_code == 403, (who, path)
    assert unchanged(database)


@pytest.mark.parametrize("headers", [{"origin": "https://evil.example"}, {"referer": "https://evil.example/x"},
                                     {"origin": "null"}])
def test_the_administrators_session_posted_from_another_site_changes_nothing(office, database, headers):
    with database.session() as session:
        COUNT[database.url] = len(list(session.scalars(select(UserAccount))))
    sign_in(office, "root", "root-password")
    for path, data in ACTIONS:
        forged = office.post(path, data=data, headers=headers, follow_redirects=False)
        assert forged.status_code == 403 and "跨站提交已被拒绝" in forged.text, path
    assert unchanged(database)


def test_one_time_passwords_and_tokens_are_not_cached(office, database, settings):
    sign_in(office, "root", "root-password")
    for path, data in (("/accounts/reset-password", {"username": "s003"}), ("/accounts/provision", {})):
        page = office.post(path, data=data)
        assert page.status_code == 200 and page.headers.get("cache-control") == "no-store", path
    admin = {"Authorization": f"Bearer {issue_token(settings, 'root')}"}
    for path in ("/api/users/s003/reset-password", "/api/users/provision"):
        answer = office.post(path, headers=admin)
        assert answer.status_code == 200 and answer.headers.get("cache-control") == "no-store", path
    token = office.post("/api/token", data={"username": "root", "password": "root-password"})
    assert token.status_code == 200 and token.headers.get("cache-control") == "no-store"
