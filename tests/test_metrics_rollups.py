"""Issue 12 item 6: the efficiency figures read from rollups kept in each step's transaction
(engine.runtime.rollups) are the figures worked out by hand, after a history with every kind of
correction; and the migration's backfill gives exactly the rollups the steps kept.

The process is the test accept → review → decide (受理 MZ-SHJZ-01 by 陈静, 审查 MZ-SHJZ-02 by 赵磊,
决定 MZ-BGS-01 by 王芳, the head post of 市民政局办公室), the 决定 step with its own stage limit of
2小时. Every case is 最低生活保障审批 (MZ-GF-001: 15个工作日, unit MZ-SHJZ, department MZ), received
2026-09-30 (Wed) 09:00: the receiving day is not counted, 10-01 … 10-07 are holidays, Saturday 10-10
is a working day, 10-11 a Sunday, so the case is due 2026-10-27 17:30 (tests/test_metrics_by_case.py
counts the 15 days). Office hours 09:00–12:00 and 13:30–17:30 (7 h a day).

The history (`mixed_history`), the working time of each step worked out from those hours:
- H, on time: 受理 10-08 10:00 (09-30 09:00–17:30 = 7 h, + 10-08 09:00–10:00 = 1 h: 28800 s),
  审查 11:00 (3600 s), 决定 14:00 (11:00–12:00 + 13:30–14:00 = 5400 s; due 2 office hours after
  11:00 = 14:30: on time). The case finishes 10-08, on time.
- L, late: 受理 10-08 10:00 (28800 s), 审查 11-02 10:00 (10-08 6 h + 17 working days × 7 h +
  11-02 1 h = 126 h = 453600 s), 决定 ready 11-02 10:00, due 12:00, done 15:00 (10:00–12:00 +
  13:30–15:00 = 12600 s): the step is late, and the case, finished 11-02 after 10-27 17:30, too.
- S, sent back: 受理 10-08 10:00 (28800 s); 审查 sends it back at 11:00 (that 审查 row is cancelled
  and counts nowhere); 受理 again, ready 11:00, done 14:00 (5400 s); 审查 again 14:00–15:00
  (3600 s); 决定 ready 15:00, due 17:00, done 10-09 10:00 (15:00–17:30 + 09:00–10:00 = 12600 s):
  late. The case finishes 10-09, on time.
- P, paused and extended: 受理 10-08 10:00 (28800 s); the efficiency office pauses the case clock
  10-08 12:00 and resumes it 10-09 12:00; the head grants 10个工作日 at 12:30 (an `extended` event;
  the test's catalog allows this duty 10个工作日 of extension);
  审查 done 10-12 10:00 (10-08 10:00–17:30 6 h, 10-09 7 h, 10-10 7 h, 10-12 1 h = 21 h = 75600 s);
  决定 10:00–11:00 (3600 s, due 12:00: on time). The case finishes 10-12, on time.
- W, withdrawn: 受理 10-08 10:00 (28800 s); 陈静 withdraws it at 10:30 (the 审查 row that had become
  ready is cancelled; the completed 受理 row stays as it was, and 受理 comes back as a new row);
  受理 again 10:30–11:00 (1800 s); 审查 waits from 11:00. The case is open, past due at the end.
The figures are read at 11-02 15:00.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Float, delete, event, literal, select, update
from sqlmodel import col

from engine.catalog.in_force import catalog_version_id
from engine.evaluation import indicators
from engine.models.catalog import CatalogDuty
from engine.models.runtime import WorkTask
from engine.models.timers import StageDeadline
from engine.runtime import rollups, service
from engine.runtime.clocks import commands as clock_commands
from engine.runtime.metrics import case_figures, step_figures
from tests.metrics_helpers import (
    CASE_DATA,
    DECIDE_PROPERTY,
    DUTY,
    TWO_HOURS,
    accept,
    at,
    by_group,
    decide,
    review,
)
from tests.runtime_helpers import (
    ARD_FILE,
    CHEN,
    WANG,
    XIAO,
    ZHAO,
    deploy,
    load_demo_catalog,
    open_task,
    start,
)

ACCEPT, REVIEW, DECIDE = "MZ-SHJZ-01", "MZ-SHJZ-02", "MZ-BGS-01"







@pytest.fixture
def mixed_history(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    with database.session() as session:  # the office allows 最低生活保障审批 an extension of 10个工作日
        session.execute(
            update(CatalogDuty)
            .where(col(CatalogDuty.code) == DUTY)
            .values(extension_limit_value=10, extension_limit_unit="working_days")
        )
    xml = ARD_FILE.read_bytes().replace(DECIDE_PROPERTY, DECIDE_PROPERTY + TWO_HOURS)
    assert TWO_HOURS in xml
    deploy(database, clock, xml)
    h, late, s, p, w = (start(database, clock, dict(CASE_DATA)).id for _ in range(5))
    clock.set(at(10, 8, 10))
    accepted_w = 0
    for instance_id in (h, late, s, p, w):
        accepted = accept(database, clock, instance_id)
        if instance_id == w:
            accepted_w = accepted
    clock.set(at(10, 8, 10, 30))
    with database.session() as session:
        service.withdraw(session, clock, accepted_w, CHEN)
    clock.set(at(10, 8, 11))
    review(database, clock, h)
    with database.session() as session:
        service.send_back(
            session, clock, open_task(database, s, "review").id, "accept", "材料需重新核对", ZHAO
        )
    accept(database, clock, w)
    clock.set(at(10, 8, 12))
    with database.session() as session:
        clock_commands.pause_case(session, clock, p, "专家评审", XIAO)
    clock.set(at(10, 8, 14))
    decide(database, clock, h)
    accept(database, clock, s)
    clock.set(at(10, 8, 15))
    review(database, clock, s)
    clock.set(at(10, 9, 10))
    decide(database, clock, s)
    clock.set(at(10, 9, 12))
    with database.session() as session:
        clock_commands.resume_case(session, clock, p, XIAO)
    clock.set(at(10, 9, 12, 30))
    with database.session() as session:
        clock_commands.extend_case(session, clock, p, "10个工作日", "需现场核查申请人家庭收入", WANG)
    clock.set(at(10, 12, 10))
    review(database, clock, p)
    clock.set(at(10, 12, 11))
    decide(database, clock, p)
    clock.set(at(11, 2, 10))
    review(database, clock, late)
    clock.set(at(11, 2, 15))
    decide(database, clock, late)
    return {"H": h, "L": late, "S": s, "P": p, "W": w}



def test_step_figures_after_corrections_are_the_hand_worked_ones(database, clock, mixed_history):
    """受理 MZ-SHJZ-01: 7 rows, all completed — H, L, S twice, P, W's first (withdrawn, but its row
    stays completed) and W's second; no stage limit. Times 28800 × 5, 5400, 1800: sum 151200,
    mean 21600; P90 by nearest rank ceil(0.9 × 7) = 7th of 1800, 5400, 28800 × 5 = 28800.
    审查 MZ-SHJZ-02: H, L, S's second, P done; W's second open; S's first (sent back) and W's first
    (withdrawn) cancelled: total 5, completed 4 (0.8); no stage limit, so W's open 审查 has no colour.
    Times 3600, 453600, 3600, 75600: mean 536400 / 4 = 134100; P90 rank ceil(3.6) = 4 → 453600.
    决定 MZ-BGS-01: H and P on time, L and S late: 4 with a limit, 2 on time (0.5); times 5400,
    12600, 12600, 3600: mean 34200 / 4 = 8550; P90 rank 4 of 3600, 5400, 12600, 12600 → 12600."""
    with database.session() as session:
        figures = step_figures(session, clock, "post")
        live = step_figures(session, clock, "post", since=at(9, 30, 8))  # cut inside a day: counted live
        mz = by_group(step_figures(session, clock, "department"))["MZ"]
    posts = by_group(figures)
    accepts, reviews, decisions = posts[ACCEPT], posts[REVIEW], posts[DECIDE]
    assert (accepts.total, accepts.completed, accepts.open, accepts.with_stage_limit) == (7, 7, 0, 0)
    assert (accepts.mean_working_seconds, accepts.p90_working_seconds) == (21600, 28800)
    assert (reviews.total, reviews.completed, reviews.open, reviews.completion_rate) == (5, 4, 1, 0.8)
    assert (reviews.with_stage_limit, reviews.open_red, reviews.open_yellow, reviews.open_paused) == (
        0,
        0,
        0,
        0,
    )
    assert (reviews.mean_working_seconds, reviews.p90_working_seconds) == (134100, 453600)
    assert (decisions.total, decisions.completed, decisions.with_stage_limit) == (4, 4, 4)
    assert (decisions.on_time, decisions.late, decisions.on_time_rate) == (2, 2, 0.5)
    assert (decisions.mean_working_seconds, decisions.p90_working_seconds) == (8550, 12600)
    # Department MZ: 16 steps, 15 done; 16 times — 1800, 3600 × 3, 5400 × 2, 12600 × 2, 28800 × 5,
    # 75600, 453600 — P90 rank ceil(0.9 × 16) = 15th → 75600; mean (151200 + 536400 + 34200) / 15.
    assert (mz.total, mz.completed, mz.with_stage_limit, mz.on_time) == (16, 15, 4, 2)
    assert mz.p90_working_seconds == 75600 and mz.mean_working_seconds == 721800 / 15
    assert any("近似" in note for note in figures.notes)
    # The same figures counted over every row (a period the rollup cannot split), apart from the
    # note that says the percentile is approximate.
    assert [row.as_dict() for row in live.rows] == [row.as_dict() for row in figures.rows]
    assert not any("近似" in note for note in live.notes)


def test_case_figures_and_efficiency_after_corrections_are_the_hand_worked_ones(
    database, clock, mixed_history
):
    """办件 MZ: 5 received, 4 finished (H, L, S, P: 0.8); on time H, S, P (P's extension and pause
    moved its due moment; it finished 10-12 anyway), late L: 3 / 4 = 0.75. W is open and red at 11-02
    15:00 (due 10-27 17:30, not paused).
    高效履职 of MZ-SHJZ for 2026 as of 11-02 15:00: judged = 4 finished + 1 open past due = 5; on
    time 3; red = L + W = 2; one extension (P); no late notice, no complaint:
    100 × 3 / 5 − 5 × 2 − 1 × 1 = 60 − 10 − 1 = 49. The department MZ's year gives the same."""
    ids = mixed_history
    with database.session() as session:
        mz = by_group(case_figures(session, clock, "department"))["MZ"]
        live = by_group(case_figures(session, clock, "department", since=at(9, 30, 8)))["MZ"]
        version_id = catalog_version_id(session)
        unit = indicators.compute(
            session, indicators.EFFICIENCY, "MZ-SHJZ", 2026, None, clock.now(), version_id
        )
        department = indicators.compute(
            session, indicators.EFFICIENCY, "MZ", 2026, None, clock.now(), version_id, by_department=True
        )
        counted_live = indicators.efficiency(
            session, "MZ-SHJZ", at(1, 1, 8), at(12, 31, 8), clock.now(), version_id=version_id
        )
        # Scoring a year keeps values and counts only (compute_results): no case lists read.
        for_scoring = indicators.compute(
            session, indicators.EFFICIENCY, "MZ-SHJZ", 2026, None, clock.now(), version_id, list_cases=False
        )
    assert (mz.received, mz.finished, mz.open, mz.completion_rate) == (5, 4, 1, 0.8)
    assert (mz.on_time, mz.late, mz.on_time_rate) == (3, 1, 0.75)
    assert (mz.open_red, mz.open_yellow, mz.open_paused) == (1, 0, 0)
    assert live.as_dict() == mz.as_dict()
    assert unit.value == 49 and department.value == 49
    assert unit.figures == {
        "cases": 5,
        "judged": 5,
        "finished": 4,
        "on_time": 3,
        "red": 2,
        "finished_late": 1,
        "open_overdue": 1,
        "extensions": 1,
        "notice_violations": 0,
        "complaints_upheld": 0,
        "complaints_partly_upheld": 0,
        "runarounds": 0,  # no transfer in this history
    }
    assert unit.breakdown["red"].ids == sorted([ids["L"], ids["W"]])
    assert (unit.breakdown["extended"].count, unit.breakdown["extended"].ids) == (1, [ids["P"]])
    assert counted_live.figures == unit.figures and counted_live.value == unit.value
    assert (for_scoring.value, for_scoring.figures) == (unit.value, unit.figures)
    assert {k: (v.count, v.ids) for k, v in for_scoring.breakdown.items()} == {
        k: (v.count, []) for k, v in unit.breakdown.items()
    }
    assert (for_scoring.cases.count, for_scoring.cases.ids) == (unit.cases.count, [])


