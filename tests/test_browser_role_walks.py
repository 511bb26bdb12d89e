"""Each role's day in the browser (issue 13 item 8), as a person who read only the README does it.

Playwright drives Debian's Chromium against the real app under uvicorn (one SQLite demo site and
one browser for the module; the PostgreSQL side of the pages is covered by the other browser
modules). Every walk only clicks links and buttons by their Chinese text and fills fields by their
labels; the test itself only moves the controlled clock (and lets the timer worker fire what fell
due, as the server's worker would) and, for the 效能办, creates the 绩效考评 year beforehand with its
scores (the pages create a year and enter each score one by one; the walk enters one).

At every step the walk asserts what the person relies on (the page says the right thing) and that
the page shows no English word, no code to decode, no `$variable`, no JSON (`Walk.see`; the
allowed ASCII is listed in ALLOWED), that no response was a server error and that no request left
the server. One screenshot per step: artifacts/screenshots/role-walks/<role>/NN-<step>.png
(git-ignored, as the other browser modules' screenshots).
"""

from __future__ import annotations

import os
import re
from datetime import datetime

import pytest
import yaml

from engine.auth.demo import DEMO_PASSWORD
from engine.clock import BEIJING
from engine.runtime.worker import Worker
from tests.browser_helpers import DEMO_CATALOG, SCREENSHOTS, demo_site
from tests.evaluation_helpers import create_year

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser_role_walks")]

