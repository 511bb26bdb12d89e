"""绩效考评 pages and the export (issue 12 item 7): the efficiency office's /evaluation, a unit
head's view of their own unit, refusals, and the xlsx of the year's results read back with
openpyxl. The year and its hand-computed totals: tests/evaluation_helpers.py. SQLite; the office's
year and a unit head's view on PostgreSQL too (the queries written in api/pages/evaluation.py)."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import evaluation as evaluation_cli  # noqa: F401  (registers the commands)
from api.cli.app import app as cli_app
from engine import audit
from engine.evaluation import scheme, service
from engine.models.audit import AuditEntry
from engine.models.evaluation import EvaluationScore, EvaluationYear
from tests.browser_helpers import load_demo, sign_in
from tests.evaluation_helpers import OFFICE, create_year

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def year(client, database, clock):
    load_demo(database, clock)
    return create_year(database, clock)


def section(html: str, anchor: str) -> str:
    return html.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


def row(html: str, attribute: str, code: str) -> str:
    return html.split(f'{attribute}="{code}"', 1)[1].split("</tr>", 1)[0]


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))


# On PostgreSQL too: the year's score rows, read only by this page.
@pytest.mark.backends("sqlite", "postgresql")
def test_the_office_sees_the_year(client, year):
    year_id, case_id = year
    sign_in(client, "s090")  # 彭亮, 效能办
    listing = client.get("/evaluation")
    assert listing.status_code == 200
    assert f'href="/evaluation/{year_id}"' in listing.text and "市民政局" in listing.text
    assert 'href="/evaluation">绩效考评</a>' in listing.text.replace(' class="active" aria-current="page"', "")

    page = client.get(f"/evaluation/{year_id}")
    assert page.status_code == 200
    html = page.text
    # Progress: everything scored (29 subjective unit leaves after 常规工作 was made subjective:
    # 4 quarters × 3 + 3 + 2 + 2 = 19 → 4 units × 19 = 76; staff 4 + 1 + 2 = 7 leaves × 7 = 49).
    progress = text(section(html, "progress"))
    assert "4 / 4 个单位已评完" in progress and "7 / 7 名人员已评完" in progress
    assert "主观评分已录入 76 / 76 项" in progress and "主观评分已录入 49 / 49 项" in progress
    assert "主观评分已全部录入" in progress

    # Units in rank order with totals, grades and flags (hand-computed in tests/evaluation_helpers.py).
    units = section(html, "units")
    assert [m for m in re.findall(r'data-unit="([^"]+)"', units)] == ["MZ-BGS", "MZ-YLFW", "MZ-SHJZ", "MZ-HYDJ"]
    office = text(row(units, "data-unit", "MZ-BGS"))
    assert "办公室" in office and "95.30" in office and "优秀" in office and "先进" in office
    assert "95.00" in office and "96.00" in office  # 职能工作 95, 管理工作 0.8×95 + 20 = 96
    relief = text(row(units, "data-unit", "MZ-SHJZ"))
    assert "81.20" in relief and "良好" in relief and 'data-grade="达标"' in row(units, "data-unit", "MZ-SHJZ")
    assert "赵磊因违纪违法受到处分" in relief and "降一个等次（良好 → 达标）" in relief
    marriage = row(units, "data-unit", "MZ-HYDJ")
    assert "62.40" in marriage and 'data-grade="诫勉"' in marriage and 'data-flag="rectification"' in marriage
    elderly = row(units, "data-unit", "MZ-YLFW")
    assert "92.48" in elderly and 'data-grade="优秀"' in elderly and 'data-flag="advanced"' not in elderly
    # The score containing an objective indicator (管理工作: 高效履职) links to the unit's evidence.
    assert f'href="/evaluation/{year_id}/units/MZ-SHJZ#evidence"' in units
    assert "MZ-SHJZ" not in text(units)  # names, not codes

    use = text(section(html, "use"))
    assert "名额 1 个：4 个单位 × 30%，向下取整" in use
    assert re.search(r"先进处室/单位.*办公室 ?（95.30 分）", use)
    assert "婚姻登记处（62.40 分）" in use
    candidates = text(section(html, "use").split('id="candidates"')[1].split("</ul>")[0])
    assert [n for n in ("王芳", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周勇") if n in candidates] == \
        ["王芳", "刘洋", "陈静", "杨帆"]

    staff = section(html, "staff")
    assert 'data-grade="诫勉"' in row(staff, "data-staff", "S005") and "当年考评为诫勉" in row(staff, "data-staff", "S005")
    huang = row(staff, "data-staff", "S006")
    assert 'data-grade="良好"' in huang and "所在单位婚姻登记处考评为诫勉，其人员不能评为优秀" in huang
    assert "60.00" in row(staff, "data-staff", "S007")

    # Charts: one bar per unit and first-level indicator, one line per unit over four quarters.
    chart = section(html, "unit-chart")
    assert chart.count("<rect x=") == 4 * 4 and "办公室 · 职能工作：95.00" in chart
    trend = section(html, "trend")
    assert "社会救助科 第一季度：70.00" in trend and "社会救助科 第四季度：90.00" in trend
    assert trend.count("<polyline") == 4 + 7  # units, then staff
    # The tree with weights and shares of the total: 重点工作 = 40 % × 25 % × 50 % = 5 %.
    tree = section(html, "tree")
    assert "职能工作 40% 40%" in text(row(tree, "data-indicator", "FUNC"))
    assert "重点工作 50% 5%" in text(row(tree, "data-indicator", "FUNC.Q1.KEY"))
    efficiency = text(row(tree, "data-indicator", "MGMT.EFFICIENCY"))
    assert "公式：100 × 按时办结件数" in efficiency and "20% 6% 客观 · 高效履职（办件计时、效能投诉）" in efficiency
    assert f'href="/api/evaluation/years/{year_id}/export.xlsx"' in html


def test_the_unit_view_shows_evidence_and_cases(client, year):
    year_id, case_id = year
    sign_in(client, "s090")
    page = client.get(f"/evaluation/{year_id}/units/MZ-SHJZ")
    assert page.status_code == 200
    html = page.text
    result = text(section(html, "result"))
    assert "81.20" in result and "达标" in result and "按分数为良好" in result
    evidence = section(html, "evidence")
    assert 'id="evidence-MGMT.EFFICIENCY"' in evidence and "管理工作 · 高效履职" in evidence
    # The one case of 社会救助科, open and not due: counted, not judged; value 100.
    assert f'href="/cases/{case_id}"' in evidence and "所依据的办件（1 件）" in text(evidence)
    assert "期间内尚无已办结或已超期的办件：按时率计 100" in evidence
    assert re.search(r"期间办件数\s*</dt>\s*<dd>1</dd>", evidence.replace("</dt><dd>", "</dt> <dd>").replace(" <dd>", "<dd>")) \
        or "期间办件数</dt><dd>1</dd>" in evidence
    scores = section(html, "scores")
    assert 'href="#evidence-MGMT.EFFICIENCY">100.00</a>' in scores
    assert "陈静" in section(html, "staff") and "王芳" not in section(html, "staff")  # only this unit's staff
    assert "全年低保审批按时办结率 100%" in section(html, "plan")


# On PostgreSQL too: the page's own query of a head's years and the unit's plan.
@pytest.mark.backends("sqlite", "postgresql")
def test_a_unit_head_sees_only_their_unit(client, year):
    year_id, _case = year
    sign_in(client, "s001")  # 王芳, 综合文秘岗 MZ-BGS-01, head: true of 办公室
    listing = client.get("/evaluation")
    assert listing.status_code == 200
    assert f'href="/evaluation/{year_id}/units/MZ-BGS"' in listing.text
    assert f'href="/evaluation/{year_id}"' not in listing.text and "社会救助科" not in listing.text
    own = client.get(f"/evaluation/{year_id}/units/MZ-BGS")
    assert own.status_code == 200 and "95.30" in own.text and "先进处室/单位" in own.text
    assert 'href="/evaluation">绩效考评' not in own.text  # no menu entry: the office's page is not theirs
    other = client.get(f"/evaluation/{year_id}/units/MZ-SHJZ")
    assert other.status_code == 403 and "只有效能办、系统管理员或本单位负责人可以查看本单位的绩效考评" in other.text
    office_page = client.get(f"/evaluation/{year_id}")
    assert office_page.status_code == 403 and "只有效能办或系统管理员可以查看绩效考评" in office_page.text
    api = client.get(f"/api/evaluation/years/{year_id}/units/MZ-BGS")
    assert api.status_code == 200 and api.json()["unit"]["result"]["total"] == "95.30"
    assert [s["name"] for s in api.json()["staff"]] == ["刘洋", "王芳"]  # tie at 95 → by name: 刘 U+5218 < 王 U+738B


def test_staff_and_the_public_are_refused(client, year):
    year_id, _case = year
    anonymous = client.get(f"/evaluation/{year_id}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    sign_in(client, "s003")  # 陈静, staff of 社会救助科, not its head
    for path in ("/evaluation", f"/evaluation/{year_id}", f"/evaluation/{year_id}/units/MZ-SHJZ"):
        refused = client.get(path)
        assert refused.status_code == 403 and re.search(r"[\u4e00-\u9fff]", refused.text), path
    assert client.get(f"/api/evaluation/years/{year_id}/export.xlsx").status_code == 403


def test_unknown_year_and_unit_are_chinese_404(client, year):
    year_id, _case = year
    sign_in(client, "s090")
    missing = client.get("/evaluation/999")
    assert missing.status_code == 404 and "考评年度 999 不存在" in missing.text
    unit = client.get(f"/evaluation/{year_id}/units/NO-SUCH")
    assert unit.status_code == 404 and "本年度考评中没有单位 NO-SUCH" in unit.text
    assert client.get("/evaluation/0").status_code == 422


def read_sheets(content: bytes) -> dict[str, list[tuple]]:
    workbook = load_workbook(BytesIO(content))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}


# Both backends: the API, not a page.
@pytest.mark.backends("sqlite", "postgresql")
def test_export_xlsx_through_the_api(client, year):
    year_id, _case = year
    sign_in(client, "s090")
    response = client.get(f"/api/evaluation/years/{year_id}/export.xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    sheets = read_sheets(response.content)
    assert list(sheets) == ["单位考评结果", "个人考评结果", "指标"]
    units = sheets["单位考评结果"]
    assert units[0] == ("名次", "单位", "职能工作", "管理工作", "创新创优", "工作满意度", "总分", "按分数等次", "考评等次",
                        "先进处室/单位", "重点整改单位", "说明")
    # Hand-computed (tests/evaluation_helpers.py): totals truncated to two decimals.
    assert [r[:11] for r in units[1:]] == [
        (1, "办公室", 95, 96, 95, 95, 95.3, "优秀", "优秀", "是", None),
        (2, "养老服务科", 92, 93.6, 92, 92, 92.48, "优秀", "优秀", None, None),
        (3, "社会救助科", 80, 84, 80, 80, 81.2, "良好", "达标", None, None),
        (4, "婚姻登记处", 60, 68, 60, 60, 62.4, "诫勉", "诫勉", None, "是"),
    ]
    assert "先进名额为单位总数的 30%" in units[2][11]
    staff = sheets["个人考评结果"]
    assert staff[0] == ("名次", "姓名", "所在单位", "工作考核", "内部管理", "工作满意度", "总分", "按分数等次", "考评等次",
                        "优秀个人人选", "说明")
    by_name = {r[1]: r for r in staff[1:]}
    assert by_name["黄丽"][2:10] == ("婚姻登记处", 95, 95, 95, 95, "优秀", "良好", None)
    assert by_name["赵磊"][8] == "诫勉" and by_name["周勇"][6] == 60 and by_name["王芳"][9] == "是"
    indicators = sheets["指标"]
    assert indicators[0] == ("考评对象", "指标", "权重（%）", "占总分（%）", "类型", "计算方法", "指标编码")
    efficiency = next(r for r in indicators if r[6] == "MGMT.EFFICIENCY")
    assert efficiency[:5] == ("单位（处室）", "管理工作 · 高效履职", 20, 6, "客观指标")  # 30 % × 20 % = 6 %
    assert efficiency[5].startswith("100 × 按时办结件数")
    assert next(r for r in indicators if r[6] == "FUNC.Q1.KEY")[3] == 5  # 40 % × 25 % × 50 %


# Both backends: the API, not only a page.
@pytest.mark.backends("sqlite", "postgresql")
def test_export_before_computing_is_409(client, database, clock):
    load_demo(database, clock)
    year_id, _case = create_year(database, clock, compute=False)
    sign_in(client, "s090")
    response = client.get(f"/api/evaluation/years/{year_id}/export.xlsx")
    assert response.status_code == 409 and response.json()["detail"] == "市民政局 2026 年度考评尚未计算结果，不能导出"
    page = client.get(f"/evaluation/{year_id}")
    assert "export.xlsx" not in page.text and "尚未计算结果" in page.text


# Both backends: the command line, not a page.
@pytest.mark.backends("sqlite", "postgresql")
def test_export_command(client, database, year, tmp_path, monkeypatch):
    year_id, _case = year
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    runner = CliRunner()
    out = tmp_path / "考评结果.xlsx"
    done = runner.invoke(cli_app, ["evaluation", "export", str(year_id), "--out", str(out), "--user", "s090"])
    assert done.exit_code == 0, done.output
    assert "已导出到" in done.stdout
    sheets = read_sheets(out.read_bytes())
    assert [r[1] for r in sheets["单位考评结果"][1:]] == ["办公室", "养老服务科", "社会救助科", "婚姻登记处"]
    refused = runner.invoke(cli_app, ["evaluation", "export", str(year_id), "--out", str(out), "--user", "s003"])
    assert refused.exit_code == 1 and "只有效能办或系统管理员可以查看绩效考评" in refused.stderr
    wrong = runner.invoke(cli_app, ["evaluation", "export", str(year_id), "--out", str(tmp_path / "x.csv"),
                                    "--user", "s090"])
    assert wrong.exit_code == 2 and "输出文件应以 .xlsx" in wrong.stderr


def test_the_office_runs_a_year_from_the_pages(client, database, clock):
    """Create (draft) → 开始考评 (open) → 计算结果 → 发布结果 (closed), each a button of the pages,
    each answered with the year's page and what happened; staff may not."""
    load_demo(database, clock)
    sign_in(client, "s003")  # 陈静, staff: a post is refused with a message in Chinese, nothing created
    refused = client.post("/evaluation/years", data={"year": "2026", "department": "MZ"},
                          headers={"referer": "http://testserver/inbox"})
    message = " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</div>', refused.text, flags=re.S))
    assert "效能办" in message, message
    with database.session() as session:
        assert session.scalars(select(EvaluationYear)).first() is None
    client.post("/logout")

    sign_in(client, "s090")  # 彭亮, 效能办
    years = client.get("/evaluation").text
    form = section(years, "new-year")
    assert '<option value="MZ">市民政局</option>' in form and 'value="2026"' in form  # this year, by default
    created = client.post("/evaluation/years", data={"year": "2026", "department": "MZ"})
    assert created.status_code == 200 and "已创建市民政局 2026 年度绩效考评" in created.text
    year_id = int(re.search(r"/evaluation/(\d+)$", str(created.url)).group(1))
    actions = section(created.text, "year-actions")
    assert "开始考评" in actions and "计算结果" not in actions and "发布结果" not in actions
    assert "草稿" in text(created.text.split('id="year-status"')[1].split("</strong>")[0])

    opened = client.post(f"/evaluation/{year_id}/open")
    assert "考评已开始" in opened.text and "进行中" in opened.text
    assert "计算结果" in section(opened.text, "year-actions") and "发布结果" not in section(opened.text, "year-actions")
    too_early = client.post(f"/evaluation/{year_id}/compute", headers={"referer": f"http://testserver/evaluation/{year_id}"})
    assert "项未评分，不能计算结果" in too_early.text  # the subjective scores first (what is missing is listed)
    with database.session() as session:  # the scorers' entries (API / CLI): 85 for every subjective leaf
        entries = [service.ScoreEntry(s.subject, s.code, leaf.code, 85) for s in service.subjects(session, year_id)
                   for leaf, _ in scheme.leaves(service.tree(session, year_id, s.subject)) if leaf.kind == "subjective"]
        service.enter_scores(session, OFFICE, year_id, entries, clock.now())
    computed = client.post(f"/evaluation/{year_id}/compute")
    assert "已计算结果" in computed.text and f"/api/evaluation/years/{year_id}/export.xlsx" in computed.text
    published = client.post(f"/evaluation/{year_id}/publish")
    assert "考评结果已发布" in published.text and 'id="year-actions"' not in published.text
    assert "已发布" in text(published.text.split('id="year-status"')[1].split("</strong>")[0])

    # The same year and department twice: refused in Chinese, nothing created.
    back = {"referer": "http://testserver/evaluation"}
    again = client.post("/evaluation/years", data={"year": "2026", "department": "MZ"}, headers=back)
    assert "市民政局 2026 年度的考评已经存在" in again.text
    odd = client.post("/evaluation/years", data={"year": "1999", "department": "MZ"}, headers=back)
    assert "年度：应不小于 2000" in odd.text  # the field by its label, in Chinese
    with database.session() as session:
        assert [y.id for y in session.scalars(select(EvaluationYear))] == [year_id]