ROLLUPS = (rollups.STEP_ROLLUP, rollups.STEP_MONTH_ROLLUP, rollups.CASE_ROLLUP, rollups.INSTANCE_ROLLUP)


def rollup_rows(session) -> dict[str, list[tuple]]:
    found = {}
    for table in ROLLUPS:
        columns = [column for column in table.c if column.name != "id"]
        found[table.name] = sorted(tuple(row) for row in session.execute(select(*columns)))
    return found


def test_the_backfill_gives_the_rollups_the_steps_kept(database, clock, mixed_history):
    """Migration 0020 fills the rollups of an upgraded database with `rollups.rebuild` (emptied, then
    `rollups.backfill`); over the same record they must give exactly what the steps kept:
    counted again, equal — and again, since a rebuild of filled rollups must count nothing twice."""
    with database.session() as session:
        kept = rollup_rows(session)
        rollups.rebuild(session.connection())
        filled = rollup_rows(session)
        rollups.rebuild(session.connection())
        assert rollup_rows(session) == filled
    # 15 completed steps and 4 finished cases are in the rollups, counted once each.
    assert (
        sum(row[4] for row in kept["step_rollup"]) == sum(row[4] for row in kept["step_month_rollup"]) == 15
    )
    assert sum(row[5] for row in kept["case_rollup"]) == 4
    assert sum(row[8] for row in kept["case_rollup"]) == 1  # P's extension
    # H, L, S and P ended, W runs: one row — the test process, MZ-GF-001 of MZ / MZ-SHJZ, started
    # 09-30 (Beijing), with a case clock — that counts 4.
    assert [row[1:] for row in kept["instance_rollup"]] == [("MZ-GF-001", "MZ", "MZ-SHJZ", "2026-09-30", True, 4)]
    assert filled == kept


