"""Import/export: YAML, JSON and the workbook round-trip; real tables (CSV, one sheet) import."""

from __future__ import annotations

import csv
from io import BytesIO

import pytest
import yaml
from openpyxl import Workbook, load_workbook

from engine.catalog import service
from engine.catalog.cells import split_list
from engine.catalog.io import read_catalog, write_catalog
from engine.catalog.tabular import map_category, split_stage_block
from engine.errors import InvalidInput


@pytest.fixture
def demo(demo_catalog_path):
    return read_catalog(demo_catalog_path)


def _xlsx(rows: list[list], title: str = "Sheet") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_yaml_and_json_round_trip(demo):
    assert read_catalog(write_catalog(demo, "yaml"), "c.yaml") == demo
    assert read_catalog(write_catalog(demo, "json"), "c.json") == demo


def test_written_yaml_follows_the_format(demo):
    text = write_catalog(demo, "yaml").decode("utf-8")
    data = yaml.safe_load(text)
    assert "市民政局" in text  # Chinese stays readable
    assert data["catalog"]["version"] == "2026.1"  # still text, not a float
    assert list(data) == ["catalog", "departments", "objects", "action_synonyms", "mandates", "duties", "roles"]
    ggzy = next(d for d in data["duties"] if d["code"] == "GGZY-FW-001")
    assert set(ggzy) == {"code", "name", "category", "department", "object", "action"}  # empty optionals omitted
    first_post = data["departments"][0]["units"][0]["posts"][1]
    assert "head" not in first_post and data["departments"][0]["units"][0]["posts"][0]["head"] is True


def test_workbook_has_the_spec_sheets_and_cell_syntax(demo):
    workbook = load_workbook(BytesIO(write_catalog(demo, "xlsx")))
    assert workbook.sheetnames[:3] == ["清单信息", "部门", "内设机构"]
    assert {"岗位", "对象分类", "法定职责", "权责事项", "角色"} <= set(workbook.sheetnames)
    posts = list(workbook["岗位"].iter_rows(values_only=True))
    assert posts[0] == ("机构编码", "岗位编码", "岗位名称", "在岗人员", "B角岗位", "负责人岗")
    shjz = next(r for r in posts if r[1] == "MZ-SHJZ-01")
    assert shjz[3] == "陈静(S003)；杨帆(S004)"
    duties = list(workbook["权责事项"].iter_rows(values_only=True))
    header = duties[0]
    row = dict(zip(header, next(r for r in duties if r[0] == "MZ-GF-001"), strict=True))
    assert row["承办岗位"] == "MZ-SHJZ-01(A)；MZ-SHJZ-02(B)"
    assert row["法定时限"] == "20个工作日" and row["承诺时限"] == "15个工作日"
    assert row["责任事项"].splitlines()[0] == "受理：接收乡镇（街道）审核意见和申请材料"


def test_yaml_db_xlsx_db_yaml_is_lossless(database, clock, demo):
    with database.session() as session:
        first = service.import_catalog(session, demo, "法制办", clock.now())
        workbook = write_catalog(service.load_document(session, first.id), "xlsx")
    again = read_catalog(workbook, "demo.xlsx", overrides={"version": "2026.1-xlsx"})
    with database.session() as session:
        second = service.import_catalog(session, again, "法制办", clock.now())
        back = service.load_document(session, second.id)
    back.catalog.version = demo.catalog.version
    assert back == demo
    assert write_catalog(back, "yaml") == write_catalog(demo, "yaml")


def test_workbook_cells_accept_full_width_and_ascii_forms(demo):
    workbook = load_workbook(BytesIO(write_catalog(demo, "xlsx")))
    sheet = workbook["权责事项"]
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "MZ-GF-001")
    cell = {h: c for h, c in zip(header, row, strict=True)}
    cell["承办岗位"].value = "MZ-SHJZ-01（A）;MZ-SHJZ-02(B)"
    cell["责任事项"].value = "受理:接收申请；审查：全面审查"
    cell["法定时限"].value = "20工作日"
    cell["承诺时限"].value = "15个工作日"
    cell["主办方式"].value = "主办"
    buffer = BytesIO()
    workbook.save(buffer)
    duty = read_catalog(buffer.getvalue(), "c.xlsx").duty_by_code()["MZ-GF-001"]
    assert [(p.post, p.role) for p in duty.posts] == [("MZ-SHJZ-01", "A"), ("MZ-SHJZ-02", "B")]
    assert [(s.stage, s.text) for s in duty.stages] == [("受理", "接收申请"), ("审查", "全面审查")]
    assert duty.statutory_limit.value == 20 and duty.statutory_limit.unit == "working_days"


