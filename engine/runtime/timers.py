"""Timer rows: written with each engine step, claimed by workers with a lease, fired once.

The pattern (see docs/benchmarks.md and the shared notes on workers):
1. Inside the step's transaction (core's `save_workflow` calls `sync_bpmn_timers` and the clocks'
   sync): the instance's waiting BPMN timers are compared with its pending timer rows; new ones
   are inserted (due_at read once from the task's `event_value`), stale ones cancelled. Deadlines
   and their warning rows are synchronised in the same step (`schedule`, `unschedule`,
   `add_timer_rows`).
2. `claim_due` takes up to n due rows (or rows whose lease expired) in a short transaction —
   `FOR UPDATE SKIP LOCKED` on PostgreSQL, `UPDATE … RETURNING` under SQLite's `BEGIN IMMEDIATE`
   — and stamps them with the worker's id and a lease expiry.
3. The worker (`engine.runtime.worker.fire_one`) fires one row per transaction and closes it with
   `finish`, an update fenced on `lock_owner`. If the fence or the instance's version check fails
   the whole transaction rolls back and the row stays pending for whoever owns it now.
Rows are unique on (instance, task, kind, due_at), so a schedule is written once and a fired row
is never fired again: at-least-once delivery with an idempotent check, i.e. exactly once.

This module knows rows only; it imports neither the instances nor the clocks (both write rows
through it).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import CursorResult, bindparam, func, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from engine.clock import SystemClock
from engine.db import Database, core_connection
from engine.models.timers import RuntimeTimer, TimerKind, TimerStatus

log = logging.getLogger(__name__)

# The table: statements on its columns are Core statements (half the cost of the same one written
# with the model's attributes); the rows they write are not read back as ORM objects in a step.
_TIMER_TABLE = RuntimeTimer.__table__  # type: ignore[attr-defined]
_C = _TIMER_TABLE.c

# A row whose firing raised this many times is parked as failed instead of retried forever.
MAX_ATTEMPTS = 5
# A due timer of a suspended instance is looked at again after this long.
DEFER_SECONDS = 60
DEFERRED = "deferred"


# --- reading the workflow ------------------------------------------------------------------------
@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    spec_name: str
    due_at: datetime


def waiting_timers(workflow) -> list[WaitingTimer]:
    """The workflow's timer tasks that wait, with their absolute due time (from `event_value`)."""
    found = []
    for task in list(workflow.event_manager.tasks.values()):
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition) or task.state != TaskState.WAITING:
            continue
        due = timer_due(task)
        if due is not None:
            found.append(WaitingTimer(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, due))
    return found


def timer_due(task) -> datetime | None:
    """A waiting timer task's due moment (UTC), or None when it is not scheduled."""
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # cycle timers keep {"cycles", "next", "duration"}
        if value.get("cycles") == 0:
            return None
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:  # Spiff reads naive values in the server's zone; so do we
        moment = moment.astimezone()
    return moment.astimezone(UTC)


# --- 1. after every engine step ------------------------------------------------------------------
# session.info key: instances inserted in this transaction whose first step is not saved yet; lives
# until that step's `take_new_instance` (or the end of the transaction).
NEW_INSTANCES = "dutyflow_new_instances"


def note_new_instance(session: Session, instance_id: int) -> None:
    """Core calls this right after inserting an instance row: until its first step is saved in this
    transaction no task, timer, deadline or warning row of it can exist, so that step looks for none."""
    session.info.setdefault(NEW_INSTANCES, set()).add(instance_id)


def is_new_instance(session: Session, instance_id: int) -> bool:
    """Whether the instance was inserted in this transaction and has not had its first step saved."""
    return instance_id in session.info.get(NEW_INSTANCES, ())


def take_new_instance(session: Session, instance_id: int) -> bool:
    """`is_new_instance`, forgetting it: only the first step, which writes the rows later steps read."""
    new = session.info.get(NEW_INSTANCES)
    if not new or instance_id not in new:
        return False
    new.discard(instance_id)
    return True


# Whether a parsed spec (or one of its subprocess specs) declares a timer event; lives as long as
# the spec object (specs are immutable per definition version; the serializer's cache holds them).
_SPEC_HAS_TIMERS: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def has_timer_events(workflow: Any) -> bool:
    """Whether the process (or a subprocess) declares any timer event."""
    found = _SPEC_HAS_TIMERS.get(workflow.spec)
    if found is None:
        specs = [workflow.spec, *getattr(workflow, "subprocess_specs", {}).values()]
        found = _SPEC_HAS_TIMERS[workflow.spec] = any(
            _declares_timer(getattr(task_spec, "event_definition", None))
            for spec in specs for task_spec in spec.task_specs.values()
        )
    return found


