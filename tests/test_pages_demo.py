"""Demo accounts: one per holder of the current catalog with their roles, idempotent, printed at start-up."""

from __future__ import annotations

from sqlmodel import select

from api.routes.pages import credentials_table, key_accounts
from engine.auth.demo import DEMO_PASSWORD, ensure_demo_users
from engine.auth.service import authenticate
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.models.auth import UserAccount
from tests.browser_helpers import DEMO_CATALOG


def import_demo(database, clock) -> None:
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(DEMO_CATALOG), "test", clock.now())
        catalog.publish_version(session, version.id, "test", clock.now())


def test_one_account_per_holder_with_roles_of_their_posts(database, clock):
    import_demo(database, clock)
    with database.session() as session:
        accounts = {a.username: a for a in ensure_demo_users(session, clock.now())}
    assert len(accounts) == 26 + 1  # 26 holders in the demo catalog, plus admin
    assert accounts["s003"].roles == ["staff"] and accounts["s003"].staff_name == "陈静"
    assert accounts["s080"].roles == ["legal_office", "staff"]
    assert accounts["s071"].roles == ["establishment_office", "staff"]
    assert accounts["s091"].roles == ["efficiency_office", "staff"]
    assert accounts["admin"].roles == ["admin"]
    with database.session() as session:
        user = authenticate(session, "s003", DEMO_PASSWORD)
        assert user is not None and user.staff_id == "S003" and user.display_name == "陈静"
        assert authenticate(session, "admin", DEMO_PASSWORD).staff_id is None


def test_ensure_demo_users_is_idempotent(database, clock):
    import_demo(database, clock)
    with database.session() as session:
        first = ensure_demo_users(session, clock.now())
    with database.session() as session:
        hashes = {u.username: u.password_hash for u in session.exec(select(UserAccount)).all()}
        second = ensure_demo_users(session, clock.now())
    assert first == second
    with database.session() as session:
        users = session.exec(select(UserAccount)).all()
        assert len(users) == len(first)
        assert {u.username: u.password_hash for u in users} == hashes


def test_without_a_catalog_only_admin_exists(database, clock):
    with database.session() as session:
        accounts = ensure_demo_users(session, clock.now())
    assert [a.username for a in accounts] == ["admin"]


def test_credentials_table_names_one_account_per_key_role(database, clock):
    import_demo(database, clock)
    with database.session() as session:
        accounts = ensure_demo_users(session, clock.now())
    chosen = key_accounts(accounts)
    assert [a.username for a in chosen] == ["s080", "s070", "s090", "s001", "admin"]
    table = credentials_table(chosen, len(accounts))
    assert DEMO_PASSWORD in table and "法制办" in table and "编办" in table and "效能办" in table


def test_demo_server_start_creates_accounts_and_prints_them(database, clock, settings, capsys):
    from fastapi.testclient import TestClient

    from api.main import create_app

    app = create_app(settings=settings.model_copy(update={"demo": True}), database=database, clock=clock, migrate=False)
    with TestClient(app) as client:
        response = client.post("/login", data={"username": "s090", "password": DEMO_PASSWORD}, follow_redirects=False)
        assert response.headers["location"] == "/dashboard"
    out = capsys.readouterr().out
    assert "演示账号" in out and "s090" in out and DEMO_PASSWORD in out
