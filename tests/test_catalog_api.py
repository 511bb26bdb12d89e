"""Catalog API: search, public view of published versions only, import with errors, export, publish, diff."""

from __future__ import annotations

from io import BytesIO
from urllib.parse import unquote

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import event

from engine.catalog import service
from engine.catalog.document import without_personal_data
from engine.catalog.io import read_catalog
from tests.auth_helpers import bearer_headers


def _headers(database, clock, settings, username: str, roles: list[str]) -> dict[str, str]:
    return bearer_headers(database, clock, settings, username, roles)


@pytest.fixture
def legal(database, clock, settings):
    return _headers(database, clock, settings, "fzb", ["legal_office"])


@pytest.fixture
def staff(database, clock, settings):
    return _headers(database, clock, settings, "chen", ["staff"])


@pytest.fixture
def demo_bytes(demo_catalog_path) -> bytes:
    return demo_catalog_path.read_bytes()


def _import(client, headers, content: bytes, filename: str = "demo-catalog.yaml", **form):
    return client.post("/api/import", headers=headers, files={"file": (filename, content)}, data=form)


def test_import_publish_and_search(client, legal, staff, demo_bytes):
    response = _import(client, legal, demo_bytes)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"]["status"] == "draft" and body["version"]["created_by"] == "fzb"
    assert body["counts"] == {"departments": 11, "units": 14, "posts": 26, "staff": 26, "duties": 18}
    version_id = body["version"]["id"]

    found = client.get("/api/duties", params={"q": "婚姻"}, headers=staff).json()
    assert [d["code"] for d in found["items"]] == ["MZ-QR-001"] and found["version"]["id"] == version_id
    by_object = client.get("/api/duties", params={"object": "矿山", "category": "行政检查"}, headers=staff).json()
    assert {d["code"] for d in by_object["items"]} == {"MT-JC-001", "MT-JC-002", "AJ-JC-001"}
    detail = client.get("/api/duties/MZ-GF-001", headers=staff).json()
    assert detail["department_name"] == "市民政局"
    assert detail["duty"]["statutory_limit"] == {"value": 20, "unit": "working_days"}

    assert client.post(f"/api/versions/{version_id}/publish", headers=staff).status_code == 403
    published = client.post(f"/api/versions/{version_id}/publish", headers=legal)
    assert published.status_code == 200 and published.json()["published_by"] == "fzb"
    again = client.post(f"/api/versions/{version_id}/publish", headers=legal)
    assert again.status_code == 409 and again.json()["problems"]
    frozen = _import(client, legal, demo_bytes)
    assert frozen.status_code == 409 and "已发布的版本不可修改" in frozen.json()["detail"]


def test_writes_need_the_legal_office(client, staff, demo_bytes):
    assert client.post("/api/import", files={"file": ("c.yaml", demo_bytes)}).status_code == 401
    assert _import(client, staff, demo_bytes).status_code == 403
    assert client.get("/api/duties").status_code == 401


def test_import_with_errors_is_422_with_every_problem_and_stores_nothing(client, legal, database, demo_catalog_path):
    data = yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8"))
    data["duties"][0]["department"] = "XX"
    data["duties"][1]["category"] = "行政指导"
    data["duties"][2]["code"] = data["duties"][3]["code"]
    response = _import(client, legal, yaml.safe_dump(data, allow_unicode=True).encode())
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "清单校验未通过，共 3 处问题"
    assert "duties[0].department: 未知部门 'XX'" in body["problems"]
    with database.session() as session:
        assert service.list_versions(session) == []


