"""Issue 13, item 5 — the missing ways of /legal and the public catalog: one publication per draft,
a draft under review cannot be replaced, export from /legal, public downloads without personal
data, the 调整说明 numbered from 一."""

from __future__ import annotations

import io
import json
import re

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import func, select

from engine import hooks
from engine.catalog import service as catalog
from engine.catalog.diff import DutyChange, DutyRef, FieldChange, VersionDiff
from engine.catalog.io import read_catalog
from engine.errors import Conflict
from engine.models.catalog import CatalogVersion
from engine.models.runtime import ProcessDefinition, ProcessInstance
from engine.runtime.library.publication import refuse_replacing_under_review
from tests.browser_helpers import DEMO_CATALOG, load_demo, sign_in

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


START_BUTTON = "启动发布流程</button>"


@pytest.fixture
def legal_client(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s081")  # 曹颖, 清单发布岗 of 法制办
    return client


def upload(client, content: bytes, version: str, name: str = "demo.yaml"):
    return client.post("/legal/import", files={"file": (name, content)}, data={"version": version})


def draft_id(database, version: str) -> int:
    with database.session() as session:
        return session.scalars(select(CatalogVersion.id).where(CatalogVersion.version == version)).one()


def version_row(client, version_id: int) -> str:
    """The /legal table row of one version (its buttons and links)."""
    page = client.get("/legal").text
    return page.split(f'<tr data-version="{version_id}">')[1].split("</tr>")[0]


def start(client, version_id: int):
    return client.post(f"/legal/versions/{version_id}/publication",
                       data={"reason": "new", "public_notice_days": "5", "drafter_post": "MZ-BGS-01"})


def publication_count(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.process_id == "catalog_publication"))


# ---------------------------------------------------------------- one publication per draft

# On PostgreSQL too: the publications under way, asked only by the legal page.
@pytest.mark.backends("sqlite", "postgresql")
def test_the_start_button_goes_once_a_publication_runs_for_the_draft(legal_client, database):
    upload(legal_client, DEMO_CATALOG.read_bytes(), "2026.2")
    draft = draft_id(database, "2026.2")
    assert START_BUTTON in version_row(legal_client, draft)  # a fresh draft: the button is there
    assert start(legal_client, draft).status_code == 200
    with database.session() as session:
        case = session.scalars(select(ProcessInstance.id)).one()
    row = version_row(legal_client, draft)
    assert START_BUTTON not in row
    assert "发布流程办理中" in row and f"/cases/{case}" in row  # the running review, linked


def test_a_second_publication_of_the_same_draft_is_refused_with_409(legal_client, database):
    upload(legal_client, DEMO_CATALOG.read_bytes(), "2026.2")
    draft = draft_id(database, "2026.2")
    start(legal_client, draft)
    with database.session() as session:
        first = session.scalars(select(ProcessInstance.id)).one()
    # The API (the same check: the process's start script) answers 409 in Chinese naming the case.
    response = legal_client.post("/api/instances", json={
        "process_id": "catalog_publication", "data": {"version_id": draft, "drafter_post": "MZ-BGS-01"}})
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert "正在发布流程中" in detail and f"#{first}" in detail and "不能重复启动发布流程" in detail
    # The page's form (posted by hand, the button being gone) is sent back with the same message.
    page = legal_client.post(f"/legal/versions/{draft}/publication", data={"reason": "new"},
                             headers={"referer": "http://testserver/legal"})
    assert "不能重复启动发布流程" in page.text
    assert publication_count(database) == 1  # no second case was created


def test_a_finished_publication_no_longer_blocks(legal_client, database):
    """A failed case no longer reviews its draft: a new publication may start (the rule looks at
    cases running or suspended only)."""
    upload(legal_client, DEMO_CATALOG.read_bytes(), "2026.2")
    draft = draft_id(database, "2026.2")
    start(legal_client, draft)
    with database.session() as session:
        case = session.scalars(select(ProcessInstance)).one()
        case.status = "failed"
    assert START_BUTTON in version_row(legal_client, draft)
    assert "已启动清单发布流程" in start(legal_client, draft).text
    assert publication_count(database) == 2


# ---------------------------------------------------------------- a draft under review is not replaced

