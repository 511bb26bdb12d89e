"""The test database tier: empty a database cheaply between tests, and build a prepared state
(e.g. the demo catalog imported and published) once per session, then copy it in per test.

Emptying. Each test starts from an empty, migrated database. `TRUNCATE` of all 27 tables costs
~0.15–0.3 s on PostgreSQL (a new file per table and index, fsync'd), and cloning a template database
(`CREATE DATABASE … TEMPLATE`) ~0.3 s plus ~1 s to drop it: both far more than the handful of rows a
test writes. So `reset` asks in one statement which tables hold rows, deletes from those only
(children first) and restarts the sequences that were used, so ids start at 1 again as after
`TRUNCATE … RESTART IDENTITY`: a few milliseconds.

Prepared states. `prepared(database, key, build)` runs `build()` on an empty database the first
time a key is asked for on that database, records every row it wrote (and the sequences), and on
later calls inserts those rows back (a few batched INSERTs) instead of running `build()` again (a catalog import and publication take ~0.3 s; Argon2 more). The state is data only:
whatever the engine keeps in memory is keyed by content or re-read from the rows (the compiled
process specs by content hash, the workflow cache by row version), so copied rows behave like built
ones. The key must name everything `build` depends on (file contents, the clock's time).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, text
from sqlmodel import SQLModel

from engine.db import Database

T = TypeVar("T")


def _tables() -> list[Table]:
    # Parents before children (foreign keys); the models are all registered once engine.db is imported.
    return list(SQLModel.metadata.sorted_tables)


def _nonempty_tables(conn, tables: list[Table]) -> list[Table]:
    probe = " UNION ALL ".join(
        f"SELECT {i} AS n WHERE EXISTS (SELECT 1 FROM \"{table.name}\")" for i, table in enumerate(tables))
    found = set(conn.execute(text(probe)).scalars())
    return [table for i, table in enumerate(tables) if i in found]


_USED_SEQUENCES = text(
    "SELECT format('%I.%I', schemaname, sequencename), last_value FROM pg_sequences "
    "WHERE schemaname = current_schema() AND last_value IS NOT NULL")


def _has_sqlite_sequence(conn) -> bool:
    return conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first() is not None


def reset(database: Database) -> None:
    """Empty every table of the models and restart the used sequences (ids start at 1 again)."""
    tables = _tables()
    with database.engine.begin() as conn:
        for table in reversed(_nonempty_tables(conn, tables)):
            conn.execute(table.delete())
        if database.is_sqlite:
            # Only AUTOINCREMENT tables keep a counter; plain INTEGER PRIMARY KEYs restart by themselves.
            if _has_sqlite_sequence(conn):
                conn.execute(text("DELETE FROM sqlite_sequence"))
        else:
            for name, _ in conn.execute(_USED_SEQUENCES).all():
                conn.execute(text("SELECT setval(CAST(:name AS regclass), 1, false)"), {"name": name})


def is_empty(database: Database) -> bool:
    with database.engine.connect() as conn:
        return not _nonempty_tables(conn, _tables())


@dataclass
class _Snapshot:
    result: Any
    rows: list[tuple[Table, list[dict]]] = field(default_factory=list)
    sequences: list[tuple[str, int]] = field(default_factory=list)  # PostgreSQL: (name, last value)
    sqlite_sequence: list[tuple[str, int]] = field(default_factory=list)


_snapshots: dict[tuple, _Snapshot] = {}


def _capture(database: Database, result: Any) -> _Snapshot:
    snapshot = _Snapshot(result)
    with database.engine.connect() as conn:
        for table in _nonempty_tables(conn, _tables()):
            snapshot.rows.append((table, [dict(row) for row in conn.execute(table.select()).mappings()]))
        if database.is_sqlite:
            if _has_sqlite_sequence(conn):
                snapshot.sqlite_sequence = [tuple(r) for r in conn.execute(text("SELECT name, seq FROM sqlite_sequence"))]
        else:
            snapshot.sequences = [tuple(r) for r in conn.execute(_USED_SEQUENCES).all()]
    return snapshot


def _restore(database: Database, snapshot: _Snapshot) -> None:
    with database.engine.begin() as conn:
        for table, rows in snapshot.rows:
            conn.execute(table.insert(), rows)
        for name, last_value in snapshot.sequences:
            conn.execute(text("SELECT setval(CAST(:name AS regclass), :value, true)"),
                         {"name": name, "value": last_value})
        if snapshot.sqlite_sequence:
            conn.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"),
                         [{"name": name, "seq": seq} for name, seq in snapshot.sqlite_sequence])


_last: dict[str, tuple] = {}  # database URL → key of the prepared state last left in it


def _state(database: Database) -> _Snapshot:
    return _capture(database, None)


def _same(a: _Snapshot, b: _Snapshot) -> bool:
    return ([(t.name, rows) for t, rows in a.rows] == [(t.name, rows) for t, rows in b.rows]
            and a.sequences == b.sequences and a.sqlite_sequence == b.sqlite_sequence)


def prepared(database: Database, key: tuple, build: Callable[[], T]) -> T:
    """`build()`'s result, with the rows it writes; built once per database and key, copied after.

    A copy is used only where `build()` would start from the same rows: an empty database, or
    exactly the state an earlier `prepared` left (so `load the demo`, then `deploy a process` are
    copied as one chain). Anything else (a test wrote rows of its own first) gets a real `build()`."""
    if is_empty(database):
        base: tuple = ()
    else:
        base = _last.get(database.url, ())
        if not base or not _same(_state(database), _snapshots[(database.url, *base)]):
            _last.pop(database.url, None)
            return build()
    chain = (*base, key)
    full_key = (database.url, *chain)
    snapshot = _snapshots.get(full_key)
    if snapshot is None:
        result = build()
        _snapshots[full_key] = _capture(database, result)
    else:
        if base:
            reset(database)
        _restore(database, snapshot)
        result = snapshot.result
    _last[database.url] = chain
    return result


def file_key(path: Path) -> str:
    """A key part for a file `build` reads: its contents, so a changed file is built afresh."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def directory_key(directory: Path, pattern: str = "*.bpmn") -> str:
    """A key part for the files of a directory `build` reads: their names and contents."""
    digest = hashlib.sha1()
    for path in sorted(Path(directory).glob(pattern)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
