"""效能投诉 (efficiency_complaint) end to end through the HTTP API on the demo catalog."""

from __future__ import annotations

import pytest

from tests.process_helpers import Scenario, problems_text


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


DELAY = {"subject": "婚姻登记窗口办理拖延", "complainant": "王五", "contact": "13900000000"}
DECISION = {"substantiated": "yes", "sanction": "提醒谈话", "decision_text": "对窗口负责人提醒谈话"}


def test_complaint_is_assigned_through_the_catalog_investigated_decided_and_answered(city):
    complaint = city.start("zenglin", "efficiency_complaint", DELAY)
    assert city.data(complaint["id"])["proposed_departments"] == ["MZ"]
    accept = city.step(complaint["id"], "accept_complaint")
    assert accept["post_code"] in ("XN-DC-01", "XN-DC-02")
    city.complete("zenglin", accept["id"], {"acceptance": "accept"})  # department from the catalog's proposal
    investigate = city.step(complaint["id"], "investigate")
    assert investigate["post_code"] == "MZ-BGS-01"  # the head post of 市民政局
    city.complete("wangfang", investigate["id"], {"findings": "窗口人员离岗，情况属实"})
    city.do("pengliang", complaint["id"], "decide_complaint", DECISION)
    city.do("zenglin", complaint["id"], "reply", {"reply_text": "已查实并处理", "satisfaction": "satisfied"})
    assert city.instance(complaint["id"])["status"] == "completed"


def test_rejected_complaint_still_gets_a_reply(city):
    complaint = city.start("zenglin", "efficiency_complaint", DELAY)
    city.do("zenglin", complaint["id"], "accept_complaint", {"acceptance": "reject", "rejection_reason": "不属于效能投诉范围"})
    assert city.open_steps(complaint["id"]) == ["reply"]
    city.do("zenglin", complaint["id"], "reply", {"reply_text": "已告知向法院起诉", "satisfaction": "no_response"})
    assert city.instance(complaint["id"])["status"] == "completed"


def test_unsatisfied_complainant_has_it_reopened_once(city):
    complaint = city.start("zenglin", "efficiency_complaint", dict(DELAY, department="MZ"))
    city.do("zenglin", complaint["id"], "accept_complaint", {"acceptance": "accept", "department": "MZ"})
    for round_ in (1, 2):
        city.do("wangfang", complaint["id"], "investigate", {"findings": f"第{round_}次调查"})
        city.do("pengliang", complaint["id"], "decide_complaint", DECISION)
        city.do("zenglin", complaint["id"], "reply", {"reply_text": f"第{round_}次答复", "satisfaction": "unsatisfied"})
    done = city.instance(complaint["id"])
    assert done["status"] == "completed" and done["data"]["reopen_count"] == 1


def test_acceptance_and_reply_limits_come_from_start_data_and_raise_overdue_steps(city):
    complaint = city.start("zenglin", "efficiency_complaint", dict(DELAY, accept_limit="1个工作日", limit="20日"))
    city.advance(days=2)  # 2026-10-02: inside the National Day holidays, the working day has not passed
    assert "explain_acceptance_delay" not in city.open_steps(complaint["id"])
    city.advance(days=8)  # 10-10: past the first working day after the holidays
    assert "explain_acceptance_delay" in city.open_steps(complaint["id"])
    city.do("zenglin", complaint["id"], "explain_acceptance_delay", {"delay_reason": "节假日值班人手不足"})
    city.do("zenglin", complaint["id"], "accept_complaint", {"acceptance": "accept", "department": "MZ"})
    city.advance(days=15)  # past the 20 calendar days
    overdue = city.step(complaint["id"], "reply_overdue")
    city.complete("pengliang", overdue["id"], {"order": "限期答复"})
    city.do("wangfang", complaint["id"], "investigate", {"findings": "属实"})
    city.do("pengliang", complaint["id"], "decide_complaint", DECISION)
    city.do("zenglin", complaint["id"], "reply", {"reply_text": "答复", "satisfaction": "satisfied"})
    assert city.instance(complaint["id"])["status"] == "completed"


def test_bad_input_and_wrong_post_change_nothing(city):
    complaint = city.start("zenglin", "efficiency_complaint", DELAY)
    city.do("zenglin", complaint["id"], "accept_complaint", {"acceptance": "accept"})
    investigate = city.step(complaint["id"], "investigate")
    before = city.snapshot(complaint["id"])
    assert "「调查情况」" in problems_text(city.complete("wangfang", investigate["id"], {}, status=422))
    city.complete("zenglin", investigate["id"], {"findings": "替对方写"}, status=403)
    assert city.snapshot(complaint["id"]) == before


def test_complaint_without_complainant_is_refused_at_start(city):
    refused = city.start("zenglin", "efficiency_complaint", {"subject": "办事拖延"}, status=422)
    assert "投诉登记不完整" in problems_text(refused)
    assert city.client.get("/api/instances", headers=city.headers("admin")).json() == []
