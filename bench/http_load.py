"""Benchmark: what a deployment feels — N clerks over HTTP against `dutyflow serve --workers 2`.

Each clerk (a thread with one keep-alive HTTP connection and its own API token) repeats: start a
限时办结 case (`POST /api/instances`, process `time_limited_case`, a duty of the clerk's own post)
and complete its first step 受理 with "accept" (`POST /api/tasks/{id}/complete`). The task id comes
from the start answer's `current_tasks`; only if it is missing there does the clerk look the case up
(`GET /api/instances/{id}`, reported as `lookup`). Clerks use the demo catalog's staff who hold the
A角 post of a 限时办结 duty (s003/s004 低保, s006 婚姻登记, s010 就业困难, s032 危化品, s040 医疗机构),
so every request is one a real clerk may make; tokens are fetched once per clerk before timing.

The script does everything itself: a fresh PostgreSQL database `dutyflow_bench_http_<pid>_<n>`
(dropped at the end; DUTYFLOW_BENCH_DB_PREFIX replaces `dutyflow_bench_http_`), `dutyflow serve
--demo --workers 2` as a child process on a free port of 8710–8719 (DUTYFLOW_BENCH_PORTS=FIRST-LAST
replaces the range) with DUTYFLOW_DATABASE_URL and
a random DUTYFLOW_SECRET_KEY (the demo flag only loads and publishes the demo catalog, deploys
processes/ and creates the demo accounts at start-up; with a key set, nothing of the loopback-only
demo key is used), waits until both workers report start-up, one untimed warm-up case per clerk,
then the timed load, then SIGINT to the server.

Bounds: every clerk stops after --cases-per-client cases or when --seconds have passed (it finishes
the case in hand), whichever comes first; --seconds is capped at 300 and each request times out
after 60 s. Reported per run: cases/s, steps/s (a start and a completion are one step each), p50 /
p95 / p99 / max of each request kind, errors (any non-2xx answer or exception), and CPU used during
the timed window by the server's processes, by the PostgreSQL backends of the bench database and
by this client, each per step (on a 2-core machine the client's CPU competes with the server's).

    python bench/http_load.py --clients 2 20                      # this checkout
    python bench/http_load.py --source /work/before --source .  --clients 2 20 50 --seconds 30
    python bench/http_load.py --clients 20 --json results.json    # also the figures as JSON
    python bench/http_load.py --profile                           # where a request's time goes

--source DIR (repeatable) runs the server from another checkout (PYTHONPATH=DIR, cwd=DIR); several
sources run back to back, each on its own fresh database, with the same client.

--profile runs no server: for each --source, a child process (PYTHONPATH=DIR, cwd=DIR) builds the
app the way `serve` does (create_app with DUTYFLOW_DEMO=1) on a fresh PostgreSQL database and calls
it in-process through ASGI in one thread (the thread-pool hops of sync endpoints and dependencies
made inline, and counted, so cProfile sees everything). One request at a time, it counts per request
kind the statements the driver runs (with their text), the round trips and commits, and splits the
wall time into time in the driver (PostgreSQL plus the socket) and the rest (Python), with the
process's CPU time beside it and that CPU time split into parts (sign-in check, engine command,
building the answer, commit, the garbage collector: CPU_PARTS, no profiler on); then it profiles --profile-cases cases (wall time, or CPU time with --profile-clock cpu) and
prints the checkout's own functions by cumulative time, all functions by own time, own time by
library, and the cumulative time of the parts of a request (endpoints, engine entry points, response
building, FastAPI serialisation, sign-in check, driver); --profile-out keeps the raw profile.

    python bench/http_load.py --profile --source /work/before --source . --profile-clock cpu
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib
import json
import math
import os
import pstats
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

import anyio.to_thread
import psycopg

ROOT = Path(__file__).resolve().parents[1]
# DUTYFLOW_BENCH_PORTS="FIRST-LAST" replaces the ports tried (several people sharing one machine).
_PORTS = os.environ.get("DUTYFLOW_BENCH_PORTS", "8710-8719").split("-")
PORTS = range(int(_PORTS[0]), int(_PORTS[-1]) + 1)
# Another prefix (DUTYFLOW_BENCH_DB_PREFIX) keeps runs apart when several people share one PostgreSQL.
DB_PREFIX = os.environ.get("DUTYFLOW_BENCH_DB_PREFIX", "dutyflow_bench_http_")
PG_ADMIN_URL = os.environ.get("DUTYFLOW_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
PROCESS_ID = "time_limited_case"
FIRST_STEP = "accept_application"
PASSWORD = "dutyflow-demo"  # engine.auth.demo.DEMO_PASSWORD, shared by every demo account
# (account, duty): the account holds the duty's A角 post in examples/demo-catalog.yaml, so it may
# start the case (a duty of its own department) and complete the first step (its own post).
CLERKS = [("s003", "MZ-GF-001"), ("s006", "MZ-QR-001"), ("s010", "RS-QR-001"),
          ("s032", "AJ-XK-001"), ("s040", "WJ-XK-001"), ("s004", "MZ-GF-001")]
MAX_SECONDS = 300
MAX_CLIENTS = 200
REQUEST_TIMEOUT = 60
START_TIMEOUT = 240
IDLE_SECONDS = 5
KINDS = ("start", "lookup", "complete")


# ---------------------------------------------------------------- PostgreSQL database


def _pg_connect():
    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def create_database() -> str:
    name = f"{DB_PREFIX}{os.getpid()}_{secrets.token_hex(3)}"
    with _pg_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    assert name.startswith(DB_PREFIX)
    with _pg_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlalchemy_url(name: str) -> str:
    parts = urllib.parse.urlsplit(PG_ADMIN_URL)
    return urllib.parse.urlunsplit(parts._replace(scheme="postgresql+psycopg", path="/" + name))


def backend_pids(name: str) -> list[int]:
    with _pg_connect() as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)).fetchall()
    return [r[0] for r in rows]


# ---------------------------------------------------------------- CPU of other processes


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of one process from /proc (None if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class CpuSampler:
    """CPU seconds used by a changing set of processes during a window.

    PostgreSQL backends come and go with the pools' overflow connections, so the set is sampled
    every half second and each process counts from its first sample (zero if it appeared during
    the window) to its last; a process living less than half a second between samples is missed.
    """

    def __init__(self, find_pids):
        self.find_pids = find_pids
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self, initial: bool = False) -> None:
        for pid in self.find_pids():
            seconds = _cpu_seconds(pid)
            if seconds is None:
                continue
            self.first.setdefault(pid, seconds if initial else 0.0)
            self.last[pid] = seconds

    def _loop(self) -> None:
        while not self.stopped.wait(0.5):
            self._sample()

    def start(self) -> None:
        self._sample(initial=True)
        self.thread.start()

    def stop(self) -> float:
        self.stopped.set()
        self.thread.join()
        self._sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- the server


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sys.exit(f"no free port in {PORTS.start}–{PORTS.stop - 1}")


@dataclass
class Server:
    source: Path
    workers: int
    database: str = ""
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def start(self) -> None:
        self.database = create_database()
        self.port = free_port()
        log_dir = Path(tempfile.mkdtemp(prefix=DB_PREFIX))
        self.log_path = log_dir / "serve.log"
        env = {**os.environ, "PYTHONPATH": str(self.source), "DUTYFLOW_DATABASE_URL": sqlalchemy_url(self.database),
               "DUTYFLOW_SECRET_KEY": secrets.token_urlsafe(32)}
        env.pop("DUTYFLOW_DEMO", None)
        command = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--demo",
                   "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log_path.open("wb") as log:
            # Own session: SIGINT from a terminal reaches the bench, which then stops the server itself.
            self.process = subprocess.Popen(command, cwd=self.source, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self._wait_ready()

    def _log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def _wait_ready(self) -> None:
        """Until every uvicorn worker has finished its start-up (migrations, demo set-up, processes/)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self._log()[-4000:]}")
            if self._log().count("Application startup complete") >= self.workers:
                status, _ = request(HTTPConnection("127.0.0.1", self.port, timeout=10), "GET", "/api/me")
                if status == 401:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"server not ready after {START_TIMEOUT} s:\n{self._log()[-4000:]}")

    def pids(self) -> list[int]:
        return _descendants(self.process.pid) if self.process else []

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown (lifespan end)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()
        if self.database:
            drop_database(self.database)
            self.database = ""
        if self.log_path:
            for path in (self.log_path, self.log_path.parent):
                path.unlink() if path.is_file() else path.rmdir()
            self.log_path = None


