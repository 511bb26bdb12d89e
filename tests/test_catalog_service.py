"""Catalog service: import as draft, load back, versions, publication, look-ups for the runtime."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.catalog import service
from engine.catalog.io import read_catalog
from engine.errors import Conflict, NotFound
from engine.models.catalog import CatalogDuty, CatalogVersion


@pytest.fixture
def demo(demo_catalog_path):
    return read_catalog(demo_catalog_path)


@pytest.fixture
def imported(database, clock, demo):
    with database.session() as session:
        version = service.import_catalog(session, demo, "法制办", clock.now(), source="demo-catalog.yaml")
    return version


def test_import_stores_the_whole_document_as_a_draft(database, imported, demo, clock):
    with database.session() as session:
        version = service.get_version(session, imported.id)
        assert version.status == "draft"
        assert (version.region, version.version, version.created_by) == ("示例市", "2026.1", "法制办")
        assert version.created_at == clock.now()
        assert service.load_document(session, imported.id) == demo


def test_reimporting_a_draft_replaces_it(database, imported, demo, clock):
    changed = demo.model_copy(deep=True)
    changed.duties = changed.duties[:3]
    with database.session() as session:
        again = service.import_catalog(session, changed, "法制办", clock.now())
    assert again.id == imported.id
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(CatalogVersion)) == 1
        assert session.scalar(select(func.count()).select_from(CatalogDuty)) == 3


def test_publish_freezes_the_version(database, imported, demo, clock):
    with database.session() as session:
        published = service.publish_version(session, imported.id, "曹颖", clock.now())
        assert (published.status, published.published_by, published.published_at) == ("published", "曹颖", clock.now())
    with database.session() as session, pytest.raises(Conflict, match="已发布的版本不可修改"):
        service.import_catalog(session, demo, "法制办", clock.now())
    with database.session() as session, pytest.raises(Conflict):
        service.publish_version(session, imported.id, "曹颖", clock.now())
    with database.session() as session:
        assert service.load_document(session, imported.id) == demo


def test_find_version_by_reference(database, imported, demo, clock):
    newer = demo.model_copy(deep=True)
    newer.catalog.version = "2026.2"
    with database.session() as session:
        draft = service.import_catalog(session, newer, None, clock.now())
    with database.session() as session:
        assert service.find_version(session, "current").id == draft.id  # nothing published yet
        with pytest.raises(NotFound):
            service.find_version(session, "published")
        service.publish_version(session, imported.id, "admin", clock.now())
    with database.session() as session:
        assert service.find_version(session, "current").id == imported.id
        assert service.find_version(session, "published").id == imported.id
        assert service.find_version(session, "latest").id == draft.id
        assert service.find_version(session, "2026.2").id == draft.id
        assert service.find_version(session, str(imported.id)).id == imported.id
        assert service.current_version(session).id == imported.id
        with pytest.raises(NotFound, match="2030"):
            service.find_version(session, "2030")


def test_current_version_is_none_on_an_empty_database(database):
    with database.session() as session:
        assert service.current_version(session) is None


def test_look_ups_for_the_runtime(database, imported):
    v = imported.id
    with database.session() as session:
        assert service.resolve_posts(session, v, "MZ-SHJZ-01") == ["MZ-SHJZ-01"]
        assert service.resolve_posts(session, v, "MZ-SHJZ") == ["MZ-SHJZ-01", "MZ-SHJZ-02"]
        assert service.resolve_posts(session, v, "RS") == ["RS-JY-01", "RS-JY-02"]
        assert service.resolve_posts(session, v, "legal_office") == ["FZ-FG-01", "FZ-FG-02"]
        with pytest.raises(NotFound, match="NOPE"):
            service.resolve_posts(session, v, "NOPE")
        assert service.posts_of_staff(session, v, "S003") == ["MZ-SHJZ-01"]
        assert service.posts_of_staff(session, v, "S999") == []
        assert [h.id for h in service.post_holders(session, v, "MZ-SHJZ-01")] == ["S003", "S004"]
        assert service.post_holders(session, v, "MZ-YLFW-01") == []
        assert service.backup_post(session, v, "MZ-SHJZ-01") == "MZ-SHJZ-02"
        assert service.backup_post(session, v, "AJ-WH-01") is None
        assert service.head_posts(session, v, "MZ-BGS") == ["MZ-BGS-01"]
        assert service.head_posts(session, v, "MZ-SHJZ") == ["MZ-SHJZ-01", "MZ-SHJZ-02"]  # no head marked
        assert service.unit_of_post(session, v, "MZ-HYDJ-02") == "MZ-HYDJ"
        assert service.department_of_post(session, v, "MZ-HYDJ-02") == "MZ"
        assert [(d.code, d.role) for d in service.duties_of_post(session, v, "MT-AQ-02")] == [
            ("MT-JC-001", "B"),
            ("MT-JC-002", "A"),
        ]
        assert service.staff_roles(session, v, "S080") == {"legal_office"}
        assert service.staff_roles(session, v, "S003") == set()
        staff = {s.staff_id: s for s in service.list_staff(session, v)}
        assert staff["S003"].posts == ["MZ-SHJZ-01"] and staff["S003"].name == "陈静"


def test_search_duties(database, imported):
    v = imported.id
    with database.session() as session:
        assert [d.code for d in service.search_duties(session, v, q="婚姻").duties] == ["MZ-QR-001"]
        by_department = service.search_duties(session, v, department="MZ")
        assert by_department.total == 5 and all(d.department == "MZ" for d in by_department.duties)
        assert service.search_duties(session, v, department="市民政局").total == 5
        assert {d.code for d in service.search_duties(session, v, category="行政许可").duties} == {"AJ-XK-001", "WJ-XK-001"}
        # an object finds duties on it and on everything below it in the taxonomy
        mines = service.search_duties(session, v, object="非煤矿山")
        assert {d.code for d in mines.duties} == {"AJ-JC-001", "MT-JC-002"}
        assert {d.code for d in service.search_duties(session, v, object="石膏矿山").duties} == {"MT-JC-002"}
        page = service.search_duties(session, v, limit=5, offset=5)
        assert page.total == 18 and len(page.duties) == 5
        assert service.get_duty(session, v, "MZ-GF-001").committed_limit.value == 15