def _declares_timer(definition: Any) -> bool:
    if definition is None:
        return False
    if isinstance(definition, TimerEventDefinition):
        return True
    return any(_declares_timer(d) for d in getattr(definition, "event_definitions", None) or ())


def sync_bpmn_timers(session: Session, instance_id: int, workflow: Any, now: datetime, new_instance: bool = False) -> None:
    """Timer rows follow the workflow's waiting BPMN timers (new ones inserted, stale ones cancelled)."""
    if not has_timer_events(workflow):
        return  # no timer in this process: no row can exist, no query needed
    waiting = {(t.task_id, t.due_at): t for t in waiting_timers(workflow)}
    if new_instance:
        add_timer_rows(session, [(instance_id, t.task_id, TimerKind.bpmn, t.spec_name, t.due_at) for t in waiting.values()],
                       now)
        return
    rows = session.execute(
        select(_C.id, _C.task_id, _C.due_at, _C.status).where(
            _C.instance_id == instance_id,
            _C.kind == TimerKind.bpmn,
            or_(_C.status == TimerStatus.pending, _C.task_id.in_([task_id for task_id, _ in waiting])),
        )
    ).all()
    known = {(row.task_id, as_utc(row.due_at)) for row in rows}
    stale = [row.id for row in rows if row.status == TimerStatus.pending and (row.task_id, as_utc(row.due_at)) not in waiting]
    if stale:
        cancel_rows(session, stale, now)
    # A row finished without effect (the instance was suspended when it came due) whose timer
    # still waits is opened again: it fires once the instance runs.
    revive = [row.id for row in rows if row.status in (TimerStatus.noop, TimerStatus.cancelled)
              and (row.task_id, as_utc(row.due_at)) in waiting]
    if revive:
        session.execute(
            update(_TIMER_TABLE).where(_C.id.in_(revive))
            .values(status=TimerStatus.pending, lock_owner=None, lock_expires_at=None, finished_at=None)
        )
    for key, timer in waiting.items():
        if key not in known:
            session.add(
                RuntimeTimer(
                    instance_id=instance_id,
                    task_id=timer.task_id,
                    kind=TimerKind.bpmn,
                    spec_name=timer.spec_name[:200],
                    due_at=timer.due_at,
                    created_at=now,
                )
            )
    session.flush()


def schedule(session: Session, instance_id: int, task_id: str, kind: str, due_at: datetime, now: datetime,
             spec_name: str = "") -> None:
    """Make sure one pending row exists for (instance, task, kind) at `due_at`; cancel other moments.

    Used for warning rows, whose moment moves when a clock pauses, restarts or is extended.
    """
    due_at = as_utc(due_at)
    rows = session.execute(
        select(_C.id, _C.due_at, _C.status).where(_C.instance_id == instance_id, _C.task_id == task_id, _C.kind == kind)
    ).all()
    stale = [r.id for r in rows if r.status == TimerStatus.pending and as_utc(r.due_at) != due_at]
    if stale:
        cancel_rows(session, stale, now)
    if not any(as_utc(r.due_at) == due_at for r in rows):
        session.add(RuntimeTimer(instance_id=instance_id, task_id=task_id, kind=kind, spec_name=spec_name[:200],
                                 due_at=due_at, created_at=now))
        session.flush()


def add_rows(session: Session, instance_id: int, task_id: str, spec_name: str,
             moments: tuple[tuple[str, datetime], ...], now: datetime) -> None:
    """Insert rows for a subject that has none yet (a new case or stage): no look-up needed."""
    add_timer_rows(session, [(instance_id, task_id, kind, spec_name, due_at) for kind, due_at in moments], now)


def add_timer_rows(session: Session, rows: list[tuple[int, str, str, str, datetime]], now: datetime) -> None:
    """Insert (instance_id, task_id, kind, spec_name, due_at) rows for new subjects, in one statement.

    A subject is new, but its key may not be: a step withdrawn (撤回) or sent back becomes ready
    again under the same task id, and on the same working day its stage's warnings fall due at
    the same moments as before. The earlier readiness's rows were cancelled (or fired) when it
    closed; such a row is opened again for the new readiness instead of a second row with the
    same key (which the unique key refuses). A pending row is left as it is.
    """
    unique: dict[tuple[int, str, str, datetime], str] = {}  # the rows are unique on this key
    for iid, task_id, kind, spec_name, due_at in rows:
        unique.setdefault((iid, task_id, kind, as_utc(due_at)), spec_name)
    if not unique:
        return
    # One statement for all of them: no ORM objects for rows this transaction never reads back.
    connection = core_connection(session)
    connection.execute(_INSERT_TIMERS[connection.dialect.name], [
        {"instance_id": iid, "task_id": task_id, "kind": str(kind), "spec_name": spec_name[:200],
         "due_at": due_at, "created_at": now, "status": TimerStatus.pending, "attempts": 0}
        for (iid, task_id, kind, due_at), spec_name in unique.items()
    ])