# ---------------------------------------------------------------- HTTP client


def request(conn: HTTPConnection, method: str, path: str, body: dict | None = None, token: str | None = None,
            form: dict | None = None) -> tuple[int, dict | list | None]:
    headers = {}
    payload = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        payload = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, payload, headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, ConnectionError, TimeoutError) as exc:
        conn.close()  # http.client reconnects on the next request
        raise ConnectionError(f"{method} {path}: {exc!r}") from exc
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = {"detail": raw[:200].decode(errors="replace")}
    return response.status, data


@dataclass
class Clerk:
    number: int
    username: str
    duty: str
    port: int
    token: str = ""
    times: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*KINDS, "exception"), 0))
    messages: list[str] = field(default_factory=list)
    cases: int = 0

    def __post_init__(self):
        self.conn = HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)

    def sign_in(self) -> None:
        status, data = request(self.conn, "POST", "/api/token", form={"username": self.username, "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"sign-in of {self.username}: {status} {data}")
        self.token = data["access_token"]

    def _call(self, kind: str, method: str, path: str, body: dict | None, timed: bool):
        started = time.perf_counter()
        try:
            status, data = request(self.conn, method, path, body, self.token)
        except ConnectionError as exc:
            status, data = 0, {"detail": str(exc)}
        elapsed = time.perf_counter() - started
        if timed:
            self.times[kind].append(elapsed)
        if not 200 <= status < 300:
            if timed:
                self.errors[kind] += 1
            if len(self.messages) < 5:
                self.messages.append(f"{kind} {status}: {str(data)[:300]}")
            return None
        return data

    def one_case(self, timed: bool) -> bool:
        data = {"duty_code": self.duty, "applicant": f"压测申请人{self.number}", "matter": "压测办件"}
        case = self._call("start", "POST", "/api/instances", {"process_id": PROCESS_ID, "data": data}, timed)
        if case is None:
            return False
        task = first_step(case)
        if task is None:  # the start answer names no open step: look the case up
            case = self._call("lookup", "GET", f"/api/instances/{case['id']}", None, timed)
            task = first_step(case) if case else None
            if task is None:
                if case is not None and len(self.messages) < 5:
                    self.messages.append(f"lookup: no open step {FIRST_STEP} in {str(case)[:300]}")
                if case is not None and timed:
                    self.errors["lookup"] += 1
                return False
        done = self._call("complete", "POST", f"/api/tasks/{task['id']}/complete", {"data": {"decision": "accept"}}, timed)
        if done is None:
            return False
        if timed:
            self.cases += 1
        return True

    def run(self, limit: int, stop_at: list[float], barrier: threading.Barrier) -> None:
        """One untimed warm-up case (each worker process parses, caches, connects), then wait for
        the others; the timed cases until `limit` or the deadline set at the barrier (stop_at[0])."""
        self.conn.close()  # idle since its sign-in while the others signed in: uvicorn may have closed it
        try:
            self.one_case(timed=False)
        finally:
            barrier.wait()
        # Idle again while the others warmed up: a fresh connection, made before the clock starts.
        self.conn.close()
        try:
            self.conn.connect()
        except OSError:
            pass  # the server is gone: the first timed request fails and counts as an error
        for _ in range(limit):
            if time.monotonic() >= stop_at[0]:
                break
            try:
                self.one_case(timed=True)
            except Exception as exc:  # an answer the client cannot read (no id, not JSON …): an error
                self.errors["exception"] += 1
                if len(self.messages) < 5:
                    self.messages.append(f"exception: {exc!r}")
                self.conn.close()
        self.conn.close()


def first_step(case: dict) -> dict | None:
    tasks = case.get("current_tasks") or []
    for task in tasks:
        if task.get("bpmn_id") == FIRST_STEP or str(task.get("task_spec", "")).startswith(FIRST_STEP):
            return task
    return tasks[0] if tasks else None


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of unsorted values, in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))] * 1000


