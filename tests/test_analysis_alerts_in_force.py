"""Alerts follow each region's version in force only (issue 11, item 2).

Importing a draft — another region's real table, or a new version of the demo region — raises,
closes and re-points nothing; publishing syncs the alerts of the published version's region and no
other's; a draft gets a preview (CLI, /legal) of what publishing it would do. Both backends.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import analysis as _analysis_commands  # noqa: F401  (registers the commands)
from api.cli.app import app as cli_app
from engine.analysis import alerts
from engine.catalog import service
from engine.catalog.document import Holder
from engine.catalog.io import read_catalog
from engine.errors import Conflict
from engine.models.analysis import CLOSED, OPEN, Alert
from tests.auth_helpers import bearer_headers
from tests.browser_helpers import DEMO_CATALOG, load_demo, sign_in

DEMO_SCOPE = "catalog:示例市/示例市市级部门权责清单"
# The two gaps of the demo's vacant post without a B角 (examples/demo-catalog.yaml: MZ-YLFW-01 has
# no holder and no backup); a version that staffs it removes exactly these two findings.
VACANT_POST_GAPS = {"gap:post_vacant:MZ-YLFW-01", "gap:post_without_backup:MZ-YLFW-01"}


@pytest.fixture
def demo(database, clock) -> int:
    return load_demo(database, clock)


@pytest.fixture
def legal(database, clock, settings):
    return bearer_headers(database, clock, settings, "fzb", ["legal_office"])


@pytest.fixture
def bianban(database, clock, settings):
    return bearer_headers(database, clock, settings, "bianban", ["establishment_office"])


def snapshot(database) -> dict[int, dict]:
    """Every alert as the API shows it, by id."""
    with database.session() as session:
        return {a.id: alerts.alert_to_dict(a) for a in alerts.list_alerts(session, limit=100_000)}


def dashboard_alert_ids(client) -> set[int]:
    page = client.get("/dashboard")
    assert page.status_code == 200
    return {int(n) for n in re.findall(r'id="alert-(\d+)"', page.text)}


def import_guangan(client, legal, path, version: str = "2025.1"):
    response = client.post("/api/import", headers=legal, data={"region": "广安区", "version": version},
                           files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 201, response.text
    return response.json()["version"]["id"]


def test_another_regions_draft_leaves_the_dashboard_alone_and_publishing_it_adds_only_its_own(
    client, database, clock, demo, legal, research_csv_path
):
    sign_in(client, "s071")  # 编办 coordinator, sees /dashboard
    before = snapshot(database)
    # The demo's 9 findings (2 overlaps + 7 gaps, tests/test_analysis_alerts.py), all open.
    assert len(before) == 9 and {a["status"] for a in before.values()} == {OPEN}
    assert {a["scope"] for a in before.values()} == {DEMO_SCOPE}
    shown = dashboard_alert_ids(client)
    assert shown == set(before)

    draft = import_guangan(client, legal, research_csv_path)
    assert snapshot(database) == before  # nothing raised, closed or re-pointed at the draft
    assert dashboard_alert_ids(client) == shown

    clock.advance(hours=1)
    published = client.post(f"/api/versions/{draft}/publish", headers=legal)
    assert published.status_code == 200, published.text
    after = snapshot(database)
    assert {i: a for i, a in after.items() if i in before} == before  # the demo region's stay as they were
    new = [a for i, a in after.items() if i not in before]
    assert new and {a["scope"] for a in new} == {"catalog:广安区/sichuan_guangan_guanganqu_service_items_sample"}
    assert {a["catalog_version_id"] for a in new} == {draft}
    # The table has no 三定 columns: one gap per department, 34 departments (distinct 部门名称 of
    # the CSV), not two per row (311 rows would have given 622).
    gaps = [a for a in new if a["category"] == "gap"]
    assert len(gaps) == 34 and {a["kind"] for a in gaps} == {"no_sanding"}
    with database.session() as session:
        codes = {d.code for d in service.load_document(session, draft).departments}
    assert all(set(a["departments"]) <= codes for a in new)


def fixed_demo(version: str = "2026.2"):
    """The demo with its vacant post staffed and given a B角: the two VACANT_POST_GAPS go."""
    document = read_catalog(DEMO_CATALOG)
    post = document.posts_by_code()["MZ-YLFW-01"]
    post.holders = [Holder(id="S099", name="新同事")]
    post.backup = "MZ-BGS-01"
    data = document.model_dump()
    data["catalog"]["version"] = version
    return type(document).model_validate(data)


def test_a_draft_of_the_same_region_closes_nothing_until_published(database, clock, demo):
    with database.session() as session:
        draft = service.import_catalog(session, fixed_demo(), "test", clock.now())
        draft_id = draft.id
    stored = snapshot(database)
    by_key = {a["key"]: a for a in stored.values()}
    # Before: importing the draft closed these two although they still stand in the version in force.
    assert {by_key[k]["status"] for k in VACANT_POST_GAPS} == {OPEN}
    assert {a["catalog_version_id"] for a in stored.values()} == {demo}

    with database.session() as session:
        preview = alerts.preview(session, service.load_document(session, draft_id), draft_id)
        assert (len(preview.new), len(preview.standing), len(preview.gone)) == (0, 7, 2)
        assert {a.finding_key for a in preview.gone} == VACANT_POST_GAPS
        with pytest.raises(Conflict, match="是草稿，不产生预警"):
            alerts.refresh_alerts(session, draft_id, clock.now())
    assert snapshot(database) == stored

    later = clock.advance(days=1)
    with database.session() as session:
        service.publish_version(session, draft_id, "test", later)
    after = {a["key"]: a for a in snapshot(database).values()}
    assert {after[k]["status"] for k in VACANT_POST_GAPS} == {CLOSED}
    assert {a["catalog_version_id"] for k, a in after.items() if k not in VACANT_POST_GAPS} == {draft_id}
    with database.session() as session:  # the superseded version cannot take the alerts back
        with pytest.raises(Conflict, match="已被新版本取代"):
            alerts.refresh_alerts(session, demo, clock.now())


def test_run_analyses_each_regions_version_in_force(client, database, clock, demo, legal, bianban, research_csv_path):
    draft = import_guangan(client, legal, research_csv_path)
    refused = client.post("/api/analysis/run", params={"version": str(draft)}, headers=bianban)
    assert refused.status_code == 409 and "不产生预警" in refused.text
    body = client.post("/api/analysis/run", headers=bianban).json()
    # Only 示例市 has a version in force: its 9 alerts kept, the 广安区 draft not analysed.
    assert [(r["region"], r["version_id"], r["created"], r["kept"]) for r in body["regions"]] == [("示例市", demo, 0, 9)]
    assert body["report"]["catalog"]["region"] == "示例市"

    assert client.post(f"/api/versions/{draft}/publish", headers=legal).status_code == 200
    count = len(snapshot(database))
    body = client.post("/api/analysis/run", headers=bianban).json()
    assert [(r["region"], r["created"], r["closed"]) for r in body["regions"]] == [("示例市", 0, 0), ("广安区", 0, 0)]
    assert body["alerts"]["kept"] == count and "report" not in body
    one = client.post("/api/analysis/run", params={"region": "示例市"}, headers=bianban).json()
    assert [r["region"] for r in one["regions"]] == ["示例市"] and one["alerts"]["kept"] == 9
    missing = client.post("/api/analysis/run", params={"region": "武胜县"}, headers=bianban)
    assert missing.status_code == 404 and "武胜县" in missing.text


def test_cli_analyze_of_a_draft_is_a_preview(database, clock, demo, monkeypatch):
    with database.session() as session:
        service.import_catalog(session, fixed_demo(), "test", clock.now())
    stored = snapshot(database)
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    result = CliRunner().invoke(cli_app, ["analyze", "2026.2", "--format", "table"])
    assert result.exit_code == 0, result.output
    assert "预览：版本 2026.2 不是 示例市 的现行版本" in result.output
    assert "新增 0 条、保留 7 条、消除 2 条" in result.output
    assert snapshot(database) == stored
    in_force = CliRunner().invoke(cli_app, ["analyze", "2026.1", "--format", "table"])
    assert in_force.exit_code == 0 and "预览" not in in_force.output


def test_legal_page_shows_the_drafts_preview(client, database, clock, demo):
    sign_in(client, "s081")
    with database.session() as session:
        draft = service.import_catalog(session, fixed_demo(), "test", clock.now()).id
    stored = snapshot(database)
    page = client.get("/legal", params={"diff": draft})
    assert page.status_code == 200
    preview = page.text.split('id="preview"')[1]
    assert re.search(r'data-count="raise">0<', preview) and re.search(r'data-count="close">2<', preview)
    assert "岗位空缺" in preview  # the gap that would close is named
    assert snapshot(database) == stored


def test_table_output_pairs_each_item_with_its_own_department(tmp_path, database, monkeypatch):
    # Duty codes sort A-1 < Z-1 but department codes B2 (区自然资源局) < Z9 (区民政局): printing
    # the two sorted lists side by side put A-1 next to 区自然资源局.
    table = tmp_path / "pair.csv"
    table.write_text("部门名称,事项名称,事项编码,事项类型,部门标识\n"
                     "区民政局,公益性公墓建设审批,A-1,行政许可,Z9\n"
                     "区自然资源局,公益性公墓建设审批,Z-1,行政许可,B2\n", encoding="utf-8")
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    result = CliRunner().invoke(cli_app, ["analyze", str(table), "--format", "table"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "区民政局" in next(line for line in lines if "A-1 公益性公墓建设审批" in line)
    assert "区自然资源局" in next(line for line in lines if "Z-1 公益性公墓建设审批" in line)
    assert "名称相似度 1.00" in result.output and "审管衔接（0）" in result.output


def test_boundary_findings_are_printed_with_their_reasons(tmp_path, database, monkeypatch):
    # 审管衔接: the approval bureau issues the licence (新办), the health bureau does its 校验;
    # one main item code (511A00450) and the same object → a boundary, not an overlap.
    table = tmp_path / "boundary.csv"
    table.write_text("部门名称,事项名称,事项编码,事项类型,部门标识\n"
                     "区行政审批局,医疗机构执业许可（新办）,511A0045000001-X,行政许可,SP\n"
                     "区卫健局,医疗机构执业许可（校验）,511A0045000002-X,行政许可,WJ\n", encoding="utf-8")
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    result = CliRunner().invoke(cli_app, ["analyze", str(table), "--format", "table"])
    assert result.exit_code == 0, result.output
    assert "审管衔接（1）" in result.output and "疑似职责交叉（0" in result.output
    lines = result.output.splitlines()
    assert "区行政审批局" in next(line for line in lines if "511A0045000001-X" in line)
    assert "区卫健局" in next(line for line in lines if "511A0045000002-X" in line)
    assert "同一主项编码 511A00450" in result.output


def test_alert_rows_are_only_written_by_publishing(database, clock, demo, research_csv_path):
    with database.session() as session:
        document = read_catalog(research_csv_path, overrides={"region": "广安区"})
        service.import_catalog(session, document, "test", clock.now())
        assert session.exec(select(Alert).where(Alert.scope.startswith("catalog:广安区/"))).all() == []


def test_a_renamed_catalog_of_the_region_takes_over_its_alerts(database, clock, demo):
    # The same region publishes its catalog under a new name: the old name is no longer in force,
    # so its 9 open alerts close and the new name's 7 (the staffed post's 2 gaps gone) open.
    renamed = fixed_demo("2027.1")
    data = renamed.model_dump()
    data["catalog"]["name"] = "示例市权责清单（新）"
    with database.session() as session:
        version = service.import_catalog(session, type(renamed).model_validate(data), "test", clock.now())
        service.publish_version(session, version.id, "test", clock.advance(days=1))
        result = alerts.refresh_alerts(session, version.id, clock.now())
    assert result.created == [] and len(result.kept) == 7  # the publish hook already synced it
    stored = snapshot(database).values()
    assert {a["status"] for a in stored if a["scope"] == DEMO_SCOPE} == {CLOSED}
    assert len([a for a in stored if a["scope"] == DEMO_SCOPE]) == 9
    assert len([a for a in stored if a["scope"] == "catalog:示例市/示例市权责清单（新）" and a["status"] == OPEN]) == 7


def test_dashboard_analysis_button_analyses_the_versions_in_force(client, database, clock, demo, legal,
                                                                   research_csv_path):
    import_guangan(client, legal, research_csv_path)  # a draft: not analysed, no alert
    sign_in(client, "s071")
    stored = snapshot(database)
    page = client.post("/dashboard/analyze")
    assert page.status_code == 200
    assert "分析完成：示例市 新增 0 条预警，消除 0 条，重新出现 0 条" in page.text and "广安区" not in page.text.split(
        "分析完成")[1].split("</div>")[0]
    after = snapshot(database)
    assert {i: {k: v for k, v in a.items() if k != "last_seen_at"} for i, a in after.items()} == {
        i: {k: v for k, v in a.items() if k != "last_seen_at"} for i, a in stored.items()}
