"""Pages name people, processes and departments as people know them, not by account, id or code
(issue 13; found by the role walks in tests/test_browser_role_walks.py).

The demo catalog and accounts: 陈静 (s003, 低保审核岗) and 邓华 (s080, 法制办); the demo catalog
is imported and published under the name "test" (tests.browser_helpers.load_demo).
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from engine.auth.roles import Actor
from engine.models.runtime import WorkTask
from engine.runtime import service as runtime
from tests.browser_helpers import load_demo, sign_in

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


CHENJING = Actor("s003", "S003", frozenset({"staff"}), "陈静")


def start(database, clock, data: dict) -> tuple[int, int]:
    with database.session() as session:
        instance = runtime.start_instance(session, clock, "time_limited_case", data, CHENJING)
        task = session.exec(select(WorkTask).where(WorkTask.instance_id == instance.id)).one()
        return instance.id, task.id


def test_a_case_without_subject_is_named_by_its_process_in_the_inbox(client, database, clock):
    load_demo(database, clock)
    case_id, _task_id = start(database, clock, {"duty_code": "MZ-GF-001"})  # no applicant: no subject
    sign_in(client, "s003")
    inbox = client.get("/inbox").text
    assert f'限时办结 · <a href="/cases/{case_id}">办件 #{case_id}</a>' in inbox
    assert "time_limited_case" not in inbox


# On PostgreSQL too: the task page's own query of step names, and the department names.
@pytest.mark.backends("sqlite", "postgresql")
def test_the_case_and_task_pages_name_people_not_accounts(client, database, clock):
    load_demo(database, clock)
    case_id, task_id = start(database, clock, {"duty_code": "MZ-GF-001", "applicant": "张三"})
    with database.session() as session:
        runtime.complete_task(session, clock, task_id, {"decision": "accept"}, CHENJING)
    sign_in(client, "s003")
    case_page = client.get(f"/cases/{case_id}").text
    assert "<dt>发起</dt><dd>陈静，" in case_page
    assert '已办结<br><small class="muted">陈静 ' in case_page
    assert "s003" not in case_page.split("<main")[1].split('<section class="card" id="timeline"')[0]
    task_page = client.get(f"/tasks/{task_id}").text
    assert "已办结（陈静，" in task_page
    # The diagram is titled by the process's name only.
    assert "限时办结（time_limited_case）" not in task_page and "time_limited_case" not in case_page


def test_the_legal_page_names_the_place_of_a_problem_and_who_published(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s080")
    broken = ("catalog: {region: 示例市, name: 清单, version: '9'}\ndepartments:\n  - {code: MZ, name: 市民政局}\n"
              "duties:\n  - {code: D-1, name: 婚姻登记, category: 行政确认, department: XX}\n").encode()
    page = client.post("/legal/import", files={"file": ("草稿.yaml", broken, "application/x-yaml")})
    assert "事项第 1 项 · 实施部门：未知部门 &#39;XX&#39;" in page.text
    assert "duties[0]" not in page.text
    # Nothing chosen: the field is named by its label.
    empty = client.post("/legal/import", files={"file": ("", b"", "application/octet-stream")})
    assert "duties" not in empty.text and "file:" not in empty.text
