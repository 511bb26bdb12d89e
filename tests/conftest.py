"""Shared fixtures. Every test that touches the database runs on SQLite and on PostgreSQL.

Each pytest process gets its own PostgreSQL database (created here, dropped at the end) and its
own SQLite file, migrated once by Alembic; tables are emptied after every test.
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from engine.clock import BEIJING, ControlledClock
from engine.config import PROJECT_ROOT, Settings
from engine.db import Database

PG_ADMIN_URL = os.environ.get("DUTYFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]
DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_CATALOG = PROJECT_ROOT / "examples" / "demo-catalog.yaml"
RESEARCH_CSV = DATA_DIR / "sichuan_guangan_guanganqu_service_items_sample.csv"


def _create_pg_database() -> tuple[str, str]:
    name = f"dutyflow_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - environment problem, reported clearly
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc}); start it or see README", pytrace=False)
    finally:
        admin.dispose()
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _migrated_databases(tmp_path_factory):
    """One migrated database per backend, created lazily and kept for the whole session."""
    made: dict[str, Database] = {}
    pg_names: list[str] = []

    def get(backend: str) -> Database:
        if backend not in made:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'dutyflow.db'}"
            else:
                name, url = _create_pg_database()
                pg_names.append(name)
            database = Database(url)
            database.upgrade()
            made[backend] = database
        return made[backend]

    yield get
    for database in made.values():
        database.dispose()
    for name in pg_names:
        _drop_pg_database(name)


def empty_all_tables(database: Database) -> None:
    tables = [t for t in SQLModel.metadata.sorted_tables]
    with database.engine.begin() as conn:
        if database.is_sqlite:
            for table in reversed(tables):
                conn.execute(table.delete())
        elif tables:
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database(request, _migrated_databases) -> Database:
    """A migrated, empty database; the test runs once on SQLite and once on PostgreSQL."""
    db = _migrated_databases(request.param)
    empty_all_tables(db)
    yield db
    empty_all_tables(db)


@pytest.fixture
def clock() -> ControlledClock:
    """A clock that moves only when the test says so: 2026-09-30 09:00 Beijing time."""
    return ControlledClock(datetime(2026, 9, 30, 9, 0, tzinfo=BEIJING))


@pytest.fixture
def settings(tmp_path, database) -> Settings:
    """The app's settings: the test's database (tests.auth_helpers issues tokens there) and a
    random key of this test's own."""
    return Settings(database_url=database.url, diagrams_dir=tmp_path / "diagrams", embedded_worker="off",
                    secret_key=secrets.token_urlsafe(32))


@pytest.fixture
def app(database, clock, settings):
    from api.main import create_app

    return create_app(settings=settings, database=database, clock=clock, migrate=False)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def demo_catalog_path() -> Path:
    return DEMO_CATALOG


@pytest.fixture
def research_csv_path() -> Path:
    return RESEARCH_CSV
