"""问责台账 (issue 12 item 4) end to end through the HTTP API, both backends: the efficiency office
opens an `accountability` process on a red card of a 最低生活保障审批 case, the person states their
case (申辩) at their post — only they, not the other holder of the post —, the office decides, the
decision lands in the ledger, and a sanction that counts as 处分 lowers the unit's grade and makes
the person 诫勉 in the year's evaluation (hand-computed below)."""

from __future__ import annotations

import pytest

from tests.process_helpers import PEOPLE, Scenario, problems_text
from tests.test_evaluation_api import STAFF, UNITS, all_scores, routine_subjective

LOW_INCOME = {"duty_code": "MZ-GF-001", "applicant": "张三"}


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path, monkeypatch):
    # 杨帆 (S004) holds 低保审核岗 MZ-SHJZ-01 with 陈静: the post's other holder.
    monkeypatch.setitem(PEOPLE, "yangfan", ("S004", ["staff"]))
    return Scenario(client, database, clock, settings, demo_catalog_path)


def red_card(city) -> tuple[int, int]:
    """A 低保 case received 2026-09-30 by 陈静 and left untouched: its 15 working days end before
    mid-November (the National Day holidays included), so 40 days on it is red."""
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    city.advance(days=40)
    overdue = city.events(case["id"], "overdue")
    assert overdue, city.events(case["id"])
    return case["id"], overdue[0]["id"]


def open_accountability(city, staff_id: str, case_id: int, event_id: int, status: int = 201) -> dict:
    return city.start("zenglin", "accountability", {
        "staff_id": staff_id, "ground_kind": "red_card", "ground_instance": case_id, "ground_event": event_id,
        "grounds": "最低生活保障审批超过承诺时限未办结"}, status=status)


