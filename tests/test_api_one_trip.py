"""A case's start and a step's completion make one trip to the thread pool (api.security.signed_in_work)
and answer exactly as the routes with `get_session` and `require_actor` do: 401 before the body
is looked at, 401 for a session that is no longer live, 403 while the password must be changed,
nothing written by a refused or failed request, the change committed before the answer."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from engine.auth.service import end_session, get_user
from engine.models.auth import AuthSession
from engine.models.runtime import ProcessInstance
from tests.auth_helpers import signed_in
from tests.runtime_helpers import ARD, ARD_FILE

BODY = {"process_id": ARD, "data": {"applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": 100}}


@pytest.fixture
def api(client, database, clock, settings, demo_catalog_path):
    client = signed_in(client, database, clock, settings, demo_catalog_path)
    uploaded = client.post("/api/definitions", headers=client.as_("admin"),
                           files={"file": ("ard.bpmn", ARD_FILE.read_bytes(), "application/xml")})
    assert uploaded.status_code == 201, uploaded.text
    return client


def _instances(database) -> int:
    with database.session() as session:
        return session.exec(select(func.count()).select_from(ProcessInstance)).one()


def _revoke(database, clock) -> None:
    with database.session() as session:
        for row in session.exec(select(AuthSession)).all():
            end_session(session, row.id, clock.now())


def test_not_signed_in_is_401_before_the_body(api, database):
    for headers in ({}, {"Authorization": "Bearer forged"}):
        # A body the route would refuse (422) is not looked at: the sign-in comes first.
        assert api.post("/api/instances", headers=headers, json={"data": "not a dict"}).status_code == 401
        assert api.post("/api/instances", headers=headers, json=BODY).status_code == 401
        answer = api.post("/api/tasks/1/complete", headers=headers, json={"data": []})
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert _instances(database) == 0


def test_a_session_no_longer_live_is_401_and_writes_nothing(api, database, clock):
    headers = api.as_("chenjing")
    started = api.post("/api/instances", headers=headers, json=BODY)
    assert started.status_code == 201
    task_id = started.json()["current_tasks"][0]["id"]
    _revoke(database, clock)
    assert api.post("/api/instances", headers=headers, json=BODY).status_code == 401
    refused = api.post(f"/api/tasks/{task_id}/complete", headers=headers, json={"data": {"accepted": True}})
    assert refused.status_code == 401 and refused.json()["detail"] == "请先登录"
    assert _instances(database) == 1
    fresh = api.as_("chenjing")
    assert api.get(f"/api/tasks/{task_id}", headers=fresh).json()["status"] == "ready"


def test_a_password_to_change_is_403(api, database):
    with database.session() as session:
        user = get_user(session, "chenjing")
        assert user is not None
        user.must_change_password = True
        session.add(user)
    answer = api.post("/api/instances", headers=api.as_("chenjing"), json=BODY)
    assert answer.status_code == 403 and "请先修改密码" in answer.json()["detail"]
    assert _instances(database) == 0


def test_committed_before_the_answer_and_rolled_back_on_a_refusal(api, database):
    headers = api.as_("chenjing")
    started = api.post("/api/instances", headers=headers, json=BODY)
    assert started.status_code == 201 and _instances(database) == 1
    task_id = started.json()["current_tasks"][0]["id"]
    missing = api.post(f"/api/tasks/{task_id}/complete", headers=headers, json={"data": {}})
    assert missing.status_code == 422 and "「是否受理」" in missing.json()["problems"][0]
    assert api.get(f"/api/tasks/{task_id}", headers=headers).json()["status"] == "ready"
    done = api.post(f"/api/tasks/{task_id}/complete", headers=headers, json={"data": {"accepted": True}})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert api.get(f"/api/tasks/{task_id}", headers=headers).json()["status"] == "completed"
