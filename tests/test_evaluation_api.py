"""绩效考评 through the HTTP API and the `dutyflow evaluation` command: a year of 市民政局 on the
demo catalog (4 units, 7 staff), the tree adjusted while a draft, scores entered, results
computed, published; Chinese 4xx for bad input and wrong states. Both backends."""

from __future__ import annotations

from sqlmodel import select
from typer.testing import CliRunner

from api.cli import evaluation as evaluation_cli  # noqa: F401  (registers the commands)
from api.cli.app import app as cli_app
from engine.auth.roles import Actor
from engine.auth.service import create_user
from engine.evaluation import scheme
from engine.models.runtime import ProcessInstance, WorkTask
from engine.runtime import service as runtime
from tests.process_helpers import Scenario

UNITS = ["MZ-BGS", "MZ-SHJZ", "MZ-HYDJ", "MZ-YLFW"]
STAFF = ["S001", "S002", "S003", "S004", "S005", "S006", "S007"]


def city(client, database, clock, settings, demo_catalog_path) -> Scenario:
    return Scenario(client, database, clock, settings, demo_catalog_path)


def routine_subjective(tree: list[dict]) -> list[dict]:
    """The office scores 常规工作 from the quarterly reports (a subjective leaf, an adjustment made
    while the year is a draft)."""
    for node in tree:
        if node["code"].endswith(".ROUTINE"):
            node["kind"], node["formula"] = "subjective", None
        routine_subjective(node["children"])
    return tree


def all_scores(tree: list[dict], subject: str, codes: list[str], value_of) -> list[dict]:
    leaves = [n for n, _ in scheme.leaves(scheme.tree_from_json(tree)) if n.kind == "subjective"]
    return [{"subject": subject, "code": code, "indicator": leaf.code, "value": value_of(code, leaf.code)}
            for code in codes for leaf in leaves]


