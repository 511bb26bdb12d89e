"""Cross-site form posts with the session cookie are refused before they reach a route."""

from __future__ import annotations

import pytest

from tests.browser_helpers import DEMO_PASSWORD, load_demo, sign_in
from tests.test_pages_staff import start_case, task_row

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def task_id(client, database, clock):
    load_demo(database, clock)
    return start_case(database, clock, "张三低保申请")


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {"referer": "https://evil.example/page"},
    {"origin": "null"},
])
def test_a_post_from_another_site_changes_nothing(client, task_id, database, headers):
    sign_in(client, "s003")
    page = client.post(f"/tasks/{task_id}/complete", data={"f_decision": "accept"}, headers=headers)
    assert page.status_code == 403
    assert "跨站提交已被拒绝" in page.text
    assert task_row(database, task_id).status == "ready"


# On PostgreSQL too: a page form's change committed.
@pytest.mark.backends("sqlite", "postgresql")
def test_a_post_from_this_site_or_naming_no_origin_goes_through(client, task_id, database):
    sign_in(client, "s003")
    page = client.post(f"/tasks/{task_id}/comment", data={"text": "材料已收到"},
                       headers={"origin": "http://testserver"})
    assert page.status_code == 200
    page = client.post(f"/tasks/{task_id}/complete", data={"f_decision": "accept"})  # no Origin: not a browser
    assert page.status_code == 200
    assert task_row(database, task_id).status == "completed"


def test_a_trusted_origin_goes_through(database, clock, settings, task_id):
    from fastapi.testclient import TestClient

    from api.main import create_app

    proxied = settings.model_copy(update={"trusted_origins": ("https://proxy.example",)})  # DUTYFLOW_TRUSTED_ORIGINS
    with TestClient(create_app(settings=proxied, database=database, clock=clock, migrate=False)) as client:
        sign_in(client, "s003")
        page = client.post(f"/tasks/{task_id}/complete", data={"f_decision": "accept"},
                           headers={"origin": "https://proxy.example"})
    assert page.status_code == 200
    assert task_row(database, task_id).status == "completed"


def test_the_api_with_a_token_is_not_affected(client, task_id, database):
    token = client.post("/api/token", data={"username": "s003", "password": DEMO_PASSWORD}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "origin": "https://other.example"}
    response = client.post(f"/api/tasks/{task_id}/complete", json={"data": {"decision": "accept"}}, headers=headers)
    assert response.status_code == 200, response.text
    assert task_row(database, task_id).status == "completed"