def test_reimporting_a_draft_under_review_is_refused_with_409(legal_client, database):
    upload(legal_client, DEMO_CATALOG.read_bytes(), "2026.2")
    draft = draft_id(database, "2026.2")
    # Before any review the same region/name/version replaces the draft (same id), as before.
    assert upload(legal_client, DEMO_CATALOG.read_bytes(), "2026.2").status_code == 200
    assert draft_id(database, "2026.2") == draft
    start(legal_client, draft)
    with database.session() as session:
        case = session.scalars(select(ProcessInstance.id)).one()
        created_before = session.get(CatalogVersion, draft).created_at
    changed = DEMO_CATALOG.read_text(encoding="utf-8").replace('phone: "0000-12345"', 'phone: "0000-99999"')
    page = upload(legal_client, changed.encode(), "2026.2")
    assert page.status_code == 409
    assert "正在发布流程中" in page.text and f"办件 #{case}" in page.text and "不能以重新导入替换" in page.text
    api = legal_client.post("/api/import", files={"file": ("demo.yaml", changed.encode())},
                            data={"version": "2026.2"})
    assert api.status_code == 409 and f"#{case}" in api.json()["detail"]
    with database.session() as session:  # the draft under review is untouched
        assert session.get(CatalogVersion, draft).created_at == created_before
        duties = catalog.load_document(session, draft).duties
        assert "0000-99999" not in {d.phone for d in duties}


# Both backends: the engine's hook, not a page.
@pytest.mark.backends("sqlite", "postgresql")
def test_the_hook_is_wired_to_the_runtime_check(client, database, clock):
    assert hooks.draft_replacing.handler is refuse_replacing_under_review
    load_demo(database, clock, publish=False)
    with database.session() as session:  # no publication runs: replacing the draft is allowed
        version = catalog.import_catalog(session, read_catalog(DEMO_CATALOG), "test", clock.now())
        assert version.status == "draft"
    with database.session() as session:
        refuse_replacing_under_review(session, version.id)  # returns: nothing reviews it
        session.add(ProcessInstance(definition_id=_any_definition(session), process_id="catalog_publication",
                                    status="suspended", start_data={"version_id": str(version.id)},
                                    state_json="{}", started_at=clock.now(), started_by="s081",
                                    updated_at=clock.now()))
        session.flush()
        # A suspended case still reviews its draft; the id given as text in the start data counts.
        with pytest.raises(Conflict, match="不能以重新导入替换"):
            catalog.import_catalog(session, read_catalog(DEMO_CATALOG), "test", clock.now())


def _any_definition(session) -> int:
    found = session.scalars(select(ProcessDefinition.id).where(ProcessDefinition.process_id == "catalog_publication")).first()
    assert found is not None, "the processes are deployed by the client fixture or deploy_all"
    return found


# ---------------------------------------------------------------- export on /legal

@pytest.mark.parametrize("fmt", ["xlsx", "yaml", "json"])
def test_legal_page_exports_a_draft_and_the_published_version(legal_client, database, fmt):
    upload(legal_client, DEMO_CATALOG.read_bytes(), "2026.2")
    draft = draft_id(database, "2026.2")
    published = draft_id(database, "2026.1")
    for version_id, version in ((draft, "2026.2"), (published, "2026.1")):
        links = re.findall(r'href="(/api/export\?[^"]+)"', version_row(legal_client, version_id))
        link = next(href.replace("&amp;", "&") for href in links if href.endswith(f"format={fmt}"))
        response = legal_client.get(link)
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        document = read_catalog(response.content, f"export.{fmt}")
        assert document.catalog.version == version
        # The legal office's export keeps who holds each post (S001 王芳 holds MZ-BGS-01).
        assert _holders(document)["MZ-BGS-01"] == [("S001", "王芳")]


def _holders(document) -> dict[str, list[tuple[str, str]]]:
    return {p.code: [(h.id, h.name) for h in p.holders]
            for d in document.departments for u in d.units for p in u.posts}


# ---------------------------------------------------------------- public downloads, no personal data

def _staff(database) -> list[tuple[str, str]]:
    with database.session() as session:
        document = catalog.load_document(session, catalog.find_version(session, "published").id)
    staff = sorted({h for holders in _holders(document).values() for h in holders})
    assert ("S001", "王芳") in staff
    return staff


@pytest.mark.parametrize("fmt", ["xlsx", "yaml", "json"])
def test_public_download_links_leave_out_staff_names_and_ids(client, database, clock, fmt):
    load_demo(database, clock)
    staff = _staff(database)
    page = client.get("/catalog/versions")  # not signed in: the public page and its links
    assert page.status_code == 200
    link = next(href.replace("&amp;", "&") for href in re.findall(r'href="(/api/public/export\?[^"]+)"', page.text)
                if href.endswith(f"format={fmt}"))
    response = client.get(link)
    assert response.status_code == 200
    document = read_catalog(response.content, f"public.{fmt}")
    # Every post is there, with nobody named on it ...
    posts = _holders(document)
    assert "MZ-BGS-01" in posts and all(holders == [] for holders in posts.values())
    # ... and no staff id or name appears anywhere in the file.
    text = _file_text(response.content, fmt)
    leaked = [f"{sid} {name}" for sid, name in staff if sid in text or name in text]
    assert leaked == []
    # The duties themselves are all published (the demo's 2026.1, same count as the signed-in export).
    with database.session() as session:
        assert len(document.duties) == len(catalog.load_document(session, catalog.find_version(session, "published").id).duties)


