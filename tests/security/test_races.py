"""Task operations under concurrency (finding 7 of issue 10): 20 simultaneous requests on one task.

Before the fix, on PostgreSQL claim answered 200 to two holders, transfer left two assignment
rows and copy answered 500 (unique violation): an operation read the task row before the
instance, so a request that read the row just before a colleague's commit and the instance just
after it passed the optimistic version check with a stale row. Now every operation takes the task
row first (SELECT … FOR UPDATE), so exactly one request wins and the others get 409 with a
Chinese message, and the database holds one claimant, one transfer target, one copy.

Each request runs on its own thread with its own TestClient (its own database session and
connection); a barrier releases all 20 at once. Both backends run it; PostgreSQL is the one with
real parallel transactions (SQLite serialises writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

import re
import threading

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from engine.auth.service import create_user
from engine.models.runtime import HANDLER, READER, TRANSFER, TaskAssignment, TimingEvent, WorkTask
from tests.auth_helpers import issue_token
from tests.process_helpers import Scenario

N = 20
LOW_INCOME = {"duty_code": "MZ-GF-001", "applicant": "张三"}  # 受理 lands at MZ-SHJZ-01
# Both hold MZ-SHJZ-01 (低保审核岗); zhaolei holds MZ-SHJZ-02, its B角 and the transfer target.
HOLDERS = {"chenjing": "S003", "yangfan": "S004", "zhaolei": "S005"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    scenario = Scenario(client, database, clock, settings, demo_catalog_path)
    with database.session() as session:
        for username, staff_id in HOLDERS.items():
            create_user(session, username, "secret-pass-1", clock.now(), roles=["staff"], staff_id=staff_id)
    scenario.tokens.update({username: issue_token(settings, username) for username in HOLDERS})
    return scenario


def concurrently(app, city, requests: list[tuple[str, str, dict | None]]) -> list:
    """Send (username, path, json) requests at once, one thread and one client each; the responses."""
    barrier = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)

    def send(index: int, username: str, path: str, body: dict | None) -> None:
        client = TestClient(app)  # no lifespan: the app was started by the test's own client
        headers = city.headers(username)
        barrier.wait(timeout=30)
        responses[index] = client.post(path, json=body, headers=headers)

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(not thread.is_alive() for thread in threads)
    return responses


def exactly_one_wins(responses: list) -> dict:
    """One 200, every other answer a 409 with a Chinese message; the winner's body."""
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (len(responses) - 1), [(r.status_code, r.text[:200]) for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert CHINESE.search(response.json()["detail"]), response.text
    return next(r.json() for r in responses if r.status_code == 200)


def assignments(database, task_id: int, kind: str) -> list[str]:
    with database.session() as session:
        return [a.post_code for a in session.exec(
            select(TaskAssignment).where(TaskAssignment.task_id == task_id, TaskAssignment.kind == kind))]


def events(database, task_id: int, kind: str) -> int:
    with database.session() as session:
        return len(session.exec(select(TimingEvent).where(TimingEvent.task_id == task_id, TimingEvent.kind == kind)).all())


def task_row(database, task_id: int) -> WorkTask:
    with database.session() as session:
        return session.get(WorkTask, task_id)


def first_step(city) -> int:
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    return city.step(case["id"], "accept_application")["id"]


def both_holders(path: str, body: dict | None = None) -> list[tuple[str, str, dict | None]]:
    return [(("chenjing", "yangfan")[i % 2], path, body) for i in range(N)]


def test_twenty_claims_one_claimant(app, city, database):
    task_id = first_step(city)
    winner = exactly_one_wins(concurrently(app, city, both_holders(f"/api/tasks/{task_id}/claim")))
    row = task_row(database, task_id)
    assert row.claimed_by == winner["claimed_by"] and row.claimed_by in ("chenjing", "yangfan")
    assert events(database, task_id, "claimed") == 1


def test_twenty_transfers_one_target(app, city, database):
    task_id = first_step(city)
    # Half of them to 临时救助岗, half to 婚姻登记处: whichever wins, one target only.
    requests = [(("chenjing", "yangfan")[i % 2], f"/api/tasks/{task_id}/transfer",
                 {"to_post": ("MZ-SHJZ-02", "MZ-HYDJ-01")[i % 2], "reason": "职责调整"}) for i in range(N)]
    winner = exactly_one_wins(concurrently(app, city, requests))
    row = task_row(database, task_id)
    assert assignments(database, task_id, TRANSFER) == [row.transfer_to_post] == [winner["transfer_to_post"]]
    assert events(database, task_id, "transferred") == 1


def test_twenty_copies_one_reader_row(app, city, database):
    task_id = first_step(city)
    exactly_one_wins(concurrently(app, city, both_holders(f"/api/tasks/{task_id}/copy", {"posts": ["RS-JY-01"]})))
    assert assignments(database, task_id, READER) == ["RS-JY-01"]
    assert events(database, task_id, "copied") == 1


def test_twenty_delegations_one_backup(app, city, database):
    task_id = first_step(city)
    exactly_one_wins(concurrently(app, city, both_holders(f"/api/tasks/{task_id}/delegate", {"reason": "出差"})))
    assert task_row(database, task_id).delegated_post == "MZ-SHJZ-02"
    assert events(database, task_id, "delegated") == 1


@pytest.mark.parametrize("answer", ["accept", "refuse"])
def test_twenty_answers_to_one_transfer(app, city, database, answer):
    task_id = first_step(city)
    sent = city.client.post(f"/api/tasks/{task_id}/transfer", json={"to_post": "MZ-SHJZ-02", "reason": "临时救助事项"},
                            headers=city.headers("chenjing"))
    assert sent.status_code == 200, sent.text
    body = {"reason": "非本岗位职责"} if answer == "refuse" else None
    exactly_one_wins(concurrently(app, city, [("zhaolei", f"/api/tasks/{task_id}/{answer}", body)] * N))
    row = task_row(database, task_id)
    assert row.transfer_to_post is None and assignments(database, task_id, TRANSFER) == []
    expected = "MZ-SHJZ-02" if answer == "accept" else "MZ-SHJZ-01"
    assert row.post_code == expected and assignments(database, task_id, HANDLER) == [expected]
    assert events(database, task_id, "accepted" if answer == "accept" else "refused") == 1


def test_twenty_withdrawals_one_reopened_step(app, city, database):
    task_id = first_step(city)
    city.complete("chenjing", task_id, {"decision": "accept"})
    instance_id = task_row(database, task_id).instance_id
    exactly_one_wins(concurrently(app, city, [("chenjing", f"/api/tasks/{task_id}/withdraw", None)] * N))
    assert [t["bpmn_id"] for t in city.instance(instance_id)["current_tasks"]] == ["accept_application"]
    assert events(database, task_id, "withdrawn") == 1


def test_twenty_send_backs_one_reopened_step(app, city, database):
    task_id = first_step(city)
    city.complete("chenjing", task_id, {"decision": "accept"})
    instance_id = task_row(database, task_id).instance_id
    review = city.step(instance_id, "review")["id"]
    body = {"to_task_spec": "accept_application", "reason": "材料需重新核对"}
    exactly_one_wins(concurrently(app, city, [("chenjing", f"/api/tasks/{review}/send-back", body)] * N))
    assert [t["bpmn_id"] for t in city.instance(instance_id)["current_tasks"]] == ["accept_application"]
    assert events(database, review, "sent_back") == 1
