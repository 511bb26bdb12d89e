"""Live workflows kept between engine steps, so a step need not restore what the last one saved.

Restoring a workflow from its JSON state costs more than running a step of it. A step that saved
an instance leaves the workflow object here, keyed by database and instance and tagged with the
exact state text it saved. The next step reads the instance row as always; only when the row's
`state_json` is that very text (nobody saved the instance since, in any process) does it take the
object instead of restoring one. Text equality, not a version number, decides: a database emptied
and refilled (tests) can reuse ids and versions, never the state text of a different workflow.

Entries move in only when the saving transaction commits (`after_commit`); a step takes its
entry out while it runs, so a step that fails or rolls back leaves nothing behind, and two
threads never share a workflow object. Callers save a workflow as the last thing they do to it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from engine.db import database_key

MAX_ENTRIES = 512
# session.info key: workflows saved by this transaction, offered to CACHE when it commits; lives
# until the transaction ends.
_PENDING = "dutyflow_saved_workflows"


class WorkflowCache:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, int], tuple[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: tuple[str, int], state_json: str) -> Any | None:
        """The workflow saved as `state_json`, removed from the cache; None when it is not here."""
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is None or entry[0] != state_json:
            return None
        return entry[1]

    def put(self, key: tuple[str, int], state_json: str, workflow: Any) -> None:
        with self._lock:
            self._entries[key] = (state_json, workflow)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# The live workflows by (database, instance id): process lifetime, at most MAX_ENTRIES (oldest out
# first); a step takes its entry out while it runs.
CACHE = WorkflowCache()


def _key(session: Session, instance_id: int) -> tuple[str, int]:
    return (database_key(session), instance_id)


def take(session: Session, instance_id: int, state_json: str) -> Any | None:
    """The live workflow whose saved state is `state_json`, if a committed step left it here."""
    return CACHE.take(_key(session, instance_id), state_json)


def keep_after_commit(session: Session, instance_id: int, state_json: str, workflow: Any) -> None:
    """Offer a just-saved workflow to the cache once (and only if) this transaction commits."""
    session.info.setdefault(_PENDING, {})[_key(session, instance_id)] = (state_json, workflow)


def saved_in_transaction(session: Session, instance_id: int, state_json: str) -> Any | None:
    """The workflow this transaction saved as `state_json` (still to be offered at its commit), to
    READ from only — e.g. the case data of the answer to the step that saved it; a step must
    `take` or restore its own."""
    entry = session.info.get(_PENDING, {}).get(_key(session, instance_id))
    return entry[1] if entry is not None and entry[0] == state_json else None


@event.listens_for(OrmSession, "after_commit")
def _publish(session: OrmSession) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        for key, (state_json, workflow) in pending.items():
            CACHE.put(key, state_json, workflow)


@event.listens_for(OrmSession, "after_soft_rollback")
def _discard(session: OrmSession, _previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
