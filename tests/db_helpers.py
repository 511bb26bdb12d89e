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

Round trips. On PostgreSQL each statement is a round trip to the server (~0.5–1 ms, more when the
machine is busy), and a page or API test empties and fills the database two or three times
(`client`'s start-up, then the demo or a catalog). So on PostgreSQL the deletes and the sequence
restarts go in one multi-statement round trip; "is the database exactly the state an earlier
`prepared` left" is answered by the server from one digest per table (md5 of the rows' text)
instead of sending every row back; and when a state only adds rows to the state it builds on
(the demo after the start-up), only those rows are inserted instead of emptying and refilling.
SQLite runs in the test's process and keeps the plain statements.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, text
from sqlmodel import SQLModel

from engine.catalog.in_force import forget_published_answers
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


def _quoted(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _setval_all(sequences: list[tuple[str, int]], restart: bool) -> str:
    """One SELECT setting every sequence: back to 1 (`restart`) or to its recorded last value.
    The names come from pg_sequences, already quoted by format('%I.%I')."""
    calls = (f"setval('{name.replace(chr(39), chr(39) * 2)}'::regclass, {1 if restart else int(value)}, "
             f"{'false' if restart else 'true'})" for name, value in sequences)
    return "SELECT " + ", ".join(calls)


def reset(database: Database) -> None:
    """Empty every table of the models and restart the used sequences (ids start at 1 again), and
    drop what the process keeps about the database's published catalog versions: a prepared state
    copied in again brings back the same publication token, and a test may have changed that
    version's rows behind the catalog's service (as a release never does) after reading them."""
    forget_published_answers(str(database.engine.url))
    tables = _tables()
    with database.engine.begin() as conn:
        found = _nonempty_tables(conn, tables)
        if database.is_sqlite:
            for table in reversed(found):
                conn.execute(table.delete())
            # Only AUTOINCREMENT tables keep a counter; plain INTEGER PRIMARY KEYs restart by themselves.
            if _has_sqlite_sequence(conn):
                conn.execute(text("DELETE FROM sqlite_sequence"))
            return
        # PostgreSQL: the deletes (children first) and the restarts in one round trip; a statement
        # without parameters may hold several (psycopg sends it as one query).
        statements = [f"DELETE FROM {_quoted(conn, table.name)}" for table in reversed(found)]
        used = [tuple(row) for row in conn.execute(_USED_SEQUENCES).all()]
        if used:
            statements.append(_setval_all(used, restart=True))
        if statements:
            conn.exec_driver_sql("; ".join(statements))


def is_empty(database: Database) -> bool:
    with database.engine.connect() as conn:
        return not _nonempty_tables(conn, _tables())


@dataclass
class _Snapshot:
    result: Any
    rows: list[tuple[Table, list[dict]]] = field(default_factory=list)
    sequences: list[tuple[str, int]] = field(default_factory=list)  # PostgreSQL: (name, last value)
    sqlite_sequence: list[tuple[str, int]] = field(default_factory=list)
    digest: Any = None  # PostgreSQL: the server's digest of the rows and sequences (_digest)
    # The rows this state adds to the state it was built on, when it only adds rows (None otherwise).
    added: list[tuple[Table, list[dict]]] | None = None


_snapshots: dict[tuple, _Snapshot] = {}


def _digest(conn) -> tuple:
    """PostgreSQL: per non-empty table its row count and the md5 of its rows' text in a fixed
    order, and the used sequences; computed by the server, so only a few hashes cross the wire."""
    tables = _nonempty_tables(conn, _tables())
    if not tables:
        return ((), tuple(tuple(r) for r in conn.execute(_USED_SEQUENCES).all()))
    query = " UNION ALL ".join(
        f"SELECT {i} AS n, count(*) AS rows, md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS digest "
        f"FROM {_quoted(conn, table.name)} AS t" for i, table in enumerate(tables))
    digests = sorted((tables[n].name, count, digest) for n, count, digest in conn.execute(text(query)).all())
    return (tuple(digests), tuple(tuple(r) for r in conn.execute(_USED_SEQUENCES).all()))


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
            snapshot.digest = _digest(conn)
    return snapshot


def _added_rows(base: _Snapshot, full: _Snapshot) -> list[tuple[Table, list[dict]]] | None:
    """The rows `full` has beyond `base`, if every row of `base` is in `full` unchanged (a build
    that only inserted); None if the build changed or deleted a row of `base`."""
    before = {table.name: rows for table, rows in base.rows}
    added = []
    for table, rows in full.rows:
        earlier = before.pop(table.name, [])
        keys = [column.name for column in table.primary_key.columns]
        if not keys:
            return None
        full_by_key = {tuple(row[k] for k in keys): row for row in rows}
        if any(full_by_key.get(tuple(row[k] for k in keys)) != row for row in earlier):
            return None
        earlier_keys = {tuple(row[k] for k in keys) for row in earlier}
        new = [row for key, row in full_by_key.items() if key not in earlier_keys]
        if new:
            added.append((table, new))
    return None if before else added


def _insert(conn, rows: list[tuple[Table, list[dict]]]) -> None:
    for table, table_rows in rows:
        conn.execute(table.insert(), table_rows)


def _set_sequences(conn, snapshot: _Snapshot) -> None:
    if snapshot.sequences:
        conn.exec_driver_sql(_setval_all(snapshot.sequences, restart=False))
    if snapshot.sqlite_sequence:
        conn.execute(text("DELETE FROM sqlite_sequence"))
        conn.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:name, :seq)"),
                     [{"name": name, "seq": seq} for name, seq in snapshot.sqlite_sequence])


