"""Benchmark (a): cases through the engine with persistence next to plain in-memory SpiffWorkflow.

The case is tests/timers_bpmn/timed_case.bpmn — accept → review → decide with a 5-working-day
case clock and stage limits. Three ways, same process, same run, same data:

- `memory`: plain SpiffWorkflow (parsed once, default script engine), no persistence;
- `serialized`: the same plus core's spec-keyed serializer: serialize + restore between steps
  (what persistence costs before the database);
- `engine`: dutyflow's service (`start_instance`, `complete_task` ×3) on a SQLite file: one
  transaction per step with workflow state, task rows, timing events, case/stage deadlines and
  timer/warning rows, the optimistic version check and catalog look-ups for the lanes.

Each way reports wall-clock and CPU time (`time.process_time`): the machine is shared, and CPU
time of this process (SQLite runs in it) is the steadier figure under other people's load.

    python bench/runtime_throughput.py --n 300
    python bench/runtime_throughput.py --n 300 --profile      # where the engine's time goes
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.parser.process import VALIDATOR  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine.auth.roles import ADMIN, STAFF, Actor  # noqa: E402
from engine.catalog import service as catalog  # noqa: E402
from engine.catalog.io import read_catalog  # noqa: E402
from engine.clock import BEIJING, ControlledClock  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.runtime import service  # noqa: E402
from engine.runtime.models import WorkTask  # noqa: E402

BPMN = ROOT / "tests" / "timers_bpmn" / "timed_case.bpmn"
START_DATA = {"limit": "5个工作日", "unit_code": "MZ-SHJZ", "department_code": "MZ", "applicant": "张三"}
STEPS = (("accept", {"complete": True}), ("review", {"expert": False}), ("decide", {"decision": "approve"}))
ADMIN_ACTOR = Actor(username="bench", roles=frozenset({ADMIN}))
HANDLER = Actor(username="bench-staff", staff_id="S003", roles=frozenset({STAFF}))


def parse_spec():
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(BPMN))
    return parser.get_spec("timed_case")


class Timer:
    """Wall-clock and CPU seconds of the enclosed block."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def run_memory(n: int) -> Timer:
    spec = parse_spec()
    with Timer() as timer:
        _memory_cases(spec, n)
    return timer


def _memory_cases(spec, n: int) -> None:
    for _ in range(n):
        workflow = BpmnWorkflow(spec)
        workflow.get_next_task(spec_name="Start").data.update(START_DATA)
        workflow.do_engine_steps()
        for name, data in STEPS:
            task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == name)
            task.data.update(data)
            task.run()
            workflow.do_engine_steps()
        assert workflow.is_completed()


def run_serialized(n: int) -> Timer:
    from engine.runtime.serializer import SPEC_CACHE, deserialize_workflow, new_workflow, serialize_workflow

    spec = parse_spec()
    SPEC_CACHE.put("bench-timed-case", spec, {})
    with Timer() as timer:
        _serialized_cases(spec, n, new_workflow, serialize_workflow, deserialize_workflow)
    return timer


def _serialized_cases(spec, n: int, new_workflow, serialize_workflow, deserialize_workflow) -> None:
    for _ in range(n):
        workflow = new_workflow("bench-timed-case", spec, {})
        workflow.get_next_task(spec_name="Start").data.update(START_DATA)
        workflow.do_engine_steps()
        state = serialize_workflow(workflow)
        for name, data in STEPS:
            workflow = deserialize_workflow(state)
            task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == name)
            task.data.update(data)
            task.run()
            workflow.do_engine_steps()
            state = serialize_workflow(workflow)
        assert workflow.is_completed()


def prepare_engine() -> tuple[Database, ControlledClock]:
    from datetime import datetime

    database = Database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    database.upgrade()
    clock = ControlledClock(datetime(2026, 9, 30, 9, 0, tzinfo=BEIJING))
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(ROOT / "examples" / "demo-catalog.yaml"), "bench", clock.now())
        catalog.publish_version(session, version.id, "bench", clock.now())
        service.deploy_definition(session, clock, BPMN.read_bytes(), BPMN.name, ADMIN_ACTOR)
    return database, clock


def run_engine(database: Database, clock: ControlledClock, n: int) -> Timer:
    with Timer() as timer:
        _engine_cases(database, clock, n)
    return timer


def _engine_cases(database: Database, clock: ControlledClock, n: int) -> None:
    from sqlalchemy import select

    for _ in range(n):
        with database.session() as session:
            instance_id = service.start_instance(session, clock, "timed_case", START_DATA, HANDLER).id
        for name, data in STEPS:
            clock.advance(minutes=10)
            with database.session() as session:
                task_id = session.scalar(select(WorkTask.id).where(
                    WorkTask.instance_id == instance_id, WorkTask.task_spec == name, WorkTask.state == "ready"))
                service.complete_task(session, clock, task_id, data, HANDLER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="cases per way")
    parser.add_argument("--profile", action="store_true", help="print the engine run's top functions")
    args = parser.parse_args()

    run_memory(20)  # warm caches and imports the same way for all three
    memory = run_memory(args.n)
    serialized = run_serialized(args.n)
    database, clock = prepare_engine()
    run_engine(database, clock, 5)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    engine = run_engine(database, clock, args.n)
    if profiler:
        profiler.disable()
    timers = {"memory": memory, "serialized": serialized, "engine": engine}
    for name, timer in timers.items():
        print(f"{name:>10}: {args.n / timer.wall:8.1f} cases/s wall ({1000 * timer.wall / args.n:6.2f} ms per case), "
              f"{args.n / timer.cpu:8.1f} cases/s CPU ({1000 * timer.cpu / args.n:6.2f} ms per case)")
    for name in ("serialized", "engine"):
        print(f"{name} / memory = {memory.wall / timers[name].wall:.1%} wall, {memory.cpu / timers[name].cpu:.1%} CPU")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
