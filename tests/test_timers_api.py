"""The clock API: case clock, pause/resume/restart, extension rules, yellow/red lists, escalations."""

from __future__ import annotations

import pytest

from engine.auth.service import create_user
from engine.runtime.worker import Worker
from tests.auth_helpers import issue_token
from tests.timers_helpers import at, complete, setup_catalog_and_processes, start

FIVE_DAYS = {"limit": "5个工作日", "unit_code": "MZ-SHJZ", "department_code": "MZ"}
USERS = {
    "chenjing": (["staff"], "S003"),  # MZ-SHJZ-01: handler and starter of the case
    "huangli": (["staff"], "S006"),  # MZ-HYDJ-01: another unit, not on the case
    "liuyang": (["staff", "efficiency_office"], "S002"),
    "wangfang": (["staff"], "S001"),  # MZ-BGS-01: the head post 市民政局 names (head_post)
}


@pytest.fixture
def case(client, database, clock, demo_catalog_path, settings):
    setup_catalog_and_processes(database, clock, demo_catalog_path, "timed_case")
    with database.session() as session:
        for username, (roles, staff_id) in USERS.items():
            create_user(session, username, "password-123", clock.now(), roles=roles, staff_id=staff_id)
    return start(database, clock, "timed_case", FIVE_DAYS)


def auth(settings, username):
    return {"Authorization": f"Bearer {issue_token(settings, username)}"}


def test_clock_needs_a_signed_in_user_and_shows_the_case(client, case, settings):
    assert client.get(f"/api/instances/{case}/clock").status_code == 401
    # Someone the case never reached reads its clock no more than the case itself (403).
    refused = client.get(f"/api/instances/{case}/clock", headers=auth(settings, "huangli"))
    assert refused.status_code == 403 and "无权查看" in refused.json()["detail"]
    response = client.get(f"/api/instances/{case}/clock", headers=auth(settings, "chenjing"))
    assert response.status_code == 200
    body = response.json()
    assert body["due_at"] == at(2026, 10, 13, 17, 30).isoformat()
    assert body["state"] == "green" and body["stages"][0]["stage"] == "受理"
    assert client.get("/api/instances/999999/clock", headers=auth(settings, "chenjing")).status_code == 404


def test_pause_and_resume_by_hand(client, case, settings, clock):
    headers = auth(settings, "chenjing")
    clock.set(at(2026, 10, 8, 9, 0))
    response = client.post(f"/api/instances/{case}/clock/pause", json={"reason": "听证"}, headers=headers)
    assert response.status_code == 200 and response.json()["state"] == "paused"
    again = client.post(f"/api/instances/{case}/clock/pause", json={"reason": "听证"}, headers=headers)
    assert again.status_code == 409
    assert client.post(f"/api/instances/{case}/clock/pause", json={"reason": " "}, headers=headers).status_code == 422
    other = client.post(f"/api/instances/{case}/clock/resume", headers=auth(settings, "huangli"))
    assert other.status_code == 403 and other.json()["problems"]
    clock.set(at(2026, 10, 9, 9, 0))  # one whole working day (10-08) paused
    body = client.post(f"/api/instances/{case}/clock/resume", headers=headers).json()
    assert body["paused"] is False and body["paused_working_seconds"] == 7 * 3600
    assert body["due_at"] == at(2026, 10, 14, 17, 30).isoformat()


def test_restart_by_hand_validates_the_arrival_time(client, case, settings, clock):
    headers = auth(settings, "liuyang")
    clock.set(at(2026, 10, 12, 16, 0))
    future = client.post(f"/api/instances/{case}/clock/restart",
                         json={"received_at": "2026-10-13T09:00:00+08:00"}, headers=headers)
    assert future.status_code == 422
    body = client.post(f"/api/instances/{case}/clock/restart",
                       json={"received_at": "2026-10-12T10:00:00+08:00", "reason": "补正材料已收到"},
                       headers=headers).json()
    assert body["restarts"] == 1 and body["due_at"] == at(2026, 10, 19, 17, 30).isoformat()


