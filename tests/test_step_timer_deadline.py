"""A step bounded by a timer boundary event shows that timer's limit and countdown, not 不计时.

职责争议 (duty_dispute): 立案 sets `negotiation_due = due_after("10个工作日")` and the lead
department's 协商 step carries the boundary timer 协商期限届满 at that moment. The step has no
stage limit and the dispute no case clock, so the inbox and the task page used to say 不计时.

Worked out by hand, Chinese working days (国务院 2026 arrangement): the dispute is opened on
Wednesday 2026-09-30 09:00 (the test clock); its day is not counted; 10-01…10-07 are the National
Day holidays and Saturday 10-10 is a working day (调休). The ten working days are 10-08, 10-09,
10-10, 10-12, 10-13, 10-14, 10-15, 10-16, 10-19, 10-20: due 2026-10-20 at the close, 17:30.
Office time left at 09-30 09:00: the rest of 09-30 (09:00–12:00 and 13:30–17:30, 7 h) and ten
days of 7 h = 77 h = 277 200 s.
Yellow (one working day before due, or two thirds of the office time used, whichever first):
one day before is 10-19 17:30; two thirds of the 70 h counted from the close of 09-30 is 46 h 40 min:
six whole days (10-08 … 10-14, 42 h) and 4 h 40 min of 10-15 (09:00–12:00, then 13:30 + 1 h 40 min)
→ 10-15 15:10, the earlier.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.clock import BEIJING
from tests.process_helpers import Scenario

GYPSUM = {"duties": ["MT-JC-002", "AJ-JC-001"], "lead": "MT", "subject": "石膏矿安全监管职责争议"}


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


def test_the_negotiation_step_counts_down_to_its_timer(city):
    dispute = city.start("hanxue", "duty_dispute", GYPSUM)
    negotiate = city.step(dispute["id"], "negotiate")
    task = city.client.get(f"/api/tasks/{negotiate['id']}", headers=city.headers("sunwei")).json()
    assert task["deadline"] == {
        "scope": "stage", "stage": "牵头部门组织协商", "limit": "10个工作日",
        "due_at": "2026-10-20T17:30:00+08:00", "yellow_at": "2026-10-15T15:10:00+08:00",
        "time_left_seconds": 277200, "state": "green", "provisional": False,
    }


def test_it_turns_yellow_and_red_by_that_timer(city):
    dispute = city.start("hanxue", "duty_dispute", GYPSUM)
    negotiate = city.step(dispute["id"], "negotiate")
    city.clock.set(datetime(2026, 10, 15, 15, 10, tzinfo=BEIJING))
    # At yellow: left are the rest of 10-15 (15:10–17:30, 2 h 20 min) and 10-16, 10-19, 10-20
    # (3 × 7 h): 23 h 20 min = 84 000 s.
    task = city.client.get(f"/api/tasks/{negotiate['id']}", headers=city.headers("sunwei")).json()
    assert task["deadline"]["state"] == "yellow" and task["deadline"]["time_left_seconds"] == 84000


def test_the_task_page_shows_the_limit_and_the_due_moment(city, client):
    dispute = city.start("hanxue", "duty_dispute", GYPSUM)
    negotiate = city.step(dispute["id"], "negotiate")
    city.headers("sunwei")  # the account of 孙伟 (MT-AQ-01, the lead department's post)
    client.cookies.clear()
    response = client.post("/login", data={"username": "sunwei", "password": "secret-pass-1"}, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(f"/tasks/{negotiate['id']}").text
    assert "牵头部门组织协商环节时限 10个工作日，2026-10-20 17:30 前" in page
    assert "不计时" not in page
    inbox = client.get("/inbox").text
    assert "2026-10-20 17:30 前" in inbox
