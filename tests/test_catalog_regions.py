"""Regions: a version belongs to the region its table or file names (or --region); department codes
come from the table's own 部门标识; same-name items of one department are warned about, not
refused; versions of two regions are never compared (CLI, API, public API, /legal)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import catalog as _commands  # noqa: F401  (registers the commands)
from api.cli.app import app as cli_app
from engine.catalog import service
from engine.catalog.io import read_catalog
from engine.errors import InvalidInput, NotFound
from tests.auth_helpers import bearer_headers
from tests.browser_helpers import load_demo, sign_in

HEADER = "部门名称,事项名称,事项编码,事项类型,部门标识"


def _csv(tmp_path, name: str, lines: list[str]) -> bytes:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- where the region comes from


def test_region_comes_from_the_region_name_column_before_the_code(tmp_path):
    path = _csv(tmp_path, "table.csv", [
        HEADER + ",区划代码,区划名称",
        "区民政局,婚姻登记,C-1,行政确认,MZ01,511602000000,广安区",
        "区民政局,收养登记,C-2,行政确认,MZ01,511602000000,广安区",
    ])
    assert read_catalog(path).catalog.region == "广安区"


def test_region_code_column_alone_and_no_column_at_all(tmp_path, research_csv_path):
    # tests/data carries only 区划代码 (511602000000 on every row, see its SOURCE.md).
    assert read_catalog(research_csv_path).catalog.region == "511602000000"
    bare = _csv(tmp_path, "武胜县清单.csv", [HEADER, "县民政局,婚姻登记,C-1,行政确认,MZ01"])
    assert read_catalog(bare).catalog.region == "武胜县清单"
    # --region / the form's 区划 wins over the column.
    assert read_catalog(research_csv_path, overrides={"region": "广安区"}).catalog.region == "广安区"


# ---------------------------------------------------------------- 部门标识


def test_department_codes_come_from_the_tables_own_identifiers(research_csv_path):
    document = read_catalog(research_csv_path)
    codes = {d.name: d.code for d in document.departments}
    # Read off the CSV by hand: line 2 (区经信局), line 3 (区教科体局); 区人社局 appears first on line
    # 141 as …239R_5143 (later rows also say …239R and …239R_6918); 区交通运输局 first on line 53.
    assert codes["区经信局"] == "11511301008778183N"
    assert codes["区教科体局"] == "083372204"
    assert codes["区人社局"] == "1151130108778239R_5143"
    assert codes["区交通运输局"] == "11511301008778386B"
    assert len(codes) == 34 and not any(code.startswith("D") and len(code) == 9 for code in codes.values())
    rs = codes["区人社局"]
    assert {d.department for d in document.duties if d.code.startswith("512B0359600026-")} == {rs}


def test_an_identifier_taken_by_another_department_is_not_reused(tmp_path):
    path = _csv(tmp_path, "table.csv", [
        HEADER,
        "区民政局,婚姻登记,C-1,行政确认,X1",
        "区卫健局,医师执业注册,C-2,行政许可,X1",  # the same identifier, another department: a slip
        "区卫健局,护士执业注册,C-3,行政许可,",
    ])
    codes = {d.name: d.code for d in read_catalog(path).departments}
    assert codes["区民政局"] == "X1"
    assert codes["区卫健局"].startswith("D") and len(codes["区卫健局"]) == 9


# ---------------------------------------------------------------- same-name warnings


def test_same_name_items_in_one_department_are_warned_about_naming_both(research_csv_path):
    document = read_catalog(research_csv_path)
    warnings = service.same_name_warnings(document)
    # By hand: CSV lines 148/162 (items 147/161) are both 区人社局 求职创业补贴申领, lines 253/254
    # (items 252/253) both 区行政审批局 城市建筑物、设施上张挂、张贴宣传品审批. No other pair repeats.
    assert len(warnings) == 2
    assert warnings[0].startswith("区人社局：第147项（512B0159000000-") and "第161项（512014025002-" in warnings[0]
    assert "「求职创业补贴申领」" in warnings[0]
    assert warnings[1].startswith("区行政审批局：第252项（511A17033003-") and "第253项（511A0188100004-" in warnings[1]


def test_same_name_in_two_departments_is_no_warning(tmp_path):
    path = _csv(tmp_path, "table.csv", [HEADER, "区民政局,婚姻登记,C-1,行政确认,A", "区司法局,婚姻登记,C-2,行政确认,B"])
    assert service.same_name_warnings(read_catalog(path)) == []


@pytest.fixture
def legal(database, clock, settings):
    return bearer_headers(database, clock, settings, "fzb", ["legal_office"])


def test_import_result_and_cli_carry_the_warnings(client, legal, research_csv_path, database, monkeypatch):
    response = client.post("/api/import", headers=legal, data={"region": "广安区"},
                           files={"file": (research_csv_path.name, research_csv_path.read_bytes())})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"]["region"] == "广安区" and body["counts"]["duties"] == 311  # imported all the same
    assert len(body["warnings"]) == 2 and "求职创业补贴申领" in body["warnings"][0]
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    result = CliRunner().invoke(cli_app, ["import", str(research_csv_path), "--region", "广安区", "--version", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("提醒") == 2 and "第147项" in result.output and "第161项" in result.output


# ---------------------------------------------------------------- versions per region


@pytest.fixture
def two_regions(database, clock, research_csv_path) -> tuple[int, int]:
    """The demo (示例市, published) and the 广安区 table (published, version 2025.1)."""
    demo = load_demo(database, clock)
    with database.session() as session:
        document = read_catalog(research_csv_path, overrides={"region": "广安区", "version": "2025.1"})
        other = service.import_catalog(session, document, "test", clock.now())
        service.publish_version(session, other.id, "test", clock.advance(minutes=1))
        return demo, other.id


def test_find_version_within_a_region(database, two_regions):
    demo, other = two_regions
    with database.session() as session:
        assert service.find_version(session, "published", "示例市").id == demo
        assert service.find_version(session, "published").id == other  # newest of all regions
        assert service.find_version(session, "2025.1", "广安区").id == other
        with pytest.raises(NotFound, match="找不到示例市 的清单版本"):
            service.find_version(session, "2025.1", "示例市")
        assert [v.id for v in service.in_force_versions(session)] == [demo, other]


def test_service_refuses_to_compare_two_regions(database, two_regions):
    demo, other = two_regions
    with database.session() as session, pytest.raises(InvalidInput) as refused:
        service.diff_versions(session, demo, other)
    assert refused.value.message == "不能比较两个区划的清单版本"
    assert "示例市" in refused.value.problems[0] and "广安区" in refused.value.problems[0]


def test_api_and_public_api_answer_422_naming_both_regions(client, legal, two_regions):
    demo, other = two_regions
    for url, headers in (("/api/versions/diff", legal), ("/api/public/versions/diff", {})):
        response = client.get(url, params={"from": str(demo), "to": str(other)}, headers=headers)
        assert response.status_code == 422, response.text
        text = str(response.json())
        assert "不能比较两个区划的清单版本" in text and "示例市" in text and "广安区" in text
    listed = client.get("/api/public/versions", params={"region": "广安区"}).json()
    assert [v["id"] for v in listed] == [other]


def test_cli_diff_of_two_regions_fails(database, two_regions, monkeypatch):
    demo, other = two_regions
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    result = CliRunner().invoke(cli_app, ["diff", str(demo), str(other)])
    assert result.exit_code != 0
    assert "不能比较两个区划的清单版本" in result.output and "示例市" in result.output and "广安区" in result.output


def test_legal_page_compares_a_draft_with_its_own_regions_version(client, database, clock, research_csv_path):
    demo = load_demo(database, clock)
    sign_in(client, "s081")  # 法制办 清单发布岗
    page = client.post("/legal/import", data={"region": "广安区", "version": "2025.1"},
                       files={"file": (research_csv_path.name, research_csv_path.read_bytes())})
    assert page.status_code == 200, page.text
    # Not "311 added, 17 cancelled" against 示例市: 广安区 has no version in force yet.
    assert "广安区 尚无已发布版本" in page.text and "新增 311" not in page.text
    assert 'id="same-name"' in page.text and "求职创业补贴申领" in page.text
    with database.session() as session:
        draft = service.find_version(session, "2025.1", "广安区").id
    refused = client.get("/legal", params={"diff": draft, "base": demo})
    assert refused.status_code == 422
    assert "不能比较两个区划的清单版本" in refused.text and "示例市" in refused.text and "广安区" in refused.text
