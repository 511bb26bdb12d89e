"""Figures at scale (issue 12 item 6): the efficiency figures and a year's objective indicators
over N synthetic cases, on SQLite or PostgreSQL.

    python bench/metrics_scale.py --backend sqlite --cases 100000
    python bench/metrics_scale.py --backend postgresql --cases 1000000
    python bench/metrics_scale.py --backend sqlite --cases 100000 --copies 10   # 1,000,000 cases, faster
    python bench/metrics_scale.py --backend sqlite --cases 1000000 --keep     # prints the file's URL
    python bench/metrics_scale.py --backend sqlite --cases 0 --database sqlite:////tmp/h12_….sqlite [--backfill]

A fresh database (SQLite: a file under /tmp; PostgreSQL: the database `h12_scale_bench` on
127.0.0.1:5432, user postgres, created and dropped here; `--pg-database` names another) gets the schema (Alembic), the demo
catalog (examples/demo-catalog.yaml) imported and published through engine.catalog.service, then
N cases written in batches straight into the tables the figures read (Core executemany, no ORM):
process_definition (one row), process_instance, work_task, stage_deadline, case_deadline and
timing_event. The cases look like the record the runtime writes:
- each case is a duty of the demo catalog (its department, unit and posts), started at a random
  office moment of 2026 (Beijing), with a case limit of 5 to 20 calendar days;
- ~3 steps a case (受理, 审查, 决定) at the duty's posts, each with a `task_ready` and, once done,
  a `completed` timing event carrying the working time; 受理 and 审查 have a stage limit (a
  `stage_deadline` row per readiness), 决定 has none; ~3 % of cases send 审查 back once (a
  cancelled task row and a second readiness);
- ~85 % of finished cases on time; cases started in the last weeks of the year still open, some
  of them past due (red) or paused; ~4 % with an extension (`extended` event, a later due
  moment), ~2 % with a late one-time notice (`notice_late`).
After loading, PostgreSQL gets ANALYZE (engine.runtime.metrics's docstring: without statistics
it may plan a quadratic join). The rows were written around the engine, so the rollups its steps
keep (step_rollup, step_month_rollup, case_rollup, instance_rollup) are then filled by
engine.runtime.rollups.backfill — the statements migration 0020
fill them with on an upgraded database (timed apart as `backfill_seconds`). Each task row names its
stage row (`work_task.stage_deadline_id`), as the step that opens both writes it. Then, in the same process, each figure is timed (wall and CPU)
and the peak resident memory of the query phase is read (VmHWM, reset before the phase through
/proc/self/clear_refs) next to the whole process's peak (getrusage, which includes loading).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_DATABASE = "h12_scale_bench"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
CATALOG = ROOT / "examples" / "demo-catalog.yaml"
YEAR = 2026
BATCH = 5000  # cases a batch (~15,000 task rows, ~40,000 rows in all)
NOW = datetime(YEAR + 1, 1, 10, 9, 0, tzinfo=UTC)  # the figures are read early in the next year
ROLLUPS = ("step_rollup", "step_month_rollup", "case_rollup", "instance_rollup")


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)


def fresh_database(backend: str, name: str = PG_DATABASE) -> str:
    if backend == "sqlite":
        path = Path(f"/tmp/h12_scale_bench_{os.getpid()}.sqlite")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    psql(f"DROP DATABASE IF EXISTS {name}")
    psql(f"CREATE DATABASE {name}")
    return f"{PG_SERVER}/{name}"


def drop_database(backend: str, url: str, name: str = PG_DATABASE) -> None:
    if backend == "sqlite":
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm", ".startup-lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        psql(f"DROP DATABASE IF EXISTS {name}")


def publish_catalog(database) -> tuple[int, list[dict]]:
    """Import and publish the demo catalog; the duties that have a unit, with their posts."""
    from engine.application import wire
    from engine.catalog import io, service

    wire()
    document = io.read_catalog(CATALOG)
    with database.session() as session:
        version = service.import_catalog(session, document, "bench", NOW - timedelta(days=400), checked=True)
        service.publish_version(session, version.id, "bench", NOW - timedelta(days=400))
        version_id = version.id
    duties = []
    for duty in document.duties:
        units = list(duty.units or [])
        posts = [p.post for p in (duty.posts or [])]
        if not units or not posts:
            continue
        duties.append({"code": duty.code, "department": duty.department, "unit": units[0], "posts": posts})
    return version_id, duties


class Loader:
    """Synthetic cases written in batches with explicit ids (no RETURNING round trips)."""

    def __init__(self, duties: list[dict], seed: int = 2026):
        self.rng = random.Random(seed)
        self.duties = duties
        # A few busy duties and a long tail, as in real offices; one duty never gets a case,
        # so 常规工作 has an idle duty to report.
        self.weights = [1.0 / (i + 1) for i in range(len(duties) - 1)] + [0.0]
        self.next = {"instance": 1, "task": 1, "stage": 1, "case": 1, "event": 1}
        self.year_start = datetime(YEAR, 1, 1, tzinfo=UTC) - timedelta(hours=8)
        self.year_seconds = 365 * 86400

    def take(self, kind: str) -> int:
        value = self.next[kind]
        self.next[kind] = value + 1
        return value

    def office_moment(self, moment: datetime) -> datetime:
        """Move a moment into office hours (Beijing 09:00–17:00, Monday to Friday)."""
        local = moment + timedelta(hours=8)
        while local.weekday() >= 5:
            local += timedelta(days=1)
        if not 9 <= local.hour < 17:
            local = local.replace(hour=9 + self.rng.randrange(8), minute=self.rng.randrange(60))
        return local - timedelta(hours=8)

    def batch(self, count: int, definition_id: int) -> dict[str, list[dict]]:
        rng = self.rng
        rows: dict[str, list[dict]] = {"instance": [], "task": [], "stage": [], "case": [], "event": []}
        for _ in range(count):
            duty = rng.choices(self.duties, self.weights)[0]
            posts = duty["posts"]
            started = self.office_moment(self.year_start + timedelta(seconds=rng.randrange(self.year_seconds)))
            instance_id = self.take("instance")
            limit_days = rng.choice((5, 7, 10, 15, 20))
            due = started + timedelta(days=limit_days)
            late_case = rng.random() < 0.15
            extended = rng.random() < 0.04
            if extended:
                due += timedelta(days=5)
            # Steps: 受理 (stage limit 1 day), 审查 (3 days), 决定 (no stage limit).
            moment = started
            case_open = False
            # Cases of the last month: ~40 % still wait at one of their steps (some past due: red).
            stuck = rng.randrange(3) if started > NOW - timedelta(days=30) and rng.random() < 0.4 else None
            step_plan = [("accept", "受理", posts[0], 86400), ("review", "审查", posts[-1], 3 * 86400),
                         ("decide", "决定", posts[0], None)]
            sent_back = rng.random() < 0.03
            for position, (spec, stage, post, stage_limit) in enumerate(step_plan):
                spiff_id = str(uuid.UUID(int=rng.getrandbits(128)))
                repeats = 2 if (sent_back and spec == "review") else 1
                for attempt in range(repeats):
                    ready = moment
                    task_id = self.take("task")
                    total_span = (due - started).total_seconds()
                    share = rng.uniform(0.1, 0.4) * (1.3 if late_case else 0.25)
                    worked = max(600.0, rng.lognormvariate(9.5, 0.8))
                    done = ready + timedelta(seconds=share * total_span + worked)
                    still_open = done > NOW or position == stuck
                    stage_id = None
                    if stage_limit is not None:
                        stage_id = self.take("stage")
                        stage_due = ready + timedelta(seconds=stage_limit)
                        rows["stage"].append({
                            "id": stage_id, "instance_id": instance_id, "task_id": spiff_id, "task_spec": spec,
                            "stage": stage, "limit_text": "1个工作日" if stage_limit == 86400 else "3个工作日",
                            "clock_mode": None, "started_at": ready, "due_at": stage_due,
                            "yellow_at": stage_due - timedelta(seconds=stage_limit // 4), "provisional": False,
                            "status": "open" if still_open else ("cancelled" if attempt < repeats - 1 else "completed"),
                            "ended_at": None if still_open else done,
                            "overran": (not still_open) and done > stage_due})
                    cancelled = attempt < repeats - 1 and not still_open
                    done = min(done, NOW)
                    state = "ready" if still_open else ("cancelled" if cancelled else "completed")
                    rows["task"].append({
                        "id": task_id, "instance_id": instance_id, "spiff_task_id": spiff_id, "task_spec": spec,
                        "name": stage, "lane": None, "stage": stage, "status": state, "post_code": post,
                        "ready_at": ready, "urge_count": 0,
                        "completed_at": done if state == "completed" else None,
                        "completed_by": f"staff-{post}" if state == "completed" else None,
                        "completed_staff_id": None, "completed_post": post if state == "completed" else None,
                        "closed_reason": "sent_back" if cancelled else None, "form_data": {},
                        "stage_deadline_id": stage_id})
                    rows["event"].append(self.event(instance_id, task_id, "task_ready", ready, post))
                    if state == "completed":
                        rows["event"].append(self.event(instance_id, task_id, "completed", done, post,
                                                        wall=(done - ready).total_seconds(), working=worked))
                    if still_open:
                        case_open = True
                        break
                    moment = done
                if case_open:
                    break
            if extended:
                rows["event"].append(self.event(instance_id, None, "extended", started + timedelta(days=2), posts[0]))
            if rng.random() < 0.02:
                rows["event"].append(self.event(instance_id, None, "notice_late", started + timedelta(days=1), posts[0]))
            finished = None if case_open else moment
            paused = case_open and rng.random() < 0.1
            rows["instance"].append({
                "id": instance_id, "definition_id": definition_id, "process_id": "time_limited_case",
                "status": "running" if case_open else "completed", "duty_code": duty["code"],
                "subject": f"{duty['code']} 第 {instance_id} 件", "start_data": {}, "state_json": "{}",
                "version": 1, "started_at": started, "started_by": "窗口", "starter_staff_id": None,
                "updated_at": finished or started, "ended_at": finished, "error": None})
            rows["case"].append({
                "id": self.take("case"), "instance_id": instance_id, "duty_code": duty["code"],
                "unit_code": duty["unit"], "department_code": duty["department"],
                "limit_text": f"{limit_days}日", "limit_source": "committed", "counting_from": started,
                "restarts": 0, "extensions": [{"days": 5}] if extended else [], "paused_seconds": 0,
                "paused_since": started + timedelta(days=1) if paused else None,
                "pause_reason": "补正材料" if paused else None, "due_at": due,
                "yellow_at": due - timedelta(days=limit_days / 4), "provisional": False,
                "finished_at": finished, "on_time": None if finished is None else finished <= due,
                "created_at": started})
        return rows

    def event(self, instance_id: int, task_id: int | None, kind: str, at: datetime, post: str,
              wall: float | None = None, working: float | None = None) -> dict:
        return {"id": self.take("event"), "instance_id": instance_id, "task_id": task_id, "kind": kind, "at": at,
                "actor": f"staff-{post}", "staff_id": None, "post_code": post, "target_post": None, "detail": {},
                "wall_seconds": wall, "working_seconds": working}


def replicate(database, tables: dict, copies: int) -> None:
    """Copy the loaded cases `copies - 1` times in SQL, every id and reference shifted past the
    originals: N × copies cases at the speed of the database rather than of Python's generator (the
    copies repeat the originals' moments, so each day has `copies` times the cases)."""
    from sqlalchemy import func, insert, select

    with database.engine.begin() as conn:
        top = {kind: conn.execute(select(func.max(table.c.id))).scalar_one() for kind, table in tables.items()}
        for copy in range(1, copies):
            for kind, table in tables.items():
                shifted = []
                for column in table.c:
                    if column.name == "id":
                        shifted.append(column + copy * top[kind])
                    elif column.name == "instance_id":
                        shifted.append(column + copy * top["instance"])
                    elif kind == "event" and column.name == "task_id":
                        shifted.append(column + copy * top["task"])
                    elif kind == "task" and column.name == "stage_deadline_id":
                        shifted.append(column + copy * top["stage"])
                    else:
                        shifted.append(column)
                conn.execute(insert(table).from_select([c.name for c in table.c],
                                                       select(*shifted).where(table.c.id <= top[kind])))
            print(f"  copy {copy} of {copies - 1} written", file=sys.stderr, flush=True)


