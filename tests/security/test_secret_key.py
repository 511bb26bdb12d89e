"""Finding 2: no known keys. A token or cookie signed with the key the source used to carry is
refused; the server does not start without DUTYFLOW_SECRET_KEY (except the demo on a loopback
address, which makes a random key per data directory); a bad setting stops the start, named."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
import urllib.request

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from api.main import SESSION_COOKIE, create_app
from api.security import TOKEN_SALT
from engine.auth.service import create_user
from engine.config import (
    DEMO_KEY_FILE,
    PROJECT_ROOT,
    SECRET_KEY_VARIABLE,
    Settings,
    SettingsError,
    demo_secret_key,
    get_settings,
    prepare_secret_key,
)

OLD_KEY = "dev-only-change-me"
SERVE = [sys.executable, "-c", "from api.cli import main; main()", "serve"]


def _forged_cookie(key: str, data: dict) -> str:
    """A session cookie as Starlette's SessionMiddleware makes it, signed with `key`."""
    payload = base64.b64encode(json.dumps(data).encode())
    return TimestampSigner(key).sign(payload).decode()


@pytest.fixture
def admin_session(client, database, clock) -> str:
    """A live sign-in session of an administrator: its id (what a forger would need to know too)."""
    with database.session() as session:
        create_user(session, "root", "right-password-1", clock.now(), roles=["admin"])
    assert client.post("/login", data={"username": "root", "password": "right-password-1"},
                       follow_redirects=False).status_code == 303
    client.cookies.clear()
    token = client.post("/api/token", data={"username": "root", "password": "right-password-1"}).json()
    return URLSafeTimedSerializer("unused").loads_unsafe(token["access_token"])[1]["s"]


def test_a_token_signed_with_the_old_constant_key_is_refused(app, client, admin_session):
    for payload in ({"u": "admin"}, {"u": "root"}, {"s": admin_session}):
        forged = URLSafeTimedSerializer(OLD_KEY, salt=TOKEN_SALT).dumps(payload)
        response = client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, payload
    # The forging recipe is right: signed with the app's real key, the live session is accepted.
    genuine = URLSafeTimedSerializer(app.state.settings.secret_key, salt=TOKEN_SALT).dumps({"s": admin_session})
    assert client.get("/api/me", headers={"Authorization": f"Bearer {genuine}"}).json()["username"] == "root"
    # And a token in the old format (a bare username), even signed with the real key, names no session.
    old_format = URLSafeTimedSerializer(app.state.settings.secret_key, salt=TOKEN_SALT).dumps({"u": "root"})
    assert client.get("/api/me", headers={"Authorization": f"Bearer {old_format}"}).status_code == 401


def test_a_cookie_signed_with_the_old_constant_key_is_refused(app, admin_session):
    for data in ({"username": "admin"}, {"username": "root"}, {"sid": admin_session}):
        with TestClient(app) as browser:
            browser.cookies.set(SESSION_COOKIE, _forged_cookie(OLD_KEY, data))
            assert browser.get("/api/me").status_code == 401, data
    with TestClient(app) as browser:  # the recipe, with the real key and a live session, works
        browser.cookies.set(SESSION_COOKIE, _forged_cookie(app.state.settings.secret_key, {"sid": admin_session}))
        assert browser.get("/api/me").json()["username"] == "root"


def test_the_old_constant_key_is_refused_as_a_setting(monkeypatch):
    monkeypatch.setenv(SECRET_KEY_VARIABLE, OLD_KEY)
    with pytest.raises(SettingsError) as refused:
        get_settings()
    assert SECRET_KEY_VARIABLE in str(refused.value) and OLD_KEY not in str(refused.value)
    monkeypatch.setenv(SECRET_KEY_VARIABLE, "short-key")
    with pytest.raises(SettingsError, match=SECRET_KEY_VARIABLE):
        get_settings()


def test_a_served_app_refuses_to_start_without_a_key(monkeypatch):
    monkeypatch.delenv(SECRET_KEY_VARIABLE, raising=False)
    with pytest.raises(SettingsError) as refused:
        create_app()  # as uvicorn's factory builds it
    assert f"未设置 {SECRET_KEY_VARIABLE}" in refused.value.message


