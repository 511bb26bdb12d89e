"""Tasks at posts and every task operation, each refused cleanly when not allowed and logged when done."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import select

from engine.errors import Conflict, Forbidden, InvalidInput
from engine.models.runtime import ProcessInstance, WorkTask
from engine.runtime import service
from engine.runtime.instances import load_workflow, save_workflow
from tests.runtime_helpers import (
    CHEN,
    WANG,
    WU,
    XIAO,
    YANG,
    ZHAO,
    deploy,
    in_session,
    kinds,
    load_demo_catalog,
    open_task,
    snapshot,
    start,
)


@pytest.fixture
def ready(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    deploy(database, clock)
    return database




def test_start_puts_the_first_task_at_the_lane_post_and_in_the_holders_inbox(ready, clock):
    instance = start(ready, clock)
    assert instance.status == "running" and instance.version >= 2
    task = open_task(ready, instance.id, "accept")
    assert (task.post_code, task.name, task.stage) == ("MZ-SHJZ-01", "受理", "受理")
    for holder in (CHEN, YANG):  # both hold 低保审核岗
        assert [e.task.id for e in in_session(ready, service.inbox, clock, holder)] == [task.id]
    assert in_session(ready, service.inbox, clock, ZHAO) == []
    assert kinds(ready, instance.id) == ["instance_started", "task_ready"]


def test_full_case_follows_lanes_including_a_variable_lane_and_ends(ready, clock):
    instance = start(ready, clock)
    in_session(ready, service.complete_task, clock, open_task(ready, instance.id, "accept").id, {"accepted": True}, CHEN)
    review = open_task(ready, instance.id, "review")
    assert review.post_code == "MZ-SHJZ-02"  # from $reviewer_post
    clock.advance(hours=3)
    in_session(ready, service.complete_task, clock, review.id, {"opinion": "符合条件", "amount": "800"}, ZHAO)
    in_session(ready, service.complete_task, clock, open_task(ready, instance.id, "decide").id, {"decision": "approve"}, WANG)
    with ready.session() as session:
        done = service.get_instance(session, instance.id)
        data = service.instance_data(session, instance.id)
        events = service.timeline(session, instance.id)
    assert done.status == "completed" and done.ended_at is not None
    assert data["result"] == "批准：张三" and data["approved_amount"] == 800.0
    assert [e.kind for e in events][-1] == "instance_ended"
    completed_review = next(e for e in events if e.kind == "completed" and e.task_id == review.id)
    assert completed_review.wall_seconds == 3 * 3600 and completed_review.working_seconds == 3 * 3600
    assert completed_review.actor == "zhaolei" and completed_review.post_code == "MZ-SHJZ-02"


def test_wrong_post_is_forbidden_and_changes_nothing(ready, clock):
    instance = start(ready, clock)
    task = open_task(ready, instance.id, "accept")
    before = snapshot(ready, instance.id)
    for actor in (ZHAO, WU):
        with pytest.raises(Forbidden):
            in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, actor)
        with pytest.raises(Forbidden):
            in_session(ready, service.claim_task, clock, task.id, actor)
    assert snapshot(ready, instance.id) == before


def test_done_task_is_a_conflict_and_changes_nothing(ready, clock):
    instance = start(ready, clock)
    task = open_task(ready, instance.id, "accept")
    in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, CHEN)
    before = snapshot(ready, instance.id)
    with pytest.raises(Conflict):
        in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, CHEN)
    with pytest.raises(Conflict):
        in_session(ready, service.claim_task, clock, task.id, YANG)
    assert snapshot(ready, instance.id) == before


def test_form_validation_lists_every_problem_and_changes_nothing(ready, clock):
    instance = start(ready, clock)
    in_session(ready, service.complete_task, clock, open_task(ready, instance.id, "accept").id, {"accepted": True}, CHEN)
    review = open_task(ready, instance.id, "review")
    before = snapshot(ready, instance.id)
    with pytest.raises(InvalidInput) as info:
        in_session(ready, service.complete_task, clock, review.id, {"amount": "很多", "extra": 1, "_x": 2}, ZHAO)
    problems = " ".join(info.value.problems)
    assert "opinion" in problems and "amount" in problems and "extra" in problems and "_x" in problems
    assert snapshot(ready, instance.id) == before


def test_claim_reserves_the_task_for_one_holder(ready, clock):
    instance = start(ready, clock)
    task = open_task(ready, instance.id, "accept")
    in_session(ready, service.claim_task, clock, task.id, YANG)
    with pytest.raises(Forbidden):
        in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, CHEN)
    with pytest.raises(Conflict):
        in_session(ready, service.claim_task, clock, task.id, YANG)
    in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, YANG)
    assert kinds(ready, instance.id)[:4] == ["instance_started", "task_ready", "claimed", "completed"]


def test_transfer_then_refuse_keeps_the_sender_responsible(ready, clock):
    instance = start(ready, clock)
    task = open_task(ready, instance.id, "accept")
    with pytest.raises(InvalidInput):
        in_session(ready, service.transfer_task, clock, task.id, "RS-JY-01", "  ", CHEN)
    with pytest.raises(InvalidInput):
        in_session(ready, service.transfer_task, clock, task.id, "NO-SUCH-POST", "不属本岗", CHEN)
    in_session(ready, service.transfer_task, clock, task.id, "RS-JY-01", "属就业援助事项", CHEN)
    assert [e.relation for e in in_session(ready, service.inbox, clock, WU)] == ["transfer"]
    with pytest.raises(Forbidden):  # the receiver cannot act before accepting
        in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, WU)
    with pytest.raises(Forbidden):  # only the receiving post answers a transfer
        in_session(ready, service.accept_transfer, clock, task.id, ZHAO)
    with pytest.raises(InvalidInput):
        in_session(ready, service.refuse_transfer, clock, task.id, "", WU)
    in_session(ready, service.refuse_transfer, clock, task.id, "不属本部门职能", WU)
    row = open_task(ready, instance.id, "accept")
    assert row.post_code == "MZ-SHJZ-01" and row.transfer_to_post is None
    assert in_session(ready, service.inbox, clock, WU) == []
    with ready.session() as session:
        refused = [e for e in service.timeline(session, instance.id) if e.kind == "refused"][0]
    assert refused.detail["reason"] == "不属本部门职能" and refused.post_code == "RS-JY-01"
    with pytest.raises(Conflict):
        in_session(ready, service.accept_transfer, clock, task.id, WU)


def test_transfer_accepted_moves_the_task_to_the_receiving_post(ready, clock):
    instance = start(ready, clock)
    task = open_task(ready, instance.id, "accept")
    in_session(ready, service.transfer_task, clock, task.id, "RS-JY-01", "属就业援助事项", CHEN)
    with pytest.raises(Conflict):  # one pending transfer at a time
        in_session(ready, service.transfer_task, clock, task.id, "MZ-SHJZ-02", "再转", CHEN)
    in_session(ready, service.accept_transfer, clock, task.id, WU)
    assert open_task(ready, instance.id, "accept").post_code == "RS-JY-01"
    assert in_session(ready, service.inbox, clock, CHEN) == []
    with pytest.raises(Forbidden):
        in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, CHEN)
    in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, WU)
    with ready.session() as session:
        events = service.timeline(session, instance.id)
    transferred = next(e for e in events if e.kind == "transferred")
    assert (transferred.post_code, transferred.target_post, transferred.detail["reason"]) == (
        "MZ-SHJZ-01", "RS-JY-01", "属就业援助事项")
    assert "accepted" in [e.kind for e in events]


def test_delegate_to_backup_post_lets_the_b_post_act(ready, clock):
    instance = start(ready, clock)
    task = open_task(ready, instance.id, "accept")
    with pytest.raises(Forbidden):
        in_session(ready, service.delegate_to_backup, clock, task.id, WU)
    in_session(ready, service.delegate_to_backup, clock, task.id, ZHAO, "A角出差")  # the B角 takes it over
    assert [e.relation for e in in_session(ready, service.inbox, clock, ZHAO)] == ["backup"]
    with pytest.raises(Conflict):
        in_session(ready, service.delegate_to_backup, clock, task.id, CHEN)
    in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, ZHAO)
    with ready.session() as session:
        events = service.timeline(session, instance.id)
    delegated = next(e for e in events if e.kind == "delegated")
    assert delegated.target_post == "MZ-SHJZ-02" and delegated.detail["reason"] == "A角出差"
    completed = next(e for e in events if e.kind == "completed")
    assert completed.post_code == "MZ-SHJZ-02"


def test_send_back_returns_to_an_earlier_step(ready, clock):
    instance = start(ready, clock)
    accept = open_task(ready, instance.id, "accept")
    in_session(ready, service.complete_task, clock, accept.id, {"accepted": True, "note": "材料齐全"}, CHEN)
    in_session(ready, service.complete_task, clock, open_task(ready, instance.id, "review").id, {"opinion": "同意"}, ZHAO)
    decide = open_task(ready, instance.id, "decide")
    with pytest.raises(InvalidInput):  # not a step before this one
        in_session(ready, service.send_back, clock, decide.id, "decide", "重审", WANG)
    with pytest.raises(InvalidInput):
        in_session(ready, service.send_back, clock, decide.id, "review", "", WANG)
    with pytest.raises(Forbidden):
        in_session(ready, service.send_back, clock, decide.id, "review", "重审", ZHAO)
    in_session(ready, service.send_back, clock, decide.id, "review", "金额依据不足", WANG)
    review_again = open_task(ready, instance.id, "review")
    assert review_again.post_code == "MZ-SHJZ-02"
    with ready.session() as session:
        closed = session.get(WorkTask, decide.id)
        events = service.timeline(session, instance.id)
    assert (closed.status, closed.closed_reason) == ("cancelled", "sent_back")
    sent = next(e for e in events if e.kind == "sent_back")
    assert sent.detail == {"reason": "金额依据不足", "to_task_spec": "review"}
    # Our own log keeps the history SpiffWorkflow's reset dropped: both completions of accept/review.
    assert [e.kind for e in events].count("completed") == 2
    in_session(ready, service.complete_task, clock, review_again.id, {"opinion": "补充依据后同意"}, ZHAO)
    assert open_task(ready, instance.id, "decide").post_code == "MZ-BGS-01"


def test_withdraw_before_the_next_step_acts(ready, clock):
    instance = start(ready, clock)
    accept = open_task(ready, instance.id, "accept")
    in_session(ready, service.complete_task, clock, accept.id, {"accepted": True}, CHEN)
    review = open_task(ready, instance.id, "review")
    with pytest.raises(Forbidden):  # only the person who completed it (engine.auth.policy)
        in_session(ready, service.withdraw, clock, accept.id, YANG)
    in_session(ready, service.withdraw, clock, accept.id, CHEN)
    again = open_task(ready, instance.id, "accept")
    assert again.id != accept.id and again.post_code == "MZ-SHJZ-01"
    with ready.session() as session:
        assert session.get(WorkTask, review.id).closed_reason == "withdrawn"
    assert "withdrawn" in kinds(ready, instance.id)
    # Once the next step has acted, withdrawing is refused and nothing changes.
    in_session(ready, service.complete_task, clock, again.id, {"accepted": True}, CHEN)
    in_session(ready, service.claim_task, clock, open_task(ready, instance.id, "review").id, ZHAO)
    before = snapshot(ready, instance.id)
    with pytest.raises(Conflict):
        in_session(ready, service.withdraw, clock, again.id, CHEN)
    assert snapshot(ready, instance.id) == before


def test_urge_copy_and_comment_leave_history_rows(ready, clock):
    instance = start(ready, clock)
    task = open_task(ready, instance.id, "accept")
    with pytest.raises(Forbidden):  # neither the efficiency office nor the starter
        in_session(ready, service.urge, clock, task.id, ZHAO)
    in_session(ready, service.urge, clock, task.id, XIAO, "请今日办结")
    in_session(ready, service.urge, clock, task.id, CHEN)  # the starter may urge too
    with pytest.raises(InvalidInput):
        in_session(ready, service.copy_to, clock, task.id, ["MZ-SHJZ-02", "NOPE"], CHEN)
    in_session(ready, service.copy_to, clock, task.id, ["RS-JY-01"], CHEN)
    assert [e.relation for e in in_session(ready, service.inbox, clock, WU)] == ["reader"]
    with pytest.raises(Forbidden):  # readers may not act
        in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, WU)
    in_session(ready, service.comment, clock, task.id, "已阅，无意见", WU)
    with pytest.raises(Forbidden):
        in_session(ready, service.comment, clock, task.id, "路过", ZHAO)
    with ready.session() as session:
        events = service.timeline(session, instance.id)
        assert session.get(WorkTask, task.id).urge_count == 2
    assert [e.kind for e in events][2:] == ["urged", "urged", "copied", "commented"]
    assert events[-1].detail == {"text": "已阅，无意见"} and events[-1].actor == "wumin"
    assert events[4].detail == {"posts": ["RS-JY-01"]}


def test_suspend_blocks_every_operation_until_resumed(ready, clock):
    instance = start(ready, clock)
    task = open_task(ready, instance.id, "accept")
    with pytest.raises(Forbidden):
        in_session(ready, service.suspend_instance, clock, instance.id, CHEN)
    in_session(ready, service.suspend_instance, clock, instance.id, XIAO, "涉嫌违规，暂停办理")
    before = snapshot(ready, instance.id)
    with pytest.raises(Conflict):
        in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, CHEN)
    with pytest.raises(Conflict):
        in_session(ready, service.claim_task, clock, task.id, CHEN)
    with pytest.raises(Conflict):
        in_session(ready, service.suspend_instance, clock, instance.id, XIAO)
    assert snapshot(ready, instance.id) == before
    in_session(ready, service.activate_instance, clock, instance.id, XIAO)
    in_session(ready, service.complete_task, clock, task.id, {"accepted": True}, CHEN)
    assert kinds(ready, instance.id)[2:5] == ["suspended", "reactivated", "completed"]


def test_optimistic_version_check_refuses_a_stale_save(ready, clock):
    instance = start(ready, clock)
    with pytest.raises(Conflict), ready.session() as session:
        row, workflow = load_workflow(session, instance.id)
        # Someone else saves the instance after we read it (our row object still says the old version).
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance.id)
                        .values(version=ProcessInstance.version + 1).execution_options(synchronize_session=False))
        save_workflow(session, row, workflow, clock)
    with ready.session() as session:
        assert session.get(ProcessInstance, instance.id).version == instance.version


def test_script_error_fails_only_that_instance_with_a_clear_message(ready, clock):
    instance = start(ready, clock, {"applicant": "李四", "reviewer_post": "MZ-SHJZ-02"})  # no `amount`
    in_session(ready, service.complete_task, clock, open_task(ready, instance.id, "accept").id, {"accepted": True}, CHEN)
    in_session(ready, service.complete_task, clock, open_task(ready, instance.id, "review").id, {"opinion": "同意"}, ZHAO)
    in_session(ready, service.complete_task, clock, open_task(ready, instance.id, "decide").id, {"decision": "approve"}, WANG)
    with ready.session() as session:
        failed = service.get_instance(session, instance.id)
        events = service.timeline(session, instance.id)
    assert failed.status == "failed" and "登记批准结果" in failed.error and "amount" in failed.error
    assert events[-1].kind == "failed" and "amount" in events[-1].detail["error"]
    other = start(ready, clock)
    assert other.status == "running"


def test_unresolvable_variable_lane_fails_the_instance(ready, clock):
    instance = start(ready, clock, {"applicant": "王五", "amount": 1})  # no reviewer_post
    in_session(ready, service.complete_task, clock, open_task(ready, instance.id, "accept").id, {"accepted": True}, CHEN)
    with ready.session() as session:
        failed = service.get_instance(session, instance.id)
    assert failed.status == "failed" and "$reviewer_post" in failed.error


def test_start_checks_data_and_duty_code(ready, clock):
    with pytest.raises(InvalidInput):
        start(ready, clock, {"__class__": 1})
    with pytest.raises(InvalidInput):
        start(ready, clock, {"duty_code": "NO-SUCH-DUTY"})
    with ready.session() as session:
        assert session.exec(select(ProcessInstance)).all() == []


def test_two_people_completing_one_task_at_once_one_wins(ready, clock):
    import threading

    instance = start(ready, clock)
    task_id = open_task(ready, instance.id, "accept").id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(actor):
        barrier.wait()
        try:
            with ready.session() as session:
                service.complete_task(session, clock, task_id, {"accepted": True}, actor)
            outcomes.append("ok")
        except (Conflict, Forbidden):
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(actor,)) for actor in (CHEN, YANG)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert kinds(ready, instance.id).count("completed") == 1
    assert open_task(ready, instance.id, "review").post_code == "MZ-SHJZ-02"
