"""The runtime REST API: upload, start, inbox, task operations, timeline, suspend/resume, metrics."""

from __future__ import annotations

import pytest

from engine.auth.service import create_user
from tests.auth_helpers import issue_token
from tests.runtime_helpers import ARD, ARD_FILE, load_demo_catalog

USERS = {
    "admin": ("admin", None),
    "chenjing": ("staff", "S003"),
    "zhaolei": ("staff", "S005"),
    "wangfang": ("staff", "S001"),
    "wumin": ("staff", "S010"),
    "xiaoneng": ("efficiency_office", None),
}


@pytest.fixture
def api(client, database, clock, settings, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    with database.session() as session:
        for name, (role, staff_id) in USERS.items():
            create_user(session, name, "password-123", clock.now(), roles=[role], staff_id=staff_id)

    def headers(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings, username)}"}

    client.as_ = headers
    return client


def _upload(api, user="admin", content: bytes | None = None, name="ard.bpmn"):
    return api.post("/api/definitions", headers=api.as_(user),
                    files={"file": (name, content if content is not None else ARD_FILE.read_bytes(), "application/xml")})


def _start(api, user="chenjing", data=None):
    body = {"process_id": ARD, "data": data or {"applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": 100}}
    return api.post("/api/instances", headers=api.as_(user), json=body)


def test_upload_requires_admin_and_reports_problems(api):
    assert api.post("/api/definitions", files={"file": ("a.bpmn", b"<x/>")}).status_code == 401
    assert _upload(api, "chenjing").status_code == 403
    bad = _upload(api, content=ARD_FILE.read_bytes().replace(b'result = "', b'import os\nresult = "'), name="evil.bpmn")
    assert bad.status_code == 422
    assert any("evil.bpmn" in p and "import" in p for p in bad.json()["problems"])
    assert _upload(api, content=b"<not xml", name="broken.bpmn").status_code == 422
    ok = _upload(api)
    assert ok.status_code == 201 and ok.json()[0]["version"] == 1 and ok.json()[0]["created"]
    listed = api.get("/api/definitions", headers=api.as_("chenjing")).json()
    mine = next(d for d in listed if d["process_id"] == ARD)
    detail = api.get(f"/api/definitions/{mine['id']}", headers=api.as_("chenjing")).json()
    assert "<bpmn:definitions" in detail["bpmn_xml"] and [t["task_spec"] for t in detail["tasks"]] == [
        "accept", "review", "decide"]


