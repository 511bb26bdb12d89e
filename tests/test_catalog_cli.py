"""Catalog CLI: import, versions, publish, export, diff — messages and exit codes."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from api.cli import catalog as _commands  # noqa: F401  (registers the commands)
from api.cli.app import app
from engine.catalog import service
from engine.catalog.io import read_catalog


@pytest.fixture
def run(database, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args))

    return invoke


def test_import_prints_a_summary(run, demo_catalog_path, database):
    result = run("import", str(demo_catalog_path), "--by", "法制办")
    assert result.exit_code == 0, result.output
    assert "部门 11 个，内设机构 14 个，岗位 26 个，人员 26 名，权责事项 18 项" in result.output
    with database.session() as session:
        [version] = service.list_versions(session)
        assert (version.created_by, version.source, version.status) == ("法制办", "demo-catalog.yaml", "draft")
    assert f"版本编号 {version.id}" in result.output


def test_broken_import_exits_non_zero_listing_every_problem(run, demo_catalog_path, tmp_path, database):
    data = yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8"))
    data["duties"][0]["department"] = "XX"
    data["objects"][0]["parent"] = "石膏矿"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = run("import", str(broken))
    assert result.exit_code != 0
    assert "清单校验未通过，共 2 处问题" in result.output
    assert "duties[0].department: 未知部门 'XX'" in result.output
    assert "对象分类存在循环" in result.output
    with database.session() as session:
        assert service.list_versions(session) == []
    assert run("import", str(tmp_path / "missing.yaml")).exit_code != 0


def test_csv_import_with_overrides(run, research_csv_path, database):
    result = run("import", str(research_csv_path), "--region", "广安区", "--name", "广安区政务服务事项", "--version", "2025.1")
    assert result.exit_code == 0, result.output
    assert "权责事项 311 项" in result.output
    with database.session() as session:
        [version] = service.list_versions(session)
        assert (version.region, version.name, version.version) == ("广安区", "广安区政务服务事项", "2025.1")


def test_publish_versions_and_export(run, demo_catalog_path, tmp_path):
    run("import", str(demo_catalog_path))
    published = run("publish", "2026.1", "--by", "曹颖")
    assert published.exit_code == 0, published.output
    assert "已发布" in published.output and "曹颖" in published.output
    again = run("publish", "2026.1")
    assert again.exit_code != 0 and "已发布" in again.output
    listing = run("versions")
    assert listing.exit_code == 0 and "已发布" in listing.output and "2026.1" in listing.output

    exported = run("export", "--format", "yaml")
    assert exported.exit_code == 0
    assert read_catalog(exported.stdout.encode("utf-8"), "c.yaml") == read_catalog(demo_catalog_path)
    target = tmp_path / "catalog.xlsx"
    written = run("export", "--format", "xlsx", "--output", str(target))
    assert written.exit_code == 0 and read_catalog(target) == read_catalog(demo_catalog_path)
    assert run("export", "--format", "xlsx").exit_code != 0  # binary needs --output
    assert run("export", "--format", "pdf").exit_code != 0
    assert run("export", "--version", "9.9").exit_code != 0


def test_diff_prints_the_adjustments(run, demo_catalog_path, tmp_path):
    data = yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8"))
    run("import", str(demo_catalog_path))
    data["catalog"]["version"] = "2026.2"
    data["duties"][0]["fee"] = "10元"
    newer = tmp_path / "newer.yaml"
    newer.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    run("import", str(newer))
    table = run("diff", "2026.1", "2026.2")
    assert table.exit_code == 0, table.output
    assert "变更" in table.output and "MZ-QR-001" in table.output and "10元" in table.output
    as_json = run("diff", "2026.1", "2026.2", "--format", "json")
    body = json.loads(as_json.stdout)
    assert body["changed"][0]["changes"] == [{"field": "fee", "label": "收费标准", "old": "无", "new": "10元"}]
    assert run("diff", "2026.1", "2030").exit_code != 0
