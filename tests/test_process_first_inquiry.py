"""首问负责 (first_inquiry) end to end through the HTTP API on the demo catalog."""

from __future__ import annotations

import pytest

from tests.process_helpers import Scenario, problems_text


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


GYPSUM = {"matter": "举报石膏矿安全生产隐患", "citizen": "李四", "contact": "13800000000"}


def test_own_duty_is_handled_by_the_first_asked_post(city):
    inquiry = city.start("chenjing", "first_inquiry", {"matter": "咨询最低生活保障审批需要的材料", "citizen": "张三"})
    data = city.data(inquiry["id"])
    assert data["first_post"] == "MZ-SHJZ-01" and data["own_duty"] is True
    assert data["proposed_posts"][0]["duty"] == "MZ-GF-001"
    city.do("chenjing", inquiry["id"], "triage", {"action": "handle"})
    city.do("chenjing", inquiry["id"], "handle_own", {"result": "已当场告知所需材料"})
    answer = city.step(inquiry["id"], "written_answer")
    assert answer["post_code"] == "MZ-SHJZ-01"
    city.complete("chenjing", answer["id"], {"answer": "所需材料见告知书", "answer_channel": "信函"})
    assert city.instance(inquiry["id"])["status"] == "completed"


def test_transfer_to_the_proposed_post_keeps_the_first_post_responsible_until_accepted(city):
    inquiry = city.start("huangli", "first_inquiry", GYPSUM)
    data = city.data(inquiry["id"])
    assert data["own_duty"] is False
    assert data["proposed_posts"][0]["post"] == "MT-AQ-02"  # 石膏矿安全监督管理 of 市煤炭局
    city.do("huangli", inquiry["id"], "triage", {"action": "transfer"})
    receive = city.step(inquiry["id"], "receive_transfer")
    assert receive["post_code"] == "MT-AQ-02"
    assert city.data(inquiry["id"])["responsible_post"] == "MZ-HYDJ-01"
    city.complete("machao", receive["id"], {"receipt": "accept"})
    assert city.data(inquiry["id"])["responsible_post"] == "MT-AQ-02"
    city.do("machao", inquiry["id"], "handle_transferred", {"result": "已安排检查"})
    assert city.step(inquiry["id"], "written_answer")["post_code"] == "MT-AQ-02"
    city.do("machao", inquiry["id"], "written_answer", {"answer": "已立案检查", "answer_channel": "短信"})
    assert city.instance(inquiry["id"])["status"] == "completed"


def test_first_refusal_goes_to_the_coordinator_and_the_second_escalates_to_a_binding_ruling(city):
    inquiry = city.start("huangli", "first_inquiry", GYPSUM)
    city.do("huangli", inquiry["id"], "triage", {"action": "transfer", "to_post": "MT-AQ-02"})
    city.do("machao", inquiry["id"], "receive_transfer", {"receipt": "refuse", "refusal_reason": "应由安监局监管"})
    coordinate = city.step(inquiry["id"], "coordinate")
    assert coordinate["post_code"] in ("XN-DC-01", "XN-DC-02")
    city.complete("pengliang", coordinate["id"], {"to_post": "AJ-FM-01", "coordination_note": "非煤矿山归安监"})
    assert city.step(inquiry["id"], "receive_transfer")["post_code"] == "AJ-FM-01"
    city.do("zhujun", inquiry["id"], "receive_transfer", {"receipt": "refuse", "refusal_reason": "石膏矿已明确归煤炭局"})
    assert city.open_steps(inquiry["id"]) == ["rule_owner"]  # no third round of transfers
    city.do("hanxue", inquiry["id"], "rule_owner", {"to_post": "MT-AQ-02", "ruling": "按市政府通知由煤炭局负责"})
    assert city.open_steps(inquiry["id"]) == ["handle_transferred"]  # the ruled post cannot refuse again
    city.do("machao", inquiry["id"], "handle_transferred", {"result": "已检查"})
    city.do("machao", inquiry["id"], "written_answer", {"answer": "已处理", "answer_channel": "信函"})
    assert city.instance(inquiry["id"])["status"] == "completed"
    assert city.data(inquiry["id"])["refusals"] == 2


def test_bad_input_and_wrong_post_change_nothing(city):
    inquiry = city.start("huangli", "first_inquiry", GYPSUM)
    triage = city.step(inquiry["id"], "triage")
    before = city.snapshot(inquiry["id"])
    assert "「处理方式（自办/转办/直接答复）」" in problems_text(city.complete("huangli", triage["id"], {"note": "?"}, status=422))
    city.complete("machao", triage["id"], {"action": "handle"}, status=403)  # not the first-asked post
    assert city.snapshot(inquiry["id"]) == before


def test_refusal_without_reason_is_refused(city):
    inquiry = city.start("huangli", "first_inquiry", GYPSUM)
    city.do("huangli", inquiry["id"], "triage", {"action": "transfer"})
    receive = city.step(inquiry["id"], "receive_transfer")
    before = city.snapshot(inquiry["id"])
    response = city.complete("machao", receive["id"], {"receipt": "refuse"}, status=422)
    assert "退回理由：退回时不能为空" in problems_text(response)  # the form's label, not the key
    assert city.snapshot(inquiry["id"]) == before


def test_inquiry_without_matter_is_refused_at_start(city):
    response = city.start("huangli", "first_inquiry", {"citizen": "李四"}, status=422)
    assert "首问登记必须写明事项" in problems_text(response) and "事项：不能为空" in problems_text(response)
    assert city.client.get("/api/instances", headers=city.headers("admin")).json() == []
