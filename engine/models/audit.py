"""Tables of the tamper-evident record (防篡改记录, docs/audit.md; engine/audit).

Migrations: engine/migrations/versions/0012_audit_chain.py builds the chain and its head,
0019_audit_pending.py the pending entries; together exactly these tables.

- `audit_entry`: one link of the hash chain. `seq` is gapless and ascending (1, 2, 3 …; given by
  the appender, not by a sequence, so a removed link leaves a gap verify can see). It records one
  state of one row of a chained table (`subject_table`, `subject_id`): `content` is the row's
  canonical JSON as the transaction that wrote it committed it, NULL when the row was removed on
  purpose (results recomputed). `hash` = SHA-256 of `prev_hash` and the entry's own facts.
- `audit_chain_head`: one row (id 1): the last link's `seq` and `hash`. The sealer locks it
  (PostgreSQL `SELECT … FOR UPDATE`), once a batch, so batches append one after another; verify
  compares it with the last link, so a cut-off tail is seen too.
- `audit_pending`: what a step recorded and no sealer has linked yet: one row per recorded state,
  written by the step in one INSERT statement without touching the head. `id` (the database's own
  sequence) is the sealing order; `content` is the row's canonical JSON as the step wrote it (NULL:
  removed on purpose), so the link made later holds the state of the step, not the state at the
  seal. The sealer deletes the entries it links, in the transaction that links them, so a
  committed entry is sealed exactly once.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

HEAD_ID = 1
GENESIS_HASH = "0" * 64  # the prev_hash of the first link


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "subject_table", "subject_id", "seq"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    subject_table: str = Field(max_length=60)
    subject_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    content: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditChainHead(SQLModel, table=True):
    __tablename__ = "audit_chain_head"

    id: int = Field(default=None, primary_key=True)
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_hash: str = Field(max_length=64)


class AuditPending(SQLModel, table=True):
    __tablename__ = "audit_pending"

    id: int | None = Field(default=None, primary_key=True)
    subject_table: str = Field(max_length=60)
    subject_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    content: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
