"""A duty cancelled in a later published version (issue 13): its public page says in which
version it was cancelled (410 Gone, in Chinese), instead of a bare 404; a code that was never
published stays 404."""

from __future__ import annotations

import pytest

from engine.catalog import service as catalog
from engine.catalog.io import read_catalog

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


# On PostgreSQL too: the cancellation look-up only this page makes.
@pytest.mark.backends("sqlite", "postgresql")
def test_a_cancelled_duty_says_when_and_where(client, database, clock, demo_catalog_path):
    with database.session() as session:
        first = catalog.import_catalog(session, read_catalog(demo_catalog_path), "test", clock.now())
        catalog.publish_version(session, first.id, "test", clock.now())  # 2026-09-30 09:00
        document = read_catalog(demo_catalog_path, overrides={"version": "2026.2"})
        document.duties = [d for d in document.duties if d.code != "MZ-QR-001"]  # 内地居民婚姻登记 cancelled
        second = catalog.import_catalog(session, document, "test", clock.advance(days=1))
        catalog.publish_version(session, second.id, "test", clock.now())  # 2026-10-01 09:00
    page = client.get("/catalog/MZ-QR-001")
    assert page.status_code == 410
    assert "事项「内地居民婚姻登记」（MZ-QR-001）已在示例市权责清单 2026.2 版本中取消" in page.text
    assert "最后列入：2026.1 版本（2026-09-30 09:00 发布）" in page.text
    assert client.get("/catalog/NO-SUCH-DUTY").status_code == 404
