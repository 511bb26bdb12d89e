"""绩效考评 scoring (issue 12, "Done when", first bullet): a department's year scored with the
default scheme, every expected value worked out by hand from the rules (docs/evaluation.md), the
arithmetic in the comments. Pure functions: engine.evaluation.scheme and scoring.

Unit total = 职能工作 × 40 % + 管理工作 × 30 % + 创新创优 × 10 % + 工作满意度 × 20 %;
职能工作 = the mean of four quarters (25 % each), a quarter = 重点 50 % + 常规 30 % + 其他 20 %;
管理工作 = 依法 20 % + 高效 20 % + 廉洁 20 % + 其他 40 %; 创新创优 = 成果 60 % + 改进 40 %;
工作满意度 = 领导班子 40 % + 中层以下 60 %.
Individual total = 工作考核 × 60 % (mean of four quarters) + 内部管理 × 20 % + 工作满意度 × 20 %
(领导 40 % + 中层以下 60 %).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from engine.errors import InvalidInput
from engine.evaluation import scheme, scoring
from engine.evaluation.scoring import EXCELLENT, GOOD, PASS, WARNING, Sanctions, Scored
from engine.models.evaluation import SUBJECT_STAFF, SUBJECT_UNIT

UNIT_TREE = scheme.default_unit_tree()
STAFF_TREE = scheme.default_staff_tree()


def uniform(tree, by_group: dict[str, float]) -> dict[str, Fraction]:
    """Every leaf under a top-level group gets that group's score."""
    scores = {}
    for leaf, path in scheme.leaves(tree):
        top = (path[0] if path else leaf).code
        scores[leaf.code] = Fraction(str(by_group[top]))
    return scores


def given(values: dict[str, float | str]) -> dict[str, Fraction]:
    return {code: Fraction(str(value)) for code, value in values.items()}


# 办公室: every leaf scored differently, to check the weights inside each level.
OFFICE = given({
    # Q1 = 90×50 % + 100×30 % + 80×20 % = 45 + 30 + 16 = 91
    "FUNC.Q1.KEY": 90, "FUNC.Q1.ROUTINE": 100, "FUNC.Q1.OTHER": 80,
    # Q2 = 95×50 % + 90×30 % + 85×20 % = 47.5 + 27 + 17 = 91.5
    "FUNC.Q2.KEY": 95, "FUNC.Q2.ROUTINE": 90, "FUNC.Q2.OTHER": 85,
    # Q3 = 88×50 % + 100×30 % + 90×20 % = 44 + 30 + 18 = 92
    "FUNC.Q3.KEY": 88, "FUNC.Q3.ROUTINE": 100, "FUNC.Q3.OTHER": 90,
    # Q4 = 92.5×50 % + 95×30 % + 100×20 % = 46.25 + 28.5 + 20 = 94.75
    "FUNC.Q4.KEY": "92.5", "FUNC.Q4.ROUTINE": 95, "FUNC.Q4.OTHER": 100,
    # 管理工作 = 95×20 % + 90×20 % + 100×20 % + 85×40 % = 19 + 18 + 20 + 34 = 91
    "MGMT.LAW": 95, "MGMT.EFFICIENCY": 90, "MGMT.INTEGRITY": 100, "MGMT.OTHER": 85,
    # 创新创优 = 80×60 % + 90×40 % = 48 + 36 = 84
    "INNOV.RESULTS": 80, "INNOV.IMPROVE": 90,
    # 工作满意度 = 92×40 % + 88×60 % = 36.8 + 52.8 = 89.6
    "SATIS.LEADERS": 92, "SATIS.STAFF": 88,
})
# 职能工作 = (91 + 91.5 + 92 + 94.75) / 4 = 369.25 / 4 = 92.3125
# total = 92.3125×40 % + 91×30 % + 84×10 % + 89.6×20 % = 36.925 + 27.3 + 8.4 + 17.92 = 90.545 → 优秀
OFFICE_TOTAL = Fraction("90.545")

