"""Which region a server serves (issue 11 item 1): with DUTYFLOW_REGION set, the runtime's version
in force and the public catalog are that region's, even when another region published later;
the public page offers each region with a published catalog."""

from __future__ import annotations

import pytest

from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id, staff_posts
from engine.catalog.io import read_catalog


@pytest.fixture
def two_regions(database, clock, demo_catalog_path):
    """示例市 published first, then the same tables as 另一市, published later."""
    with database.session() as session:
        first = catalog.import_catalog(session, read_catalog(demo_catalog_path), "test", clock.now())
        catalog.publish_version(session, first.id, "test", clock.now())
        other = read_catalog(demo_catalog_path, overrides={"region": "另一市", "name": "另一市权责清单"})
        second = catalog.import_catalog(session, other, "test", clock.advance(hours=1))
        catalog.publish_version(session, second.id, "test", clock.now())
        return first.id, second.id


def test_without_a_served_region_the_newest_published_is_in_force(database, two_regions, monkeypatch):
    monkeypatch.delenv("DUTYFLOW_REGION", raising=False)
    with database.session() as session:
        assert catalog_version_id(session) == two_regions[1]


def test_the_served_region_is_in_force_for_the_runtime_and_the_public(database, two_regions, monkeypatch, client):
    monkeypatch.setenv("DUTYFLOW_REGION", "示例市")
    with database.session() as session:
        assert catalog_version_id(session) == two_regions[0]
        assert staff_posts(session, "S003") == {"MZ-SHJZ-01"}
        assert catalog.current_version(session).id == two_regions[0]
    body = client.get("/api/public/duties", params={"limit": 1}).json()
    assert body["version"]["region"] == "示例市"
    other = client.get("/api/public/duties", params={"limit": 1, "region": "另一市"}).json()
    assert other["version"]["region"] == "另一市"
    page = client.get("/catalog").text
    assert '<option value="另一市"' in page and '<option value="示例市" selected' in page
    chosen = client.get("/catalog", params={"region": "另一市"}).text
    assert "另一市 · 另一市权责清单" in chosen