def run_load(server: Server, clients: int, cases_per_client: int, seconds: float) -> dict:
    clerks = [Clerk(i, *CLERKS[i % len(CLERKS)], server.port) for i in range(clients)]
    # Sign-ins are slow on purpose (Argon2); a few at a time, never timed. Only failed sign-ins
    # count against the rate limits, so fifty at once are fine.
    with_errors = []
    lock = threading.Lock()

    def sign(chunk: list[Clerk]) -> None:
        for clerk in chunk:
            try:
                clerk.sign_in()
            except (RuntimeError, ConnectionError) as exc:
                with lock:
                    with_errors.append(str(exc))

    signers = [threading.Thread(target=sign, args=(clerks[i::4],)) for i in range(4)]
    for t in signers:
        t.start()
    for t in signers:
        t.join()
    if with_errors:
        raise RuntimeError("; ".join(with_errors[:3]))

    barrier = threading.Barrier(clients + 1)
    stop_at = [math.inf]  # set once every clerk has finished its warm-up (all wait at the barrier)
    threads = [threading.Thread(target=clerk.run, args=(cases_per_client, stop_at, barrier)) for clerk in clerks]
    for t in threads:
        t.start()
    barrier.wait()
    load_before = os.getloadavg()
    server_cpu = CpuSampler(server.pids)
    pg_cpu = CpuSampler(lambda: backend_pids(server.database))
    server_cpu.start()
    pg_cpu.start()
    cpu_client = client_cpu()
    started = time.monotonic()
    stop_at[0] = started + seconds
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    cpu_client = client_cpu() - cpu_client
    cpu_server = server_cpu.stop()
    cpu_pg = pg_cpu.stop()
    load_after = os.getloadavg()

    kinds = {}
    for kind in KINDS:
        times = [t for c in clerks for t in c.times[kind]]
        if not times and kind == "lookup":
            continue
        kinds[kind] = {"n": len(times), "errors": sum(c.errors[kind] for c in clerks),
                       "p50_ms": percentile(times, 0.50), "p95_ms": percentile(times, 0.95),
                       "p99_ms": percentile(times, 0.99), "max_ms": max(times, default=0) * 1000,
                       "mean_ms": sum(times) / len(times) * 1000 if times else float("nan")}
    steps = sum(kinds[k]["n"] - kinds[k]["errors"] for k in ("start", "complete"))
    cases = sum(c.cases for c in clerks)
    errors = sum(k["errors"] for k in kinds.values()) + sum(c.errors["exception"] for c in clerks)
    return {
        "source": str(server.source), "clients": clients, "workers": server.workers,
        "seconds": round(elapsed, 2), "cases": cases, "steps": steps,
        "cases_per_s": cases / elapsed, "steps_per_s": steps / elapsed, "errors": errors,
        "error_samples": [m for c in clerks for m in c.messages][:5],
        "kinds": kinds,
        "cpu_ms_per_step": {"server": cpu_server * 1000 / max(steps, 1), "postgres": cpu_pg * 1000 / max(steps, 1),
                            "client": cpu_client * 1000 / max(steps, 1)},
        "cpu_share": {"server": cpu_server / elapsed, "postgres": cpu_pg / elapsed, "client": cpu_client / elapsed},
        "loadavg_1min": [round(load_before[0], 2), round(load_after[0], 2)],
    }


