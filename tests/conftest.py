"""Shared fixtures. Every test that touches the database runs on SQLite and on PostgreSQL, except
the PostgreSQL runs listed in tests/sqlite_only.txt and the page and browser layers, which run on
SQLite with a PostgreSQL smoke in each module.

Each pytest process gets its own PostgreSQL database (created here, dropped at the end) and its
own SQLite file, migrated once by Alembic; tables are emptied before every test.

Which backends. A test that uses `database` is parametrized with both backends unless a
`backends` mark names fewer; a new test, or a renamed one, runs on both.

The engine's and the API's tests (tests/test_*.py outside the two layers below, tests/security/):
every one runs on SQLite; on PostgreSQL run those whose runs, together, execute every distinct SQL
statement the product (engine/, api/) sends to PostgreSQL when every test runs on both — a
statement being its text with the parameters as `?` and an IN or VALUES list as one, whatever its
length — plus those whose subject is PostgreSQL itself, whatever statements they run: concurrent
transactions and locks (the races, the timer workers, the audit chain's sealing, the start-up
lock), the migrations' schema, values PostgreSQL refuses where SQLite does not (NUL, integer
range), and any test that starts a Python child process (its SQL is not seen).
scripts/postgresql_subset.py records each PostgreSQL run's statements (`record`: every
PostgreSQL run of the suite, with DUTYFLOW_TEST_ALL_ON_POSTGRESQL=1), chooses the cheapest
covering set (`choose`: greedy, by new statements a second) and writes the other runs to
tests/sqlite_only.txt, which is deselected here; its ALWAYS_ON_POSTGRESQL lists the PostgreSQL
subjects with their reasons, and `check` says whether a recording is still covered. In a run of
the whole suite every listed id must name a collected PostgreSQL run of `database` without a
`backends` mark (a stale entry stops the run).
Chosen on 2026-11-29: 561 distinct statements; 168 of 703 PostgreSQL runs kept (111 by a mark or
a rule, 57 to cover the statements), 535 SQLite only. Re-run `record` and `choose` when tests
or queries change; DUTYFLOW_TEST_ALL_ON_POSTGRESQL=1 runs every test on both backends again.

The page tests (tests/test_pages_*.py: server-rendered HTML through TestClient) and the browser
tests (tests/test_browser_*.py: Chromium on a served site) call the same engine services, whose
queries the engine's and the API's tests already run on both; what the pages add is templates,
forms and redirects, which do not depend on the backend. So these modules run on SQLite
(`pytestmark = pytest.mark.backends("sqlite")`, which a browser module's `site` follows too), and
each keeps at least one test on PostgreSQL (`@pytest.mark.backends("sqlite", "postgresql")` on the
test; the role walks and the file picker stay SQLite only, as they were: a walk and an upload
control), chosen to run the few queries written in the pages themselves (api/pages/: the inbox's
refused transfers and process names, the task page's steps, the evaluation pages' years and
plans) and the engine queries only pages call (the dashboard's alert counts and pages, the public
catalog's regions and cancelled duties, the print views' limits, the legal office's publications
under way). Tests in those modules that drive the API, the command line or the engine directly
stay on both (and under the rule above). (The fuzz test draws fewer random examples on
PostgreSQL: tests/security/test_schemathesis.py says why.)
"""

from __future__ import annotations

import gc
import os
import secrets
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import create_engine, text

from api.main import create_app
from engine.application import wire
from engine.auth import passwords
from engine.clock import BEIJING, ControlledClock
from engine.config import PROJECT_ROOT, Settings
from engine.db import Database
from engine.migrate import upgrade
from tests.browser_helpers import launch_chromium
from tests.db_helpers import directory_key, file_key, prepared, reset

PG_ADMIN_URL = os.environ.get("DUTYFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]
DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_CATALOG = PROJECT_ROOT / "examples" / "demo-catalog.yaml"
RESEARCH_CSV = DATA_DIR / "sichuan_guangan_guanganqu_service_items_sample.csv"


def pytest_configure(config):
    # Argon2id at its lowest cost (t=1, 8 KiB) for every hash the tests make: production's
    # parameters cost ~0.1-0.3 s a hash or verification, thousands of times in a run. Installed
    # before any test or fixture hashes, so cached hashes (the dummy, the demo password) are cheap too.
    passwords.use_hasher(PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)))


@pytest.fixture(scope="session", autouse=True)
def _wired_hooks() -> None:
    """The engine's hooks connected for every test, as every entry point does (engine.application):
    tests call the services directly, without the app or the CLI that would wire them."""
    wire()


SQLITE_ONLY_FILE = Path(__file__).resolve().parent / "sqlite_only.txt"


def _sqlite_only() -> set[str]:
    """The PostgreSQL runs tests/sqlite_only.txt leaves out; none if DUTYFLOW_TEST_ALL_ON_POSTGRESQL
    is set (every test on both backends, as `scripts/postgresql_subset.py record` runs them)."""
    if os.environ.get("DUTYFLOW_TEST_ALL_ON_POSTGRESQL") or not SQLITE_ONLY_FILE.exists():
        return set()
    return {line.strip() for line in SQLITE_ONLY_FILE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}


def _plain_id(item) -> str:
    """The node id without the `@group` pytest-xdist appends under `--dist loadgroup`."""
    mark = item.get_closest_marker("xdist_group")
    return item.nodeid.rsplit("@", 1)[0] if mark is not None and "@" in item.nodeid else item.nodeid


