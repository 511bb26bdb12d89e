"""Objective indicators from the record (engine.evaluation.indicators): real 限时办结 cases driven
through the process and the case clock with a controlled clock (engine.runtime.simulation's
steps, the scenario files in tests/data/evaluation/), then 高效履职 and 常规工作 computed in SQL
and checked against values worked out by hand. Both backends (the `database` fixture)."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path

from engine.auth.roles import EFFICIENCY_OFFICE, STAFF, Actor
from engine.clock import BEIJING, ControlledClock
from engine.config import get_settings
from engine.evaluation import service
from engine.runtime import simulation
from engine.runtime.worker import Worker

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
                                      "finished_late": 1, "open_overdue": 1, "extensions": 1, "notice_violations": 1}
        assert efficiency.value == Fraction(37)
        assert efficiency.cases.to_json() == {"count": 5, "ids": [1, 2, 3, 4, 5]}
        assert {k: v.to_json() for k, v in efficiency.breakdown.items()} == {
            "red": {"count": 2, "ids": [2, 4]}, "extended": {"count": 1, "ids": [3]},
            "notice_late": {"count": 1, "ids": [2]}}
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
