"""Benchmark (a): cases through the engine with persistence next to plain in-memory SpiffWorkflow.

The case is tests/timers_bpmn/timed_case.bpmn — accept → review → decide with a 5-working-day
case clock and stage limits. Three ways, same process, same run, same data:

- `memory`: plain SpiffWorkflow (parsed once, default script engine), no persistence;
- `serialized`: the same plus core's spec-keyed serializer: serialize + restore between steps
  (what persistence costs before the database);
- `saved`: the same, serialized after every step but never restored — what persistence costs
  before the database now that the engine keeps live workflows between steps;
- `db-replay`: the SQL the engine ran for one case (its four transactions, captured with the
  driver's trace callback), replayed with the sqlite3 driver alone on a copy of the database —
  what the database itself costs, without any Python logic;
- `engine`: dutyflow's service (`start_instance`, `complete_task` ×3) on a SQLite file: one
  transaction per step with workflow state, task rows, timing events, case/stage deadlines and
  timer/warning rows, the optimistic version check and catalog look-ups for the lanes. Its
  statements per case are counted too (SQLAlchemy's `before_cursor_execute`, and SQLite's own
  trace of what it ran).

`memory + (saved − memory) + db-replay` is a floor for any engine that persists each step in its
own transaction on this machine: the ratio it allows is printed as the best possible one.

Each way reports wall-clock and CPU time (`time.process_time`): the machine is shared, and CPU
time of this process (SQLite runs in it) is the steadier figure under other people's load.

    python bench/runtime_throughput.py --n 300
    python bench/runtime_throughput.py --n 300 --profile      # where the engine's time goes
    python bench/runtime_throughput.py --n 300 --floor        # also `saved` and `db-replay`
    python bench/runtime_throughput.py --n 150 --breakdown    # time the parts of the steps
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.parser.process import VALIDATOR  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import bindparam, event, select  # noqa: E402

from engine.application import wire  # noqa: E402
from engine.auth.roles import ADMIN, STAFF, Actor  # noqa: E402
from engine.catalog import service as catalog  # noqa: E402
from engine.catalog.io import read_catalog  # noqa: E402
from engine.clock import BEIJING, ControlledClock  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.models.runtime import WorkTask  # noqa: E402
from engine.runtime import service  # noqa: E402
from engine.runtime.serializer import SPEC_CACHE, deserialize_workflow, new_workflow, serialize_workflow  # noqa: E402

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


def run_saved(n: int) -> Timer:
    spec = parse_spec()
    SPEC_CACHE.put("bench-timed-case", spec, {})
    with Timer() as timer:
        for _ in range(n):
            workflow = new_workflow("bench-timed-case", spec, {})
            workflow.get_next_task(spec_name="Start").data.update(START_DATA)
            workflow.do_engine_steps()
            serialize_workflow(workflow)
            for name, data in STEPS:
                task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == name)
                task.data.update(data)
                task.run()
                workflow.do_engine_steps()
                serialize_workflow(workflow)
    return timer


def run_db_replay(database: Database, clock: ControlledClock, n: int) -> Timer:
    """Capture the SQL of one engine case, then run it n times with the sqlite3 driver alone."""
    transactions: list[list[str]] = []

    def trace(statement: str) -> None:
        if statement == "BEGIN IMMEDIATE":
            transactions.append([])
        transactions[-1].append(statement)

    def on_checkout(dbapi_connection, _record, _proxy) -> None:
        dbapi_connection.set_trace_callback(trace)

    event.listen(database.engine, "checkout", on_checkout)
    _engine_cases(database, clock, 1)
    event.remove(database.engine, "checkout", on_checkout)
    database.engine.dispose()  # the trace callbacks go with the connections
    path = database.engine.url.database
    with sqlite3.connect(path) as source:
        source.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = f"{tempfile.mkdtemp()}/replay.db"
    shutil.copy(path, copy)
    connection = sqlite3.connect(copy, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=OFF"):
        connection.execute(f"PRAGMA {pragma}")
    with Timer() as timer:
        for _ in range(n):  # the same rows again: unique keys clash, which costs what an insert does
            for statements in transactions:
                for statement in statements:
                    try:
                        connection.execute(statement)
                    except sqlite3.IntegrityError:
                        pass
    connection.close()
    return timer


# Parts of an engine step timed by --breakdown: (module, function, label). Parts overlap where
# one calls another; a function imported by name elsewhere is wrapped where it is called from.
BREAKDOWN = (
    ("sqlmodel", "Session.commit", "commits (with the step's timing events)"),
    ("engine.runtime.instances", "after_step", "after_step: clocks, new task rows, warning rows, timers"),
    ("engine.runtime.clocks.sync", "compute_moments", "- due/yellow moments on the calendar"),
    ("engine.runtime.clocks.sync", "open_stage", "- opening stage rows"),
    ("engine.runtime.instances", "serialize_workflow", "serializing the workflow"),
    ("engine.runtime.instances", "plan_tasks", "task rows: open ones read and closed, lanes of new ones"),
    ("engine.runtime.instances", "insert_tasks", "- new task rows with assignments"),
    ("engine.runtime.task_service", "load_task", "reading the task and instance rows"),
    ("engine.runtime.task_service", "policy.require_act", "checking the actor's posts"),
    ("engine.runtime.instances", "bump_version", "optimistic instance update (the mapper's version column, one Core UPDATE)"),
    ("engine.runtime.instances", "write_events", "writing the timing events (one insert a step)"),
)
EVENT_MODULES = ("engine.runtime.events", "engine.runtime.instance_service", "engine.runtime.task_service",
                 "engine.runtime.tasks", "engine.runtime.instances", "engine.runtime.clocks.changes")


def install_breakdown() -> dict[str, float]:
    """Wrap the parts above (and every module's log_event) to sum their wall time."""
    spent: dict[str, float] = {}

    def timed(function, label):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
        return wrapper

    for module_name, name, label in BREAKDOWN:
        owner = importlib.import_module(module_name)
        *path, attribute = name.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, attribute, timed(getattr(owner, attribute), label))
    log_event = timed(importlib.import_module("engine.runtime.events").log_event, "timing events")
    for module_name in EVENT_MODULES:
        module = importlib.import_module(module_name)
        if hasattr(module, "log_event"):
            module.log_event = log_event
    return spent


