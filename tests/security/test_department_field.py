"""The `department` form field (被投诉部门 of the efficiency complaint's 受理审查) takes only a
department of the catalog in force, whatever is posted instead of the picker's choice.

The picker offers the departments of the catalog in force by name; a hand-made request can post
anything. Refused with 422 naming the field by its label, the task still open and the case as it
was: an unknown code, a code in another case (mz), a unit's code (MZ-BGS), a department that exists
only in another region's catalog, a list or an object. Through the API and the task page. Both
backends.
"""

from __future__ import annotations

import pytest

from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from tests.process_helpers import Scenario, problems_text

DELAY = {"subject": "婚姻登记窗口办理拖延", "complainant": "王五", "contact": "13900000000"}


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path, tmp_path, monkeypatch):
    # The server serves 示例市 (DUTYFLOW_REGION); 另一市's catalog, published later, holds a
    # department 示例市's does not (ZZJ, its 公共资源交易中心).
    monkeypatch.setenv("DUTYFLOW_REGION", "示例市")
    scenario = Scenario(client, database, clock, settings, demo_catalog_path)
    text = demo_catalog_path.read_text(encoding="utf-8").replace("GGZY", "ZZJ")
    other = tmp_path / "other.yaml"
    other.write_text(text, encoding="utf-8")
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(other, overrides={"region": "另一市"}), "test",
                                         clock.now())
        catalog.publish_version(session, version.id, "test", clock.now())
    return scenario


@pytest.mark.parametrize("department", ["NOPE", "mz", " MZ", "MZ-BGS", "ZZJ", ["MZ"], {"code": "MZ"}])
def test_a_department_not_in_the_catalog_in_force_is_refused(city, department):
    complaint = city.start("zenglin", "efficiency_complaint", DELAY)
    accept = city.step(complaint["id"], "accept_complaint")
    before = city.snapshot(complaint["id"])
    refused = city.complete("zenglin", accept["id"], {"acceptance": "accept", "department": department}, status=422)
    assert "被投诉部门" in problems_text(refused)
    assert city.snapshot(complaint["id"]) == before
    # The picker's own value goes through.
    city.complete("zenglin", accept["id"], {"acceptance": "accept", "department": "MZ"})
    assert city.step(complaint["id"], "investigate")["post_code"] == "MZ-BGS-01"
