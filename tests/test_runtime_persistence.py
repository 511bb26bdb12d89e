"""One persistence path: the optimistic version is the mapper's, ORM objects see what a step wrote,
and a step's timing events go to the database in one insert, in the order they were logged."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from engine.errors import Conflict
from engine.models.runtime import ProcessInstance, TimingEvent, WorkTask
from engine.runtime import events, instances, service, tasks
from tests.runtime_helpers import CHEN, deploy, load_demo_catalog, open_task, start


@pytest.fixture
def case(database, clock, demo_catalog_path) -> int:
    load_demo_catalog(database, clock, demo_catalog_path)
    deploy(database, clock)
    return start(database, clock).id


def test_a_stale_instance_version_is_a_conflict(database, clock, case):
    with database.session() as session:
        stale = session.get(ProcessInstance, case)
        version = stale.version
    with database.session() as session:  # another writer saves the instance meanwhile
        instances.bump_version(session, session.get(ProcessInstance, case), updated_at=clock.now())
    with pytest.raises(Conflict):
        with database.session() as session:
            session.add(stale)
            instances.bump_version(session, stale, updated_at=clock.now())
    with database.session() as session:
        assert session.get(ProcessInstance, case).version == version + 1


def test_every_save_counts_the_version_up_even_when_no_value_changes(database, clock, case):
    with database.session() as session:
        row = session.get(ProcessInstance, case)
        before = row.version
        instances.bump_version(session, row, updated_at=row.updated_at)
        assert row.version == before + 1
    with database.session() as session:
        assert session.get(ProcessInstance, case).version == before + 1


def test_an_orm_object_in_the_session_holds_what_a_step_wrote(database, clock, case):
    task = open_task(database, case, "accept")
    with database.session() as session:
        held = session.get(WorkTask, task.id)
        done = service.complete_task(session, clock, task.id, {"accepted": True}, CHEN)
        assert done is held  # the ORM object of the session, not a copy
        assert (held.status, held.completed_by, held.form_data) == ("completed", "chenjing", {"accepted": True})
        assert not session.dirty  # written already: nothing left for a flush
        tasks.update_task(session, task.id, urge_count=3)
        assert held.urge_count == 3 and not session.dirty
    with database.session() as session:
        row = session.get(WorkTask, task.id)
        assert (row.status, row.urge_count, row.form_data) == ("completed", 3, {"accepted": True})


def test_a_step_writes_its_timing_events_in_one_insert(database, clock, case):
    task = open_task(database, case, "accept")
    inserts: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if statement.startswith("INSERT INTO timing_event"):
            inserts.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        with database.session() as session:
            service.complete_task(session, clock, task.id, {"accepted": True}, CHEN)
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    assert len(inserts) == 1
    with database.session() as session:
        kinds = [e.kind for e in service.timeline(session, case) if e.task_id is not None]
    assert kinds[-3:] == ["task_ready", "completed", "task_ready"]  # ids in the order logged


def test_logged_events_are_seen_by_queries_of_the_same_transaction_and_go_with_a_rollback(database, clock, case):
    with database.session() as session:
        count = len(events.timeline(session, case))
    with pytest.raises(RuntimeError):
        with database.session() as session:
            events.log_event(session, case, "urged", clock.now(), detail={"n": 1})
            events.log_event(session, case, "urged", clock.now(), detail={"n": 2})
            assert [e.detail for e in events.timeline(session, case)][-2:] == [{"n": 1}, {"n": 2}]
            raise RuntimeError("the request fails")
    with database.session() as session:
        assert len(events.timeline(session, case)) == count
        events.log_event(session, case, "urged", clock.now())
    with database.session() as session:  # committed without a query: written before the commit
        assert session.scalars(select(TimingEvent.kind).order_by(TimingEvent.id.desc())).first() == "urged"
