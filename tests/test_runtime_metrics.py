"""Step figures (环节（按步骤）) from task rows, the timing log and the stage clocks' rows.

Case figures (办件（按案件）) and the issue's worked example: tests/test_metrics_by_case.py."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.clock import BEIJING
from engine.errors import InvalidInput
from engine.runtime import service
from engine.runtime.metrics import step_figures
from tests.runtime_helpers import CHEN, ZHAO, deploy, load_demo_catalog, open_task, start


def _metrics(database, clock, by="post"):
    with database.session() as session:
        return {m.group: m for m in step_figures(session, clock, by).rows}


def test_completion_on_time_working_time_and_red_counts(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    deploy(database, clock)
    data = {"applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": 1, "limit": "5个工作日"}
    first = start(database, clock, data)
    second = start(database, clock, data)
    clock.advance(hours=2)
    for instance in (first, second):
        task_id = open_task(database, instance.id, "accept").id
        with database.session() as session:
            service.complete_task(session, clock, task_id, {"accepted": True}, CHEN)
    clock.advance(hours=1)
    with database.session() as session:
        service.complete_task(session, clock, open_task(database, first.id, "review").id, {"opinion": "同意"}, ZHAO)
    # Far past the 5-working-day limit (due 2026-10-13): the open tasks are red.
    clock.set(datetime(2026, 10, 20, 10, 0, tzinfo=BEIJING))

    # None of these steps has a stage limit of its own: they are neither on time nor late, and an
    # open one has no colour, whatever the case clock says (the case is red: case figures).
    by_post = _metrics(database, clock)
    accept = by_post["MZ-SHJZ-01"]
    assert (accept.total, accept.completed, accept.completion_rate) == (2, 2, 1.0)
    assert (accept.on_time, accept.with_stage_limit, accept.without_stage_limit, accept.on_time_rate) == (0, 0, 2, None)
    assert accept.mean_working_seconds == 7200 and accept.p90_working_seconds == 7200
    review = by_post["MZ-SHJZ-02"]
    assert (review.total, review.completed, review.open, review.completion_rate) == (2, 1, 1, 0.5)
    assert review.open_red == 0 and review.mean_working_seconds == 3600
    decide = by_post["MZ-BGS-01"]
    assert decide.open == 1 and decide.open_red == 0 and decide.completion_rate == 0.0

    by_department = _metrics(database, clock, "department")
    assert list(by_department) == ["MZ"] and by_department["MZ"].total == 5


def test_unknown_grouping_is_refused(database, clock):
    with database.session() as session, pytest.raises(InvalidInput):
        step_figures(session, clock, "team")


def test_a_step_sent_back_and_redone_is_judged_by_each_attempts_own_stage_limit(database, clock, demo_catalog_path):
    from tests.runtime_helpers import ARD_FILE

    load_demo_catalog(database, clock, demo_catalog_path)
    xml = ARD_FILE.read_bytes().replace(
        b'<spiffworkflow:property name="stage" value="\xe5\x8f\x97\xe7\x90\x86" />',
        b'<spiffworkflow:property name="stage" value="\xe5\x8f\x97\xe7\x90\x86" />'
        b'<spiffworkflow:property name="stage_limit" value="1\xe4\xb8\xaa\xe5\xb7\xa5\xe4\xbd\x9c\xe6\x97\xa5" />',
    )
    assert b"stage_limit" in xml
    deploy(database, clock, xml)
    instance = start(database, clock, {"applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": 1})
    clock.set(datetime(2026, 10, 12, 10, 0, tzinfo=BEIJING))  # first attempt: days past its 1-working-day limit
    with database.session() as session:
        service.complete_task(session, clock, open_task(database, instance.id, "accept").id, {"accepted": True}, CHEN)
    with database.session() as session:
        service.send_back(session, clock, open_task(database, instance.id, "review").id, "accept", "材料不全", ZHAO)
    clock.advance(hours=1)  # second attempt: within its own fresh limit
    with database.session() as session:
        service.complete_task(session, clock, open_task(database, instance.id, "accept").id, {"accepted": True}, CHEN)

    accept = _metrics(database, clock)["MZ-SHJZ-01"]
    assert (accept.completed, accept.with_stage_limit, accept.on_time, accept.late) == (2, 2, 1, 1)
