"""Validation lists every problem with its place, and a broken catalog stores nothing."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select
from sqlmodel import SQLModel

from engine.catalog import service
from engine.catalog.io import read_catalog
from engine.catalog.validation import validate_document
from engine.errors import InvalidInput


@pytest.fixture
def demo_data(demo_catalog_path):
    return yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8"))


def _problems(data) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        validate_document(data)
    assert caught.value.message == f"清单校验未通过，共 {len(caught.value.problems)} 处问题"
    return caught.value.problems


def _broken(data):
    """The issue's broken catalog: duplicate codes, unknown department, cycle, bad category, limits."""
    data["departments"].append(dict(data["departments"][0], units=[]))  # duplicate department MZ
    data["duties"][1]["code"] = data["duties"][0]["code"]  # duplicate duty code
    data["duties"][2]["department"] = "XX"
    data["objects"][0]["parent"] = "石膏矿"  # 矿山 → 非煤矿山 → 石膏矿 → 矿山
    data["duties"][3]["category"] = "行政指导"
    data["duties"][4]["committed_limit"] = {"value": 20, "unit": "working_days"}  # statutory 15
    return data


def test_broken_catalog_lists_every_problem(demo_data):
    problems = _problems(_broken(demo_data))
    assert "departments[11].code: 部门编码重复 'MZ'（已用于 departments[0].code）" in problems
    assert "duties[1].code: 事项编码重复 'MZ-QR-001'（已用于 duties[0].code）" in problems
    assert "duties[2].department: 未知部门 'XX'" in problems
    assert "objects[3].parent: 对象分类存在循环 石膏矿 → 矿山 → 非煤矿山 → 石膏矿" in problems
    assert any(p.startswith("duties[3].category: 事项类型 '行政指导' 不在 12 类之内") for p in problems)
    # 15 and 20 working days from the first reference start (2026-01-04, a 调休 Sunday that is a
    # working day): 01-23 and 01-30, both at the close of office.
    assert ("duties[4].committed_limit: 承诺时限 20个工作日 长于法定时限 15个工作日（如 2026-01-04 受理，"
            "承诺时限至 2026-01-30 17:30，法定时限至 2026-01-23 17:30）") in problems
    assert len(problems) == 6


def test_unknown_references_are_named(demo_data):
    post = demo_data["departments"][0]["units"][0]["posts"][0]
    post["backup"] = post["code"]
    demo_data["departments"][0]["units"][0]["posts"][1]["backup"] = "NOPE-01"
    demo_data["departments"][1]["units"][0]["code"] = "MZ-BGS"  # unit codes unique in the whole catalog
    duty = demo_data["duties"][0]
    duty["partners"] = ["ZZ"]
    duty["units"] = ["ZZ-1"]
    duty["posts"] = [{"post": "ZZ-1-01", "role": "C"}]
    duty["stages"] = [{"stage": "核查", "text": "…"}]
    duty["excludes"] = ["火星矿"]
    demo_data["objects"].append({"name": "铁矿", "parent": "金属矿"})
    demo_data["roles"]["legal_office"] = ["FZ", "NOWHERE"]
    problems = _problems(demo_data)
    expected = [
        "departments[0].units[0].posts[0].backup: B角岗位不能是本岗位 'MZ-BGS-01'",
        "departments[0].units[0].posts[1].backup: 未知岗位 'NOPE-01'",
        "departments[1].units[0].code: 机构编码重复 'MZ-BGS'（已用于 departments[0].units[0].code）",
        "duties[0].partners[0]: 未知部门 'ZZ'",
        "duties[0].units[0]: 未知内设机构 'ZZ-1'",
        "duties[0].posts[0].post: 未知岗位 'ZZ-1-01'",
        "duties[0].posts[0].role: 岗位角色应为 A 或 B，实际为 'C'",
        "duties[0].excludes[0]: 不含对象 '火星矿' 不在对象分类中",
        "objects[15].parent: 未知对象 '金属矿'",
        "roles.legal_office[1]: 未知部门、内设机构或岗位 'NOWHERE'",
    ]
    for problem in expected:
        assert problem in problems
    assert any(p.startswith("duties[0].stages[0].stage: 环节 '核查' 不在") for p in problems)


