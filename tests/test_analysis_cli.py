"""`dutyflow analyze` and `dutyflow diagram …`: files and stored versions, JSON and tables, SVG files."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from api.cli import analysis as _commands  # noqa: F401  (registers the commands)
from api.cli import catalog as _catalog_commands  # noqa: F401  (publish)
from api.cli.app import app
from engine.analysis.report import analyze
from engine.catalog import service
from engine.catalog.io import read_catalog


@pytest.fixture
def run(monkeypatch, tmp_path):
    monkeypatch.setenv("DUTYFLOW_DIAGRAMS_DIR", str(tmp_path / "diagrams"))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture
def stored(database, clock, monkeypatch, demo_catalog_path) -> int:
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    with database.session() as session:
        return service.import_catalog(session, read_catalog(demo_catalog_path), "test", clock.now()).id


def test_analyze_a_file_as_json(run, demo_catalog_path):
    result = run("analyze", str(demo_catalog_path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == analyze(read_catalog(demo_catalog_path)).to_json_dict()


def test_analyze_a_stored_version_as_json_and_table(run, stored, demo_catalog_path):
    expected = analyze(read_catalog(demo_catalog_path)).to_json_dict()
    for ref in ("2026.1", str(stored)):
        result = run("analyze", ref, "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == expected
    table = run("analyze", "2026.1", "--format", "table")
    assert table.exit_code == 0, table.output
    for text in ("职责交叉（2）", "上下级对象交叉", "石膏矿", "职责空缺（3）", "法定职责无人承担", "M-MZ-DM", "超编"):
        assert text in table.stdout
    # The demo's 7 gaps: 3 duties not carried (职责空缺), 4 about posts and quota (编制与岗位:
    # 超编 MZ-SHJZ, 岗位空缺 MZ-YLFW-01, two posts without a B角), in a table of their own (issue 13).
    duty_gaps, staffing = table.stdout.split("编制与岗位（4）")
    assert "法定职责无人承担" in duty_gaps and "超编" not in duty_gaps and "岗位空缺" not in duty_gaps
    assert "超编" in staffing and "岗位空缺" in staffing and "岗位未设B角" in staffing


def test_analyze_threshold_option(run, tmp_path):
    data = {
        "catalog": {"region": "测试市", "name": "测试清单", "version": "1"},
        "departments": [{"code": "A", "name": "A局"}, {"code": "B", "name": "B局"}],
        "duties": [
            {"code": "A-1", "name": "企业投资项目备案", "category": "其他行政权力", "department": "A"},
            {"code": "B-1", "name": "企业投资项目备案（技术改造）", "category": "其他行政权力", "department": "B"},
        ],
    }
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    strict = json.loads(run("analyze", str(path), "--format", "json", "--threshold", "0.95").stdout)
    loose = json.loads(run("analyze", str(path), "--format", "json", "--threshold", "0.5").stdout)
    assert strict["suspected_overlaps"] == []
    assert [s["duties"] for s in loose["suspected_overlaps"]] == [["A-1", "B-1"]]


def test_analyze_bad_input_fails_with_every_problem(run, demo_catalog_path, tmp_path, stored):
    data = yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8"))
    data["duties"][0]["department"] = "XX"
    data["objects"].append({"name": "矿山", "parent": "石膏矿"})
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run("analyze", str(broken), "--format", "json")
    assert result.exit_code != 0
    assert "XX" in result.output and "循环" in result.output
    unknown = run("analyze", "1999.9")
    assert unknown.exit_code != 0 and "1999.9" in unknown.output


def test_diagrams_are_written_as_svg(run, stored, demo_catalog_path, tmp_path):
    result = run("diagram", "sanding", "MZ")
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "diagrams" / "sanding-MZ.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "社会救助科" in svg and "（空缺）" in svg
    assert run("diagram", "overlaps", "--version", "2026.1").exit_code == 0
    assert "王瓜店街道办事处" in (tmp_path / "diagrams" / "overlaps.svg").read_text(encoding="utf-8")
    out = tmp_path / "elsewhere" / "tax.svg"
    assert run("diagram", "taxonomy", "--version", str(demo_catalog_path), "--out", str(out)).exit_code == 0
    assert "石膏矿山" in out.read_text(encoding="utf-8")
    missing = run("diagram", "sanding", "NOPE")
    assert missing.exit_code != 0 and "NOPE" in missing.output


def test_alerts_list_and_refresh(run, stored):
    # A draft raises no alert: alerts follow the version in force, so publish first.
    assert run("alerts", "list").stdout.count("预警（0）") == 1
    published = run("publish", str(stored))
    assert published.exit_code == 0, published.output
    listed = run("alerts", "list", "--kind", "overlap")
    assert listed.exit_code == 0, listed.output
    assert "预警（2）" in listed.stdout and "待处理" in listed.stdout
    refreshed = run("alerts", "refresh", "2026.1")
    assert refreshed.exit_code == 0, refreshed.output
    assert "示例市：新增 0 条，保留 9 条，消除 0 条" in refreshed.stdout
    bad = run("alerts", "list", "--status", "gone")
    assert bad.exit_code != 0 and "gone" in bad.output