def test_public_view_serves_only_published_versions(client, legal, database, clock, demo_catalog_path):
    document = read_catalog(demo_catalog_path)
    with database.session() as session:
        draft = service.import_catalog(session, document, "fzb", clock.now())
    assert client.get("/api/public/duties").status_code == 404
    assert client.get("/api/public/versions").json() == []
    assert client.get("/api/public/duties", params={"version": str(draft.id)}).status_code == 404
    with database.session() as session:
        service.publish_version(session, draft.id, "fzb", clock.now())
        newer = document.model_copy(deep=True)
        newer.catalog.version = "2026.2"
        newer.duties[0].name = "婚姻登记（新）"
        second = service.import_catalog(session, newer, "fzb", clock.now())

    page = client.get("/api/public/duties", params={"q": "婚姻登记"}).json()
    assert page["version"]["version"] == "2026.1" and page["items"][0]["name"] == "内地居民婚姻登记"
    assert client.get("/api/public/duties/MZ-QR-001", params={"version": "2026.2"}).status_code == 404
    assert [v["version"] for v in client.get("/api/public/versions").json()] == ["2026.1"]
    assert client.get("/api/public/export", params={"version": str(second.id)}).status_code == 404
    # the internal view shows the newest draft only when asked for it
    assert client.get("/api/duties/MZ-QR-001", params={"version": "latest"}, headers=legal).json()["duty"]["name"] == "婚姻登记（新）"


def test_diff_between_versions(client, legal, database, clock, demo_catalog_path):
    document = read_catalog(demo_catalog_path)
    newer = document.model_copy(deep=True)
    newer.catalog.version = "2026.2"
    newer.duties = [d for d in newer.duties if d.code != "GGZY-FW-001"]
    newer.duties[1].committed_limit.value = 10
    newer.duties[1].basis.append("《最低生活保障审核确认办法》")
    with database.session() as session:
        old = service.import_catalog(session, document, "fzb", clock.now())
        service.publish_version(session, old.id, "fzb", clock.now())
        new = service.import_catalog(session, newer, "fzb", clock.now())
        service.publish_version(session, new.id, "fzb", clock.now())
    body = client.get("/api/versions/diff", params={"from": "2026.1", "to": "2026.2"}, headers=legal).json()
    assert body["added"] == []
    assert [d["code"] for d in body["removed"]] == ["GGZY-FW-001"]
    [changed] = body["changed"]
    assert changed["code"] == "MZ-GF-001"
    fields = {c["field"]: c for c in changed["changes"]}
    assert set(fields) == {"basis", "committed_limit"}
    assert fields["committed_limit"]["old"] == {"value": 15, "unit": "working_days"}
    assert fields["committed_limit"]["new"] == {"value": 10, "unit": "working_days"}
    assert "承诺时限：15个工作日 → 10个工作日" in body["text"]
    public = client.get("/api/public/versions/diff", params={"from": str(old.id), "to": str(new.id)})
    assert public.status_code == 200 and public.json()["summary"] == "新增 0 项，取消 1 项，变更 1 项"