# Statements every step runs, built once (SQLAlchemy caches their compiled form). Core statements
# on the table: the rows they write are never read back as ORM objects in the same step.
_TIMER_KEY = ("instance_id", "task_id", "kind", "due_at")


def _upsert_timers(insert: Callable[..., Any]) -> Any:
    """`INSERT … ON CONFLICT (key) DO UPDATE … WHERE status <> 'pending'` for one dialect (SQLite
    and PostgreSQL spell it the same way; SQLAlchemy builds it per dialect)."""
    statement = insert(_TIMER_TABLE)
    return statement.on_conflict_do_update(
        index_elements=list(_TIMER_KEY),
        set_={"status": statement.excluded.status, "spec_name": statement.excluded.spec_name,
              "attempts": statement.excluded.attempts, "lock_owner": null(), "lock_expires_at": null(),
              "finished_at": null(), "last_error": null(), "created_at": statement.excluded.created_at},
        where=_TIMER_TABLE.c.status != TimerStatus.pending,
    )


# Several rows at once. PostgreSQL: RETURNING makes SQLAlchemy send them as one multi-row INSERT
# (insertmanyvalues; psycopg's executemany would run one INSERT per row in the server). SQLite: the
# driver's executemany runs one prepared statement per row in C, less CPU than SQLAlchemy building
# the multi-row text and its parameters in Python (engine.audit.chain measured the same).
_INSERT_TIMERS = {"sqlite": _upsert_timers(sqlite_insert),
                  "postgresql": _upsert_timers(postgresql_insert).returning(_TIMER_TABLE.c.id)}
_CANCEL_VALUES = {"status": TimerStatus.cancelled, "finished_at": bindparam("p_now")}
# Up to this many kinds or subjects a cancel names each one as its own parameter; more go as one
# expanding parameter. An expanding `IN` is rendered again at every execution (SQLAlchemy's
# "post-compile" step rewrites the cached SQL text for the list's length): 43 against 21 µs a
# cancel on SQLite, and a step cancels with a fixed list of kinds and one or two closed tasks.
_CANCEL_LISTED = 4
_EXPANDING = "expanding"  # a list's shape when it has more than _CANCEL_LISTED values
ListShape = int | str  # how many parameters a list is bound as, or _EXPANDING


def _bind_list(name: str, values: list[str], params: dict[str, Any]) -> ListShape:
    """Put `values` in `params` under `name` as `_one_of` binds a list of this shape; its shape."""
    if len(values) > _CANCEL_LISTED:
        params[name] = values
        return _EXPANDING
    for i, value in enumerate(values):
        params[f"{name}_{i}"] = value
    return len(values)


def _one_of(column: Any, name: str, shape: ListShape) -> Any:
    if shape == _EXPANDING:
        return column.in_(bindparam(name, expanding=True))
    return column.in_([bindparam(f"{name}_{i}") for i in range(int(shape))])


# Cache, for the life of the process: one statement per shape, at most (_CANCEL_LISTED + 1) ×
# (_CANCEL_LISTED + 2).
@cache
def _cancel_statement(kinds: ListShape, tasks: ListShape | None) -> Any:
    """The cancel of pending rows of the kinds bound as `kinds`, of the subjects bound as `tasks`
    (None: every subject of the instance)."""
    condition = [_TIMER_TABLE.c.instance_id == bindparam("p_instance"), _TIMER_TABLE.c.status == TimerStatus.pending,
                 _one_of(_TIMER_TABLE.c.kind, "p_kinds", kinds)]
    if tasks is not None:
        condition.append(_one_of(_TIMER_TABLE.c.task_id, "p_tasks", tasks))
    return update(_TIMER_TABLE).where(*condition).values(_CANCEL_VALUES)


def unschedule(session: Session, instance_id: int, task_id: str | list[str] | None, kinds: tuple[str, ...],
               now: datetime) -> None:
    """Cancel the pending rows of these kinds (for one subject, several, or all of the instance)."""
    tasks = [task_id] if isinstance(task_id, str) else task_id
    if (tasks is not None and not tasks) or not kinds:
        return
    params: dict[str, Any] = {"p_instance": instance_id, "p_now": now}
    kind_shape = _bind_list("p_kinds", [str(k) for k in kinds], params)
    task_shape = None if tasks is None else _bind_list("p_tasks", list(tasks), params)
    core_connection(session).execute(_cancel_statement(kind_shape, task_shape), params)