# Both backends: the API's exports, not a page.
@pytest.mark.backends("sqlite", "postgresql")
def test_signed_in_export_keeps_the_holders_the_public_one_drops_them(client, database, clock):
    load_demo(database, clock)
    public = read_catalog(client.get("/api/public/export?format=yaml").content, "p.yaml")
    sign_in(client, "s081")
    internal = read_catalog(client.get("/api/export?version=published&format=yaml").content, "i.yaml")
    assert _holders(internal)["MZ-BGS-01"] == [("S001", "王芳")]
    assert _holders(public)["MZ-BGS-01"] == []
    assert set(_holders(internal)) == set(_holders(public))  # the same posts, only their holders differ


def _file_text(content: bytes, fmt: str) -> str:
    if fmt != "xlsx":
        text = content.decode("utf-8")
        # The parsed form too: JSON escapes non-ASCII names (\uXXXX) in some writers.
        return text + json.dumps(yaml.safe_load(text) if fmt == "yaml" else json.loads(text), ensure_ascii=False, default=str)
    book = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                     for cell in row if cell is not None)


# ---------------------------------------------------------------- 调整说明 numbered from 一

def test_diff_numbering_starts_at_one_whatever_parts_are_empty():
    """The parts are 新增, 取消, 变更 in that order; only those with entries are shown and numbered,
    so: only changes → 一、变更事项; removals and changes → 一、取消事项, 二、变更事项; all three →
    一 二 三 as before."""
    ref = DutyRef(code="D-1", name="事项一", department="MZ")
    change = DutyChange(code="D-2", name="事项二", changes=[FieldChange("phone", "咨询电话", "1", "2")])
    side = {"id": 1, "version": "v", "status": "published"}
    only_changed = VersionDiff(old=side, new=side, changed=[change])
    assert only_changed.headings() == {"changed": "一、变更事项"}
    assert "一、变更事项" in only_changed.text() and "三、" not in only_changed.text()
    removed_and_changed = VersionDiff(old=side, new=side, removed=[ref], changed=[change])
    assert removed_and_changed.headings() == {"removed": "一、取消事项", "changed": "二、变更事项"}
    everything = VersionDiff(old=side, new=side, added=[ref], removed=[ref], changed=[change])
    assert list(everything.headings().values()) == ["一、新增事项", "二、取消事项", "三、变更事项"]
    assert VersionDiff(old=side, new=side).headings() == {}


def test_diff_page_with_only_changes_numbers_them_one(legal_client, database):
    changed = DEMO_CATALOG.read_text(encoding="utf-8").replace('phone: "0000-12345"', 'phone: "0000-99999"')
    page = upload(legal_client, changed.encode(), "2026.2")
    assert "变更 1 项" in page.text
    headings = re.findall(r"<h3>([一二三]、[^<]+)</h3>", page.text.split('id="diff-result"')[1])
    assert headings == ["一、变更事项"]


# ---------------------------------------------------------------- the README's curl example

# Both backends: the API, not a page.
@pytest.mark.backends("sqlite", "postgresql")
def test_readme_example_takes_the_ids_from_the_answers(client, database, clock):
    """README (限时办结): the case and its 受理 task are read from the start's answer (`id`,
    `current_tasks[0].id`), not assumed to be 1 — here another case is started first."""
    load_demo(database, clock)
    sign_in(client, "s003")
    body = {"process_id": "time_limited_case", "data": {"duty_code": "MZ-GF-001", "applicant": "张三"}}
    first = client.post("/api/instances", json=body).json()
    case = client.post("/api/instances", json=body).json()
    assert case["id"] != 1 or first["id"] != 1
    task_id = case["current_tasks"][0]["id"]
    assert case["current_tasks"][0]["post_code"] == "MZ-SHJZ-01"
    done = client.post(f"/api/tasks/{task_id}/complete", json={"data": {"decision": "accept"}})
    assert done.status_code == 200, done.text
    assert client.get(f"/api/instances/{case['id']}/clock").status_code == 200
