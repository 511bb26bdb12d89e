"""Benchmark: the engine's cost a case in instructions, which do not depend on the machine's load.

Timings on the project's shared 2-core machines swing by ±5 points with the neighbours; the number
of instructions a case executes does not. Run this script twice under valgrind, with N = 10 and
N = 60 cases; the instructions a case are (I(60) − I(10)) / 50 (start-up, the demo catalog's
import and the warm-up cancel out):

    PYTHONHASHSEED=0 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        /root/.pyenv/versions/3.11.7/bin/python bench/engine_instructions.py N [--tree DIR] [--without PART]

(valgrind must be given the interpreter itself: through pyenv's `python` shim it follows the shell
script only.) The case is bench/runtime_throughput.py's engine case — start a 5-working-day case of
tests/timers_bpmn/timed_case.bpmn and complete its three steps, each in its own transaction, on a
SQLite file — and the tamper-evident chain's sealing of those cases' entries is counted too: the
cases run ten at a time and `engine.audit.seal_all`, the worker's call, seals after every ten.

--tree DIR runs another checkout's engine and benchmark (a `git worktree` of an older commit), so
two trees compare one after the other. --without audit / rollups measures what the engine costs
without the tamper-evident chain (no pending entries, nothing to seal) or without the rollups of
the efficiency figures (nothing added at the commit) — parts later issues added to each step, so
their share of the cost can be told apart from the rest of the engine's. Those two replace the
parts' functions in this process only; nothing else changes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

PARTS = ("audit", "rollups")


def load_benchmark(tree: Path) -> Any:
    sys.path.insert(0, str(tree))
    spec = importlib.util.spec_from_file_location("runtime_throughput", tree / "bench" / "runtime_throughput.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def leave_out(part: str) -> None:
    """Replace a part's step-side functions with ones that only drop what the step noted."""
    if part == "audit":
        import engine.audit as audit  # noqa: PLC0415 - the tree's engine, on sys.path only now
        from engine.audit import chain  # noqa: PLC0415

        def drop(session: Any) -> None:
            session.info.pop(chain.PENDING, None)

        chain.write_pending = audit.write_pending = drop  # type: ignore[assignment]
        audit.record_rows = lambda *_args, **_kwargs: None  # type: ignore[assignment]
    elif part == "rollups":
        from engine.runtime import rollups  # noqa: PLC0415

        rollups.add_noted = rollups.forget_noted  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, help="cases (a multiple of 10), e.g. 10 and 60")
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the checkout whose engine runs (default: this one)")
    parser.add_argument("--without", choices=PARTS, action="append", default=[], help="leave a part out")
    args = parser.parse_args()
    benchmark = load_benchmark(args.tree.resolve())
    benchmark.wire()
    for part in args.without:
        leave_out(part)
    from engine.audit import seal_all  # noqa: PLC0415 - the tree's engine

    database, clock = benchmark.prepare_engine()
    benchmark.run_engine(database, clock, 5)
    with database.session() as session:
        seal_all(session)
    for _ in range(args.n // 10):
        benchmark.run_engine(database, clock, 10)
        with database.session() as session:
            seal_all(session)


if __name__ == "__main__":
    main()
