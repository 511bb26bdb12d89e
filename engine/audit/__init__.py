"""防篡改记录 (tamper-evident record, docs/audit.md): the timing log, evaluation scores, results
and grades, and any other table whose rows a package records, kept in one append-only hash chain.

Design
- One chain table, `audit_entry` (engine/models/audit.py): `seq` gapless and ascending, the
  subject (table + row id), `content` = the canonical JSON of the row as the database gives it
  back (engine/audit/content.py), `prev_hash`, and `hash` = SHA-256 of prev_hash + seq + subject +
  content. A row changed on purpose (a score entered again, a year published) gets a new link with
  its new state; a row removed on purpose (results recomputed) a link with no content.
- Appended in the same transaction as the rows it records (engine/audit/chain.py): callers record
  rows as they write them; the links are made at commit. Concurrency: appends serialise on a
  one-row head table (`audit_chain_head`: last seq and hash). PostgreSQL: `SELECT … FOR UPDATE` on
  it, held to the commit — a row lock rather than an advisory lock because the row is also what
  verify checks the last link against (a cut-off tail), and because it is an ordinary lock every
  tool shows. Taken at the seal, the last thing before the commit, so the transaction waits on no
  other lock while it holds it: no deadlock over the head. SQLite: every transaction already holds
  the database's write lock from `BEGIN IMMEDIATE` (engine.db), so appends are serialised anyway.
- What is chained: timing events (engine.runtime.events.write_events: the rows of one step's
  multi-row INSERT, handed back by RETURNING, one link each, in id order, all links in one
  multi-row INSERT), evaluation years (created, opened, computed, published), scores, sanctions
  and results (engine.evaluation.service), and any table another package records with
  `record(session, table, row_id)` (e.g. the accountability decisions).
- Verify (engine/audit/verify.py, `dutyflow audit verify`): walks the chain in bounded batches;
  the gapless seq shows a removed link, the hashes an edited one, the rows read again and
  re-hashed an edited or removed row, an anti-join a row inserted without a link.
- Limit: a hash chain inside the database it protects shows tampering by anyone who does not
  rewrite the whole chain from the altered link on. To catch that too, write down the head
  (`dutyflow audit verify` prints its seq and hash) somewhere else from time to time.
"""

from engine.audit.chain import CHAINED_TABLES, record, record_removed, record_rows, seal
from engine.audit.verify import Problem, Report, verify

__all__ = ["CHAINED_TABLES", "Problem", "Report", "record", "record_removed", "record_rows", "seal", "verify"]
