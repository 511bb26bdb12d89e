"""A catalog cannot make anyone a system administrator (or any role the product does not bind).

The catalog's `roles:` extension binds the coordinating roles (法制办, 编办, 效能办) to
departments, units or posts, and accounts follow it: the administrator's 按清单开设账号
(`accounts.provision_staff`, /accounts) and the demo set-up give each holder the roles bound to
their posts. The catalog is written by the legal office (法制办) — whom docs/security.md trusts with
catalog uploads, not with the server — and validation only checks that each bound *code* exists,
not the role's *name*. So a draft with `roles: {admin: [FZ-FG-02]}`, imported and published by the
legal office through the API, turned the holder of 清单发布岗 (曹颖, S081) into a 系统管理员 the
next time the administrator pressed 按清单开设账号 (deploy BPMN, manage every account, read every
evaluation). The attack here goes through the API as the legal office; the accounts must carry
only the roles a catalog may bind.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from engine.auth import accounts
from engine.auth.demo import ensure_demo_users
from engine.auth.roles import ADMIN, Actor
from engine.config import PROJECT_ROOT
from engine.models.auth import UserAccount
from engine.models.catalog import CatalogRoleBinding
from tests.auth_helpers import bearer_headers

DEMO = PROJECT_ROOT / "examples" / "demo-catalog.yaml"
ROOT = Actor("root", roles=frozenset({ADMIN}), display_name="管理员")


def hostile_catalog() -> bytes:
    """The demo catalog with two extra bindings: admin and an unknown role, both on FZ-FG-02."""
    text = DEMO.read_text(encoding="utf-8")
    anchor = "roles:\n  legal_office: [FZ]\n"
    assert anchor in text
    return text.replace(anchor, anchor + "  admin: [FZ-FG-02]\n  superuser: [FZ-FG-02]\n").encode()


@pytest.fixture
def published_by_the_legal_office(client, database, clock, settings) -> None:
    """The demo catalog published by the legal office, then the two bindings written into it as a
    catalog stored before import refused them would hold them (import now refuses them: the last
    test). The accounts must ignore them whatever the store holds: the second line of defence."""
    legal = bearer_headers(database, clock, settings, "fzb", ["legal_office"])
    imported = client.post("/api/import", headers=legal, files={"file": ("2026.1.yaml", DEMO.read_bytes())})
    assert imported.status_code == 201, imported.text
    version = imported.json()["version"]["id"] if "version" in imported.json() else imported.json()["id"]
    published = client.post(f"/api/versions/{version}/publish", headers=legal)
    assert published.status_code == 200, published.text
    with database.session() as session:
        for position, role in enumerate(("admin", "superuser"), start=100):
            session.add(CatalogRoleBinding(version_id=version, position=position, role=role, target="FZ-FG-02"))


def roles_of(database, username: str) -> set[str]:
    with database.session() as session:
        user = session.scalars(select(UserAccount).where(UserAccount.username == username)).one()
        return set(user.roles.split())


def test_provisioning_from_the_catalog_never_grants_admin(client, database, clock, published_by_the_legal_office):
    with database.session() as session:
        result = accounts.provision_staff(session, ROOT, clock.now())
    created = {c.username: c for c in result.created}
    # 曹颖 holds FZ-FG-02 of 市司法局（法制办）: bound to legal_office through FZ, nothing else counts.
    assert created["s081"].roles == ["legal_office", "staff"]
    assert roles_of(database, "s081") == {"legal_office", "staff"}
    # Provisioning again (an existing account is corrected to the bindings) adds nothing either.
    with database.session() as session:
        again = accounts.provision_staff(session, ROOT, clock.now())
    assert not again.updated and roles_of(database, "s081") == {"legal_office", "staff"}


def test_the_signed_in_holder_is_no_administrator(client, database, clock, published_by_the_legal_office):
    with database.session() as session:
        result = accounts.provision_staff(session, ROOT, clock.now())
    once = {c.username: c.password for c in result.created}["s081"]
    with database.session() as session:  # 曹颖 chooses her own password, as the first sign-in makes her
        accounts.change_password(session, "s081", once, "her-own-pass-2026", clock.now())
    signed = client.post("/api/token", data={"username": "s081", "password": "her-own-pass-2026"})
    assert signed.status_code == 200, signed.text
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    # An administrator's action: the list of accounts.
    me = client.get("/api/me", headers=headers)
    assert me.status_code == 200 and "admin" not in me.json()["roles"], me.text
    refused = client.post("/api/users/s090/revoke-sessions", headers=headers)
    assert refused.status_code == 403


def test_the_demo_accounts_follow_only_the_bindable_roles(client, database, clock, published_by_the_legal_office):
    with database.session() as session:
        demo = {account.username: account for account in ensure_demo_users(session, clock.now())}
    assert sorted(demo["s081"].roles) == ["legal_office", "staff"]
    assert roles_of(database, "s081") == {"legal_office", "staff"}


def test_a_catalog_binding_a_role_the_product_does_not_bind_is_refused_at_import(client, database, clock, settings):
    """The second line: the legal office is told at import, naming the binding, instead of the
    binding being stored and silently ignored by the accounts."""
    legal = bearer_headers(database, clock, settings, "fzb2", ["legal_office"])
    refused = client.post("/api/import", headers=legal, files={"file": ("2026.1.yaml", hostile_catalog())})
    assert refused.status_code == 422, refused.text
    assert "roles.admin" in refused.text and "roles.superuser" in refused.text