def test_type_errors_use_the_same_paths(demo_data):
    del demo_data["duties"][0]["name"]
    demo_data["duties"][1]["statutory_limit"] = {"value": 0, "unit": "working_days"}
    demo_data["duties"][2]["role"] = "boss"
    demo_data["departments"][0]["staffing_quota"] = -1
    problems = _problems(demo_data)
    assert "duties[0].name: 缺少必填字段" in problems
    assert "duties[1].statutory_limit.value: 必须大于 0，实际为 0" in problems
    assert any(p.startswith("duties[2].role: 取值应为") for p in problems)
    assert "departments[0].staffing_quota: 不能小于 0，实际为 -1" in problems


def test_numbers_are_accepted_as_codes_and_versions(demo_data):
    demo_data["catalog"]["version"] = 2026
    demo_data["departments"][0]["code"] = 101
    for duty in demo_data["duties"]:
        duty["department"] = 101 if duty["department"] == "MZ" else duty["department"]
        duty["partners"] = [101 if p == "MZ" else p for p in duty.get("partners", [])]
    document = validate_document(demo_data)
    assert document.catalog.version == "2026"
    assert document.departments[0].code == "101"


def test_committed_and_statutory_limits_compare_like_with_like(demo_data):
    """Issue 14 item 5: due dates from the same start, at every working day of 2026, not bare numbers."""
    duty = demo_data["duties"][0]
    duty["statutory_limit"] = {"value": 20, "unit": "working_days"}
    # 25 calendar days are shorter than 20 working days at every start: 20 working days span four
    # whole weeks (28 days) or more, and a 25th day on a rest day moves only to the next working
    # day, still before them (holidays lengthen the working-day count too). Was refused (25 > 20).
    duty["committed_limit"] = {"value": 25, "unit": "calendar_days"}
    validate_document(demo_data)
    # 30 calendar days run longer: from 2026-01-04 (a 调休 working Sunday) 20 working days end
    # 01-30 (Fri), 30 days end 02-03 (Tue).
    duty["committed_limit"] = {"value": 30, "unit": "calendar_days"}
    assert _problems(demo_data) == [
        "duties[0].committed_limit: 承诺时限 30个自然日 长于法定时限 20个工作日（如 2026-01-04 受理，"
        "承诺时限至 2026-02-03 17:30，法定时限至 2026-01-30 17:30）"]
    # 48 office hours are 6.4 working days of 7.5 hours: shorter than 20 working days.
    duty["committed_limit"] = {"value": 48, "unit": "hours"}
    validate_document(demo_data)
    # A promise of 即办 is shorter than any limit; 无 (no clock) is longer than any.
    duty["committed_limit"] = {"unit": "same_day"}
    validate_document(demo_data)
    duty["committed_limit"] = {"unit": "none"}
    assert _problems(demo_data) == ["duties[0].committed_limit: 承诺时限 无 表示不计时，而法定时限为 20个工作日"]
    # Equal limits in the same unit pass.
    duty["committed_limit"] = {"value": 20, "unit": "working_days", "note": "不含公示时间"}
    validate_document(demo_data)


def _row_counts(database) -> dict[str, int]:
    with database.session() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in SQLModel.metadata.sorted_tables
            if table.name.startswith("catalog_")
        }


def test_broken_import_leaves_the_database_unchanged(database, clock, demo_data, tmp_path, demo_catalog_path):
    with database.session() as session:
        service.import_catalog(session, read_catalog(demo_catalog_path), "法制办", clock.now())
    before = _row_counts(database)
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(_broken(demo_data), allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidInput) as caught, database.session() as session:
        service.import_catalog(session, read_catalog(broken), "法制办", clock.now())
    assert len(caught.value.problems) == 6
    assert _row_counts(database) == before