def prepare_engine() -> tuple[Database, ControlledClock]:
    database = Database(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    upgrade(database)
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


# The client's part: find the open task of the step (a client of the API has its id from the
# inbox). A statement built once, as the engine's own are.
TASKS = WorkTask.__table__
OPEN_TASK = select(TASKS.c.id).where(TASKS.c.instance_id == bindparam("p_instance"),
                                     TASKS.c.task_spec == bindparam("p_spec"), TASKS.c.status == "ready")


def _engine_cases(database: Database, clock: ControlledClock, n: int) -> None:
    for _ in range(n):
        with database.session() as session:
            instance_id = service.start_instance(session, clock, "timed_case", START_DATA, HANDLER).id
        for name, data in STEPS:
            clock.advance(minutes=10)
            with database.session() as session:
                task_id = session.execute(OPEN_TASK, {"p_instance": instance_id, "p_spec": name}).scalar_one()
                service.complete_task(session, clock, task_id, data, HANDLER)


class StatementCount:
    """Statements per case while enabled: those SQLAlchemy sends (`before_cursor_execute`; an
    executemany counts once) and, on SQLite, those the database runs (the driver's trace callback;
    BEGIN and COMMIT included, each row of an executemany counted)."""

    def __init__(self, database: Database):
        self.database = database
        self.sent = 0
        self.run = 0

    def _sent(self, *_args) -> None:
        self.sent += 1

    def _trace(self, _statement: str) -> None:
        self.run += 1

    def _checkout(self, dbapi_connection, _record, _proxy) -> None:
        dbapi_connection.set_trace_callback(self._trace)

    def __enter__(self) -> StatementCount:
        self.database.engine.dispose()  # connections made from now on carry the trace callback
        event.listen(self.database.engine, "before_cursor_execute", self._sent)
        event.listen(self.database.engine, "checkout", self._checkout)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.database.engine, "before_cursor_execute", self._sent)
        event.remove(self.database.engine, "checkout", self._checkout)
        self.database.engine.dispose()


def count_statements(database: Database, clock: ControlledClock, n: int = 20) -> tuple[float, float]:
    """(statements sent through SQLAlchemy, statements SQLite ran) per engine case."""
    with StatementCount(database) as count:
        _engine_cases(database, clock, n)
    return count.sent / n, count.run / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="cases per way")
    parser.add_argument("--profile", action="store_true", help="print the engine run's top functions")
    parser.add_argument("--floor", action="store_true", help="also the `saved` and `db-replay` ways")
    parser.add_argument("--breakdown", action="store_true", help="time the parts of the engine's steps")
    args = parser.parse_args()
    wire()

    run_memory(20)  # warm caches and imports the same way for all of them
    timers = {"memory": run_memory(args.n), "serialized": run_serialized(args.n)}
    if args.floor:
        timers["saved"] = run_saved(args.n)
    database, clock = prepare_engine()
    run_engine(database, clock, 5)
    spent = install_breakdown() if args.breakdown else None
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    timers["engine"] = run_engine(database, clock, args.n)
    if profiler:
        profiler.disable()
    statements = count_statements(database, clock)
    if args.floor:
        timers["db-replay"] = run_db_replay(database, clock, args.n)
    for name, timer in timers.items():
        print(f"{name:>10}: {args.n / timer.wall:8.1f} cases/s wall ({1000 * timer.wall / args.n:6.2f} ms per case), "
              f"{args.n / timer.cpu:8.1f} cases/s CPU ({1000 * timer.cpu / args.n:6.2f} ms per case)")
    print(f"statements per engine case: {statements[0]:.1f} sent through SQLAlchemy, "
          f"{statements[1]:.1f} run by SQLite (BEGIN and COMMIT included)")
    memory = timers["memory"]
    for name in ("serialized", "engine"):
        print(f"{name} / memory = {memory.wall / timers[name].wall:.1%} wall, {memory.cpu / timers[name].cpu:.1%} CPU")
    if args.floor:
        floor_wall = timers["saved"].wall + timers["db-replay"].wall
        floor_cpu = timers["saved"].cpu + timers["db-replay"].cpu
        print(f"floor (saved + db-replay) = {1000 * floor_wall / args.n:.2f} ms per case wall; best possible "
              f"ratio = {memory.wall / floor_wall:.1%} wall, {memory.cpu / floor_cpu:.1%} CPU")
    if spent is not None:
        print("engine parts (wall ms per case; parts overlap where one calls another):")
        for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
            print(f"  {1000 * seconds / args.n:6.2f}  {label}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
