"""Acceptance: a case accept → review → decide with 5个工作日 accepted on 2026-09-30 is due on
2026-10-13 (National Day skipped, the 调休 Saturday 10-10 counted); it turns yellow and red at
the right moments (the worker fires the warnings); a stage over its own limit is red while the
case is not; a correction restarts the count; an expert review pauses it."""

from __future__ import annotations

import pytest

from engine.models.timers import Escalation, RuntimeTimer, TimerKind, TimerStatus
from engine.runtime.clocks import views as clock_views
from engine.runtime.clocks import warnings as clock_warnings
from engine.runtime.worker import Worker
from tests.timers_helpers import at, complete, events, open_tasks, setup_catalog_and_processes, start

FIVE_DAYS = {"limit": "5个工作日", "unit_code": "MZ-SHJZ", "department_code": "MZ", "applicant": "张三"}


@pytest.fixture
def case(database, clock, demo_catalog_path):
    setup_catalog_and_processes(database, clock, demo_catalog_path, "timed_case")
    return start(database, clock, "timed_case", FIVE_DAYS)


@pytest.fixture
def worker(database, clock):
    return Worker(database, clock, worker_id="test-worker", lease_seconds=30)


def clock_of(database, clock, instance_id):
    with database.session() as session:
        return clock_views.case_clock(session, instance_id, clock)


def pending(database, instance_id, kind):
    from sqlalchemy import select

    with database.session() as session:
        return list(session.scalars(select(RuntimeTimer.due_at).where(
            RuntimeTimer.instance_id == instance_id, RuntimeTimer.kind == kind,
            RuntimeTimer.status == TimerStatus.pending)))


def test_five_working_days_from_national_day_eve_are_due_on_october_13(database, clock, case):
    view = clock_of(database, clock, case)
    assert view["limit"] == "5个工作日" and view["limit_source"] == "data"
    assert view["due_at"] == at(2026, 10, 13, 17, 30).isoformat()
    # Two thirds of the 35 office hours are used at 10-12 11:20, before "one working day left" (10-12 17:30).
    assert view["yellow_at"] == at(2026, 10, 12, 11, 20).isoformat()
    assert view["state"] == "green" and view["provisional"] is False
    assert pending(database, case, TimerKind.case_yellow) == [at(2026, 10, 12, 11, 20)]
    assert pending(database, case, TimerKind.case_red) == [at(2026, 10, 13, 17, 30)]
    [stage] = view["stages"]
    assert (stage["stage"], stage["limit"], stage["due_at"]) == ("受理", "1个工作日", at(2026, 10, 8, 17, 30).isoformat())


def test_yellow_then_red_fired_by_the_worker_with_escalation_to_the_unit_head(database, clock, case, worker):
    clock.set(at(2026, 9, 30, 10, 0))
    complete(database, clock, case, "accept", {"complete": True})
    clock.set(at(2026, 10, 8, 9, 0))
    complete(database, clock, case, "review", {"expert": False})
    assert list(open_tasks(database, case)) == ["decide"]

    def case_events(kind):
        return [e.detail for e in events(database, case, kind) if e.detail["scope"] == "case"]

    clock.set(at(2026, 10, 12, 11, 19))
    # the decide stage (2 working days from 10-08, due 10-09 17:30) warned and overran already
    assert worker.run_until_idle() == 2
    assert [e.detail["stage"] for e in events(database, case, "overdue")] == ["决定"]
    assert case_events("warned") == [] and clock_of(database, clock, case)["state"] == "green"

    clock.set(at(2026, 10, 12, 11, 20))
    assert worker.run_once() == 1
    [warned] = case_events("warned")
    assert warned["level"] == "yellow"
    assert clock_of(database, clock, case)["state"] == "yellow"

    clock.set(at(2026, 10, 13, 17, 29))
    assert worker.run_until_idle() == 0
    clock.set(at(2026, 10, 13, 17, 30))
    assert worker.run_until_idle() == 1
    view = clock_of(database, clock, case)
    assert view["state"] == "red" and view["time_left_seconds"] == 0
    [overdue] = case_events("overdue")
    assert overdue["level"] == "red"
    escalated = events(database, case, "escalated")
    assert len(escalated) == 2  # the decide stage, then the case
    # 社会救助科 marks no head post: the matter goes to 市民政局's head post as the catalog names it
    assert escalated[-1].detail["to_posts"] == ["MZ-BGS-01"]
    case_escalations = [e for e in view["escalations"] if e["kind"] == TimerKind.case_red]
    assert len(case_escalations) == 1 and case_escalations[0]["department_code"] == "MZ"

    # running the worker again changes nothing: every warning fires once
    clock.advance(hours=1)
    assert worker.run_until_idle() == 0
    assert len(events(database, case, "escalated")) == len(escalated)

    clock.set(at(2026, 10, 14, 9, 0))
    complete(database, clock, case, "decide", {"decision": "approve"})
    view = clock_of(database, clock, case)
    assert view["state"] == "red" and view["on_time"] is False and view["finished_at"] is not None


