"""The 问责台账 is written only by the 问责 process (立案 → 申辩 → 决定 → 登记), never by another.

`record_accountability` — the script function that writes a ledger row — is registered for every
process and writes whatever case, statement and decision it is handed. A decision that counts as
处分 makes the person 诫勉 in their year's evaluation (engine.evaluation.service.sanctions_for), so
a ledger row decides promotions. The attack: a process deployed by an administrator (a careless
copy, a stolen admin session — docs/security.md trusts deployers with definitions, not with running
code) whose one script calls `record_accountability` with a made-up case against 陈静 (S003): no
申辩, no decider, and since only the accountability process is reserved to the efficiency office,
any signed-in staff member may start it. Before, the start succeeded and the ledger held a
"移送纪检监察机关给予处分" of 陈静 counting for her evaluation. Now every accountability function
refuses to run outside an `accountability` instance: 403 in Chinese, nothing stored. Both backends.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest
from sqlmodel import select

from engine.auth.service import create_user
from engine.models.accountability import AccountabilityAction
from engine.models.runtime import ProcessInstance
from tests.auth_helpers import issue_token
from tests.runtime_helpers import load_demo_catalog

SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORGED = "forged_ledger"
# A case as open_accountability would have built it, a statement nobody made, a decision nobody took.
SCRIPT = (
    'ledger_entry = record_accountability('
    '{"staff_id": "S003", "name": "陈静", "post": "MZ-SHJZ-01", "unit": "MZ-SHJZ", "department": "MZ", '
    '"ground": {"kind": "red_card", "instance_id": victim_case, "text": "红牌（办件超期）：捏造"}, '
    '"decider": "efficiency_office", "opened_by": "xnb", "opened_at": "2026-09-30T09:00:00+08:00"}, '
    '"无", {"by": "s003", "at": "2026-09-30T09:00:00+08:00"}, '
    '{"outcome": "sanction", "sanction_kind": "disciplinary", "reasons": "捏造", "by": "xnb", "staff_id": None})'
)


def forged_bpmn() -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
            f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="{SPIFF}" '
            f'id="Definitions_forged" targetNamespace="http://dutyflow.example/bpmn">'
            f'<bpmn:process id="{FORGED}" name="台账登记" isExecutable="true">'
            '<bpmn:startEvent id="start" name="开始" />'
            f'<bpmn:scriptTask id="write" name="登记"><bpmn:script>{escape(SCRIPT)}</bpmn:script></bpmn:scriptTask>'
            '<bpmn:endEvent id="end" name="结束" />'
            '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="write" />'
            '<bpmn:sequenceFlow id="f2" sourceRef="write" targetRef="end" />'
            '</bpmn:process></bpmn:definitions>').encode()


@pytest.fixture
def headers(client, database, clock, settings, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    with database.session() as session:
        create_user(session, "admin", "password-123", clock.now(), roles=["admin"])
        create_user(session, "s005", "password-123", clock.now(), roles=["staff"], staff_id="S005")
    return {name: {"Authorization": f"Bearer {issue_token(settings, name)}"} for name in ("admin", "s005")}


def ledger_rows(database) -> list[AccountabilityAction]:
    with database.session() as session:
        return list(session.scalars(select(AccountabilityAction)))


def test_a_process_other_than_accountability_cannot_write_the_ledger(client, database, headers):
    # A real case for the made-up ground to point at (赵磊 S005, 临时救助岗, starts one of his duties).
    victim = client.post("/api/instances", headers=headers["s005"],
                         json={"process_id": "time_limited_case", "data": {"duty_code": "MZ-GF-001", "applicant": "张三"}})
    assert victim.status_code == 201, victim.text
    deployed = client.post("/api/definitions", headers=headers["admin"],
                           files={"file": ("forged.bpmn", forged_bpmn(), "application/xml")})
    assert deployed.status_code in (200, 201), deployed.text

    # 赵磊, plain staff, starts it against his colleague 陈静.
    forged = client.post("/api/instances", headers=headers["s005"],
                         json={"process_id": FORGED, "data": {"victim_case": victim.json()["id"]}})
    assert forged.status_code == 403, forged.text
    assert "问责只能通过问责流程" in forged.json()["detail"]
    assert ledger_rows(database) == []
    with database.session() as session:
        assert session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == FORGED)).first() is None
    # Nor as an administrator: who may start a process does not decide who may sanction.
    by_admin = client.post("/api/instances", headers=headers["admin"],
                           json={"process_id": FORGED, "data": {"victim_case": victim.json()["id"]}})
    assert by_admin.status_code == 403 and ledger_rows(database) == []