# ---------------------------------------------------------------- report


def print_run(result: dict) -> None:
    print(f"\n{result['source']}  clients={result['clients']}  workers={result['workers']}  "
          f"{result['seconds']:.1f} s  cases {result['cases']} ({result['cases_per_s']:.1f}/s)  "
          f"steps {result['steps']} ({result['steps_per_s']:.1f}/s)  errors {result['errors']}  "
          f"load {result['loadavg_1min'][0]}→{result['loadavg_1min'][1]}")
    cpu, share = result["cpu_ms_per_step"], result["cpu_share"]
    print(f"  CPU per step: server {cpu['server']:.1f} ms, postgres {cpu['postgres']:.1f} ms, "
          f"client {cpu['client']:.1f} ms  (cores busy: server {share['server']:.2f}, "
          f"postgres {share['postgres']:.2f}, client {share['client']:.2f})")
    print(f"  {'request':<9}{'n':>7}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'mean ms':>9}")
    for kind, k in result["kinds"].items():
        print(f"  {kind:<9}{k['n']:>7}{k['errors']:>8}{k['p50_ms']:>9.1f}{k['p95_ms']:>9.1f}{k['p99_ms']:>9.1f}"
              f"{k['max_ms']:>9.1f}{k['mean_ms']:>9.1f}")
    for message in result["error_samples"]:
        print(f"  error: {message}")


