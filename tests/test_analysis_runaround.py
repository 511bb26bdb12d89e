"""推诿 detection: matters transferred round in a circle between posts or departments."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.analysis.runaround import (
    ACCEPTED,
    DEPARTMENT_LEVEL,
    PENDING,
    POST_LEVEL,
    REFUSED,
    TransferRecord,
    find_runarounds,
    holder_path,
)
from engine.clock import BEIJING

START = datetime(2026, 9, 30, 9, 0, tzinfo=BEIJING)
DEPARTMENTS = {"MZ-1": "MZ", "MZ-2": "MZ", "RS-1": "RS", "RS-2": "RS", "WJ-1": "WJ"}


def transfers(instance, *steps):
    """steps: (from_post, to_post, outcome), one hour apart."""
    return [
        TransferRecord(instance, "task-1", src, dst, START + timedelta(hours=i), outcome)
        for i, (src, dst, outcome) in enumerate(steps)
    ]


def test_a_matter_handed_back_to_a_post_that_passed_it_on_is_a_runaround():
    records = transfers("case-1", ("MZ-1", "RS-1", ACCEPTED), ("RS-1", "WJ-1", ACCEPTED), ("WJ-1", "MZ-1", ACCEPTED))
    [post, department] = find_runarounds(records, DEPARTMENTS)
    assert post.level == POST_LEVEL and post.instance_id == "case-1"
    assert post.path == ("MZ-1", "RS-1", "WJ-1", "MZ-1")
    assert post.cycle == ("MZ-1", "RS-1", "WJ-1", "MZ-1")
    assert post.transfers == 3 and post.refusals == 0
    assert department.level == DEPARTMENT_LEVEL and department.cycle == ("MZ", "RS", "WJ", "MZ")
    assert post.key == "runaround:case-1:task-1:post"


def test_different_posts_of_the_same_departments_bounce_at_department_level_only():
    records = transfers("case-2", ("MZ-1", "RS-1", ACCEPTED), ("RS-1", "MZ-2", ACCEPTED), ("MZ-2", "RS-2", PENDING))
    [finding] = find_runarounds(records, DEPARTMENTS)
    assert finding.level == DEPARTMENT_LEVEL
    assert finding.path == ("MZ", "RS", "MZ", "RS") and finding.cycle == ("MZ", "RS", "MZ")


def test_a_refusal_is_not_a_move_and_a_straight_line_is_fine():
    refused_once = transfers("case-3", ("MZ-1", "RS-1", REFUSED), ("MZ-1", "WJ-1", ACCEPTED))
    assert holder_path(refused_once) == ["MZ-1", "WJ-1"]
    assert find_runarounds(refused_once, DEPARTMENTS) == []
    chain = transfers("case-4", ("MZ-1", "MZ-2", ACCEPTED), ("MZ-2", "RS-1", ACCEPTED))
    assert find_runarounds(chain, DEPARTMENTS) == []


def test_moving_on_to_the_next_step_of_the_process_is_not_a_transfer_cycle():
    first_step = transfers("case-7", ("MZ-1", "RS-1", ACCEPTED))
    # The next task of the same case starts at RS-1's colleague and is handed back to MZ-1.
    second_step = [TransferRecord("case-7", "task-2", "RS-2", "MZ-1", START + timedelta(days=1), ACCEPTED)]
    assert find_runarounds(first_step + second_step) == []


def test_records_are_taken_in_time_order_and_per_matter():
    records = transfers("case-5", ("MZ-1", "RS-1", ACCEPTED), ("RS-1", "MZ-1", ACCEPTED))
    records += transfers("case-6", ("WJ-1", "RS-2", ACCEPTED))
    found = find_runarounds(list(reversed(records)))
    assert [(f.instance_id, f.cycle) for f in found] == [("case-5", ("MZ-1", "RS-1", "MZ-1"))]
    assert found[0].to_json_dict()["path"] == ["MZ-1", "RS-1", "MZ-1"]
