"""Browser tests: Playwright driving Debian's Chromium against the real app under uvicorn.

The server runs on 127.0.0.1 (free port) in a thread over its own database (SQLite file; the
staff's walk on PostgreSQL too), with the demo catalog and accounts and a controlled clock
(2026-09-30 09:00, a working day in office hours). Screenshots go to artifacts/screenshots/
(git-ignored).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlmodel import select

from engine.auth.roles import Actor
from engine.clock import BEIJING, ControlledClock
from engine.db import Database
from engine.models.analysis import Alert
from engine.models.runtime import WorkTask
from engine.runtime import service as runtime
from tests.browser_helpers import demo_site, screenshot, sign_in_page

# One process runs the module (pytest-xdist): its served demo sites and Chromium are built once.
# SQLite, and PostgreSQL for the test marked so: the browser layer (tests/conftest.py says why).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser_pages"),
              pytest.mark.backends("sqlite")]

PG_ADMIN_URL = os.environ.get("DUTYFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BROKEN_CATALOG = """
catalog: {region: 示例市, name: 示例市市级部门权责清单, version: "2026.9"}
departments:
  - {code: MZ, name: 市民政局}
duties:
  - {code: D-1, name: 婚姻登记, category: 行政确认, department: MZ}
  - {code: D-1, name: 重复编码的事项, category: 行政确认, department: MZ}
  - {code: D-2, name: 未知部门的事项, category: 行政许可, department: XX}
