"""The coordinators' dashboard: alerts with the overlap graph, one-click dispute, rates and warnings."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from engine.auth.roles import Actor
from engine.models.analysis import Alert
from engine.models.runtime import ProcessInstance
from engine.runtime import service as runtime
from tests.browser_helpers import load_demo, sign_in

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


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
    with database.session() as session:
        vacant = session.exec(select(Alert).where(Alert.kind == "post_vacant")).first()
    assert vacant is not None and vacant.category == "staffing"  # 养老机构监管岗 has nobody in post
    staffing = coordinator.get("/dashboard", params={"category": "staffing"}).text
    assert f'id="alert-{vacant.id}"' in staffing
    assert f'id="alert-{gypsum_overlap(database).id}"' not in staffing
    # 岗位空缺 is about who is in post, not a duty nobody carries: not under 职责空缺
    assert f'id="alert-{vacant.id}"' not in coordinator.get("/dashboard", params={"category": "gap"}).text


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
    # One case received, none finished: 办结率 0 % per case; its 受理 step waits: 0 % per step too.
    cases = page.text.split('id="rates-case-departments"')[1].split("</section>")[0]
    assert "办件（按案件）" in cases and "市民政局" in cases and "0.0%" in cases
    assert "未计时的办件" in cases  # and how many cases have no clock (none here)
    steps = page.text.split('id="rates-step-departments"')[1].split("</section>")[0]
    assert "环节（按步骤）" in steps and "市民政局" in steps and "没有环节时限的步骤不计入按时办结率" in steps


def test_staff_cannot_see_the_dashboard(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s001")
    assert client.get("/dashboard").status_code == 403


# --- true counts, paging and filters (issue 11: the dashboard stopped at 500 rows silently) ---------
def replace_alerts(database, clock, specs: list[tuple[str, str, str, str]]) -> list[int]:
    """Drop the demo's alerts and store these instead: (category, kind, departments, status)."""
    with database.session() as session:
        for alert in session.exec(select(Alert)).all():
            session.delete(alert)
        session.flush()
        rows = [Alert(scope="test", finding_key=f"k{i}", category=category, kind=kind, severity="medium",
                      summary=f"测试预警{i}", departments=departments, status=status,
                      first_seen_at=clock.now(), last_seen_at=clock.now())
                for i, (category, kind, departments, status) in enumerate(specs)]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def department_cells(text: str, code: str) -> dict[str, str]:
    row = re.search(rf'<tr data-department="{code}">(.*?)</tr>', text, flags=re.S).group(1)
    return dict(re.findall(r'data-category="(\w+)">(\d+)<', row))


# On PostgreSQL too: the alert counts only this page asks for.
@pytest.mark.backends("sqlite", "postgresql")
def test_counts_by_department_and_kind_are_the_true_counts(coordinator, database, clock):
    replace_alerts(database, clock, [
        *[("overlap", "same_object", ",MZ,", "open")] * 3,
        *[("staffing", "post_vacant", ",MZ,", "open")] * 2,
        ("staffing", "post_vacant", ",RS,", "acknowledged"),
        ("suspected_overlap", "suspected_overlap", ",MZ,RS,", "open"),  # counts for both departments
        ("overlap", "same_object", ",MZ,", "resolved"),  # handled: not in the default counts
        ("gap", "duty_without_unit", ",XX,", "open"),  # no department of the catalog in force
    ])
    page = coordinator.get("/dashboard")
    assert page.status_code == 200
    assert department_cells(page.text, "MZ") == {"overlap": "3", "suspected_overlap": "1", "gap": "0",
                                                 "staffing": "2", "runaround": "0", "boundary": "0", "total": "6"}
    assert department_cells(page.text, "RS") == {"overlap": "0", "suspected_overlap": "1", "gap": "0",
                                                 "staffing": "1", "runaround": "0", "boundary": "0", "total": "2"}
    assert department_cells(page.text, "") == {"total": "1"}  # 未关联现行清单部门
    assert "市民政局" in page.text.split('id="by-department"')[1].split("</section>")[0]
    kinds = page.text.split('id="by-kind"')[1].split("</section>")[0]
    assert re.search(r'data-kind="post_vacant">.*?岗位空缺.*?<td class="num">3</td>', kinds, flags=re.S)
    assert re.search(r'data-kind="same_object">.*?同一对象重复.*?<td class="num">3</td>', kinds, flags=re.S)
    assert "共 8 条" in page.text.split('id="summary"')[1]  # 3 + 2 + 1 + 1 + 1 still to handle
    everything = coordinator.get("/dashboard", params={"status": "all"})
    assert department_cells(everything.text, "MZ")["overlap"] == "4"
    only_rs = coordinator.get("/dashboard", params={"department": "RS"})
    assert "共 2 条" in only_rs.text.split('id="alert-total"')[1]