def test_a_rolled_back_step_leaves_the_rollups_alone(database, clock, mixed_history):
    """A step whose transaction rolls back counts nowhere: W's open 审查, completed and then rolled
    back, is still open in the figures and not in the rollup."""
    with database.session() as session:
        before = rollup_rows(session)
    with pytest.raises(RuntimeError), database.session() as session:
        service.complete_task(
            session,
            clock,
            open_task(database, mixed_history["W"], "review").id,
            {"opinion": "符合条件"},
            ZHAO,
        )
        raise RuntimeError("the request fails after the step")
    with database.session() as session:
        assert rollup_rows(session) == before
        reviews = by_group(step_figures(session, clock, "post"))[REVIEW]
    assert (reviews.total, reviews.completed, reviews.open) == (5, 4, 1)


@pytest.mark.parametrize(
    "seconds", [0, 0.5, 1, 1.5, 19, 20, 21, 3600, 5400, 12600, 28800, 75600, 453600, 1e9]
)
def test_sql_puts_a_working_time_in_the_bucket_python_does(database, seconds):
    """The backfill (SQL) and the percentile's reading must agree on buckets: bucket 0 below 1 s;
    above, bucket k holds [BUCKET_BOUNDS[k-1], BUCKET_BOUNDS[k])."""
    with database.session() as session:
        in_sql = session.execute(
            select(rollups.bucket_expression(select(literal_float(seconds)).scalar_subquery()))
        )
        assert in_sql.scalar_one() == rollups.bucket_of(seconds)
    k = rollups.bucket_of(seconds)
    if k == 0:
        assert seconds < 1
    elif k < len(rollups.BUCKET_BOUNDS):
        assert rollups.BUCKET_BOUNDS[k - 1] <= seconds < rollups.BUCKET_BOUNDS[k]


