"""The analysis rules of the spec ("What the analysis must find") and the report format."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from engine.analysis.report import analyze
from engine.analysis.taxonomy import Taxonomy, find_taxonomy_cycles
from engine.catalog.document import CatalogDocument, TaxonomyObject

MINES = [
    {"name": "矿山"},
    {"name": "煤矿", "parent": "矿山"},
    {"name": "非煤矿山", "parent": "矿山"},
    {"name": "石膏矿", "parent": "非煤矿山", "aliases": ["石膏矿山"]},
    {"name": "金属非金属矿山", "parent": "非煤矿山"},
]


def catalog(duties, objects=MINES, mandates=(), synonyms=None, departments=None) -> CatalogDocument:
    """A small valid catalog: departments A, B, C unless given; the duties as written."""
    departments = departments or [{"code": code, "name": f"{code}局"} for code in ("A", "B", "C")]
    data = {
        "catalog": {"region": "测试市", "name": "测试清单", "version": "1"},
        "departments": departments,
        "objects": list(objects),
        "action_synonyms": synonyms or {},
        "mandates": list(mandates),
        "duties": [{"category": "行政检查", **duty} for duty in duties],
    }
    return CatalogDocument.model_validate(data)


def duty(code, department, name=None, **fields):
    return {"code": code, "department": department, "name": name or code, **fields}


def overlaps(document, **kwargs):
    return [(o["kind"], o["object"], o["duties"]) for o in analyze(document, **kwargs).to_json_dict()["overlaps"]]


@pytest.fixture
def demo(demo_catalog_path) -> CatalogDocument:
    return CatalogDocument.model_validate(yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8")))


def test_demo_catalog_gives_exactly_the_findings_in_its_header(demo):
    report = analyze(demo).to_json_dict()
    assert report["catalog"] == {"region": "示例市", "version": "2026.1"}
    assert report["overlaps"] == [
        {
            "kind": "taxonomy",
            "object": "石膏矿",
            "action": "安全监管",
            "duties": ["AJ-JC-001", "MT-JC-002"],
            "departments": ["AJ", "MT"],
        },
        {
            "kind": "same_object",
            "object": "小型水利工程",
            "action": "管理",
            "duties": ["GXQ-GL-001", "WGD-GL-001"],
            "departments": ["GXQ", "WGD"],
        },
    ]
    # 小型水利工程管理 / 辖区小型水利工程管理 is already an overlap, 就业困难人员认定 is an arranged
    # lead/partner pair, and every other duty's object and action let the rule decide.
    assert report["suspected_overlaps"] == []
    assert report["gaps"] == [
        {"kind": "duty_without_post", "ref": "GGZY-FW-001"},
        {"kind": "duty_without_unit", "ref": "GGZY-FW-001"},
        {"kind": "mandate_uncovered", "ref": "M-MZ-DM"},
        {"kind": "over_quota", "ref": "MZ-SHJZ"},
        {"kind": "post_vacant", "ref": "MZ-YLFW-01"},
        {"kind": "post_without_backup", "ref": "AJ-WH-01"},
        {"kind": "post_without_backup", "ref": "MZ-YLFW-01"},
    ]


def test_demo_similar_names_are_not_repeated_even_at_a_low_threshold(demo):
    assert analyze(demo, threshold=0.3).to_json_dict()["suspected_overlaps"] == []


def test_cli_analyze_prints_the_spec_report(demo_catalog_path, demo):
    completed = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "analyze", str(demo_catalog_path), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(completed.stdout) == analyze(demo).to_json_dict()


def test_excluded_narrower_object_is_not_an_overlap():
    document = catalog(
        [
            duty("A-1", "A", object="非煤矿山", action="安全监管", excludes=["石膏矿"]),
            duty("B-1", "B", object="石膏矿", action="安全监管"),
            duty("C-1", "C", object="金属非金属矿山", action="安全监管"),
        ]
    )
    assert overlaps(document) == [("taxonomy", "金属非金属矿山", ["A-1", "C-1"])]


def test_excluding_an_intermediate_ancestor_carves_out_its_descendants():
    document = catalog(
        [
            duty("A-1", "A", object="矿山", action="安全监管", excludes=["非煤矿山"]),
            duty("B-1", "B", object="石膏矿山", action="安全监管"),  # alias of 石膏矿
            duty("C-1", "C", object="煤矿", action="安全监管"),
        ]
    )
    assert overlaps(document) == [("taxonomy", "煤矿", ["A-1", "C-1"])]


def test_aliases_and_action_synonyms_count_as_the_same():
    document = catalog(
        [
            duty("A-1", "A", object="石膏矿山", action="安全监督管理"),
            duty("B-1", "B", object="石膏矿", action="安全监管"),
        ],
        synonyms={"安全监督管理": "安全监管"},
    )
    assert overlaps(document) == [("same_object", "石膏矿", ["A-1", "B-1"])]


def test_different_actions_siblings_and_same_department_are_not_overlaps():
    document = catalog(
        [
            duty("A-1", "A", object="石膏矿", action="安全监管"),
            duty("B-1", "B", object="石膏矿", action="许可"),
            duty("B-2", "B", object="煤矿", action="安全监管"),
            duty("A-2", "A", object="非煤矿山", action="安全监管"),
        ]
    )
    assert overlaps(document) == []


def test_lead_partner_counts_only_when_reciprocal():
    arranged = [
        duty("A-1", "A", object="煤矿", action="检查", role="lead", partners=["B"]),
        duty("B-1", "B", object="煤矿", action="检查", role="partner", partners=["A"]),
    ]
    assert overlaps(catalog(arranged)) == []
    one_sided = [
        duty("A-1", "A", object="煤矿", action="检查", role="lead", partners=["B"]),
        duty("B-1", "B", object="煤矿", action="检查", role="partner", partners=["C"]),
    ]
    assert overlaps(catalog(one_sided)) == [("same_object", "煤矿", ["A-1", "B-1"])]
    # C names A but A does not name C: C is not part of the arrangement.
    third = [*arranged, duty("C-1", "C", object="煤矿", action="检查", role="partner", partners=["A"])]
    assert overlaps(catalog(third)) == [("same_object", "煤矿", ["A-1", "C-1"]), ("same_object", "煤矿", ["B-1", "C-1"])]
    # Once the lead names C too, the two partners of one lead are one arrangement.
    third[0]["partners"] = ["B", "C"]
    assert overlaps(catalog(third)) == []


def test_two_leads_on_the_same_object_and_action():
    document = catalog(
        [
            duty("A-1", "A", object="煤矿", action="检查", role="lead", partners=["B"]),
            duty("B-1", "B", object="煤矿", action="检查", role="lead", partners=["A"]),
        ]
    )
    assert overlaps(document) == [("two_leads", "煤矿", ["A-1", "B-1"])]


def test_equal_free_text_objects_overlap():
    document = catalog(
        [
            duty("A-1", "A", object="建筑噪声", action="处罚"),
            duty("B-1", "B", object="建筑噪声", action="处罚"),
        ]
    )
    assert overlaps(document) == [("same_object", "建筑噪声", ["A-1", "B-1"])]


def test_suspected_overlaps_need_an_undecidable_duty_and_different_departments():
    document = catalog(
        [
            duty("A-1", "A", "城市建筑垃圾处置核准"),
            duty("B-1", "B", "城市建筑垃圾处置核准（延续）"),
            duty("A-2", "A", "城市建筑垃圾处置核准（变更）"),  # same department as A-1
            duty("C-1", "C", "煤矿安全监督管理", object="煤矿", action="安全监管"),
            duty("B-2", "B", "煤矿安全监督管理", object="煤矿", action="检查"),
        ]
    )
    report = analyze(document).to_json_dict()
    pairs = [(s["duties"], s["departments"]) for s in report["suspected_overlaps"]]
    assert (["A-1", "B-1"], ["A", "B"]) in pairs and (["A-2", "B-1"], ["A", "B"]) in pairs
    assert all(s["departments"][0] != s["departments"][1] for s in report["suspected_overlaps"])
    # C-1 and B-2 both have objects in the taxonomy and actions: the rule decided (no overlap).
    assert not any("C-1" in s["duties"] for s in report["suspected_overlaps"])
    assert all(0 < s["score"] <= 1 for s in report["suspected_overlaps"])
    assert [s["duties"] for s in report["suspected_overlaps"]] == sorted(s["duties"] for s in report["suspected_overlaps"])


def test_overlaps_and_arranged_pairs_are_not_repeated_as_suspected():
    document = catalog(
        [
            duty("A-1", "A", "散装水泥管理", object="散装水泥", action="管理"),
            duty("B-1", "B", "散装水泥管理", object="散装水泥", action="管理"),
            duty("A-2", "A", "就业困难人员认定", role="lead", partners=["C"]),
            duty("C-2", "C", "就业困难人员认定", role="partner", partners=["A"]),
        ]
    )
    report = analyze(document).to_json_dict()
    assert [o["duties"] for o in report["overlaps"]] == [["A-1", "B-1"]]
    assert report["suspected_overlaps"] == []


def test_threshold_is_configurable():
    document = catalog([duty("A-1", "A", "企业投资项目备案"), duty("B-1", "B", "企业投资项目备案（技术改造）")])
    assert analyze(document, threshold=0.99).suspected_overlaps == []
    assert len(analyze(document, threshold=0.5).suspected_overlaps) == 1
    with pytest.raises(ValueError):
        analyze(document, threshold=0)


def test_mandate_covered_by_ancestor_unless_excluded():
    mandates = [
        {"code": "M-1", "object": "石膏矿", "action": "安全监管"},
        {"code": "M-2", "object": "金属非金属矿山", "action": "安全监管"},
        {"code": "M-3", "object": "煤矿", "action": "安全监管"},
        {"code": "M-4", "object": "矿山", "action": "安全监管"},
    ]
    document = catalog(
        [duty("A-1", "A", object="非煤矿山", action="安全监督管理", excludes=["石膏矿"], units=[], posts=[])],
        mandates=mandates,
        synonyms={"安全监督管理": "安全监管"},
    )
    gaps = [g["ref"] for g in analyze(document).to_json_dict()["gaps"] if g["kind"] == "mandate_uncovered"]
    # M-4: a duty on a narrower object does not cover the broader mandate.
    assert gaps == ["M-1", "M-3", "M-4"]


def test_staffing_gaps_count_each_person_once():
    departments = [
        {
            "code": "A",
            "name": "A局",
            "staffing_quota": 2,
            "units": [
                {
                    "code": "A-U1",
                    "name": "一科",
                    "staffing_quota": 1,
                    "posts": [
                        {"code": "P1", "name": "甲岗", "holders": [{"id": "S1", "name": "张三"}], "backup": "P2"},
                        {"code": "P2", "name": "乙岗", "holders": [{"id": "S1", "name": "张三"}], "backup": "P1"},
                    ],
                },
                {
                    "code": "A-U2",
                    "name": "二科",
                    "staffing_quota": 1,
                    "posts": [
                        {"code": "P3", "name": "丙岗", "holders": [{"id": "S2", "name": "李四"}, {"id": "S3", "name": "王五"}]},
                        {"code": "P4", "name": "丁岗", "backup": "P3"},
                    ],
                },
            ],
        }
    ]
    document = catalog(
        [duty("A-1", "A", units=["A-U1"], posts=[{"post": "P1", "role": "A"}])], departments=departments
    )
    gaps = [(g["kind"], g["ref"]) for g in analyze(document).to_json_dict()["gaps"]]
    assert gaps == [
        ("over_quota", "A"),
        ("over_quota", "A-U2"),
        ("post_vacant", "P4"),
        ("post_without_backup", "P3"),
    ]


def test_taxonomy_cycles_and_lookups():
    objects = [
        TaxonomyObject(name="甲", parent="丙"),
        TaxonomyObject(name="乙", parent="甲"),
        TaxonomyObject(name="丙", parent="乙"),
        TaxonomyObject(name="丁", parent="丁"),
    ]
    # Each cycle once, following parent -> child links, starting from its smallest name.
    assert find_taxonomy_cycles(objects) == [["丁"], ["丙", "甲", "乙"]]
    assert find_taxonomy_cycles([TaxonomyObject(name="丁")]) == []
    taxonomy = Taxonomy(TaxonomyObject.model_validate(o) for o in MINES)
    assert taxonomy.ancestors("石膏矿山") == ("非煤矿山", "矿山")
    assert taxonomy.is_ancestor("矿山", "石膏矿") and not taxonomy.is_ancestor("煤矿", "石膏矿")
    assert taxonomy.descendants("非煤矿山") == {"石膏矿", "金属非金属矿山"}
    assert taxonomy.canonical("不存在的对象") is None
    with pytest.raises(ValueError):
        Taxonomy(objects)