def test_a_year_through_the_api(client, database, clock, settings, demo_catalog_path):
    c = city(client, database, clock, settings, demo_catalog_path)
    office = c.headers("zenglin")
    created = client.post("/api/evaluation/years", json={"year": 2026, "department": "MZ"}, headers=office)
    assert created.status_code == 200, created.text
    body = created.json()
    year_id = body["year"]["id"]
    assert body["year"]["scope_name"] == "市民政局" and body["year"]["status"] == "draft"
    assert [u["code"] for u in body["units"]] == UNITS
    assert [s["code"] for s in body["staff"]] == STAFF
    assert [s["unit_name"] for s in body["staff"]][:2] == ["办公室", "办公室"]
    duplicate = client.post("/api/evaluation/years", json={"year": 2026, "department": "MZ"}, headers=office)
    assert duplicate.status_code == 409 and "已经存在" in duplicate.json()["detail"]

    # Weights not summing to 100 %: refused, naming the level and its sum.
    bad = body["trees"]["unit"]
    bad[1]["children"][3]["weight"] = "30"
    refused = client.put(f"/api/evaluation/years/{year_id}/indicators/unit", json={"tree": bad}, headers=office)
    assert refused.status_code == 422
    assert refused.json()["detail"] == "单位（处室）指标权重之和须为 100%：「管理工作」下一级权重合计 90%"
    tree = routine_subjective(client.get(f"/api/evaluation/years/{year_id}", headers=office).json()["trees"]["unit"])
    adjusted = client.put(f"/api/evaluation/years/{year_id}/indicators/unit", json={"tree": tree}, headers=office)
    assert adjusted.status_code == 200, adjusted.text
    plan = client.put(f"/api/evaluation/years/{year_id}/plans/MZ-SHJZ", json={"text": "全年低保审批按时办结率 100%"},
                      headers=office)
    assert plan.status_code == 200, plan.text

    # Scores before the year is open: 409.
    early = client.post(f"/api/evaluation/years/{year_id}/scores", headers=office, json={"scores": [
        {"subject": "unit", "code": "MZ-BGS", "indicator": "MGMT.LAW", "value": 90}]})
    assert early.status_code == 409 and "须先开始考评" in early.json()["detail"]
    assert client.post(f"/api/evaluation/years/{year_id}/open", headers=office).status_code == 200
    frozen = client.put(f"/api/evaluation/years/{year_id}/indicators/unit", json={"tree": tree}, headers=office)
    assert frozen.status_code == 409 and "只能在考评开始前调整" in frozen.json()["detail"]

    # Bad entries: every problem named, nothing saved.
    wrong = client.post(f"/api/evaluation/years/{year_id}/scores", headers=office, json={"scores": [
        {"subject": "unit", "code": "MZ-BGS", "indicator": "MGMT.EFFICIENCY", "value": 90},
        {"subject": "unit", "code": "NO-SUCH", "indicator": "MGMT.LAW", "value": 90},
        {"subject": "unit", "code": "MZ-BGS", "indicator": "MGMT.LAW", "value": "100.5"},
        {"subject": "unit", "code": "MZ-BGS", "indicator": "MGMT.LAW", "value": "90.125"}]})
    assert wrong.status_code == 422
    problems = wrong.json()["problems"]
    assert "「管理工作 · 高效履职」是客观指标，由系统根据办件记录计算，不能录入" in problems[0]
    assert "本年度考评中没有单位 NO-SUCH" in problems[1]
    assert len(problems) == 4
    missing = client.post(f"/api/evaluation/years/{year_id}/compute", headers=office)
    assert missing.status_code == 409 and "未评分" in missing.json()["detail"]

    # Units: every subjective leaf 100 except 社会救助科, 80 everywhere. 高效履职 is computed: no
    # case in 2026 → nothing judged → 100. So 办公室 etc. total 100; 社会救助科: 管理工作 =
    # 80×(20+20+40) % + 100×20 % = 64 + 20 = 84; total = 80×40 % + 84×30 % + 80×10 % + 80×20 %
    # = 32 + 25.2 + 8 + 16 = 81.2 → 良好.
    # Staff: 95 everywhere, 周勇 (S007) 60 everywhere → 60 → 诫勉.
    unit_tree = client.get(f"/api/evaluation/years/{year_id}", headers=office).json()["trees"]["unit"]
    staff_tree = client.get(f"/api/evaluation/years/{year_id}", headers=office).json()["trees"]["staff"]
    entries = all_scores(unit_tree, "unit", UNITS, lambda code, _leaf: 80 if code == "MZ-SHJZ" else 100) \
        + all_scores(staff_tree, "staff", STAFF, lambda code, _leaf: "60" if code == "S007" else 95)
    saved = client.post(f"/api/evaluation/years/{year_id}/scores", headers=office, json={"scores": entries})
    assert saved.status_code == 200 and saved.json() == {"saved": len(entries)}
    accident = client.post(f"/api/evaluation/years/{year_id}/sanctions", headers=office,
                           json={"kind": "major_accident", "code": "MZ-YLFW", "reason": "养老机构火灾"})
    assert accident.status_code == 200, accident.text

    computed = client.post(f"/api/evaluation/years/{year_id}/compute", headers=office)
    assert computed.status_code == 200, computed.text
    result = computed.json()
    units = {u["name"]: (u["total"], u["grade"], u["advanced"], u["key_rectification"]) for u in result["units"]}
    # 4 units → floor(1.2) = 1 先进; 办公室, 婚姻登记处, 养老服务科 all 100, tie → by name:
    # 养 U+517B < 办 U+529E < 婚 U+5A5A; 养老服务科 had a major accident → 良好, so 办公室 is first.
    assert units == {
        "办公室": ("100.00", "优秀", True, False),
        "婚姻登记处": ("100.00", "优秀", False, False),
        "养老服务科": ("100.00", "良好", False, False),
        "社会救助科": ("81.20", "良好", False, False),
    }
    staff = {s["name"]: (s["total"], s["grade"], s["excellent_candidate"]) for s in result["staff"]}
    assert staff["王芳"] == ("95.00", "优秀", True) and staff["周勇"] == ("60.00", "诫勉", False)
    assert result["advanced_cap"] == 1

    indicators = client.get(f"/api/evaluation/years/{year_id}/units/MZ-SHJZ/indicators", headers=office)
    assert indicators.status_code == 200
    assert [(r["name"], r["value"]) for r in indicators.json()] == [("管理工作 · 高效履职", "100.00")]

    # A score changed after the computation: publishing waits for a new one.
    client.post(f"/api/evaluation/years/{year_id}/scores", headers=office, json={"scores": [
        {"subject": "staff", "code": "S001", "indicator": "INTERNAL", "value": 94}]})
    clock.advance(minutes=1)
    client.post(f"/api/evaluation/years/{year_id}/scores", headers=office, json={"scores": [
        {"subject": "staff", "code": "S001", "indicator": "INTERNAL", "value": 95}]})
    stale = client.post(f"/api/evaluation/years/{year_id}/publish", headers=office)
    assert stale.status_code == 409 and "重新计算" in stale.json()["detail"]
    assert client.post(f"/api/evaluation/years/{year_id}/compute", headers=office).status_code == 200
    published = client.post(f"/api/evaluation/years/{year_id}/publish", headers=office)
    assert published.status_code == 200 and published.json()["status"] == "closed"
    closed = client.post(f"/api/evaluation/years/{year_id}/scores", headers=office, json={"scores": [
        {"subject": "staff", "code": "S001", "indicator": "INTERNAL", "value": 90}]})
    assert closed.status_code == 409 and "已发布" in closed.json()["detail"]

    # Use of results: 周勇 (S007, 婚姻登记处's MZ-HYDJ-02) is 诫勉, so publishing opened his 诫勉整改:
    # he writes the report at his own post, then 市民政局's head post (王芳, MZ-BGS-01) holds the talk.
    with database.session() as session:
        [report] = session.exec(select(WorkTask).where(WorkTask.task_spec == "written_report")).all()
        assert report.post_code == "MZ-HYDJ-02"
        runtime.complete_task(session, clock, report.id, {"report": "对办件超期负有责任", "measures": ["每周自查"]},
                              Actor("zhouyong", "S007", frozenset({"staff"})))
    with database.session() as session:
        [talk] = session.exec(select(WorkTask).where(WorkTask.task_spec == "admonition_talk")).all()
        assert talk.post_code == "MZ-BGS-01"
        runtime.complete_task(session, clock, talk.id, {"talk_date": "2026-12-01", "talk_record": "已谈话"},
                              Actor("wangfang", "S001", frozenset({"staff"}), "王芳"))
        instance = session.get(ProcessInstance, talk.instance_id)
        assert instance.status == "completed"