def test_buckets_are_narrow_enough_for_a_percentile_within_five_percent():
    """Each bucket spans at most 5 % of its lower bound, or 1 s (the bounds are whole seconds)."""
    bounds = rollups.BUCKET_BOUNDS
    for low, high in zip(bounds, bounds[1:], strict=False):
        assert high - low == 1 or 100 * high <= 105 * low
    assert bounds[0] == 1 and bounds[-1] > 10 * 365 * 24 * 3600  # ten years of seconds


def literal_float(value: float):
    return literal(value, Float())


def test_each_task_row_names_the_stage_row_of_its_readiness_as_the_migration_does(database, clock, mixed_history):
    """Every step of the test process has a stage (受理, 审查, 决定), so each time a step became ready
    one stage row was opened and the task row of that readiness names it: 7 受理 rows (S's and W's
    twice), 7 审查 rows (S's sent back and W's withdrawn ones cancelled), 4 决定 rows — 18 rows, 18
    distinct stage rows, each of the task's SpiffWorkflow task and started the moment the row became
    ready. S's 受理 was ready twice (09-30 09:00 and, sent back, 10-08 11:00): two stage rows.
    Migration 0020 fills the column of existing rows with `rollups.fill_stage_ids`: emptied and
    filled again, the same ids."""
    task, stage = WorkTask.__table__, StageDeadline.__table__
    with database.session() as session:
        named = session.execute(
            select(task.c.id, task.c.stage_deadline_id, task.c.task_spec, task.c.ready_at, stage.c.started_at,
                   task.c.spiff_task_id, stage.c.task_id, task.c.instance_id)
            .join(stage, stage.c.id == task.c.stage_deadline_id, isouter=True).order_by(task.c.id)
        ).all()
        session.execute(update(task).values(stage_deadline_id=None))
        rollups.fill_stage_ids(session.connection(), clock.now())
        filled = dict(session.execute(select(task.c.id, task.c.stage_deadline_id)).all())
    assert len(named) == 18 and len({row.stage_deadline_id for row in named}) == 18
    assert all(row.ready_at == row.started_at and row.spiff_task_id == row.task_id for row in named)
    assert sorted(row.task_spec for row in named) == ["accept"] * 7 + ["decide"] * 4 + ["review"] * 7
    s_accepts = [row for row in named if row.instance_id == mixed_history["S"] and row.task_spec == "accept"]
    assert [row.ready_at for row in s_accepts] == [at(9, 30, 9), at(10, 8, 11)]
    assert filled == {row.id: row.stage_deadline_id for row in named}


