"""Appending to the chain: what a transaction records, sealed into links when it commits.

Callers say which rows they wrote (`record`, `record_rows`, `record_removed`); the links are made
at commit (`seal`, run by a `before_commit` listener), in the same transaction as the rows, so a
row and its link are committed or rolled back together. Sealing then, not at each write, keeps
the chain head locked only from the seal to the commit: the transaction takes no other lock after
it, so two transactions cannot deadlock over the head.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, bindparam, event, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel

from engine.audit.content import canonical, link_hash
from engine.db import core_connection
from engine.models.audit import GENESIS_HASH, HEAD_ID, AuditChainHead, AuditEntry

# The tables whose rows are chained. verify looks for unchained rows in these and in every table
# the chain names; another package's table is chained by calling `record` for its rows.
CHAINED_TABLES = ("timing_event", "evaluation_year", "evaluation_score", "evaluation_sanction", "evaluation_result")

# session.info keys, both dropped when the transaction ends:
# - the rows recorded and not sealed yet: (table, row id) → content (str), _READ (read it at the
#   seal) or None (removed); a row recorded twice keeps its first place and its last state;
PENDING = "dutyflow_audit_pending"
# - the chain head [last seq, last hash] once this transaction holds its lock.
HEAD = "dutyflow_audit_head"
_READ = object()
_READ_CHUNK = 500

_ENTRY = AuditEntry.__table__  # type: ignore[attr-defined]
_HEAD = AuditChainHead.__table__  # type: ignore[attr-defined]
_INSERT_ENTRIES = insert(_ENTRY)
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


def seal(session: Session) -> int:
    """Append the transaction's recorded rows to the chain; returns how many links were added."""
    pending: dict[tuple[str, int], Any] | None = session.info.pop(PENDING, None)
    if not pending:
        return 0
    conn = core_connection(session)  # flushes the ORM's pending changes first
    _read_contents(conn, pending)
    head = session.info.get(HEAD)
    if head is None:
        head = session.info[HEAD] = _lock_head(conn)
    return _append(conn, head, pending.items())


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
    the transaction holds the database's write lock from BEGIN IMMEDIATE, FOR UPDATE is not sent)."""
    row = conn.execute(_LOCK_HEAD).first()
    if row is not None:
        return [row[0], row[1]]
    if conn.execute(_ANY_ENTRY).first() is not None:
        raise ChainHeadMissing("防篡改记录的链头缺失，请运行 dutyflow audit verify 检查")
    conn.execute(insert(_HEAD).values(id=HEAD_ID, last_seq=0, last_hash=GENESIS_HASH))
    return [0, GENESIS_HASH]


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
        conn.execute(_INSERT_ENTRIES, links)  # one multi-row INSERT
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
def _seal_before_commit(session: OrmSession) -> None:
    seal(session)  # type: ignore[arg-type]


@event.listens_for(OrmSession, "after_transaction_end")
def _drop_after_transaction(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:  # committed (sealed already) or rolled back (nothing to keep)
        session.info.pop(PENDING, None)
        session.info.pop(HEAD, None)
