"""Appending to the chain: a step records what it wrote as pending entries; a sealer links them.

In the step (the transaction that writes the rows): callers say which rows they wrote (`record`,
`record_rows`, `record_removed`); at the commit (`write_pending`, run by a `before_commit`
listener) those rows become pending entries — one INSERT statement into `audit_pending`, each entry
holding the row's canonical content as the step wrote it. A row and its entry are committed or
rolled back together. The step takes no lock on the chain head and computes no hash: the chain is
off the step's critical path (issue 15: before, every step of every worker locked the one head row
in turn, three statements a step, and all workers queued on it).

Outside the steps (`seal_batch`, `seal_all`): the timer worker every few seconds
(engine.runtime.worker) and `dutyflow audit verify` before it walks. A batch is one transaction:
lock the head (PostgreSQL `SELECT … FOR UPDATE`; SQLite: `BEGIN IMMEDIATE` holds the database's
write lock already), take at most `batch` pending entries in `id` order and delete them (one
`DELETE … RETURNING`), append their links (one INSERT statement), move the head. So:
- two sealers never fork the chain: the second waits on the head lock, then (READ COMMITTED: each
  statement sees what committed before it) finds the entries the first took gone;
- an entry is sealed exactly once: taken and linked in the same transaction;
- the order is deterministic: pending `id` order (the database's sequence, in the order recorded
  within a step); an entry whose step committed after a batch with higher ids is linked in a later
  batch;
- a batch is bounded (`batch` entries), and the head is held for four statements only.

Why this shape and not another:
- a `seq` taken from a database sequence in the step, the hashes filled in later: a rolled-back
  step leaves a gap in a sequence, and a gapless `seq` is how verify sees a removed link;
- no pending table, the sealer reading the timing events not linked yet: the link would hold the
  row as it stands at the seal, so an edit in the window would be sealed as the truth; and ids of
  concurrent steps commit out of order, so "not linked yet" is no id range;
- the entries as unsealed rows of `audit_entry` (seq and hashes NULL, filled by the sealer): the
  same writes (an UPDATE of an indexed row is a new row version), and every reader of the chain
  would have to skip them;
- `SKIP LOCKED` on the head for the worker's rounds: a sealer waits at most one bounded batch, and
  verify must wait anyway to see everything committed before it.

The window between a step's commit and the seal (a few seconds with a worker running): the link
holds the content taken in the step, so a row edited in the window is still caught (the link and
the row differ), an entry edited alone is caught (its link then differs from the row), an entry
deleted leaves its row unlinked (caught). Not caught: a row and its pending entry edited or deleted
together before the seal — which is no more than anyone with write access can do to the newest
links anyway (rewrite the tail from the change on, and the head), the limit docs/audit.md states.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, bindparam, delete, event, insert, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel

from engine.audit.content import canonical, link_hash
from engine.db import core_connection
from engine.models.audit import GENESIS_HASH, HEAD_ID, AuditChainHead, AuditEntry, AuditPending

# The tables whose rows are chained. verify looks for unchained rows in these and in every table
# the chain names; another package's table is chained by calling `record` for its rows.
CHAINED_TABLES = ("timing_event", "evaluation_year", "evaluation_score", "evaluation_sanction", "evaluation_result")

# session.info key: the rows this transaction recorded and not written as pending entries yet:
# (table, row id) → content (str), _READ (read it at the commit) or None (removed); a row recorded
# twice keeps its first place and its last state. Dropped when the transaction ends.
PENDING = "dutyflow_audit_pending"
_READ = object()
_READ_CHUNK = 500
SEAL_BATCH = 1000  # entries a sealing transaction links at most

_ENTRY = AuditEntry.__table__  # type: ignore[attr-defined]
_HEAD = AuditChainHead.__table__  # type: ignore[attr-defined]
_PENDING = AuditPending.__table__  # type: ignore[attr-defined]
# Several rows at once, (plain, PostgreSQL): on PostgreSQL, RETURNING makes SQLAlchemy send one
# multi-row INSERT ("insertmanyvalues"; psycopg's executemany would run one INSERT per row in the
# server); on SQLite the driver's executemany runs one prepared statement per row in C, less than
# half the CPU of building the multi-row text (2 rows: 16 against 40 µs).
_INSERT_ENTRIES = (insert(_ENTRY), insert(_ENTRY).returning(_ENTRY.c.seq))
_INSERT_PENDING = (insert(_PENDING), insert(_PENDING).returning(_PENDING.c.id))
_ANY_PENDING = select(_PENDING.c.id).limit(1)
_TAKE_PENDING = (delete(_PENDING)
                 .where(_PENDING.c.id.in_(select(_PENDING.c.id).order_by(_PENDING.c.id).limit(bindparam("batch"))))
                 .returning(_PENDING.c.id, _PENDING.c.subject_table, _PENDING.c.subject_id, _PENDING.c.content))
_LOCK_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID).with_for_update()
_MOVE_HEAD = (update(_HEAD).where(_HEAD.c.id == HEAD_ID)
              .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash")))
_ANY_ENTRY = select(_ENTRY.c.seq).limit(1)


class ChainHeadMissing(RuntimeError):
    """The chain has links but no head row: someone removed it; `dutyflow audit verify` names it."""


# Cache, per process: table name → the Table of SQLModel.metadata (tables are registered at import
# and never change).
_TABLES: dict[str, Table] = {}


def table_of(name: str) -> Table:
    table = _TABLES.get(name)
    if table is None:
        table = SQLModel.metadata.tables.get(name)
        if table is None:
            raise ValueError(f"no table {name!r} to chain")
        _TABLES[name] = table
    return table


def primary_key(table: Table) -> Any:
    (column,) = table.primary_key.columns
    return column


def record(session: Session, table: str, row_id: int, content: Mapping[str, Any] | None = None) -> None:
    """Chain a row of `table` written in this transaction. Without `content` (the usual way) the
    row is read when the transaction commits, as it stands then; with it, `content` must be the
    row's columns exactly as stored (name → value), since verify reads the row again and compares."""
    chained = table_of(table)
    pending = session.info.setdefault(PENDING, {})
    pending[(table, row_id)] = _READ if content is None else canonical(content, chained.columns)


