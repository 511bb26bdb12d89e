"""Chinese name similarity on names alone, checked on 311 real rows of a district's item list."""

from __future__ import annotations

import csv
import random

import pytest

from engine.analysis.report import analyze
from engine.analysis.similarity import DEFAULT_THRESHOLD, exhaustive_pairs, ngrams, segments, similar_pairs
from engine.catalog.document import CatalogDocument


def _rows(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def research_document(path) -> CatalogDocument:
    """The CSV as a catalog: names, codes, categories and departments named only by name."""
    try:
        from engine.catalog.io import read_catalog
    except ImportError:
        read_catalog = None
    if read_catalog is not None:
        return read_catalog(path)
    rows = _rows(path)
    departments = sorted({row["部门名称"] for row in rows})
    codes = {name: f"D{i:02d}" for i, name in enumerate(departments)}
    return CatalogDocument.model_validate(
        {
            "catalog": {"region": "广安区", "name": "政务服务事项", "version": "sample"},
            "departments": [{"code": codes[name], "name": name} for name in departments],
            "duties": [
                {"code": f"{row['事项编码']}#{row['序号']}", "name": row["事项名称"], "category": row["事项类型"],
                 "department": codes[row["部门名称"]]}
                for row in rows
            ],
        }
    )


def test_segments_fold_full_width_forms_and_split_on_punctuation():
    assert segments("企业投资项目备案（技术改造）（市级/县级）") == ["企业投资项目备案", "技术改造", "市级", "县级"]
    grams = ngrams("婚姻登记（补发）")
    assert grams["婚姻"] == 1 and grams["姻登记"] == 1 and "记补" not in grams and grams["补发"] == 1
    assert ngrams("水") == {"水": 1}


@pytest.mark.parametrize("threshold", [0.4, 0.5, 0.6, DEFAULT_THRESHOLD, 0.9])
def test_blocking_finds_exactly_what_all_pairs_finds_on_real_rows(research_csv_path, threshold):
    rows = _rows(research_csv_path)
    names = [row["事项名称"] for row in rows]
    groups = [row["部门名称"] for row in rows]
    fast = {(p.first, p.second): round(p.score, 9) for p in similar_pairs(names, groups, threshold)}
    slow = {(p.first, p.second): round(p.score, 9) for p in exhaustive_pairs(names, groups, threshold)}
    assert fast == slow


def test_blocking_is_exact_on_shuffled_synthetic_names():
    rng = random.Random(7)
    parts = ["城市", "建筑", "垃圾", "处置", "核准", "企业", "投资", "项目", "备案", "医疗", "机构", "执业", "登记"]
    names = ["".join(rng.sample(parts, rng.randint(2, 5))) for _ in range(400)]
    groups = [str(rng.randint(0, 9)) for _ in names]
    for threshold in (0.5, 0.8):
        fast = [(p.first, p.second, round(p.score, 9)) for p in similar_pairs(names, groups, threshold)]
        slow = [(p.first, p.second, round(p.score, 9)) for p in exhaustive_pairs(names, groups, threshold)]
        assert fast == slow and fast


def test_real_rows_give_sensible_suspected_overlaps(research_csv_path):
    document = research_document(research_csv_path)
    report = analyze(document)
    by_code = document.duty_by_code()
    named = sorted(tuple(sorted(by_code[c].name for c in s.duties)) for s in report.suspected_overlaps)
    # 经信局 and 发改局 both take 企业投资项目备案; 自然资源和规划局 and 林业局 both issue plant
    # quarantine certificates for timber transport: the pairs a coordinator should look at.
    assert named == [
        ("企业投资项目备案", "企业投资项目备案（技术改造）（市级/县级）"),
        ("省内调运林草植物检疫证书新办核发（县级权限）", "省际间调运林草植物检疫证书新办核发"),
    ]
    for suspected in report.suspected_overlaps:
        first, second = (by_code[c] for c in suspected.duties)
        assert first.department != second.department
        assert DEFAULT_THRESHOLD <= suspected.score <= 1


def test_same_name_in_the_same_department_is_not_a_cross_department_overlap(research_csv_path):
    document = research_document(research_csv_path)
    report = analyze(document, threshold=0.5)
    by_code = document.duty_by_code()
    names = {by_code[c].name for s in report.suspected_overlaps for c in s.duties}
    # 求职创业补贴申领 appears twice, both times at 区人社局: a duplicate, not a 职责交叉.
    assert "求职创业补贴申领" not in names


def test_progress_reports_every_name(research_csv_path):
    rows = _rows(research_csv_path)
    calls = []
    similar_pairs([r["事项名称"] for r in rows], [r["部门名称"] for r in rows], progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (len(rows), len(rows))
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_real_rows_give_the_hand_labelled_boundary_and_one_gap_per_department(research_csv_path):
    # Labelled by hand (bench/data/guangan_labels.csv, docs/analysis.md): of the sample's rows, the
    # 卫健局 校验 item and two 行政审批局 sub-items of 母婴保健技术服务机构执业许可 (main code 511A00086)
    # are one licence split by stage — 审管衔接, not an overlap. The other labelled pairs whose two
    # items are both in the sample: the two overlaps above, one noise pair (医保/养老保险关系转移, not
    # reported) and one boundary (拖拉机登记 / 档案解封, 0.56: below the threshold, not reported).
    document = research_document(research_csv_path)
    report = analyze(document)
    by_code = document.duty_by_code()
    [boundary] = report.boundaries
    assert sorted(by_code[c].name for c in boundary.duties) == [
        "母婴保健技术服务执业许可注销（县级）",
        "母婴保健技术服务执业首次申报（县级）",
        "母婴保健技术服务机构执业许可校验（县级）",
    ]
    assert "同一主项编码 511A00086" in boundary.reasons
    departments = {d.code for d in document.departments}
    assert {(g.kind, g.ref) for g in report.gaps} == {("no_sanding", code) for code in departments}
    assert sum(g.count for g in report.gaps) == len(document.duties) == 311


def test_a_pair_sharing_its_own_words_is_found_when_the_template_is_too_frequent_to_index():
    # 1,202 names share the template "对…行为的行政处罚": above the bound of 1,000, its n-grams are
    # never indexed. Two names that share their own words (甲乙丙丁) are still found, and nothing
    # is reported between names that share only the template.
    names = [f"对{chr(0x4E00 + k)}{chr(0x5E00 + k)}行为的行政处罚" for k in range(1200)]
    names += ["对甲乙丙丁行为的行政处罚", "对甲乙丙丁行为的行政处罚（县级）"]
    groups = [str(k % 7) for k in range(len(names) - 2)] + ["A", "B"]
    pairs = similar_pairs(names, groups, 0.75)
    assert [(p.first, p.second) for p in pairs] == [(1200, 1201)]


def test_open_names_give_exactly_the_pairs_with_an_open_name(research_csv_path):
    # The analysis marks the names the overlap rule could not decide as open; a pair needs one.
    rows = _rows(research_csv_path)
    names = [row["事项名称"] for row in rows]
    groups = [row["部门名称"] for row in rows]
    open_names = [k % 3 == 0 for k in range(len(names))]
    fast = {(p.first, p.second) for p in similar_pairs(names, groups, 0.5, open_names=open_names)}
    slow = {(p.first, p.second) for p in exhaustive_pairs(names, groups, 0.5)
            if open_names[p.first] or open_names[p.second]}
    assert fast == slow and fast
