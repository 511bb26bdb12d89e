"""The analysis rules of the spec ("What the analysis must find") and the report format."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from engine.analysis.findings import report_findings
from engine.analysis.report import analyze
from engine.catalog.document import CatalogDocument, TaxonomyObject
from engine.catalog.taxonomy import Taxonomy, find_taxonomy_cycles

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
    # B-1 against A's two items is one cluster (one finding), its two pairs listed inside; the
    # two A items are never paired with each other.
    clusters = [(s["duties"], s["departments"]) for s in report["suspected_overlaps"]]
    assert clusters == [(["A-1", "A-2", "B-1"], ["A", "B"])]
    assert [p["duties"] for p in report["suspected_overlaps"][0]["pairs"]] == [["A-1", "B-1"], ["A-2", "B-1"]]
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


# ---- published tables: names, main item codes, 审管衔接, 三定 gaps (issue 11) ----

BUREAUS = [{"code": "SP", "name": "区行政审批局"}, {"code": "WJ", "name": "区卫健局"}, {"code": "MZ", "name": "区民政局"}]


def published(*duties) -> CatalogDocument:
    """A table as published: names, platform codes, categories, departments; no object/action/三定."""
    return catalog([{"category": "行政许可", **d} for d in duties], objects=[], departments=BUREAUS)


def test_licence_split_by_stage_between_approval_bureau_and_sector_bureau_is_one_boundary():
    # 医疗机构执业: 卫健 keeps only 校验; the approval bureau does 新办, 注销, 补办, 变更. One main code
    # 511A00137. Expected by hand: one 审管衔接 cluster of all five, four pairs (校验 × each), no overlap.
    document = published(
        duty("511A0013700020-X", "WJ", "医疗机构执业审批（校验）（县级）"),
        duty("511A0013700019-X", "SP", "医疗机构执业审批（新办）（县级）"),
        duty("511A0013700021-X", "SP", "医疗机构执业审批（注销）（县级）"),
        duty("511A0013700022-X", "SP", "医疗机构执业许可证遗失补办（县级）"),
        duty("511A0013700023-X", "SP", "医疗机构执业变更（即办件）（县级）"),
    )
    report = analyze(document)
    assert report.suspected_overlaps == []
    data = report.to_json_dict()
    [boundary] = data["approval_supervision_boundaries"]
    assert boundary["kind"] == "approval_supervision_boundary"
    assert boundary["departments"] == ["SP", "WJ"]
    assert len(boundary["duties"]) == 5
    assert sorted(tuple(p["duties"]) for p in boundary["pairs"]) == [
        ("511A0013700019-X", "511A0013700020-X"),
        ("511A0013700020-X", "511A0013700021-X"),
        ("511A0013700020-X", "511A0013700022-X"),
        ("511A0013700020-X", "511A0013700023-X"),
    ]
    assert "同一主项编码 511A00137" in boundary["reasons"]


def test_same_stage_at_both_bureaus_is_an_overlap_not_a_boundary():
    # Both approve the same change of one licence: a duplicated act.
    document = published(
        duty("511A0013700023-X", "SP", "医疗机构执业变更（县级）"),
        duty("511A0013700030-X", "WJ", "医疗机构执业审批（变更）"),
    )
    report = analyze(document)
    assert report.boundaries == []
    [suspected] = report.to_json_dict()["suspected_overlaps"]
    assert suspected["duties"] == ["511A0013700023-X", "511A0013700030-X"]
    assert suspected["reasons"][:2] == ["名称显示相同对象「医疗机构执业」和行为「许可」", "同一主项编码 511A00137"]


def test_one_main_code_with_the_same_head_is_raised_below_the_name_threshold():
    # 墓地建设审批 (main code 511A00450): the names alone score 0.2, under any useful threshold;
    # the shared main code and head noun (墓地) raise it. The 社会团体 item of the same catch-all
    # main code shares neither act nor head and stays out.
    document = published(
        duty("511A0045000040-X", "MZ", "建设社会公共墓地审批"),
        duty("511A0045000033-X", "SP", "设置农村公益性墓地审批"),
        duty("511A0045000024-X", "SP", "社会团体成立登记"),
    )
    [suspected] = analyze(document).suspected_overlaps
    assert suspected.duties == ("511A0045000033-X", "511A0045000040-X")
    assert suspected.score < 0.5
    assert suspected.reasons[0] == "同一主项编码 511A00450"


def test_nested_objects_with_the_same_action_are_raised_with_their_reason():
    document = published(
        duty("W-1", "WJ", "水利工程建设项目招投标活动投诉受理及处理", category="其他行政权力"),
        duty("M-1", "MZ", "工程建设项目招标投标活动投诉的处理", category="其他行政权力"),
    )
    [suspected] = analyze(document, threshold=0.99).suspected_overlaps
    assert suspected.reasons[0] == "对象「水利工程建设项目招标投标活动投诉」属于「工程建设项目招标投标活动投诉」，行为同为「处理」"


def test_catalog_without_sanding_gives_one_gap_per_department():
    document = published(
        duty("A-1", "SP", "甲审批"), duty("A-2", "SP", "乙审批"), duty("A-3", "SP", "丙审批"), duty("B-1", "WJ", "丁审批")
    )
    assert analyze(document).to_json_dict()["gaps"] == [
        {"kind": "no_sanding", "ref": "SP", "count": 3},
        {"kind": "no_sanding", "ref": "WJ", "count": 1},
    ]
    findings = {f.key: f for f in report_findings(analyze(document), document)}
    assert findings["gap:no_sanding:SP"].summary == "区行政审批局（SP）：3 项事项未落实到内设机构或岗位：本清单没有三定分解"
    # One duty with a unit is enough for the catalog to have a 三定 decomposition: per-duty gaps again.
    document.duties[0].units = ["SP-U1"]
    kinds = {g.kind for g in analyze(document).gaps}
    assert kinds == {"duty_without_unit", "duty_without_post"}


def test_cluster_findings_have_readable_summaries_and_keys_that_fit_the_alert_table():
    # One 卫健 校验 item against 30 approval-bureau sub-items of the same licence (long codes):
    # one 审管衔接 finding, its summary naming six duties "等 31 项", its key within 500 characters.
    subs = [duty(f"511A0013700{k:03d}-511602000000-000-115113016823646795-1-00", "SP", f"医疗机构执业审批（变更）（第{k}类）")
            for k in range(100, 130)]
    document = published(duty("511A0013700020-511602000000-000-11511301008778490F-1-00", "WJ", "医疗机构执业审批（校验）"), *subs)
    report = analyze(document)
    [finding] = [f for f in report_findings(report, document) if f.category == "boundary"]
    assert finding.kind == "approval_supervision_boundary" and finding.severity == "low"
    assert len(report.boundaries[0].duties) == 31
    assert finding.summary.startswith("审管衔接（同一许可按环节分在审批局与行业主管部门，")
    assert finding.summary.endswith("等 31 项")
    assert len(finding.key) <= 500 and finding.key.startswith("boundary:511A0013700020-")
    again = [f for f in report_findings(analyze(document), document) if f.category == "boundary"]
    assert [f.key for f in again] == [finding.key]  # stable across analyses
