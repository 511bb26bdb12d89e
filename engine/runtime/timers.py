"""Timer rows: written with each engine step, claimed by workers with a lease, fired once.

The pattern (see docs/benchmarks.md and the shared notes on workers):
1. `after_step` runs inside the step's transaction (core's `save_workflow` calls it): the
   instance's waiting BPMN timers are compared with its pending timer rows; new ones are
   inserted (due_at read once from the task's `event_value`), stale ones cancelled. Deadlines
   and their warning rows are synchronised in the same call (`engine.runtime.deadlines`).
2. `claim_due` takes up to n due rows (or rows whose lease expired) in a short transaction —
   `FOR UPDATE SKIP LOCKED` on PostgreSQL, `UPDATE … RETURNING` under SQLite's `BEGIN IMMEDIATE`
   — and stamps them with the worker's id and a lease expiry.
3. `fire_one` fires one row per transaction: loads the instance, checks the timer task still
   waits with the same due time (otherwise finishes as a no-op), fires, saves through core's
   `save_workflow` (optimistic instance version), and finishes with an update fenced on
   `lock_owner`. If the fence or the version check fails the whole transaction rolls back and
   the row stays pending for whoever owns it now.
Rows are unique on (instance, task, kind, due_at), so a schedule is written once and a fired row
is never fired again: at-least-once delivery with an idempotent check, i.e. exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from engine.db import Database
from engine.models.timers import RuntimeTimer, TimerKind, TimerStatus
from engine.rawsql import Raw, flush_pending

log = logging.getLogger(__name__)

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
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
    from SpiffWorkflow.util.task import TaskState

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
_NEW_INSTANCES = "dutyflow_new_instances"


def note_new_instance(session: Session, instance_id: int) -> None:
    """Core calls this right after inserting an instance row: until its first `after_step` in this
    transaction no timer, deadline or warning row of it can exist, so that step looks for none."""
    session.info.setdefault(_NEW_INSTANCES, set()).add(instance_id)


def is_new_instance(session: Session, instance_id: int) -> bool:
    """Whether the instance was inserted in this transaction and has not had its first step saved."""
    return instance_id in session.info.get(_NEW_INSTANCES, ())


def _take_new_instance(session: Session, instance_id: int) -> bool:
    new = session.info.get(_NEW_INSTANCES)
    if not new or instance_id not in new:
        return False
    new.discard(instance_id)  # only the first step: it writes the rows later steps must read
    return True


def after_step(session: Session, instance_row, workflow, now: datetime) -> None:
    """Sync timer rows, deadline rows and warning rows with the workflow just saved.

    Called by core's `save_workflow` in the same transaction as the workflow state.
    """
    new_instance = _take_new_instance(session, instance_row.id)
    sync_bpmn_timers(session, instance_row.id, workflow, now, new_instance)
    from engine.runtime import deadlines

    deadlines.sync_deadlines(session, instance_row, workflow, now, new_instance)


def has_timer_events(workflow) -> bool:
    """Whether the process (or a subprocess) declares any timer event; remembered on the spec
    object (specs are immutable per definition version)."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    cached = getattr(workflow.spec, "dutyflow_has_timers", None)
    if cached is None:
        specs = [workflow.spec, *getattr(workflow, "subprocess_specs", {}).values()]
        cached = any(
            _declares_timer(getattr(task_spec, "event_definition", None), TimerEventDefinition)
            for spec in specs for task_spec in spec.task_specs.values()
        )
        workflow.spec.dutyflow_has_timers = cached
    return cached


def _declares_timer(definition, timer_class) -> bool:
    if definition is None:
        return False
    if isinstance(definition, timer_class):
        return True
    return any(_declares_timer(d, timer_class) for d in getattr(definition, "event_definitions", None) or ())