def test_an_app_built_without_a_key_signs_with_a_random_one(database, clock, tmp_path):
    one = create_app(settings=Settings(database_url="unused", diagrams_dir=tmp_path), database=database,
                     clock=clock, migrate=False)
    two = create_app(settings=Settings(database_url="unused", diagrams_dir=tmp_path), database=database,
                     clock=clock, migrate=False)
    keys = {one.state.settings.secret_key, two.state.settings.secret_key}
    assert len(keys) == 2 and None not in keys and OLD_KEY not in keys


def test_only_the_demo_on_a_loopback_address_may_do_without_a_key(monkeypatch, tmp_path):
    monkeypatch.delenv(SECRET_KEY_VARIABLE, raising=False)
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'dutyflow.db'}")
    for host, demo in (("0.0.0.0", True), ("192.0.2.10", True), ("127.0.0.1", False), ("::", True)):
        with pytest.raises(SettingsError, match=SECRET_KEY_VARIABLE):
            prepare_secret_key(host, demo)
    assert not (tmp_path / "data" / DEMO_KEY_FILE).exists()
    prepare_secret_key("127.0.0.1", True)
    key_file = tmp_path / "data" / DEMO_KEY_FILE
    assert os.environ[SECRET_KEY_VARIABLE] == key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert get_settings().secret_key == key_file.read_text().strip()


def test_the_demo_key_is_random_per_data_directory_and_kept_across_restarts(tmp_path):
    first = Settings(database_url=f"sqlite:///{tmp_path / 'a' / 'dutyflow.db'}")
    other = Settings(database_url=f"sqlite:///{tmp_path / 'b' / 'dutyflow.db'}")
    key = demo_secret_key(first)
    assert len(key) >= 32 and key != OLD_KEY
    assert demo_secret_key(first) == key  # a restart signs with the same key: sign-ins survive
    assert demo_secret_key(other) != key


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("DUTYFLOW_YELLOW_FRACTION", "abc", "2/3"),
    ("DUTYFLOW_EMBEDDED_WORKER", "maybe", "auto、on 或 off"),
    ("DUTYFLOW_YELLOW_DAYS_BEFORE", "-1", "整数"),
    ("DUTYFLOW_OFFICE_HOURS", "9点到5点", "09:00-12:00"),
    ("DUTYFLOW_FORWARDED_ALLOW_IPS", "my-proxy", "IP"),
    ("DUTYFLOW_LOGIN_LIMIT_ACCOUNT", "often", "5/15minutes"),
])
def test_a_bad_setting_is_refused_naming_the_variable(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        get_settings()
    [problem] = refused.value.problems
    assert problem.startswith(f"{variable}={value!r}：应为") and expected in problem


def _serve(port: int, env_changes: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYFLOW_")}
    env.update(env_changes)
    return subprocess.run([*SERVE, "--port", str(port), *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_dutyflow_serve_refuses_to_start_without_a_key(tmp_path):
    database = {"DUTYFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'dutyflow.db'}"}
    plain = _serve(18500, database)
    assert plain.returncode != 0 and SECRET_KEY_VARIABLE in plain.stderr and "未设置" in plain.stderr
    exposed = _serve(18501, database, "--demo", "--host", "0.0.0.0")
    assert exposed.returncode != 0 and SECRET_KEY_VARIABLE in exposed.stderr
    assert not (tmp_path / "dutyflow.db").exists()  # refused before anything was touched


def test_dutyflow_serve_refuses_a_bad_setting(tmp_path):
    result = _serve(18502, {"DUTYFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'dutyflow.db'}",
                            SECRET_KEY_VARIABLE: "k" * 40, "DUTYFLOW_YELLOW_FRACTION": "abc"})
    assert result.returncode != 0
    assert "DUTYFLOW_YELLOW_FRACTION='abc'" in result.stderr and "2/3" in result.stderr


def test_dutyflow_serve_demo_on_loopback_starts_with_a_key_of_its_data_directory(tmp_path):
    port = 18503
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUTYFLOW_")}
    env["DUTYFLOW_DATABASE_URL"] = f"sqlite:///{tmp_path / 'dutyflow.db'}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([*SERVE, "--demo", "--host", "127.0.0.1", "--port", str(port)], cwd=PROJECT_ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "demo server did not start"
            time.sleep(0.5)  # waiting for a real server process, not for the code under test
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    key_file = tmp_path / DEMO_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text().strip()) >= 32
