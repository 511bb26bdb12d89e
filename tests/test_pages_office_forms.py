"""Issue 13, item 5: the efficiency office (效能办) starts a 自查 campaign and registers a 投诉 from
its dashboard, with forms, instead of through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models.runtime import ProcessInstance, WorkTask
from tests.browser_helpers import load_demo, sign_in

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


BACK = {"referer": "http://testserver/dashboard"}


@pytest.fixture
def efficiency_office(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s090")  # 彭亮, 效能监察岗 of 效能办 (the catalog binds efficiency_office to XN)
    return client


def instances(database, process_id: str) -> list[ProcessInstance]:
    with database.session() as session:
        return list(session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == process_id)))


def test_the_dashboard_offers_both_forms_to_the_efficiency_office_only(efficiency_office, client):
    page = efficiency_office.get("/dashboard").text
    assert 'action="/dashboard/campaigns"' in page and 'action="/dashboard/complaints"' in page
    assert 'value="MZ-SHJZ"> 社会救助科' in page  # units of the catalog by name, ticked by code
    assert '<option value="MZ">' in page  # departments for the complaint
    client.post("/logout")
    sign_in(client, "s070")  # 编办 reads the dashboard but starts neither process
    page = client.get("/dashboard").text
    assert "发起自查" not in page and "登记投诉" not in page


# On PostgreSQL too: a process started from a page form.
@pytest.mark.backends("sqlite", "postgresql")
def test_start_a_self_inspection_campaign(efficiency_office, database):
    page = efficiency_office.post("/dashboard/campaigns", data={
        "title": "2026年窗口作风自查", "units": ["MZ-SHJZ", "MZ-HYDJ"], "rectify_limit": "15个工作日"})
    assert page.status_code == 200 and "已发起自查活动" in page.text
    [case] = instances(database, "self_inspection_campaign")
    assert case.status == "running" and case.started_by == "s090"
    assert case.start_data["units"] == ["MZ-SHJZ", "MZ-HYDJ"]
    assert case.start_data["rectify_limit"] == "15个工作日"
    assert case.subject == "2026年窗口作风自查"
    with database.session() as session:
        posts = sorted(session.scalars(select(WorkTask.post_code).where(WorkTask.instance_id == case.id,
                                                                         WorkTask.status == "ready")))
    # Neither unit names a head post, so each unit's first post self-inspects (campaigns.plan_campaign):
    # 社会救助科 → MZ-SHJZ-01, 婚姻登记处 → MZ-HYDJ-01.
    assert posts == ["MZ-HYDJ-01", "MZ-SHJZ-01"]


def test_a_campaign_without_units_is_refused_in_chinese(efficiency_office, database):
    page = efficiency_office.post("/dashboard/campaigns", data={"title": "无单位"}, headers=BACK)
    assert "请至少选择一个参加自查的内设机构" in page.text
    assert instances(database, "self_inspection_campaign") == []


def test_register_a_complaint(efficiency_office, database):
    page = efficiency_office.post("/dashboard/complaints", data={
        "subject": "最低生活保障审批超期未办结", "complainant": "张三", "contact": "13800000000", "department": "MZ"})
    assert page.status_code == 200 and "已登记效能投诉" in page.text
    [case] = instances(database, "efficiency_complaint")
    assert case.status == "running"
    assert case.start_data == {"subject": "最低生活保障审批超期未办结", "complainant": "张三",
                               "contact": "13800000000", "department": "MZ"}  # empty duty_code left out
    with database.session() as session:
        ready = session.scalars(select(WorkTask).where(WorkTask.instance_id == case.id,
                                                       WorkTask.status == "ready")).all()
    assert [t.post_code[:3] for t in ready] == ["XN-"]  # 受理审查 lands at the efficiency office


def test_an_incomplete_complaint_is_refused_and_nothing_registered(efficiency_office, database):
    page = efficiency_office.post("/dashboard/complaints", data={"subject": "窗口态度差"}, headers=BACK)
    assert "投诉登记不完整" in page.text and "投诉人不能为空" in page.text
    assert instances(database, "efficiency_complaint") == []


def test_the_establishment_office_may_not_register_a_complaint(client, database, clock):
    load_demo(database, clock)
    sign_in(client, "s070")
    page = client.post("/dashboard/complaints", data={"subject": "窗口态度差", "complainant": "李四"}, headers=BACK)
    assert "只有效能办可以发起流程" in page.text
    assert instances(database, "efficiency_complaint") == []


def test_the_complained_department_is_chosen_by_name_not_typed_as_a_code(efficiency_office, database):
    efficiency_office.post("/dashboard/complaints", data={"subject": "窗口推诿", "complainant": "李四"})
    [case] = instances(database, "efficiency_complaint")
    with database.session() as session:
        [task] = session.scalars(select(WorkTask).where(WorkTask.instance_id == case.id,
                                                        WorkTask.status == "ready")).all()
    page = efficiency_office.get(f"/tasks/{task.id}").text
    picker = page.split('name="f_department"')[1].split("</select>")[0]
    assert '<option value="MZ">市民政局</option>' in picker  # every department of the catalog, by name
    assert '<option value="XN">' in picker
    assert "编码" not in page.split('name="f_department"')[0].rsplit("<label", 1)[1]  # the label says 被投诉部门