def cancel_rows(session: Session, ids: list[int], now: datetime) -> None:
    # The lease is left in place: a worker firing this very row in this very transaction (the
    # timer fired, so its task stopped waiting) still finishes it with its fenced update.
    session.execute(
        update(_TIMER_TABLE)
        .where(_C.id.in_(ids), _C.status == TimerStatus.pending)
        .values(status=TimerStatus.cancelled, finished_at=now)
    )


def pending_timers(session: Session, instance_id: int) -> list[RuntimeTimer]:
    """Pending timer and warning rows of one instance, earliest first (for the API)."""
    return list(
        session.scalars(
            select(RuntimeTimer)
            .where(col(RuntimeTimer.instance_id) == instance_id, col(RuntimeTimer.status) == TimerStatus.pending)
            .order_by(col(RuntimeTimer.due_at))
        )
    )


# --- the "now" a worker compares due times with -------------------------------------------------
NowSource = Callable[[Session], datetime]


def now_source(database: Database, clock: Any) -> NowSource:
    """Where workers read "now": the database's clock in production, the test's clock in tests.

    With several worker hosts their clocks drift; the database's `now()` is the one clock they
    share, so in production (a SystemClock on PostgreSQL) due times are compared with it. A
    ControlledClock is the truth in tests and simulations. SQLite runs in one process on one
    host, so its application clock is the database's clock.
    """
    if isinstance(clock, SystemClock) and not database.is_sqlite:
        return lambda session: session.execute(select(func.now())).scalar_one().astimezone(UTC)
    return lambda _session: clock.now().astimezone(UTC)


# --- 2. claim ------------------------------------------------------------------------------------
def claim_due(database: Database, now_of: NowSource, worker_id: str, lease_seconds: float, limit: int) -> list[int]:
    """Lease up to `limit` due rows to `worker_id` in one short transaction; their ids, earliest first."""
    with database.session() as session:
        now = now_of(session)
        candidates = (
            select(_C.id)
            .where(
                _C.status == TimerStatus.pending,
                _C.due_at <= now,
                or_(_C.lock_expires_at.is_(None), _C.lock_expires_at < now),
            )
            .order_by(_C.due_at, _C.id)
            .limit(limit)
        )
        if not database.is_sqlite:
            candidates = candidates.with_for_update(skip_locked=True)
        claimed = session.execute(
            update(_TIMER_TABLE)
            .where(_C.id.in_(candidates.scalar_subquery()))
            .values(
                lock_owner=worker_id,
                lock_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=_C.attempts + 1,
            )
            .returning(_C.id, _C.due_at)
        ).all()
    return [row.id for row in sorted(claimed, key=lambda r: (r.due_at, r.id))]


# --- 3. finish a fired row, fenced ---------------------------------------------------------------
class LeaseLost(Exception):
    """The fenced finish touched no row: another worker owns the timer now."""


def finish(session: Session, timer_id: int, worker_id: str, status: str, now: datetime) -> None:
    """Fenced finish: only the current lease holder may close the row; otherwise roll back."""
    result = session.execute(
        update(_TIMER_TABLE)
        .where(_C.id == timer_id, _C.lock_owner == worker_id)
        .values(status=status, finished_at=now, lock_expires_at=None)
    )
    if cast("CursorResult[Any]", result).rowcount != 1:
        raise LeaseLost(timer_id)


def defer(session: Session, timer_id: int, worker_id: str, now: datetime) -> None:
    """Give the row back, claimable again after DEFER_SECONDS (its instance is suspended)."""
    result = session.execute(
        update(_TIMER_TABLE)
        .where(_C.id == timer_id, _C.lock_owner == worker_id)
        .values(lock_owner=None, lock_expires_at=now + timedelta(seconds=DEFER_SECONDS), attempts=0)
    )
    if cast("CursorResult[Any]", result).rowcount != 1:
        raise LeaseLost(timer_id)


def still_waits(task: Any, due_at: datetime) -> bool:
    """Whether a timer task still waits for this very moment (else its row is finished as a no-op)."""
    return task.state == TaskState.WAITING and timer_due(task) == as_utc(due_at)


def as_utc(moment: datetime) -> datetime:
    """A moment read from the table as an aware UTC datetime."""
    if moment.tzinfo is None:  # SQLite hands back naive UTC in raw selects
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)