UNITS = {
    # code: (name, scores)
    "MZ-BGS": ("办公室", OFFICE),
    # 95×40 % + 95×30 % + 90×10 % + 92×20 % = 38 + 28.5 + 9 + 18.4 = 93.9 → 优秀
    "MZ-SHJZ": ("社会救助科", uniform(UNIT_TREE, {"FUNC": 95, "MGMT": 95, "INNOV": 90, "SATIS": 92})),
    # 92×40 % + 90×30 % + 90×10 % + 90×20 % = 36.8 + 27 + 9 + 18 = 90.8 → 优秀 by score;
    # its member 周勇 was punished → one grade down → 良好
    "MZ-HYDJ": ("婚姻登记处", uniform(UNIT_TREE, {"FUNC": 92, "MGMT": 90, "INNOV": 90, "SATIS": 90})),
    # 70×40 % + 60×30 % + 60×10 % + 60×20 % = 28 + 18 + 6 + 12 = 64 → 诫勉, 重点整改单位
    "MZ-YLFW": ("养老服务科", uniform(UNIT_TREE, {"FUNC": 70, "MGMT": 60, "INNOV": 60, "SATIS": 60})),
    # 85×40 % + 85×30 % + 80×10 % + 80×20 % = 34 + 25.5 + 8 + 16 = 83.5 → 良好
    "MZ-ZCFG": ("政策法规科", uniform(UNIT_TREE, {"FUNC": 85, "MGMT": 85, "INNOV": 80, "SATIS": 80})),
}


def staff_scores(quarters: list[float], internal: float, leaders: float, others: float) -> dict[str, Fraction]:
    return given({"WORK.Q1": quarters[0], "WORK.Q2": quarters[1], "WORK.Q3": quarters[2], "WORK.Q4": quarters[3],
                  "INTERNAL": internal, "SATIS.LEADERS": leaders, "SATIS.STAFF": others})


STAFF = {
    # code: (name, unit, in post, scores)
    # 王芳: 工作考核 (95 + 92 + 94 + 96) / 4 = 94.25 → ×60 % = 56.55; 内部管理 90 → ×20 % = 18;
    # 满意度 95×40 % + 90×60 % = 38 + 54 = 92 → ×20 % = 18.4; total 56.55 + 18 + 18.4 = 92.95 → 优秀
    "S001": ("王芳", "MZ-BGS", True, staff_scores([95, 92, 94, 96], 90, 95, 90)),
    # 周勇: 95 everywhere → 95 → 优秀 by score; punished → 诫勉
    "S007": ("周勇", "MZ-HYDJ", True, staff_scores([95] * 4, 95, 95, 95)),
    # 黄丽: 91 everywhere → 91 → 优秀; her unit is 良好 after its downgrade, not 诫勉 → stays 优秀
    "S006": ("黄丽", "MZ-HYDJ", True, staff_scores([91] * 4, 91, 91, 91)),
    # 李明: 工作考核 93 → 55.8; 内部管理 90 → 18; 满意度 90×40 % + 95×60 % = 36 + 57 = 93 → 18.6;
    # total 92.4 → 优秀 by score; 养老服务科 is 诫勉 → cannot be 优秀 → 良好
    "S008": ("李明", "MZ-YLFW", True, staff_scores([93] * 4, 90, 90, 95)),
    # 陈静: 85 everywhere → 85 → 良好
    "S003": ("陈静", "MZ-SHJZ", True, staff_scores([85] * 4, 85, 85, 85)),
    # 杨帆: 工作考核 (70 + 68 + 72 + 66) / 4 = 69 → 41.4; 内部管理 65 → 13;
    # 满意度 60×40 % + 70×60 % = 24 + 42 = 66 → 13.2; total 67.6 → 诫勉
    "S004": ("杨帆", "MZ-ZCFG", True, staff_scores([70, 68, 72, 66], 65, 60, 70)),
    # 赵磊: 96 everywhere → 优秀, but not in post (借调) → not an 优秀个人 candidate
    "S005": ("赵磊", "MZ-SHJZ", False, staff_scores([96] * 4, 96, 96, 96)),
}
SANCTIONS = Sanctions(punished={"S007": ["违反工作纪律受警告处分"]})


def department_year() -> scoring.Decision:
    units = [Scored(code, name, scoring.total(UNIT_TREE, values)) for code, (name, values) in UNITS.items()]
    staff = [Scored(code, name, scoring.total(STAFF_TREE, values), unit, in_post)
             for code, (name, unit, in_post, values) in STAFF.items()]
    return scoring.decide(units, staff, SANCTIONS)