def load(database, duties: list[dict], cases: int, copies: int = 1) -> dict:
    from engine.models.runtime import ProcessDefinition, ProcessInstance, TimingEvent, WorkTask
    from engine.models.timers import CaseDeadline, StageDeadline
    from engine.runtime import rollups

    tables = {"instance": ProcessInstance.__table__, "task": WorkTask.__table__, "stage": StageDeadline.__table__,
              "case": CaseDeadline.__table__, "event": TimingEvent.__table__}
    with database.engine.begin() as conn:
        definition_id = conn.execute(ProcessDefinition.__table__.insert().values(
            process_id="time_limited_case", version=1, name="限时办结", filename="time_limited_case.bpmn",
            content_hash="0" * 64, bpmn_xml="<definitions/>", spec_json="{}", deployed_at=NOW - timedelta(days=400),
            deployed_by="bench")).inserted_primary_key[0]
    loader = Loader(duties)
    started = time.perf_counter()
    done = 0
    while done < cases:
        count = min(BATCH, cases - done)
        rows = loader.batch(count, definition_id)
        with database.engine.begin() as conn:
            for kind in ("instance", "task", "stage", "case", "event"):
                conn.execute(tables[kind].insert(), rows[kind])
        done += count
        if done % 100000 == 0 or done == cases:
            print(f"  loaded {done:,} cases in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    if copies > 1:
        replicate(database, tables, copies)
    if database.engine.dialect.name == "postgresql":
        if os.environ.get("BENCH_NO_ANALYZE") != "1":
            with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        # PostgreSQL sequences: the explicit ids above skipped them.
    else:
        with database.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    load_seconds = round(time.perf_counter() - started, 1)
    # The rows above were written around the engine, so the rollups its steps would have kept are
    # filled the way migration 0020 fills them on an upgraded database: the same statements.
    started = time.perf_counter()
    with database.engine.begin() as conn:
        rollups.backfill(conn)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in ROLLUPS:
            conn.exec_driver_sql(f"ANALYZE {name}")
    backfill_seconds = round(time.perf_counter() - started, 1)
    with database.engine.connect() as conn:
        rollup_rows = {name: conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one() for name in ROLLUPS}
    counts = {kind: (loader.next[kind] - 1) * copies for kind in loader.next}
    return {"load_seconds": load_seconds, "backfill_seconds": backfill_seconds, "rows": counts,
            "rollup_rows": rollup_rows}


def vm_hwm_mb(field: str = "VmHWM") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


SERVER: dict[str, int] = {}  # PostgreSQL: the pid of the measuring session's backend


def server_cpu() -> float:
    """CPU seconds (user + system) the PostgreSQL backend of the measuring session has used, from
    /proc (the server runs on this machine); 0 on SQLite, where the query runs in this process."""
    if "pid" not in SERVER:
        return 0.0
    fields = Path(f"/proc/{SERVER['pid']}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(label: str, action, results: list[dict]) -> object:
    wall0, cpu0, server0 = time.perf_counter(), time.process_time(), server_cpu()
    value = action()
    results.append({"figure": label, "wall_s": round(time.perf_counter() - wall0, 3),
                    "cpu_s": round(time.process_time() - cpu0, 3), "server_cpu_s": round(server_cpu() - server0, 3)})
    print(f"  {label}: {results[-1]['wall_s']} s wall, {results[-1]['cpu_s']} s CPU, "
          f"{results[-1]['server_cpu_s']} s server CPU", file=sys.stderr, flush=True)
    return value


def measure(database, version_id: int, unit: str, department: str) -> dict:
    from sqlalchemy import text

    from engine.clock import BEIJING, ControlledClock
    from engine.evaluation import indicators
    from engine.runtime import metrics

    clock = ControlledClock(NOW)
    since, until = datetime(YEAR, 1, 1, tzinfo=BEIJING), datetime(YEAR + 1, 1, 1, tzinfo=BEIJING)
    results: list[dict] = []
    samples: dict[str, object] = {}
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: the peak of the query phase alone
    rss_at_start = round(vm_hwm_mb("VmRSS"), 1)
    with database.session() as session:
        if database.engine.dialect.name == "postgresql":
            # All of a figure's work in the session's backend, whose CPU time /proc tells: on this
            # shared machine wall time says more about the other processes than about the query.
            session.execute(text("SET max_parallel_workers_per_gather = 0"))
            SERVER["pid"] = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        figures = timed("办件 by department", lambda: metrics.case_figures(session, clock, "department", since, until),
                        results)
        samples["case_by_department"] = [r.as_dict() for r in figures.rows][:3]
        timed("办件 by unit", lambda: metrics.case_figures(session, clock, "unit", since, until), results)
        figures = timed("环节 by post", lambda: metrics.step_figures(session, clock, "post", since, until), results)
        samples["step_by_post"] = [r.as_dict() for r in figures.rows][:2]
        timed("环节 by unit", lambda: metrics.step_figures(session, clock, "unit", since, until), results)
        timed("环节 by department", lambda: metrics.step_figures(session, clock, "department", since, until), results)
        value = timed(f"高效履职 {unit} {YEAR}", lambda: indicators.compute(
            session, indicators.EFFICIENCY, unit, YEAR, None, NOW, version_id), results)
        samples["efficiency_unit"] = {"value": float(value.value), **value.figures}
        value = timed(f"常规工作 {unit} {YEAR}", lambda: indicators.compute(
            session, indicators.ROUTINE_WORK, unit, YEAR, None, NOW, version_id), results)
        samples["routine_unit"] = {"value": float(value.value), **value.figures}
        value = timed(f"高效履职 {department} {YEAR}（部门）", lambda: indicators.compute(
            session, indicators.EFFICIENCY, department, YEAR, None, NOW, version_id, by_department=True), results)
        samples["efficiency_department"] = {"value": float(value.value), **value.figures}
        value = timed(f"常规工作 {department} {YEAR}（部门）", lambda: indicators.compute(
            session, indicators.ROUTINE_WORK, department, YEAR, None, NOW, version_id, by_department=True), results)
        samples["routine_department"] = {"value": float(value.value), **value.figures}
    return {"figures": results, "rss_before_queries_mb": rss_at_start,
            "query_phase_peak_rss_mb": round(vm_hwm_mb(), 1), "samples": samples}


def remeasure(database, args) -> None:
    """The figures again on a kept database (after a change to the queries or to the rollups)."""
    from engine.application import wire
    from engine.catalog import io
    from engine.catalog.in_force import catalog_version_id
    from engine.migrate import upgrade
    from engine.runtime import rollups

    wire()
    started = time.perf_counter()
    upgrade(database)  # on a database kept before migrations 0017–0020: the fills of 0020, timed
    loaded: dict = {"upgrade_seconds": round(time.perf_counter() - started, 1)}
    if args.backfill:
        started = time.perf_counter()
        with database.engine.begin() as conn:
            for name in ROLLUPS:
                conn.exec_driver_sql(f"DELETE FROM {name}")
            rollups.backfill(conn)
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in ROLLUPS:
                conn.exec_driver_sql(f"ANALYZE {name}")
        loaded["backfill_seconds"] = round(time.perf_counter() - started, 1)
    with database.engine.connect() as conn:
        loaded["rollup_rows"] = {name: conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
                                 for name in ROLLUPS}
    with database.session() as session:
        version_id = catalog_version_id(session)
    busiest = next(duty for duty in io.read_catalog(CATALOG).duties if duty.units and duty.posts)
    measured = measure(database, version_id, list(busiest.units)[0], busiest.department)
    database.dispose()
    print(json.dumps({"backend": database.engine.dialect.name, **loaded, **measured,
                      "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
                     ensure_ascii=False, indent=1, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--keep", action="store_true", help="leave the database in place (EXPLAIN afterwards)")
    parser.add_argument("--copies", type=int, default=1,
                        help="write --cases cases, then copy them in SQL: --cases × --copies cases in all")
    parser.add_argument("--database", help="measure again on a database kept with --keep (no load, not dropped)")
    parser.add_argument("--backfill", action="store_true", help="with --database: empty and fill the rollups again")
    parser.add_argument("--pg-database", default=PG_DATABASE, help="the PostgreSQL database made (and dropped) here")
    args = parser.parse_args()

    from engine.db import Database
    from engine.migrate import upgrade

    if args.database:
        remeasure(Database(args.database), args)
        return
    url = fresh_database(args.backend, args.pg_database)
    try:
        database = Database(url)
        upgrade(database)
        version_id, duties = publish_catalog(database)
        loaded = load(database, duties, args.cases, args.copies)
        print(f"  loaded: {json.dumps(loaded, ensure_ascii=False)}", file=sys.stderr, flush=True)
        busiest = duties[0]
        measured = measure(database, version_id, busiest["unit"], busiest["department"])
        database.dispose()
        report = {"backend": args.backend, "cases": args.cases * args.copies, "copies": args.copies, "database": url if args.keep else None, **loaded, **measured,
                  "process_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
        print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    finally:
        if not args.keep:
            drop_database(args.backend, url, args.pg_database)


if __name__ == "__main__":
    main()
