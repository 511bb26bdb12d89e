"""Diagrams: what each graph shows (checked on the graphviz source and the rendered SVG)."""

from __future__ import annotations

import re

import pytest
import yaml

from engine.analysis import diagrams
from engine.analysis.report import analyze
from engine.catalog.document import CatalogDocument
from engine.errors import NotFound


@pytest.fixture
def demo(demo_catalog_path) -> CatalogDocument:
    return CatalogDocument.model_validate(yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8")))


def test_sanding_tree_shows_units_posts_holders_backups_and_duties(demo):
    source = diagrams.sanding_graph(demo, "MZ").source
    assert "社会救助科\n编制 2，在岗 3" in source  # over quota is visible
    assert "低保审核岗\n陈静、杨帆\nB角：MZ-SHJZ-02" in source
    assert "养老机构监管岗\n（空缺）\n（未设B角）" in source
    assert "最低生活保障审批（A角）" in source and "最低生活保障审批（B角）" in source
    assert 'fontname="Noto Sans CJK SC"' in source
    with pytest.raises(NotFound):
        diagrams.sanding_graph(demo, "NOPE")


def test_overlap_graph_has_one_labelled_edge_per_overlap_and_dashed_suspected(demo):
    report = analyze(demo)
    source = diagrams.overlap_graph(demo, report).source
    assert source.count("penwidth=2") == 2
    assert "石膏矿 安全监管\nAJ-JC-001、MT-JC-002" in source
    suspected = demo.model_copy(deep=True)
    suspected.duties[3].name = "部门职责争议协调处理"  # MZ's internal duty, no object: undecidable
    report = analyze(suspected)
    assert [s.duties for s in report.suspected_overlaps] == [("BB-NB-001", "MZ-NB-001")]
    assert "style=dashed" in diagrams.overlap_graph(suspected, report).source


def test_overlap_graph_without_findings_says_so(demo):
    report = analyze(demo)
    report.overlaps, report.suspected_overlaps = [], []
    svg = diagrams.render_svg(diagrams.overlap_graph(demo, report))
    assert "未发现职责交叉" in svg


def test_taxonomy_marks_contested_objects_and_who_covers_them(demo):
    source = diagrams.taxonomy_graph(demo, analyze(demo)).source
    assert "石膏矿\n（又称 石膏矿山）\n市煤炭局 安全监管" in source
    assert "就业困难人员\n市人力资源和社会保障局（牵头） 认定\n市民政局（配合） 认定" in source
    contested = re.findall(r'"o__([^"]+)" \[label="[^"]*" fillcolor="#fde2e1"\]', source)
    assert contested == ["石膏矿", "小型水利工程"]
