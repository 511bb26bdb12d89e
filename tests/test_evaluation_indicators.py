"""Objective indicators from the record (engine.evaluation.indicators): real 限时办结 cases driven
through the process and the case clock with a controlled clock (engine.runtime.simulation's
steps, the scenario files in tests/data/evaluation/), then 高效履职 and 常规工作 computed in SQL
and checked against values worked out by hand; upheld complaints and self-inspection results from
the efficiency_complaint and self_inspection_campaign processes driven over the HTTP API. Both
backends (the `database` fixture)."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path

import pytest

from engine.auth.roles import EFFICIENCY_OFFICE, STAFF, Actor
from engine.clock import BEIJING, ControlledClock
from engine.config import get_settings
from engine.evaluation import indicators, scheme, service
from engine.runtime import simulation
from engine.runtime.worker import Worker
from tests.process_helpers import Scenario

DATA = Path(__file__).resolve().parent / "data" / "evaluation"
# In this order the cases get instance ids 1..5 (the first three are received at the same moment).
CASES = ["on-time", "late-notice", "extended", "open-overdue", "open-not-due"]
OFFICE = Actor("zenglin", "S091", frozenset({STAFF, EFFICIENCY_OFFICE}), "曾琳")
AS_OF = datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)


def drive_cases(database) -> None:
    """Every scenario's events, merged in time order, on one database (one catalog, one worker)."""
    settings = get_settings()
    scenarios = [simulation.read_scenario(DATA / f"{name}.yaml") for name in CASES]
    events = sorted(((event.at, i, event) for i, s in enumerate(scenarios) for event in s.events), key=lambda e: e[:2])
    clock = ControlledClock(events[0][0])
    simulation.prepare(database, scenarios[0], settings.processes_dir, settings.demo_catalog, clock)
    worker = Worker(database, clock, worker_id="evaluation-test", lease_seconds=60, batch=50)
    instances: dict[int, int | None] = {}
    for at, i, event in events:
        clock.set(at)
        worker.run_until_idle()
        with database.session() as session:
            instances[i] = simulation.apply(session, clock, scenarios[i], event, instances.get(i))
        worker.run_until_idle()
    assert [instances[i] for i in range(len(CASES))] == [1, 2, 3, 4, 5]
    clock.set(AS_OF)
    worker.run_until_idle()


def test_efficiency_and_routine_work_from_real_cases(database):
    drive_cases(database)
    with database.session() as session:
        year = service.create_year(session, OFFICE, 2026, AS_OF, department="AJ")
        found = {value[0].code: value[2] for value in service.objective_values(session, year, "AJ-WH", AS_OF)}
        efficiency = found["MGMT.EFFICIENCY"]
        # 5 cases of 危险化学品安全监管科 in 2026: finished 3 (on-time ✓, late-notice ✗, extended ✓),
        # open past due 1 (open-overdue, due 11-10 17:30), open and not due 1 (not judged).
        # judged = 3 + 1 = 4; on time 2; 红牌 = 1 late + 1 open past due = 2;
        # 延期 1 (extended); 一次性告知违规 1 (late-notice).
        # value = 100 × 2/4 − 5 × 2 − 2 × 1 − 1 × 1 = 50 − 10 − 2 − 1 = 37
        assert efficiency.figures == {"cases": 5, "judged": 4, "finished": 3, "on_time": 2, "red": 2,
                                      "finished_late": 1, "open_overdue": 1, "extensions": 1, "notice_violations": 1,
                                      "complaints_upheld": 0, "complaints_partly_upheld": 0,
                                      "runarounds": 0}  # no complaint, no transfer here
        assert efficiency.value == Fraction(37)
        assert efficiency.cases.to_json() == {"count": 5, "ids": [1, 2, 3, 4, 5]}
        assert {k: v.to_json() for k, v in efficiency.breakdown.items()} == {
            "red": {"count": 2, "ids": [2, 4]}, "extended": {"count": 1, "ids": [3]},
            "notice_late": {"count": 1, "ids": [2]}, "complaint_upheld": {"count": 0, "ids": []},
            "complaint_partly_upheld": {"count": 0, "ids": []}, "runaround": {"count": 0, "ids": []}}
        assert "100 × 按时办结件数 ÷ 已判定件数" in efficiency.formula_text
        # 常规工作: the unit carries one duty (AJ-XK-001); all five cases were received in Q4
        # (October and November): Q4 = 100 × 1/1 = 100; Q1-Q3 no case: 100 × 0/1 = 0.
        assert [found[f"FUNC.Q{q}.ROUTINE"].value for q in (1, 2, 3, 4)] == [0, 0, 0, 100]
        q4 = found["FUNC.Q4.ROUTINE"]
        assert q4.figures == {"duties": 1, "active_duties": 1, "idle_duties": 0, "cases": 5}
        assert q4.details == [{"duty_code": "AJ-XK-001", "duty_name": "危险化学品经营许可", "cases": 5}]
        assert found["FUNC.Q1.ROUTINE"].notes == ["期间内没有办件的职责事项 1 项：AJ-XK-001 危险化学品经营许可"]

        # 非煤矿山安全监管科 had no case: nothing judged → the share counts as 100, no deductions.
        other = {value[0].code: value[2] for value in service.objective_values(session, year, "AJ-FM", AS_OF)}
        assert other["MGMT.EFFICIENCY"].value == 100 and other["MGMT.EFFICIENCY"].cases.count == 0
        assert other["MGMT.EFFICIENCY"].notes == ["期间内尚无已办结或已超期的办件：按时率计 100"]

        # The report the API shows: the value, its formula and the cases one click away.
        report = service.indicator_report(session, OFFICE, year.id, "AJ-WH", AS_OF)
        row = next(r for r in report if r["indicator"] == "MGMT.EFFICIENCY")
        assert (row["name"], row["value"], row["cases"]["ids"]) == ("管理工作 · 高效履职", "37.00", [1, 2, 3, 4, 5])


