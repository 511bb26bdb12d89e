"""职责争议 (duty_dispute) end to end through the HTTP API on the demo catalog."""

from __future__ import annotations

import pytest

from engine.catalog import service as catalog
from tests.process_helpers import Scenario, problems_text


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


GYPSUM = {"duties": ["MT-JC-002", "AJ-JC-001"], "lead": "MT", "subject": "石膏矿安全监管职责争议"}


def _confirm_all(city, dispute_id, answers):
    for task in city.steps(dispute_id, "confirm_division"):
        assert task["item"] == {"name": "party_post", "value": task["post_code"]}  # whose confirmation it is
        user = {"MT-AQ-01": "sunwei", "AJ-FM-01": "zhujun"}[task["post_code"]]
        city.complete(user, task["id"], {"confirmation": answers[task["post_code"]]})


def test_agreed_split_confirmed_by_every_party_becomes_a_revision_draft(city):
    dispute = city.start("hanxue", "duty_dispute", GYPSUM)
    data = city.data(dispute["id"])
    assert data["party_posts"] == {"MT": "MT-AQ-01", "AJ": "AJ-FM-01"}
    assert data["dispute"]["old_division"] == {"MT-JC-002": "MT", "AJ-JC-001": "AJ"}
    negotiate = city.step(dispute["id"], "negotiate")
    assert negotiate["post_code"] == "MT-AQ-01"  # the lead department convenes
    city.complete("sunwei", negotiate["id"], {"negotiation_result": "agreed", "division": "石膏矿由煤炭局监管，安监局非煤矿山排除石膏矿"})
    assert sorted(t["post_code"] for t in city.steps(dispute["id"], "confirm_division")) == ["AJ-FM-01", "MT-AQ-01"]
    _confirm_all(city, dispute["id"], {"MT-AQ-01": "confirm", "AJ-FM-01": "confirm"})
    revision = city.data(dispute["id"])["revision_draft"]
    assert revision["decided_by"] == "negotiation"
    assert [d["code"] for d in revision["duties"]] == ["MT-JC-002", "AJ-JC-001"]
    city.do("hanxue", dispute["id"], "confirm_revision", {"revision_note": "转清单发布流程"})
    assert city.instance(dispute["id"])["status"] == "completed"
    with city.database.session() as session:  # the catalog in force is untouched: the old division applies
        assert catalog.get_duty(session, city.catalog_version_id, "MT-JC-002").department == "MT"


def test_objection_goes_to_written_coordination_then_meeting_then_government(city):
    dispute = city.start("hanxue", "duty_dispute", GYPSUM)
    city.do("sunwei", dispute["id"], "negotiate", {"negotiation_result": "agreed", "division": "煤炭局负责"})
    _confirm_all(city, dispute["id"], {"MT-AQ-01": "confirm", "AJ-FM-01": "object"})
    city.do("hanxue", dispute["id"], "written_coordination", {"coordination_result": "meeting"})
    city.do("hanxue", dispute["id"], "coordination_meeting", {"meeting_result": "refer_government"})
    city.do("hanxue", dispute["id"], "government_decision",
            {"division": "石膏矿安全监管由煤炭局负责", "decision_ref": "示政发〔2026〕1号"})
    assert city.data(dispute["id"])["revision_draft"]["decided_by"] == "government"
    city.do("hanxue", dispute["id"], "confirm_revision", {"revision_note": "按政府决定修订"})
    assert city.instance(dispute["id"])["status"] == "completed"


def test_failed_negotiation_is_ruled_by_written_coordination(city):
    dispute = city.start("hanxue", "duty_dispute", GYPSUM)
    city.do("sunwei", dispute["id"], "negotiate", {"negotiation_result": "failed"})
    city.do("hanxue", dispute["id"], "written_coordination", {"coordination_result": "resolved", "division": "煤炭局负责"})
    assert city.data(dispute["id"])["revision_draft"]["decided_by"] == "establishment_office_written"


def test_negotiation_past_its_limit_goes_to_the_establishment_office(city):
    dispute = city.start("hanxue", "duty_dispute", dict(GYPSUM, negotiation_limit="3个工作日"))
    city.advance(days=3)  # National Day holidays: not yet
    assert city.open_steps(dispute["id"]) == ["negotiate"]
    city.advance(days=10)
    assert city.open_steps(dispute["id"]) == ["written_coordination"]
    city.do("hanxue", dispute["id"], "written_coordination", {"coordination_result": "meeting"})
    city.do("hanxue", dispute["id"], "coordination_meeting", {"meeting_result": "ruled", "division": "煤炭局负责"})
    assert city.data(dispute["id"])["revision_draft"]["decided_by"] == "establishment_office_meeting"


def test_bad_input_and_wrong_post_change_nothing(city):
    dispute = city.start("hanxue", "duty_dispute", GYPSUM)
    negotiate = city.step(dispute["id"], "negotiate")
    before = city.snapshot(dispute["id"])
    assert "「协商结果」" in problems_text(city.complete("sunwei", negotiate["id"], {}, status=422))
    city.complete("zhujun", negotiate["id"], {"negotiation_result": "failed"}, status=403)  # not the lead
    assert city.snapshot(dispute["id"]) == before


def test_unknown_duty_is_refused_at_start_with_a_clear_message(city):
    refused = city.start("hanxue", "duty_dispute", {"duties": ["MT-JC-002", "NO-SUCH"]}, status=422)
    assert "争议事项有误" in problems_text(refused) and "NO-SUCH" in problems_text(refused)
    assert city.client.get("/api/instances", headers=city.headers("admin")).json() == []
