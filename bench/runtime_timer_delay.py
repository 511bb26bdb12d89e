"""Benchmark (b): with 100,000 pending timers, how late does a due timer fire?

Set-up: a migrated database (a fresh SQLite file unless --url names one), the demo catalog, the
process bench/runtime_timer.bpmn (start → timer catch at `fire_at` → user task). `--due`
instances are started with real timers coming due over `--spread` seconds; `--pending` more
timer rows (of cloned instances) wait far in the future, so the claim query runs over a big
table. Then `--workers` real workers (SystemClock, run_forever) fire them, and for every due
timer the delay = (moment its transaction committed) − (its due time) is recorded.

    python bench/runtime_timer_delay.py --pending 100000 --due 200 --spread 20
    python bench/runtime_timer_delay.py --url postgresql://postgres@127.0.0.1:5432/bench --workers 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from engine.auth.roles import ADMIN, STAFF, Actor  # noqa: E402
from engine.catalog import service as catalog  # noqa: E402
from engine.catalog.io import read_catalog  # noqa: E402
from engine.clock import BEIJING, SystemClock  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.models.runtime import ProcessInstance  # noqa: E402
from engine.models.timers import RuntimeTimer, TimerKind, TimerStatus  # noqa: E402
from engine.runtime import service  # noqa: E402
from engine.runtime.worker import Worker  # noqa: E402

ADMIN_ACTOR = Actor(username="bench", roles=frozenset({ADMIN}))
STARTER = Actor(username="bench-staff", staff_id="S003", roles=frozenset({STAFF}))


class TimingWorker(Worker):
    """A worker that notes when each firing transaction has committed."""

    def __init__(self, *args, done: dict[int, float], **kwargs):
        super().__init__(*args, **kwargs)
        self.done = done

    def fire(self, timer_id: int) -> str:
        outcome = super().fire(timer_id)
        self.done[timer_id] = time.time()
        return outcome


def prepare(database: Database, pending: int) -> None:
    clock = SystemClock()
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(ROOT / "examples" / "demo-catalog.yaml"), "bench", clock.now())
        catalog.publish_version(session, version.id, "bench", clock.now())
        path = ROOT / "bench" / "runtime_timer.bpmn"
        service.deploy_definition(session, clock, path.read_bytes(), path.name, ADMIN_ACTOR)
    far = datetime(2027, 6, 1, tzinfo=BEIJING)
    with database.session() as session:
        template = service.start_instance(session, clock, "bench_timer", {"fire_at": far.isoformat()}, STARTER)
        fields = session.get(ProcessInstance, template.id).model_dump(exclude={"id"})
    # The far-future rows: cloned instances inserted in bulk, each with one pending timer row.
    chunk = 5000
    made = 0
    while made < pending:
        n = min(chunk, pending - made)
        with database.session() as session:
            ids = session.scalars(insert(ProcessInstance).returning(ProcessInstance.id), [fields] * n).all()
            now = clock.now()
            session.execute(insert(RuntimeTimer), [
                {"instance_id": iid, "task_id": f"filler-{iid}", "kind": TimerKind.bpmn, "spec_name": "wait",
                 "due_at": far + timedelta(minutes=i % 100_000), "status": TimerStatus.pending, "attempts": 0,
                 "created_at": now}
                for i, iid in enumerate(ids)
            ])
        made += n


def start_due(database: Database, due: int, spread: float, lead: float) -> datetime:
    clock = SystemClock()
    base = clock.now() + timedelta(seconds=lead)
    for i in range(due):
        fire_at = base + timedelta(seconds=spread * i / max(due, 1))
        with database.session() as session:
            service.start_instance(session, clock, "bench_timer", {"fire_at": fire_at.isoformat()}, STARTER)
    return base


def run(args) -> dict:
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    database = Database(url)
    upgrade(database)
    t0 = time.perf_counter()
    prepare(database, args.pending)
    setup_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    first_due = start_due(database, args.due, args.spread, args.lead)
    start_seconds = time.perf_counter() - t0
    if datetime.now(UTC) > first_due:
        print("warning: starting the due instances took longer than --lead; raise it", file=sys.stderr)
    with database.session() as session:
        total_pending = session.scalar(select(func.count()).select_from(RuntimeTimer).where(
            RuntimeTimer.status == TimerStatus.pending))
        due_rows = dict(session.execute(select(RuntimeTimer.id, RuntimeTimer.due_at).where(
            RuntimeTimer.status == TimerStatus.pending, RuntimeTimer.task_id.not_like("filler-%"),
            RuntimeTimer.due_at < datetime(2027, 1, 1, tzinfo=UTC))).all())
    done: dict[int, float] = {}
    stop = threading.Event()
    workers = [TimingWorker(database, SystemClock(), worker_id=f"bench-{i}", batch=args.batch,
                            max_sleep=args.max_sleep, done=done) for i in range(args.workers)]
    threads = [threading.Thread(target=w.run_forever, args=(stop,)) for w in workers]
    for thread in threads:
        thread.start()
    deadline = time.time() + args.lead + args.spread + 120
    while time.time() < deadline and not all(i in done for i in due_rows):
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join()
    delays = sorted(done[i] - _utc(due_rows[i]).timestamp() for i in due_rows if i in done)
    with database.session() as session:
        fired = session.scalar(select(func.count()).select_from(RuntimeTimer).where(
            RuntimeTimer.id.in_(list(due_rows)), RuntimeTimer.status == TimerStatus.fired))
        plan = _claim_plan(database, session)
    database.dispose()
    return {
        "backend": database.engine.dialect.name, "pending_rows": total_pending, "due_timers": len(due_rows),
        "fired": fired, "workers": args.workers, "setup_s": round(setup_seconds, 1),
        "start_due_s": round(start_seconds, 1),
        "delay_p50_s": round(statistics.median(delays), 3) if delays else None,
        "delay_p95_s": round(delays[int(0.95 * (len(delays) - 1))], 3) if delays else None,
        "delay_max_s": round(delays[-1], 3) if delays else None, "claim_plan": plan,
    }


def _claim_plan(database: Database, session) -> str:
    """How the database finds due rows (must be the (status, due_at) index, not a scan)."""
    query = ("SELECT id FROM runtime_timer WHERE status = 'pending' AND due_at <= CURRENT_TIMESTAMP "
             "ORDER BY due_at LIMIT 20")
    if database.is_sqlite:
        rows = session.execute(text("EXPLAIN QUERY PLAN " + query)).all()
        return "; ".join(str(r[-1]) for r in rows)
    rows = session.execute(text("EXPLAIN " + query)).all()
    return " / ".join(r[0].strip() for r in rows)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--pending", type=int, default=100_000, help="far-future pending timer rows")
    parser.add_argument("--due", type=int, default=200, help="timers that come due during the run")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds over which they come due")
    parser.add_argument("--lead", type=float, default=30.0, help="seconds from start-up to the first due timer")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--max-sleep", type=float, default=1.0)
    args = parser.parse_args()
    for key, value in run(args).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