def _restore(database: Database, snapshot: _Snapshot) -> None:
    with database.engine.begin() as conn:
        _insert(conn, snapshot.rows)
        _set_sequences(conn, snapshot)


def _restore_added(database: Database, snapshot: _Snapshot) -> None:
    """On top of the state `snapshot` was built on (checked by the caller): its added rows only."""
    assert snapshot.added is not None
    with database.engine.begin() as conn:
        _insert(conn, snapshot.added)
        _set_sequences(conn, snapshot)


_last: dict[str, tuple] = {}  # database URL → key of the prepared state last left in it


def _state(database: Database) -> _Snapshot:
    return _capture(database, None)


def _same(a: _Snapshot, b: _Snapshot) -> bool:
    return ([(t.name, rows) for t, rows in a.rows] == [(t.name, rows) for t, rows in b.rows]
            and a.sequences == b.sequences and a.sqlite_sequence == b.sqlite_sequence)


def _left_as(database: Database, snapshot: _Snapshot) -> bool:
    """Is the database exactly in `snapshot`'s state? PostgreSQL compares the server's digests."""
    if database.is_sqlite:
        return _same(_state(database), snapshot)
    with database.engine.connect() as conn:
        return _digest(conn) == snapshot.digest


def prepared(database: Database, key: tuple, build: Callable[[], T]) -> T:
    """`build()`'s result, with the rows it writes; built once per database and key, copied after.

    A copy is used only where `build()` would start from the same rows: an empty database, or
    exactly the state an earlier `prepared` left (so `load the demo`, then `deploy a process` are
    copied as one chain). Anything else (a test wrote rows of its own first) gets a real `build()`."""
    if is_empty(database):
        base: tuple = ()
    else:
        base = _last.get(database.url, ())
        if not base or not _left_as(database, _snapshots[(database.url, *base)]):
            _last.pop(database.url, None)
            return build()
    chain = (*base, key)
    full_key = (database.url, *chain)
    snapshot = _snapshots.get(full_key)
    if snapshot is None:
        result = build()
        snapshot = _snapshots[full_key] = _capture(database, result)
        if base:
            snapshot.added = _added_rows(_snapshots[(database.url, *base)], snapshot)
    elif base and snapshot.added is not None:
        _restore_added(database, snapshot)
    else:
        if base:
            reset(database)
        _restore(database, snapshot)
    _last[database.url] = chain
    return snapshot.result


def file_key(path: Path) -> str:
    """A key part for a file `build` reads: its contents, so a changed file is built afresh."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def directory_key(directory: Path, pattern: str = "*.bpmn") -> str:
    """A key part for the files of a directory `build` reads: their names and contents."""
    digest = hashlib.sha1()
    for path in sorted(Path(directory).glob(pattern)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