def record_rows(session: Session, table: str, rows: Iterable[Mapping[Any, Any]]) -> None:
    """Chain rows just written, as the database handed them back (INSERT … RETURNING every column),
    in the order given."""
    columns = table_of(table).columns
    pending = session.info.setdefault(PENDING, {})
    for row in rows:
        pending[(table, row["id"])] = canonical(row, columns)


def record_removed(session: Session, table: str, row_ids: Iterable[int]) -> None:
    """Chain the removal of rows deleted on purpose (a link with no content)."""
    table_of(table)
    pending = session.info.setdefault(PENDING, {})
    for row_id in row_ids:
        pending[(table, row_id)] = None


def write_pending(session: Session) -> int:
    """Write the transaction's recorded rows as pending entries (one INSERT statement; no lock,
    no hash); returns how many. Run at the commit by the listener below."""
    pending: dict[tuple[str, int], Any] | None = session.info.pop(PENDING, None)
    if not pending:
        return 0
    conn = core_connection(session)  # flushes the ORM's pending changes first
    _read_contents(conn, pending)
    _insert_many(conn, _INSERT_PENDING, [{"subject_table": table, "subject_id": row_id, "content": content}
                                         for (table, row_id), content in pending.items()])
    return len(pending)


def seal_batch(conn: Connection, batch: int = SEAL_BATCH) -> int:
    """Link at most `batch` pending entries into the chain, oldest `id` first, in the connection's
    transaction (the caller commits); returns how many. Without pending entries the head is not
    locked (one indexed read)."""
    if conn.execute(_ANY_PENDING).first() is None:
        return 0
    head = _lock_head(conn)
    taken = sorted(conn.execute(_TAKE_PENDING, {"batch": batch}).all(), key=lambda entry: entry[0])
    return _append(conn, head, (((table, row_id), content) for _, table, row_id, content in taken))


def seal_all(session: Session, batch: int = SEAL_BATCH, max_batches: int | None = None) -> int:
    """Seal pending entries batch by batch, each batch committed on its own (the head is held for
    one batch at a time), until a batch comes back short or `max_batches` were sealed."""
    sealed = rounds = 0
    while max_batches is None or rounds < max_batches:
        linked = seal_batch(core_connection(session), batch)
        session.commit()
        sealed += linked
        rounds += 1
        if linked < batch:
            break
    return sealed