def test_workbook_problems_name_sheet_and_row(demo):
    workbook = load_workbook(BytesIO(write_catalog(demo, "xlsx")))
    sheet = workbook["权责事项"]
    header = [c.value for c in sheet[1]]
    sheet.cell(2, header.index("法定时限") + 1).value = "二十多天"
    sheet.cell(3, header.index("实施主体") + 1).value = "XX"
    posts = workbook["岗位"]
    posts.cell(2, 4).value = "王芳S001"
    buffer = BytesIO()
    workbook.save(buffer)
    with pytest.raises(InvalidInput) as caught:
        read_catalog(buffer.getvalue(), "c.xlsx")
    problems = caught.value.problems
    assert any(p.startswith("权责事项 第2行 法定时限: 无法识别的时限 '二十多天'") for p in problems)
    assert any(p.startswith("岗位 第2行 在岗人员: 无法识别的在岗人员") for p in problems)
    assert "权责事项 第3行（duties[1].department）: 未知部门 'XX'" in problems


def test_list_cells_split_on_semicolons_or_lines():
    assert split_list("A；B;C") == ["A", "B", "C"]
    assert split_list("《甲法》第一条；第二条\n《乙法》") == ["《甲法》第一条；第二条", "《乙法》"]
    assert split_list("《甲法》第一条；第二条\n") == ["《甲法》第一条；第二条"]


def test_research_csv_imports(database, clock, research_csv_path):
    document = read_catalog(research_csv_path)
    assert len(document.duties) == 311
    assert len(document.departments) == 34
    assert document.catalog.region == "511602000000"
    assert document.catalog.name == research_csv_path.stem
    same_name = [d for d in document.duties if d.name == "求职创业补贴申领"]
    assert len(same_name) == 2 and len({d.code for d in same_name}) == 2
    with database.session() as session:
        version = service.import_catalog(session, document, "法制办", clock.now(), source=research_csv_path.name)
        assert service.version_counts(session, version.id)["duties"] == 311
        rs = next(d.code for d in document.departments if d.name == "区人社局")
        expected = sum(1 for d in document.duties if d.department == rs)
        assert service.search_duties(session, version.id, department="区人社局", limit=500).total == expected > 0
        assert service.search_duties(session, version.id, category="行政裁决").total == 8
        page = service.search_duties(session, version.id, q="求职创业补贴申领")
        assert page.total == 2


def test_departments_named_only_by_name_get_stable_codes(research_csv_path, tmp_path):
    # Without its 部门标识 column (which gives the table's own codes, tests/test_catalog_regions.py).
    rows = list(csv.reader(research_csv_path.read_text(encoding="utf-8-sig").splitlines()))
    drop = rows[0].index("部门标识")
    stripped = tmp_path / "no-identifiers.csv"
    with stripped.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([r[:drop] + r[drop + 1:] for r in rows])
    first = read_catalog(stripped)
    second = read_catalog(stripped)
    assert [d.code for d in first.departments] == [d.code for d in second.departments]
    assert all(d.code.startswith("D") and len(d.code) == 9 for d in first.departments)


def test_cli_style_overrides_replace_defaults(research_csv_path):
    document = read_catalog(research_csv_path, overrides={"region": "广安区", "name": "广安区政务服务事项", "version": "2025.4"})
    assert (document.catalog.region, document.catalog.name, document.catalog.version) == ("广安区", "广安区政务服务事项", "2025.4")


@pytest.mark.parametrize(
    ("value", "code", "expected"),
    [
        ("行政许可", None, "行政许可"),
        ("行政监督", None, "行政检查"),
        ("其他行政权力-备案", None, "其他行政权力"),
        ("其他职权", None, "其他行政权力"),
        (None, "01", "行政许可"),
        (None, "1", "行政许可"),
        (None, 5, "行政给付"),
        ("20", None, "公共服务"),
        (None, "10", "其他行政权力"),
    ],
)
def test_category_variants_are_mapped(value, code, expected):
    assert map_category(value, code) == expected


