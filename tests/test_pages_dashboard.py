"""The coordinators' dashboard: alerts with the overlap graph, one-click dispute, rates and warnings."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from engine.analysis.models import Alert
from engine.auth.roles import Actor
from engine.runtime import service as runtime
from engine.runtime.models import ProcessInstance
from tests.browser_helpers import load_demo, sign_in


@pytest.fixture
def coordinator(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s071")  # 冯刚, 编办职责争议协调岗
    return client


def gypsum_overlap(database) -> Alert:
    with database.session() as session:
        alerts = session.exec(select(Alert).where(Alert.category == "overlap")).all()
        return next(a for a in alerts if "石膏矿" in a.summary)


def flashed(page) -> str:
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</div>', page.text, flags=re.S))


def test_dashboard_lists_open_alerts_and_the_overlap_graph(coordinator, database):
    page = coordinator.get("/dashboard")
    assert page.status_code == 200
    alert = gypsum_overlap(database)
    assert f'id="alert-{alert.id}"' in page.text
    assert "市煤炭局" in page.text and "石膏矿" in page.text
    assert "岗位空缺" in page.text  # gaps are alerts too
    graph = page.text.split('id="overlap-graph"')[1]
    assert graph.lstrip(">").lstrip().startswith("<svg") and "市安全生产监督管理局" in graph


def test_category_filter(coordinator, database):
    page = coordinator.get("/dashboard", params={"category": "gap"})
    assert "岗位空缺" in page.text
    assert f'id="alert-{gypsum_overlap(database).id}"' not in page.text


def test_open_a_dispute_from_an_overlap_alert_in_one_click(coordinator, database):
    alert = gypsum_overlap(database)
    page = coordinator.post(f"/dashboard/alerts/{alert.id}/dispute")
    assert page.status_code == 200
    assert "已发起职责争议协调流程" in flashed(page)
    with database.session() as session:
        stored = session.get(Alert, alert.id)
        instance = session.get(ProcessInstance, int(stored.dispute_instance_id))
        assert instance.process_id == "duty_dispute"
        assert stored.status == "acknowledged"
    row = page.text.split(f'id="alert-{alert.id}"')[1].split("</tr>")[0]
    assert f"争议流程 #{instance.id}" in row and "发起职责争议</button>" not in row
    again = coordinator.post(f"/dashboard/alerts/{alert.id}/dispute", headers={"referer": "http://testserver/dashboard"})
    assert "已发起职责争议" in flashed(again)  # refused: a dispute is already open


def test_gap_alerts_cannot_open_a_dispute_and_can_be_resolved(coordinator, database):
    with database.session() as session:
        gap = session.exec(select(Alert).where(Alert.category == "gap")).first()
    refused = coordinator.post(f"/dashboard/alerts/{gap.id}/dispute", headers={"referer": "http://testserver/dashboard"})
    assert "只有职责交叉" in flashed(refused)
    page = coordinator.post(f"/dashboard/alerts/{gap.id}/resolve", data={"resolution": "已补充人员"})
    assert f"预警 {gap.id} 已办结" in flashed(page)
    with database.session() as session:
        assert session.get(Alert, gap.id).resolution == "已补充人员"


def test_rates_and_matters_at_risk_by_department(coordinator, database, clock):
    with database.session() as session:
        runtime.start_instance(session, clock, "time_limited_case", {"duty_code": "MZ-QR-001", "subject": "婚姻登记"},
                               Actor("s006", "S006", frozenset({"staff"})))
    clock.advance(days=12)  # 婚姻登记 has 1 working day (after the National Day holidays): red now
    page = coordinator.get("/dashboard")
    warnings = page.text.split('id="warnings"')[1].split("</section>")[0]
    assert "市民政局" in warnings and "红牌超期" in warnings
    rates = page.text.split('id="rates-departments"')[1].split("</section>")[0]
    assert "市民政局" in rates and "0%" in rates


def test_staff_cannot_see_the_dashboard(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s001")
    assert client.get("/dashboard").status_code == 403
