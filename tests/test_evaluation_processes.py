"""The evaluation as processes (issue 12 item 3) through the HTTP API, both backends, on 市民政局's
2026 year of the demo catalog:
- `evaluation_quarterly_report`: the unit reports with evidence, its head reviews (and may send it
  back), the efficiency office scores, the scores land in the year;
- `evaluation_survey`: each rater fills the standard form once, never sees another's ballot, does
  not rate their own unit; leaders and the rest are averaged apart (hand-computed below)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from engine.auth.service import create_user
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.models.evaluation import EvaluationScore
from tests.auth_helpers import issue_token
from tests.browser_helpers import DEMO_CATALOG
from tests.process_helpers import Scenario, problems_text


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


def open_year(city) -> int:
    office = city.headers("zenglin")
    year = city.client.post("/api/evaluation/years", json={"year": 2026, "department": "MZ"}, headers=office)
    assert year.status_code == 200, year.text
    year_id = year.json()["year"]["id"]
    assert city.client.post(f"/api/evaluation/years/{year_id}/open", headers=office).status_code == 200
    return year_id


def stored(city, year_id: int, subject: str, code: str) -> dict[str, Fraction]:
    with city.database.session() as session:
        rows = session.query(EvaluationScore).filter_by(year_id=year_id, subject=subject, subject_code=code).all()
        return {row.indicator_code: Fraction(row.value_num, row.value_den) for row in rows}


def person(city, username: str, staff_id: str) -> dict[str, str]:
    """A signed-in demo person not in tests.process_helpers.PEOPLE."""
    with city.database.session() as session:
        create_user(session, username, "secret-pass-1", city.clock.now(), roles=["staff"], staff_id=staff_id)
    return {"Authorization": f"Bearer {issue_token(city.settings, username)}"}


def test_a_quarterly_report_is_reviewed_and_scored_into_the_year(city):
    year_id = open_year(city)
    refused = city.client.post("/api/instances", headers=city.headers("wangfang"), json={
        "process_id": "evaluation_quarterly_report", "data": {"year_id": year_id, "unit": "MZ-BGS", "quarter": 3}})
    assert refused.status_code == 403
    bad = city.start("zenglin", "evaluation_quarterly_report", {"year_id": year_id, "unit": "NOPE", "quarter": 3},
                     status=422)
    assert "本年度考评中没有单位 NOPE" in problems_text(bad)

    # 社会救助科 has no head post: 陈静's post (its first) reports, 市民政局's head 王芳 reviews.
    report = city.start("zenglin", "evaluation_quarterly_report", {"year_id": year_id, "unit": "MZ-SHJZ", "quarter": 3})
    data = city.data(report["id"])
    assert (data["report_post"], data["review_post"], data["report_due"]) == ("MZ-SHJZ-01", "MZ-BGS-01", "2026-10-10")
    submit = city.step(report["id"], "submit_report")
    assert submit["post_code"] == "MZ-SHJZ-01"
    no_evidence = city.complete("chenjing", submit["id"], {"report": "低保审批 120 件"}, status=422)
    assert "佐证材料" in problems_text(no_evidence)
    city.complete("chenjing", submit["id"], {"report": "低保审批 120 件", "evidence": ["台账.xlsx"]})
    assert city.data(report["id"])["report_record"]["late"] is False  # 2026-09-30 ≤ 10-10
    no_reason = city.step(report["id"], "review_report")
    refused = problems_text(city.complete("wangfang", no_reason["id"], {"review": "return"}, status=422))
    assert "审核意见：结论为“退回”时不能为空" in refused  # the form's label and the choice in words
    city.complete("wangfang", no_reason["id"], {"review": "return", "review_comment": "缺少抽查记录"})
    city.advance(days=12)  # 10-12: after the due day
    city.do("chenjing", report["id"], "submit_report", {"report": "补充", "evidence": ["台账.xlsx", "抽查记录.pdf"]})
    assert city.data(report["id"])["report_record"]["late"] is True
    city.do("wangfang", report["id"], "review_report", {"review": "approve"})
    score = city.step(report["id"], "score_report")
    assert score["post_code"] in ("XN-DC-01", "XN-DC-02")
    # 常规工作 is computed (objective) in the default tree: typing it is refused, nothing saved.
    typed = city.complete("pengliang", score["id"], {"key_score": 92.5, "other_score": 88, "routine_score": 90},
                          status=422)
    assert "客观指标" in problems_text(typed)
    assert stored(city, year_id, "unit", "MZ-SHJZ") == {}
    city.complete("pengliang", score["id"], {"key_score": 92.5, "other_score": 88, "score_note": "逾期报送"})
    assert city.instance(report["id"])["status"] == "completed"
    assert stored(city, year_id, "unit", "MZ-SHJZ") == {"FUNC.Q3.KEY": Fraction("92.5"), "FUNC.Q3.OTHER": 88}


def test_the_survey_one_ballot_per_rater_private_not_of_ones_own_unit_averaged_by_group(city):
    year_id = open_year(city)
    # 领导班子: 王芳 (S001, 办公室) and 黄丽 (S006, 婚姻登记处). Others voting: 陈静 (S003) and 杨帆
    # (S004), both 社会救助科; 周勇 (S007, 婚姻登记处).
    survey = city.start("zenglin", "evaluation_survey", {"year_id": year_id, "leaders": ["S001", "S006"]})
    survey_id = city.data(survey["id"])["survey_id"]
    raters = {"wangfang": city.headers("wangfang"), "huangli": city.headers("huangli"),
              "chenjing": city.headers("chenjing"), "yangfan": person(city, "yangfan", "S004"),
              "zhouyong": person(city, "zhouyong", "S007")}
    client = city.client

    form = client.get(f"/api/evaluation/surveys/{survey_id}", headers=raters["chenjing"]).json()
    assert form["group"] == "other" and form["voted"] is False
    assert [i["code"] for i in form["items"]] == ["MZ-BGS", "MZ-HYDJ", "MZ-YLFW"]  # not 社会救助科
    # Outsiders and accounts without a person do not vote.
    assert client.get(f"/api/evaluation/surveys/{survey_id}", headers=city.headers("sunwei")).status_code == 403
    assert client.get(f"/api/evaluation/surveys/{survey_id}", headers=city.headers("admin")).status_code == 403

    own = client.post(f"/api/evaluation/surveys/{survey_id}/ballot", headers=raters["chenjing"], json={"scores": {
        "MZ-BGS": 90, "MZ-HYDJ": 80, "MZ-YLFW": 70, "MZ-SHJZ": 100}})
    assert own.status_code == 422 and "scores.MZ-SHJZ: 不能评议本单位" in own.json()["problems"]
    short = client.post(f"/api/evaluation/surveys/{survey_id}/ballot", headers=raters["chenjing"],
                        json={"scores": {"MZ-BGS": 90, "MZ-HYDJ": "80.125"}})
    assert short.status_code == 422 and "未评议养老服务科" in problems_text(short.json())

    ballots = {
        # leaders
        "wangfang": {"MZ-SHJZ": 90, "MZ-HYDJ": 85, "MZ-YLFW": 80},
        "huangli": {"MZ-BGS": 96, "MZ-SHJZ": 86, "MZ-YLFW": "70.5"},
        # others
        "chenjing": {"MZ-BGS": 90, "MZ-HYDJ": 80, "MZ-YLFW": 70},
        "yangfan": {"MZ-BGS": 80, "MZ-HYDJ": 90, "MZ-YLFW": 75},
        "zhouyong": {"MZ-BGS": 100, "MZ-SHJZ": "88.5", "MZ-YLFW": 76},
    }
    for name, scores in ballots.items():
        cast = client.post(f"/api/evaluation/surveys/{survey_id}/ballot", headers=raters[name], json={"scores": scores})
        assert cast.status_code == 200, (name, cast.text)
    again = client.post(f"/api/evaluation/surveys/{survey_id}/ballot", headers=raters["chenjing"],
                        json={"scores": ballots["chenjing"]})
    assert again.status_code == 409 and "每人只能填写一次" in again.json()["detail"]

    # A rater reads their own ballot and nobody else's: there is no address for another's, and
    # nothing they can read carries another's scores.
    mine = client.get(f"/api/evaluation/surveys/{survey_id}/ballot", headers=raters["yangfan"]).json()
    assert mine["scores"] == {"MZ-BGS": "80.00", "MZ-HYDJ": "90.00", "MZ-YLFW": "75.00"}
    for path in (f"/api/evaluation/surveys/{survey_id}", f"/api/evaluation/surveys/{survey_id}/ballot"):
        text = client.get(path, headers=raters["yangfan"]).text
        assert "96" not in text and "88.5" not in text and "70.5" not in text
    assert client.get(f"/api/instances/{survey['id']}", headers=raters["yangfan"]).status_code == 403
    office_view = client.get(f"/api/instances/{survey['id']}", headers=city.headers("zenglin")).text
    assert "88.5" not in office_view and "70.5" not in office_view  # ballots are not process data
    progress = client.get(f"/api/evaluation/surveys/{survey_id}/progress", headers=city.headers("zenglin")).json()
    assert progress["ballots"] == {"leader": 2, "other": 3}
    assert client.get(f"/api/evaluation/surveys/{survey_id}/progress", headers=raters["yangfan"]).status_code == 403

    city.do("pengliang", survey["id"], "close_survey", {"closing": "close"})
    assert city.instance(survey["id"])["status"] == "completed"
    late = client.post(f"/api/evaluation/surveys/{survey_id}/ballot", headers=city.headers("wangfang"),
                       json={"scores": {}})
    assert late.status_code == 409
    # Averages, each group apart:
    # 办公室    leaders: 黄丽 96 (王芳 is of 办公室) → 96; others: (90 + 80 + 100) / 3 = 90
    # 社会救助科 leaders: (90 + 86) / 2 = 88; others: 周勇 88.5 (陈静, 杨帆 are of it) → 88.5
    # 婚姻登记处 leaders: 王芳 85 → 85; others: (80 + 90) / 2 = 85 (周勇 is of it)
    # 养老服务科 leaders: (80 + 70.5) / 2 = 75.25; others: (70 + 75 + 76) / 3 = 221/3 = 73.666…
    expected = {"MZ-BGS": (96, 90), "MZ-SHJZ": (88, Fraction("88.5")), "MZ-HYDJ": (85, 85),
                "MZ-YLFW": (Fraction("75.25"), Fraction(221, 3))}
    for code, (leaders, others) in expected.items():
        assert stored(city, year_id, "unit", code) == {"SATIS.LEADERS": leaders, "SATIS.STAFF": others}, code
    # 工作满意度 of 养老服务科 = 75.25 × 40 % + 221/3 × 60 % = 30.1 + 44.2 = 74.3 (exact).
    assert Fraction("75.25") * Fraction(2, 5) + Fraction(221, 3) * Fraction(3, 5) == Fraction("74.3")


def test_a_unit_without_ballots_of_a_group_is_not_scored(city):
    year_id = open_year(city)
    survey = city.start("zenglin", "evaluation_survey", {"year_id": year_id})  # leaders: 王芳 (head post)
    survey_id = city.data(survey["id"])["survey_id"]
    form = city.client.get(f"/api/evaluation/surveys/{survey_id}", headers=city.headers("wangfang")).json()
    assert form["group"] == "leader" and "MZ-BGS" in form["excluded"]
    refused = city.complete("pengliang", city.step(survey["id"], "close_survey")["id"], {"closing": "close"},
                            status=409)
    assert "没有领导班子的测评票" in problems_text(refused)
    assert city.open_steps(survey["id"]) == ["close_survey"]


def test_a_year_of_another_region_routes_no_report(city):
    """A year's reports and 诫勉 talks go to posts, and posts are held by the catalog in force. Once
    another region's catalog is the one in force (a server without DUTYFLOW_REGION takes the newest
    published), 示例市's MZ year must not send its quarterly report to 另一市's MZ posts — other
    departments, other people under the same standard codes: the start is refused, saying why."""
    year_id = open_year(city)
    with city.database.session() as session:
        other = catalog.import_catalog(session, read_catalog(DEMO_CATALOG, overrides={"region": "另一市"}),
                                       "test", city.clock.now())
        catalog.publish_version(session, other.id, "test", city.clock.now())
    refused = city.start("zenglin", "evaluation_quarterly_report", {"year_id": year_id, "unit": "MZ-SHJZ", "quarter": 3},
                         status=422)
    assert "另一区划的权责清单" in refused["detail"], refused
