"""Walking the chain: the first link that was altered, removed or inserted, or none.

First the pending entries are sealed (engine/audit/chain.py: steps record, sealers link), in
bounded batches, each committed: what committed before verify started is on the chain when it
walks. Then the walk runs in one snapshot (PostgreSQL: a REPEATABLE READ transaction; SQLite: the
transaction holds the write lock), so links, head, rows and pending entries are seen at one moment
while steps and sealers go on: a row whose newest state is still pending (its step committed after
the seal) is left to the next verify, neither compared with its older link nor counted unchained.

In bounded batches of links (keyset on `seq`), so memory does not grow with the log:
1. each link: its `seq` follows the last one's (a gap is a removed link → 链断裂), its `prev_hash`
   is the last one's hash (链断裂), its `hash` is the hash of its own facts (the link edited →
   内容被修改);
2. each link that holds the latest state of its row (no later link for the same row, asked in SQL):
   the row is read again and its canonical content must be the link's — a different content is
   内容被修改, a missing row 记录被删除, a row back after a removal 插入了不在链上的记录;
3. the head must be the last link (a cut-off tail → 链断裂, links past the head → 插入);
4. no row of a chained table may be without a link or a pending entry (an anti-join per table, in
   SQL) → 插入了不在链上的记录.
The first problem in chain order is reported; a row with no link at all comes after every link.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col

from engine.audit.chain import CHAINED_TABLES, SEAL_BATCH, primary_key, seal_all
from engine.audit.content import canonical, link_hash
from engine.models.audit import GENESIS_HASH, HEAD_ID, AuditChainHead, AuditEntry, AuditPending

ALTERED = "内容被修改"
REMOVED = "记录被删除"
INSERTED = "插入了不在链上的记录"
BROKEN = "链断裂"
BATCH = 1000


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the link named; None for a row that has no link
    table: str | None
    row_id: int | None
    reason: str  # ALTERED, REMOVED, INSERTED or BROKEN
    detail: str

    def text(self) -> str:
        return (f"序号 {self.seq if self.seq is not None else '—（不在链上）'}，表 {self.table or '—'}，"
                f"行 {self.row_id if self.row_id is not None else '—'}，原因：{self.reason}（{self.detail}）")


@dataclass(frozen=True)
class Report:
    links: int  # sound links: all of them, or those before the first problem
    head_seq: int
    head_hash: str
    problem: Problem | None
    sealed: int = field(default=0, compare=False)  # pending entries this verify linked before walking

    @property
    def intact(self) -> bool:
        return self.problem is None


_later = aliased(AuditEntry)
# The link holds its row's newest state: no later link, and no pending entry (a state committed
# after the seal, which the next verify checks).
_IS_LATEST = and_(
    ~exists().where(col(_later.subject_table) == col(AuditEntry.subject_table),
                    col(_later.subject_id) == col(AuditEntry.subject_id), col(_later.seq) > col(AuditEntry.seq)),
    ~exists().where(col(AuditPending.subject_table) == col(AuditEntry.subject_table),
                    col(AuditPending.subject_id) == col(AuditEntry.subject_id)))
_LINKS = select(col(AuditEntry.seq), col(AuditEntry.subject_table), col(AuditEntry.subject_id),
                col(AuditEntry.content), col(AuditEntry.prev_hash), col(AuditEntry.hash),
                _IS_LATEST.label("latest")).order_by(col(AuditEntry.seq))


def verify(session: Session, batch: int = BATCH, seal: bool = True) -> Report:
    """Seal what is pending (committing the session's transaction; `seal=False`: only walk, as of
    now), then walk the chain; the session is left in the walk's read-only transaction (the
    session's own when it is in one already)."""
    sealed = seal_all(session, min(batch, SEAL_BATCH)) if seal else 0
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
    report = _walk(session, batch)
    return Report(report.links, report.head_seq, report.head_hash, report.problem, sealed)