def test_a_sanction_goes_through_statement_and_decision_into_the_ledger_and_the_grades(city, clock):
    case_id, event_id = red_card(city)
    client, office = city.client, city.headers("zenglin")

    # Only the efficiency office opens it; the ground must be what it claims.
    refused = client.post("/api/instances", headers=city.headers("wangfang"), json={
        "process_id": "accountability", "data": {"staff_id": "S003"}})
    assert refused.status_code == 403 and "效能办" in refused.json()["detail"]
    wrong = open_accountability(city, "S003", case_id, event_id + 1000, status=422)
    assert "overdue" in problems_text(wrong)

    first = open_accountability(city, "S003", case_id, event_id)
    statement = city.step(first["id"], "state_case")
    assert statement["post_code"] == "MZ-SHJZ-01"
    before = city.snapshot(first["id"])
    # 杨帆 holds the same post, but the 申辩 is 陈静's own.
    other = city.complete("yangfan", statement["id"], {"statement": "替她申辩"}, status=403)
    assert other["detail"] == "申辩只能由被问责人本人提出"
    assert city.snapshot(first["id"]) == before
    city.complete("chenjing", statement["id"], {"statement": "节日期间材料未齐，未及时处理"})
    decide = city.step(first["id"], "decide")
    assert decide["post_code"] in ("XN-DC-01", "XN-DC-02")
    missing_kind = city.complete("pengliang", decide["id"], {"outcome": "sanction", "reasons": "属实"}, status=422)
    assert "问责方式" in problems_text(missing_kind)
    city.complete("pengliang", decide["id"], {"outcome": "sanction", "sanction_kind": "efficiency_warning",
                                              "reasons": "超过承诺时限，申辩理由不成立"})
    assert city.instance(first["id"])["status"] == "completed"

    # 杨帆, the B角 of the same post: a 提醒谈话, which is not a 处分.
    second = open_accountability(city, "S004", case_id, event_id)
    city.do("yangfan", second["id"], "state_case", {"statement": "未被委派"})
    city.do("pengliang", second["id"], "decide", {"outcome": "sanction", "sanction_kind": "reminder_talk",
                                                  "reasons": "提醒关注 A角 的在办件"})

    # The ledger: who, for what, the statement, the decision, by whom.
    assert client.get("/api/accountability", headers=city.headers("chenjing")).status_code == 403
    entries = client.get("/api/accountability", headers=office).json()
    assert [(e["staff_id"], e["staff_name"], e["post_code"], e["unit_code"], e["sanction_name"],
             e["counts_for_evaluation"]) for e in entries] == [
        ("S003", "陈静", "MZ-SHJZ-01", "MZ-SHJZ", "效能告诫", True),
        ("S004", "杨帆", "MZ-SHJZ-01", "MZ-SHJZ", "提醒谈话", False),
    ]
    entry = entries[0]
    assert entry["ground_kind"] == "red_card" and entry["ground_instance_id"] == case_id
    assert entry["ground_event_id"] == event_id and "最低生活保障审批超过承诺时限未办结" in entry["grounds"]
    assert entry["statement"] == "节日期间材料未齐，未及时处理" and entry["statement_by"] == "chenjing"
    assert entry["decided_by"] == "pengliang" and entry["year"] == 2026 and entry["instance_id"] == first["id"]
    assert client.get(f"/api/accountability/{entry['id']}", headers=office).json() == entry
    assert client.get("/api/accountability/999", headers=office).json()["detail"] == "问责记录 999 不存在"

    # The evaluation of 市民政局 2026. Every subjective leaf of every unit 100 (常规工作 scored by
    # hand, as in test_evaluation_api), every person 95.
    year = client.post("/api/evaluation/years", json={"year": 2026, "department": "MZ"}, headers=office).json()
    year_id = year["year"]["id"]
    tree = routine_subjective(year["trees"]["unit"])
    assert client.put(f"/api/evaluation/years/{year_id}/indicators/unit", json={"tree": tree},
                      headers=office).status_code == 200
    assert client.post(f"/api/evaluation/years/{year_id}/open", headers=office).status_code == 200
    entries = all_scores(tree, "unit", UNITS, lambda *_: 100) + all_scores(year["trees"]["staff"], "staff", STAFF,
                                                                          lambda *_: 95)
    assert client.post(f"/api/evaluation/years/{year_id}/scores", json={"scores": entries},
                       headers=office).status_code == 200
    # 高效履职 of 社会救助科 is computed from its cases: the one case is unfinished and overdue, so
    # judged 1, on time 0, red 1: 100 × 0/1 − 5 × 1 = −5 → 0 (the minimum).
    shown = client.get(f"/api/evaluation/years/{year_id}/units/MZ-SHJZ/indicators", headers=office).json()
    assert [(r["indicator"], r["value"]) for r in shown] == [("MGMT.EFFICIENCY", "0.00")]
    result = client.post(f"/api/evaluation/years/{year_id}/compute", headers=office)
    assert result.status_code == 200, result.text
    units = {u["code"]: u for u in result.json()["units"]}
    staff = {s["code"]: s for s in result.json()["staff"]}
    # 社会救助科: 管理工作 = 100×(20+20+40) % + 0×20 % = 80; total = 100×40 % + 80×30 % + 100×10 %
    # + 100×20 % = 40 + 24 + 10 + 20 = 94 → 优秀 by score; 陈静's 效能告诫 is a 处分 → one grade down → 良好.
    shjz = units["MZ-SHJZ"]
    assert (shjz["total"], shjz["grade_by_score"], shjz["grade"]) == ("94.00", "优秀", "良好")
    assert "降一个等次" in shjz["reasons"][0]
    # 陈静: 95 → 优秀 by score, punished → 诫勉; 杨帆's 提醒谈话 is no 处分, but 杨帆's unit is not
    # 诫勉 either, so 杨帆 stays 优秀 at 95.
    assert (staff["S003"]["total"], staff["S003"]["grade"]) == ("95.00", "诫勉")
    assert f"问责台账第 {entry['id']} 号" in staff["S003"]["reasons"][0]
    assert (staff["S004"]["total"], staff["S004"]["grade"]) == ("95.00", "优秀")
    # The other units: 100 → 优秀, untouched.
    assert {code: units[code]["grade"] for code in ("MZ-BGS", "MZ-HYDJ", "MZ-YLFW")} == dict.fromkeys(
        ("MZ-BGS", "MZ-HYDJ", "MZ-YLFW"), "优秀")

    # A decision after the computation: publishing waits for a new one.
    clock.advance(minutes=5)
    third = open_accountability(city, "S005", case_id, event_id)
    city.do("zhaolei", third["id"], "state_case", {"statement": "不是本人的件"})
    city.do("pengliang", third["id"], "decide", {"outcome": "none", "reasons": "不是承办人"})
    clock.advance(minutes=5)
    fourth = open_accountability(city, "S003", case_id, event_id)
    city.do("chenjing", fourth["id"], "state_case", {"statement": "再次申辩"})
    city.do("pengliang", fourth["id"], "decide", {"outcome": "sanction", "sanction_kind": "public_criticism",
                                                  "reasons": "通报"})
    stale = client.post(f"/api/evaluation/years/{year_id}/publish", headers=office)
    assert stale.status_code == 409 and "重新计算" in stale.json()["detail"]


def test_bad_grounds_and_decisions_are_chinese_4xx(city):
    case_id, event_id = red_card(city)
    unknown = city.start("zenglin", "accountability", {
        "staff_id": "S999", "ground_kind": "red_card", "ground_instance": case_id, "ground_event": event_id,
        "grounds": "x"}, status=422)
    assert "现行清单中没有在岗人员 S999" in problems_text(unknown)
    kind = city.start("zenglin", "accountability", {
        "staff_id": "S003", "ground_kind": "rumour", "ground_instance": case_id, "grounds": "x"}, status=422)
    assert "未知的问责事由类型" in problems_text(kind)
    complaint = city.start("zenglin", "accountability", {
        "staff_id": "S003", "ground_kind": "upheld_complaint", "ground_instance": case_id, "ground_task": 1,
        "grounds": "x"}, status=422)
    assert "efficiency_complaint" in problems_text(complaint)
    opened = open_accountability(city, "S003", case_id, event_id)
    city.do("chenjing", opened["id"], "state_case", {"statement": "申辩"})
    decide = city.step(opened["id"], "decide")
    none_with_kind = city.complete("pengliang", decide["id"], {
        "outcome": "none", "sanction_kind": "criticism", "reasons": "x"}, status=422)
    assert "不予问责时不能选择问责方式" in problems_text(none_with_kind)
    assert city.client.get("/api/accountability", headers=city.headers("zenglin")).json() == []
