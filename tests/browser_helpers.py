"""Helpers shared by the page tests (TestClient) and the browser tests (Playwright + uvicorn).

- `load_demo(database, clock)`: the demo catalog imported and published, plus the demo accounts;
- `sign_in(client, username)`: a TestClient signed in through the real /login form;
- `sign_in_page(page, url, username)`: the same in a browser page, waiting for the page it leads to;
- `LiveServer`: the real app under uvicorn on 127.0.0.1 (free port) in a thread;
- `demo_site(backend, tmp_path_factory)`: a fresh database with the demo loaded, served by LiveServer;
- `launch_chromium(playwright)`: Debian's headless Chromium, failing clearly when it is not installed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from api.main import create_app
from engine.auth.demo import DEMO_PASSWORD, ensure_demo_users
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.clock import BEIJING, Clock, ControlledClock
from engine.config import PROJECT_ROOT, Settings
from engine.db import Database
from engine.migrate import upgrade
from tests.db_helpers import file_key, prepared

DEMO_CATALOG = PROJECT_ROOT / "examples" / "demo-catalog.yaml"
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
# Debian's "old headless" Chromium (package chromium-headless-shell: the same Blink and V8 without
# the browser's UI layer, what Playwright itself runs for headless tests), called directly rather
# than through /usr/bin's shell wrapper, so that Playwright's process is the browser. ~25 % less
# CPU than the full browser in --headless=new over the browser modules. One difference the tests
# allow for: it asks for no favicon (tests/test_docs_offline.py reads the link instead).
CHROMIUM = Path("/usr/lib/chromium/chromium-headless-shell")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Pages are painted by the renderer on the CPU, as without a GPU they are anyway, instead of
    # through Debian's default GPU rasterization emulated in software (SwiftShader) in a GPU
    # process: the same pixels, ~15 % less of the browser tests' CPU (the browser modules, -n 3).
    "--disable-gpu-rasterization", "--disable-software-rasterizer",
]


def load_demo(database: Database, clock: Clock, publish: bool = True) -> int:
    """Import (and publish) the demo catalog and create the demo accounts; returns the version id.
    Built once per session and database, copied in afterwards (tests.db_helpers.prepared)."""
    def build() -> int:
        with database.session() as session:
            version = catalog.import_catalog(session, read_catalog(DEMO_CATALOG), "test", clock.now())
            if publish:
                catalog.publish_version(session, version.id, "test", clock.now())
            ensure_demo_users(session, clock.now())
            return version.id

    return prepared(database, ("load_demo", file_key(DEMO_CATALOG), publish, clock.now()), build)


def sign_in(client, username: str, password: str = DEMO_PASSWORD) -> None:
    response = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text


def sign_in_page(page, url: str, username: str) -> None:
    """Sign in through the browser's /login form and wait for the page it leads to, so the next
    step never starts while the sign-in's answer (and its cookie) is still on its way."""
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("button:has-text('登录')")


# --- the live server for browser tests --------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 in a background thread."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)  # waiting for a real server socket, not for application time
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def create_pg_database(admin_url: str) -> tuple[str, str]:
    """A fresh PostgreSQL database for one browser-test module: (name, URL)."""
    import os
    import uuid

    from sqlalchemy import create_engine, text

    name = f"dutyflow_browser_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - environment problem, reported clearly
        pytest.fail(f"PostgreSQL at {admin_url} is not reachable ({exc})", pytrace=False)
    finally:
        admin.dispose()
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def launch_chromium(playwright):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} 不存在：浏览器测试需要 Debian 的无界面 Chromium（apt-get install chromium-headless-shell）",
                    pytrace=False)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def demo_site(backend: str, tmp_path_factory, admin_url: str,
              prepare: Callable[[Database, ControlledClock], None] | None = None,
              ) -> Iterator[tuple[str, Database, ControlledClock]]:
    """A fresh database of `backend` with the demo loaded (and `prepare` run on it), served by the
    real app under uvicorn; yields (url, database, clock) and drops everything afterwards."""
    pg_name = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'dutyflow.db'}"
    else:
        pg_name, url = create_pg_database(admin_url)
    database = Database(url)
    upgrade(database)
    clock = ControlledClock(datetime(2026, 9, 30, 9, 0, tzinfo=BEIJING))
    load_demo(database, clock)
    if prepare is not None:
        prepare(database, clock)
    settings = Settings(database_url=url, diagrams_dir=tmp_path_factory.mktemp("diagrams"), embedded_worker="off")
    app = create_app(settings=settings, database=database, clock=clock, migrate=False)
    try:
        with LiveServer(app) as server:
            yield server.url, database, clock
    finally:
        database.dispose()
        if pg_name:
            drop_pg_database(admin_url, pg_name)


# --- accessibility (axe-core, bundled: no request leaves the machine) --------------------------
AXE_BLOCKING = ("serious", "critical")


def axe_violations(page, impacts: tuple[str, ...] = AXE_BLOCKING) -> list[dict]:
    """Run axe-core (the copy bundled in axe-playwright-python) on the page as it is now and return
    the violations of the given impacts (by default serious and critical), each with its nodes."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v.get("impact") in impacts]


def describe_violations(violations: list[dict]) -> str:
    """One line per violation and node: id, impact, CSS target and axe's summary of the failure."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"{violation['id']} ({violation['impact']}) {target}: {summary}")
    return "\n".join(lines)