def test_case_through_the_api(api):
    _upload(api)
    started = _start(api)
    assert started.status_code == 201, started.text
    instance = started.json()
    assert instance["status"] == "running" and instance["current_tasks"][0]["post_code"] == "MZ-SHJZ-01"
    inbox = api.get("/api/tasks", headers=api.as_("chenjing")).json()
    assert [item["task"]["name"] for item in inbox] == ["受理"] and inbox[0]["relation"] == "handler"
    task_id = inbox[0]["task"]["id"]
    detail = api.get(f"/api/tasks/{task_id}", headers=api.as_("chenjing")).json()
    assert detail["form"][0]["name"] == "accepted" and detail["posts"]["handler"] == ["MZ-SHJZ-01"]
    assert api.get(f"/api/tasks/{task_id}", headers=api.as_("wumin")).status_code == 403

    assert api.post(f"/api/tasks/{task_id}/complete", headers=api.as_("zhaolei"),
                    json={"data": {"accepted": True}}).status_code == 403
    missing = api.post(f"/api/tasks/{task_id}/complete", headers=api.as_("chenjing"), json={"data": {}})
    assert missing.status_code == 422 and "「是否受理」" in missing.json()["problems"][0]
    done = api.post(f"/api/tasks/{task_id}/complete", headers=api.as_("chenjing"), json={"data": {"accepted": True}})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    again = api.post(f"/api/tasks/{task_id}/complete", headers=api.as_("chenjing"), json={"data": {"accepted": True}})
    assert again.status_code == 409 and again.json()["detail"]

    review = api.get("/api/tasks", headers=api.as_("zhaolei")).json()[0]["task"]["id"]
    sent = api.post(f"/api/tasks/{review}/transfer", headers=api.as_("zhaolei"),
                    json={"to_post": "RS-JY-01", "reason": "属就业援助"})
    assert sent.json()["transfer_to_post"] == "RS-JY-01"
    refused = api.post(f"/api/tasks/{review}/refuse", headers=api.as_("wumin"), json={"reason": "非本部门职能"})
    assert refused.status_code == 200 and refused.json()["transfer_to_post"] is None
    api.post(f"/api/tasks/{review}/comment", headers=api.as_("zhaolei"), json={"text": "已核实"})
    api.post(f"/api/tasks/{review}/complete", headers=api.as_("zhaolei"), json={"data": {"opinion": "同意"}})
    decide = api.get("/api/tasks", headers=api.as_("wangfang")).json()[0]["task"]["id"]
    api.post(f"/api/tasks/{decide}/complete", headers=api.as_("wangfang"), json={"data": {"decision": "approve"}})

    final = api.get(f"/api/instances/{instance['id']}", headers=api.as_("chenjing")).json()
    assert final["status"] == "completed" and final["data"]["result"] == "批准：张三" and final["current_tasks"] == []
    timeline = api.get(f"/api/instances/{instance['id']}/timeline", headers=api.as_("chenjing")).json()
    assert [e["kind"] for e in timeline] == [
        "instance_started", "task_ready", "completed", "task_ready", "transferred", "refused", "commented",
        "completed", "task_ready", "completed", "instance_ended"]
    done_list = api.get("/api/tasks?include_done=true", headers=api.as_("chenjing")).json()
    assert [item["relation"] for item in done_list] == ["done"]


def test_suspend_resume_and_visibility(api):
    _upload(api)
    instance = _start(api).json()
    task_id = instance["current_tasks"][0]["id"]
    assert api.post(f"/api/instances/{instance['id']}/suspend", headers=api.as_("chenjing")).status_code == 403
    suspended = api.post(f"/api/instances/{instance['id']}/suspend", headers=api.as_("xiaoneng"), json={"reason": "核查"})
    assert suspended.json()["status"] == "suspended"
    blocked = api.post(f"/api/tasks/{task_id}/complete", headers=api.as_("chenjing"), json={"data": {"accepted": True}})
    assert blocked.status_code == 409
    assert api.post(f"/api/instances/{instance['id']}/activate", headers=api.as_("xiaoneng")).json()["status"] == "running"
    # Staff see their own cases only; the efficiency office sees all.
    assert [i["id"] for i in api.get("/api/instances", headers=api.as_("chenjing")).json()] == [instance["id"]]
    assert api.get("/api/instances", headers=api.as_("wumin")).json() == []
    assert api.get(f"/api/instances/{instance['id']}", headers=api.as_("wumin")).status_code == 403
    assert len(api.get("/api/instances", headers=api.as_("xiaoneng")).json()) == 1


