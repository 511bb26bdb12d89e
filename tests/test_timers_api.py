"""The clock API: case clock, pause/resume/restart, extension rules, yellow/red lists, escalations."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from api.cli import runtime  # noqa: F401  (registers the commands)
from api.cli.app import app, console
from engine.auth.service import create_user
from engine.runtime.worker import Worker
from tests.auth_helpers import issue_token
from tests.browser_helpers import sign_in
from tests.timers_helpers import at, complete, open_tasks, setup_catalog_and_processes, start

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


def test_restart_by_hand_only_after_a_notice_and_validates_the_arrival_time(client, case, settings, clock, database):
    headers = auth(settings, "liuyang")
    # No one-time notice was given: the count is not reset by anyone (else any clock could be).
    clock.set(at(2026, 10, 9, 9, 0))
    refused = client.post(f"/api/instances/{case}/clock/restart", json={"reason": "补正材料已收到"}, headers=headers)
    assert refused.status_code == 409 and "一次性告知" in refused.json()["detail"]
    # The notice on 10-09, within 5 working days of receipt on 09-30 (10-09, 10, 12, 13, 14 — the
    # National Day holiday skipped, Saturday 10-10 a 调休 working day): the clock waits for 补正.
    clock.set(at(2026, 10, 9, 10, 0))
    complete(database, clock, case, "accept", {"complete": False})
    waiting = client.get(f"/api/instances/{case}/clock", headers=headers).json()
    assert waiting["state"] == "paused" and waiting["pause_reason"] == "correction" and waiting["due_at"] is None
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


def test_a_server_left_at_its_defaults_fires_timers_itself_on_every_backend(database, clock, tmp_path, monkeypatch):
    # On PostgreSQL too: a deployment that forgot `dutyflow worker` (or whose worker crashed) would
    # otherwise fire no yellow or red card and seal nothing, with nothing to say so.
    from fastapi.testclient import TestClient

    from api.main import create_app
    from engine.config import Settings

    monkeypatch.delenv("DUTYFLOW_EMBEDDED_WORKER", raising=False)
    settings = Settings(database_url="unused", diagrams_dir=tmp_path / "d")
    assert settings.embedded_worker == "auto"
    app = create_app(settings=settings, database=database, clock=clock, migrate=False)
    with TestClient(app):
        assert app.state.timer_worker.thread.is_alive()
    assert app.state.timer_worker is None


# --- issue 14 item 4: a duty whose limit is 无 has no clock, and every view says 不计时 -------------------
NO_LIMIT = "MZ-GF-001"  # 最低生活保障审批 (市民政局, 社会救助科), set to 法定时限 无 below


@pytest.fixture
def untimed_case(client, database, clock, demo_catalog_path, settings, tmp_path):
    data = yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8"))
    [duty] = [d for d in data["duties"] if d["code"] == NO_LIMIT]
    duty["statutory_limit"] = {"unit": "none"}
    duty.pop("committed_limit", None)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    setup_catalog_and_processes(database, clock, path, "timed_case")
    with database.session() as session:
        for username, (roles, staff_id) in USERS.items():
            create_user(session, username, "password-123", clock.now(), roles=roles, staff_id=staff_id)
    clock.set(at(2026, 9, 30, 10, 0))
    return start(database, clock, "timed_case", {"duty_code": NO_LIMIT, "unit_code": "MZ-SHJZ"})


def test_a_case_without_a_clock_answers_state_none_with_its_identity(client, untimed_case, settings):
    response = client.get(f"/api/instances/{untimed_case}/clock", headers=auth(settings, "chenjing"))
    assert response.status_code == 200, response.text
    body = response.json()
    # Who answers for it and the limit as the catalog writes it; nothing that needs a clock.
    assert (body["instance_id"], body["duty_code"], body["department_code"], body["unit_code"]) == (
        untimed_case, NO_LIMIT, "MZ", "MZ-SHJZ")
    assert (body["state"], body["limit"], body["limit_source"]) == ("none", "无", "statutory")
    assert body["untimed_reason"] == "事项无法定时限"
    assert body["due_at"] is None and body["yellow_at"] is None and body["time_left_seconds"] is None
    assert body["counting_from"] is None and body["on_time"] is None and body["paused"] is False
    assert body["stages"] == [] and body["escalations"] == []
    # Reading it is still the instance's permission: someone the case never reached gets 403.
    assert client.get(f"/api/instances/{untimed_case}/clock", headers=auth(settings, "huangli")).status_code == 403


def test_pausing_or_extending_a_case_without_a_clock_is_refused_by_name(client, untimed_case, settings):
    handler = auth(settings, "chenjing")
    paused = client.post(f"/api/instances/{untimed_case}/clock/pause", json={"reason": "听证"}, headers=handler)
    assert paused.status_code == 409 and "该办件不计时" in paused.json()["detail"]
    for action in ("resume", "restart"):
        refused = client.post(f"/api/instances/{untimed_case}/clock/{action}", json={}, headers=handler)
        assert refused.status_code == 409 and "该办件不计时" in refused.json()["detail"]
    # 王芳 holds 市民政局's head post, the one who could approve an extension of a timed case.
    extended = client.post(f"/api/instances/{untimed_case}/clock/extend",
                           json={"limit": "10个工作日", "reason": "专家评审"}, headers=auth(settings, "wangfang"))
    assert extended.status_code == 409 and "该办件不计时" in extended.json()["detail"]
    # An outsider learns no more than reading the case would tell them; a missing case stays 404.
    outsider = client.post(f"/api/instances/{untimed_case}/clock/pause", json={"reason": "听证"},
                           headers=auth(settings, "huangli"))
    assert outsider.status_code == 403
    assert client.post("/api/instances/999999/clock/pause", json={"reason": "听证"}, headers=handler).status_code == 404
    # Nothing was recorded: the clock is still state none.
    assert client.get(f"/api/instances/{untimed_case}/clock", headers=handler).json()["state"] == "none"


def test_case_task_and_inbox_pages_say_the_case_is_not_timed(client, untimed_case, database):
    [task_id] = open_tasks(database, untimed_case).values()
    sign_in(client, "chenjing", "password-123")
    case_page = client.get(f"/cases/{untimed_case}")
    assert case_page.status_code == 200
    assert "<dt>办结时限</dt><dd>不计时（事项无法定时限）</dd>" in case_page.text
    task_page = client.get(f"/tasks/{task_id}")
    assert task_page.status_code == 200
    assert "<dt>办结时限</dt><dd>不计时（事项无法定时限）</dd>" in task_page.text
    assert f'action="/tasks/{task_id}/pause"' not in task_page.text  # no clock to pause
    inbox = client.get("/inbox")
    assert f'href="/tasks/{task_id}"' in inbox.text
    entry = inbox.text[inbox.text.index(f'href="/tasks/{task_id}"'):]
    assert '<span class="muted">不计时</span>' in entry[:2000] and 'class="countdown"' not in entry[:2000]


def test_the_cli_task_list_says_the_case_is_not_timed(untimed_case, database, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    monkeypatch.setattr(console, "width", 250)  # the table is not cut to a narrow test terminal
    listed = CliRunner().invoke(app, ["tasks", "--user", "chenjing"])
    assert listed.exit_code == 0, listed.output
    [row] = [line for line in listed.output.splitlines() if "受理" in line]
    assert "不计时" in row and "green" not in row