PG_ADMIN_URL = os.environ.get("DUTYFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WALKS = SCREENSHOTS / "role-walks"
VIEWPORT = {"width": 1280, "height": 900}

# ASCII a person may meet on a page without decoding anything: file formats they choose, the
# print shortcut and paper size. Catalog identifiers (事项编码 MZ-GF-001, 岗位编码 MZ-SHJZ-01) are
# printed on the public catalog and the papers and are allowed by CATALOG_CODE; numbers, dates and
# case numbers have no letters and are not looked at.
ALLOWED = {"Excel", "xlsx", "YAML", "yaml", "yml", "JSON", "json", "CSV", "csv", "Ctrl", "Ctrl+P", "A4",
           "A", "B",  # A角、B角: the posts' roles in a duty, as offices say them
           # the product's name in the footer, and the name under which tests.browser_helpers.load_demo
           # imports and publishes the demo catalog (no account: shown as written)
           "dutyflow", "test"}
CATALOG_CODE = re.compile(r"[A-Z]{1,6}(?:-[A-Z0-9]{1,6}){1,3}")
ASCII_RUN = re.compile(r"[!-~]+")
EDGE_PUNCTUATION = "()[]{}<>,.;:!?'\"`*#|/\\=+-_"


def foreign_words(text: str) -> list[str]:
    """The ASCII a person would have to decode: English words, keys, `$variables`, JSON."""
    found = []
    if re.search(r"[{\[]\s*\"", text):
        found.append("JSON")
    for run in ASCII_RUN.findall(text):
        if "$" in run:
            found.append(run)
            continue
        if not re.search(r"[A-Za-z]", run):
            continue
        # A run may glue a code to punctuation (（MZ-GF-001）) or two tokens (MZ-GF-001，张三).
        for token in re.split(r"[,，、;；()（）]", run):
            word = token.strip(EDGE_PUNCTUATION)
            if not re.search(r"[A-Za-z]", word) or word in ALLOWED or CATALOG_CODE.fullmatch(word):
                continue
            if word.rsplit(".", 1)[-1] in ALLOWED and "." in word:
                continue  # a file name as the person named it (清单2026.2.yaml)
            found.append(word)
    return found


class Walk:
    """One person's browser tab: sign-in, steps with a screenshot each, and what was seen."""

    def __init__(self, browser, url: str, role: str):
        self.url, self.role = url, role
        self.context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(10000)
        self.elsewhere: list[str] = []
        self.server_errors: list[str] = []
        self.foreign: list[tuple[str, str, list[str]]] = []
        self.step = 0
        self.page.on("request", lambda r: None if r.url.startswith(url) else self.elsewhere.append(r.url))
        self.page.on("response", lambda r: self.server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        self.shots = WALKS / role
        self.shots.mkdir(parents=True, exist_ok=True)
        for old in self.shots.glob("*.png"):
            old.unlink()

    def sign_in(self, username: str) -> None:
        self.page.goto(f"{self.url}/login")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(DEMO_PASSWORD)
        self.follow(self.page.get_by_role("button", name="登录"))

    def sign_out(self) -> None:
        self.follow(self.page.get_by_role("button", name="退出"))

    def see(self, step: str, *expected: str) -> str:
        """The page as it is now: it says each of `expected`, shows nothing to decode; screenshot."""
        self.page.wait_for_load_state()
        text = self.page.inner_text("body")
        missing = [e for e in expected if e not in text]
        assert not missing, f"{self.role} · {step}: the page does not say {missing}\n{text[:3000]}"
        words = foreign_words(text)
        if words:
            self.foreign.append((step, self.page.url, words))
        self.step += 1
        self.page.screenshot(path=str(self.shots / f"{self.step:02d}-{step}.png"), full_page=True)
        return text

    def follow(self, target) -> None:
        """Click a link or a form's button and wait for the page it leads to: `see` must never read
        the page being left (it may say the same words) nor photograph it while the next one
        arrives (Chromium cannot capture a page mid-navigation)."""
        with self.page.expect_navigation():
            target.click()

    def click(self, name: str, role: str = "link") -> None:
        self.follow(self.page.get_by_role(role, name=name).first)

    def press(self, name: str) -> None:
        self.click(name, "button")

    def field(self, label: str, form: str | None = None):
        """A form field by its label (a required field's label ends with 必填), in the form headed
        `form` when the page has several."""
        scope = self.page.locator("form", has_text=form) if form else self.page
        return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}(必填|（|\s|$)"))

    def finish(self) -> None:
        self.context.close()
        assert not self.server_errors, f"{self.role}: server errors {self.server_errors}"
        assert not self.elsewhere, f"{self.role}: requests left the server: {self.elsewhere}"
        assert not self.foreign, f"{self.role}: pages show what a person must decode: " + "; ".join(
            f"[{step}] {url}: {words}" for step, url, words in self.foreign)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site("sqlite", tmp_path_factory, PG_ADMIN_URL,
                   lambda database, clock: create_year(database, clock)) as (url, database, clock):
        yield url, database, clock


@pytest.fixture
def moment(site):
    """Set the served clock for one walk, and back afterwards (the walks share the site)."""
    _url, database, clock = site
    start = clock.now()

    def move(at: datetime) -> int:
        clock.set(at)
        return Worker(database, clock).run_until_idle()

    yield move
    clock.set(start)


def test_no_ascii_but_codes_and_formats_pass_the_scan():
    assert foreign_words("事项（MZ-GF-001） 导出：Excel · YAML · 办件 #12 2026-10-20 17:30 清单2026.2.yaml") == []
    assert foreign_words("lane [$handler_post] decision = accept") == ["lane", "[$handler_post]", "decision", "accept"]
    assert foreign_words('建议 {"department": "MZ"}')[0] == "JSON"


# --------------------------------------------------------------------------------------------
# 法制办: import a draft → see its problems → import the corrected file → start the publication
# → the reviews → the public notice → publish.


def draft_files(tmp_path) -> tuple[str, str]:
    """The demo catalog as version 2026.2 with one phone number changed (the corrected file), and
    the same with a duty of a department the catalog does not have (the file with a problem)."""
    document = yaml.safe_load(DEMO_CATALOG.read_text(encoding="utf-8"))
    document["catalog"]["version"] = "2026.2"
    duty = next(d for d in document["duties"] if d["code"] == "MZ-GF-001")
    duty["phone"] = "0000-54321"
    fixed = tmp_path / "示例市清单2026.2.yaml"
    fixed.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # A department written by its name where the catalog wants its code.
    document["duties"].append({**duty, "code": "MZ-GF-009", "department": "市民政厅", "name": "临时生活补助"})
    broken = tmp_path / "示例市清单2026.2-有误.yaml"
    broken.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(broken), str(fixed)


def complete_in_inbox(walk: Walk, task_name: str, fields: dict[str, str], choices: dict[str, str]) -> None:
    walk.page.goto(f"{walk.url}/inbox")
    walk.click(task_name)
    for label, value in choices.items():
        walk.field(label).select_option(label=value)
    for label, value in fields.items():
        walk.field(label).fill(value)
    walk.press("办结此步")


def test_legal_office_imports_fixes_and_publishes(browser, site, moment, tmp_path):
    url, _database, _clock = site
    broken, fixed = draft_files(tmp_path)
    walk = Walk(browser, url, "legal-office")
    walk.sign_in("s080")  # 邓华, 法制办 合法性审查岗
    walk.see("legal", "清单管理", "导入清单草稿")

    walk.page.get_by_label(re.compile("清单文件")).set_input_files(broken)
    walk.press("导入并校验")
    # The problem names its place in the file in words: the 19th duty's department.
    walk.see("import-problems", "未导入任何内容", "事项第 19 项 · 实施部门：未知部门 '市民政厅'")

    walk.page.get_by_label(re.compile("清单文件")).set_input_files(fixed)
    walk.press("导入并校验")
    walk.see("imported", "2026.2", "草稿")
    walk.click("与现行版本对比、预览预警")
    walk.see("diff", "调整说明", "0000-54321")

    row = walk.page.locator("tr", has_text="2026.2")
    row.get_by_label(re.compile("公示工作日")).fill("1")
    walk.follow(row.get_by_role("button", name="启动发布流程"))
    walk.page.wait_for_load_state()
    walk.see("publication-started", "发布流程办理中")

    complete_in_inbox(walk, "起草清单（三定分解）", {"起草（修改）说明": "按三定规定核对，更新低保咨询电话"}, {})
    walk.see("drafted", "已办结")
    walk.sign_out()

    walk.sign_in("s070")  # 韩雪, 编办 三定审核岗
    complete_in_inbox(walk, "编办审核（对照三定）", {}, {"审核结论": "通过"})
    walk.see("establishment-approved", "已办结")
    walk.sign_out()

    walk.sign_in("s080")
    complete_in_inbox(walk, "法制办合法性审查", {}, {"审查结论": "通过"})
    walk.see("legal-approved", "已办结")
    # 公示 for one working day: opened Wednesday 09-30, the National Day holidays follow, so the
    # notice ends at the close of Thursday 10-08; the next morning the office sees the comments.
    moment(datetime(2026, 10, 9, 9, 0, tzinfo=BEIJING))
    complete_in_inbox(walk, "处理公示意见", {}, {"处理结果（发布/退回修改）": "发布"})
    walk.see("published", "已办结")
    walk.page.goto(f"{url}/legal")
    row = walk.page.locator("tr", has_text="2026.2")
    assert "已发布" in row.inner_text()
    walk.see("legal-after", "已发布")
    walk.click("版本与调整")
    walk.see("versions", "2026.2")
    walk.finish()


# --------------------------------------------------------------------------------------------
# The clerk (陈静, 社会救助科 低保审核岗): a 最低生活保障审批 case from 受理 to 送达, with a one-time
# notice (补正), the materials received, the 审查 transferred to 赵磊 (临时救助岗) and back.


def test_clerk_takes_a_case_from_reception_to_delivery(browser, site, moment):
    url, _database, _clock = site
    walk = Walk(browser, url, "clerk")
    walk.sign_in("s003")
    walk.see("inbox", "我的待办", "受理办件")
    walk.field("事项", "受理办件").select_option(label="最低生活保障审批（MZ-GF-001）")
    walk.field("申请人", "受理办件").fill("王小明")
    walk.press("登记办件")
    walk.see("case-registered", "王小明")

    walk.follow(walk.page.locator(".card.task", has_text="王小明").get_by_role("link", name="受理"))
    walk.see("reception", "受理", "受理决定", "15个工作日")
    walk.field("受理决定").select_option(label="一次性告知补正")
    walk.field("需补正的全部材料").fill("户口簿复印件\n家庭收入证明")
    walk.press("办结此步")
    walk.see("notice-given", "已办结")

    card = walk.page.locator(".card.task", has_text="王小明")
    assert card.get_attribute("data-state") == "paused"
    walk.follow(card.get_by_role("link", name="接收补正材料"))
    walk.see("waiting-for-correction", "等待补正材料")
    walk.click("办件 #", "link")
    walk.see("case-notice", "一次性告知书")
    walk.click("一次性告知书")
    walk.see("notice-paper", "一次性告知书", "王小明", "户口簿复印件", "家庭收入证明")
    walk.page.go_back()

    # The applicant brings the materials on Monday 10-12.
    moment(datetime(2026, 10, 12, 10, 0, tzinfo=BEIJING))
    walk.page.goto(f"{url}/inbox")
    walk.follow(walk.page.locator(".card.task", has_text="王小明").get_by_role("link", name="接收补正材料"))
    walk.field("补正结果").select_option(label="已补正")
    walk.press("办结此步")
    walk.see("correction-received", "已办结")

    walk.follow(walk.page.locator(".card.task", has_text="王小明").get_by_role("link", name="受理"))
    walk.field("受理决定").select_option(label="接收/受理")
    walk.press("办结此步")
    walk.see("accepted", "已办结")

    walk.follow(walk.page.locator(".card.task", has_text="王小明").get_by_role("link", name="审查"))
    walk.see("review", "审查")
    walk.page.get_by_label("转给岗位").select_option(label="临时救助岗（MZ-SHJZ-02，赵磊）")
    walk.page.get_by_label("转办理由").fill("申请人同时申请临时救助，请临时救助岗一并审查")
    walk.press("转办")
    walk.see("transferred", "已转办给岗位 MZ-SHJZ-02（市民政局 · 社会救助科 · 临时救助岗），对方接收前仍由您负责")
    walk.sign_out()

    walk.sign_in("s005")  # 赵磊, 临时救助岗
    walk.see("colleague-inbox", "审查")
    walk.follow(walk.page.locator(".card.task", has_text="王小明").get_by_role("link", name="审查"))
    walk.press("接收转办")
    walk.see("transfer-accepted", "已接收转办「审查」，现由岗位 MZ-SHJZ-02（市民政局 · 社会救助科 · 临时救助岗）承办")
    walk.field("审查意见").fill("家庭收入低于本市低保标准，材料齐全")
    walk.field("特别程序").select_option(label="无")
    walk.press("办结此步")
    walk.see("reviewed", "已办结")
    walk.sign_out()

    # 决定 is the unit head's: 社会救助科 names none, so 市民政局's head post (王芳, 综合文秘岗).
    walk.sign_in("s001")
    walk.follow(walk.page.locator(".card.task", has_text="王小明").get_by_role("link", name="决定"))
    walk.see("decision", "决定", "综合文秘岗")
    walk.field("决定").select_option(label="通过")
    walk.press("办结此步")
    walk.see("decided", "已办结")
    walk.sign_out()

    walk.sign_in("s003")
    walk.follow(walk.page.locator(".card.task", has_text="王小明").get_by_role("link", name="送达"))
    walk.field("送达方式").select_option(label="当场")
    walk.press("办结此步")
    walk.see("delivered", "已办结")
    walk.follow(walk.page.locator("#done").get_by_role("link", name="送达").first)
    walk.click("办件 #", "link")
    walk.see("case-done", "已办结", "王小明")
    walk.finish()


# --------------------------------------------------------------------------------------------
# 编办 (冯刚, 职责争议协调岗): an overlap alert on the dashboard → a 职责争议 opened from it; the lead
# department (市安监局, 朱军) finds the negotiation in its inbox, counted against its 10 working days.


def test_establishment_office_opens_a_dispute_from_an_alert(browser, site):
    url, _database, _clock = site
    walk = Walk(browser, url, "establishment-office")
    walk.sign_in("s071")
    walk.see("dashboard", "预警列表", "职责交叉关系图")
    alert = walk.page.locator("tr[data-alert]", has_text="石膏矿").first
    assert "职责交叉" in alert.inner_text()
    walk.follow(alert.get_by_role("button", name="发起职责争议"))
    walk.page.wait_for_load_state()
    walk.see("dispute-opened", "已发起职责争议协调流程")
    walk.follow(walk.page.locator("tr[data-alert]", has_text="石膏矿").first.get_by_role("link", name=re.compile("争议流程")))
    # Opened on Wednesday 09-30: ten working days after the National Day holidays (10-08, 10-09,
    # 10-10 调休, 10-12 … 10-16, 10-19, 10-20) end at the close of 10-20.
    walk.see("dispute-case", "职责争议", "牵头部门组织协商", "非煤矿山监管岗", "10个工作日，2026-10-20 17:30 前")
    walk.sign_out()

    walk.sign_in("s030")  # 朱军, 市安监局 非煤矿山监管岗: the lead department's post
    walk.see("lead-inbox", "牵头部门组织协商", "2026-10-20 17:30 前")
    walk.follow(walk.page.locator(".card.task", has_text="牵头部门组织协商").first.get_by_role("link", name="牵头部门组织协商"))
    text = walk.see("negotiation", "协商结果", "牵头部门组织协商环节时限 10个工作日")
    assert "不计时" not in text
    walk.finish()


# --------------------------------------------------------------------------------------------
# 效能办 (彭亮, 效能监察岗): a 自查 campaign, a 投诉 registered, and the 绩效考评 pages.


def test_efficiency_office_campaign_complaint_and_evaluation(browser, site):
    url, _database, _clock = site
    walk = Walk(browser, url, "efficiency-office")
    walk.sign_in("s090")
    walk.see("dashboard", "效能办发起", "发起自查活动", "登记效能投诉")

    campaign = walk.page.locator("#campaign-form")
    campaign.get_by_label("活动名称").fill("2026年窗口作风自查")
    campaign.get_by_label("社会救助科").check()
    campaign.get_by_label("婚姻登记处").check()
    campaign.get_by_label(re.compile("整改期限")).fill("15个工作日")
    walk.follow(campaign.get_by_role("button", name="发起自查"))
    walk.page.wait_for_load_state()
    # The campaign's case: each unit's first post self-inspects within 5 working days.
    walk.see("campaign-started", "已发起自查活动", "自查整改检查", "单位自查", "社会救助科", "婚姻登记处")
    walk.click("监督看板")

    complaint = walk.page.locator("#complaint-form")
    complaint.get_by_label("投诉事项", exact=True).fill("最低生活保障审批超期未办结")
    complaint.get_by_label(re.compile("^投诉人")).fill("张三")
    complaint.get_by_label("联系方式").fill("13800000000")
    complaint.get_by_label(re.compile("^被投诉部门")).select_option(label="市民政局")
    walk.follow(complaint.get_by_role("button", name="登记投诉"))
    walk.page.wait_for_load_state()
    walk.see("complaint-registered", "已登记效能投诉")

    walk.click("我的待办")
    walk.see("inbox", "受理审查")
    walk.click("受理审查")
    walk.see("complaint-task", "最低生活保障审批超期未办结", "张三", "被投诉部门\n市民政局")

    walk.click("绩效考评")
    walk.see("evaluation-years", "绩效考评", "2026 年度")
    walk.click("2026 年度")
    walk.see("evaluation-year", "市民政局 2026 年度绩效考评", "重点整改单位")

    # 录入评分: 婚姻登记处's 廉洁履职 (60 in tests/evaluation_helpers.py) entered again with its
    # evidence — a slip of the finger first (160), refused in words next to the form — then the
    # results computed again.
    walk.click("录入评分")
    walk.page.locator("summary").filter(has_text=re.compile(r"^\s*婚姻登记处")).click()
    walk.field("分数（婚姻登记处 · 管理工作 · 廉洁履职）").fill("160")
    walk.field("说明或依据（婚姻登记处 · 管理工作 · 廉洁履职）").fill("年度廉政检查：无违规")
    save = walk.field("分数（婚姻登记处 · 管理工作 · 廉洁履职）").locator("xpath=ancestor::form")
    walk.follow(save.get_by_role("button", name="保存评分"))
    walk.see("score-refused", "婚姻登记处「管理工作 · 廉洁履职」的评分未保存", "分数应为 0–100 的数，最多两位小数",
             "分数：填写的是「160」")
    walk.field("分数（婚姻登记处 · 管理工作 · 廉洁履职）").fill("60")
    walk.follow(save.get_by_role("button", name="保存评分"))
    walk.see("score-entered", "已录入：婚姻登记处「管理工作 · 廉洁履职」60 分", "年度廉政检查：无违规")
    walk.press("计算结果")
    walk.see("recomputed", "已计算结果", "重点整改单位")
    walk.click("婚姻登记处")
    walk.see("evaluation-unit", "婚姻登记处")
    walk.finish()
