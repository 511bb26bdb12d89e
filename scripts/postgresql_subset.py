"""Which engine and API tests need their PostgreSQL run: record the SQL, choose a covering subset.

Every test that uses the `database` fixture runs on SQLite and on PostgreSQL (tests/conftest.py),
except the PostgreSQL runs listed in tests/sqlite_only.txt, which this script writes. The rule:

  the PostgreSQL runs kept must, together, execute every distinct SQL statement the product
  (engine/, api/) sends to PostgreSQL when every test runs on it;

and whatever statements they run, these stay on PostgreSQL: the runs whose subject is PostgreSQL
itself (ALWAYS_ON_POSTGRESQL below, each with its reason: concurrent transactions and locks, the
migrations' schema, values PostgreSQL refuses where SQLite does not), the runs a `backends` mark
chose by hand (the page and browser layers, the fuzz test), and the runs that start a Python
child process (its SQL is not seen here). The migrations' own statements are not counted: they
run in full on PostgreSQL at the start of every run (each process's database) and in the
migration tests. A test listed still runs on SQLite; a new or renamed test is in no list, so it
runs on both backends until the list is chosen again.

  python3 scripts/postgresql_subset.py record   # the PostgreSQL runs of the suite (`-k postgresql`),
                                                # every one, each's statements → var/sql-record/
  python3 scripts/postgresql_subset.py choose   # the cheapest covering set (greedy: most new
                                                # statements a second) → tests/sqlite_only.txt
  python3 scripts/postgresql_subset.py check    # does the list cover the recording? (exit 1 if not)
  python3 scripts/postgresql_subset.py verify   # run what the list keeps on PostgreSQL, recording:
                                                # did it execute every statement? (exit 1 if not)

Re-run `record`, then `choose`, when tests or queries change; `record` then `check` tells whether
the list still covers, and `verify` proves it on a real run of the suite as chosen (the kept runs
start every process's database, the app and its prepared states just as the full run did). A statement is the text SQLAlchemy sends, normalised: parameters become
`?`, and an IN list or a multi-row VALUES list counts as one, whatever its length. A statement is
the product's when the nearest project frame that sent it is in engine/ or api/; the tests' own
SQL (emptying and filling the database, reading rows back to assert) is not counted.

The recorder is this module loaded as a pytest plugin (`-p postgresql_subset`, with scripts/ on
the path), active only when DUTYFLOW_SQL_RECORD is set.
"""


from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import alembic
import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORD_DIR = ROOT / "var" / "sql-record"
LIST_FILE = ROOT / "tests" / "sqlite_only.txt"

# PostgreSQL runs kept whatever the statements say: what these test is how PostgreSQL itself
# behaves — concurrent transactions and their locks, the schema, values it refuses where SQLite
# does not — which one run of the same statement text does not show. Node ids (fnmatch patterns,
# without the parameters), each with its reason.
ALWAYS_ON_POSTGRESQL = {
    "tests/test_audit_chain.py::*": "the audit chain's sealing: the head's row lock, seals in order",
    "tests/security/test_audit*.py::*": "the audit chain's sealing",
    "tests/security/test_races.py::*": "twenty requests at once: SELECT … FOR UPDATE picks one winner",
    "tests/test_runtime_tasks.py::test_two_people_completing_one_task_at_once_one_wins": "two transactions at once",
    "tests/test_runtime_persistence.py::test_a_stale_instance_version_is_a_conflict": "the optimistic version check",
    "tests/test_timers_worker.py::*": "the timer worker's claims: several workers, leases, FOR UPDATE SKIP LOCKED",
    "tests/security/test_multiworker.py::*": "the start-up lock (an advisory lock on PostgreSQL)",
    "tests/test_catalog_duty_cache.py::*": "a cache kept across transactions and other processes' publications",
    "tests/test_foundation.py::test_migrations_match_models": "the schema the migrations build",
    "tests/test_metrics_rollups.py::test_each_task_row_names_the_stage_row_of_its_readiness_as_the_migration_does":
        "a migration's data step",
    "tests/security/test_bad_input.py::*": "values PostgreSQL refuses where SQLite does not (NUL, integer range)",
    "tests/security/test_evaluation_bad_values.py::test_a_note_with_a_nul_character_is_refused_on_both_backends":
        "a NUL character, which PostgreSQL's text refuses",
    "tests/security/test_headers.py::test_integers_past_the_database_range_are_a_422_not_a_500":
        "integers past PostgreSQL's INTEGER",
}