def test_urge_copy_delegate_send_back_withdraw_endpoints(api):
    _upload(api)
    instance = _start(api).json()
    task_id = instance["current_tasks"][0]["id"]
    assert api.post(f"/api/tasks/{task_id}/urge", headers=api.as_("xiaoneng"), json={"message": "请尽快"}).json()[
        "urge_count"] == 1
    copied = api.post(f"/api/tasks/{task_id}/copy", headers=api.as_("chenjing"), json={"posts": ["RS-JY-01"]})
    assert copied.json()["posts"]["reader"] == ["RS-JY-01"]
    delegated = api.post(f"/api/tasks/{task_id}/delegate", headers=api.as_("chenjing"), json={"reason": "出差"})
    assert delegated.json()["delegated_post"] == "MZ-SHJZ-02"
    api.post(f"/api/tasks/{task_id}/claim", headers=api.as_("zhaolei"))
    api.post(f"/api/tasks/{task_id}/complete", headers=api.as_("zhaolei"), json={"data": {"accepted": True}})
    withdrawn = api.post(f"/api/tasks/{task_id}/withdraw", headers=api.as_("zhaolei"))
    assert withdrawn.status_code == 200, withdrawn.text
    accept_again = api.get(f"/api/instances/{instance['id']}", headers=api.as_("chenjing")).json()["current_tasks"][0]
    api.post(f"/api/tasks/{accept_again['id']}/complete", headers=api.as_("chenjing"), json={"data": {"accepted": True}})
    review = api.get("/api/tasks", headers=api.as_("zhaolei")).json()[0]["task"]["id"]
    back = api.post(f"/api/tasks/{review}/send-back", headers=api.as_("zhaolei"),
                    json={"to_task_spec": "accept", "reason": "材料不全"})
    assert back.status_code == 200 and back.json()["closed_reason"] == "sent_back"


def test_metrics_per_post_unit_department(api, clock):
    _upload(api)
    instance = _start(api).json()
    task_id = instance["current_tasks"][0]["id"]
    clock.advance(hours=2)
    api.post(f"/api/tasks/{task_id}/complete", headers=api.as_("chenjing"), json={"data": {"accepted": True}})
    assert api.get("/api/metrics", headers=api.as_("chenjing")).status_code == 403

    def figures(query: str) -> dict:
        answer = api.get(f"/api/metrics?{query}", headers=api.as_("xiaoneng"))
        assert answer.status_code == 200, answer.text
        return answer.json()

    steps = figures("scope=step&by=post")
    assert (steps["scope"], steps["scope_label"], steps["by"]) == ("step", "环节（按步骤）", "post")
    by_post = {m["group"]: m for m in steps["rows"]}
    assert by_post["MZ-SHJZ-01"]["completed"] == 1 and by_post["MZ-SHJZ-01"]["completion_rate"] == 1.0
    assert by_post["MZ-SHJZ-01"]["mean_working_seconds"] == 7200 and by_post["MZ-SHJZ-02"]["open"] == 1
    by_unit = {m["group"]: m for m in figures("scope=step&by=unit")["rows"]}
    assert by_unit["MZ-SHJZ"]["total"] == 2 and by_unit["MZ-SHJZ"]["completion_rate"] == 0.5
    assert [m["group"] for m in figures("scope=step&by=department")["rows"]] == ["MZ"]
    # The case was started without a duty or a limit: no case clock, so no case figures — said so.
    cases = figures("")
    assert (cases["scope"], cases["scope_label"], cases["by"]) == ("case", "办件（按案件）", "department")
    assert cases["rows"] == [] and cases["untimed_cases"] == 1 and any("1 件" in n for n in cases["notes"])
    # Each refusal names the parameter by its label (api.messages): 统计口径 (by), 统计范围 (scope).
    for query, word in (("by=team", "统计口径"), ("scope=step&by=team", "统计口径"), ("scope=task", "统计范围"),
                        ("scope=case&by=post", "scope=step"),
                        ("since=2026-10-02T00:00&until=2026-10-01T00:00", "since/until")):
        refused = api.get(f"/api/metrics?{query}", headers=api.as_("xiaoneng"))
        assert refused.status_code == 422 and any(word in p for p in refused.json()["problems"]), (query, refused.text)


def test_processes_directory_is_deployed_at_startup(api, settings):
    listed = api.get("/api/definitions", headers=api.as_("chenjing")).json()
    expected = {path.stem for path in settings.processes_dir.glob("*.bpmn")}
    deployed = {d["process_id"]: d for d in listed}
    assert expected <= set(deployed)
    assert all(deployed[pid]["deployed_by"] == "system" for pid in expected)
