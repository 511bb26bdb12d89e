"""The timer worker: rows written with the step, claimed with leases, fired exactly once —
with two workers at once, after a worker dies holding claims, and across a crash mid-run."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.models.runtime import WorkTask
from engine.models.timers import RuntimeTimer, TimerKind, TimerStatus
from engine.runtime import service, timers
from engine.runtime import worker as worker_module
from engine.runtime.worker import Worker, should_embed
from tests.timers_helpers import (
    EFFICIENCY,
    at,
    complete,
    count_tasks,
    open_tasks,
    setup_catalog_and_processes,
    start,
)

WAIT_DUE = at(2026, 10, 8, 17, 30)  # 1 working day after 2026-09-30


@pytest.fixture
def processes(database, clock, demo_catalog_path):
    setup_catalog_and_processes(database, clock, demo_catalog_path, "timer_events")


def start_waiting(database, clock, n: int) -> list[int]:
    return [start(database, clock, "timer_events", {"applicant": f"申请人{i}"}) for i in range(n)]


def timer_rows(database, **where) -> list[RuntimeTimer]:
    with database.session() as session:
        query = select(RuntimeTimer).order_by(RuntimeTimer.id)
        for key, value in where.items():
            query = query.where(getattr(RuntimeTimer, key) == value)
        return list(session.scalars(query))


def after_wait_per_instance(database) -> dict[int, int]:
    with database.session() as session:
        rows = session.execute(
            select(WorkTask.instance_id, func.count()).where(WorkTask.task_spec == "after_wait")
            .group_by(WorkTask.instance_id)
        ).all()
    return dict(rows)


def test_a_waiting_timer_is_a_row_written_with_the_step(database, clock, processes):
    [instance] = start_waiting(database, clock, 1)
    [row] = timer_rows(database, instance_id=instance)
    assert (row.kind, row.spec_name, row.status, row.due_at) == (TimerKind.bpmn, "wait", TimerStatus.pending, WAIT_DUE)


def test_worker_fires_only_due_rows_and_each_once(database, clock, processes):
    [instance] = start_waiting(database, clock, 1)
    worker = Worker(database, clock, worker_id="w1")
    clock.set(at(2026, 10, 8, 17, 29))
    assert worker.run_once() == 0
    clock.set(WAIT_DUE)  # exactly the due moment: fires
    assert worker.run_once() == 1
    assert list(open_tasks(database, instance)) == ["after_wait"]
    assert worker.run_once() == 0
    [row] = timer_rows(database, instance_id=instance, spec_name="wait")
    assert row.status == TimerStatus.fired and row.finished_at == WAIT_DUE


def test_boundary_timer_rows_follow_the_task(database, clock, processes):
    [instance] = start_waiting(database, clock, 1)
    clock.set(at(2026, 10, 8, 18, 0))
    Worker(database, clock, worker_id="w1").run_once()
    complete(database, clock, instance, "after_wait")
    pending = {r.spec_name: r.due_at for r in timer_rows(database, instance_id=instance, status=TimerStatus.pending)}
    assert pending == {"reminder": at(2026, 10, 9, 17, 30), "deadline": at(2026, 10, 12, 17, 30)}
    complete(database, clock, instance, "handle")  # done before either timer: both rows cancelled
    assert timer_rows(database, instance_id=instance, status=TimerStatus.pending) == []
    assert {r.spec_name for r in timer_rows(database, instance_id=instance, status=TimerStatus.cancelled)} == {
        "reminder", "deadline"}
    clock.set(at(2026, 10, 20, 9, 0))
    assert Worker(database, clock, worker_id="w1").run_once() == 0


def test_non_interrupting_and_interrupting_boundary_timers_through_the_worker(database, clock, processes):
    [instance] = start_waiting(database, clock, 1)
    worker = Worker(database, clock, worker_id="w1")
    clock.set(at(2026, 10, 8, 18, 0))
    worker.run_once()
    complete(database, clock, instance, "after_wait")
    clock.set(at(2026, 10, 9, 17, 31))
    assert worker.run_once() == 1
    assert set(open_tasks(database, instance)) == {"handle", "remind"}
    clock.set(at(2026, 10, 12, 17, 31))
    assert worker.run_once() == 1
    assert set(open_tasks(database, instance)) == {"remind", "escalated"}
    with database.session() as session:
        [handle] = session.scalars(select(WorkTask).where(WorkTask.task_spec == "handle"))
        assert handle.status == "cancelled"


def test_suspended_instance_timer_waits_until_resumed(database, clock, processes):
    [instance] = start_waiting(database, clock, 1)
    with database.session() as session:
        service.suspend_instance(session, clock, instance, EFFICIENCY, "核查")
    worker = Worker(database, clock, worker_id="w1")
    clock.set(at(2026, 10, 9, 9, 0))
    assert worker.run_once() == 0
    assert open_tasks(database, instance) == {}
    [row] = timer_rows(database, instance_id=instance)
    assert row.status == TimerStatus.pending and row.lock_owner is None
    with database.session() as session:
        service.activate_instance(session, clock, instance, EFFICIENCY)
    clock.advance(seconds=timers.DEFER_SECONDS + 1)
    assert worker.run_once() == 1
    assert list(open_tasks(database, instance)) == ["after_wait"]


def test_a_worker_that_dies_holding_claims_loses_them_after_the_lease(database, clock, processes):
    instances = start_waiting(database, clock, 3)
    clock.set(at(2026, 10, 9, 9, 0))
    dead = Worker(database, clock, worker_id="dead", lease_seconds=30)
    claimed = dead.claim()
    assert len(claimed) == 3  # ... and the process dies here, finishing nothing
    alive = Worker(database, clock, worker_id="alive", lease_seconds=30)
    assert alive.run_once() == 0, "leased rows are not taken while the lease runs"
    clock.advance(seconds=31)
    assert alive.run_once() == 3
    # the dead worker's late attempt is fenced off: nothing fires twice
    assert [dead.fire(timer_id) for timer_id in claimed] == ["lost"] * 3
    assert after_wait_per_instance(database) == dict.fromkeys(instances, 1)


class Killed(BaseException):
    """Simulates the process being killed inside a transaction."""


def test_killing_a_worker_mid_run_loses_no_step_and_repeats_none(database, clock, processes, monkeypatch):
    instances = start_waiting(database, clock, 10)
    clock.set(at(2026, 10, 9, 9, 0))
    first = Worker(database, clock, worker_id="first", lease_seconds=30, batch=10)
    claimed = first.claim()
    assert len(claimed) == 10
    for timer_id in claimed[:4]:
        assert first.fire(timer_id) == TimerStatus.fired

    real_finish = timers.finish

    def killed(*args, **kwargs):
        raise Killed()

    monkeypatch.setattr(timers, "finish", killed)
    with pytest.raises(Killed):
        first.fire(claimed[4])  # dies after firing the workflow, before its transaction commits
    monkeypatch.setattr(timers, "finish", real_finish)

    restarted = Worker(database, clock, worker_id="restarted", lease_seconds=30, batch=10)
    assert restarted.run_once() == 0  # the dead process's leases still hold
    clock.advance(seconds=31)
    assert restarted.run_until_idle() == 6
    assert after_wait_per_instance(database) == dict.fromkeys(instances, 1)
    assert len(timer_rows(database, kind=TimerKind.bpmn, status=TimerStatus.fired)) == 10


def test_a_failing_row_is_retried_then_parked(database, clock, processes, monkeypatch):
    [instance] = start_waiting(database, clock, 1)

    def broken(*args, **kwargs):
        raise RuntimeError("数据库外的故障")

    monkeypatch.setattr(worker_module, "fire_bpmn", broken)
    worker = Worker(database, clock, worker_id="w1", lease_seconds=10)
    clock.set(at(2026, 10, 9, 9, 0))
    for _ in range(timers.MAX_ATTEMPTS):
        assert worker.run_once() == 0
        clock.advance(seconds=11)
    [row] = timer_rows(database, instance_id=instance)
    assert row.status == TimerStatus.failed and "数据库外的故障" in row.last_error
    assert open_tasks(database, instance) == {}


def clone_waiting_instance(database, instance_id: int, copies: int) -> list[int]:
    """Copies of a waiting instance with their timer rows, inserted in bulk (a short set-up for
    the many-timers test; each copy is a complete instance the engine loads and fires)."""
    from engine.models.runtime import ProcessInstance

    with database.session() as session:
        original = session.get(ProcessInstance, instance_id)
        [timer] = session.scalars(select(RuntimeTimer).where(RuntimeTimer.instance_id == instance_id))
        fields = original.model_dump(exclude={"id"})
        clones = [ProcessInstance(**fields) for _ in range(copies)]
        session.add_all(clones)
        session.flush()
        timer_fields = timer.model_dump(exclude={"id", "instance_id"})
        session.add_all([RuntimeTimer(instance_id=clone.id, **timer_fields) for clone in clones])
        return [instance_id] + [clone.id for clone in clones]


@pytest.mark.slow
def test_many_workers_fire_a_thousand_due_timers_exactly_once(database, clock, processes):
    """Two workers on PostgreSQL (threads, each with its own connection) fire 1,000 timers; on
    SQLite the one worker a server runs fires 200 (alone, it has no one to race: more rows would
    only make the test longer). Every timer fires exactly once, no instance steps twice."""
    total = 200 if database.is_sqlite else 1000
    [first] = start_waiting(database, clock, 1)
    instances = clone_waiting_instance(database, first, total - 1)
    clock.set(at(2026, 10, 9, 9, 0))
    count = 1 if database.is_sqlite else 2
    workers = [Worker(database, clock, worker_id=f"w{i}", lease_seconds=120, batch=25) for i in range(count)]
    errors: list[BaseException] = []

    def run(worker: Worker) -> None:
        try:
            worker.run_until_idle(max_rounds=10_000)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(w.stats.fired for w in workers) == total
    assert sum(w.stats.lost for w in workers) == 0
    assert len(timer_rows(database, kind=TimerKind.bpmn, spec_name="wait", status=TimerStatus.fired)) == total
    assert after_wait_per_instance(database) == dict.fromkeys(instances, 1)
    assert count_tasks(database, "after_wait") == total
    if count > 1:
        assert all(w.stats.fired > 0 for w in workers), "both workers took part"


def test_embedded_worker_setting(database):
    # The default runs a worker in the server on every backend: on PostgreSQL a server whose only
    # timer workers are separate processes, none running, would fire no yellow or red card at all.
    assert should_embed("on", database) is True
    assert should_embed("off", database) is False
    assert should_embed("auto", database) is True