def test_the_default_scheme_is_the_published_one():
    assert [(n.name, n.weight_bp) for n in UNIT_TREE] == [
        ("职能工作", 4000), ("管理工作", 3000), ("创新创优", 1000), ("工作满意度", 2000)]
    quarter = UNIT_TREE[0].children[0]
    assert [(n.name, n.weight_bp) for n in UNIT_TREE[0].children] == [
        ("第一季度", 2500), ("第二季度", 2500), ("第三季度", 2500), ("第四季度", 2500)]
    assert [(n.name, n.weight_bp, n.kind) for n in quarter.children] == [
        ("重点工作", 5000, "subjective"), ("常规工作", 3000, "objective"), ("其他工作", 2000, "subjective")]
    assert [(n.name, n.weight_bp) for n in UNIT_TREE[1].children] == [
        ("依法履职", 2000), ("高效履职", 2000), ("廉洁履职", 2000), ("其他", 4000)]
    assert [(n.name, n.weight_bp) for n in UNIT_TREE[2].children] == [("成果", 6000), ("适时改进", 4000)]
    assert [(n.name, n.weight_bp) for n in UNIT_TREE[3].children] == [("局领导班子评议", 4000), ("中层以下人员评议", 6000)]
    assert [(n.name, n.weight_bp) for n in STAFF_TREE] == [("工作考核", 6000), ("内部管理", 2000), ("工作满意度", 2000)]
    assert [n.weight_bp for n in STAFF_TREE[0].children] == [2500] * 4
    assert [(n.name, n.weight_bp) for n in STAFF_TREE[2].children] == [("领导班子评价平均分", 4000), ("中层以下人员评价平均分", 6000)]
    scheme.validate_tree(UNIT_TREE, SUBJECT_UNIT)
    scheme.validate_tree(STAFF_TREE, SUBJECT_STAFF)


def test_unit_totals_and_grades_of_a_department_year():
    decision = department_year()
    got = {u.code: (u.total, u.total_display, u.grade_by_score, u.grade, u.rank) for u in decision.units}
    assert got == {
        "MZ-SHJZ": (Fraction("93.9"), "93.90", EXCELLENT, EXCELLENT, 1),
        "MZ-HYDJ": (Fraction("90.8"), "90.80", EXCELLENT, GOOD, 2),  # downgraded: 周勇 punished
        "MZ-BGS": (OFFICE_TOTAL, "90.54", EXCELLENT, EXCELLENT, 3),  # 90.545 shown truncated
        "MZ-ZCFG": (Fraction("83.5"), "83.50", GOOD, GOOD, 4),
        "MZ-YLFW": (Fraction(64), "64.00", WARNING, WARNING, 5),
    }


def test_a_punished_member_drops_the_unit_one_grade_and_makes_the_person_jiemian():
    decision = department_year()
    marriage = next(u for u in decision.units if u.code == "MZ-HYDJ")
    assert marriage.reasons == ["本单位人员周勇因违纪违法受到处分：降一个等次（优秀 → 良好）"]
    zhou = next(s for s in decision.staff if s.code == "S007")
    assert (zhou.total, zhou.grade_by_score, zhou.grade, zhou.advanced) == (Fraction(95), EXCELLENT, WARNING, False)
    assert zhou.reasons == ["因违纪违法受到处分（违反工作纪律受警告处分）：当年考评为诫勉"]


def test_a_jiemian_unit_is_a_key_rectification_unit():
    decision = department_year()
    assert [u.code for u in decision.units if u.key_rectification] == ["MZ-YLFW"]


def test_advanced_units_are_capped_at_thirty_percent():
    decision = department_year()
    # 5 units → floor(5 × 30 %) = floor(1.5) = 1 先进. 优秀 after the rules: 社会救助科 93.9 and
    # 办公室 90.545 (婚姻登记处 was downgraded); the higher total takes the one place.
    assert decision.advanced_cap == 1
    assert [u.code for u in decision.units if u.advanced] == ["MZ-SHJZ"]
    office = next(u for u in decision.units if u.code == "MZ-BGS")
    assert (office.grade, office.advanced) == (EXCELLENT, False)
    assert "30%" in office.reasons[0]


def test_individual_totals_grades_and_excellent_candidates():
    decision = department_year()
    got = {s.code: (s.total, s.grade_by_score, s.grade, s.advanced) for s in decision.staff}
    assert got == {
        "S005": (Fraction(96), EXCELLENT, EXCELLENT, False),  # not in post
        "S007": (Fraction(95), EXCELLENT, WARNING, False),  # punished
        "S001": (Fraction("92.95"), EXCELLENT, EXCELLENT, True),
        "S008": (Fraction("92.4"), EXCELLENT, GOOD, False),  # staff of a 诫勉 unit
        "S006": (Fraction(91), EXCELLENT, EXCELLENT, True),
        "S003": (Fraction(85), GOOD, GOOD, False),
        "S004": (Fraction("67.6"), WARNING, WARNING, False),
    }
    assert [s.code for s in decision.staff] == ["S005", "S007", "S001", "S008", "S006", "S003", "S004"]