def test_extension_needs_the_department_head_before_expiry(client, case, settings, clock, database):
    url = f"/api/instances/{case}/clock/extend"
    body = {"limit": "3个工作日", "reason": "需补充调查"}
    # Neither another unit's staff, nor the handler (own case), nor the efficiency office: only
    # the head post 市民政局 names in the catalog.
    for username in ("huangli", "chenjing", "liuyang"):
        refused = client.post(url, json=body, headers=auth(settings, username))
        assert refused.status_code == 403 and "负责人" in refused.json()["detail"], username
    bad = client.post(url, json={"limit": "三周", "reason": "x"}, headers=auth(settings, "wangfang"))
    assert bad.status_code == 422
    clock.set(at(2026, 10, 13, 9, 0))
    granted = client.post(url, json=body, headers=auth(settings, "wangfang"))
    assert granted.status_code == 200
    assert granted.json()["due_at"] == at(2026, 10, 16, 17, 30).isoformat()
    assert granted.json()["extensions"] == ["3个工作日"]
    clock.set(at(2026, 10, 16, 17, 30))
    Worker(database, clock, worker_id="w").run_until_idle()
    late = client.post(url, json={"limit": "1个工作日", "reason": "x"}, headers=auth(settings, "wangfang"))
    assert late.status_code == 409 and "届满" in late.json()["detail"]
    view = client.get(f"/api/instances/{case}/clock", headers=auth(settings, "liuyang")).json()
    assert view["state"] == "red" and view["extensions"] == ["3个工作日"]


def test_warning_lists_and_escalations_per_department(client, case, settings, clock, database):
    headers = auth(settings, "liuyang")
    assert client.get("/api/warnings?department=MZ", headers=headers).json() == []
    clock.set(at(2026, 9, 30, 10, 0))
    complete(database, clock, case, "accept", {"complete": True})
    clock.set(at(2026, 10, 12, 12, 0))
    Worker(database, clock, worker_id="w").run_until_idle()
    [warning] = client.get("/api/warnings?department=MZ", headers=headers).json()
    assert warning["instance_id"] == case and warning["state"] == "red" and warning["case_state"] == "yellow"
    assert [s["stage"] for s in warning["red_stages"]] == ["审查"]
    assert client.get("/api/warnings?department=RS", headers=headers).json() == []
    # The lists name handlers and duties: a department head (王芳 holds 市民政局's head_post
    # MZ-BGS-01) sees their own department's only; plain staff see none (their inbox shows theirs).
    head = auth(settings, "wangfang")
    assert [w["instance_id"] for w in client.get("/api/warnings", headers=head).json()] == [case]
    refused = client.get("/api/warnings?department=RS", headers=head)
    assert refused.status_code == 403 and "本部门" in refused.json()["detail"]
    assert client.get("/api/warnings", headers=auth(settings, "huangli")).status_code == 403
    assert client.get("/api/escalations", headers=auth(settings, "huangli")).status_code == 403
    [escalation] = client.get("/api/escalations?department=MZ", headers=headers).json()
    assert escalation["kind"] == "stage_red" and escalation["stage"] == "审查"
    assert escalation["to_posts"] == ["MZ-BGS-01"]  # 社会救助科 marks no head: the department's head post
    timers = client.get(f"/api/instances/{case}/timers", headers=headers).json()
    assert {t["kind"] for t in timers} == {"case_red"}
    assert client.get("/api/timers/summary", headers=auth(settings, "huangli")).status_code == 403
    summary = client.get("/api/timers/summary", headers=headers).json()
    assert summary["pending"] == 1 and summary["due_now"] == 0 and summary["failed"] == 0


def test_embedded_worker_starts_and_stops_with_the_app(database, clock, tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from engine.config import Settings

    settings = Settings(database_url="unused", diagrams_dir=tmp_path / "d", embedded_worker="on")
    app = create_app(settings=settings, database=database, clock=clock, migrate=False)
    with TestClient(app):
        embedded = app.state.timer_worker
        assert embedded.thread.is_alive()
    assert not embedded.thread.is_alive() and app.state.timer_worker is None
