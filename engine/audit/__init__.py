"""防篡改记录 (tamper-evident record, docs/audit.md): the timing log, evaluation scores, results
and grades, and any other table whose rows a package records, kept in one append-only hash chain.

Design
- One chain table, `audit_entry` (engine/models/audit.py): `seq` gapless and ascending, the
  subject (table + row id), `content` = the canonical JSON of the row as the database gives it
  back (engine/audit/content.py), `prev_hash`, and `hash` = SHA-256 of prev_hash + seq + subject +
  content. A row changed on purpose (a score entered again, a year published) gets a new link with
  its new state; a row removed on purpose (results recomputed) a link with no content.
- Recorded in the step, sealed outside it (engine/audit/chain.py; issue 15). The step writes what
  it recorded as pending entries (`audit_pending`: table, row id and the row's canonical content as
  the step wrote it) in one INSERT statement at its commit — no lock on the chain head, no hash, one
  statement instead of three. A sealer links pending entries into the chain in bounded batches,
  one transaction each, in pending-id order: the timer worker every few seconds
  (engine.runtime.worker: `dutyflow worker` and the one in each server process) and `dutyflow audit verify`
  before it walks. Concurrency: only sealers lock the one-row head (`audit_chain_head`: last seq
  and hash), once a batch. PostgreSQL: `SELECT … FOR UPDATE` on it, held to the batch's commit — a
  row lock rather than an advisory lock because the row is also what verify checks the last link
  against (a cut-off tail), and because it is an ordinary lock every tool shows; a second sealer
  waits, then finds the entries the first took gone (taken with `DELETE … RETURNING` in the
  transaction that links them), so the chain never forks and an entry is linked once. SQLite:
  every transaction already holds the database's write lock from `BEGIN IMMEDIATE` (engine.db).
  Why not in the step, as before: every step of every worker took the head lock in turn, so the
  chain serialised all writers (41.5 steps/s at 20 clients, docs/benchmarks.md).
- The window between a step's commit and the seal: the link holds the content the step wrote, so an
  edit of the row in the window is caught, as is an edit or removal of the pending entry alone; a
  row and its pending entry changed together before the seal are not — no more than anyone with
  write access can do to the newest links anyway by rewriting the tail (the limit below).
- What is chained: timing events (engine.runtime.events.write_events: the rows of one step's
  multi-row INSERT, handed back by RETURNING, one pending entry each, in id order), evaluation years (created, opened, computed, published), scores, sanctions
  and results (engine.evaluation.service), and any table another package records with
  `record(session, table, row_id)` (e.g. the accountability decisions).
- Verify (engine/audit/verify.py, `dutyflow audit verify`): seals what is pending, then walks the
  chain in bounded batches (PostgreSQL: in one REPEATABLE READ snapshot, so steps and sealers
  running meanwhile do not show as problems); the gapless seq shows a removed link, the hashes an
  edited one, the rows read again and re-hashed an edited or removed row, an anti-join a row
  inserted without a link or pending entry.
- Limit: a hash chain inside the database it protects shows tampering by anyone who does not
  rewrite the whole chain from the altered link on. To catch that too, write down the head
  (`dutyflow audit verify` prints its seq and hash) somewhere else from time to time.
"""

from engine.audit.chain import (
    CHAINED_TABLES,
    record,
    record_removed,
    record_rows,
    seal_all,
    seal_batch,
    write_pending,
)
from engine.audit.verify import Problem, Report, verify

__all__ = ["CHAINED_TABLES", "Problem", "Report", "record", "record_removed", "record_rows", "seal_all", "seal_batch",
           "verify", "write_pending"]
