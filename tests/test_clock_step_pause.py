"""A step's clock stands still with its case (issue 14 item 2): while the case is paused its open
steps show paused (never yellow or red) and get no cards; when it resumes, each open step's due
moment moves by the office time it stood still."""

from __future__ import annotations

from engine.auth.roles import Actor
from engine.models.runtime import WorkTask
from engine.models.timers import TimerKind
from engine.runtime.clocks import commands, views
from engine.runtime.worker import Worker
from tests.test_timers_deadlines import FIVE_DAYS, pending
from tests.timers_helpers import at, open_tasks, setup_catalog_and_processes, start

EFFICIENCY_OFFICE = Actor("liuyang", "S002", frozenset({"staff", "efficiency_office"}))


def test_an_open_step_pauses_with_its_case_and_moves_when_it_resumes(database, clock, demo_catalog_path):
    setup_catalog_and_processes(database, clock, demo_catalog_path, "timed_case")
    case = start(database, clock, "timed_case", FIVE_DAYS)  # received 2026-09-30 09:00
    accept = open_tasks(database, case)["accept"]
    # 受理 has its own 1个工作日: the next working day after 09-30 is 10-08 (10-01..07 holiday),
    # so it is due 10-08 17:30.
    with database.session() as session:
        stage = views.task_deadline(session, session.get(WorkTask, accept), clock)
        assert stage is not None and stage.due_at == at(2026, 10, 8, 17, 30)
    clock.set(at(2026, 9, 30, 10, 0))
    with database.session() as session:
        commands.pause_case(session, clock, case, "听证", EFFICIENCY_OFFICE)
    assert pending(database, case, TimerKind.stage_red) == []  # no card while it stands still

    clock.set(at(2026, 10, 9, 10, 0))  # past the step's own due moment: still paused, not red
    Worker(database, clock, worker_id="w").run_until_idle()
    with database.session() as session:
        stage = views.task_deadline(session, session.get(WorkTask, accept), clock)
        assert stage is not None and stage.state == "paused"
        commands.resume_case(session, clock, case, EFFICIENCY_OFFICE)
    # Paused 09-30 10:00 → 10-09 10:00: 09-30 6h (10:00-12:00, 13:30-17:30) + 10-08 7h + 10-09 1h =
    # 14h = two office days; the step's due moves from 10-08 17:30 by 14h: 10-09 17:30 (7h), then
    # 10-10 17:30 (a 调休 working Saturday, 7h).
    with database.session() as session:
        stage = views.task_deadline(session, session.get(WorkTask, accept), clock)
        assert stage is not None and stage.due_at == at(2026, 10, 10, 17, 30) and stage.state != "red"
    assert pending(database, case, TimerKind.stage_red) == [at(2026, 10, 10, 17, 30)]