def print_summary(results: list[dict]) -> None:
    print("\n| source | clients | cases/s | steps/s | start p50 / p95 / p99 ms | complete p50 / p95 / p99 ms"
          " | errors | server CPU ms/step | PG CPU ms/step | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        s, c = r["kinds"]["start"], r["kinds"]["complete"]
        print(f"| {r['source']} | {r['clients']} | {r['cases_per_s']:.1f} | {r['steps_per_s']:.1f} | "
              f"{s['p50_ms']:.0f} / {s['p95_ms']:.0f} / {s['p99_ms']:.0f} | "
              f"{c['p50_ms']:.0f} / {c['p95_ms']:.0f} / {c['p99_ms']:.0f} | {r['errors']} | "
              f"{r['cpu_ms_per_step']['server']:.1f} | {r['cpu_ms_per_step']['postgres']:.1f} | "
              f"{r['loadavg_1min'][0]}→{r['loadavg_1min'][1]} |")


# ---------------------------------------------------------------- in-process profile (child)


def inprocess(database: str, cases: int, measured: int, top: int, dump: Path | None, cpu_clock: bool) -> None:
    """Runs in a child process with PYTHONPATH = the checkout under test; see the module docstring."""
    os.environ.update({"DUTYFLOW_DATABASE_URL": sqlalchemy_url(database), "DUTYFLOW_DEMO": "1",
                       "DUTYFLOW_SECRET_KEY": secrets.token_urlsafe(32)})
    # Imported here, in the child only: the app must come from the checkout under test (PYTHONPATH),
    # and the parent, which may drive another tree or a broken one, never loads it.
    from api.main import create_app

    hops = {"n": 0}

    async def inline(func, *args, **_options):
        hops["n"] += 1
        return func(*args)

    # Sync endpoints and dependencies run where the request runs, so one thread does all the work
    # and cProfile (one thread only) sees it. The hops it removes are counted ("pool hops"): in a
    # served app each costs ~0.1 ms of CPU and ~0.2 ms wall on this machine (anyio's thread pool,
    # measured alone), which these figures do not contain.
    anyio.to_thread.run_sync = inline

    # Counted at the driver, below SQLAlchemy: statements sent straight on the DBAPI connection
    # (engine/rawsql.py before this step) never reach SQLAlchemy's cursor events. Every exchange
    # with the server, BEGIN and COMMIT included, goes through Connection.wait: its count is the
    # round trips. The database's share of the time is measured around the driver's execute,
    # executemany, commit and rollback (sending included: on a busy machine a write to the socket
    # that wakes the backend is often where this process loses the CPU).
    counter = {"statements": 0, "db_s": 0.0, "commits": 0, "commit_s": 0.0, "round_trips": 0, "texts": {}}
    original_wait = psycopg.Connection.wait
    original_execute = psycopg.Cursor.execute
    original_executemany = psycopg.Cursor.executemany
    original_commit = psycopg.Connection.commit
    original_rollback = psycopg.Connection.rollback

    def wait(self, *args, **kwargs):
        counter["round_trips"] += 1
        return original_wait(self, *args, **kwargs)

    def in_db(function, *args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            counter["db_s"] += time.perf_counter() - started

    def note(query) -> None:
        counter["statements"] += 1
        key = " ".join(str(query).split())[:110]
        counter["texts"][key] = counter["texts"].get(key, 0) + 1

    def execute(self, query, *args, **kwargs):
        note(query)
        return in_db(original_execute, self, query, *args, **kwargs)

    def executemany(self, query, *args, **kwargs):
        note(query)
        return in_db(original_executemany, self, query, *args, **kwargs)

    def commit(self):
        counter["commits"] += 1
        started = time.perf_counter()
        try:
            return in_db(original_commit, self)
        finally:
            counter["commit_s"] += time.perf_counter() - started

    def rollback(self):
        return in_db(original_rollback, self)

    psycopg.Connection.rollback = rollback
    psycopg.Connection.wait = wait
    psycopg.Cursor.execute = execute
    psycopg.Cursor.executemany = executemany
    psycopg.Connection.commit = commit

    app = create_app()
    part_cpu = time_parts()

    async def call(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, dict]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"127.0.0.1:8710"), (b"content-length", str(len(body)).encode()),
                             *[(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8710)}
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        status, chunks = 0, []

        async def receive():
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        raw = b"".join(chunks)
        return status, json.loads(raw) if raw else {}

    async def post_json(path: str, body: dict, token: str) -> tuple[int, dict]:
        return await call("POST", path, json.dumps(body).encode(),
                          {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})

    stats: dict[str, dict] = {k: {"n": 0, "statements": 0, "commits": 0, "round_trips": 0, "db_s": 0.0, "wall_s": 0.0,
                                  "cpu_s": 0.0, "commit_s": 0.0, "texts": {}, "parts": {}, "hops": 0,
                                  "pg_cpu_s": 0.0}
                              for k in KINDS}

    admin = _pg_connect()  # one connection for the look-ups below, not one a request

    def postgres_cpu() -> float:
        """CPU seconds of the database's backends so far (/proc counts in 10 ms ticks: exact only
        summed over many requests)."""
        pids = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
        return sum(_cpu_seconds(pid) or 0.0 for (pid,) in pids)

    async def timed(kind: str, coroutine):
        pg_before = postgres_cpu()  # read outside the request's own CPU window
        before = (counter["statements"], counter["commits"], counter["db_s"], dict(counter["texts"]),
                  counter["round_trips"], counter["commit_s"], dict(part_cpu), hops["n"])
        started, cpu = time.perf_counter(), time.process_time()
        status, data = await coroutine
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        if not 200 <= status < 300:
            raise RuntimeError(f"{kind}: {status} {data}")
        entry = stats[kind]
        entry["n"] += 1
        entry["wall_s"] += wall
        entry["cpu_s"] += cpu
        entry["statements"] += counter["statements"] - before[0]
        entry["commits"] += counter["commits"] - before[1]
        entry["db_s"] += counter["db_s"] - before[2]
        entry["round_trips"] += counter["round_trips"] - before[4]
        entry["commit_s"] += counter["commit_s"] - before[5]
        entry["hops"] += hops["n"] - before[7]
        for text, n in counter["texts"].items():
            if n != before[3].get(text, 0):
                entry["texts"][text] = entry["texts"].get(text, 0) + n - before[3].get(text, 0)
        for label, seconds in part_cpu.items():
            entry["parts"][label] = entry["parts"].get(label, 0.0) + seconds - before[6].get(label, 0.0)
        entry["pg_cpu_s"] += postgres_cpu() - pg_before  # last: its own statement is not the request's
        return data

    async def one_case(token: str, duty: str, number: int, measure: bool) -> None:
        body = {"process_id": PROCESS_ID, "data": {"duty_code": duty, "applicant": f"压测申请人{number}",
                                                   "matter": "压测办件"}}
        if measure:
            case = await timed("start", post_json("/api/instances", body, token))
        else:
            status, case = await post_json("/api/instances", body, token)
            assert status == 201, case
        task = first_step(case)
        if task is None:
            lookup = call("GET", f"/api/instances/{case['id']}", headers={"Authorization": f"Bearer {token}"})
            task = first_step(await timed("lookup", lookup) if measure else (await lookup)[1])
        complete = post_json(f"/api/tasks/{task['id']}/complete", {"data": {"decision": "accept"}}, token)
        if measure:
            await timed("complete", complete)
        else:
            status, data = await complete
            assert status == 200, data

    async def main() -> None:
        async with app.router.lifespan_context(app):
            tokens = []
            for username, duty in CLERKS:
                form = urllib.parse.urlencode({"username": username, "password": PASSWORD}).encode()
                status, data = await call("POST", "/api/token", form,
                                          {"Content-Type": "application/x-www-form-urlencoded"})
                assert status == 200, data
                tokens.append((data["access_token"], duty))
            for i in range(2 * len(tokens)):  # warm-up: specs parsed, caches filled, pool connected
                await one_case(*tokens[i % len(tokens)], i, measure=False)
            for i in range(measured):
                await one_case(*tokens[i % len(tokens)], i, measure=True)
            report_statements(stats, measured)

            # Wall time shows where a lone request waits (latency); CPU time shows what limits the
            # throughput once the cores are full, and is not inflated by other jobs' load.
            profiler = cProfile.Profile(time.process_time) if cpu_clock else cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            for i in range(cases):
                await one_case(*tokens[i % len(tokens)], i, measure=False)
            profiler.disable()
            wall = time.perf_counter() - started
            if dump:
                profiler.dump_stats(dump)  # for pstats / snakeviz: callers and callees of any function
            print(f"\ncProfile ({'CPU' if cpu_clock else 'wall'} time): {cases} cases = {2 * cases} steps in {wall:.2f} s "
                  f"({wall * 1000 / (2 * cases):.1f} ms a step with the profiler on); the checkout's own functions,"
                  f" top {top} by cumulative time:")
            own_code = re.escape(os.getcwd().rstrip("/")) + "/(?!bench/)"  # the checkout under test (cwd = --source)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(own_code, top)
            print(f"All functions, top {top} by own time (tottime):")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(top)
            print("By file area (tottime, own time of the functions in it):")
            report_areas(pstats.Stats(profiler), 2 * cases)
            print("Parts of a request (cumulative time of these functions wherever they exist in the tree):")
            report_parts(pstats.Stats(profiler), 2 * cases)

    asyncio.run(main())


# Functions whose CPU time (this process's, no profiler on) splits a request into its parts:
# (module, attribute, label). Each is wrapped where routes look it up (a module attribute, or a
# class's method), so a tree that lacks one simply does not list it; nested parts overlap
# (the engine's commands include their share of "flush + COMMIT" only if they commit, which they
# do not: the request's transaction commits after the endpoint returns).
CPU_PARTS = (
    ("api.security", "session_user", "sign-in check: session + account read"),
    ("api.security", "session_actor", "sign-in check: session + account read"),
    ("engine.runtime.service", "start_instance", "engine: start_instance"),
    ("engine.runtime.service", "complete_task", "engine: complete_task"),
    # inside the engine's commands: the engine step, saving it, and what saving is made of
    ("engine.runtime.instance_service", "run_step", "  engine: the engine step (start)"),
    ("engine.runtime.task_service", "run_step", "  engine: the engine step (complete)"),
    ("engine.runtime.task_service", "load_task", "  engine: task, instance, spec key read"),
    ("engine.runtime.task_service", "restore_workflow", "  engine: workflow restored or taken"),
    ("engine.runtime.instance_service", "create_workflow", "  engine: new workflow"),
    ("engine.runtime.instance_service", "save_workflow", "  engine: step saved (start)"),
    ("engine.runtime.task_service", "save_workflow", "  engine: step saved (complete)"),
    ("engine.runtime.instances", "serialize_workflow", "    saved: workflow serialised"),
    ("engine.runtime.instances", "plan_tasks", "    saved: task rows planned"),
    ("engine.runtime.instances", "open_clocks", "    saved: clocks opened"),
    ("engine.runtime.instances", "insert_tasks", "    saved: task rows inserted"),
    ("engine.runtime.instances", "settle_clocks", "    saved: clocks settled"),
    ("engine.runtime.instances", "write_events", "    saved: timing events written"),
    ("api.routes.runtime", "_instance_detail", "answer: the instance (start)"),
    ("api.routes.runtime", "_after", "answer: the task read again (complete, before issue 15's api changes)"),
    ("api.routes.runtime", "_task_detail", "answer: the task (complete)"),
    ("sqlalchemy.orm.session", "Session.commit", "commit: before-commit writes, flush, COMMIT"),
    # what the answers are built from (inside the two "answer" parts above)
    ("engine.runtime.service", "instance_data", "  answer: case data"),
    ("engine.runtime.service", "instance_tasks", "  answer: task rows"),
    ("engine.runtime.service", "get_definition", "  answer: definition"),
    ("engine.runtime.service", "task_items", "  answer: multi-instance items"),
    ("engine.runtime.service", "get_task", "  answer: task row"),
    ("engine.runtime.service", "task_posts", "  answer: posts"),
    ("engine.runtime.service", "task_form", "  answer: form"),
    ("engine.runtime.service", "ev.task_events", "  answer: events"),
)


def time_parts() -> dict[str, float]:
    """Wrap CPU_PARTS with a CPU-time counter; returns label → CPU seconds so far (kept up to date)."""
    spent: dict[str, float] = {}

    def wrap(function, label: str):
        def timed_part(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.process_time() - started
        return timed_part

    # The cyclic garbage collector's passes, wherever they fall: a full pass walks every live
    # object (the cached workflows too) and lands in whichever part happens to allocate then.
    gc_started: list[float] = []

    def collector(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started.append(time.process_time())
        elif gc_started:
            label = f"garbage collector, generation {info.get('generation')} passes (inside the parts)"
            spent[label] = spent.get(label, 0.0) + time.process_time() - gc_started.pop()

    gc.callbacks.append(collector)
    for module_name, attribute, label in CPU_PARTS:
        try:
            owner = importlib.import_module(module_name)
        except ImportError:
            continue
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        if owner is not None and callable(getattr(owner, name, None)):
            setattr(owner, name, wrap(getattr(owner, name), label))
    return spent


def report_statements(stats: dict, measured: int) -> None:
    print(f"\nIn-process, one request at a time, {measured} cases after warm-up (PostgreSQL, same machine):")
    print(f"  {'request':<9}{'statements':>11}{'round trips':>12}{'commits':>9}{'wall ms':>9}{'in DB ms':>10}"
          f"{'COMMIT ms':>10}{'rest ms':>9}{'CPU ms':>8}{'pool hops':>10}{'PG CPU ms':>10}")
    for kind, s in stats.items():
        if not s["n"]:
            continue
        n = s["n"]
        print(f"  {kind:<9}{s['statements'] / n:>11.1f}{s['round_trips'] / n:>12.1f}{s['commits'] / n:>9.1f}"
              f"{s['wall_s'] * 1000 / n:>9.2f}{s['db_s'] * 1000 / n:>10.2f}{s['commit_s'] * 1000 / n:>10.2f}"
              f"{(s['wall_s'] - s['db_s']) * 1000 / n:>9.2f}{s['cpu_s'] * 1000 / n:>8.2f}{s['hops'] / n:>10.1f}"
              f"{s['pg_cpu_s'] * 1000 / n:>10.2f}")
    print("  (statements = the driver's execute/executemany calls; round trips = every wait on the server,"
          " BEGIN and COMMIT included;\n   in DB = time in the driver's execute/commit/rollback, i.e. PostgreSQL"
          " plus the socket; COMMIT = the part of it in COMMIT, mostly the WAL flush to disk;\n   rest = Python:"
          " framework, auth, engine, response building; CPU = this process's CPU time\n   (Python and the driver,"
          " not PostgreSQL's), the figure least disturbed by other load;\n   pool hops = sync endpoints and"
          " dependencies, run inline here: a served app hops to its thread pool and back for each, ~0.1 ms CPU;"
          "\n   PG CPU = the CPU of the database's PostgreSQL backends during the request)")
    print("\n  CPU by part, no profiler on (this process's CPU time; parts nest, see CPU_PARTS):")
    for kind, s in stats.items():
        if not s["n"]:
            continue
        print(f"    {kind:<9}{s['cpu_s'] * 1000 / s['n']:>7.2f} ms  the whole request")
        for label, seconds in s["parts"].items():
            if seconds * 1000 / s["n"] >= 0.005:
                print(f"    {'':<9}{seconds * 1000 / s['n']:>7.2f} ms  {label}")
    for kind, s in stats.items():
        if not s["n"]:
            continue
        print(f"\n  statements of one `{kind}` (count a request, text cut at 110 characters):")
        for text, n in sorted(s["texts"].items(), key=lambda item: -item[1]):
            print(f"    {n / s['n']:>5.1f}  {text}")


def report_areas(stats, steps: int) -> None:
    """Own time grouped by where the code lives: which layer the Python time is spent in."""
    areas: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        path = filename.replace("\\", "/")
        if "/engine/" in path and "site-packages" not in path:
            area = "dutyflow engine/" + path.split("/engine/", 1)[1].split("/")[0]
        elif "/api/" in path and "site-packages" not in path:
            area = "dutyflow api/"
        elif "site-packages/" in path:
            area = path.split("site-packages/", 1)[1].split("/")[0]
        elif path.startswith("<") or path == "~":
            area = "builtins / C calls"
        else:
            area = "stdlib"
        areas[area] = areas.get(area, 0.0) + tottime
    total = sum(areas.values())
    for area, seconds in sorted(areas.items(), key=lambda item: -item[1])[:18]:
        print(f"  {area:<34}{seconds * 1000 / steps:>8.2f} ms/step  {seconds / total:>6.1%}")


# Functions whose cumulative time tells the parts of a request apart: the endpoints, the engine's
# entry points, the response building of the runtime routes, FastAPI's response validation and
# serialisation, the sign-in check, and the driver. Matched by name, so a function that a tree
# does not have is simply not listed.
PARTS = (
    ("fastapi/routing.py", "serialize_response", "FastAPI response_model validation + serialisation"),
    ("fastapi/routing.py", "run_endpoint_function", "endpoint functions (engine + response building)"),
    ("fastapi/dependencies/utils.py", "solve_dependencies", "dependencies (session, sign-in check, clock)"),
    ("api/security.py", "get_actor", "sign-in check (token → session → user)"),
    ("api/security.py", "_live_actor", "sign-in check (session → user, api.security.signed_in_work)"),
    ("api/routes/runtime.py", "start_instance", "route: start"),
    ("api/routes/runtime.py", "complete", "route: complete"),
    ("engine/runtime/service.py", "start_instance", "engine: start_instance"),
    ("engine/runtime/service.py", "complete_task", "engine: complete_task"),
    ("engine/runtime/", "start_instance", "engine: start_instance"),
    ("engine/runtime/", "complete_task", "engine: complete_task"),
    ("api/routes/runtime.py", "_instance_detail", "response: instance detail (start's answer)"),
    ("api/routes/runtime.py", "_after", "response: task detail (complete's answer)"),
    ("api/routes/runtime.py", "_task_detail", "response: task detail"),
    ("engine/runtime/instances.py", "save_workflow", "engine: serialise + store the workflow"),
    ("sqlalchemy/orm/session.py", "commit", "session commit (flush + COMMIT)"),
    ("sqlalchemy/orm/session.py", "flush", "ORM flush"),
    ("psycopg/connection.py", "wait", "driver waiting on PostgreSQL"),
)


def report_parts(stats, steps: int) -> None:
    total = stats.total_tt  # in the profiler's own clock (wall or CPU)
    seen = set()
    for file_part, name, label in PARTS:
        for (filename, line, function), (_cc, nc, _tt, cumtime, _callers) in stats.stats.items():
            key = (filename, line, function)
            if function == name and file_part in filename.replace("\\", "/") and key not in seen:
                seen.add(key)
                where = filename.replace("\\", "/").split("/")[-3:]
                print(f"  {cumtime * 1000 / steps:>8.2f} ms/step {cumtime / total:>6.1%}  {nc:>6} calls  "
                      f"{label}  ({'/'.join(where)}:{line})")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", action="append", type=Path,
                        help="checkout to serve from (repeatable; default: the one holding this script)")
    parser.add_argument("--clients", type=int, nargs="+", default=[2, 20], help="clerks at once, one run each")
    parser.add_argument("--cases-per-client", type=int, default=500, help="cases each clerk starts at most")
    parser.add_argument("--seconds", type=float, default=30, help=f"timed window per run (at most {MAX_SECONDS})")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument("--profile", action="store_true", help="in-process statement count and cProfile, no server")
    parser.add_argument("--profile-cases", type=int, default=150, help="cases profiled with --profile")
    parser.add_argument("--measured-cases", type=int, default=60, help="cases whose statements --profile counts")
    parser.add_argument("--top", type=int, default=40, help="functions listed by --profile")
    parser.add_argument("--profile-clock", choices=("wall", "cpu"), default="wall",
                        help="with --profile: profile wall time (latency) or this process's CPU time (throughput)")
    parser.add_argument("--profile-out", type=Path,
                        help="with --profile: save the cProfile data here (one file a source: NAME.0, NAME.1, …)")
    parser.add_argument("--inprocess-child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.inprocess_child:
        inprocess(args.inprocess_child, args.profile_cases, args.measured_cases, args.top, args.profile_out,
                  args.profile_clock == "cpu")
        return
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS}]")
    if any(not 0 < c <= MAX_CLIENTS for c in args.clients):
        parser.error(f"--clients must be in 1..{MAX_CLIENTS}")
    sources = [s.resolve() for s in (args.source or [ROOT])]

    if args.profile:
        for number, source in enumerate(sources):
            database = create_database()
            dump = ["--profile-out", f"{args.profile_out.resolve()}.{number}"] if args.profile_out else []
            try:
                print(f"== {source} (in-process, database {database})", flush=True)
                env = {**os.environ, "PYTHONPATH": str(source)}
                subprocess.run([sys.executable, str(Path(__file__).resolve()), "--inprocess-child", database,
                                "--profile-cases", str(args.profile_cases), "--measured-cases",
                                str(args.measured_cases), "--top", str(args.top), "--profile-clock",
                                args.profile_clock, *dump],
                               cwd=source, env=env, check=True)
            finally:
                drop_database(database)
        return

    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start; "
          f"{args.seconds:g} s or {args.cases_per_client} cases a clerk per run", flush=True)
    results = []
    for source in sources:
        server = Server(source, args.workers)
        try:
            started = time.monotonic()
            server.start()
            print(f"\n== {source}: server up on port {server.port} in {time.monotonic() - started:.1f} s "
                  f"(database {server.database})", flush=True)
            # CPU the server uses with no request at all (a timer worker, polling): per step it
            # weighs most in the runs with few clients.
            idle = CpuSampler(server.pids)
            idle.start()
            time.sleep(IDLE_SECONDS)
            print(f"   idle server: {idle.stop() / IDLE_SECONDS:.3f} cores busy over {IDLE_SECONDS} s", flush=True)
            for clients in args.clients:
                result = run_load(server, clients, args.cases_per_client, args.seconds)
                results.append(result)
                print_run(result)
                sys.stdout.flush()
        finally:
            server.stop()
    print_summary(results)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))
        print(f"\nJSON: {args.json}")
    if any(r["errors"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