def _walk(session: Session, batch: int) -> Report:
    last_seq, last_hash = 0, GENESIS_HASH
    while True:
        links = session.execute(_LINKS.where(col(AuditEntry.seq) > last_seq).limit(batch)).all()
        if not links:
            break
        found: list[Problem] = []
        hashes = {last_seq: last_hash}
        for link in links:
            seq, table, row_id, content, prev_hash, digest, _ = link
            if seq != last_seq + 1:
                missing = f"{last_seq + 1}" if seq == last_seq + 2 else f"{last_seq + 1}–{seq - 1}"
                found.append(Problem(last_seq + 1, None, None, BROKEN, f"链上序号 {missing} 的记录缺失"))
                break
            if prev_hash != last_hash:
                found.append(Problem(seq, table, row_id, BROKEN, "本条所记前一条的哈希与前一条不符"))
                break
            if link_hash(prev_hash, seq, table, row_id, content) != digest:
                found.append(Problem(seq, table, row_id, ALTERED, "链上记录本身被改动，哈希不符"))
                break
            last_seq, last_hash = seq, digest
            hashes[seq] = digest
        found += _check_rows(session, [link for link in links if link.latest and link.seq <= last_seq])
        if found:
            first = min(found, key=lambda p: p.seq or 0)
            sound = min(last_seq, (first.seq or 1) - 1)  # the links before the first problem
            return Report(sound, sound, hashes[sound], first)
        if len(links) < batch:
            break
    problem = _check_head(session, last_seq, last_hash) or _unchained_row(session)
    return Report(last_seq, last_seq, last_hash, problem)


def _check_rows(session: Session, links: list[Any]) -> list[Problem]:
    """Re-read the rows whose latest state these links hold and compare."""
    by_table: dict[str, list[Any]] = {}
    for link in links:
        by_table.setdefault(link.subject_table, []).append(link)
    found = []
    for name, group in by_table.items():
        table = SQLModel.metadata.tables.get(name)
        if table is None:
            found.append(Problem(group[0].seq, name, group[0].subject_id, BROKEN, f"链上记录指向未知的表 {name}"))
            continue
        key = primary_key(table)
        columns = list(table.columns)
        rows = {row[key.name]: canonical(row, columns) for row in session.execute(
            table.select().where(key.in_([link.subject_id for link in group]))).mappings()}
        for link in group:
            now = rows.get(link.subject_id)
            if link.content is None and now is not None:
                found.append(Problem(link.seq, name, link.subject_id, INSERTED, "该行已记为删除，却又出现"))
            elif link.content is not None and now is None:
                found.append(Problem(link.seq, name, link.subject_id, REMOVED, "链上有记录，表中该行已不存在"))
            elif link.content is not None and now != link.content:
                found.append(Problem(link.seq, name, link.subject_id, ALTERED,
                                     f"表中该行与链上记录不符：{_difference(link.content, now)}"))
    return found


def _difference(recorded: str, now: str | None) -> str:
    try:
        before = json.loads(recorded)
    except ValueError:  # the link's content was edited into something that is not JSON any more
        return "链上所记内容不是有效的 JSON"
    after = json.loads(now or "{}")
    names = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return "，".join(f"{k}: {before.get(k)!r} → {after.get(k)!r}" for k in names[:5])


def _check_head(session: Session, last_seq: int, last_hash: str) -> Problem | None:
    head = session.get(AuditChainHead, HEAD_ID)
    if head is None:
        if last_seq == 0:
            return None  # nothing chained yet
        return Problem(last_seq, None, None, BROKEN, "链头记录缺失")
    if head.last_seq > last_seq:
        missing = f"{last_seq + 1}" if head.last_seq == last_seq + 1 else f"{last_seq + 1}–{head.last_seq}"
        return Problem(last_seq + 1, None, None, BROKEN, f"链尾序号 {missing} 的记录缺失")
    if head.last_seq < last_seq:
        return Problem(head.last_seq + 1, None, None, INSERTED, f"链头之后多出序号 {head.last_seq + 1} 起的记录")
    if head.last_hash != last_hash:
        return Problem(last_seq, None, None, BROKEN, "链头哈希与最后一条不符")
    return None


def _unchained_row(session: Session) -> Problem | None:
    named = set(session.scalars(select(col(AuditEntry.subject_table)).distinct()))
    for name in sorted(set(CHAINED_TABLES) | named):
        table = SQLModel.metadata.tables.get(name)
        if table is None:
            continue
        key = primary_key(table)
        row_id = session.scalars(select(key).where(
            ~exists().where(and_(col(AuditEntry.subject_table) == name, col(AuditEntry.subject_id) == key)),
            ~exists().where(and_(col(AuditPending.subject_table) == name, col(AuditPending.subject_id) == key)),
        ).order_by(key).limit(1)).first()
        if row_id is not None:
            return Problem(None, name, row_id, INSERTED, "表中有此行，链上没有它的记录")
    return None