@pytest.mark.parametrize(
    ("fmt", "media"),
    [
        ("yaml", "application/yaml"),
        ("json", "application/json"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ],
)
def test_export_downloads_with_chinese_safe_filename(client, database, clock, demo_catalog_path, fmt, media):
    document = read_catalog(demo_catalog_path)
    with database.session() as session:
        version = service.import_catalog(session, document, "fzb", clock.now())
        service.publish_version(session, version.id, "fzb", clock.now())
    response = client.get("/api/public/export", params={"format": fmt})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    disposition.encode("latin-1")  # headers must stay ASCII-safe
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"示例市市级部门权责清单-2026.1.{fmt}"
    if fmt == "xlsx":
        assert "权责事项" in load_workbook(BytesIO(response.content)).sheetnames
    else:
        # The public file leaves out personal data (who holds each post); the rest round-trips.
        assert read_catalog(response.content, f"c.{fmt}") == without_personal_data(document)


def test_organisation_views(client, legal, demo_bytes):
    _import(client, legal, demo_bytes)
    departments = client.get("/api/departments", headers=legal).json()
    assert [d["code"] for d in departments][:3] == ["MZ", "RS", "MT"]
    mz = client.get("/api/departments/MZ", headers=legal).json()
    assert mz["units"][1]["posts"][0]["holders"] == [{"id": "S003", "name": "陈静"}, {"id": "S004", "name": "杨帆"}]
    post = client.get("/api/posts/MT-AQ-02", headers=legal).json()
    assert (post["unit"], post["department"], post["backup"]) == ("MT-AQ", "MT", "MT-AQ-01")
    assert {d["code"]: d["role"] for d in post["duties"]} == {"MT-JC-001": "B", "MT-JC-002": "A"}
    assert client.get("/api/posts", params={"department": "MZ"}, headers=legal).json()["total"] == 7
    person = client.get("/api/staff/S080", headers=legal).json()
    assert person == {"staff_id": "S080", "name": "邓华", "posts": ["FZ-FG-01"], "roles": ["legal_office"]}
    assert client.get("/api/staff/S999", headers=legal).status_code == 404
    assert client.get("/api/departments/NOPE", headers=legal).status_code == 404
    versions = client.get("/api/versions", headers=legal).json()
    detail = client.get(f"/api/versions/{versions[0]['id']}", headers=legal).json()
    assert detail["counts"]["duties"] == 18


def test_csv_upload_with_overrides(client, legal, research_csv_path):
    response = _import(client, legal, research_csv_path.read_bytes(), research_csv_path.name,
                       region="广安区", version="2025.1")
    assert response.status_code == 201, response.text
    assert response.json()["version"]["region"] == "广安区"
    assert response.json()["counts"]["duties"] == 311


def test_demo_mode_imports_and_publishes_the_demo_catalog(database, clock, settings):
    from fastapi.testclient import TestClient

    from api.main import create_app

    demo_settings = settings.model_copy(update={"demo": True})
    with TestClient(create_app(settings=demo_settings, database=database, clock=clock, migrate=False)) as client:
        page = client.get("/api/public/duties", params={"q": "婚姻"}).json()
        assert page["version"]["published_by"] == "system" and page["total"] == 1
    with TestClient(create_app(settings=demo_settings, database=database, clock=clock, migrate=False)):
        pass  # a second start finds the catalog and imports nothing
    with database.session() as session:
        assert len(service.list_versions(session)) == 1


def test_post_list_pages_in_catalog_order_with_a_fixed_number_of_statements(client, legal, demo_bytes, database):
    """The demo's 民政局 (examples/demo-catalog.yaml) has 7 posts in this order: 办公室 MZ-BGS-01,
    MZ-BGS-02; 社会救助科 MZ-SHJZ-01 (陈静, 杨帆), MZ-SHJZ-02; 婚姻登记科 MZ-HYDJ-01, MZ-HYDJ-02;
    养老服务科 MZ-YLFW-01 (vacant). A page is a slice of that order; a province's list is read a
    page at a time, never post by post."""
    _import(client, legal, demo_bytes)
    first = client.get("/api/posts", params={"department": "MZ", "limit": 3}, headers=legal).json()
    assert (first["total"], first["limit"], first["offset"]) == (7, 3, 0)
    assert [p["code"] for p in first["items"]] == ["MZ-BGS-01", "MZ-BGS-02", "MZ-SHJZ-01"]
    assert first["items"][2]["holders"] == [{"id": "S003", "name": "陈静"}, {"id": "S004", "name": "杨帆"}]
    assert (first["items"][0]["head"], first["items"][0]["backup"]) == (True, "MZ-BGS-02")
    last = client.get("/api/posts", params={"department": "MZ", "limit": 3, "offset": 6}, headers=legal).json()
    assert [(p["code"], p["unit"], p["holders"]) for p in last["items"]] == [("MZ-YLFW-01", "MZ-YLFW", [])]
    unit = client.get("/api/posts", params={"unit": "MZ-HYDJ"}, headers=legal).json()
    assert [p["code"] for p in unit["items"]] == ["MZ-HYDJ-01", "MZ-HYDJ-02"]

    statements: list[str] = []

    def record(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        everything = client.get("/api/posts", params={"limit": 500}, headers=legal).json()
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    listing = [s for s in statements if "catalog_post" in s or "catalog_duty_post" in s]
    assert everything["total"] == len(everything["items"]) > 7
    # count, page, holders, duties: four statements on the post tables for every post of the catalog
    assert len(listing) <= 4, listing
    assert client.get("/api/posts", params={"limit": 501}, headers=legal).status_code == 422
