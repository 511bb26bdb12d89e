"""Issue 14 item 8: efficiency figures per case (办件（按案件）) and per step (环节（按步骤）).

The process is the test accept → review → decide (受理 MZ-SHJZ-01, 审查 MZ-SHJZ-02, 决定 at
MZ-BGS-01, the head post of 市民政局办公室, held by 王芳 S001), with the 决定 step given its own
stage limit of 2小时. The cases are 最低生活保障审批 (MZ-GF-001: committed limit 15个工作日, department
MZ, unit MZ-SHJZ), so each case clock carries duty, unit and department from the catalog.

Worked out by hand, once for every test here. Received 2026-09-30 (Wed) 09:00; the receiving day is
not counted; 10-01 … 10-07 are the National Day holidays, Saturday 10-10 is a 调休 working day. The 15
working days are 10-08, 10-09, 10-10, 10-12 … 10-16 (5), 10-19 … 10-23 (5), 10-26, 10-27: the case
is due 2026-10-27 17:30, the close of office hours (09:00–12:00, 13:30–17:30).
A 决定 step that becomes ready at 11:00 on a working day has 2 office hours: 11:00–12:00 and
13:30–14:30, so it is due at 14:30 the same day; one ready at 10:00 is due at 12:00.
"""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import runtime as cli_runtime  # noqa: F401  (registers the commands)
from api.cli.app import app as cli_app
from api.cli.app import console
from engine.errors import InvalidInput
from engine.models.rollups import InstanceRollup
from engine.models.runtime import ProcessInstance
from engine.models.timers import CaseDeadline, StageDeadline
from engine.runtime.clocks import commands as clock_commands
from engine.runtime.metrics import case_figures, efficiency_figures, step_figures
from tests.metrics_helpers import (
    CASE_DATA,
    DECIDE_PROPERTY,
    TWO_HOURS,
    accept,
    at,
    by_group,
    decide,
    review,
)
from tests.runtime_helpers import (
    ARD_FILE,
    XIAO,
    deploy,
    load_demo_catalog,
    start,
)

CASE_DUE = at(10, 27, 17, 30)


