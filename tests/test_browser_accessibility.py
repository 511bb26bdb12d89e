"""Browser tests: accessibility and keyboard use (issue 13 item 7).

Every page a role can reach on the demo site is checked with axe-core (the copy bundled in
axe-playwright-python, injected by Playwright: nothing is fetched from another host) and must have
no serious or critical violation. The inbox's main actions — open a task, claim, complete,
transfer — work from the keyboard alone: Tab reaches them in reading order, each focused control
shows a visible outline, Enter follows a link and submits a form.

Playwright drives Debian's Chromium against the real app under uvicorn, as
tests/test_browser_pages.py does: axe on SQLite (the pages' HTML does not depend on the backend),
the keyboard walk on SQLite and PostgreSQL. The demo site carries a computed 绩效考评 year
(tests/evaluation_helpers.py) and three 最低生活保障审批 cases started by 黄丽: one open at 受理, one
given the one-time notice (一次性告知) and one refused (不予受理), so the print views exist.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import pytest
from sqlmodel import select

from engine.auth.roles import Actor
from engine.clock import ControlledClock
from engine.db import Database
from engine.models.runtime import WorkTask
from engine.runtime import service as runtime
from tests.browser_helpers import axe_violations, demo_site, describe_violations, screenshot, sign_in_page
from tests.evaluation_helpers import create_year

# SQLite, and PostgreSQL for the test marked so: the browser layer (tests/conftest.py says why).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser_accessibility"),
              pytest.mark.backends("sqlite")]

PG_ADMIN_URL = os.environ.get("DUTYFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
VIEWPORT = {"width": 1280, "height": 900}
STARTER = Actor("s006", "S006", frozenset({"staff"}), "黄丽")
CHENJING = Actor("s003", "S003", frozenset({"staff"}), "陈静")


@dataclass
class Made:
    year_id: int
    open_task: int
    noticed_case: int
    refused_case: int


def start_case(database: Database, clock: ControlledClock, applicant: str) -> tuple[int, int]:
    """A 最低生活保障审批 case started by 黄丽; its 受理 lands at MZ-SHJZ-01 (陈静). (case id, task id)"""
    with database.session() as session:
        instance = runtime.start_instance(session, clock, "time_limited_case",
                                          {"duty_code": "MZ-GF-001", "applicant": applicant,
                                           "subject": f"{applicant}低保申请"}, STARTER)
        task = session.exec(select(WorkTask).where(WorkTask.instance_id == instance.id)).one()
        return instance.id, task.id


def prepare(database: Database, clock: ControlledClock, made: list[Made]) -> None:
    year_id, _case = create_year(database, clock)
    _open_case, open_task = start_case(database, clock, "张三")
    noticed_case, noticed_task = start_case(database, clock, "李四")
    refused_case, refused_task = start_case(database, clock, "王五")
    with database.session() as session:
        runtime.complete_task(session, clock, noticed_task,
                              {"decision": "notify_missing", "missing_materials": "户口簿；收入证明"}, CHENJING)
        runtime.complete_task(session, clock, refused_task,
                              {"decision": "refuse", "reason": "申请人户籍不在本市"}, CHENJING)
    made.append(Made(year_id, open_task, noticed_case, refused_case))


@pytest.fixture(scope="module")
def site(request, tmp_path_factory):
    made: list[Made] = []
    with demo_site(request.param, tmp_path_factory, PG_ADMIN_URL,
                   lambda database, clock: prepare(database, clock, made)) as (url, database, clock):
        yield url, request.param, made[0], database, clock


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


# Every page is complete at its `load` event (rendered by the server; page.goto waits for it),
# except /docs, which draws itself from /openapi.json afterwards: axe waits for its operations.
DRAWN_BY_SCRIPT = {"/docs": ".opblock"}


def check(page, url: str, path: str, failures: dict[str, str]) -> None:
    response = page.goto(f"{url}{path}")
    assert response is not None and response.status < 500, f"{path}: {response and response.status}"
    # axe runs in the page: a JSON or file answer is sandboxed by its CSP and would never answer.
    if not response.headers.get("content-type", "").startswith("text/html"):
        failures[path] = f"不是网页（HTTP {response.status}，{response.headers.get('content-type')}）"
        return
    if path in DRAWN_BY_SCRIPT:
        page.locator(DRAWN_BY_SCRIPT[path]).first.wait_for()
    found = axe_violations(page)
    if found:
        failures[path] = describe_violations(found)


def report(failures: dict[str, str]) -> str:
    return "\n".join(f"--- {path}\n{text}" for path, text in failures.items())


def pages_of(made: Made) -> dict[str | None, list[str]]:
    """What each role reaches: None = not signed in."""
    return {
        None: ["/catalog", "/catalog?q=婚姻", "/catalog/MZ-QR-001", "/catalog/versions", "/login",
               "/catalog/NO-SUCH-CODE", "/docs"],
        "s003": ["/inbox", f"/tasks/{made.open_task}", f"/cases/{made.noticed_case}",
                 f"/cases/{made.noticed_case}/notice.html", f"/cases/{made.refused_case}/refusal.html"],
        "s071": ["/dashboard"],
        "s081": ["/legal"],
        "s090": ["/evaluation", f"/evaluation/{made.year_id}", f"/evaluation/{made.year_id}/units/MZ-BGS",
                 "/dashboard"],
    }


def test_no_serious_or_critical_axe_violation_on_any_page(browser, site):
    url, backend, made, _database, _clock = site
    failures: dict[str, str] = {}
    for username, paths in pages_of(made).items():
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            if username:
                sign_in_page(page, url, username)
            for path in paths:
                check(page, url, path, failures)
        finally:
            context.close()
    assert not failures, f"axe-core ({backend}):\n{report(failures)}"


# --- keyboard --------------------------------------------------------------------------------
FOCUSED = """() => { const el = document.activeElement; const style = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), name: el.getAttribute('name'), href: el.getAttribute('href'),
          text: (el.innerText || '').trim().slice(0, 40), outline: style.outlineStyle,
          width: parseFloat(style.outlineWidth)}; }"""


def tab_to(page, matches, limit: int = 120) -> list[dict]:
    """Press Tab until the focused element satisfies `matches`; every stop on the way must show a
    visible focus outline. Returns the stops (the last one is the target)."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused["outline"] != "none" and focused["width"] >= 2, f"焦点不可见：{focused}"
        stops.append(focused)
        if matches(focused):
            return stops
    raise AssertionError(f"按 Tab {limit} 次仍未到达目标：{[s['text'] or s['name'] for s in stops]}")