def test_staff_of_a_jiemian_unit_cannot_be_excellent():
    decision = department_year()
    li = next(s for s in decision.staff if s.code == "S008")
    assert li.reasons == ["所在单位养老服务科考评为诫勉，其人员不能评为优秀"]


def test_a_major_accident_drops_a_unit_once_and_a_jiemian_unit_stays_jiemian():
    units = [Scored("A", "甲科", Fraction(95)), Scored("B", "乙科", Fraction(65))]
    staff = [Scored("P", "张三", Fraction(80), "A")]
    decision = scoring.decide(units, staff, Sanctions(punished={"P": ["记过"]},
                                                      major_accidents={"A": ["安全生产事故"], "B": ["火灾"]}))
    a, b = decision.units
    # 甲科: punished member and an accident: still one grade (优秀 → 良好)
    assert (a.grade, len(a.reasons)) == (GOOD, 1) and "张三" in a.reasons[0] and "安全生产事故" in a.reasons[0]
    assert (b.grade_by_score, b.grade, b.key_rectification) == (WARNING, WARNING, True)


def test_grade_boundaries_and_display():
    # 优秀 ≥ 90; 良好 80 ≤ s < 90; 达标 70 ≤ s < 80; 诫勉 < 70 — judged on the exact total
    assert [scoring.grade_of(Fraction(v)) for v in ("90", "89.999", "80", "79.99", "70", "69.99")] == [
        EXCELLENT, GOOD, GOOD, PASS, PASS, WARNING]
    # 89.999 is 良好 and shows 89.99 (truncated), never 90.00
    assert scoring.display(Fraction("89.999")) == "89.99"
    assert scoring.display(Fraction(200, 3)) == "66.66"
    assert scoring.downgrade(PASS) == WARNING and scoring.downgrade(WARNING) == WARNING


def test_the_cap_rounds_down_and_ties_go_by_name():
    # 10 units → floor(3) = 3; 7 units → floor(2.1) = 2; 3 units → floor(0.9) = 0
    assert [scoring.advanced_cap(n) for n in (10, 7, 3, 4)] == [3, 2, 0, 1]
    # 7 units, four 优秀: 95, then 92, 92, 92 tied → by name (Unicode order): 丁科 < 丙科 < 甲科
    totals = {"甲科": 92, "乙科": 95, "丙科": 92, "丁科": 92, "戊科": 80, "己科": 75, "庚科": 60}
    units = [Scored(name, name, Fraction(total)) for name, total in totals.items()]
    decision = scoring.decide(units, [])
    assert "丁科" < "丙科" < "甲科"  # 丁 U+4E01 < 丙 U+4E19 < 甲 U+7532
    assert [u.code for u in decision.units if u.advanced] == ["乙科", "丁科"]


def test_weights_not_summing_to_100_percent_are_refused():
    management = replace(UNIT_TREE[1], children=(*UNIT_TREE[1].children[:3],
                                                 replace(UNIT_TREE[1].children[3], weight_bp=3000)))
    with pytest.raises(InvalidInput) as caught:
        scheme.validate_tree((UNIT_TREE[0], management, *UNIT_TREE[2:]), SUBJECT_UNIT)
    # 依法 20 + 高效 20 + 廉洁 20 + 其他 30 = 90 %
    assert caught.value.message == "单位（处室）指标权重之和须为 100%：「管理工作」下一级权重合计 90%"
    assert caught.value.status_code == 422
    with pytest.raises(InvalidInput) as caught:
        scheme.validate_tree((replace(STAFF_TREE[0], weight_bp=5000), *STAFF_TREE[1:]), SUBJECT_STAFF)
    # 工作考核 50 + 内部管理 20 + 工作满意度 20 = 90 %
    assert caught.value.message == "个人指标权重之和须为 100%：「个人总分」下一级权重合计 90%"


def test_a_missing_leaf_is_named():
    scores = dict(OFFICE)
    del scores["FUNC.Q3.OTHER"]
    with pytest.raises(scoring.MissingScores) as caught:
        scoring.total(UNIT_TREE, scores)
    assert [n.code for n in caught.value.missing] == ["FUNC.Q3.OTHER"]