def test_routine_work_from_the_instance_rollup_is_the_live_count(database, clock, mixed_history):
    """常规工作 of MZ-SHJZ for 2026: it carries 最低生活保障审批 (MZ-GF-001) and 就业困难人员认定（低保家庭
    成员核实） (MZ-QR-002); the five cases are all MZ-GF-001, so one of two duties has cases:
    100 × 1 / 2 = 50. The department MZ carries five duties (MZ-QR-001, MZ-GF-001, MZ-JC-001,
    MZ-NB-001, MZ-QR-002): 100 × 1 / 5 = 20. Four of the cases ended (from `instance_rollup`), W runs
    (counted live); a period that starts one second after midnight is counted live over every
    instance and gives the same."""
    with database.session() as session:
        version_id = catalog_version_id(session)
        unit = indicators.compute(session, indicators.ROUTINE_WORK, "MZ-SHJZ", 2026, None, clock.now(), version_id)
        department = indicators.compute(session, indicators.ROUTINE_WORK, "MZ", 2026, None, clock.now(),
                                        version_id, by_department=True)
        unit_live = indicators.routine_work(session, "MZ-SHJZ", at(1, 1, 0) + timedelta(seconds=1), at(12, 31, 8),
                                            version_id)
        department_live = indicators.routine_work(session, "MZ", at(1, 1, 0) + timedelta(seconds=1), at(12, 31, 8),
                                                  version_id, by_department=True)
    assert unit.value == 50 and department.value == 20
    assert unit.figures == {"duties": 2, "active_duties": 1, "idle_duties": 1, "cases": 5}
    assert department.figures == {"duties": 5, "active_duties": 1, "idle_duties": 4, "cases": 5}
    assert (unit.cases.count, unit.cases.ids) == (5, sorted(mixed_history.values()))
    assert {d["duty_code"]: d["cases"] for d in unit.details} == {"MZ-GF-001": 5, "MZ-QR-002": 0}
    for rolled, live in ((unit, unit_live), (department, department_live)):
        assert (rolled.value, rolled.figures, rolled.details, rolled.cases, rolled.notes) == (
            live.value, live.figures, live.details, live.cases, live.notes)


