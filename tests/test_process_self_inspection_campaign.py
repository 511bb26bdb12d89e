"""自查 / 整改 / 检查 (self_inspection_campaign) end to end through the HTTP API on the demo catalog."""

from __future__ import annotations

import pytest

from tests.process_helpers import Scenario, problems_text


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


CAMPAIGN = {"units": ["MZ-SHJZ", "MZ-HYDJ"], "title": "2026年效能自查"}
WHO = {"MZ-SHJZ-01": "chenjing", "MZ-HYDJ-01": "huangli"}


def _self_inspect(city, campaign_id, problems_by_post):
    for task in city.steps(campaign_id, "self_inspect"):
        found = problems_by_post.get(task["post_code"], [])
        data = {"inspection_summary": "已对照权责清单自查"} | ({"problems": found} if found else {})
        city.complete(WHO[task["post_code"]], task["id"], data)


def _rectify_all(city, campaign_id):
    for task in city.steps(campaign_id, "rectify"):
        city.complete(WHO[task["post_code"]], task["id"], {"measures": "已建立台账并公示"})


def _check(city, campaign_id, verdicts):
    """verdicts: problem text → accept/return. Each check step says which open item it is about
    (its multi-instance item `checked_item`, in the task view of the API)."""
    items = city.data(campaign_id)["open_items"]
    tasks = city.steps(campaign_id, "check_rectification")
    assert len(tasks) == len(items)
    for task in tasks:
        detail = city.client.get(f"/api/tasks/{task['id']}", headers=city.headers("pengliang")).json()
        assert detail["bpmn_id"] == "check_rectification" and detail["item"] == task["item"]
        assert task["item"]["name"] == "checked_item" and task["item"]["value"] in items.values()
        verdict = verdicts[task["item"]["value"]["problem"]]
        data = {"verdict": verdict} | ({"check_opinion": "整改不到位"} if verdict == "return" else {})
        city.complete("pengliang", task["id"], data)


def test_parallel_self_inspection_rectification_checks_and_accountability_after_two_returns(city):
    campaign = city.start("pengliang", "self_inspection_campaign", CAMPAIGN)
    assert sorted(t["post_code"] for t in city.steps(campaign["id"], "self_inspect")) == ["MZ-HYDJ-01", "MZ-SHJZ-01"]
    _self_inspect(city, campaign["id"], {"MZ-SHJZ-01": ["低保台账不全", "公示不及时"]})
    items = city.data(campaign["id"])["open_items"]
    assert sorted(i["problem"] for i in items.values()) == ["低保台账不全", "公示不及时"]
    assert {i["post"] for i in items.values()} == {"MZ-SHJZ-01"}
    assert all(i["due"].startswith("2026-10-") for i in items.values())  # each with its own deadline
    assert [t["post_code"] for t in city.steps(campaign["id"], "rectify")] == ["MZ-SHJZ-01", "MZ-SHJZ-01"]

    _rectify_all(city, campaign["id"])
    _check(city, campaign["id"], {"低保台账不全": "accept", "公示不及时": "return"})
    assert len(city.steps(campaign["id"], "rectify")) == 1  # only the returned one goes back
    _rectify_all(city, campaign["id"])
    _check(city, campaign["id"], {"公示不及时": "return"})
    accountability = city.step(campaign["id"], "accountability")
    city.complete("pengliang", accountability["id"], {"sanction": "诫勉谈话", "sanction_note": "两次整改不到位"})

    assert city.data(campaign["id"])["summary"] == {"found": 2, "fixed": 1, "late": 0, "sanctioned": 1}
    city.do("pengliang", campaign["id"], "close_campaign", {"conclusion": "建立低保公示长效机制"})
    assert city.instance(campaign["id"])["status"] == "completed"


def test_campaign_without_problems_goes_straight_to_the_summary(city):
    campaign = city.start("pengliang", "self_inspection_campaign", CAMPAIGN)
    _self_inspect(city, campaign["id"], {})
    assert city.open_steps(campaign["id"]) == ["close_campaign"]
    assert city.data(campaign["id"])["summary"] == {"found": 0, "fixed": 0, "late": 0, "sanctioned": 0}


def test_rectification_accepted_after_its_deadline_counts_as_late(city):
    campaign = city.start("pengliang", "self_inspection_campaign", dict(CAMPAIGN, rectify_limit="3个工作日"))
    _self_inspect(city, campaign["id"], {"MZ-HYDJ-01": ["档案未归档"]})
    city.advance(days=30)  # past the step's own limit (stage_limit 10个工作日) and the 3 working days
    assert city.events(campaign["id"], "overdue")  # red for the rectification step
    _rectify_all(city, campaign["id"])
    _check(city, campaign["id"], {"档案未归档": "accept"})
    assert city.data(campaign["id"])["summary"]["late"] == 1


def test_bad_input_and_wrong_post_change_nothing(city):
    campaign = city.start("pengliang", "self_inspection_campaign", CAMPAIGN)
    task = [t for t in city.steps(campaign["id"], "self_inspect") if t["post_code"] == "MZ-SHJZ-01"][0]
    before = city.snapshot(campaign["id"])
    missing = city.complete("chenjing", task["id"], {"problems": ["x"]}, status=422)
    assert "「自查情况」" in problems_text(missing)
    city.complete("huangli", task["id"], {"inspection_summary": "替别的科室自查"}, status=403)
    assert city.snapshot(campaign["id"]) == before


def test_unknown_unit_is_refused_at_start_with_a_clear_message(city):
    refused = city.start("pengliang", "self_inspection_campaign", {"units": ["MZ-SHJZ", "NO-UNIT"]}, status=422)
    assert "内设机构有误" in problems_text(refused) and "NO-UNIT" in problems_text(refused)
    assert city.client.get("/api/instances", headers=city.headers("admin")).json() == []
