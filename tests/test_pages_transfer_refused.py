"""Issue 13, item 5: a refused transfer is shown to the sender — in the sender's inbox the task is
flagged "转办被退回：<reason>" until it is transferred again."""

from __future__ import annotations

import re

import pytest

from tests.browser_helpers import load_demo, sign_in
from tests.test_pages_staff import start_case

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def task_id(client, database, clock):
    load_demo(database, clock)
    return start_case(database, clock, "张三低保申请")  # 受理 at MZ-SHJZ-01 (陈静 s003)


def task_card(client, task_id: int) -> str:
    page = client.get("/inbox").text
    return page.split(f'data-task="{task_id}"')[1].split('<div class="card task')[0]


def transfer(client, task_id: int, reason: str = "属临时救助"):
    client.post(f"/tasks/{task_id}/transfer", data={"to_post": "MZ-SHJZ-02", "reason": reason})


def refuse_as(client, username: str, task_id: int, reason: str):
    client.post("/logout")
    sign_in(client, username)
    client.post(f"/tasks/{task_id}/refuse", data={"reason": reason})
    client.post("/logout")


# On PostgreSQL too: the inbox's own query of refused transfers.
@pytest.mark.backends("sqlite", "postgresql")
def test_the_sender_sees_the_refusal_and_its_reason(client, task_id):
    sign_in(client, "s003")
    assert "转办被退回" not in task_card(client, task_id)  # never transferred: no flag
    transfer(client, task_id)
    assert "转办被退回" not in task_card(client, task_id)  # pending: not refused (yet)
    refuse_as(client, "s005", task_id, "不属于临时救助，请按低保受理")  # 赵磊, 临时救助岗
    sign_in(client, "s003")
    card = task_card(client, task_id)
    flag = re.search(r'data-flag="transfer-refused">([^<]+)<', card)
    assert flag is not None and flag.group(1) == "转办被退回：不属于临时救助，请按低保受理"
    assert "临时救助岗" in card  # the post that returned it, by name
    # 杨帆 (s004) holds the same post: the flag is on the task, so the post's other holder sees it too.
    client.post("/logout")
    sign_in(client, "s004")
    assert "转办被退回：不属于临时救助，请按低保受理" in task_card(client, task_id)


def test_the_flag_goes_when_the_task_is_transferred_again(client, task_id):
    sign_in(client, "s003")
    transfer(client, task_id)
    refuse_as(client, "s005", task_id, "不属于本岗位")
    sign_in(client, "s003")
    assert "转办被退回：不属于本岗位" in task_card(client, task_id)
    transfer(client, task_id, "再次请求：申请人已补充临时救助材料")
    card = task_card(client, task_id)
    assert "转办被退回" not in card and "转办中" in card  # the newest transfer event is the new request
    # Refused a second time: the flag shows the newest reason only.
    refuse_as(client, "s005", task_id, "仍不属于本岗位")
    sign_in(client, "s003")
    card = task_card(client, task_id)
    assert "转办被退回：仍不属于本岗位" in card and "转办被退回：不属于本岗位<" not in card