# ---------------------------------------------------------------- entering the subjective scores


@pytest.fixture
def open_year(client, database, clock):
    """市民政局 2026 with the default scheme, opened, nothing scored yet (the office's first day)."""
    load_demo(database, clock)
    with database.session() as session:
        year = service.create_year(session, OFFICE, 2026, clock.now(), department="MZ")
        service.open_year(session, OFFICE, year.id, clock.now())
        return year.id


def stored_score(database, year_id: int, subject: str, code: str, indicator: str):
    with database.session() as session:
        return session.scalars(select(EvaluationScore).where(
            EvaluationScore.year_id == year_id, EvaluationScore.subject == subject,
            EvaluationScore.subject_code == code, EvaluationScore.indicator_code == indicator)).first()


def test_the_office_enters_a_score_through_the_years_form(client, database, clock, open_year):
    year_id = open_year
    sign_in(client, "s090")  # 彭亮, 效能办
    html = client.get(f"/evaluation/{year_id}").text
    # The default unit tree has 15 subjective leaves (each quarter's 重点工作 and 其他工作: 8; 依法履职,
    # 廉洁履职, 其他: 3; 成果, 适时改进: 2; the two 评议: 2) → 4 units × 15 = 60; staff 7 leaves × 7 = 49.
    progress_text = text(section(html, "progress"))
    assert "主观评分已录入 0 / 60 项" in progress_text and "主观评分已录入 0 / 49 项" in progress_text
    # Each missing score links to its form: 办公室 is the first unit, 重点工作 of the first quarter
    # its first subjective leaf; 周勇 the seventh person, 内部管理 his fifth leaf (4 quarters first).
    missing = section(html, "progress")
    assert '<a href="#score-unit-0-0">办公室：职能工作 · 第一季度 · 重点工作</a>' in missing
    assert '<a href="#score-staff-6-4">周勇：内部管理</a>' in missing

    entry = section(html, "entry")
    assert entry.count('class="score-form"') == 60 + 49  # one form per unit/person and subjective leaf
    # Objective leaves are computed, never entered: named in the explanation, no form.
    assert 'data-indicator="MGMT.EFFICIENCY"' not in entry and 'data-indicator="FUNC.Q1.ROUTINE"' not in entry
    assert "管理工作 · 高效履职" in text(entry.split("</p>", 1)[0])
    office_key = row(entry, "id", "score-unit-0-0")
    assert "职能工作 · 第一季度 · 重点工作" in office_key and "尚未评分" in office_key
    assert 'name="code" value="MZ-BGS"' in office_key and 'name="indicator" value="FUNC.Q1.KEY"' in office_key
    assert "MZ-BGS" not in text(entry)  # the people read names; codes only in hidden fields

    saved = client.post(f"/evaluation/{year_id}/scores", data={
        "subject": "unit", "code": "MZ-BGS", "indicator": "FUNC.Q1.KEY", "value": "93.5",
        "note": "一季度重点工作全部按期完成"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/evaluation/{year_id}#score-unit-0-0"
    page = client.get(saved.headers["location"]).text
    assert "已录入：办公室「职能工作 · 第一季度 · 重点工作」93.5 分" in page
    shown_row = text(row(section(page, "entry"), "id", "score-unit-0-0"))
    assert "93.50" in shown_row and "彭亮" in shown_row and "一季度重点工作全部按期完成" in shown_row
    assert "主观评分已录入 1 / 60 项" in text(section(page, "progress"))
    assert 'href="#score-unit-0-0"' not in section(page, "progress")  # no longer missing
    assert "已录入 1 / 15 项" in text(page.split('id="entry-unit-0"', 1)[1].split("</summary>", 1)[0])

    score = stored_score(database, year_id, "unit", "MZ-BGS", "FUNC.Q1.KEY")
    assert (score.value_num, score.value_den) == (187, 2)  # 93.5 exactly
    assert score.entered_by == "s090" and score.source == "entered" and score.note == "一季度重点工作全部按期完成"
    # The same audit chain as the API's entries: the link of the score holds its row as entered.
    with database.session() as session:
        assert audit.verify(session).intact
        links = session.scalars(select(AuditEntry).where(AuditEntry.subject_table == "evaluation_score",
                                                         AuditEntry.subject_id == score.id)).all()
        assert len(links) == 1 and '"value_num":187' in links[0].content.replace(" ", "")

    # Entered again: replaced (one row), the new value and note shown.
    client.post(f"/evaluation/{year_id}/scores", data={
        "subject": "staff", "code": "S007", "indicator": "INTERNAL", "value": "60", "note": ""})
    again = client.post(f"/evaluation/{year_id}/scores", data={
        "subject": "staff", "code": "S007", "indicator": "INTERNAL", "value": "72", "note": "补交季度小结"})
    assert again.status_code == 200 and "已录入：周勇「内部管理」72 分" in again.text
    person = text(row(section(again.text, "entry"), "id", "score-staff-6-4"))
    assert "72.00" in person and "补交季度小结" in person
    assert stored_score(database, year_id, "staff", "S007", "INTERNAL").value_num == 72


def refused_entry(client, year_id: int, **fields) -> tuple[int, str]:
    data = {"subject": "unit", "code": "MZ-SHJZ", "indicator": "MGMT.LAW", "value": "90", "note": ""} | fields
    response = client.post(f"/evaluation/{year_id}/scores", data=data)
    return response.status_code, response.text


def test_a_refused_score_is_named_by_its_field_and_nothing_is_saved(client, database, clock, open_year):
    year_id = open_year
    sign_in(client, "s090")
    status, html = refused_entry(client, year_id, value="150")
    assert status == 422
    alert = text(html.split('id="entry-refused"', 1)[1].split("</div>", 1)[0])
    assert "社会救助科「管理工作 · 依法履职」的评分未保存：分数应为 0–100 的数，最多两位小数" in alert
    assert "分数：填写的是「150」" in alert
    # Next to its form too, with the value typed kept and the field marked invalid. 社会救助科 is the
    # second unit, 依法履职 its ninth subjective leaf (8 quarter leaves first).
    form_row = row(section(html, "entry"), "id", "score-unit-1-8")
    assert 'value="150" aria-invalid="true" aria-describedby="score-unit-1-8-refused"' in form_row
    assert 'id="score-unit-1-8-refused"' in form_row
    assert 'id="entry-unit-1" data-subject="unit" data-code="MZ-SHJZ" open' in html  # unfolded

    assert refused_entry(client, year_id, value="")[0] == 422
    assert "分数：必填" in refused_entry(client, year_id, value=" ")[1]
    assert "最多两位小数" in refused_entry(client, year_id, value="90.125")[1]
    assert "分数：填写的是「-1」" in refused_entry(client, year_id, value="-1")[1]
    status, html = refused_entry(client, year_id, note="说" * 1001)
    assert status == 422 and "说明或依据：不超过 1000 字" in html
    # A computed (objective) indicator posted by hand: refused, named by its Chinese name.
    status, html = refused_entry(client, year_id, indicator="MGMT.EFFICIENCY")
    assert status == 422
    assert "指标：「管理工作 · 高效履职」是客观指标，由系统根据办件记录计算，不能录入" in html
    assert "社会救助科「管理工作 · 高效履职」的评分未保存" in html
    with database.session() as session:
        assert session.scalars(select(EvaluationScore)).first() is None

    # A year not open: a draft (another department), then a published year.
    with database.session() as session:
        draft = service.create_year(session, OFFICE, 2026, clock.now(), department="RS").id
    status, html = refused_entry(client, draft, code="RS-JY")
    assert status == 409 and "市人力资源和社会保障局 2026 年度考评草稿（可调整指标），不能录入评分（须先开始考评）" in html
    assert "考评尚未开始" in section(html, "entry") and 'class="score-form"' not in html
    with database.session() as session:
        assert session.scalars(select(EvaluationScore)).first() is None


def test_no_score_entry_once_the_year_is_published(client, database, clock):
    load_demo(database, clock)
    year_id, _case = create_year(database, clock)
    with database.session() as session:
        service.publish(session, OFFICE, year_id, clock.now())
        before = session.scalars(select(EvaluationScore).where(EvaluationScore.indicator_code == "MGMT.LAW",
                                                               EvaluationScore.subject_code == "MZ-SHJZ")).one()
        before_value = (before.value_num, before.value_den, before.entered_at)
    sign_in(client, "s090")
    page = client.get(f"/evaluation/{year_id}").text
    entry = section(page, "entry")
    assert "结果已发布，评分不再更改" in entry and 'class="score-form"' not in entry
    # The helper's tree made 常规工作 subjective: 3 leaves a quarter, so 依法履职 is the 13th leaf.
    law = text(row(entry, "id", "score-unit-1-12"))
    assert "管理工作 · 依法履职" in law and "80.00" in law and "彭亮" in law
    status, html = refused_entry(client, year_id, value="99")
    assert status == 409 and "市民政局 2026 年度考评已发布，不能录入评分（须先开始考评）" in html
    after = stored_score(database, year_id, "unit", "MZ-SHJZ", "MGMT.LAW")
    assert (after.value_num, after.value_den, after.entered_at) == before_value


def test_what_is_entered_is_escaped(client, database, clock, open_year):
    year_id = open_year
    sign_in(client, "s090")
    note = '<script>alert(1)</script>"><img src=x>'
    client.post(f"/evaluation/{year_id}/scores", data={
        "subject": "unit", "code": "MZ-BGS", "indicator": "MGMT.LAW", "value": "88", "note": note})
    page = client.get(f"/evaluation/{year_id}").text
    assert note not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x&gt;" in page
    status, html = refused_entry(client, year_id, value='"><script>alert(2)</script>')
    assert status == 422 and "<script>alert(2)" not in html and "&lt;script&gt;alert(2)" in html


def test_staff_may_not_enter_scores_and_see_no_form(client, database, clock, open_year):
    year_id = open_year
    sign_in(client, "s003")  # 陈静, staff of 社会救助科
    refused = client.post(f"/evaluation/{year_id}/scores", data={
        "subject": "unit", "code": "MZ-SHJZ", "indicator": "MGMT.LAW", "value": "100"})
    assert refused.status_code == 403 and "只有效能办或系统管理员可以录入绩效考评评分" in refused.text
    assert 'class="score-form"' not in refused.text
    page = client.get(f"/evaluation/{year_id}")
    assert page.status_code == 403 and 'class="score-form"' not in page.text
    with database.session() as session:
        assert session.scalars(select(EvaluationScore)).first() is None


def test_computing_with_missing_scores_links_each_to_its_form(client, database, clock, open_year):
    year_id = open_year
    sign_in(client, "s090")
    refused = client.post(f"/evaluation/{year_id}/compute", headers={"referer": f"http://testserver/evaluation/{year_id}"})
    assert refused.status_code == 200 and str(refused.url).endswith(f"/evaluation/{year_id}")
    # 60 unit + 49 staff subjective scores are missing (objective ones are computed, not missing).
    assert "尚有 109 项未评分，不能计算结果：请按下方「尚未评分」逐项录入" in refused.text
    listed = re.findall(r'<li><a href="#(score-[a-z]+-\d+-\d+)">', section(refused.text, "progress"))
    assert len(listed) == 60 + 49 and len(set(listed)) == len(listed)
    assert all(f'id="{anchor}"' in refused.text for anchor in listed)  # every link has its form
    # The unit's own page links its missing scores to the same rows for the office (社会救助科 is
    # the second unit) and lists them as plain text for the unit's head, who does not enter scores.
    unit = client.get(f"/evaluation/{year_id}/units/MZ-SHJZ").text
    assert f'<a href="/evaluation/{year_id}#score-unit-1-0">职能工作 · 第一季度 · 重点工作</a>' in unit
    client.post("/logout")
    sign_in(client, "s001")  # 王芳, head of 办公室
    own = client.get(f"/evaluation/{year_id}/units/MZ-BGS").text
    assert "还有 15 项未评分：职能工作 · 第一季度 · 重点工作、" in own and "#score-unit" not in own
