"""The reason of an extension request (申请延期) has its own bound, not only the body limit.

It is read by the department head in the 延期审批 step and kept in the case's timing log, so the
API refuses a reason longer than engine.runtime.extension_requests.MAX_REASON_CHARS (500) with a
Chinese 422 naming the field, before anything reaches the clock; the engine holds the CLI to the
same bound. The demo catalog: 陈静 (s003, 低保审核岗 MZ-SHJZ-01) starts a 最低生活保障审批 case.
"""

from __future__ import annotations

import pytest

from engine.auth.roles import Actor
from engine.errors import InvalidInput
from engine.runtime import extension_requests
from engine.runtime import service as runtime
from tests.auth_helpers import issue_token
from tests.browser_helpers import load_demo

CHENJING = Actor("s003", "S003", frozenset({"staff"}), "陈静")


@pytest.fixture
def case_id(client, database, clock) -> int:
    load_demo(database, clock)
    with database.session() as session:
        instance = runtime.start_instance(session, clock, "time_limited_case",
                                          {"duty_code": "MZ-GF-001", "applicant": "张三"}, CHENJING)
        return instance.id


def request(client, settings, case_id: int, reason: str):
    return client.post(f"/api/instances/{case_id}/clock/extension-request",
                       headers={"Authorization": f"Bearer {issue_token(settings, 's003')}"},
                       json={"limit": "5个工作日", "reason": reason})


def test_a_reason_past_its_bound_is_a_chinese_422_naming_the_field(client, settings, case_id, database):
    response = request(client, settings, case_id, "需" * 501)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"] == "提交的内容不完整或格式不对"
    assert "理由：最多 500 个字符" in body["problems"], body
    # Nothing was recorded: the case has no request waiting and no logged one.
    with database.session() as session:
        kinds = [event.kind for event in runtime.timeline(session, case_id)]
    assert "extension_requested" not in kinds


def test_a_reason_at_the_bound_is_read_by_the_clock_rules(client, settings, case_id):
    # 500 characters pass the bound and the request meets the clock's own rules: 最低生活保障审批
    # is a 行政给付 without an extension allowance in the demo catalog, so the answer is about the
    # case (不得延期), not about the reason's size.
    response = request(client, settings, case_id, "需" * 500)
    assert response.status_code == 422, response.text
    assert "该事项不得延期" in response.json()["detail"]
    assert "最多 500 个字符" not in response.text


def test_the_engine_holds_the_cli_to_the_same_bound(database, clock, case_id):
    with database.session() as session, pytest.raises(InvalidInput) as refused:
        extension_requests.request_extension(session, clock, case_id, "5个工作日", "需" * 501, CHENJING)
    assert refused.value.problems == ["延期理由：最多 500 个字符，现有 501 个"]
