"""Print views (issue 13 item 7): the 一次性告知书 and the 不予受理决定书 a 限时办结 case hands to the
applicant — content taken from what the 受理 step recorded, readable by whoever may read the case,
404 in Chinese when the case has no such paper.

The demo catalog: 最低生活保障审批 (MZ-GF-001) of 市民政局, region 示例市, committed limit 15个工作日,
no notice limit of its own (so 5个工作日 from receipt, 行政许可法 §32). Cases are started by 黄丽
(s006) on 2026-09-30 09:00 (the test clock); 受理 lands at 陈静 (s003).
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlmodel import select

from engine.auth.roles import Actor
from engine.clock import BEIJING
from engine.models.runtime import WorkTask
from engine.runtime import service as runtime
from tests.browser_helpers import load_demo, sign_in

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


STARTER = Actor("s006", "S006", frozenset({"staff"}), "黄丽")
CHENJING = Actor("s003", "S003", frozenset({"staff"}), "陈静")


def start(database, clock, applicant: str) -> tuple[int, int]:
    with database.session() as session:
        instance = runtime.start_instance(session, clock, "time_limited_case",
                                          {"duty_code": "MZ-GF-001", "applicant": applicant}, STARTER)
        task = session.exec(select(WorkTask).where(WorkTask.instance_id == instance.id)).one()
        return instance.id, task.id


def decide(database, clock, task_id: int, data: dict) -> None:
    with database.session() as session:
        runtime.complete_task(session, clock, task_id, data, CHENJING)


def text_of(html: str) -> str:
    """The page's words without tags and with runs of white space made one."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# On PostgreSQL too: the duty in force and its notice limit, read only by the papers.
@pytest.mark.backends("sqlite", "postgresql")
def test_notice_in_time_lists_every_material_and_the_restart_rule(client, database, clock):
    load_demo(database, clock)
    case_id, task_id = start(database, clock, "张三")
    # 10-01…10-07 are the National Day holidays, so 10-09 is the second working day after receipt
    # (10-08, 10-09), within the 5 working days the law allows: in time.
    clock.set(datetime(2026, 10, 9, 10, 0, tzinfo=BEIJING))
    decide(database, clock, task_id, {"decision": "notify_missing", "missing_materials": "户口簿；收入证明\n住房证明"})
    sign_in(client, "s003")
    page = client.get(f"/cases/{case_id}/notice.html")
    assert page.status_code == 200, page.text
    words = text_of(page.text)
    assert "一次性告知书" in words
    assert "张三：" in words and "最低生活保障审批" in words and "市民政局" in words
    assert re.findall(r"<li>(.*?)</li>", page.text) == ["户口簿", "收入证明", "住房证明"]
    assert "2026年9月30日 提出的" in words  # received when the case opened
    assert "2026年10月9日" in words  # the date of the notice: when 受理 was completed
    assert "等待补正期间不计入办理时限" in words and "次日起重新计算办理时限（15个工作日）" in words
    assert "即为受理" not in words
    # A paper, not a page of the site: no menu, the print stylesheet, A4.
    assert 'class="menu"' not in page.text and "/static/print.css" in page.text
    assert f'href="/cases/{case_id}"' in page.text
    # The case page offers the paper to print; a case that gave no notice offers none.
    case_page = client.get(f"/cases/{case_id}").text
    assert f'<a href="/cases/{case_id}/notice.html">一次性告知书</a>' in case_page
    assert "refusal.html" not in case_page


def test_a_late_notice_states_that_the_application_counts_as_accepted(client, database, clock):
    load_demo(database, clock)
    case_id, task_id = start(database, clock, "李四")
    # Received 09-30; 5 working days: 10-08, 10-09, 10-10 (调休 Saturday), 10-12, 10-13 → due
    # 10-13 at the close. On 10-20 the notice is late: accepted on receipt, no pause or restart.
    clock.set(datetime(2026, 10, 20, 10, 0, tzinfo=BEIJING))
    decide(database, clock, task_id, {"decision": "notify_missing", "missing_materials": "收入证明"})
    sign_in(client, "s003")
    words = text_of(client.get(f"/cases/{case_id}/notice.html").text)
    assert "晚于补正告知期限（收到申请之日起 5个工作日）" in words
    assert "自收到申请材料之日（2026年9月30日）起即为受理" in words
    assert "重新计算办理时限（" not in words


def test_refusal_names_the_reason_and_how_to_seek_review(client, database, clock):
    load_demo(database, clock)
    case_id, task_id = start(database, clock, "王五")
    decide(database, clock, task_id, {"decision": "refuse", "reason": "申请人户籍不在本市"})
    sign_in(client, "s003")
    page = client.get(f"/cases/{case_id}/refusal.html")
    assert page.status_code == 200, page.text
    words = text_of(page.text)
    assert "不予受理决定书" in words and "王五：" in words and "最低生活保障审批" in words
    assert "申请人户籍不在本市" in words
    assert "六十日内向示例市人民政府申请行政复议" in words and "六个月内依法向人民法院提起行政诉讼" in words
    assert "市民政局" in words and "2026年9月30日" in words
    assert 'class="menu"' not in page.text


def test_no_such_paper_is_a_chinese_404(client, database, clock):
    load_demo(database, clock)
    open_case, _task = start(database, clock, "赵六")  # still at 受理: neither paper exists
    refused, task_id = start(database, clock, "钱七")
    decide(database, clock, task_id, {"decision": "refuse", "reason": "不属于本机关职权范围"})
    sign_in(client, "s003")
    for path, paper in ((f"/cases/{open_case}/notice.html", "一次性告知书"),
                        (f"/cases/{open_case}/refusal.html", "不予受理决定书"),
                        (f"/cases/{refused}/notice.html", "一次性告知书")):
        page = client.get(path)
        assert page.status_code == 404, path
        assert f"没有{paper}" in page.text
    assert client.get("/cases/999999/refusal.html").status_code == 404


def test_only_who_may_read_the_case_may_print_it(client, database, clock):
    load_demo(database, clock)
    case_id, task_id = start(database, clock, "孙八")
    decide(database, clock, task_id, {"decision": "refuse", "reason": "申请人户籍不在本市"})
    path = f"/cases/{case_id}/refusal.html"
    # Not signed in: to the sign-in page, back here afterwards.
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    # 吴敏 (s010) of 人社局 has no step of the case and is none of starter, head or efficiency office.
    sign_in(client, "s010")
    refused = client.get(path)
    assert refused.status_code == 403 and "无权查看" in refused.text
    # The starter (黄丽) and the efficiency office (彭亮) may.
    for username in ("s006", "s090"):
        sign_in(client, username)
        assert client.get(path).status_code == 200, username