# ---------------------------------------------------------------------------------------------
# The recorder (a pytest plugin)

_current: str | None = None
_records: dict[str, dict] = {}
_normalised: dict[str, str] = {}
_origin_of_file: dict[str, str | None] = {}
_PRODUCT = (str(ROOT / "engine") + os.sep, str(ROOT / "api") + os.sep)
# Alembic's own statements (its version table) count with the migrations that call it.
_MIGRATIONS = (str(ROOT / "engine" / "migrations") + os.sep, str(Path(alembic.__file__).parent) + os.sep)
_TESTS = str(ROOT / "tests") + os.sep

_PARAM = re.compile(r"%\(\w+\)s|%s|\$\d+")
# A parameter as psycopg's statements carry it: `?`, maybe cast (`?::VARCHAR`, `?::TIMESTAMP WITH TIME ZONE`).
_P = r"\?(?:::[A-Z]+(?: WITH(?:OUT)? TIME ZONE)?)?"
_ROW = rf"\((?:{_P}|\d+)(?:, (?:{_P}|\d+))*\)"
_ROWS = re.compile(rf"({_ROW})(?:, {_ROW})+")
_COUNTER = re.compile(rf"(\({_P}(?:, {_P})*), \d+\)")
_LIST = re.compile(rf"({_P})(?:, \1)+(?:, …)?")
_SPACE = re.compile(r"\s+")


def normalise(statement: str) -> str:
    """The statement's shape: parameters as `?`, a multi-row VALUES as one row, a list of like
    parameters (an IN list, a row of one type) as `?, …`."""
    shape = _normalised.get(statement)
    if shape is None:
        shape = _SPACE.sub(" ", _PARAM.sub("?", statement)).strip()
        shape = _ROWS.sub(r"\1", shape)  # insertmanyvalues' rows (?, ?, 0), (?, ?, 1) → the first
        shape = _COUNTER.sub(r"\1, n)", shape)  # … and its row counter
        shape = _LIST.sub(r"\1, …", shape)
        _normalised[statement] = shape
    return shape


