"""The live-workflow cache: a step reuses the workflow the last committed step saved, never one
that differs from the stored state (another writer, a rolled-back step)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from engine.models.runtime import ProcessInstance, WorkTask
from engine.runtime import instances, service, workflow_cache
from tests.runtime_helpers import CHEN, deploy, load_demo_catalog, open_task, start


@pytest.fixture
def restores(monkeypatch) -> list[int]:
    """Instance ids whose workflow was restored from JSON (not taken from the cache)."""
    seen: list[int] = []  # one entry per restore
    real = instances.deserialize_workflow

    def counting(state: str):
        seen.append(1)
        return real(state)

    monkeypatch.setattr(instances, "deserialize_workflow", counting)
    return seen


@pytest.fixture
def case(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    deploy(database, clock)
    workflow_cache.CACHE.clear()
    return start(database, clock).id


def _complete(database, clock, task_id: int, data: dict) -> None:
    with database.session() as session:
        service.complete_task(session, clock, task_id, data, CHEN)


def test_the_next_step_takes_the_workflow_the_committed_step_saved(database, clock, case, restores):
    task = open_task(database, case, "accept")
    _complete(database, clock, task.id, {"accepted": True})
    assert restores == []  # taken from the cache, not restored
    assert open_task(database, case, "review").status == "ready"


def test_a_state_written_by_another_process_is_restored_not_taken(database, clock, case, restores):
    # Another server process saves the instance: same workflow, different text in the row.
    with database.session() as session:
        row = session.get(ProcessInstance, case)
        row.state_json = json.dumps(json.loads(row.state_json), indent=1)
        session.add(row)
    task = open_task(database, case, "accept")
    _complete(database, clock, task.id, {"accepted": True})
    assert len(restores) == 1
    assert open_task(database, case, "review").status == "ready"


def test_a_rolled_back_step_leaves_nothing_behind(database, clock, case, restores):
    task = open_task(database, case, "accept")
    with pytest.raises(RuntimeError):
        with database.session() as session:
            service.complete_task(session, clock, task.id, {"accepted": True}, CHEN)
            raise RuntimeError("the request fails after the step ran")
    with database.session() as session:
        assert session.get(WorkTask, task.id).status == "ready"
    assert len(workflow_cache.CACHE) == 0  # the step took the entry and did not give it back
    # The step runs again from the stored state: the workflow the failed step advanced is gone.
    _complete(database, clock, task.id, {"accepted": True})
    assert len(restores) == 1
    with database.session() as session:
        ready = session.exec(select(WorkTask.task_spec).where(WorkTask.instance_id == case,
                                                              WorkTask.status == "ready")).all()
    assert ready == ["review"]


def test_the_cache_keeps_at_most_its_bound():
    cache = workflow_cache.WorkflowCache(max_entries=2)
    for instance_id in (1, 2, 3):
        cache.put(("db", instance_id), f"state {instance_id}", object())
    assert len(cache) == 2
    assert cache.take(("db", 1), "state 1") is None  # the oldest went first
    assert cache.take(("db", 3), "other state") is None  # a different state text is never taken
    assert cache.take(("db", 3), "state 3") is None  # ...and the mismatched entry was dropped
    assert cache.take(("db", 2), "state 2") is not None