def test_before_the_red_moment_an_open_case_is_not_judged(database):
    drive_cases(database)
    with database.session() as session:
        year = service.create_year(session, OFFICE, 2026, AS_OF, department="AJ")
        # As of 11-10 12:00 the open-overdue case is not yet due (11-10 17:30) and the late case
        # was delivered on 11-02: judged 3, on time 2, 红牌 1, 延期 1, 告知违规 1
        # → 100 × 2/3 − 5 − 2 − 1 = 200/3 − 8 = 176/3 (58.66 shown).
        as_of = datetime(2026, 11, 10, 12, 0, tzinfo=BEIJING)
        found = {value[0].code: value[2] for value in service.objective_values(session, year, "AJ-WH", as_of)}
        assert found["MGMT.EFFICIENCY"].value == Fraction(176, 3)


# ---------------------------------------------------------------- upheld complaints, self-inspection
# Driven through the real processes over the HTTP API on the demo catalog (tests.process_helpers),
# the clock at 2026-09-30 09:00 (the `clock` fixture): every decision and check falls in 2026.


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


COMPLAINT = {"subject": "非煤矿山检查拖延", "complainant": "李四", "department": "AJ"}


def _complaint(city, decisions: list[str]) -> int:
    """A complaint against 市安监局, investigated at its head post AJ-FM-01 (非煤矿山安全监管科),
    decided once per entry of `decisions`; the complainant is unsatisfied while more follow."""
    complaint = city.start("zenglin", "efficiency_complaint", COMPLAINT)["id"]
    city.do("zenglin", complaint, "accept_complaint", {"acceptance": "accept", "department": "AJ"})
    for i, substantiated in enumerate(decisions):
        assert city.step(complaint, "investigate")["post_code"] == "AJ-FM-01"
        city.do("zhujun", complaint, "investigate", {"findings": "已核实"})
        city.do("pengliang", complaint, "decide_complaint",
                {"substantiated": substantiated, "sanction": "无", "decision_text": "处理决定"})
        more = i + 1 < len(decisions)
        city.do("zenglin", complaint, "reply", {"reply_text": "答复", "satisfaction": "unsatisfied" if more else "satisfied"})
    assert city.instance(complaint)["status"] == "completed"
    return complaint


def test_upheld_complaints_lower_efficiency_of_the_unit_that_answered(city):
    upheld = _complaint(city, ["yes"])
    partly = _complaint(city, ["partly"])
    _complaint(city, ["no"])
    reopened = _complaint(city, ["yes", "no"])  # the second decision replaces the first: not upheld
    with city.database.session() as session:
        year = service.create_year(session, OFFICE, 2026, city.clock.now(), department="AJ")
        found = {v[0].code: v[2] for v in service.objective_values(session, year, "AJ-FM", city.clock.now())}
        efficiency = found["MGMT.EFFICIENCY"]
        # 非煤矿山安全监管科 has no case clock of its own (the complaints name no duty): nothing judged,
        # the share counts as 100. Complaints answered at AJ-FM-01: one 属实 (−5), one 部分属实 (−3),
        # one not substantiated and one decided 属实 then, reopened, 不属实 (no deduction).
        # value = 100 − 5 × 1 − 3 × 1 = 92
        assert efficiency.value == Fraction(92)
        assert (efficiency.figures["complaints_upheld"], efficiency.figures["complaints_partly_upheld"]) == (1, 1)
        assert efficiency.breakdown["complaint_upheld"].to_json() == {"count": 1, "ids": [upheld]}
        assert efficiency.breakdown["complaint_partly_upheld"].to_json() == {"count": 1, "ids": [partly]}
        assert reopened not in efficiency.breakdown["complaint_upheld"].ids
        assert "5 × 投诉属实件数 − 3 × 投诉部分属实件数" in efficiency.formula_text
        # 危险化学品安全监管科 answered none of them: 100.
        other = {v[0].code: v[2] for v in service.objective_values(session, year, "AJ-WH", city.clock.now())}
        assert other["MGMT.EFFICIENCY"].value == 100
        # A region's year counts them against the department: 市安监局 100 − 5 − 3 = 92.
        region = indicators.compute(session, indicators.EFFICIENCY, "AJ", 2026, None, city.clock.now(),
                                    year.catalog_version_id, by_department=True)
        assert region.value == Fraction(92)
        # Decided in 2026, so nothing in 2025.
        before = indicators.compute(session, indicators.EFFICIENCY, "AJ-FM", 2025, None, city.clock.now(),
                                    year.catalog_version_id)
        assert before.value == 100 and before.figures["complaints_upheld"] == 0