def test_unknown_year_and_department_are_chinese_404(client, database, clock, settings, demo_catalog_path):
    c = city(client, database, clock, settings, demo_catalog_path)
    office = c.headers("zenglin")
    assert client.get("/api/evaluation/years/99", headers=office).json()["detail"] == "考评年度 99 不存在"
    missing = client.post("/api/evaluation/years", json={"year": 2026, "department": "NOPE"}, headers=office)
    assert missing.status_code == 404 and missing.json()["detail"] == "现行清单中没有部门 NOPE"
    both = client.post("/api/evaluation/years", json={"year": 2026}, headers=office)
    assert both.status_code == 422 and "二选一" in both.json()["detail"]


def test_the_command(client, database, clock, settings, demo_catalog_path, monkeypatch):
    city(client, database, clock, settings, demo_catalog_path)
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    with database.session() as session:
        create_user(session, "zenglin", "secret-pass-1", clock.now(), roles=["staff", "efficiency_office"],
                    staff_id="S091")
        create_user(session, "chenjing", "secret-pass-1", clock.now(), roles=["staff"], staff_id="S003")
    runner = CliRunner()
    made = runner.invoke(cli_app, ["evaluation", "create-year", "--year", "2026", "--department", "MZ",
                                   "--user", "zenglin"])
    assert made.exit_code == 0, made.output
    assert "已创建 市民政局 2026 年度考评（编号 1，草稿）：4 个单位，7 名人员" in made.stdout
    refused = runner.invoke(cli_app, ["evaluation", "create-year", "--year", "2027", "--department", "MZ",
                                      "--user", "chenjing"])
    assert refused.exit_code == 1 and "只有效能办或系统管理员可以管理绩效考评" in refused.stderr
    shown = runner.invoke(cli_app, ["evaluation", "show", "1", "--user", "zenglin"])
    assert shown.exit_code == 0, shown.output
    assert "职能工作 40%" in shown.stdout and "常规工作 30%（常规工作（三定职责办件））" in shown.stdout
    assert "考评单位：办公室、社会救助科、婚姻登记处、养老服务科" in shown.stdout
    early = runner.invoke(cli_app, ["evaluation", "score", "1", "--unit", "MZ-BGS", "--indicator", "MGMT.LAW",
                                    "--value", "90", "--user", "zenglin"])
    assert early.exit_code == 1 and "须先开始考评" in early.stderr
    assert runner.invoke(cli_app, ["evaluation", "open", "1", "--user", "zenglin"]).exit_code == 0
    scored = runner.invoke(cli_app, ["evaluation", "score", "1", "--unit", "MZ-BGS", "--indicator", "MGMT.LAW",
                                     "--value", "92.5", "--user", "zenglin"])
    assert scored.exit_code == 0, scored.output
    assert "已录入：办公室「管理工作 · 依法履职」92.5 分" in scored.stdout
    computed = runner.invoke(cli_app, ["evaluation", "compute", "1", "--user", "zenglin"])
    assert computed.exit_code == 1 and "未评分" in computed.stderr and "办公室：管理工作 · 廉洁履职" in computed.stderr