# On PostgreSQL too: the alert page and its total, asked only here.
@pytest.mark.backends("sqlite", "postgresql")
def test_the_list_is_paged_with_the_true_total(coordinator, database, clock):
    ids = replace_alerts(database, clock, [("gap", "post_vacant", ",MZ,", "open")] * 120
                         + [("overlap", "same_object", ",RS,", "open")] * 7)
    first = coordinator.get("/dashboard")
    assert "共 127 条，第 1–50 条" in first.text
    assert first.text.count('data-alert="') == 50
    assert "第 1 / 3 页，共 127 条" in first.text
    last = coordinator.get("/dashboard", params={"page": 3})
    shown = [int(i) for i in re.findall(r'data-alert="(\d+)"', last.text)]
    assert len(shown) == 27 and "第 101–127 条" in last.text
    # same severity: overlaps (category "overlap") sort after gaps, each by id
    assert shown == sorted(ids[:120])[100:] + sorted(ids[120:])
    beyond = coordinator.get("/dashboard", params={"page": 99})
    assert "第 3 / 3 页" in beyond.text  # past the end: the last page, saying so
    overlaps = coordinator.get("/dashboard", params={"kind": "same_object"})
    assert re.findall(r'data-alert="(\d+)"', overlaps.text) == [str(i) for i in ids[120:]]
    assert "共 7 条" in overlaps.text.split('id="alert-total"')[1]
    assert 'id="alert-pages"' not in overlaps.text  # one page: no pager


def test_the_graph_and_figures_come_before_the_list(coordinator, database, clock):
    replace_alerts(database, clock, [("gap", "post_vacant", ",MZ,", "open")] * 60)
    text = coordinator.get("/dashboard").text
    assert text.index('id="overlap-graph"') < text.index('id="warnings"') < text.index('id="alerts"')
    assert '<a href="#graph">' in text and '<a href="#alerts">' in text


@pytest.mark.parametrize("params, problem", [
    ({"status": "gone"}, "预警状态无效"),
    ({"page": "0"}, "页码：应不小于 1"),
    ({"page": str(2**31)}, "页码：应不大于"),
    ({"kind": "x" * 41}, "种类：最多 40 个字符"),
    ({"department": "x" * 101}, "部门：最多 100 个字符"),
])
def test_bad_filters_are_refused_in_chinese(coordinator, params, problem):
    page = coordinator.get("/dashboard", params=params)
    assert page.status_code in (400, 422)
    assert problem in page.text


def test_the_graph_legend_names_only_the_lines_drawn(coordinator):
    # Issue 13: the legend promised dashed 疑似交叉 lines the graph never drew. It names a dashed
    # line exactly when a suspected overlap edge (labelled 疑似 with its score) is drawn.
    text = coordinator.get("/dashboard").text
    graph = text.split('id="overlap-graph"')[1].split("</svg>")[0]
    legend = text.split('id="overlap-graph"')[1].split("</svg>")[1].split("</p>")[0]
    assert ("虚线" in legend) == ("疑似 " in graph)
