"""Analysis through the API: run + alerts life cycle, report, diagrams, disputes, runarounds."""

from __future__ import annotations

import pytest
import yaml

from engine.analysis import alerts
from engine.analysis.report import analyze
from engine.catalog.document import CatalogDocument
from engine.runtime import service as runtime
from tests.auth_helpers import bearer_headers
from tests.runtime_helpers import CHEN, WU, deploy, load_demo_catalog, open_task, start


def _headers(database, clock, settings, username: str, roles: list[str]) -> dict[str, str]:
    return bearer_headers(database, clock, settings, username, roles)


@pytest.fixture
def bianban(database, clock, settings):
    return _headers(database, clock, settings, "bianban", ["establishment_office"])


@pytest.fixture
def staff(database, clock, settings):
    return _headers(database, clock, settings, "chen", ["staff"])


@pytest.fixture
def demo(demo_catalog_path) -> CatalogDocument:
    return CatalogDocument.model_validate(yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8")))


@pytest.fixture
def loaded(client, database, clock, demo_catalog_path) -> int:
    """The demo catalog imported and published (the catalog service refreshes alerts on both)."""
    return load_demo_catalog(database, clock, demo_catalog_path)


def test_import_creates_alerts_and_run_does_not_duplicate_them(client, loaded, bianban, staff, demo):
    # Alerts are the coordinators' working list (docs/permissions.md, read_alerts): staff get 403.
    assert client.get("/api/alerts", headers=staff).status_code == 403
    listed = client.get("/api/alerts", headers=bianban).json()
    assert len(listed) == 9 and {a["status"] for a in listed} == {"open"}
    assert client.post("/api/analysis/run", headers=staff).status_code == 403
    assert client.post("/api/analysis/run").status_code == 401
    response = client.post("/api/analysis/run", params={"version": "2026.1"}, headers=bianban)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["report"] == analyze(demo).to_json_dict()
    assert body["alerts"]["created"] == 0 and body["alerts"]["kept"] == 9
    assert len(client.get("/api/alerts", headers=bianban).json()) == 9


def test_report_endpoint_gives_the_spec_json(client, loaded, staff, demo):
    response = client.get("/api/analysis/report", params={"version": str(loaded), "format": "json"}, headers=staff)
    assert response.status_code == 200
    assert response.json() == analyze(demo).to_json_dict()
    missing = client.get("/api/analysis/report", params={"version": "1999.9"}, headers=staff)
    assert missing.status_code == 404 and missing.json()["problems"]


def test_alert_filters_and_coordinator_actions(client, loaded, bianban, staff):
    overlaps = client.get("/api/alerts", params={"kind": "overlap"}, headers=bianban).json()
    assert sorted(a["payload"]["duties"][0] for a in overlaps) == ["AJ-JC-001", "GXQ-GL-001"]
    mt = client.get("/api/alerts", params={"department": "MT"}, headers=bianban).json()
    assert [a["kind"] for a in mt] == ["taxonomy"]
    assert client.get("/api/alerts", params={"status": "bogus"}, headers=bianban).status_code == 422

    vacant = client.get("/api/alerts", params={"kind": "post_vacant"}, headers=bianban).json()[0]
    assert client.post(f"/api/alerts/{vacant['id']}/acknowledge", headers=staff).status_code == 403
    acknowledged = client.post(f"/api/alerts/{vacant['id']}/acknowledge", headers=bianban).json()
    assert acknowledged["status"] == "acknowledged" and acknowledged["acknowledged_by"] == "bianban"
    again = client.post(f"/api/alerts/{vacant['id']}/acknowledge", headers=bianban)
    assert again.status_code == 409 and again.json()["detail"]
    resolved = client.post(
        f"/api/alerts/{vacant['id']}/resolve", json={"resolution": "已调配人员到岗"}, headers=bianban
    ).json()
    assert resolved["status"] == "resolved" and resolved["resolution"] == "已调配人员到岗"
    assert client.get("/api/alerts", params={"status": "resolved"}, headers=bianban).json()[0]["id"] == vacant["id"]
    assert client.post("/api/alerts/999999/resolve", headers=bianban).status_code == 404


def test_overlap_alert_opens_a_duty_dispute(client, loaded, bianban, staff, database):
    overlap = client.get("/api/alerts", params={"kind": "taxonomy"}, headers=bianban).json()[0]
    response = client.post(f"/api/alerts/{overlap['id']}/dispute", headers=bianban)
    assert response.status_code == 200, response.text
    alert = response.json()
    assert alert["dispute_instance_id"] and alert["status"] == "acknowledged"
    with database.session() as session:
        instance = runtime.get_instance(session, int(alert["dispute_instance_id"]))
        assert instance.process_id == "duty_dispute"
    assert client.post(f"/api/alerts/{overlap['id']}/dispute", headers=bianban).status_code == 409
    gap = client.get("/api/alerts", params={"kind": "post_vacant"}, headers=bianban).json()[0]
    assert client.post(f"/api/alerts/{gap['id']}/dispute", headers=bianban).status_code == 409


def test_diagrams_render_as_svg(client, loaded, staff):
    sanding = client.get("/api/diagrams/sanding/MZ.svg", headers=staff)
    assert sanding.status_code == 200 and sanding.headers["content-type"].startswith("image/svg+xml")
    assert "市民政局" in sanding.text and "低保审核岗" in sanding.text and "<svg" in sanding.text
    overlaps = client.get("/api/diagrams/overlaps.svg", headers=staff)
    assert "市煤炭局" in overlaps.text and "石膏矿" in overlaps.text
    taxonomy = client.get("/api/diagrams/taxonomy.svg", headers=staff)
    assert "非煤矿山" in taxonomy.text and "市安全生产监督管理局" in taxonomy.text
    unknown = client.get("/api/diagrams/sanding/NOPE.svg", headers=staff)
    assert unknown.status_code == 404 and "NOPE" in unknown.json()["problems"][0]


def _do(database, function, *args):
    with database.session() as session:
        return function(session, *args)


def test_a_task_bounced_between_departments_is_a_runaround_alert(client, loaded, bianban, staff, database, clock):
    deploy(database, clock)
    instance = start(database, clock)
    task = open_task(database, instance.id, "accept")
    _do(database, runtime.transfer_task, clock, task.id, "RS-JY-01", "属就业援助事项", CHEN)
    clock.advance(hours=1)
    _do(database, runtime.accept_transfer, clock, task.id, WU)
    clock.advance(hours=1)
    _do(database, runtime.transfer_task, clock, task.id, "MZ-SHJZ-01", "属低保审核", WU)
    clock.advance(hours=1)
    _do(database, runtime.accept_transfer, clock, task.id, CHEN)

    found = client.get("/api/analysis/runarounds", headers=bianban).json()
    assert [(f["level"], f["cycle"]) for f in found] == [
        ("post", ["MZ-SHJZ-01", "RS-JY-01", "MZ-SHJZ-01"]),
        ("department", ["MZ", "RS", "MZ"]),
    ]
    body = client.post("/api/analysis/run", headers=bianban).json()
    assert body["runaround_alerts"]["created"] == 2
    listed = client.get("/api/alerts", params={"kind": "runaround", "department": "RS"}, headers=bianban).json()
    assert len(listed) == 2 and all("推诿" in a["summary"] for a in listed)
    assert client.post("/api/analysis/run", headers=bianban).json()["runaround_alerts"]["created"] == 0
    with database.session() as session:
        assert len(alerts.list_alerts(session, category="runaround")) == 2
