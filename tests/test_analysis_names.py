"""Item names taken apart by hand: action, object, sub-item qualifiers, remarks; main item codes."""

from __future__ import annotations

import pytest

from engine.analysis.names import main_code, parse_name


@pytest.mark.parametrize(
    ("name", "category", "action", "obj", "qualifiers", "details"),
    [
        # "…许可证核发": 许可证 and 核发 are one act (许可); the object is what is licensed.
        ("建筑工程施工许可证核发", "行政许可", "许可", "建筑工程施工", (), ()),
        # In-name qualifier, trailing action; 遗失补办 is taken whole (not 补办 + 遗失).
        ("麻醉药品和第一类精神药品购用许可遗失补办", "行政许可", "许可", "麻醉药品和第一类精神药品购用", ("补办",), ()),
        # Bracketed qualifier kept, level dropped.
        ("医疗机构执业审批（校验）（县级）", "行政许可", "许可", "医疗机构执业", ("校验",), ()),
        # No action word at all: the category says 行政许可.
        ("医疗机构执业变更（承诺件）（县级）", "行政许可", "许可", "医疗机构执业", ("变更",), ()),
        # "对…的行政处罚".
        ("对未按规定报送统计资料行为的行政处罚", "行政处罚", "处罚", "未按规定报送统计资料行为", (), ()),
        # "对…进行备案": 进行 is a filler.
        ("对食品生产者自建网站交易进行备案", "其他行政权力", "备案", "食品生产者自建网站交易", (), ()),
        # A legal citation in an unclosed bracket is dropped with everything after it.
        ("生产建设项目水土保持方案审批（新办）（据省政府令第349号，部分省级权限下放成都等８市)",
         "行政许可", "许可", "生产建设项目水土保持方案", ("新办",), ()),
        ("乡镇设立广播电视站审批（根据省政府349号令，该事项办理已委托成都等8个市实施）",
         "行政许可", "许可", "乡镇广播电视站", ("新办",), ()),
        # A remark that is neither qualifier, level nor citation is a detail, outside the object.
        ("企业投资项目备案（技术改造）（市级/县级）", "其他行政权力", "备案", "企业投资项目", (), ("技术改造",)),
        # Abbreviations are written out before comparing; 受理及处理 keeps the last act.
        ("水利工程建设项目招投标活动投诉受理及处理", "其他行政权力", "处理", "水利工程建设项目招标投标活动投诉", (), ()),
        # Two stage words in one name; 开办/设立 are the new-licence stage.
        ("开办互联网上网服务营业场所", "行政许可", "许可", "互联网上网服务营业场所", ("新办",), ()),
        ("道路旅客运输经营许可（换发）", "行政许可", "许可", "道路旅客运输经营", ("换证",), ()),
        ("个体演员备案证明补证备案", "其他行政权力", "备案", "个体演员备案证明", ("补办",), ()),
        # A leading 辖区 only says "in our area", like a level.
        ("辖区学校中小学学生学籍管理服务（注册、毕业、学历认证等）", "公共服务", None, "学校中小学学生学籍管理", (),
         ("注册毕业学历认证等",)),
        # Public services without an act word: no action.
        ("居住证办理", "公共服务", None, "居住证", (), ()),
        # 核发 after a certificate of another act: 检疫证书 stays in the object.
        ("调运检疫证书签发", "行政许可", "许可", "调运检疫证书", (), ()),
    ],
)
def test_names_give_action_object_and_qualifiers(name, category, action, obj, qualifiers, details):
    parts = parse_name(name, category)
    assert (parts.action, parts.object, parts.qualifiers, parts.details) == (action, obj, qualifiers, details)


def test_full_width_and_half_width_brackets_and_book_title_marks_are_the_same():
    half = parse_name("母婴保健技术服务执业许可校验(婚前医学检查)", "行政许可")
    mixed = parse_name("母婴保健技术服务执业许可校验（婚前医学检查)", "行政许可")
    assert half == mixed
    assert half.details == ("婚前医学检查",) and half.qualifiers == ("校验",)
    assert parse_name("申领《四川省老年人优待证》", "公共服务").text == "申领四川省老年人优待证"


@pytest.mark.parametrize(
    ("code", "main"),
    [
        ("511A0045000040-511602000000-000-11511301008778271W-1-00", "511A00450"),  # 14-digit head
        ("511A16002004-511602000000-000-11511301MB1542208J-1-00", "511A16002"),  # 12-digit head
        ("512B0122100003-511602000000-000-115113010087782006-1-00", "512B01221"),
        ("51201828500003-511602000000-000-11511301008778386B-1-00", "512018285"),  # digit in the type place
        ("G-000007-001-511602000000-000-115113010833722043-1-00", "G-000007"),
        ("1J-5100-00027-511602000000-000-11511301008778386B-1-00", None),  # no main part
        ("MZ-GF-001", None),  # the demo catalog's own codes
    ],
)
def test_main_item_code(code, main):
    assert main_code(code) == main