def test_a_stage_over_its_own_limit_is_red_while_the_case_is_green(database, clock, case, worker):
    clock.set(at(2026, 9, 30, 10, 0))
    complete(database, clock, case, "accept", {"complete": True})
    # 审查 has 2 working days from 09-30: due 10-09 17:30 (10-08, 10-09)
    clock.set(at(2026, 10, 9, 17, 30))
    worker.run_until_idle()
    view = clock_of(database, clock, case)
    assert view["state"] == "green"
    review = next(s for s in view["stages"] if s["stage"] == "审查")
    assert review["state"] == "red" and review["due_at"] == at(2026, 10, 9, 17, 30).isoformat()
    [overdue] = events(database, case, "overdue")
    assert overdue.detail["scope"] == "stage" and overdue.detail["stage"] == "审查"
    with database.session() as session:
        warnings = clock_warnings.open_warnings(session, clock, "MZ")
    assert [(w["instance_id"], w["state"], w["case_state"]) for w in warnings] == [(case, "red", "green")]
    with database.session() as session:
        [escalation] = session.query(Escalation).all()
        assert (escalation.kind, escalation.stage) == (TimerKind.stage_red, "审查")

    clock.set(at(2026, 10, 10, 9, 0))
    complete(database, clock, case, "review", {"expert": False})
    review = next(s for s in clock_of(database, clock, case)["stages"] if s["stage"] == "审查")
    assert review["overran"] is True and review["status"] == "completed"


def test_correction_restarts_the_count_the_day_after_the_materials_arrive(database, clock, case, worker):
    clock.set(at(2026, 10, 9, 10, 0))
    complete(database, clock, case, "accept", {"complete": False})
    assert list(open_tasks(database, case)) == ["correction"]
    clock.set(at(2026, 10, 12, 15, 0))
    complete(database, clock, case, "correction")
    view = clock_of(database, clock, case)
    # counted from 10-13: 10-13, 14, 15, 16, 19
    assert view["due_at"] == at(2026, 10, 19, 17, 30).isoformat()
    assert view["restarts"] == 1 and view["counting_from"] == at(2026, 10, 12, 15, 0).isoformat()
    [restarted] = events(database, case, "restarted")
    assert restarted.detail["due_at"] == at(2026, 10, 19, 17, 30).isoformat()
    assert pending(database, case, TimerKind.case_red) == [at(2026, 10, 19, 17, 30)]
    # the old red moment (10-13) no longer fires
    clock.set(at(2026, 10, 13, 18, 0))
    worker.run_until_idle()
    assert [e for e in events(database, case, "overdue") if e.detail["scope"] == "case"] == []
    assert clock_of(database, clock, case)["state"] in ("green", "yellow")


def test_expert_review_pauses_the_clock(database, clock, case, worker):
    clock.set(at(2026, 9, 30, 10, 0))
    complete(database, clock, case, "accept", {"complete": True})
    clock.set(at(2026, 10, 8, 10, 0))
    complete(database, clock, case, "review", {"expert": True})
    view = clock_of(database, clock, case)
    assert view["paused"] is True and view["state"] == "paused"
    assert pending(database, case, TimerKind.case_red) == []
    [paused] = events(database, case, "paused")
    assert paused.detail["reason"] == "专家评审"

    # while paused, the old red moment passes without a warning
    clock.set(at(2026, 10, 14, 10, 0))
    worker.run_until_idle()
    assert [e for e in events(database, case, "overdue") if e.detail["scope"] == "case"] == []
    complete(database, clock, case, "expert_review")
    view = clock_of(database, clock, case)
    assert view["paused"] is False
    # paused 10-08 10:00 → 10-14 10:00 = 6h + 7h + 7h + 7h + 7h + 1h = 35h of office time = 5 working days
    assert view["paused_working_seconds"] == 35 * 3600
    assert view["due_at"] == at(2026, 10, 20, 17, 30).isoformat()
    [resumed] = events(database, case, "resumed")
    assert resumed.detail["paused_working_seconds"] == 35 * 3600
    assert pending(database, case, TimerKind.case_red) == [at(2026, 10, 20, 17, 30)]


def test_committed_limit_of_the_duty_is_the_case_limit(database, clock, demo_catalog_path):
    setup_catalog_and_processes(database, clock, demo_catalog_path, "timed_case")
    instance = start(database, clock, "timed_case", {"duty_code": "MZ-GF-001", "limit": "3个工作日"})
    view = clock_of(database, clock, instance)
    assert (view["limit"], view["limit_source"], view["unit_code"], view["department_code"]) == (
        "15个工作日", "committed", "MZ-SHJZ", "MZ")
    # stage limits 1 + 2 + 2 fit in 15 and apply as written
    assert view["stages"][0]["limit"] == "1个工作日"