def sync_bpmn_timers(session: Session, instance_id: int, workflow, now: datetime, new_instance: bool = False) -> None:
    if not has_timer_events(workflow):
        return  # no timer in this process: no row can exist, no query needed
    waiting = {(t.task_id, t.due_at): t for t in waiting_timers(workflow)}
    if new_instance:
        add_timer_rows(session, [(instance_id, t.task_id, TimerKind.bpmn, t.spec_name, t.due_at) for t in waiting.values()],
                       now)
        return
    rows = session.execute(
        select(RuntimeTimer.id, RuntimeTimer.task_id, RuntimeTimer.due_at, RuntimeTimer.status).where(
            RuntimeTimer.instance_id == instance_id,
            RuntimeTimer.kind == TimerKind.bpmn,
            or_(
                RuntimeTimer.status == TimerStatus.pending,
                RuntimeTimer.task_id.in_([task_id for task_id, _ in waiting]),
            ),
        )
    ).all()
    known = {(row.task_id, _utc(row.due_at)) for row in rows}
    stale = [row.id for row in rows if row.status == TimerStatus.pending and (row.task_id, _utc(row.due_at)) not in waiting]
    if stale:
        cancel_rows(session, stale, now)
    # A row finished without effect (the instance was suspended when it came due) whose timer
    # still waits is opened again: it fires once the instance runs.
    revive = [row.id for row in rows if row.status in (TimerStatus.noop, TimerStatus.cancelled)
              and (row.task_id, _utc(row.due_at)) in waiting]
    if revive:
        session.execute(
            update(RuntimeTimer).where(RuntimeTimer.id.in_(revive))
            .values(status=TimerStatus.pending, lock_owner=None, lock_expires_at=None, finished_at=None)
            .execution_options(synchronize_session=False)
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
    due_at = _utc(due_at)
    rows = session.execute(
        select(RuntimeTimer.id, RuntimeTimer.due_at, RuntimeTimer.status).where(
            RuntimeTimer.instance_id == instance_id, RuntimeTimer.task_id == task_id, RuntimeTimer.kind == kind
        )
    ).all()
    stale = [r.id for r in rows if r.status == TimerStatus.pending and _utc(r.due_at) != due_at]
    if stale:
        cancel_rows(session, stale, now)
    if not any(_utc(r.due_at) == due_at for r in rows):
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
        unique.setdefault((iid, task_id, kind, _utc(due_at)), spec_name)
    if not unique:
        return
    # One executemany for all of them: no ORM objects for rows this transaction never reads back.
    _insert_timers(session).run_many(session, [
        {"instance_id": iid, "task_id": task_id, "kind": str(kind), "spec_name": spec_name[:200],
         "due_at": due_at, "created_at": now, "status": TimerStatus.pending, "attempts": 0}
        for (iid, task_id, kind, due_at), spec_name in unique.items()
    ])


# Statements every step runs, as raw statements (engine.rawsql): through SQLAlchemy each cost
# several times what SQLite needs for it (see docs/benchmarks.md, runtime (a)).
_TIMER_TABLE = RuntimeTimer.__table__
_TIMER_KEY = ("instance_id", "task_id", "kind", "due_at")


def _upsert_timers(insert) -> Raw:
    """`INSERT … ON CONFLICT (key) DO UPDATE … WHERE status <> 'pending'` for one dialect (SQLite
    and PostgreSQL spell it the same way; SQLAlchemy builds it per dialect)."""
    statement = insert(_TIMER_TABLE).values({c: bindparam(c) for c in (
        "instance_id", "task_id", "kind", "spec_name", "due_at", "created_at", "status", "attempts")})
    return Raw(statement.on_conflict_do_update(
        index_elements=list(_TIMER_KEY),
        # Constants as SQL literals: a Raw statement's parameters are all given by the caller.
        set_={"status": statement.excluded.status, "spec_name": statement.excluded.spec_name,
              "attempts": statement.excluded.attempts, "lock_owner": null(), "lock_expires_at": null(),
              "finished_at": null(), "last_error": null(), "created_at": statement.excluded.created_at},
        where=_TIMER_TABLE.c.status != TimerStatus.pending,
    ))


_INSERT_TIMERS = {"sqlite": _upsert_timers(sqlite_insert), "postgresql": _upsert_timers(postgresql_insert)}


def _insert_timers(session: Session) -> Raw:
    return _INSERT_TIMERS[session.get_bind().dialect.name]
_CANCELS: dict[tuple[int, int | None], Raw] = {}


def _cancel_statement(kinds: int, tasks: int | None) -> Raw:
    """Cancel pending rows of `kinds` kinds, of `tasks` subjects (None: of every subject)."""
    statement = _CANCELS.get((kinds, tasks))
    if statement is None:
        table = _TIMER_TABLE
        condition = [table.c.instance_id == bindparam("p_instance"), table.c.status == TimerStatus.pending,
                     table.c.kind.in_([bindparam(f"p_kind{i}") for i in range(kinds)])]
        if tasks is not None:
            condition.append(table.c.task_id.in_([bindparam(f"p_task{i}") for i in range(tasks)]))
        statement = _CANCELS[(kinds, tasks)] = Raw(
            table.update().where(*condition).values(status=TimerStatus.cancelled, finished_at=bindparam("p_now"))
        )
    return statement


def unschedule(session: Session, instance_id: int, task_id: str | list[str] | None, kinds: tuple[str, ...],
               now: datetime) -> None:
    """Cancel the pending rows of these kinds (for one subject, several, or all of the instance)."""
    tasks = [task_id] if isinstance(task_id, str) else task_id
    if tasks is not None and not tasks:
        return
    params = {"p_instance": instance_id, "p_now": now, **{f"p_kind{i}": str(k) for i, k in enumerate(kinds)}}
    if tasks is not None:
        params.update({f"p_task{i}": t for i, t in enumerate(tasks)})
    flush_pending(session)
    _cancel_statement(len(kinds), None if tasks is None else len(tasks)).run(session, params)


def cancel_rows(session: Session, ids: list[int], now: datetime) -> None:
    # The lease is left in place: a worker firing this very row in this very transaction (the
    # timer fired, so its task stopped waiting) still finishes it with its fenced update.
    session.execute(
        update(RuntimeTimer)
        .where(RuntimeTimer.id.in_(ids), RuntimeTimer.status == TimerStatus.pending)
        .values(status=TimerStatus.cancelled, finished_at=now)
        .execution_options(synchronize_session=False)
    )


def pending_timers(session: Session, instance_id: int) -> list[RuntimeTimer]:
    """Pending timer and warning rows of one instance, earliest first (for the API)."""
    return list(
        session.scalars(
            select(RuntimeTimer)
            .where(RuntimeTimer.instance_id == instance_id, RuntimeTimer.status == TimerStatus.pending)
            .order_by(RuntimeTimer.due_at)
        )
    )


# --- the "now" a worker compares due times with -------------------------------------------------
NowSource = Callable[[Session], datetime]


def now_source(database: Database, clock) -> NowSource:
    """Where workers read "now": the database's clock in production, the test's clock in tests.

    With several worker hosts their clocks drift; the database's `now()` is the one clock they
    share, so in production (a SystemClock on PostgreSQL) due times are compared with it. A
    ControlledClock is the truth in tests and simulations. SQLite runs in one process on one
    host, so its application clock is the database's clock.
    """
    from engine.clock import SystemClock

    if isinstance(clock, SystemClock) and not database.is_sqlite:
        return lambda session: session.execute(select(func.now())).scalar_one().astimezone(UTC)
    return lambda _session: clock.now().astimezone(UTC)


# --- 2. claim ------------------------------------------------------------------------------------
def claim_due(database: Database, now_of: NowSource, worker_id: str, lease_seconds: float, limit: int) -> list[int]:
    """Lease up to `limit` due rows to `worker_id` in one short transaction; their ids, earliest first."""
    with database.session() as session:
        now = now_of(session)
        candidates = (
            select(RuntimeTimer.id)
            .where(
                RuntimeTimer.status == TimerStatus.pending,
                RuntimeTimer.due_at <= now,
                or_(RuntimeTimer.lock_expires_at.is_(None), RuntimeTimer.lock_expires_at < now),
            )
            .order_by(RuntimeTimer.due_at, RuntimeTimer.id)
            .limit(limit)
        )
        if not database.is_sqlite:
            candidates = candidates.with_for_update(skip_locked=True)
        claimed = session.execute(
            update(RuntimeTimer)
            .where(RuntimeTimer.id.in_(candidates.scalar_subquery()))
            .values(
                lock_owner=worker_id,
                lock_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=RuntimeTimer.attempts + 1,
            )
            .returning(RuntimeTimer.id, RuntimeTimer.due_at)
            .execution_options(synchronize_session=False)
        ).all()
    return [row.id for row in sorted(claimed, key=lambda r: (r.due_at, r.id))]


# --- 3./4. fire one row and finish it fenced ------------------------------------------------------
class LeaseLost(Exception):
    """The fenced finish touched no row: another worker owns the timer now."""


def fire_one(database: Database, clock, now_of: NowSource, timer_id: int, worker_id: str) -> str:
    """Fire one claimed row in its own transaction. Returns the final status, or "lost"/"retry"."""
    from engine.errors import Conflict

    try:
        with database.session() as session:
            row = session.get(RuntimeTimer, timer_id)
            if row is None or row.status != TimerStatus.pending or row.lock_owner != worker_id:
                return "lost"
            now = now_of(session)
            if row.kind == TimerKind.bpmn:
                outcome = _fire_bpmn(session, clock, row, now)
            else:
                from engine.runtime import deadlines

                outcome = deadlines.fire_warning(session, row, now)
            if outcome == DEFERRED:
                defer(session, timer_id, worker_id, now)
            else:
                finish(session, timer_id, worker_id, outcome, now)
            return outcome
    except (LeaseLost, Conflict):
        # Someone else acted on the row or the instance meanwhile; nothing of ours was written.
        return "lost"
    except Exception as exc:  # noqa: BLE001 - a broken instance must not stop the worker
        log.exception("timer %s failed", timer_id)
        _record_failure(database, timer_id, worker_id, exc)
        return "retry"


def finish(session: Session, timer_id: int, worker_id: str, status: str, now: datetime) -> None:
    """Fenced finish: only the current lease holder may close the row; otherwise roll back."""
    result = session.execute(
        update(RuntimeTimer)
        .where(RuntimeTimer.id == timer_id, RuntimeTimer.lock_owner == worker_id)
        .values(status=status, finished_at=now, lock_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LeaseLost(timer_id)


def defer(session: Session, timer_id: int, worker_id: str, now: datetime) -> None:
    """Give the row back, claimable again after DEFER_SECONDS (its instance is suspended)."""
    result = session.execute(
        update(RuntimeTimer)
        .where(RuntimeTimer.id == timer_id, RuntimeTimer.lock_owner == worker_id)
        .values(lock_owner=None, lock_expires_at=now + timedelta(seconds=DEFER_SECONDS), attempts=0)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LeaseLost(timer_id)


def _fire_bpmn(session: Session, clock, row: RuntimeTimer, now: datetime) -> str:
    from engine.models.runtime import RUNNING, SUSPENDED, ProcessInstance
    from engine.runtime.instances import load_workflow, run_step, save_workflow

    # Look at the status before restoring the workflow: cheaper, and a broken state never blocks.
    status = session.execute(
        select(ProcessInstance.status).where(ProcessInstance.id == row.instance_id)
    ).scalar_one_or_none()
    if status == SUSPENDED:
        return DEFERRED  # fires once the instance is resumed
    if status != RUNNING:
        return TimerStatus.noop  # a failed, ended or deleted instance never moves again
    instance_row, workflow = load_workflow(session, row.instance_id)
    task = _find_task(workflow, row.task_id)
    if task is None or not _still_waits(task, row.due_at):
        return TimerStatus.noop
    # SpiffWorkflow fires a timer when its moment is strictly before now; a row claimed at its
    # very due moment must fire, so the step runs at least a microsecond after it.
    moment = _FixedClock(max(now, _utc(row.due_at) + timedelta(microseconds=1)))

    def fire() -> None:
        workflow.refresh_timers()
        workflow.do_engine_steps()

    # A process error fails that instance (core's run_step) and the timer row is done.
    run_step(session, moment, instance_row, workflow, fire, raise_rule_errors=False)
    save_workflow(session, instance_row, workflow, moment)
    return TimerStatus.fired


def _find_task(workflow, task_id: str):
    """The task with this id, or None when the workflow no longer has it."""
    from uuid import UUID

    from SpiffWorkflow.exceptions import TaskNotFoundException

    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, TaskNotFoundException):
        return None


def _still_waits(task, due_at: datetime) -> bool:
    from SpiffWorkflow.util.task import TaskState

    return task.state == TaskState.WAITING and timer_due(task) == _utc(due_at)


def _record_failure(database: Database, timer_id: int, worker_id: str, exc: Exception) -> None:
    """Release the lease (retried after a back-off) or park the row after MAX_ATTEMPTS."""
    with database.session() as session:
        row = session.get(RuntimeTimer, timer_id)
        if row is None or row.lock_owner != worker_id:
            return
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = TimerStatus.failed
        session.add(row)


class _FixedClock:
    """The moment of the firing, handed to save_workflow as its clock."""

    def __init__(self, moment: datetime):
        self._moment = moment

    def now(self) -> datetime:
        return self._moment


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # SQLite hands back naive UTC in raw selects
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# Core imports this module as a script library: register the calendar functions for BPMN timers.
from engine.runtime import timer_functions  # noqa: E402,F401
