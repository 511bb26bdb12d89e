"""Helpers shared by the page tests (TestClient) and the browser tests (Playwright + uvicorn).

- `load_demo(database, clock)`: the demo catalog imported and published, plus the demo accounts;
- `sign_in(client, username)`: a TestClient signed in through the real /login form;
- `LiveServer`: the real app under uvicorn on 127.0.0.1 (free port) in a thread;
- `launch_chromium(playwright)`: Debian's Chromium, failing clearly when it is not installed.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from engine.auth.demo import DEMO_PASSWORD, ensure_demo_users
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.clock import Clock
from engine.config import PROJECT_ROOT
from engine.db import Database

DEMO_CATALOG = PROJECT_ROOT / "examples" / "demo-catalog.yaml"
SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def load_demo(database: Database, clock: Clock, publish: bool = True) -> int:
    """Import (and publish) the demo catalog and create the demo accounts; returns the version id."""
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(DEMO_CATALOG), "test", clock.now())
        if publish:
            catalog.publish_version(session, version.id, "test", clock.now())
        ensure_demo_users(session, clock.now())
        return version.id


def sign_in(client, username: str, password: str = DEMO_PASSWORD) -> None:
    response = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text


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
        pytest.fail(f"{CHROMIUM} 不存在：浏览器测试需要 Debian 的 Chromium（apt-get install chromium）", pytrace=False)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