def test_stage_limits_longer_than_the_case_are_scaled_down_to_fit(database, clock, demo_catalog_path):
    setup_catalog_and_processes(database, clock, demo_catalog_path, "timed_case")
    instance = start(database, clock, "timed_case", {"limit": "3个工作日"})
    # 1 + 2 + 2 = 5 > 3: shares 0.6 / 1.2 / 1.2 → 1 / 1 / 1 (largest remainder)
    complete(database, clock, instance, "accept", {"complete": True})
    complete(database, clock, instance, "review", {"expert": False})
    stages = clock_of(database, clock, instance)["stages"]
    assert [(s["stage"], s["limit"]) for s in stages] == [("受理", "1个工作日"), ("审查", "1个工作日"), ("决定", "1个工作日")]


def test_red_case_sends_case_overdue_to_a_process_waiting_for_it(database, clock, demo_catalog_path):
    """The process library's time_limited_case waits for the message `case_overdue` (督办 branch)."""
    from pathlib import Path

    from engine.runtime import service
    from tests.timers_helpers import ADMIN_ACTOR

    path = Path(__file__).resolve().parents[1] / "processes" / "time_limited_case.bpmn"
    if not path.exists() or clock_warnings.OVERDUE_MESSAGE not in path.read_text(encoding="utf-8"):
        pytest.skip("the process library does not wait for case_overdue")
    setup_catalog_and_processes(database, clock, demo_catalog_path)
    with database.session() as session:
        service.deploy_definition(session, clock, path.read_bytes(), path.name, ADMIN_ACTOR)
    instance = start(database, clock, "time_limited_case", {"duty_code": "MZ-GF-001", "applicant": "张三"})
    view = clock_of(database, clock, instance)
    assert (view["limit"], view["due_at"]) == ("15个工作日", at(2026, 10, 27, 17, 30).isoformat())
    before = set(open_tasks(database, instance))
    clock.set(at(2026, 10, 27, 17, 30))
    Worker(database, clock, worker_id="w").run_until_idle()
    after = set(open_tasks(database, instance))
    assert after - before, "the red case opened the escalation tasks of the process"
    assert [e.detail["kind"] for e in events(database, instance, "escalated")][-1] == TimerKind.case_red


def test_provisional_deadline_is_recomputed_when_the_year_is_entered(database, clock, demo_catalog_path):
    from engine.calendar.working import WorkingCalendar

    setup_catalog_and_processes(database, clock, demo_catalog_path, "timed_case")
    clock.set(at(2027, 9, 29, 9, 0))  # 2027 has no official data yet
    instance = start(database, clock, "timed_case", FIVE_DAYS)
    view = clock_of(database, clock, instance)
    assert view["provisional"] is True
    # Provisional 2027: weekends and the statutory 国庆 days 10-01..03 rest (no 调休 guessed).
    # From Wed 09-29: 09-30 (1), 10-01..03 rest, 10-04 (2), 10-05 (3), 10-06 (4), 10-07 (5).
    assert view["due_at"] == at(2027, 10, 7, 17, 30).isoformat()
    entered = WorkingCalendar(overrides={at(2027, 10, d).date(): False for d in range(1, 8)}, entered_years={2027})
    with database.session() as session:
        assert clock_warnings.recompute_provisional(session, entered, clock.now()) >= 1
    view = clock_of(database, clock, instance)
    assert view["provisional"] is False
    assert view["due_at"] == at(2027, 10, 13, 17, 30).isoformat()
    assert pending(database, instance, TimerKind.case_red) == [at(2027, 10, 13, 17, 30)]


def test_send_back_closes_the_stage_and_the_redone_step_gets_a_fresh_clock(database, clock, case, worker):
    from engine.runtime import service
    from tests.timers_helpers import HANDLER

    clock.set(at(2026, 9, 30, 10, 0))
    complete(database, clock, case, "accept", {"complete": True})
    clock.set(at(2026, 10, 8, 10, 0))
    with database.session() as session:
        service.send_back(session, clock, open_tasks(database, case)["review"], "accept", "材料需重新核对", HANDLER)
    assert list(open_tasks(database, case)) == ["accept"]
    stages = clock_of(database, clock, case)["stages"]
    assert [(s["stage"], s["status"]) for s in stages] == [("受理", "completed"), ("审查", "cancelled"), ("受理", "open")]
    redone = stages[-1]
    assert redone["started_at"] == at(2026, 10, 8, 10, 0).isoformat()
    assert redone["due_at"] == at(2026, 10, 9, 17, 30).isoformat()
    # the cancelled review stage (due 10-09 17:30) gives no warning; the redone accept stage does
    clock.set(at(2026, 10, 9, 17, 30))
    worker.run_until_idle()
    assert [e.detail["stage"] for e in events(database, case, "overdue")] == ["受理"]