def _leave_out_listed_postgresql_runs(config, items) -> None:
    """Deselect the PostgreSQL runs tests/sqlite_only.txt lists (the module docstring). Only runs
    of `database` on PostgreSQL without a `backends` mark may be listed; in a run of the whole
    suite every entry must name a collected test, so a renamed test cannot leave a stale entry
    behind (and the renamed test runs on both backends until the list is chosen again)."""
    listed = _sqlite_only()
    if not listed:
        return
    by_id = {_plain_id(item): item for item in items}
    wrong = []
    for nodeid in sorted(listed & by_id.keys()):
        item = by_id[nodeid]
        callspec = getattr(item, "callspec", None)
        if (callspec is None or callspec.params.get("database") != "postgresql"
                or item.get_closest_marker("backends") is not None):
            wrong.append(f"{nodeid} (not a PostgreSQL run of `database` without a `backends` mark)")
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        wrong += [f"{nodeid} (no such test)" for nodeid in sorted(listed - by_id.keys())]
    if wrong:
        raise pytest.UsageError(
            "tests/sqlite_only.txt: " + "; ".join(wrong) + ". Choose the list again: python3 "
            "scripts/postgresql_subset.py record && python3 scripts/postgresql_subset.py choose")
    left_out = [item for item in items if _plain_id(item) in listed]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if _plain_id(item) not in listed]


@pytest.hookimpl(tryfirst=True)  # before `-k`/`-m` deselect: the list is checked against every test
def pytest_collection_modifyitems(config, items):
    """The PostgreSQL runs tests/sqlite_only.txt lists are left out. Then slow and browser tests
    first, for parallel runs (pytest-xdist): the longest ones start at once and the short ones
    fill the gaps, instead of one long test starting last and running alone. A module kept on one
    process (`xdist_group`: a served site with Chromium, a zip bomb) moves as a whole when any of
    its tests is long, so its module fixtures are still built once."""
    def group(item) -> str | None:
        mark = item.get_closest_marker("xdist_group")
        return (mark.args[0] if mark.args else mark.kwargs.get("name")) if mark else None

    def long(item) -> bool:
        return item.get_closest_marker("slow") is not None or item.get_closest_marker("browser") is not None

    _leave_out_listed_postgresql_runs(config, items)
    long_groups = {group(item) for item in items if long(item)} - {None}
    items.sort(key=lambda item: not (long(item) or group(item) in long_groups))


def pytest_collection_finish(session):
    # What is alive once the tests are collected (modules, the app's code, SQLAlchemy's and
    # SpiffWorkflow's metadata) lives for the whole run: frozen, the cyclic collector stops walking
    # it again and again, and a higher first threshold runs it less often. 10-20 % less CPU for
    # the same tests (three API modules, one process); the product's own settings are untouched.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def pytest_unconfigure(config):
    # pytest's own clean-up then collects five times over to flush unraisable exceptions out of
    # finalizers (its unraisableexception plugin): ~1 s a pass over what a process holds after its
    # tests. One pass here flushes them while pytest still listens; frozen afterwards, the heap is
    # not walked again and the five passes see only what that flush itself left.
    gc.collect()
    gc.freeze()


def _create_pg_database() -> tuple[str, str]:
    name = f"dutyflow_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # Thrown away after the run: commits need not wait for the WAL to reach the disk
            # (transactions, locks and visibility are unchanged; only durability goes).
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
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
            upgrade(database)
            made[backend] = database
        return made[backend]

    yield get
    for database in made.values():
        database.dispose()
    for name in pg_names:
        _drop_pg_database(name)


def pytest_generate_tests(metafunc):
    """Each test that uses `database` runs once per backend: both, or those its closest `backends`
    mark names (the page and browser layers: the module docstring). A browser module's `site` (its
    served demo, one per backend and module) follows the same mark when the module has one."""
    mark = metafunc.definition.get_closest_marker("backends")
    if "database" in metafunc.fixturenames:
        metafunc.parametrize("database", list(mark.args) if mark else BACKENDS, indirect=True)
    if "site" in metafunc.fixturenames and mark is not None:
        metafunc.parametrize("site", list(mark.args), indirect=True, scope="module")


@pytest.fixture
def database(request, _migrated_databases) -> Database:
    """A migrated, empty database of the backend the test is parametrized with (pytest_generate_tests).

    Emptied before the test, not after: the next test that uses it empties it anyway
    (tests/db_helpers.py explains why deleting the rows beats TRUNCATE and template clones)."""
    db = _migrated_databases(request.param)
    reset(db)
    return db


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
    return create_app(settings=settings, database=database, clock=clock, migrate=False)


@pytest.fixture
def client(app, database, clock, settings, tmp_path):
    """The app, started (its lifespan run) and driven in-process.

    Start-up deploys processes/, which parses and checks every file (~0.2 s, in each of ~650
    tests). So the first start on an empty database runs the real start-up and its rows are kept
    (tests.db_helpers.prepared); later tests get those rows copied in and start the app with no
    processes directory, which leaves the database exactly as the real start-up would."""
    def real_start_up() -> None:
        with TestClient(create_app(settings=settings, database=database, clock=clock, migrate=False)):
            pass

    demo_key = file_key(settings.demo_catalog) if settings.demo else None
    key = ("start-up", directory_key(settings.processes_dir), demo_key, clock.now())
    prepared(database, key, real_start_up)
    app.state.settings = settings.model_copy(update={"processes_dir": tmp_path / "deployed-already"})
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def demo_catalog_path() -> Path:
    return DEMO_CATALOG


@pytest.fixture
def research_csv_path() -> Path:
    return RESEARCH_CSV


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per browser test module (each module is one
    xdist group, so its served demo sites and its browser are built once)."""
    from playwright.sync_api import sync_playwright  # only the browser modules need Playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
