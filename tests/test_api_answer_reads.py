"""The answers of a case start and of a task operation, read in few statements (the engine's
`task_posts_and_form`: posts and the form's spec key in one read; `version_and_tasks`: the
definition's version with the task rows; multi-instance items only for multi-instance steps; the
completed row as the step left it), say exactly what a fresh read, the definition row and the
restored workflow say."""

from __future__ import annotations

import pytest

from engine.models.runtime import ProcessInstance
from engine.runtime import service, task_service
from tests.process_helpers import Scenario

LOW_INCOME = {"duty_code": "MZ-GF-001", "applicant": "张三", "matter": "申请最低生活保障"}
CAMPAIGN = {"units": ["MZ-SHJZ"], "title": "2026年效能自查"}


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


def _engine_view_of_task(city, task_id: int) -> dict:
    """What the engine's readers say of a task: its posts, form and multi-instance item."""
    with city.database.session() as session:
        row = service.get_task(session, task_id)
        return {"posts": service.task_posts(session, row), "form": service.task_form(session, row),
                "item": service.task_item(session, row)}


def _engine_view_of_instance(city, instance_id: int) -> dict:
    with city.database.session() as session:
        instance = session.get(ProcessInstance, instance_id)
        tasks = service.instance_tasks(session, instance_id)
        return {"definition_version": service.get_definition(session, instance.definition_id).version,
                "task_ids": [t.id for t in tasks], "data": service.instance_data(session, instance_id)}


def test_start_and_complete_answer_what_a_fresh_read_and_the_engine_say(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    assert case == city.instance(case["id"])  # the start's answer is the case as read afterwards
    engine = _engine_view_of_instance(city, case["id"])
    assert case["definition_version"] == engine["definition_version"]
    assert [t["id"] for t in case["tasks"]] == engine["task_ids"] and case["data"] == engine["data"]
    first = case["current_tasks"][0]
    assert first["item"] is None

    done = city.complete("chenjing", first["id"], {"decision": "accept"})
    fresh = city.client.get(f"/api/tasks/{first['id']}", headers=city.headers("chenjing")).json()
    assert done == fresh  # the completed row as the step left it, not read again: the same answer
    assert done["status"] == "completed" and done["completed_by"] == "chenjing"
    assert done["form_data"] == {"decision": "accept"} and done["deadline"] is None
    assert [e["kind"] for e in done["events"]] == ["task_ready", "completed"]
    assert {k: done[k] for k in ("posts", "form", "item")} == _engine_view_of_task(city, first["id"])
    assert done["posts"]["handler"] == ["MZ-SHJZ-01"] and done["form"]


def test_an_open_task_with_a_transfer_and_a_copy_answers_its_posts_in_assignment_order(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    task_id = case["current_tasks"][0]["id"]
    sent = city.client.post(f"/api/tasks/{task_id}/transfer", headers=city.headers("chenjing"),
                            json={"to_post": "MZ-SHJZ-02", "reason": "请协助"})
    assert sent.status_code == 200, sent.text
    copied = city.client.post(f"/api/tasks/{task_id}/copy", headers=city.headers("chenjing"),
                              json={"posts": ["MZ-BGS-01", "MZ-HYDJ-01"]})
    assert copied.status_code == 200, copied.text
    answer = copied.json()
    assert answer["posts"] == {"handler": ["MZ-SHJZ-01"], "backup": [], "transfer": ["MZ-SHJZ-02"],
                               "reader": ["MZ-BGS-01", "MZ-HYDJ-01"]}
    assert {k: answer[k] for k in ("posts", "form", "item")} == _engine_view_of_task(city, task_id)
    assert answer["deadline"] is not None  # an open task with a limit


def test_the_form_is_the_engines_when_the_spec_is_not_parsed_in_this_process(city, monkeypatch):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    task_id = case["current_tasks"][0]["id"]

    class NothingCached:
        def get(self, _key):
            return None

    monkeypatch.setattr(task_service, "SPEC_CACHE", NothingCached())
    answer = city.client.get(f"/api/tasks/{task_id}", headers=city.headers("chenjing")).json()
    monkeypatch.undo()
    assert answer["form"] and answer["form"] == _engine_view_of_task(city, task_id)["form"]
    assert answer == city.client.get(f"/api/tasks/{task_id}", headers=city.headers("chenjing")).json()


def test_multi_instance_items_are_read_for_the_steps_that_have_them(city):
    campaign = city.start("pengliang", "self_inspection_campaign", CAMPAIGN)
    (inspect,) = city.steps(campaign["id"], "self_inspect")
    city.complete("chenjing", inspect["id"], {"inspection_summary": "已对照权责清单自查",
                                              "problems": ["低保台账不全", "公示不及时"]})
    for task in city.steps(campaign["id"], "rectify"):
        rectified = city.complete("chenjing", task["id"], {"measures": "已建立台账并公示"})
        assert rectified["item"] is not None and rectified["item"] == _engine_view_of_task(city, task["id"])["item"]
    checks = city.steps(campaign["id"], "check_rectification")
    assert len(checks) == 2 and all(t["item"]["name"] == "checked_item" for t in checks)
    for task in checks:
        assert task["item"] == _engine_view_of_task(city, task["id"])["item"]
        done = city.complete("pengliang", task["id"], {"verdict": "accept"})
        assert done["item"] == task["item"] and done["bpmn_id"] == "check_rectification"
    inbox = city.client.get("/api/tasks?include_done=true", headers=city.headers("pengliang")).json()
    items = {entry["task"]["id"]: entry["task"]["item"] for entry in inbox}
    assert all(items[t["id"]] == t["item"] for t in checks)


NO_STEPS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_ns"
                  targetNamespace="http://dutyflow.example/bpmn">
  <bpmn:process id="answer_no_steps" name="无人工步骤（测试）" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:scriptTask id="compute" name="计算">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize(("script", "status"), [("total = 1 + 2", "completed"), ("total = 1 / 0", "failed")])
def test_a_case_without_task_rows_answers_its_definition_version_and_no_tasks(city, script, status):
    for version in (1, 2):  # the answer names the version the case runs on, not the newest
        xml = NO_STEPS.format(script=script + "\n" * version).encode()
        deployed = city.client.post("/api/definitions", headers=city.headers("admin"),
                                    files={"file": ("no_steps.bpmn", xml, "application/xml")})
        assert deployed.status_code == 201, deployed.text
    case = city.start("admin", "answer_no_steps", {"applicant": "张三"})
    assert case["status"] == status and case["tasks"] == [] and case["current_tasks"] == []
    assert case["definition_version"] == 2 and case == city.instance(case["id"])
    old = city.client.post("/api/instances", headers=city.headers("admin"),
                           json={"process_id": "answer_no_steps", "version": 1, "data": {}}).json()
    assert old["definition_version"] == 1 and old["tasks"] == []
