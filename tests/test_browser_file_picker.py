"""Browser test: the file chooser of the upload forms speaks Chinese (issue 13).

Headless Chromium draws its own file control with its own English words ("Choose File", "No file
chosen"). Every file input of the templates is wrapped as `data-file-picker` (api/static/app.js):
the native input is hidden from sight but stays focusable, labelled by the field's label, and
described by the chosen file's name; a second label is shown as the button 选择文件, next to the
name chosen or 未选择文件. Without scripts the native control is shown as it is. The page has no
serious or critical axe-core violation either way.

Playwright drives Debian's Chromium against the real app under uvicorn (SQLite; the upload form is
the legal office's /legal import, the only file input of the templates).
"""

from __future__ import annotations

import os
import re

import pytest

from api.pages.web import TEMPLATES_DIR
from tests.browser_helpers import (
    SCREENSHOTS,
    axe_violations,
    demo_site,
    describe_violations,
    screenshot,
    sign_in_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser_file_picker")]

PG_ADMIN_URL = os.environ.get("DUTYFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
VIEWPORT = {"width": 1280, "height": 900}
FILE_INPUT = re.compile(r"<input[^>]*type=\"file\"[^>]*>")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site("sqlite", tmp_path_factory, PG_ADMIN_URL) as (url, _database, _clock):
        yield url


def legal_page(browser, url: str, scripts: bool = True):
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", java_script_enabled=scripts)
    page = context.new_page()
    page.set_default_timeout(15000)
    sign_in_page(page, url, "s080")  # 邓华, 法制办
    page.goto(f"{url}/legal")
    return context, page


def test_every_file_input_of_the_templates_is_a_chinese_picker():
    found = {path.name: FILE_INPUT.findall(path.read_text(encoding="utf-8")) for path in TEMPLATES_DIR.rglob("*.html")}
    inputs = {name: tags for name, tags in found.items() if tags}
    assert inputs, "no file input in the templates"
    for name, tags in inputs.items():
        text = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
        for tag in tags:
            input_id = re.search(r'id="([^"]+)"', tag)
            assert input_id, f"{name}: {tag} has no id for its labels"
            assert text.count(f'for="{input_id[1]}"') == 2, f"{name}: the field's label and the 选择文件 button"
            assert 'class="file-button" hidden>选择文件</label>' in text and ">未选择文件</span>" in text
        assert text.count("data-file-picker") == len(tags)


def test_the_picker_shows_chinese_and_the_chosen_name(browser, site, tmp_path):
    context, page = legal_page(browser, site)
    try:
        picker = page.locator("[data-file-picker]")
        native = picker.locator("input[type=file]")
        button = picker.get_by_text("选择文件", exact=True)
        name = picker.locator(".file-name")
        assert button.is_visible() and name.inner_text() == "未选择文件"
        # The native control is out of sight (1 × 1 px, clipped): its English never shows.
        box = native.bounding_box()
        assert box is not None and box["width"] <= 1 and box["height"] <= 1
        assert "Choose" not in page.inner_text("main") and "No file" not in page.inner_text("main")
        # Still the labelled, described control assistive technology and the keyboard reach.
        assert page.get_by_label(re.compile("清单文件")).get_attribute("type") == "file"
        assert native.get_attribute("aria-describedby") == "catalog-file-name"
        assert not axe_violations(page), describe_violations(axe_violations(page))
        screenshot(page, "file-picker-empty")

        # Keyboard: Tab reaches the input, and the button shows the focus outline.
        native.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.type") == "file"
        outline = button.evaluate("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth")
        assert outline.startswith("solid") and float(outline.split()[1].removesuffix("px")) >= 2

        chosen = tmp_path / "示例市清单2026.2.yaml"
        chosen.write_text("catalog: {}\n", encoding="utf-8")
        page.get_by_label(re.compile("清单文件")).set_input_files(str(chosen))
        assert name.inner_text() == "示例市清单2026.2.yaml"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        picker.screenshot(path=str(SCREENSHOTS / "file-picker-chosen.png"))
        # The label opens the system's file chooser, as the native button did.
        with page.expect_file_chooser() as chooser:
            button.click()
        assert chooser.value.element.get_attribute("name") == "file"
    finally:
        context.close()


def test_without_scripts_the_native_control_stays(browser, site):
    context, page = legal_page(browser, site, scripts=False)
    try:
        picker = page.locator("[data-file-picker]")
        native = picker.locator("input[type=file]")
        box = native.bounding_box()
        assert box is not None and box["width"] > 50  # the browser's own control, usable as before
        assert not picker.get_by_text("选择文件", exact=True).is_visible()
        assert not picker.locator(".file-name").is_visible()
        assert page.get_by_label(re.compile("清单文件")).get_attribute("type") == "file"
    finally:
        context.close()
