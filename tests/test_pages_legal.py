"""The legal office's page: import with every validation problem shown, diff, start of publication."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.models.catalog import CatalogVersion
from engine.models.runtime import ProcessInstance, WorkTask
from tests.browser_helpers import DEMO_CATALOG, load_demo, sign_in

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


BROKEN_CATALOG = """
catalog: {region: 示例市, name: 示例市市级部门权责清单, version: "2026.9"}
departments:
  - {code: MZ, name: 市民政局}
duties:
  - {code: D-1, name: 婚姻登记, category: 行政确认, department: MZ}
  - {code: D-1, name: 重复编码的事项, category: 行政确认, department: MZ}
  - {code: D-2, name: 未知部门的事项, category: 行政许可, department: XX}
  - {code: D-3, name: 类型不对的事项, category: 行政审批, department: MZ}
  - code: D-4
    name: 承诺时限过长的事项
    category: 行政许可
    department: MZ
    statutory_limit: {value: 5, unit: working_days}
    committed_limit: {value: 10, unit: working_days}
"""


@pytest.fixture
def legal_client(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s081")  # 曹颖, 清单发布岗 of 法制办
    return client


def upload(client, name: str, content: bytes, version: str = ""):
    return client.post("/legal/import", files={"file": (name, content)}, data={"version": version})


def version_count(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(CatalogVersion))


def test_import_shows_every_validation_problem_and_imports_nothing(legal_client, database):
    page = upload(legal_client, "broken.yaml", BROKEN_CATALOG.encode())
    assert page.status_code == 422
    problems = re.findall(r"<li>([^<]+)</li>", page.text.split('id="import-problems"')[1].split("</ol>")[0])
    assert len(problems) >= 4
    joined = "\n".join(problems)
    assert "D-1" in joined  # duplicate code
    assert "XX" in joined  # unknown department
    assert "行政审批" in joined  # category outside the list
    assert "事项第 5 项 · 承诺时限" in joined  # committed limit longer than statutory, with its place in words
    assert "broken.yaml" in page.text and "未导入任何内容" in page.text
    assert version_count(database) == 1


def test_unsupported_file_type_is_explained(legal_client, database):
    page = upload(legal_client, "catalog.pdf", b"%PDF-1.4")
    assert page.status_code == 422
    assert "不支持的文件格式" in page.text
    assert version_count(database) == 1


def test_import_of_a_new_version_shows_the_diff(legal_client, database):
    changed = DEMO_CATALOG.read_text(encoding="utf-8").replace("fee: 无\n    phone: \"0000-12345\"",
                                                                "fee: 无\n    phone: \"0000-99999\"")
    response = upload(legal_client, "demo.yaml", changed.encode(), version="2026.2")
    assert response.status_code == 200
    assert "已导入草稿版本 2026.2" in response.text
    assert "变更 1 项" in response.text
    assert "0000-12345" in response.text and "0000-99999" in response.text
    assert version_count(database) == 2


# On PostgreSQL too: the publications under way and the draft, asked only here.
@pytest.mark.backends("sqlite", "postgresql")
def test_start_publication_process_for_a_draft(legal_client, database, clock):
    upload(legal_client, "demo.yaml", DEMO_CATALOG.read_bytes(), version="2026.2")
    with database.session() as session:
        draft = session.scalars(select(CatalogVersion).where(CatalogVersion.version == "2026.2")).one()
    page = legal_client.post(f"/legal/versions/{draft.id}/publication",
                             data={"reason": "new", "public_notice_days": "5", "drafter_post": "MZ-BGS-01"})
    assert page.status_code == 200
    assert "已启动清单发布流程" in page.text
    with database.session() as session:
        instance = session.scalars(select(ProcessInstance)).one()
        assert instance.process_id == "catalog_publication"
        assert instance.status == "running"
        assert instance.start_data["version_id"] == draft.id
        first = session.scalars(select(WorkTask).where(WorkTask.instance_id == instance.id)).one()
        assert first.post_code == "MZ-BGS-01"  # the drafting department's post


def test_publication_of_a_published_version_is_refused(legal_client, database):
    with database.session() as session:
        published = session.scalars(select(CatalogVersion)).one()
    page = legal_client.post(f"/legal/versions/{published.id}/publication", data={"reason": "new"},
                             headers={"referer": "http://testserver/legal"})
    assert page.status_code == 200  # back on /legal with the problem flashed
    assert "已发布的版本不可修改" in page.text


def test_staff_without_the_role_cannot_import(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s003")
    response = upload(client, "broken.yaml", BROKEN_CATALOG.encode())
    assert "只有法制办或系统管理员可以导入清单草稿" in response.text  # flashed on the page the browser is sent back to
    assert version_count(database) == 1
