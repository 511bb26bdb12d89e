"""Browser test: /evaluation (issue 12 item 7) — the efficiency office opens a computed year and
sees progress, results, the charts and a unit's evidence; a unit head sees only their unit; the
office enters a subjective score through the year's form (录入评分), a refused value first.

Playwright drives Debian's Chromium against the real app under uvicorn (SQLite file; a unit
head's view on PostgreSQL too), as tests/test_browser_dashboard.py does; nothing is requested from
another host.
The year and its hand-computed totals: tests/evaluation_helpers.py.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.browser_helpers import axe_violations, demo_site, describe_violations, screenshot, sign_in_page
from tests.evaluation_helpers import create_year

# SQLite, and PostgreSQL for the test marked so: the browser layer (tests/conftest.py says why).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser_evaluation"),
              pytest.mark.backends("sqlite")]

PG_ADMIN_URL = os.environ.get("DUTYFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def site(request, tmp_path_factory):
    made: list[tuple[int, int]] = []
    with demo_site(request.param, tmp_path_factory, PG_ADMIN_URL,
                   lambda database, clock: made.append(create_year(database, clock))) as (url, _database, _clock):
        yield url, request.param, made[0]


def signed_in_page(browser, url: str, username: str):
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith(url) else None)
    sign_in_page(page, url, username)
    return context, page, elsewhere


def test_the_office_reads_the_year_its_charts_and_a_units_evidence(browser, site):
    url, backend, (year_id, case_id) = site
    context, page, elsewhere = signed_in_page(browser, url, "s090")  # 彭亮, 效能办
    try:
        page.click("nav.menu a:has-text('绩效考评')")
        page.wait_for_url(re.compile(r".*/evaluation$"))
        page.click(f"a[href='/evaluation/{year_id}']")
        page.wait_for_url(re.compile(rf".*/evaluation/{year_id}$"))
        assert "市民政局 2026 年度绩效考评" in page.inner_text("h1")
        assert "4 / 4" in page.inner_text("#units-complete") and "7 / 7" in page.inner_text("#staff-complete")

        rows = page.locator("#units tr[data-unit]")
        assert rows.evaluate_all("rows => rows.map(r => r.dataset.unit)") == ["MZ-BGS", "MZ-YLFW", "MZ-SHJZ", "MZ-HYDJ"]
        assert page.locator("#units tr[data-unit='MZ-BGS'] td[data-total]").inner_text() == "95.30"
        assert page.locator("#units tr[data-unit='MZ-BGS'] [data-flag='advanced']").is_visible()
        assert page.locator("#units tr[data-unit='MZ-HYDJ'] [data-flag='rectification']").is_visible()
        assert page.locator("#units tr[data-unit='MZ-SHJZ'] [data-grade]").inner_text() == "达标"

        # The charts are drawn: 16 bars (4 units × 4 indicators) with real widths, 4 + 7 trend lines.
        bars = page.locator("#unit-bars rect[data-indicator]")
        assert bars.count() == 16
        box = page.locator("#unit-bars svg").first.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 200
        widths = bars.evaluate_all("rs => rs.map(r => r.getBBox().width)")
        assert max(widths) > min(widths) > 0
        assert page.locator("#unit-trend polyline").count() == 4
        assert page.locator("#staff-trend polyline").count() == 7
        screenshot(page, f"evaluation-year-{backend}")
        page.locator("#unit-chart").screenshot(path=str(screenshot_path(f"evaluation-chart-{backend}")))

        # A score with an objective indicator leads to the unit's evidence and the case behind it.
        page.click("#units tr[data-unit='MZ-SHJZ'] td[data-indicator='MGMT'] a")
        page.wait_for_url(re.compile(rf".*/evaluation/{year_id}/units/MZ-SHJZ#evidence$"))
        evidence = page.locator("#evidence-MGMT\\.EFFICIENCY")
        assert "公式：100 × 按时办结件数" in evidence.inner_text()
        assert evidence.locator(f"a[data-case='{case_id}']").count() == 1
        screenshot(page, f"evaluation-unit-{backend}")
        evidence.locator(f"a[data-case='{case_id}']").click()
        page.wait_for_url(re.compile(rf".*/cases/{case_id}$"))
        assert f"办件 #{case_id}" in page.inner_text("main") and "MZ-GF-001" in page.inner_text("main")

        # The export link downloads the workbook.
        page.goto(f"{url}/evaluation/{year_id}")
        with page.expect_download() as download:
            page.click("#export")
        assert download.value.suggested_filename == "市民政局2026年度绩效考评结果.xlsx"
        assert not elsewhere, elsewhere
    finally:
        context.close()


# On PostgreSQL too: a head's years and unit, the page's own query.
@pytest.mark.backends("sqlite", "postgresql")
def test_a_unit_head_sees_their_unit_only(browser, site):
    url, backend, (year_id, _case) = site
    context, page, elsewhere = signed_in_page(browser, url, "s001")  # 王芳, head of 办公室
    try:
        page.goto(f"{url}/evaluation")
        links = page.locator("#years a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert links == [f"/evaluation/{year_id}/units/MZ-BGS"]
        page.click(f"a[href='/evaluation/{year_id}/units/MZ-BGS']")
        assert page.inner_text("#unit-total") == "95.30"
        assert page.locator("#staff tr[data-staff]").count() == 2  # 王芳, 刘洋
        assert page.locator("#unit-bars rect[data-indicator]").count() == 4
        screenshot(page, f"evaluation-unit-head-{backend}")
        response = page.goto(f"{url}/evaluation/{year_id}/units/MZ-SHJZ")
        assert response is not None and response.status == 403
        assert "本单位负责人" in page.inner_text("main")
        assert not elsewhere, elsewhere
    finally:
        context.close()


def test_the_office_enters_a_score_through_the_form(browser, site):
    """社会救助科's 依法履职 (80 in tests/evaluation_helpers.py) entered again from the year's page:
    150 is refused in Chinese next to the form, 82 is saved and shown with who entered it."""
    url, backend, (year_id, _case) = site
    context, page, elsewhere = signed_in_page(browser, url, "s090")  # 彭亮, 效能办
    try:
        page.goto(f"{url}/evaluation/{year_id}")
        page.click("nav.anchors a:has-text('录入评分')")
        sheet = page.locator("details.entry-sheet[data-code='MZ-SHJZ']")
        assert not sheet.evaluate("d => d.open")
        sheet.locator("summary").click()
        value = page.get_by_label("分数（社会救助科 · 管理工作 · 依法履职）")
        assert value.is_visible()
        value.fill("150")
        value.locator("xpath=ancestor::form").get_by_role("button", name="保存评分").click()
        page.wait_for_load_state()
        alert = page.locator("#entry-refused")
        assert "社会救助科「管理工作 · 依法履职」的评分未保存：分数应为 0–100 的数，最多两位小数" in alert.inner_text()
        # The form is shown again, unfolded, with the value typed and the refusal beside it.
        value = page.get_by_label("分数（社会救助科 · 管理工作 · 依法履职）")
        assert value.is_visible() and value.input_value() == "150" and value.get_attribute("aria-invalid") == "true"
        assert "分数：填写的是「150」" in page.locator(".entry-refusal").inner_text()
        # The unfolded sheet with its refusal passes axe-core too (the closed sheets are checked by
        # tests/test_browser_accessibility.py).
        assert not axe_violations(page), describe_violations(axe_violations(page))
        screenshot(page, f"evaluation-score-refused-{backend}")
        page.locator("#entry-refused").screenshot(path=str(screenshot_path(f"evaluation-score-alert-{backend}")))
        sheet.screenshot(path=str(screenshot_path(f"evaluation-score-sheet-{backend}")))

        alert.get_by_role("link", name="回到该项重新填写").click()
        value.fill("82")
        page.get_by_label("说明或依据（社会救助科 · 管理工作 · 依法履职）").fill("年度依法行政检查无问题")
        value.locator("xpath=ancestor::form").get_by_role("button", name="保存评分").click()
        page.wait_for_url(re.compile(rf".*/evaluation/{year_id}#score-unit-1-\d+$"))
        assert "已录入：社会救助科「管理工作 · 依法履职」82 分" in page.inner_text("main")
        # Back on the year's page at the row (the script unfolds the sheet it is in).
        row = page.locator("details.entry-sheet[data-code='MZ-SHJZ'] tr[data-indicator='MGMT.LAW']")
        assert row.is_visible()
        assert row.locator("td[data-value]").inner_text() == "82.00"
        assert "彭亮" in row.inner_text() and "年度依法行政检查无问题" in row.inner_text()
        row.screenshot(path=str(screenshot_path(f"evaluation-score-row-{backend}")))
        screenshot(page, f"evaluation-score-entered-{backend}")
        assert not elsewhere, elsewhere
    finally:
        context.close()


def screenshot_path(name: str):
    from tests.browser_helpers import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
