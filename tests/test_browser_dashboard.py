"""Browser test: the dashboard with 1,200 alerts (issue 11, item 3).

Before, the page loaded 500 alerts, counted those and put the overlap graph and the runtime
figures below them, 64,787 px down. Playwright drives Debian's Chromium against the real app
under uvicorn (SQLite file, then PostgreSQL), as tests/test_browser_pages.py does.
"""

from __future__ import annotations

import os
import re

import pytest
from sqlmodel import select

from engine.auth.demo import DEMO_PASSWORD
from engine.clock import ControlledClock
from engine.db import Database
from engine.models.analysis import Alert
from tests.browser_helpers import (
    demo_site,
    screenshot,
)

# One process runs the module (pytest-xdist): its served demo sites and Chromium are built once.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser_dashboard")]

PG_ADMIN_URL = os.environ.get("DUTYFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DEPARTMENTS = ["MZ", "RS", "MT", "AJ"]  # departments of the demo catalog
GAPS = 1200  # 300 per department
VIEWPORT = {"width": 1280, "height": 900}


def add_alerts(database: Database, clock: ControlledClock) -> int:
    """1,200 gap alerts over four departments on top of the demo's own; returns the open total."""
    with database.session() as session:
        session.add_all(Alert(scope="test:many", finding_key=f"gap-{i}", category="gap", kind="post_vacant",
                              severity="low", summary=f"批量岗位空缺{i:04d}",
                              departments=f",{DEPARTMENTS[i % len(DEPARTMENTS)]},", status="open",
                              first_seen_at=clock.now(), last_seen_at=clock.now())
                        for i in range(GAPS))
        session.commit()
        stored = session.exec(select(Alert).where(Alert.status.in_(("open", "acknowledged")))).all()
        return len(stored)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    totals: list[int] = []
    with demo_site(request.param, tmp_path_factory, PG_ADMIN_URL,
                   lambda database, clock: totals.append(add_alerts(database, clock))) as (url, _database, _clock):
        yield url, request.param, totals[0]


def alert_ids(page) -> list[str]:
    return page.locator("tr[data-alert]").evaluate_all("rows => rows.map(r => r.dataset.alert)")


def test_dashboard_with_1200_alerts_counts_pages_filters_and_shows_the_graph(browser, site):
    url, backend, total = site
    assert total > GAPS  # the demo's own alerts come on top
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "s071")  # 冯刚, 编办
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button:has-text('登录')")
        page.wait_for_url(re.compile(r".*/dashboard"))

        # The graph sits in the first viewport, above the list; nothing to scroll past.
        graph = page.locator("#overlap-graph svg")
        assert graph.count() == 1
        box = graph.bounding_box()
        assert box is not None and 0 <= box["y"] < VIEWPORT["height"]
        assert page.locator("#warnings").bounding_box()["y"] < page.locator("#alerts").bounding_box()["y"]
        screenshot(page, f"dashboard-many-{backend}")

        # True totals, not 500.
        assert f"共 {total} 条" in page.inner_text("#summary")
        assert f"共 {total} 条" in page.inner_text("#alert-total")
        mz = page.locator('#by-department tr[data-department="MZ"] td[data-category="gap"]').inner_text()
        assert int(mz) >= GAPS // len(DEPARTMENTS)
        assert page.locator("tr[data-alert]").count() == 50
        first_page = alert_ids(page)

        # Page 2 shows other rows.
        page.locator("#alert-pages a", has_text="2").first.click()
        page.wait_for_url(re.compile(r".*page=2.*"))
        second_page = alert_ids(page)
        assert len(second_page) == 50 and not set(first_page) & set(second_page)
        assert "第 2 / " in page.inner_text("#alert-pages")

        # Filter by kind: only the demo's overlaps, none of the 1,200 gaps.
        page.select_option("select[name=kind]", "same_object")
        page.click("#alerts button:has-text('筛选')")
        page.wait_for_url(re.compile(r".*kind=same_object.*"))
        kinds = page.locator("tr[data-alert] td:nth-child(2)").all_inner_texts()
        assert kinds and all("同一对象重复" in k for k in kinds)
        assert "批量岗位空缺" not in page.inner_text("#alerts")
        shown = re.search(r"共 (\d+) 条", page.inner_text("#alert-total")).group(1)
        assert int(shown) == len(kinds) < total
        screenshot(page, f"dashboard-many-filtered-{backend}")
    finally:
        context.close()
