"""Benchmark: a served worker's CPU per step, split between its event loop and its thread pool.

One clerk, one request at a time, against `dutyflow serve --demo --workers 1` (bench/http_load.py's
server, database and requests: start a 限时办结 case, complete its first step). After --warm-up
untimed cases, each of --rounds rounds runs --cases cases and reads the worker's threads' CPU
time from /proc (user and system, 10 ms ticks: exact only summed over many requests). The event
loop is the worker's main thread (uvicorn's protocol, the middlewares, routing, dependencies on
the loop, the answer's serialisation, and the trips to the thread pool); the rest is the pool
threads (the endpoints and plain-`def` dependencies: engine, database, building the answer) and,
unless DUTYFLOW_EMBEDDED_WORKER=off, the timer worker's thread. With one clerk nothing runs
concurrently, so these figures are the cost of a step without contention; bench/http_load.py
measures contention and latency.

    python bench/served_cpu.py --source /work/before --source . --rounds 2
    DUTYFLOW_EMBEDDED_WORKER=off python bench/served_cpu.py

Sources alternate (A, B, A, B … with --repeat) so that both see the same minutes of a shared
machine. Same environment variables as bench/http_load.py (DUTYFLOW_BENCH_DB_PREFIX,
DUTYFLOW_BENCH_PORTS, DUTYFLOW_BENCH_PG_ADMIN_URL).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import http_load

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def thread_ticks(pid: int) -> dict[int, tuple[int, int]]:
    """Each thread of a process: (user, system) CPU ticks so far."""
    found = {}
    for name in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        found[int(name)] = (int(fields[11]), int(fields[12]))
    return found


def spent(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]], tid: int, part: int,
          steps: int) -> float:
    """A thread's CPU (part 0 user, 1 system) between two readings, in ms a step."""
    return (after[tid][part] - before.get(tid, (0, 0))[part]) * 1000 / TICKS_PER_SECOND / steps


def measure(source: Path, warm_up: int, cases: int, rounds: int) -> list[dict]:
    server = http_load.Server(source, 1)
    server.start()
    try:
        # The uvicorn worker: the server's descendant with the most threads (the supervisor of a
        # one-worker `serve` is that worker itself).
        pids = server.pids() or [server.process.pid]
        worker = max(pids, key=lambda pid: len(os.listdir(f"/proc/{pid}/task")))
        clerk = http_load.Clerk(0, *http_load.CLERKS[0], server.port)
        clerk.sign_in()
        for _ in range(warm_up):
            clerk.one_case(timed=False)
        results = []
        for _ in range(rounds):
            before = thread_ticks(worker)
            for _ in range(cases):
                clerk.one_case(timed=True)
            after = thread_ticks(worker)
            steps = 2 * cases
            user = sum(spent(before, after, tid, 0, steps) for tid in after)
            system = sum(spent(before, after, tid, 1, steps) for tid in after)
            loop_system = spent(before, after, worker, 1, steps)
            loop = spent(before, after, worker, 0, steps) + loop_system
            results.append({"source": str(source), "user": user, "system": system, "loop": loop,
                            "loop_system": loop_system, "others": user + system - loop,
                            "errors": sum(clerk.errors.values())})
        return results
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", action="append", type=Path, help="checkout to serve from (repeatable)")
    parser.add_argument("--warm-up", type=int, default=30, help="untimed cases first")
    parser.add_argument("--cases", type=int, default=200, help="cases a round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds a server")
    parser.add_argument("--repeat", type=int, default=1, help="servers a source (alternating)")
    args = parser.parse_args()
    sources = [s.resolve() for s in (args.source or [http_load.ROOT])]
    print("server CPU a step (ms), one clerk; loop = the worker's event-loop thread, pool = every other thread")
    for _ in range(args.repeat):
        for source in sources:
            for r in measure(source, args.warm_up, args.cases, args.rounds):
                print(f"  {r['source']}: total {r['user'] + r['system']:.2f} (user {r['user']:.2f}, system "
                      f"{r['system']:.2f}); loop {r['loop']:.2f} (system {r['loop_system']:.2f}); pool "
                      f"{r['others']:.2f}; errors {r['errors']}", flush=True)


if __name__ == "__main__":
    main()
