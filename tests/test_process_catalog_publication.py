"""权责清单发布 (catalog_publication) end to end through the HTTP API on the demo catalog."""

from __future__ import annotations

import pytest

from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from tests.process_helpers import Scenario, problems_text


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    scenario = Scenario(client, database, clock, settings, demo_catalog_path)
    document = read_catalog(demo_catalog_path)
    document.catalog.version = "2026.2"
    with database.session() as session:
        scenario.draft_id = catalog.import_catalog(session, document, "wangfang", clock.now()).id
    return scenario


def _status(city) -> tuple[str, str | None]:
    with city.database.session() as session:
        version = catalog.get_version(session, city.draft_id)
        return version.status, version.published_by


def _through_reviews(city, publication_id):
    city.do("wangfang", publication_id, "draft", {"draft_summary": "职责分解到科室和岗位"})
    city.do("hanxue", publication_id, "establishment_review", {"review": "approve"})
    city.do("denghua", publication_id, "legal_review", {"review": "approve"})


def test_reviews_public_notice_and_publication_by_the_engine(city):
    publication = city.start("wangfang", "catalog_publication", {"version_id": city.draft_id, "public_notice_days": 3})
    draft = city.step(publication["id"], "draft")
    assert draft["post_code"] == "MZ-BGS-01"  # the starter's own post drafts
    _through_reviews(city, publication["id"])
    assert city.open_steps(publication["id"]) == []  # public notice: waiting on its timer
    city.advance(days=5)  # 3 working days after the National Day holidays have not passed yet
    assert city.open_steps(publication["id"]) == []
    city.advance(days=6)
    review = city.step(publication["id"], "public_notice_review")
    assert review["post_code"] in ("FZ-FG-01", "FZ-FG-02")
    assert _status(city) == ("draft", None)
    city.complete("denghua", review["id"], {"public_notice_result": "publish", "comments": ["建议补充监督电话"]})
    assert _status(city) == ("published", "denghua")
    assert city.instance(publication["id"])["status"] == "completed"


def test_rejections_send_the_draft_back_with_reasons(city):
    publication = city.start("wangfang", "catalog_publication", {"version_id": city.draft_id})
    city.do("wangfang", publication["id"], "draft", {"draft_summary": "初稿"})
    city.do("hanxue", publication["id"], "establishment_review", {"review": "reject", "review_comment": "与三定不符"})
    assert city.open_steps(publication["id"]) == ["draft"]
    assert city.data(publication["id"])["review_comment"] == "与三定不符"
    city.do("wangfang", publication["id"], "draft", {"draft_summary": "按三定修改"})
    city.do("hanxue", publication["id"], "establishment_review", {"review": "approve"})
    city.do("denghua", publication["id"], "legal_review", {"review": "reject", "review_comment": "依据已废止"})
    assert city.open_steps(publication["id"]) == ["draft"]
    _through_reviews(city, publication["id"])
    city.advance(days=20)  # the default notice period: 5 working days
    city.do("denghua", publication["id"], "public_notice_review", {"public_notice_result": "revise", "review_comment": "采纳公示意见"})
    assert city.open_steps(publication["id"]) == ["draft"]
    assert _status(city) == ("draft", None)


def test_revision_for_a_basis_change_escalates_to_the_legal_office_when_late(city):
    publication = city.start("wangfang", "catalog_publication",
                             {"version_id": city.draft_id, "reason": "basis_change", "publish_within": "30日"})
    city.advance(days=29)
    assert city.open_steps(publication["id"]) == ["draft"]
    city.advance(days=2)
    assert city.open_steps(publication["id"]) == ["draft", "revision_overdue"]
    overdue = city.step(publication["id"], "revision_overdue")
    assert overdue["post_code"] in ("FZ-FG-01", "FZ-FG-02")
    city.complete("denghua", overdue["id"], {"order": "限5个工作日内报送"})
    _through_reviews(city, publication["id"])
    city.advance(days=10)
    city.do("denghua", publication["id"], "public_notice_review", {"public_notice_result": "publish"})
    assert _status(city)[0] == "published"


def test_new_catalog_has_no_publication_deadline(city):
    publication = city.start("wangfang", "catalog_publication", {"version_id": city.draft_id})
    city.advance(days=60)
    assert city.open_steps(publication["id"]) == ["draft"]


def test_bad_input_and_wrong_post_change_nothing(city):
    publication = city.start("wangfang", "catalog_publication", {"version_id": city.draft_id})
    city.do("wangfang", publication["id"], "draft", {"draft_summary": "初稿"})
    review = city.step(publication["id"], "establishment_review")
    before = city.snapshot(publication["id"])
    assert "「审核结论」" in problems_text(city.complete("hanxue", review["id"], {}, status=422))
    city.complete("wangfang", review["id"], {"review": "approve"}, status=403)  # a department cannot approve itself
    city.complete("denghua", review["id"], {"review": "approve"}, status=403)  # nor the legal office for 编办
    assert city.snapshot(publication["id"]) == before


def test_published_version_cannot_be_published_again(city):
    with city.database.session() as session:
        catalog.publish_version(session, city.draft_id, "someone", city.clock.now())
    refused = city.start("wangfang", "catalog_publication", {"version_id": city.draft_id}, status=409)
    assert "已发布" in problems_text(refused)
    assert city.client.get("/api/instances", headers=city.headers("admin")).json() == []
