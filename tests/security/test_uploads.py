"""Issue 10, finding 4: uploads are bounded and never hold up the server.

Each test fails if the attack works: an over-size body is read, a zip bomb or a huge declared
sheet reaches openpyxl's cell loop, a CSV of too many rows is parsed whole, or a big import keeps
other requests (anonymous /catalog included) waiting.
"""

from __future__ import annotations

import re
import threading
import zipfile
from io import BytesIO

import pytest
from openpyxl import Workbook

import engine.catalog.excel as excel
import engine.catalog.io as catalog_io
from engine.catalog import service
from engine.catalog.limits import MAX_COLUMNS, MAX_ROWS, MAX_TITLE_ROWS, MAX_UPLOAD_BYTES, MB
from engine.errors import InvalidInput
from tests.auth_helpers import bearer_headers
from tests.browser_helpers import DEMO_CATALOG, load_demo, sign_in

# One process runs the module (pytest-xdist): the zip bomb (870 MB deflated, ~10 s) is built once.
pytestmark = pytest.mark.xdist_group("uploads")

SHEET = "xl/worksheets/sheet1.xml"
MAX_SHEET_ROWS = MAX_ROWS + MAX_TITLE_ROWS  # 200,020: a catalog's rows plus title rows


@pytest.fixture
def legal(database, clock, settings) -> dict[str, str]:
    return bearer_headers(database, clock, settings, "fzb", ["legal_office"])


def _import(client, headers, content, filename: str):
    return client.post("/api/import", headers=headers, files={"file": (filename, content)})


