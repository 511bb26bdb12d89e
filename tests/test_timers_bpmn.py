"""BPMN timers obey the controlled clock: intermediate catch, non-interrupting and interrupting
boundary timers with working-day `timeDate`s from the calendar (`due_after`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.util.task import TaskState

from engine.clock import BEIJING, ControlledClock
from engine.runtime import timer_functions  # noqa: F401  (registers due_after & co.)
from engine.runtime.scripting import make_script_engine
from engine.runtime.sim_clock import ShimDatetime, engine_time
from engine.runtime.timers import timer_due, waiting_timers

BPMN_DIR = Path(__file__).resolve().parent / "timers_bpmn"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


@pytest.fixture
def workflow(clock):
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(BPMN_DIR / "timer_events.bpmn"))
    wf = BpmnWorkflow(parser.get_spec("timer_events"), script_engine=make_script_engine())
    with engine_time(clock):
        wf.do_engine_steps()
    return wf


def step(wf: BpmnWorkflow, clock: ControlledClock) -> None:
    """What the worker does when a timer row is due: refresh timers, run engine steps."""
    with engine_time(clock):
        wf.refresh_timers()
        wf.do_engine_steps()


def ready(wf: BpmnWorkflow) -> set[str]:
    return {t.task_spec.name for t in wf.get_tasks(state=TaskState.READY, manual=True)}


def complete(wf: BpmnWorkflow, name: str, clock: ControlledClock) -> None:
    task = next(t for t in wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == name)
    with engine_time(clock):
        task.run()
        wf.do_engine_steps()


def test_shim_reads_the_engine_moment_and_falls_back_to_real_time():
    moment = at(2030, 1, 2, 3, 4)
    with engine_time(moment):
        assert ShimDatetime.now(BEIJING) == moment
    real = ShimDatetime.now(BEIJING)
    assert real.year >= 2026 and real != moment


def test_intermediate_catch_timer_waits_for_the_working_day_deadline(workflow, clock):
    # 2026-09-30 + 1 working day: 10-01..10-07 are National Day holidays, 10-08 is the first.
    [timer] = waiting_timers(workflow)
    assert timer.spec_name == "wait"
    assert timer.due_at == at(2026, 10, 8, 17, 30)
    clock.set(at(2026, 10, 8, 17, 29))
    step(workflow, clock)
    assert ready(workflow) == set()
    clock.set(at(2026, 10, 8, 17, 31))
    step(workflow, clock)
    assert ready(workflow) == {"after_wait"}
    assert waiting_timers(workflow) == []


def test_boundary_timers_non_interrupting_then_interrupting(workflow, clock):
    clock.set(at(2026, 10, 8, 18, 0))
    step(workflow, clock)
    complete(workflow, "after_wait", clock)
    assert ready(workflow) == {"handle"}
    due = {t.spec_name: t.due_at for t in waiting_timers(workflow)}
    # Counted from 10-08: 10-09, the 调休 Saturday 10-10, then (Sunday off) 10-12.
    assert due == {"reminder": at(2026, 10, 9, 17, 30), "deadline": at(2026, 10, 12, 17, 30)}

    clock.set(at(2026, 10, 9, 17, 31))
    step(workflow, clock)
    assert ready(workflow) == {"handle", "remind"}, "a non-interrupting timer leaves the task ready"

    clock.set(at(2026, 10, 12, 17, 31))
    step(workflow, clock)
    assert ready(workflow) == {"remind", "escalated"}, "an interrupting timer cancels the task"
    handle = next(t for t in workflow.get_tasks() if t.task_spec.name == "handle")
    assert handle.state == TaskState.CANCELLED


def test_timer_due_reads_event_value_with_offsets(workflow):
    [task] = [t for t in workflow.get_tasks(state=TaskState.WAITING) if t.task_spec.name == "wait"]
    assert timer_due(task) == at(2026, 10, 8, 17, 30)
    task.internal_data["event_value"] = "2026-10-09T09:00:00+00:00"
    assert timer_due(task) == at(2026, 10, 9, 17, 0)
