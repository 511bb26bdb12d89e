"""Withdraw (撤回) end to end (finding 9 of issue 10): it answered 500 on both databases.

A withdrawn step becomes ready again under the same SpiffWorkflow task id; on the same working
day its stage warnings fall due at exactly the moments of its first readiness, whose (cancelled)
rows held the unique key (instance, task, kind, due_at) of `runtime_timer`. Sending a case back
to a step reopens it the same way. Now the old row is opened again for the new readiness.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from engine.models.runtime import WorkTask
from engine.models.timers import RuntimeTimer, TimerStatus
from tests.process_helpers import Scenario

LOW_INCOME = {"duty_code": "MZ-GF-001", "applicant": "张三"}


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


def pending_warnings(database, instance_id: int, spiff_task_id: str) -> list[str]:
    with database.session() as session:
        return sorted(row.kind for row in session.exec(select(RuntimeTimer).where(
            RuntimeTimer.instance_id == instance_id, RuntimeTimer.task_id == spiff_task_id,
            RuntimeTimer.status == TimerStatus.pending)))


def spiff_id(city, task_id: int) -> str:
    with city.database.session() as session:
        return session.get(WorkTask, task_id).spiff_task_id


def withdraw(city, username: str, task_id: int):
    return city.client.post(f"/api/tasks/{task_id}/withdraw", headers=city.headers(username))


def test_withdraw_the_same_day_reopens_the_step_with_its_warnings(city, database):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    accept = city.step(case["id"], "accept_application")
    accept_spiff = spiff_id(city, accept["id"])
    assert pending_warnings(database, case["id"], accept_spiff) == ["stage_red", "stage_yellow"]
    city.complete("chenjing", accept["id"], {"decision": "accept"})
    review = city.step(case["id"], "review")
    assert pending_warnings(database, case["id"], accept_spiff) == []

    # Another person may not withdraw chenjing's step.
    refused = withdraw(city, "zhaolei", accept["id"])
    assert refused.status_code == 403 and "自己办结" in refused.json()["detail"]

    response = withdraw(city, "chenjing", accept["id"])
    assert response.status_code == 200, response.text
    assert city.open_steps(case["id"]) == ["accept_application"]
    again = city.step(case["id"], "accept_application")
    assert again["id"] != accept["id"] and again["post_code"] == "MZ-SHJZ-01"
    closed = city.client.get(f"/api/tasks/{review['id']}", headers=city.headers("admin")).json()
    assert closed["status"] == "cancelled" and closed["closed_reason"] == "withdrawn"
    # the reopened step is timed again: one yellow and one red row, pending
    assert pending_warnings(database, case["id"], accept_spiff) == ["stage_red", "stage_yellow"]
    assert [e["kind"] for e in city.events(case["id"], "withdrawn")] == ["withdrawn"]

    # withdrawing twice is a state conflict, and the case goes on as usual
    assert withdraw(city, "chenjing", accept["id"]).status_code == 409
    city.complete("chenjing", again["id"], {"decision": "accept"})
    assert city.open_steps(case["id"]) == ["review"]


def test_withdraw_is_refused_once_the_next_step_acted(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    accept = city.step(case["id"], "accept_application")
    city.complete("chenjing", accept["id"], {"decision": "accept"})
    review = city.step(case["id"], "review")
    claimed = city.client.post(f"/api/tasks/{review['id']}/claim", headers=city.headers("chenjing"))
    assert claimed.status_code == 200
    before = city.snapshot(case["id"])
    response = withdraw(city, "chenjing", accept["id"])
    assert response.status_code == 409 and "下一步已经办理" in response.json()["detail"]
    assert city.snapshot(case["id"]) == before


def test_withdraw_on_a_later_day_and_send_back_the_same_day(city, database):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    accept = city.step(case["id"], "accept_application")
    city.complete("chenjing", accept["id"], {"decision": "accept"})
    city.advance(days=1)
    assert withdraw(city, "chenjing", accept["id"]).status_code == 200
    again = city.step(case["id"], "accept_application")
    city.complete("chenjing", again["id"], {"decision": "accept"})
    review = city.step(case["id"], "review")
    back = city.client.post(f"/api/tasks/{review['id']}/send-back", headers=city.headers("chenjing"),
                            json={"to_task_spec": "accept_application", "reason": "材料需重新核对"})
    assert back.status_code == 200, back.text
    reopened = city.step(case["id"], "accept_application")
    assert pending_warnings(database, case["id"], spiff_id(city, reopened["id"])) == ["stage_red", "stage_yellow"]