def test_unknown_category_is_refused_naming_row_and_value():
    content = "事项名称,实施主体,事项类型\n甲事项,区民政局,行政许可\n乙事项,区民政局,行政指导\n丙事项,区民政局,\n".encode()
    with pytest.raises(InvalidInput) as caught:
        read_catalog(content, "t.csv")
    problems = caught.value.problems
    assert any(p.startswith("CSV 第3行 事项类型: 无法识别的事项类型 '行政指导'") for p in problems)
    assert "CSV 第4行 事项类型: 事项类型必须填写" in problems
    assert len(problems) == 2  # each bad cell once, not again by validation


def test_single_sheet_with_header_synonyms_and_title_rows():
    content = _xlsx(
        [
            ["某县交通运输局权责清单"],
            ["序号", "职权名称", "权力类别", "行使主体", "设定依据", "责任事项", "问责情形", "承办科室", "备注"],
            [1, "道路运输经营许可", "行政许可", "县交通运输局",
             "《道路运输条例》第十条\n《道路运输条例》第二十四条",
             "1.受理责任：依法受理申请。2.审查责任：对材料进行审查。3.决定责任：作出决定。4.送达责任：送达证件。5.其他责任：法律法规规定的其他责任。",
             "1.对符合条件的不予受理的\n2.违规许可的", "运输科", None],
            [2, "道路运输违法行为处罚", "行政处罚", "县交通运输局", "《道路运输条例》第六十三条", None, None, "执法大队", None],
        ],
        title="权责清单",
    )
    document = read_catalog(content, "某县交通运输局2024.xlsx")
    assert document.catalog.version == "2024"
    [department] = document.departments
    assert department.name == "县交通运输局"
    assert [u.name for u in department.units] == ["运输科", "执法大队"]
    duty = document.duties[0]
    assert duty.basis == ["《道路运输条例》第十条", "《道路运输条例》第二十四条"]
    assert [s.stage for s in duty.stages] == ["受理", "审查", "决定", "送达", "其他"]
    assert duty.stages[0].text == "依法受理申请。"
    assert duty.accountability == ["对符合条件的不予受理的", "违规许可的"]
    assert duty.units == [department.units[0].code]
    assert duty.code.startswith(department.code + "-")


def test_stage_blocks_split():
    assert split_stage_block("受理：收件；审查：审核") == [
        {"stage": "受理", "text": "收件"},
        {"stage": "审查", "text": "审核"},
    ]
    assert split_stage_block("1、受理责任：收件 2、审核责任：核对 3、监管责任：抽查") == [
        {"stage": "受理", "text": "收件"},
        {"stage": "审查", "text": "核对"},
        {"stage": "事后监管", "text": "抽查"},
    ]


def test_unreadable_files_are_refused_clearly(tmp_path):
    with pytest.raises(InvalidInput, match="不支持的文件格式"):
        read_catalog(b"x", "catalog.txt")
    with pytest.raises(InvalidInput, match="YAML 格式错误"):
        read_catalog(b"catalog: [", "c.yaml")
    with pytest.raises(InvalidInput, match="无法读取 Excel"):
        read_catalog(b"not a zip", "c.xlsx")
    with pytest.raises(InvalidInput, match="无法识别 .* 的表头"):
        read_catalog("甲,乙\n1,2\n".encode(), "c.csv")
    with pytest.raises(InvalidInput, match="无法读取文件"):
        read_catalog(tmp_path / "missing.yaml")


def test_workbooks_are_parsed_through_defusedxml():
    # Uploaded workbooks are untrusted XML; openpyxl only guards against entity expansion when
    # defusedxml is importable, so its absence must fail loudly here rather than in production.
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_a_stage_text_with_line_breaks_survives_the_workbook(demo):
    duty = demo.duty_by_code()["MZ-GF-001"]
    text = "依法受理申请。\n材料不全的，一次性告知需补正的全部内容。"
    stages = [duty.stages[0].model_copy(update={"text": text}), *duty.stages[1:]]
    changed = demo.model_copy(update={"duties": [
        d.model_copy(update={"stages": stages}) if d.code == duty.code else d for d in demo.duties
    ]})
    again = read_catalog(write_catalog(changed, "xlsx"), "c.xlsx").duty_by_code()[duty.code]
    assert again.stages == stages
    assert again.stages[0].text == text


def test_a_line_before_any_stage_is_refused():
    from engine.catalog.cells import CellError, parse_stages

    assert parse_stages("受理：收件\n当场出具回执\n审查：审核") == [
        {"stage": "受理", "text": "收件\n当场出具回执"}, {"stage": "审查", "text": "审核"}]
    with pytest.raises(CellError, match="无法识别的责任事项"):
        parse_stages("当场出具回执\n受理：收件")
