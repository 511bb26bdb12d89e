"""限时办结 (time_limited_case) end to end through the HTTP API on the demo catalog."""

from __future__ import annotations

import pytest

from tests.process_helpers import Scenario, problems_text

LOW_INCOME = {"duty_code": "MZ-GF-001", "applicant": "张三", "matter": "申请最低生活保障"}  # 15 working days
MARRIAGE = {"duty_code": "MZ-QR-001", "applicant": "李四"}  # committed limit: 1 working day


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


def test_case_routes_by_catalog_and_closes_after_correction_and_expert_review(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    first = city.step(case["id"], "accept_application")
    assert (first["post_code"], first["stage"], first["name"]) == ("MZ-SHJZ-01", "受理", "受理")
    assert city.data(case["id"])["case"]["unit_head"] == "MZ-BGS-01"

    city.do("chenjing", case["id"], "accept_application",
            {"decision": "notify_missing", "missing_materials": "户口簿复印件；收入证明"})
    assert city.data(case["id"])["notice_count"] == 1
    city.do("chenjing", case["id"], "receive_correction", {"correction": "corrected"})
    city.do("chenjing", case["id"], "accept_application", {"decision": "accept"})
    city.do("chenjing", case["id"], "review", {"opinion": "需专家评审", "special_procedure": "expert_review"})
    assert city.step(case["id"], "special_procedure")["post_code"] == "MZ-SHJZ-01"
    city.do("chenjing", case["id"], "special_procedure", {"procedure_result": "专家意见：符合条件"})
    city.do("chenjing", case["id"], "review", {"opinion": "材料齐全", "special_procedure": "none"})

    decide = city.step(case["id"], "decide")
    assert decide["post_code"] == "MZ-BGS-01"  # the head post of 市民政局 decides
    city.complete("wangfang", decide["id"], {"decision": "approve"})
    city.do("chenjing", case["id"], "deliver", {"delivery_method": "邮寄"})
    done = city.instance(case["id"])
    assert done["status"] == "completed" and done["current_tasks"] == []


def _clock(city, instance_id: int) -> dict:
    response = city.client.get(f"/api/instances/{instance_id}/clock", headers=city.headers("admin"))
    assert response.status_code == 200, response.text
    return response.json()


def test_corrected_materials_restart_the_count_and_expert_review_pauses_it(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    city.do("chenjing", case["id"], "accept_application", {"decision": "notify_missing", "missing_materials": "收入证明"})
    first = _clock(city, case["id"])
    city.advance(days=20)  # the applicant takes three weeks to bring the material
    city.do("chenjing", case["id"], "receive_correction", {"correction": "corrected"})
    restarted = _clock(city, case["id"])
    assert restarted["restarts"] == 1 and restarted["counting_from"] > first["counting_from"]
    city.do("chenjing", case["id"], "accept_application", {"decision": "accept"})
    city.do("chenjing", case["id"], "review", {"opinion": "需听证", "special_procedure": "hearing"})
    city.advance(days=7)
    assert _clock(city, case["id"])["paused"] is True  # the hearing's days are not counted
    city.do("chenjing", case["id"], "special_procedure", {"procedure_result": "听证完毕"})
    resumed = _clock(city, case["id"])
    assert resumed["paused"] is False and resumed["paused_working_seconds"] > 0
    assert city.events(case["id"], "restarted") and city.events(case["id"], "paused")


def test_refusal_at_acceptance_delivers_the_refusal_and_ends(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    city.do("chenjing", case["id"], "accept_application", {"decision": "refuse", "reason": "不属于本机关受理范围"})
    assert city.open_steps(case["id"]) == ["deliver_refusal"]
    city.do("chenjing", case["id"], "deliver_refusal", {"delivery_method": "当场"})
    assert city.instance(case["id"])["status"] == "completed"


def test_withdrawn_application_ends_the_case(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    city.do("chenjing", case["id"], "accept_application", {"decision": "notify_missing", "missing_materials": "身份证"})
    city.do("chenjing", case["id"], "receive_correction", {"correction": "withdrawn"})
    assert city.instance(case["id"])["status"] == "completed"


# The library refuses the second notice by raising InvalidInput inside the engine step; the
# request fails with 422 and rolls back (core's run_step re-raises rule violations).
def test_second_one_time_notice_is_refused_and_nothing_changes(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    city.do("chenjing", case["id"], "accept_application", {"decision": "notify_missing", "missing_materials": "身份证"})
    city.do("chenjing", case["id"], "receive_correction", {"correction": "corrected"})
    before = city.snapshot(case["id"])
    task = city.step(case["id"], "accept_application")
    response = city.client.post(f"/api/tasks/{task['id']}/complete", headers=city.headers("chenjing"),
                                json={"data": {"decision": "notify_missing", "missing_materials": "再补一份"}})
    assert response.status_code == 422, response.text
    assert "一次性告知" in problems_text(response.json())
    assert city.snapshot(case["id"]) == before
    city.do("chenjing", case["id"], "accept_application", {"decision": "accept"})
    assert city.open_steps(case["id"]) == ["review"]


def test_missing_field_wrong_value_and_wrong_post_are_refused_without_change(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    task = city.step(case["id"], "accept_application")
    before = city.snapshot(case["id"])
    missing = city.complete("chenjing", task["id"], {}, status=422)
    assert "「受理决定」" in problems_text(missing)
    wrong = city.complete("chenjing", task["id"], {"decision": "maybe"}, status=422)
    assert "「受理决定」" in problems_text(wrong)
    city.complete("huangli", task["id"], {"decision": "accept"}, status=403)  # 婚姻登记处, not the case's post
    assert city.snapshot(case["id"]) == before


def test_unknown_duty_is_refused_at_start(city):
    response = city.client.post("/api/instances", headers=city.headers("chenjing"),
                                json={"process_id": "time_limited_case", "data": {"duty_code": "NO-SUCH"}})
    assert response.status_code == 422
    assert "NO-SUCH" in problems_text(response.json())


def test_red_case_escalates_to_the_unit_head_and_the_efficiency_office_orders_supervision(city):
    case = city.start("huangli", "time_limited_case", MARRIAGE)
    city.do("huangli", case["id"], "accept_application", {"decision": "accept"})
    city.advance(days=1)  # 2026-10-01: still inside the limit's last day? the 1-day limit ends 10-09 (holidays)
    assert "escalate_to_head" not in city.open_steps(case["id"])
    city.advance(days=10)  # past the committed limit: red
    steps = city.open_steps(case["id"])
    assert "escalate_to_head" in steps and "supervision_order" in steps
    assert city.step(case["id"], "escalate_to_head")["post_code"] == "MZ-BGS-01"
    assert city.events(case["id"], "escalated")
    assert city.events(case["id"], "warned")  # the yellow warning came first
    supervision = city.step(case["id"], "supervision_order")
    city.complete("pengliang", supervision["id"], {"order": "限2个工作日内办结", "finish_within": "2个工作日"})
    city.do("wangfang", case["id"], "escalate_to_head", {"instruction": "立即办理"})
    city.do("huangli", case["id"], "review", {"opinion": "符合", "special_procedure": "none"})
    city.do("wangfang", case["id"], "decide", {"decision": "approve"})
    city.do("huangli", case["id"], "deliver", {"delivery_method": "当场"})
    assert city.instance(case["id"])["status"] == "completed"


def test_instance_diagram_highlights_the_current_step(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    response = city.client.get(f"/api/instances/{case['id']}/diagram.svg", headers=city.headers("chenjing"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert "受理" in response.text and "#ffd54f" in response.text  # the open step is filled
    svg = response.text
    # Only what happened is highlighted: the 受理 step at work, not the red-card event every open
    # case waits for (it has not fired), nor the extension request nobody made.
    def node(bpmn_id: str) -> str:
        start = svg.index(f"<title>{bpmn_id}</title>")
        return svg[start:svg.index("</g>", start)]
    assert "#ffd54f" in node("accept_application")
    assert "#ffd54f" not in node("case_red") and "#ffd54f" not in node("extension_request")
    # Lanes are named in Chinese, by the post this case resolved them to; no `$variable` or role code.
    assert "承办岗位（事项的A角岗位）：市民政局 · 社会救助科 · 低保审核岗" in svg
    assert "$handler_post" not in svg and "efficiency_office" not in svg
    definition = city.client.get("/api/definitions/time_limited_case/diagram.svg", headers=city.headers("chenjing"))
    assert definition.status_code == 200 and "限时办结" in definition.text
    assert city.client.get(f"/api/instances/{case['id']}/diagram.svg", headers=city.headers("sunwei")).status_code == 403
