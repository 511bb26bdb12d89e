"""Rule violations raised by script functions answer the person acting (4xx, nothing changed);
genuine script bugs still fail only that instance; steps nobody asked for (timers) fail the instance."""

from __future__ import annotations

import pytest
from sqlmodel import select

from engine.errors import InvalidInput
from engine.models.runtime import ProcessInstance
from engine.runtime import service
from engine.runtime.instances import rule_violation
from engine.runtime.scripting import register_script_function
from tests.runtime_helpers import (
    ARD_FILE,
    CHEN,
    WANG,
    ZHAO,
    deploy,
    in_session,
    load_demo_catalog,
    open_task,
    snapshot,
    start,
)


def _checked_amount(amount):
    """A registered function enforcing a rule: the amount must not be negative."""
    if amount is None:
        return 0
    if amount < 0:
        raise InvalidInput("核定金额不能为负数", [f"amount: {amount}"])
    return amount


register_script_function("rules_test_checked_amount", _checked_amount)

CHECKED_XML = ARD_FILE.read_bytes().replace(
    b"approved_amount = amount if amount is not None else 0",
    b"approved_amount = rules_test_checked_amount(amount)",
)
# Same process with a rule checked on the start data (a script task right after the start event).
START_CHECK_XML = CHECKED_XML.replace(
    b'<bpmn:sequenceFlow id="flow_start_accept" sourceRef="start" targetRef="accept" />',
    b'<bpmn:sequenceFlow id="flow_start_accept" sourceRef="start" targetRef="check_start" />'
    b'<bpmn:sequenceFlow id="flow_check_accept" sourceRef="check_start" targetRef="accept" />',
).replace(
    b'<bpmn:endEvent id="end_approved"',
    b'<bpmn:scriptTask id="check_start" name="\xe6\xa0\xb8\xe5\xaf\xb9\xe7\x94\xb3\xe8\xaf\xb7">'
    b"<bpmn:incoming>flow_start_accept</bpmn:incoming><bpmn:outgoing>flow_check_accept</bpmn:outgoing>"
    b"<bpmn:script>start_amount = rules_test_checked_amount(amount)</bpmn:script></bpmn:scriptTask>"
    b'<bpmn:endEvent id="end_approved"',
).replace(b"<bpmn:incoming>flow_start_accept</bpmn:incoming>\n      <bpmn:outgoing>flow_accept_review",
          b"<bpmn:incoming>flow_check_accept</bpmn:incoming>\n      <bpmn:outgoing>flow_accept_review")


@pytest.fixture
def ready(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    return database




def _to_decision(database, clock, amount):
    instance = start(database, clock, {"applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": amount})
    in_session(database, service.complete_task, clock, open_task(database, instance.id, "accept").id, {"accepted": True}, CHEN)
    in_session(database, service.complete_task, clock, open_task(database, instance.id, "review").id, {"opinion": "同意"}, ZHAO)
    return instance


def test_rule_violation_in_a_script_answers_the_person_and_changes_nothing(ready, clock):
    deploy(ready, clock, CHECKED_XML)
    instance = _to_decision(ready, clock, -5)
    decide = open_task(ready, instance.id, "decide")
    before = snapshot(ready, instance.id)
    with pytest.raises(InvalidInput) as refused:
        in_session(ready, service.complete_task, clock, decide.id, {"decision": "approve"}, WANG)
    assert refused.value.message == "核定金额不能为负数" and refused.value.problems == ["amount: -5"]
    assert snapshot(ready, instance.id) == before  # still running, task still open, no event
    # Another answer that does not hit the rule goes through.
    in_session(ready, service.complete_task, clock, decide.id, {"decision": "reject"}, WANG)
    with ready.session() as session:
        assert service.get_instance(session, instance.id).status == "completed"


def test_rule_respected_completes_and_a_script_bug_still_fails_the_instance(ready, clock):
    deploy(ready, clock, CHECKED_XML)
    good = _to_decision(ready, clock, 7)
    in_session(ready, service.complete_task, clock, open_task(ready, good.id, "decide").id, {"decision": "approve"}, WANG)
    bug = _to_decision(ready, clock, "七")  # `"七" < 0` is a TypeError: a bug, not a rule
    in_session(ready, service.complete_task, clock, open_task(ready, bug.id, "decide").id, {"decision": "approve"}, WANG)
    with ready.session() as session:
        assert service.get_instance(session, good.id).status == "completed"
        failed = service.get_instance(session, bug.id)
    assert failed.status == "failed" and "TypeError" in failed.error


def test_bad_start_data_caught_by_a_start_script_is_a_422_and_creates_nothing(ready, clock):
    deploy(ready, clock, START_CHECK_XML)
    with pytest.raises(InvalidInput) as refused:
        start(ready, clock, {"applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": -1})
    assert refused.value.problems == ["amount: -1"]
    with ready.session() as session:
        assert session.exec(select(ProcessInstance)).all() == []
    assert start(ready, clock, {"applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": 1}).status == "running"


def test_rule_violation_is_found_through_wrapped_errors():
    rule = InvalidInput("规则")
    try:
        try:
            raise rule
        except InvalidInput as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert rule_violation(outer) is rule
    assert rule_violation(ValueError("bug")) is None
