"""群众多跑腿（推诿）in 高效履职 (engine.evaluation.indicators.runarounds): real 转办 of real
限时办结 cases over the HTTP API on the demo catalog, then the unit charged for each matter sent
round in a circle, worked out by hand from the rule: the post that hands a matter (a step of a
case), by a transfer the other side accepts, to a post that had already held it and passed it on
is charged once for that matter; a refused transfer moves nothing and closes no circle. Both
backends (the `database` fixture).

Posts of 市民政局 in the demo catalog: MZ-SHJZ-01 低保审核岗 (陈静) and MZ-SHJZ-02 临时救助岗 (赵磊)
in 社会救助科 MZ-SHJZ; MZ-HYDJ-01 登记受理岗 (黄丽) in 婚姻登记科 MZ-HYDJ.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from engine.analysis.runaround import find_runarounds
from engine.analysis.transfers import post_departments, transfer_records
from engine.auth.roles import EFFICIENCY_OFFICE, STAFF, Actor
from engine.catalog import service as catalog
from engine.evaluation import indicators, service
from tests.process_helpers import Scenario

OFFICE = Actor("zenglin", "S091", frozenset({STAFF, EFFICIENCY_OFFICE}), "曾琳")
LOW_INCOME = {"duty_code": "MZ-GF-001", "applicant": "张三"}
HOLDER = {"MZ-SHJZ-01": "chenjing", "MZ-SHJZ-02": "zhaolei", "MZ-HYDJ-01": "huangli"}


@pytest.fixture
def city(client, database, clock, settings, demo_catalog_path):
    return Scenario(client, database, clock, settings, demo_catalog_path)


def _hand(city, task: int, to_post: str, answer: str) -> None:
    """The task's holder transfers it to `to_post`, whose holder accepts or refuses."""
    holder = city.client.get(f"/api/tasks/{task}", headers=city.headers("admin")).json()["post_code"]
    sent = city.client.post(f"/api/tasks/{task}/transfer", json={"to_post": to_post, "reason": "请贵岗办理"},
                            headers=city.headers(HOLDER[holder]))
    assert sent.status_code == 200, sent.text
    city.advance(minutes=30)
    body = {"reason": "不属本岗职责"} if answer == "refuse" else None
    answered = city.client.post(f"/api/tasks/{task}/{answer}", json=body, headers=city.headers(HOLDER[to_post]))
    assert answered.status_code == 200, answered.text
    city.advance(minutes=30)


def _matter(city) -> tuple[int, int]:
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)["id"]
    return case, city.step(case, "accept_application")["id"]