def _insert_many(conn: Connection, statements: tuple[Any, Any], rows: list[dict[str, Any]]) -> None:
    conn.execute(statements[conn.dialect.name == "postgresql"], rows)


def _read_contents(conn: Connection, pending: dict[tuple[str, int], Any]) -> None:
    wanted: dict[str, list[int]] = {}
    for (table, row_id), content in pending.items():
        if content is _READ:
            wanted.setdefault(table, []).append(row_id)
    for name, ids in wanted.items():
        chained = table_of(name)
        key = primary_key(chained)
        columns = list(chained.columns)
        for start in range(0, len(ids), _READ_CHUNK):
            chunk = ids[start:start + _READ_CHUNK]
            found = {row[key.name]: canonical(row, columns)
                     for row in conn.execute(chained.select().where(key.in_(chunk))).mappings()}
            for row_id in chunk:
                pending[(name, row_id)] = found.get(row_id)  # gone by the commit: a removal


def _lock_head(conn: Connection) -> list[Any]:
    """Lock the head (PostgreSQL: the row lock of SELECT … FOR UPDATE, held to the commit; SQLite:
    the transaction holds the database's write lock from BEGIN IMMEDIATE, FOR UPDATE is not sent).
    Only sealers take it: the last thing they lock, so they wait on no other lock while holding it."""
    row = conn.execute(_LOCK_HEAD).first()
    if row is None:
        if conn.execute(_ANY_ENTRY).first() is not None:
            raise ChainHeadMissing("防篡改记录的链头缺失，请运行 dutyflow audit verify 检查")
        # An empty chain (migration 0012 writes the head; a database emptied since has none): two
        # sealers may get here at once, so the head is made with ON CONFLICT DO NOTHING — the
        # second waits for the first's row, then locks it as it stands after the first's commit.
        made = (postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert)(_HEAD)
        conn.execute(made.values(id=HEAD_ID, last_seq=0, last_hash=GENESIS_HASH).on_conflict_do_nothing())
        row = conn.execute(_LOCK_HEAD).one()
    return [row[0], row[1]]


def _append(conn: Connection, head: list[Any], items: Iterable[tuple[tuple[str, int], str | None]]) -> int:
    seq, prev = head
    links = []
    for (table, row_id), content in items:
        seq += 1
        digest = link_hash(prev, seq, table, row_id, content)
        links.append({"seq": seq, "subject_table": table, "subject_id": row_id, "content": content,
                      "prev_hash": prev, "hash": digest})
        prev = digest
    if links:
        _insert_many(conn, _INSERT_ENTRIES, links)
        conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
        head[0], head[1] = seq, prev
    return len(links)


def seal_existing(conn: Connection, batch: int = 1000) -> int:
    """Chain every row of the chained tables that has no link yet, table by table in id order
    (migration 0012 seals the rows written before the chain existed). Only the columns the
    database has are read, so a later model's new column does not break an old upgrade."""
    inspector = inspect(conn)
    existing = {name: {c["name"] for c in inspector.get_columns(name)} for name in CHAINED_TABLES}
    head = _lock_head(conn)
    added = 0
    for name in CHAINED_TABLES:
        table = table_of(name)
        key = primary_key(table)
        columns = [c for c in table.columns if c.name in existing[name]]
        last = None
        while True:
            query = select(*columns).order_by(key).limit(batch)
            if last is not None:
                query = query.where(key > last)
            rows = conn.execute(query).mappings().all()
            if not rows:
                break
            added += _append(conn, head, (((name, row[key.name]), canonical(row, columns)) for row in rows))
            last = rows[-1][key.name]
    return added


@event.listens_for(OrmSession, "before_commit")
def _write_pending_before_commit(session: OrmSession) -> None:
    write_pending(session)  # type: ignore[arg-type]


@event.listens_for(OrmSession, "after_transaction_end")
def _drop_after_transaction(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:  # committed (written already) or rolled back (nothing to keep)
        session.info.pop(PENDING, None)