def choose_by_keyboard(page, value: str, limit: int = 80) -> None:
    """On the focused <select>: ArrowDown until it holds `value` (a closed select changes on arrows)."""
    for _ in range(limit):
        if page.evaluate("() => document.activeElement.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"方向键选不到 {value}")


# On PostgreSQL too: open, complete, claim and transfer a task.
@pytest.mark.backends("sqlite", "postgresql")
def test_the_inbox_main_actions_work_from_the_keyboard(page, site):
    url, backend, _made, database, clock = site
    _case, first = start_case(database, clock, "赵六")
    _case, second = start_case(database, clock, "钱七")
    sign_in_page(page, url, "s003")
    page.goto(f"{url}/inbox")

    # The first Tab stop is the skip link, then the menu; the task links come in reading order.
    first_stop = tab_to(page, lambda f: True)[0]
    assert first_stop["text"] == "跳到正文"
    tab_to(page, lambda f: f["href"] == f"/tasks/{first}")
    screenshot(page, f"keyboard-inbox-focus-{backend}")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # open the task
    page.wait_for_url(re.compile(rf".*/tasks/{first}$"))

    # The form comes first on the task page: decision by arrow keys, then Enter on 办结此步.
    tab_to(page, lambda f: f["name"] == "f_decision")
    choose_by_keyboard(page, "accept")
    tab_to(page, lambda f: f["text"] == "办结此步")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/inbox$"))
    assert "「受理」已办结" in page.inner_text(".flash-ok")

    # Claim (签收) and transfer (转办) the second task, still without the mouse.
    page.goto(f"{url}/tasks/{second}")
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "签收")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/tasks/{second}$"))
    assert "已签收「受理」" in page.inner_text(".flash-ok")
    tab_to(page, lambda f: f["name"] == "to_post")
    choose_by_keyboard(page, "MZ-SHJZ-02")
    page.keyboard.press("Tab")
    page.keyboard.type("属于临时救助事项")
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "转办")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/tasks/{second}$"))
    assert "已转办给岗位 MZ-SHJZ-02" in page.inner_text(".flash-ok")
    screenshot(page, f"keyboard-transfer-{backend}")
    with database.session() as session:
        done, moved = session.get(WorkTask, first), session.get(WorkTask, second)
        assert done.status == "completed" and done.form_data["decision"] == "accept"
        assert moved.claimed_by == "s003" and moved.transfer_to_post == "MZ-SHJZ-02"