def test_the_post_that_sends_a_matter_back_round_is_charged_once_per_matter(city):
    # 1. 陈静 → 黄丽 (accepted), 黄丽 → 陈静 (accepted): holders SHJZ-01, HYDJ-01, SHJZ-01 — a circle
    #    closed by 黄丽's post: charged to 婚姻登记科.
    back_and_forth, task = _matter(city)
    _hand(city, task, "MZ-HYDJ-01", "accept")
    _hand(city, task, "MZ-SHJZ-01", "accept")
    # 2. 陈静 → 黄丽 refused (it stays with 陈静), then 陈静 → 黄丽 accepted: SHJZ-01, HYDJ-01 — no circle.
    refused_first, task = _matter(city)
    _hand(city, task, "MZ-HYDJ-01", "refuse")
    _hand(city, task, "MZ-HYDJ-01", "accept")
    # 3. 陈静 → 赵磊 → 黄丽 → 陈静, all accepted: a circle of three closed by 黄丽 again.
    three_posts, task = _matter(city)
    _hand(city, task, "MZ-SHJZ-02", "accept")
    _hand(city, task, "MZ-HYDJ-01", "accept")
    _hand(city, task, "MZ-SHJZ-01", "accept")
    # 4. 陈静 → 赵磊 (accepted); 赵磊 sends it back to 陈静, who refuses: it stays with 赵磊 — no circle.
    bounced_refused, task = _matter(city)
    _hand(city, task, "MZ-SHJZ-02", "accept")
    _hand(city, task, "MZ-SHJZ-01", "refuse")
    # 5. Ping-pong: SHJZ-01, HYDJ-01, SHJZ-01, HYDJ-01, SHJZ-01. 黄丽 closes a circle twice (counted
    #    once for 婚姻登记科: one matter); 陈静's second transfer hands it to 黄丽, who had held it and
    #    passed it on, so 陈静 sent it round too: charged once to 社会救助科.
    twice, task = _matter(city)
    _hand(city, task, "MZ-HYDJ-01", "accept")
    _hand(city, task, "MZ-SHJZ-01", "accept")
    _hand(city, task, "MZ-HYDJ-01", "accept")
    _hand(city, task, "MZ-SHJZ-01", "accept")

    now = city.clock.now()
    start, end = indicators.period(2026, None)
    with city.database.session() as session:
        version_id = catalog.current_version(session).id
        hydj = indicators.runarounds(session, "MZ-HYDJ", start, end, version_id)
        shjz = indicators.runarounds(session, "MZ-SHJZ", start, end, version_id)
        department = indicators.runarounds(session, "MZ", start, end, version_id, by_department=True)
        # Matters 1, 3 and 5 were sent round by 黄丽 (婚姻登记科); matter 5 also by 陈静 (社会救助科).
        assert hydj.to_json() == {"count": 3, "ids": sorted([back_and_forth, three_posts, twice])}
        assert shjz.to_json() == {"count": 1, "ids": [twice]}
        # 市民政局 as a whole: three matters (5 once, though two of its units sent it round).
        assert department.count == 3
        assert refused_first not in hydj.ids and bounced_refused not in hydj.ids
        # Not in the period: the year before has none.
        last_year = indicators.period(2025, None)
        assert indicators.runarounds(session, "MZ-HYDJ", *last_year, version_id).count == 0

        year = service.create_year(session, OFFICE, 2026, now, department="MZ")
        found = {v[0].code: v[2] for v in service.objective_values(session, year, "MZ-HYDJ", now)}
        efficiency = found["MGMT.EFFICIENCY"]
        # 婚姻登记科 has no case clock of its own (the five cases are 社会救助科's 低保 cases): nothing
        # judged, the share counts as 100; three matters sent round: 100 − 5 × 3 = 85.
        assert efficiency.figures["runarounds"] == 3
        assert efficiency.value == Fraction(85)
        assert efficiency.breakdown["runaround"].ids == sorted([back_and_forth, three_posts, twice])
        assert "推诿" in efficiency.formula_text


def test_the_alert_analysis_reads_only_matters_transferred_twice(city):
    """The runaround alerts (engine.analysis.transfers) read from the log only the matters the
    database counts two transfers for — a circle needs two moves — not every transfer ever made:
    陈静 → 黄丽 once (accepted) is not read; 陈静 → 黄丽 → 陈静 is, and is found as a circle."""
    once, task = _matter(city)
    _hand(city, task, "MZ-HYDJ-01", "accept")
    circle, task = _matter(city)
    _hand(city, task, "MZ-HYDJ-01", "accept")
    _hand(city, task, "MZ-SHJZ-01", "accept")
    with city.database.session() as session:
        records = transfer_records(session)
        departments = post_departments(session)
    assert {r.instance_id for r in records} == {str(circle)}
    assert [(r.from_post, r.to_post, r.outcome) for r in records] == [
        ("MZ-SHJZ-01", "MZ-HYDJ-01", "accepted"), ("MZ-HYDJ-01", "MZ-SHJZ-01", "accepted")]
    assert departments["MZ-HYDJ-01"] == "MZ" and departments["MZ-SHJZ-01"] == "MZ"
    assert [f.instance_id for f in find_runarounds(records, departments)] == [str(circle)]