def test_self_inspection_counts_rectifications_passed_at_the_first_check(city):
    campaign = city.start("pengliang", "self_inspection_campaign", {"units": ["MZ-SHJZ", "MZ-HYDJ"]})["id"]
    who = {"MZ-SHJZ-01": "chenjing", "MZ-HYDJ-01": "huangli"}
    found = {"MZ-SHJZ-01": ["低保台账不全", "公示不及时"], "MZ-HYDJ-01": ["档案未归档"]}
    for task in city.steps(campaign, "self_inspect"):
        city.complete(who[task["post_code"]], task["id"], {"inspection_summary": "已自查", "problems": found[task["post_code"]]})

    def rectify_and_check(verdicts: dict[str, str]) -> None:
        for task in city.steps(campaign, "rectify"):
            city.complete(who[task["post_code"]], task["id"], {"measures": "已整改"})
        for task in city.steps(campaign, "check_rectification"):
            verdict = verdicts[task["item"]["value"]["problem"]]
            city.complete("pengliang", task["id"], {"verdict": verdict} | (
                {"check_opinion": "整改不到位"} if verdict == "return" else {}))

    rectify_and_check({"低保台账不全": "accept", "公示不及时": "return", "档案未归档": "return"})
    rectify_and_check({"公示不及时": "accept", "档案未归档": "accept"})
    assert city.open_steps(campaign) == ["close_campaign"]
    # Each unit's results under an adjusted tree: 依法履职 split into 自查整改 (objective) and a
    # subjective part, 50 % each (the default tree has no self-inspection leaf).
    tree = scheme.tree_to_json(scheme.default_unit_tree())
    management = next(n for n in tree if n["code"] == "MGMT")
    law = next(n for n in management["children"] if n["code"] == "MGMT.LAW")
    law.update(kind="group", children=[
        {"code": "MGMT.LAW.SELF", "name": "自查整改", "weight": "50", "kind": "objective", "formula": "self_inspection"},
        {"code": "MGMT.LAW.REVIEW", "name": "依法履职评议", "weight": "50", "kind": "subjective"}])
    with city.database.session() as session:
        year = service.create_year(session, OFFICE, 2026, city.clock.now(), department="MZ")
        service.replace_tree(session, OFFICE, year.id, "unit", tree)
        values = {}
        for unit in ("MZ-SHJZ", "MZ-HYDJ", "MZ-BGS"):
            values[unit] = next(v for n, _, v in service.objective_values(session, year, unit, city.clock.now())
                                if n.code == "MGMT.LAW.SELF")
        # 社会救助科: two rectifications, 低保台账不全 passed at its first check, 公示不及时 sent back
        # once then passed: 100 × 1 ÷ 2 = 50; sent back 1.
        assert values["MZ-SHJZ"].value == 50
        assert values["MZ-SHJZ"].figures == {"checked": 2, "passed_first_time": 1, "sent_back": 1}
        assert values["MZ-SHJZ"].cases.to_json() == {"count": 1, "ids": [campaign]}
        # 婚姻登记科: one rectification, sent back at its first check: 100 × 0 ÷ 1 = 0.
        assert values["MZ-HYDJ"].value == 0
        assert values["MZ-HYDJ"].figures == {"checked": 1, "passed_first_time": 0, "sent_back": 1}
        assert values["MZ-HYDJ"].breakdown["sent_back"].to_json() == {"count": 1, "ids": [campaign]}
        # 办公室 had nothing checked: 100, noted.
        assert values["MZ-BGS"].value == 100 and values["MZ-BGS"].notes == ["期间内没有整改项经首次检查验收：计 100"]
        # A region's year: 市民政局 = 100 × (1 + 0) ÷ (2 + 1) = 100/3.
        region = indicators.compute(session, indicators.SELF_INSPECTION, "MZ", 2026, None, city.clock.now(),
                                    year.catalog_version_id, by_department=True)
        assert region.value == Fraction(100, 3) and region.figures["sent_back"] == 2