def _origin() -> str | None:
    """'migrations', 'product', 'tests' or None: where the nearest project frame above SQLAlchemy is."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        origin = _origin_of_file.get(filename, "?")
        if origin == "?":
            origin = ("migrations" if filename.startswith(_MIGRATIONS)
                      else "product" if filename.startswith(_PRODUCT)
                      else "tests" if filename.startswith(_TESTS) else None)
            _origin_of_file[filename] = origin
        if origin is not None:
            return origin
        frame = frame.f_back
    return None


def _on_execute(conn, cursor, statement, parameters, context, executemany):
    if _current is None or conn.dialect.name != "postgresql":
        return
    origin = _origin()
    if origin is not None:
        _records[_current][origin].add(normalise(statement))


def _on_popen(original):
    def popen(self, args, *rest, **kwargs):
        # A Python child (a `dutyflow` command, a server) sends SQL this process does not see;
        # other programs (graphviz's dot, Chromium) send none.
        program = Path(str(args[0] if isinstance(args, (list, tuple)) else str(args).split()[0])).name
        if _current is not None and (program.startswith("python") or program == "dutyflow"):
            _records[_current]["spawned"] = True
        return original(self, args, *rest, **kwargs)
    return popen


def _recording() -> bool:
    return bool(os.environ.get("DUTYFLOW_SQL_RECORD"))


def pytest_configure(config):
    if not _recording():
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", _on_execute)
    subprocess.Popen.__init__ = _on_popen(subprocess.Popen.__init__)  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _current
    if not _recording():
        return (yield)
    # The node id as tests/conftest.py reads the list: without the `@group` of `--dist loadgroup`.
    nodeid = item.nodeid.rsplit("@", 1)[0] if item.get_closest_marker("xdist_group") else item.nodeid
    _current = nodeid
    record = _records[nodeid] = {"product": set(), "migrations": set(), "tests": set(), "spawned": False, "seconds": 0.0}
    callspec = getattr(item, "callspec", None)
    record["database"] = callspec.params.get("database") if callspec else None
    mark = item.get_closest_marker("backends")
    record["marked"] = list(mark.args) if mark else None
    started = time.perf_counter()
    try:
        return (yield)
    finally:
        record["seconds"] = time.perf_counter() - started
        _current = None


def pytest_sessionfinish(session):
    if not _recording():
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    out = Path(os.environ["DUTYFLOW_SQL_RECORD"])
    out.mkdir(parents=True, exist_ok=True)
    data = {nodeid: {**record, **{key: sorted(record[key]) for key in ("product", "migrations", "tests")}}
            for nodeid, record in _records.items()}
    (out / f"{worker}.json").write_text(json.dumps(data, ensure_ascii=False))


# ---------------------------------------------------------------------------------------------
# The commands


def load(record_dir: Path) -> dict[str, dict]:
    records: dict[str, dict] = {}
    for path in sorted(record_dir.glob("*.json")):
        records.update(json.loads(path.read_text()))
    if not records:
        sys.exit(f"no recording in {record_dir}: run `python3 {Path(__file__).relative_to(ROOT)} record` first")
    return records


def candidates(records: dict[str, dict]) -> dict[str, dict]:
    """PostgreSQL runs this script may leave out: `database` on PostgreSQL, no `backends` mark
    (a mark is a choice made by hand: the page and browser layers), not always kept."""
    return {nodeid: r for nodeid, r in records.items()
            if r["database"] == "postgresql" and r["marked"] is None and not r["spawned"]
            and not always_kept(nodeid)}


def always_kept(nodeid: str) -> str | None:
    function = nodeid.split("[", 1)[0]
    for pattern, reason in ALWAYS_ON_POSTGRESQL.items():
        if fnmatch.fnmatchcase(function, pattern):
            return reason
    return None


def choose(records: dict[str, dict]) -> tuple[list[str], dict]:
    """The candidates to run on SQLite only: all but a greedy cheapest cover of the statements
    that no kept run executes already."""
    pg = {nodeid: r for nodeid, r in records.items() if r["database"] == "postgresql" or r["product"]}
    free = candidates(records)
    universe = set().union(*(set(r["product"]) for r in pg.values()))
    covered = set().union(*(set(r["product"]) for nodeid, r in pg.items() if nodeid not in free))
    kept_by_cover: list[str] = []
    left = {nodeid: set(r["product"]) - covered for nodeid, r in free.items()}
    while True:
        # The most new statements a second (at least 0.01 s a test: the fixtures' floor).
        best = max((nodeid for nodeid, new in left.items() if new),
                   key=lambda n: (len(left[n]) / max(free[n]["seconds"], 0.01), n), default=None)
        if best is None:
            break
        gained = left.pop(best)
        kept_by_cover.append(best)
        covered |= gained
        for nodeid in left:
            left[nodeid] -= gained
    assert covered == universe
    sqlite_only = sorted(set(free) - set(kept_by_cover))
    summary = {
        "statements": len(universe),
        "postgresql runs": len(pg),
        "kept by hand or rule": len(pg) - len(free),
        "kept to cover": len(kept_by_cover),
        "sqlite only": len(sqlite_only),
        "seconds of postgresql runs": round(sum(r["seconds"] for r in pg.values()), 1),
        "seconds left out": round(sum(free[n]["seconds"] for n in sqlite_only), 1),
    }
    return sqlite_only, summary


HEADER = """\
# PostgreSQL runs of engine and API tests left out: each of these tests runs on SQLite only.
# Written by `python3 scripts/postgresql_subset.py choose` — do not edit by hand; re-run
# `record` then `choose` when tests or queries change (scripts/postgresql_subset.py: the rule).
# The PostgreSQL runs kept execute every distinct statement the product sends to PostgreSQL
# when every test runs on it: {statements} statements; {kept} of {runs} PostgreSQL runs kept
# ({by_rule} by a mark or a rule, {by_cover} to cover statements).
"""


def write_list(sqlite_only: list[str], summary: dict) -> None:
    header = HEADER.format(statements=summary["statements"], runs=summary["postgresql runs"],
                           kept=summary["postgresql runs"] - summary["sqlite only"],
                           by_rule=summary["kept by hand or rule"], by_cover=summary["kept to cover"])
    LIST_FILE.write_text(header + "".join(f"{nodeid}\n" for nodeid in sqlite_only))


def read_list() -> set[str]:
    return {line.strip() for line in LIST_FILE.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def check(records: dict[str, dict]) -> int:
    """Do the PostgreSQL runs not in the list execute every statement of the recording?"""
    left_out = read_list()
    pg = {nodeid: r for nodeid, r in records.items() if r["database"] == "postgresql" or r["product"]}
    universe = set().union(*(set(r["product"]) for r in pg.values()))
    covered = set().union(*(set(r["product"]) for nodeid, r in pg.items() if nodeid not in left_out))
    wrong = sorted(n for n in left_out & set(records) if records[n]["spawned"] or always_kept(n)
                   or records[n]["marked"] is not None)
    unknown = sorted(left_out - set(records))
    missing = universe - covered
    print(f"{len(universe)} statements, {len(universe) - len(missing)} covered by the {len(pg) - len(left_out & set(pg))} "
          f"PostgreSQL runs kept; {len(left_out)} listed SQLite only")
    for statement in sorted(missing):
        runs = [n for n, r in pg.items() if statement in r["product"]]
        print(f"NOT COVERED: {statement[:200]}\n    run by: {', '.join(runs[:3])}")
    for nodeid in wrong:
        print(f"LISTED BUT MUST STAY ON POSTGRESQL: {nodeid}")
    for nodeid in unknown:
        print(f"LISTED BUT NOT RECORDED (renamed or removed?): {nodeid}")
    return 1 if missing or wrong or unknown else 0


def record(pytest_args: list[str], record_dir: Path, every_run: bool = True) -> int:
    if record_dir.exists():
        for path in record_dir.glob("*.json"):
            path.unlink()
    env = {**os.environ, "DUTYFLOW_SQL_RECORD": str(record_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "scripts"), os.environ.get("PYTHONPATH")]))}
    env.pop("DUTYFLOW_TEST_ALL_ON_POSTGRESQL", None)
    if every_run:
        env["DUTYFLOW_TEST_ALL_ON_POSTGRESQL"] = "1"
    # Only the runs on PostgreSQL are recorded: `-k postgresql` unless other arguments are given.
    return subprocess.call([sys.executable, "-m", "pytest", "-p", "postgresql_subset", "-q",
                            *(pytest_args or ["-k", "postgresql"])], cwd=ROOT, env=env)


def verify(records: dict[str, dict], pytest_args: list[str]) -> int:
    """Run the PostgreSQL runs the list keeps (the suite as `bash scripts/dev.sh test` runs it),
    recording their statements: they must be every statement of the full recording."""
    subset_dir = RECORD_DIR.parent / "sql-record-subset"
    if record(pytest_args, subset_dir, every_run=False) != 0:
        return 1
    full = set().union(*(set(r["product"]) for r in records.values()))
    seen = set().union(*(set(r["product"]) for r in load(subset_dir).values()))
    print(f"the kept PostgreSQL runs executed {len(full & seen)} of the {len(full)} statements")
    for statement in sorted(full - seen):
        print(f"NOT EXECUTED: {statement[:200]}")
    if seen - full:
        # New queries: the listed runs may run others of them unseen. `record` and `choose` again.
        print(f"{len(seen - full)} statements are not in the recording: it is older than the code; record again")
    return 1 if full - seen or seen - full else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["record", "choose", "check", "verify", "summary"])
    parser.add_argument("--record-dir", type=Path, default=RECORD_DIR)
    args, pytest_args = parser.parse_known_args()  # record: the rest goes to pytest
    if args.command == "record":
        return record([a for a in pytest_args if a != "--"], args.record_dir)
    records = load(args.record_dir)
    if args.command == "check":
        return check(records)
    if args.command == "verify":
        return verify(records, [a for a in pytest_args if a != "--"])
    sqlite_only, summary = choose(records)
    print(json.dumps(summary, indent=1))
    if args.command == "choose":
        write_list(sqlite_only, summary)
        print(f"→ {LIST_FILE.relative_to(ROOT)}: {len(sqlite_only)} PostgreSQL runs left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