def test_steps_and_cases_ended_in_one_transaction_count_once_each(database, clock, demo_catalog_path):
    """Two cases whose 受理, 审查 and 决定 are each completed in one transaction for both (the
    rollups' statement for several ids): 6 completed steps — 受理 and 审查 with no stage limit, 决定
    with its 2小时 due 14:30 after becoming ready at 11:00 (10-08) and done at 14:00: on time — and 2
    finished cases, 2 ended instances; what the steps kept equals the backfill's."""
    load_demo_catalog(database, clock, demo_catalog_path)
    deploy(database, clock, ARD_FILE.read_bytes().replace(DECIDE_PROPERTY, DECIDE_PROPERTY + TWO_HOURS))
    first, second = (start(database, clock, dict(CASE_DATA)).id for _ in range(2))
    for moment, step, actor, data in ((at(10, 8, 10), "accept", CHEN, {"accepted": True}),
                                      (at(10, 8, 11), "review", ZHAO, {"opinion": "符合条件"}),
                                      (at(10, 8, 14), "decide", WANG, {"decision": "approve"})):
        clock.set(moment)
        tasks = [open_task(database, instance_id, step).id for instance_id in (first, second)]
        with database.session() as session:  # one transaction, two steps
            for task_id in tasks:
                service.complete_task(session, clock, task_id, dict(data), actor)
            assert sorted(session.info[rollups.NOTED][0]) == tasks  # both counted at this commit
    with database.session() as session:
        kept = rollup_rows(session)
        for table in ROLLUPS:
            session.execute(delete(table))
        rollups.backfill(session.connection())
        filled = rollup_rows(session)
        decisions = by_group(step_figures(session, clock, "post"))[DECIDE]
    assert sum(row[4] for row in kept["step_rollup"]) == 6
    assert (decisions.completed, decisions.with_stage_limit, decisions.on_time) == (2, 2, 2)
    assert sum(row[5] for row in kept["case_rollup"]) == 2
    assert [row[-1] for row in kept["instance_rollup"]] == [2]
    assert filled == kept


def test_a_step_is_added_from_what_it_knows_and_else_from_its_rows_with_the_same_result(
        database, clock, demo_catalog_path):
    """A completed step is added to the rollups from the values the step holds (its post, process,
    ready day, working time and the stage row it closed: an INSERT … VALUES with no SELECT), and a
    step the transaction knows too little of — here its noted values are dropped before the commit —
    from its rows (INSERT … SELECT); both give what the backfill gives. Two cases, 受理 10-08 10:00
    (28800 s, no stage limit), 审查 11:00 (3600 s), 决定 ready 11:00 and due 14:30 (2小时): the
    first done 14:00 (11:00–12:00 + 13:30–14:00 = 5400 s), on time; the second 15:00
    (11:00–12:00 + 13:30–15:00 = 9000 s), late."""
    load_demo_catalog(database, clock, demo_catalog_path)
    deploy(database, clock, ARD_FILE.read_bytes().replace(DECIDE_PROPERTY, DECIDE_PROPERTY + TWO_HOURS))
    known, dropped = (start(database, clock, dict(CASE_DATA)).id for _ in range(2))
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        if statement.startswith(("INSERT INTO step_rollup", "INSERT INTO step_month_rollup")):
            sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        for moment, step, actor, data in ((at(10, 8, 10), "accept", CHEN, {"accepted": True}),
                                          (at(10, 8, 11), "review", ZHAO, {"opinion": "符合条件"}),
                                          (at(10, 8, 14), "decide", WANG, {"decision": "approve"}),
                                          (at(10, 8, 15), "decide", WANG, {"decision": "approve"})):
            clock.set(moment)
            for instance_id in (known, dropped):
                if step == "decide" and (instance_id == known) != (moment == at(10, 8, 14)):
                    continue
                task_id = open_task(database, instance_id, step).id
                sent.clear()
                with database.session() as session:
                    service.complete_task(session, clock, task_id, dict(data), actor)
                    if instance_id == dropped:
                        session.info.pop(rollups.STEP_FACTS)
                assert len(sent) == 2  # days and months
                assert all(("SELECT" in text) == (instance_id == dropped) for text in sent), sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    with database.session() as session:
        kept = rollup_rows(session)
        rollups.rebuild(session.connection())
        assert rollup_rows(session) == kept
        decisions = by_group(step_figures(session, clock, "post"))[DECIDE]
    assert (decisions.completed, decisions.with_stage_limit, decisions.on_time) == (2, 2, 1)
    # 受理, 审查 and 决定 of both cases: six steps, each counted once.
    assert sum(row[4] for row in kept["step_rollup"]) == 6