def _table_workbook() -> bytes:
    """A small real published table (what a department uploads): header and two duties."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "权责清单"
    sheet.append(["事项名称", "实施主体", "事项类型"])
    sheet.append(["婚姻登记", "市民政局", "行政确认"])
    sheet.append(["最低生活保障审批", "市民政局", "行政给付"])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _replace_member(xlsx: bytes, name: str, write) -> bytes:
    """The workbook with member `name` rewritten by `write(file)`, every other member copied."""
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename == name:
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with target.open(info, "w", force_zip64=True) as member:
                    write(member)
            else:
                target.writestr(item, source.read(item.filename), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """An xlsx whose sheet inflates from under 1 MB to 870 MB of XML (deflate's ~1,000:1)."""

    def write(member):
        member.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        block = b" " * MB
        for _ in range(870):
            member.write(block)
        member.write(b"</sheetData></worksheet>")

    return _replace_member(_table_workbook(), SHEET, write)


@pytest.fixture(scope="module")
def huge_dimension() -> bytes:
    """A 5 KB xlsx whose sheet declares all of Excel's 16,384 × 1,048,576 cells."""
    xlsx = _table_workbook()
    with zipfile.ZipFile(BytesIO(xlsx)) as archive:
        xml = archive.read(SHEET)
    declared = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', xml)
    assert declared != xml
    return _replace_member(xlsx, SHEET, lambda member: member.write(declared))


@pytest.fixture
def openpyxl_must_not_open(monkeypatch):
    """Fails the test if the workbook reaches openpyxl: the refusal must come from the zip's directory."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("openpyxl was asked to open a zip bomb")

    monkeypatch.setattr(excel, "load_workbook", refuse)


# ---------------------------------------------------------------- request size


def test_an_upload_over_the_size_limit_is_refused_with_413_naming_the_limit(client, legal):
    assert MAX_UPLOAD_BYTES == 100 * MB
    body = b"a" * (MAX_UPLOAD_BYTES + 1)
    response = _import(client, legal, body, "big.csv")
    assert response.status_code == 413
    assert response.json()["detail"] == "上传内容过大：清单文件不能超过 100 MB"


def test_an_upload_without_content_length_is_cut_off_at_the_limit(client, legal):
    """A chunked body (no Content-Length) is counted as it arrives and refused past the limit."""
    chunk = b"a" * MB
    boundary = "dutyflowboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()

    def body():
        yield head
        for _ in range(101):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {**legal, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post("/api/import", headers=headers, content=body())
    assert response.status_code == 413
    assert "100 MB" in response.json()["detail"]


def test_the_legal_page_refuses_an_over_size_upload_with_the_limit_named(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s081")  # 法制办 清单发布岗
    body = b"a" * (MAX_UPLOAD_BYTES + 1)
    response = client.post("/legal/import", files={"file": ("big.yaml", body)}, data={"version": ""},
                           headers={"Referer": "http://testserver/legal"}, follow_redirects=False)
    assert response.status_code == 413
    assert "上传内容过大：清单文件不能超过 100 MB" in response.text
    with database.session() as session:
        assert len(service.list_versions(session)) == 1  # only the demo's version: nothing imported


def test_the_cli_import_refuses_a_file_over_the_limit_before_reading_it(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: no 100 MB written

    def never(*_args):
        raise AssertionError("the file was read")

    monkeypatch.setattr(type(big), "read_bytes", never)
    with pytest.raises(InvalidInput) as refused:
        catalog_io.read_catalog(big)
    assert refused.value.problems == ["big.yaml: 100 MB，超过 100 MB 上限"]


# ---------------------------------------------------------------- xlsx


def test_a_zip_bomb_xlsx_is_refused_from_its_directory(client, legal, zip_bomb, openpyxl_must_not_open):
    assert len(zip_bomb) < 1 * MB
    response = _import(client, legal, zip_bomb, "bomb.xlsx")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Excel 文件 bomb.xlsx 解压后过大（疑似压缩炸弹）"
    assert SHEET in body["problems"][0] and "超过 200:1 上限" in body["problems"][0]


def test_members_under_the_ratio_are_still_held_to_the_unpacked_total():
    """Three parts of 200 MB packed 100:1 (under the 200:1 ratio) unpack to 600 MB: refused."""
    members = []
    for index in range(3):
        info = zipfile.ZipInfo(f"xl/part{index}.xml")
        info.file_size, info.compress_size = 200 * MB, 2 * MB  # as the zip's directory declares them
        members.append(info)
    with pytest.raises(InvalidInput) as refused:
        excel.check_archive_members(members, "parts.xlsx")
    assert refused.value.problems == ["parts.xlsx: 解压后共 600 MB，超过 512 MB 上限"]


def test_an_xlsx_declaring_a_huge_dimension_is_refused(client, legal, huge_dimension):
    assert len(huge_dimension) < 10_000
    response = _import(client, legal, huge_dimension, "dimension.xlsx")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "工作表「权责清单」声明的范围过大"
    assert body["problems"] == [f"权责清单: 声明的范围为 1048576 行 × 16384 列，超过上限（最多 {MAX_SHEET_ROWS} 行、"
                                f"{MAX_COLUMNS} 列）；若因整行整列设置了格式，请删除多余的空白行列后另存"]


def test_an_xlsx_with_rows_past_the_limit_and_no_dimension_is_refused():
    """Without a <dimension>, a row numbered 1,048,576 would make openpyxl yield a million rows."""
    xlsx = _table_workbook()
    with zipfile.ZipFile(BytesIO(xlsx)) as archive:
        xml = archive.read(SHEET)
    xml = re.sub(rb'<dimension ref="[^"]*"/>', b"", xml)
    xml = xml.replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
                                       b"</sheetData>")
    far = _replace_member(xlsx, SHEET, lambda member: member.write(xml))
    with pytest.raises(InvalidInput) as refused:
        catalog_io.read_catalog(far, "far.xlsx")
    assert refused.value.message == "工作表「权责清单」行数过多"


def test_a_real_table_workbook_still_imports(client, legal):
    response = _import(client, legal, _table_workbook(), "示例市权责清单2026.xlsx")
    assert response.status_code == 201, response.text
    assert response.json()["counts"]["duties"] == 2


# ---------------------------------------------------------------- csv and documents


def test_a_csv_with_too_many_rows_is_refused(client, legal):
    rows = ["事项名称,实施主体,事项类型"] + [f"事项{n},市民政局,行政确认" for n in range(MAX_SHEET_ROWS)]
    response = _import(client, legal, "\n".join(rows).encode(), "rows.csv")
    assert response.status_code == 422
    assert response.json()["problems"] == [f"CSV: 超过 {MAX_SHEET_ROWS} 行上限（清单最多 {MAX_ROWS} 项，另可有 20 行标题）"]


def test_a_csv_with_too_many_columns_or_an_over_long_field_is_a_422(client, legal):
    wide = _import(client, legal, ("事项名称," * (MAX_COLUMNS + 1)).encode(), "wide.csv")
    assert wide.status_code == 422 and wide.json()["problems"] == ["CSV 第1行: 202 列，超过 200 列上限"]
    long_field = _import(client, legal, b"a" * 200_000, "long.csv")
    assert long_field.status_code == 422 and long_field.json()["detail"] == "无法读取 long.csv"


def test_a_document_with_too_many_duties_is_refused_before_validation(client, legal):
    duties = ",".join('{"code":"D","name":"x","category":"行政确认","department":"MZ"}' for _ in range(MAX_ROWS + 1))
    content = ('{"catalog":{"region":"r","name":"n","version":"1"},"departments":[],"duties":[' + duties + "]}")
    response = _import(client, legal, content.encode(), "many.json")
    assert response.status_code == 422
    assert response.json()["problems"] == [f"duties: {MAX_ROWS + 1} 项，超过 {MAX_ROWS} 项上限"]


# ---------------------------------------------------------------- parsing holds nobody up


def test_other_requests_are_answered_while_an_import_is_parsed(client, legal, monkeypatch):
    """A parse that is in progress (held on an Event) must leave the event loop and the database
    free: anonymous /catalog and a signed-in API read answer meanwhile, then the import finishes."""
    parsing, release = threading.Event(), threading.Event()
    real_read_raw = catalog_io.read_raw

    def slow_read_raw(*args, **kwargs):
        parsing.set()
        assert release.wait(30), "the test never released the parse"
        return real_read_raw(*args, **kwargs)

    monkeypatch.setattr(catalog_io, "read_raw", slow_read_raw)
    results: dict[str, int] = {}

    def run(key, call):
        results[key] = call().status_code

    upload = threading.Thread(target=run, args=("import", lambda: _import(
        client, legal, DEMO_CATALOG.read_bytes(), "demo-catalog.yaml")))
    upload.start()
    try:
        assert parsing.wait(30), "the import never started parsing"
        readers = [
            threading.Thread(target=run, args=("catalog", lambda: client.get("/catalog"))),
            threading.Thread(target=run, args=("versions", lambda: client.get("/api/versions", headers=legal))),
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(20)
        # Answered while the parse is still held: neither the loop nor the write lock was taken.
        assert upload.is_alive()
        assert results.get("catalog") == 200 and results.get("versions") == 200
    finally:
        release.set()
        upload.join(60)
    assert results["import"] == 201
