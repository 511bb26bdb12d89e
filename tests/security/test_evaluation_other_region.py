"""A head reads only their own unit's evaluation — not a unit of another region with the same code.

A server may hold several regions' catalogs (a province's cities; `create_year(region=…)` evaluates
the departments of any region's catalog), and department and unit codes are the same standard codes
in every region (民政局 is MZ everywhere). The policy asked only whether the actor heads a department
*code* in the catalog in force, so 王芳 (S001), head of 示例市's 民政局 (head_post MZ-BGS-01), read
另一市's 民政局 — its scores, grade, staff and the cases behind them — at
/evaluation/{year}/units/MZ and /api/evaluation/years/{year}/units/MZ, and /evaluation listed
另一市's year to her. A year evaluates the catalog it was created from (`catalog_version_id`); a head
may read it only when that catalog is of the region whose catalog is in force (where they are
head). Both backends.
"""

from __future__ import annotations

import pytest

from engine.auth.demo import ensure_demo_users
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.evaluation import service
from tests.browser_helpers import DEMO_CATALOG, sign_in
from tests.evaluation_helpers import OFFICE


@pytest.fixture
def years(client, database, clock) -> dict[str, int]:
    """另一市 (published first) and 示例市 (published last: the catalog in force), each a region year."""
    with database.session() as session:
        for region in ("另一市", "示例市"):
            version = catalog.import_catalog(session, read_catalog(DEMO_CATALOG, overrides={"region": region}),
                                             "test", clock.now())
            catalog.publish_version(session, version.id, "test", clock.now())
        ensure_demo_users(session, clock.now())
        made = {region: service.create_year(session, OFFICE, 2026, clock.now(), region=region).id
                for region in ("另一市", "示例市")}
    return made


def test_a_department_head_reads_their_own_regions_department_only(client, years):
    sign_in(client, "s001")  # 王芳, head of 示例市 民政局
    own = client.get(f"/evaluation/{years['示例市']}/units/MZ")
    assert own.status_code == 200, own.text[:300]
    other = client.get(f"/evaluation/{years['另一市']}/units/MZ")
    assert other.status_code == 403 and "本单位负责人" in other.text
    api = client.get(f"/api/evaluation/years/{years['另一市']}/units/MZ")
    assert api.status_code == 403
    listing = client.get("/evaluation")
    assert listing.status_code == 200
    assert f"/evaluation/{years['示例市']}/units/MZ" in listing.text
    assert f"/evaluation/{years['另一市']}/units/MZ" not in listing.text and "另一市" not in listing.text


def test_the_office_reads_both(client, years):
    sign_in(client, "s090")  # 彭亮, 效能办
    for year_id in years.values():
        assert client.get(f"/evaluation/{year_id}/units/MZ").status_code == 200
