"""Accounts for a real office (issue 13 item 6): provision the catalog's staff, reset a password
(forced change at the next sign-in), disable leavers, list who holds which role — engine, API,
pages and `dutyflow users …`.

The demo catalog (examples/demo-catalog.yaml) has 26 holders; its `roles:` bind legal_office to
FZ, establishment_office to BB and efficiency_office to XN. So by hand: S090 彭亮 holds XN-DC-01
(效能督查科, a post of XN) → staff + efficiency_office; S080 邓华 holds FZ-FG-01 → staff +
legal_office; S003 陈静 holds MZ-SHJZ-01 (民政局) → staff only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

import api.cli.users  # noqa: F401  (registers the commands)
from api.cli.app import app as cli_app
from engine.auth import accounts
from engine.auth.roles import Actor
from engine.auth.service import authenticate, create_user, get_user
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.config import PROJECT_ROOT
from engine.errors import Forbidden, InvalidInput
from engine.models.auth import UserAccount
from tests.auth_helpers import issue_token

DEMO = PROJECT_ROOT / "examples" / "demo-catalog.yaml"
HOLDERS = 26
ADMIN = Actor("root", roles=frozenset({"admin"}), display_name="管理员")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
runner = CliRunner()


def publish(database, clock, path: Path = DEMO) -> None:
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(path), "test", clock.now())
        catalog.publish_version(session, version.id, "test", clock.now())


def changed_catalog(tmp_path: Path) -> Path:
    """Version 2026.2: 曾琳 (S091, XN-DC-02) has left; 周敏 (S099) holds her post."""
    text = DEMO.read_text(encoding="utf-8")
    assert "{id: S091, name: 曾琳}" in text and 'version: "2026.1"' in text
    text = text.replace("{id: S091, name: 曾琳}", "{id: S099, name: 周敏}").replace('version: "2026.1"',
                                                                                  'version: "2026.2"')
    path = tmp_path / "2026.2.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def provision(database, clock) -> accounts.ProvisionResult:
    with database.session() as session:
        return accounts.provision_staff(session, ADMIN, clock.now())


# ---------------------------------------------------------------- engine


def test_provision_creates_one_account_per_holder_with_roles_from_the_bindings(database, clock):
    publish(database, clock)
    result = provision(database, clock)
    assert result.version == "2026.1"
    assert len(result.created) == HOLDERS and not result.updated and not result.disabled
    created = {c.username: c for c in result.created}
    assert (created["s090"].name, created["s090"].roles) == ("彭亮", ["efficiency_office", "staff"])
    assert (created["s080"].name, created["s080"].roles) == ("邓华", ["legal_office", "staff"])
    assert (created["s003"].name, created["s003"].roles) == ("陈静", ["staff"])
    # Every one-time password is different, 12 characters, and signs in once stored as a hash.
    passwords = [c.password for c in result.created]
    assert len(set(passwords)) == HOLDERS and all(p and len(p) == 12 for p in passwords)
    with database.session() as session:
        user = authenticate(session, "s090", created["s090"].password)
        assert user is not None and user.must_change_password and user.staff_id == "S090"
        assert created["s090"].password not in user.password_hash


def test_a_second_provision_changes_nothing(database, clock):
    publish(database, clock)
    provision(database, clock)
    with database.session() as session:
        before = {(u.username, u.roles, u.password_hash, u.active) for u in session.exec(select(UserAccount))}
    again = provision(database, clock)
    assert not again.changed and again.unchanged == HOLDERS and not again.skipped
    with database.session() as session:
        assert {(u.username, u.roles, u.password_hash, u.active) for u in session.exec(select(UserAccount))} == before


def test_existing_accounts_get_their_roles_from_the_catalog_and_admin_is_kept(database, clock):
    publish(database, clock)
    with database.session() as session:
        # Given by hand before provisioning: 陈静 with 法制办 (her posts carry none), 彭亮 also admin.
        create_user(session, "s003", "chenjing-pass", clock.now(), roles=["staff", "legal_office"], staff_id="S003")
        create_user(session, "s090", "pengliang-pass", clock.now(), roles=["admin", "staff"], staff_id="S090",
                    display_name="彭亮")
    result = provision(database, clock)
    assert len(result.created) == HOLDERS - 2
    updated = {c.username: c for c in result.updated}
    assert set(updated) == {"s003", "s090"}
    assert updated["s003"].roles == ["staff"]
    assert updated["s003"].changes == ["角色：工作人员、法制办 → 工作人员", "姓名：无 → 陈静"]
    assert updated["s090"].roles == ["admin", "efficiency_office", "staff"]
    with database.session() as session:
        # Their own passwords stay: provisioning never resets an existing account's password.
        assert authenticate(session, "s003", "chenjing-pass") is not None
        assert not get_user(session, "s003").must_change_password


def test_a_holder_removed_from_the_catalog_is_disabled_not_deleted(database, clock, tmp_path, client):
    publish(database, clock)
    first = {c.username: c.password for c in provision(database, clock).created}
    token = client.post("/api/token", data={"username": "s091", "password": first["s091"]}).json()["access_token"]
    publish(database, clock, changed_catalog(tmp_path))
    result = provision(database, clock)
    assert result.version == "2026.2"
    # S099 周敏 is new at XN-DC-02 (a post of XN) → staff + efficiency_office; 曾琳 left every post.
    assert [(c.username, c.name, c.roles) for c in result.created] == [("s099", "周敏", ["efficiency_office", "staff"])]
    assert [(c.username, c.name) for c in result.disabled] == [("s091", "曾琳")]
    assert not result.updated and result.unchanged == HOLDERS - 1
    with database.session() as session:
        left = get_user(session, "s091")
        assert left is not None and not left.active
        assert authenticate(session, "s091", first["s091"]) is None
    # Her sign-in ended with it.
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert not provision(database, clock).changed


def test_without_a_catalog_nothing_is_disabled(database, clock):
    with database.session() as session:
        create_user(session, "s003", "chenjing-pass", clock.now(), staff_id="S003")
    result = provision(database, clock)
    assert result.version is None and not result.changed
    with database.session() as session:
        assert get_user(session, "s003").active


def test_account_management_needs_the_admin(database, clock):
    publish(database, clock)
    clerk = Actor("s003", staff_id="S003", roles=frozenset({"staff", "efficiency_office"}))
    with database.session() as session, pytest.raises(Forbidden) as refused:
        accounts.provision_staff(session, clerk, clock.now())
    assert "系统管理员" in refused.value.message


def test_new_password_follows_the_rules(database, clock):
    with database.session() as session:
        create_user(session, "s003", "chenjing-pass", clock.now(), staff_id="S003")
    with database.session() as session, pytest.raises(InvalidInput) as bad:
        accounts.change_password(session, "s003", "wrong-pass", "short", clock.now(), confirm="shorter")
    # create_user's rule: at least MIN_PASSWORD_LENGTH (8) characters.
    assert bad.value.problems == ["当前密码：不正确", "新密码：至少 8 个字符", "确认新密码：与新密码不一致"]
    with database.session() as session, pytest.raises(InvalidInput) as same:
        accounts.change_password(session, "s003", "chenjing-pass", "chenjing-pass", clock.now())
    assert same.value.problems == ["新密码：不能与当前密码相同"]


# ---------------------------------------------------------------- API and pages


@pytest.fixture
def office(client, database, clock, settings):
    """The demo catalog published and an administrator `root` signed in by token."""
    publish(database, clock)
    with database.session() as session:
        create_user(session, "root", "root-password", clock.now(), roles=["admin"], display_name="管理员")
    client.headers_admin = {"Authorization": f"Bearer {issue_token(settings, 'root')}"}
    return client


def test_api_provision_list_reset_and_forced_change(office):
    admin = office.headers_admin
    made = office.post("/api/users/provision", headers=admin)
    assert made.status_code == 200, made.text
    body = made.json()
    assert len(body["created"]) == HOLDERS and body["version"] == "2026.1"
    s090 = next(c for c in body["created"] if c["username"] == "s090")
    assert s090["role_names"] == "工作人员、效能办"
    listed = {row["username"]: row for row in office.get("/api/users", headers=admin).json()}
    assert listed["s090"]["role_names"] == "工作人员、效能办"
    assert listed["s090"]["posts"] == ["效能督查科 效能监察岗"]
    assert listed["s090"]["must_change_password"] and listed["root"]["roles"] == ["admin"]

    reset = office.post("/api/users/s003/reset-password", headers=admin).json()
    token = office.post("/api/token", data={"username": "s003", "password": reset["password"]}).json()
    assert token["must_change_password"] is True
    clerk = {"Authorization": f"Bearer {token['access_token']}"}
    refused = office.get("/api/tasks", headers=clerk)
    assert refused.status_code == 403
    assert CHINESE.search(refused.json()["detail"]) and "/api/account/password" in refused.json()["detail"]
    assert office.get("/api/me", headers=clerk).json()["username"] == "s003"  # who am I: still answered
    short = office.post("/api/account/password", headers=clerk,
                        json={"current_password": reset["password"], "new_password": "short"})
    assert short.status_code == 422 and "新密码：至少 8 个字符" in short.json()["problems"]
    changed = office.post("/api/account/password", headers=clerk,
                          json={"current_password": reset["password"], "new_password": "chenjing-2026"})
    assert changed.status_code == 200, changed.text
    assert office.get("/api/tasks", headers=clerk).status_code == 200


def test_api_disable_ends_sign_ins_and_sign_in(office):
    admin = office.headers_admin
    created = {c["username"]: c["password"] for c in office.post("/api/users/provision", headers=admin).json()["created"]}
    token = office.post("/api/token", data={"username": "s003", "password": created["s003"]}).json()["access_token"]
    assert office.post("/api/users/s003/disable", headers=admin).json() == {"username": "s003", "name": "陈静",
                                                                            "active": False}
    assert office.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert office.post("/api/token", data={"username": "s003", "password": created["s003"]}).status_code == 401
    assert office.post("/api/users/s003/enable", headers=admin).json()["active"] is True
    assert office.post("/api/token", data={"username": "s003", "password": created["s003"]}).status_code == 200
    # Unknown account: a Chinese 404 naming it; the administrator cannot disable themselves.
    missing = office.post("/api/users/nobody/disable", headers=admin)
    assert missing.status_code == 404 and "nobody" in missing.json()["detail"]
    assert office.post("/api/users/root/disable", headers=admin).status_code == 409


def test_accounts_page_provisions_and_shows_one_time_passwords_once(office):
    admin = office.headers_admin
    page = office.get("/accounts", headers=admin)
    assert page.status_code == 200 and "账号管理" in page.text and "按清单开设账号" in page.text
    made = office.post("/accounts/provision", headers=admin)
    assert made.status_code == 200
    assert "新开设 26 个" in made.text and "彭亮" in made.text
    password = re.search(r'data-username="s090"><td>彭亮</td><td>s090</td><td><code class="one-time-password">(\w+)</code>',
                         made.text)
    assert password is not None
    # The list shows roles in Chinese and posts; the password is not shown again.
    again = office.get("/accounts", headers=admin)
    assert password.group(1) not in again.text and "一次性密码（只显示这一次）" not in again.text
    row = re.search(r'<tr data-username="s090">(.*?)</tr>', again.text, re.S).group(1)
    assert "工作人员、效能办" in row and "效能督查科 效能监察岗" in row and "须修改一次性密码" in row
    # Menu entry for the admin only.
    assert 'href="/accounts"' in again.text

    reset = office.post("/accounts/reset-password", headers=admin, data={"username": "s003"})
    assert reset.status_code == 200 and "陈静" in reset.text
    disabled = office.post("/accounts/disable", headers=admin, data={"username": "s080"}, follow_redirects=True)
    assert "已停用 邓华（s080）的账号" in disabled.text
    assert '<tr data-username="s080">' in disabled.text and "已停用" in disabled.text


def test_signing_in_with_a_one_time_password_leads_to_the_change_page(office, app):
    made = office.post("/api/users/provision", headers=office.headers_admin).json()
    password = next(c["password"] for c in made["created"] if c["username"] == "s090")
    browser = TestClient(app)  # a browser of its own: cookies apart from the admin's token
    signed = browser.post("/login", data={"username": "s090", "password": password}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/account/password"
    for path in ("/inbox", "/dashboard", "/catalog"):
        response = browser.get(path, follow_redirects=False)
        assert (response.status_code, response.headers.get("location")) == (303, "/account/password"), path
    form = browser.get("/account/password")
    assert form.status_code == 200 and "一次性密码" in form.text
    bad = browser.post("/account/password", data={"current_password": password, "new_password": "short",
                                                  "confirm_password": "short"})
    assert bad.status_code == 422 and "新密码：至少 8 个字符" in bad.text
    done = browser.post("/account/password", data={"current_password": password, "new_password": "pengliang-2026",
                                                   "confirm_password": "pengliang-2026"}, follow_redirects=False)
    # 彭亮 is 效能办: his home is the dashboard.
    assert done.status_code == 303 and done.headers["location"] == "/dashboard"
    assert browser.get("/dashboard").status_code == 200
    with office.app.state.database.session() as session:
        assert authenticate(session, "s090", "pengliang-2026") is not None


def test_accounts_page_is_the_admins(office, settings):
    with office.app.state.database.session() as session:
        create_user(session, "xn", "xn-password", office.app.state.clock.now(), roles=["staff", "efficiency_office"])
    coordinator = {"Authorization": f"Bearer {issue_token(settings, 'xn')}"}
    refused = office.get("/accounts", headers=coordinator)
    assert refused.status_code == 403 and "系统管理员" in refused.text
    assert 'href="/accounts"' not in office.get("/catalog", headers=coordinator).text
    assert office.post("/api/users/provision", headers=coordinator).status_code == 403


# ---------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(database, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    return database


def _output(result) -> str:
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_cli_provision_list_reset_disable_enable(cli_env, clock):
    publish(cli_env, clock)
    made = runner.invoke(cli_app, ["users", "provision"])
    assert made.exit_code == 0, _output(made)
    assert "按清单版本 2026.1 开设账号：新开设 26 个，校正 0 个，停用 0 个，未变 0 个" in made.output
    assert "一次性密码" in made.output and "彭亮" in made.output
    with cli_env.session() as session:
        assert get_user(session, "s090").must_change_password
    again = runner.invoke(cli_app, ["users", "provision"])
    assert "新开设 0 个，校正 0 个，停用 0 个，未变 26 个" in again.output and "一次性密码" not in again.output

    listed = runner.invoke(cli_app, ["users", "list"])
    assert listed.exit_code == 0 and "效能办" in listed.output and "彭亮" in listed.output

    reset = runner.invoke(cli_app, ["users", "reset-password", "s003"])
    assert reset.exit_code == 0 and "已重置 陈静（s003）的密码" in reset.output
    password = re.search(r"s003\s*│\s*(\w{12})", reset.output).group(1)
    with cli_env.session() as session:
        assert authenticate(session, "s003", password) is not None

    disabled = runner.invoke(cli_app, ["users", "disable", "s003"])
    assert disabled.exit_code == 0 and "已停用 陈静（s003）的账号" in disabled.output
    with cli_env.session() as session:
        assert authenticate(session, "s003", password) is None
    assert "已启用 陈静（s003）的账号" in runner.invoke(cli_app, ["users", "enable", "s003"]).output
    missing = runner.invoke(cli_app, ["users", "disable", "nobody"])
    assert missing.exit_code != 0 and "账号 nobody 不存在" in _output(missing)


def test_cli_add_admin_prints_a_one_time_password(cli_env):
    made = runner.invoke(cli_app, ["users", "add-admin", "root", "--name", "王管理"])
    assert made.exit_code == 0, _output(made)
    password = re.search(r"root\s*│\s*(\w{12})", made.output).group(1)
    with cli_env.session() as session:
        user = authenticate(session, "root", password)
        assert user is not None and user.roles == "admin" and user.must_change_password