"""


@dataclass
class Site:
    url: str
    backend: str
    database: Database
    clock: ControlledClock

    def start_case(self, subject: str) -> int:
        """A 最低生活保障审批 case; its 受理 task lands at MZ-SHJZ-01 (陈静 s003)."""
        with self.database.session() as session:
            instance = runtime.start_instance(session, self.clock, "time_limited_case",
                                              {"duty_code": "MZ-GF-001", "subject": subject},
                                              Actor("s006", "S006", frozenset({"staff"})))
            return session.exec(select(WorkTask).where(WorkTask.instance_id == instance.id)).one().id


@pytest.fixture(scope="module")
def site(request, tmp_path_factory):
    with demo_site(request.param, tmp_path_factory, PG_ADMIN_URL) as (url, database, clock):
        yield Site(url, request.param, database, clock)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def sign_in(page, site: Site, username: str) -> None:
    sign_in_page(page, site.url, username)


def sign_out(page) -> None:
    page.click("button:has-text('退出')")
    page.wait_for_load_state()


def test_public_search(page, site, browser):
    page.goto(f"{site.url}/catalog")
    page.fill("input[name=q]", "婚姻登记")
    page.click("button:has-text('查询')")
    page.wait_for_url(re.compile(r".*/catalog\?q=.*"))
    assert "共找到 1 项" in page.inner_text("#result-count")
    screenshot(page, f"public-search-{site.backend}")
    page.click("a:has-text('内地居民婚姻登记')")
    page.wait_for_url(re.compile(r".*/catalog/MZ-QR-001"))
    text = page.inner_text("main")
    assert "受理责任" in text and "《婚姻登记条例》第二条" in text and "0000-12345" in text
    screenshot(page, f"public-duty-{site.backend}")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN").new_page()
    phone.goto(f"{site.url}/catalog/MZ-QR-001")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the duty page must not scroll sideways on a phone"
    screenshot(phone, f"public-duty-phone-{site.backend}")
    phone.context.close()


# On PostgreSQL too: the inbox, the task page, a transfer and its acceptance.
@pytest.mark.backends("sqlite", "postgresql")
def test_staff_completes_and_transfers_a_task(page, site):
    first = site.start_case("张三低保申请")
    second = site.start_case("李四低保申请")
    sign_in(page, site, "s003")
    page.wait_for_url(re.compile(r".*/inbox"))
    card = page.locator(f"[data-task='{first}']")
    countdown = card.locator(".countdown")
    assert countdown.inner_text().startswith("剩余")  # rendered by the live countdown script
    assert card.get_attribute("data-state") == "green"
    screenshot(page, f"inbox-{site.backend}")

    page.click(f"a[href='/tasks/{first}']")
    page.select_option("select[name=f_decision]", "accept")
    screenshot(page, f"task-{site.backend}")
    page.click("button:has-text('办结此步')")
    page.wait_for_url(re.compile(r".*/inbox"))
    assert "「受理」已办结" in page.inner_text(".flash-ok")
    assert page.locator(f"#done a[href='/tasks/{first}']").count() == 1

    page.goto(f"{site.url}/tasks/{second}")
    page.select_option("#transfer select[name=to_post]", "MZ-SHJZ-02")
    page.fill("#transfer textarea[name=reason]", "属于临时救助事项")
    page.click("#transfer button:has-text('转办')")
    page.wait_for_url(re.compile(rf".*/tasks/{second}"))
    assert "已转办给岗位 MZ-SHJZ-02" in page.inner_text(".flash-ok")
    sign_out(page)

    sign_in(page, site, "s005")  # 赵磊, 临时救助岗
    page.click(f"a[href='/tasks/{second}']")
    assert "属于临时救助事项" in page.inner_text("#transfer-decision")
    page.click("button:has-text('接收转办')")
    assert "已接收转办" in page.inner_text(".flash-ok")
    screenshot(page, f"task-accepted-{site.backend}")
    with site.database.session() as session:
        assert session.get(WorkTask, second).post_code == "MZ-SHJZ-02"
        assert session.get(WorkTask, first).completed_by == "s003"


def test_coordinator_opens_a_dispute_from_an_alert(page, site):
    with site.database.session() as session:
        alert = next(a for a in session.exec(select(Alert).where(Alert.category == "overlap")).all()
                     if "石膏矿" in a.summary)
    sign_in(page, site, "s071")  # 冯刚, 编办
    page.wait_for_url(re.compile(r".*/dashboard"))
    assert page.locator("#overlap-graph svg").count() == 1
    screenshot(page, f"dashboard-{site.backend}")
    page.locator(f"#alert-{alert.id}").locator("button:has-text('发起职责争议')").click()
    page.wait_for_url(re.compile(r".*/dashboard"))
    assert "已发起职责争议协调流程" in page.inner_text(".flash-ok")
    assert "争议流程 #" in page.inner_text(f"#alert-{alert.id}")
    screenshot(page, f"dashboard-dispute-{site.backend}")
    page.locator(f"#alert-{alert.id}").locator("a:has-text('争议流程')").click()
    page.wait_for_url(re.compile(r".*/cases/\d+"))
    assert "职责争议" in page.inner_text("main")
    assert page.locator("#steps tbody tr").count() >= 1
    screenshot(page, f"dispute-case-{site.backend}")
    with site.database.session() as session:
        assert session.get(Alert, alert.id).dispute_instance_id is not None


def test_legal_office_import_shows_the_errors(page, site, tmp_path):
    broken = tmp_path / "草稿清单.yaml"
    broken.write_text(BROKEN_CATALOG, encoding="utf-8")
    sign_in(page, site, "s081")  # 曹颖, 法制办
    page.wait_for_url(re.compile(r".*/legal"))
    page.set_input_files("input[name=file]", str(broken))
    page.click("button:has-text('导入并校验')")
    problems = page.locator("#import-problems li").all_inner_texts()
    assert any("D-1" in p for p in problems), problems
    assert any("XX" in p for p in problems), problems
    assert "未导入任何内容" in page.inner_text("#import-problems")
    screenshot(page, f"legal-import-errors-{site.backend}")


def test_a_case_waiting_for_correction_shows_paused_not_red(page, site):
    # 最低生活保障审批 received 2026-09-30 09:00 with 15 working days: due in October. The handler
    # gives the one-time notice the same day (in time, 行政许可法 §32), so the count stops while the
    # applicant fetches the materials. Weeks later, far past the original due moment, the inbox,
    # the task page and the case page all show the clock paused (计时暂停), never red.
    first = site.start_case("王五低保申请")
    sign_in(page, site, "s003")
    page.goto(f"{site.url}/tasks/{first}")
    page.select_option("select[name=f_decision]", "notify_missing")
    page.fill("[name=f_missing_materials]", "户口簿复印件；收入证明")
    page.click("button:has-text('办结此步')")
    page.wait_for_url(re.compile(r".*/inbox"))
    saved = site.clock.now()
    site.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=BEIJING))
    try:
        with site.database.session() as session:
            waiting = session.exec(select(WorkTask).where(WorkTask.task_spec == "receive_correction",
                                                          WorkTask.status == "ready")).all()
            [correction] = [t for t in waiting if t.instance_id == session.get(WorkTask, first).instance_id]
        page.goto(f"{site.url}/inbox")
        card = page.locator(f"[data-task='{correction.id}']")
        assert card.get_attribute("data-state") == "paused"
        assert "计时暂停" in card.inner_text() and "红牌" not in card.inner_text()
        screenshot(page, f"inbox-paused-{site.backend}")
        page.goto(f"{site.url}/tasks/{correction.id}")
        assert page.locator("section.task").first.get_attribute("data-state") == "paused"
        assert "等待补正材料" in page.inner_text("main")
        assert page.locator("button:has-text('重新计时')").count() == 1
        screenshot(page, f"task-paused-{site.backend}")
        page.goto(f"{site.url}/cases/{correction.instance_id}")
        facts = page.inner_text("dl.facts")
        assert "计时暂停" in facts and "红牌" not in facts
        screenshot(page, f"case-paused-{site.backend}")
    finally:
        site.clock.set(saved)