@pytest.fixture
def process(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    xml = ARD_FILE.read_bytes().replace(DECIDE_PROPERTY, DECIDE_PROPERTY + TWO_HOURS)
    assert TWO_HOURS in xml
    deploy(database, clock, xml)







@pytest.fixture
def three_cases(database, clock, process):
    """The issue's example: three cases, two finished, one of them on time.

    A: accepted 10-08 10:00, reviewed 11:00, decided 14:00 (决定 due 14:30) → finished on time.
    B: accepted 10-08 10:00, reviewed 11-02 10:00 — the case is overdue since 10-27 17:30 — and the
       head decides at 11:00, within the step's own limit (due 12:00) → finished late, 决定 on time.
    C: accepted 10-08 10:00, still at 审查 on 11-02 11:00 → open and red (past 10-27 17:30).
    """
    a, b, c = (start(database, clock, dict(CASE_DATA)).id for _ in range(3))
    clock.set(at(10, 8, 10))
    for instance_id in (a, b, c):
        accept(database, clock, instance_id)
    clock.set(at(10, 8, 11))
    review(database, clock, a)
    clock.set(at(10, 8, 14))
    decide(database, clock, a)
    clock.set(at(11, 2, 10))
    review(database, clock, b)
    clock.set(at(11, 2, 11))
    decide(database, clock, b)
    return a, b, c


def test_the_hand_worked_moments_are_the_clocks(database, three_cases):
    """The moments the figures below rest on: the case due moment and the 决定 steps' due moments."""
    a, b, c = three_cases
    with database.session() as session:
        cases = {row.instance_id: row for row in session.exec(select(CaseDeadline))}
        assert {iid: row.due_at for iid, row in cases.items()} == {a: CASE_DUE, b: CASE_DUE, c: CASE_DUE}
        assert (cases[a].unit_code, cases[a].department_code) == ("MZ-SHJZ", "MZ")
        assert (cases[a].on_time, cases[b].on_time, cases[c].finished_at) == (True, False, None)
        decisions = {row.instance_id: row for row in session.exec(
            select(StageDeadline).where(StageDeadline.task_spec == "decide"))}
        assert (decisions[a].due_at, decisions[a].overran) == (at(10, 8, 14, 30), False)
        assert (decisions[b].due_at, decisions[b].overran) == (at(11, 2, 12), False)


def test_three_cases_two_finished_one_on_time_give_two_thirds_and_one_half(database, clock, three_cases):
    """办结率 = 2 finished / 3 received = 66.7 %; 按时办结率 = 1 on time (A) / 2 finished = 50 %.
    C is open and red now (11-02 11:00 is past its due 10-27 17:30); none is paused or yellow."""
    with database.session() as session:
        figures = case_figures(session, clock, "department")
        by_unit = by_group(case_figures(session, clock, "unit"))
    assert figures.scope_label == "办件（按案件）" and figures.untimed_cases == 0
    mz = by_group(figures)["MZ"]
    assert (mz.received, mz.finished, mz.open) == (3, 2, 1)
    assert mz.completion_rate == 0.6667  # 2/3, rounded to four places
    assert (mz.on_time, mz.late, mz.on_time_rate) == (1, 1, 0.5)
    assert (mz.open_red, mz.open_yellow, mz.open_paused) == (1, 0, 0)
    assert list(by_unit) == ["MZ-SHJZ"]  # the duty's one unit answers for all three
    assert {**by_unit["MZ-SHJZ"].as_dict(), "group": "MZ"} == mz.as_dict()
    assert any("不计入" in note and "0 件" in note for note in figures.notes)


def test_the_heads_two_hour_decision_is_on_time_although_the_case_was_overdue(database, clock, three_cases):
    """Steps by post, each judged by its own stage limit only.

    受理 MZ-SHJZ-01: 3 steps, all done, none with a stage limit → not in 按时 (rate —). Each took
    09-30 09:00–17:30 (7 office hours) + 10-08 09:00–10:00 (1 h) = 8 h = 28800 s.
    审查 MZ-SHJZ-02: 3 steps, 2 done (2/3), no stage limit → rate —; C's open 审查 has no colour of
    its own although its case is red. Working time A 10:00–11:00 = 3600 s; B from 10-08 10:00 to
    11-02 10:00 = 6 h on 10-08 + 17 full working days × 7 h (10-09, 10-10, 10-12…16, 10-19…23,
    10-26…30) + 1 h on 11-02 = 126 h = 453600 s; mean 228600 s; P90 by nearest rank: ceil(0.9 × 2)
    = 2nd value = 453600 s.
    决定 MZ-BGS-01: 2 steps, both within 2 office hours → 2/2 on time, B's too, though B's case was
    overdue. A took 11:00–12:00 + 13:30–14:00 = 5400 s, B 10:00–11:00 = 3600 s; mean 4500; P90 5400.
    """
    with database.session() as session:
        figures = step_figures(session, clock, "post")
    assert figures.scope_label == "环节（按步骤）"
    posts = by_group(figures)
    accept_post, review_post, decide_post = posts["MZ-SHJZ-01"], posts["MZ-SHJZ-02"], posts["MZ-BGS-01"]
    assert (accept_post.total, accept_post.completed, accept_post.completion_rate) == (3, 3, 1.0)
    assert (accept_post.with_stage_limit, accept_post.without_stage_limit, accept_post.on_time_rate) == (0, 3, None)
    assert (accept_post.mean_working_seconds, accept_post.p90_working_seconds) == (28800, 28800)
    assert (review_post.total, review_post.completed, review_post.open, review_post.completion_rate) == (3, 2, 1, 0.6667)
    assert (review_post.on_time, review_post.late, review_post.on_time_rate) == (0, 0, None)
    assert (review_post.open_red, review_post.open_yellow) == (0, 0)
    assert (review_post.mean_working_seconds, review_post.p90_working_seconds) == (228600, 453600)
    assert (decide_post.total, decide_post.completed, decide_post.with_stage_limit) == (2, 2, 2)
    assert (decide_post.on_time, decide_post.late, decide_post.on_time_rate) == (2, 0, 1.0)
    assert (decide_post.mean_working_seconds, decide_post.p90_working_seconds) == (4500, 5400)


def test_steps_by_unit_and_department(database, clock, three_cases):
    """Units: 社会救助科 MZ-SHJZ has the 受理 and 审查 steps (6, 5 done: 5/6 = 0.8333), 办公室 MZ-BGS
    the 决定 steps (2/2). Department MZ: 8 steps, 7 done (0.875); 2 with a stage limit, both on
    time (1.0); 5 done without one. P90 of MZ's 7 working times (3600, 5400, 28800 ×3, 3600…):
    sorted 3600, 3600, 5400, 28800, 28800, 28800, 453600; rank ceil(0.9 × 7) = 7 → 453600."""
    with database.session() as session:
        units = by_group(step_figures(session, clock, "unit"))
        mz = by_group(step_figures(session, clock, "department"))["MZ"]
    assert (units["MZ-SHJZ"].total, units["MZ-SHJZ"].completed, units["MZ-SHJZ"].completion_rate) == (6, 5, 0.8333)
    assert (units["MZ-BGS"].total, units["MZ-BGS"].on_time_rate) == (2, 1.0)
    assert (mz.total, mz.completed, mz.completion_rate) == (8, 7, 0.875)
    assert (mz.with_stage_limit, mz.on_time, mz.without_stage_limit, mz.on_time_rate) == (2, 2, 5, 1.0)
    assert mz.p90_working_seconds == 453600


def test_a_step_over_its_own_limit_is_late_in_a_case_on_time_and_paused_clocks_are_paused(database, clock, process):
    """D: 决定 ready 10-08 11:00 (due 14:30), decided 15:00 → the step is late (2.5 office hours),
    the case on time (finished 10-08, due 10-27). E: 决定 ready 11:00; the efficiency office pauses
    the case at 12:00 → at 15:00 the case and its 决定 count as paused, not red. F: 决定 ready
    11:00, still open at 15:00 → the step is red by its own limit (due 14:30), the case green
    (due 10-27; yellow no earlier than two thirds of its 15 working days, on 10-22). G: started without a duty or a limit
    → no case clock: not received, counted as untimed; its open 受理 step is counted as a step."""
    d, e, f = (start(database, clock, dict(CASE_DATA)).id for _ in range(3))
    g = start(database, clock, {"applicant": "李四", "reviewer_post": "MZ-SHJZ-02", "amount": 1}).id
    clock.set(at(10, 8, 10))
    for instance_id in (d, e, f):
        accept(database, clock, instance_id)
    clock.set(at(10, 8, 11))
    for instance_id in (d, e, f):
        review(database, clock, instance_id)
    clock.set(at(10, 8, 12))
    with database.session() as session:
        clock_commands.pause_case(session, clock, e, "专家评审", XIAO)
    clock.set(at(10, 8, 15))
    decide(database, clock, d)

    with database.session() as session:
        cases = case_figures(session, clock, "department")
        decisions = by_group(step_figures(session, clock, "post"))["MZ-BGS-01"]
        accepts = by_group(step_figures(session, clock, "post"))["MZ-SHJZ-01"]
        clocked = set(session.exec(select(CaseDeadline.instance_id)))
    assert clocked == {d, e, f} and g not in clocked
    mz = by_group(cases)["MZ"]
    assert (mz.received, mz.finished, mz.on_time, mz.on_time_rate) == (3, 1, 1, 1.0)
    assert (mz.open_paused, mz.open_red, mz.open_yellow) == (1, 0, 0)
    assert cases.untimed_cases == 1 and any("1 件" in note for note in cases.notes)
    assert (decisions.completed, decisions.with_stage_limit, decisions.on_time, decisions.late) == (1, 1, 0, 1)
    assert decisions.on_time_rate == 0.0
    assert (decisions.open, decisions.open_paused, decisions.open_red, decisions.open_yellow) == (2, 1, 1, 0)
    assert (accepts.total, accepts.completed, accepts.open) == (4, 3, 1)  # G's 受理 waits, uncoloured


def test_instances_without_a_clock_are_counted_from_the_instance_rollup_once_ended(database, clock, process):
    """Two instances started 09-30 09:00 without a duty or a limit have no case clock: untimed. U
    goes through 受理, 审查 and 决定 on 10-08 and ends, so `instance_rollup` holds it (duty, department
    and unit '', day 2026-09-30, no clock: 1); V waits at 受理 and is counted live over the running
    instances. One timed case (T) ends as well and is received, not untimed: untimed_cases = 2. A
    period that starts at 08:00 Beijing cannot be split by days and counts every instance live: 2."""
    untimed = {"applicant": "李四", "reviewer_post": "MZ-SHJZ-02", "amount": 1}
    u, v = start(database, clock, dict(untimed)).id, start(database, clock, dict(untimed)).id
    t = start(database, clock, dict(CASE_DATA)).id
    clock.set(at(10, 8, 10))
    for instance_id in (u, t):
        accept(database, clock, instance_id)
        review(database, clock, instance_id)
        decide(database, clock, instance_id)
    with database.session() as session:
        cases = case_figures(session, clock, "department")
        live = case_figures(session, clock, "department", since=at(9, 30, 8))
        rolled = session.execute(select(
            InstanceRollup.duty_code, InstanceRollup.department_code, InstanceRollup.unit_code,
            InstanceRollup.started_day, InstanceRollup.timed, InstanceRollup.ended,
        ).order_by(InstanceRollup.timed)).all()
        statuses = {i.id: i.status for i in session.exec(select(ProcessInstance))}
    assert (statuses[u], statuses[v], statuses[t]) == ("completed", "running", "completed")
    assert [tuple(row) for row in rolled] == [("", "", "", "2026-09-30", False, 1),
                                              ("MZ-GF-001", "MZ", "MZ-SHJZ", "2026-09-30", True, 1)]
    assert cases.untimed_cases == live.untimed_cases == 2
    assert by_group(cases)["MZ"].received == 1


def test_the_period_counts_cases_by_reception_and_steps_by_readiness(database, clock, three_cases):
    """Nothing was received after 10-01; the 决定 steps became ready on 10-08 and 11-02."""
    with database.session() as session:
        assert case_figures(session, clock, "department", since=at(10, 1, 0)).rows == []
        late = by_group(step_figures(session, clock, "post", since=at(11, 1, 0)))
        early = by_group(step_figures(session, clock, "post", until=at(10, 9, 0)))
    assert list(late) == ["MZ-BGS-01"] and late["MZ-BGS-01"].total == 1
    assert early["MZ-BGS-01"].total == 1 and early["MZ-SHJZ-02"].total == 3


def test_bad_scope_grouping_or_period_is_refused_in_chinese(database, clock):
    with database.session() as session:
        with pytest.raises(InvalidInput) as scope:
            efficiency_figures(session, clock, "task")
        with pytest.raises(InvalidInput) as post:
            efficiency_figures(session, clock, "case", "post")
        with pytest.raises(InvalidInput) as period:
            efficiency_figures(session, clock, "step", "post", since=at(10, 2, 0), until=at(10, 1, 0))
    assert "统计范围" in scope.value.message and "scope" in scope.value.problems[0]
    assert "办件（按案件）" in post.value.message and "scope=step" in post.value.problems[0]
    assert "统计期间" in period.value.message


def test_the_cli_labels_both_scopes(database, clock, three_cases, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    monkeypatch.setattr(console, "width", 250)
    monkeypatch.setattr(cli_runtime, "SystemClock", lambda: clock)
    result = CliRunner().invoke(cli_app, ["metrics", "--by", "department"])
    assert result.exit_code == 0, result.output
    case_part, step_part = result.output.split("环节（按步骤），按部门")
    assert "办件（按案件），按部门" in case_part and "66.7%" in case_part and "50.0%" in case_part
    assert "87.5%" in step_part and "100.0%" in step_part  # 7/8 steps done; 2/2 with a stage limit on time
    only_steps = CliRunner().invoke(cli_app, ["metrics", "--by", "post"])
    assert only_steps.exit_code == 0 and "没有按岗位的办件统计" in only_steps.output
    refused = CliRunner().invoke(cli_app, ["metrics", "--scope", "case", "--by", "post"])
    assert refused.exit_code != 0 and "办件（按案件）统计口径有误" in refused.output
