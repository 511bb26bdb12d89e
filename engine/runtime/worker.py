"""The timer worker: wakes instances whose timer or warning is due.

`run_once()` claims a batch of due rows (leased to this worker) and fires them one transaction
each (`fire_one`: a BPMN timer moves its workflow, a warning goes to the clocks);
`run_forever(stop_event)` repeats it, sleeping until the earliest due moment (bounded, so rows
written by other processes are seen within `max_sleep`). This is the only code in the
project that sleeps; tests call `run_once()` after moving a ControlledClock.

Any number of workers may run against PostgreSQL (SKIP LOCKED claims, leases, fenced finishes);
every server process runs one unless DUTYFLOW_EMBEDDED_WORKER=off (`should_embed`,
api/routes/timers.py), so timers fire even where no `dutyflow worker` runs.

The worker also seals the audit chain every `seal_every` seconds (engine.audit.seal_all: the steps
record pending entries, a sealer links them into the hash chain outside the steps); several
workers may seal at once, the chain head's lock orders them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from sqlalchemy import or_, select
from sqlmodel import Session, col

from engine import audit
from engine.clock import ControlledClock
from engine.db import Database
from engine.errors import Conflict
from engine.models.runtime import RUNNING, SUSPENDED, ProcessInstance
from engine.models.timers import RuntimeTimer, TimerKind, TimerStatus
from engine.runtime import timers
from engine.runtime.clocks import warnings as clock_warnings
from engine.runtime.clocks.warnings import OVERDUE_MESSAGE
from engine.runtime.instances import FixedClock, load_workflow, run_step, save_workflow
from engine.runtime.workflow_tasks import find_task

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    """host:pid:random — unique per process, readable in the timer table's lock_owner."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class WorkerStats:
    claimed: int = 0
    fired: int = 0
    noop: int = 0
    lost: int = 0
    retried: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class Worker:
    def __init__(self, database: Database, clock, worker_id: str | None = None, lease_seconds: float = 60.0,
                 batch: int = 20, max_sleep: float = 1.0, seal_every: float = 2.0, seal_batches: int = 10):
        self.database = database
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.max_sleep = max_sleep
        self.now_of = timers.now_source(database, clock)
        self.stats = WorkerStats()
        self.seal_every = seal_every  # seconds of the process's own monotonic clock, not the engine's
        self.seal_batches = seal_batches  # batches of audit.SEAL_BATCH entries a round seals at most
        self.next_seal = 0.0

    def claim(self, limit: int | None = None) -> list[int]:
        """Lease due rows to this worker (exposed for tests that simulate a worker dying)."""
        ids = timers.claim_due(self.database, self.now_of, self.worker_id, self.lease_seconds, limit or self.batch)
        self.stats.claimed += len(ids)
        return ids

    def fire(self, timer_id: int) -> str:
        outcome = fire_one(self.database, self.clock, self.now_of, timer_id, self.worker_id)
        self.stats.outcomes[outcome] = self.stats.outcomes.get(outcome, 0) + 1
        if outcome == TimerStatus.fired:
            self.stats.fired += 1
        elif outcome == TimerStatus.noop:
            self.stats.noop += 1
        elif outcome == "lost":
            self.stats.lost += 1
        else:
            self.stats.retried += 1
        return outcome

    def run_once(self) -> int:
        """Claim one batch and fire it; the number of rows that fired (timers and warnings)."""
        fired = 0
        for timer_id in self.claim():
            if self.fire(timer_id) == TimerStatus.fired:
                fired += 1
        return fired

    def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Fire everything due now (several batches); for the CLI's --once and for tests."""
        total = 0
        for _ in range(max_rounds):
            claimed_before = self.stats.claimed
            total += self.run_once()
            if self.stats.claimed - claimed_before < self.batch:
                break
        return total

    def seal_audit(self) -> int:
        """Link the audit chain's pending entries (at most `seal_batches` batches, each its own
        transaction); the number linked."""
        with self.database.session() as session:
            return audit.seal_all(session, max_batches=self.seal_batches)

    def seal_audit_when_due(self) -> None:
        if time.monotonic() >= self.next_seal:
            self.seal_audit()
            self.next_seal = time.monotonic() + self.seal_every

    def seconds_until_next(self) -> float:
        """How long to sleep: until the earliest claimable row is due, at most max_sleep.

        One indexed look-up (status, due_at … LIMIT 1); rows leased by another worker are
        skipped, and the max_sleep bound brings us back when their lease runs out.
        """
        with self.database.session() as session:
            now = self.now_of(session)
            earliest = session.execute(
                select(col(RuntimeTimer.due_at))
                .where(
                    col(RuntimeTimer.status) == TimerStatus.pending,
                    or_(col(RuntimeTimer.lock_expires_at).is_(None), col(RuntimeTimer.lock_expires_at) < now),
                )
                .order_by(col(RuntimeTimer.due_at))
                .limit(1)
            ).scalar_one_or_none()
        if earliest is None:
            return self.max_sleep
        if earliest.tzinfo is None:
            earliest = earliest.replace(tzinfo=UTC)
        return min(max((earliest - now).total_seconds(), 0.0), self.max_sleep)

    def run_forever(self, stop_event: threading.Event) -> None:
        """Fire due rows until `stop_event` is set; never raises on a bad row or a lost database."""
        log.info("timer worker %s started", self.worker_id)
        while not stop_event.is_set():
            try:
                self.seal_audit_when_due()
                claimed_before = self.stats.claimed
                self.run_once()
                if self.stats.claimed - claimed_before >= self.batch:
                    continue  # more is due right now
                delay = self.seconds_until_next()
            except Exception:  # noqa: BLE001 - e.g. the database restarting: retry after a pause
                log.exception("timer worker %s: round failed", self.worker_id)
                delay = self.max_sleep
            if delay > 0:
                stop_event.wait(delay)
        try:
            self.seal_audit()  # a worker stopped on purpose leaves nothing of its own rounds pending
        except Exception:  # noqa: BLE001 - the next worker or `dutyflow audit verify` seals it
            log.exception("timer worker %s: sealing the audit chain at the stop failed", self.worker_id)
        log.info("timer worker %s stopped", self.worker_id)


class EmbeddedWorker:
    """A worker thread inside a server process (`should_embed`)."""

    def __init__(self, database: Database, clock, **options):
        self.worker = Worker(database, clock, **options)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.worker.run_forever, args=(self.stop_event,),
                                       name="dutyflow-timer-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def should_embed(setting: str, database: Database) -> bool:
    """settings.embedded_worker: "on" or "auto" (the default) = a worker runs in every server
    process, on SQLite and on PostgreSQL alike; "off" = none (the deployment runs `dutyflow worker`).

    Why on PostgreSQL too: a server whose timer workers are all separate processes fires no yellow
    or red card, no 督办 and no BPMN timer, and seals nothing into the audit chain, for as long as
    none of them runs — forgotten at a deployment or crashed — and nothing tells the clerks or the
    efficiency office that their countdowns stopped counting. A worker in each server process is
    one more claimer among any `dutyflow worker`s (SKIP LOCKED claims and fenced finishes: each due
    row still fires once), and costs an indexed read a second when nothing is due.
    `database` is kept for callers that ask per database."""
    del database
    value = (setting or "auto").strip().lower()
    return value in ("on", "auto", "", "1", "true", "yes")


# --- firing one claimed row ------------------------------------------------------------------------
def fire_one(database: Database, clock: Any, now_of: timers.NowSource, timer_id: int, worker_id: str) -> str:
    """Fire one claimed row in its own transaction. Returns the final status, or "lost"/"retry"."""
    try:
        with database.session() as session:
            row = session.get(RuntimeTimer, timer_id)
            if row is None or row.status != TimerStatus.pending or row.lock_owner != worker_id:
                return "lost"
            now = now_of(session)
            if row.kind == TimerKind.bpmn:
                outcome = fire_bpmn(session, row, now)
            else:
                outcome = clock_warnings.fire_warning(session, row, now)
                if row.kind == TimerKind.case_red and outcome == TimerStatus.fired:
                    notify_workflow(session, row.instance_id, now)
            if outcome == timers.DEFERRED:
                timers.defer(session, timer_id, worker_id, now)
            else:
                timers.finish(session, timer_id, worker_id, outcome, now)
            return outcome
    except (timers.LeaseLost, Conflict):
        # Someone else acted on the row or the instance meanwhile; nothing of ours was written.
        return "lost"
    except Exception as exc:  # noqa: BLE001 - a broken instance must not stop the worker
        log.exception("timer %s failed", timer_id)
        record_failure(database, timer_id, worker_id, exc)
        return "retry"


def notify_workflow(session: Session, instance_id: int, now: datetime) -> None:
    """Deliver the BPMN message `case_overdue` when the workflow waits for it (e.g. a 督办 branch).

    A process error while reacting fails that instance (run_step); the card stands.
    """
    instance_row, workflow = load_workflow(session, instance_id)
    if instance_row.status != RUNNING:
        return
    if not any(e.name == OVERDUE_MESSAGE for e in workflow.waiting_events()):
        return
    moment = ControlledClock(now)  # the step runs at the firing moment

    def deliver() -> None:
        workflow.catch(BpmnEvent(MessageEventDefinition(OVERDUE_MESSAGE), {}))
        workflow.do_engine_steps()

    run_step(session, moment, instance_row, workflow, deliver, raise_rule_errors=False)
    save_workflow(session, instance_row, workflow, moment)


def fire_bpmn(session: Session, row: RuntimeTimer, now: datetime) -> str:
    """Fire a BPMN timer row: the workflow moves on if its timer task still waits for that moment."""
    # Look at the status before restoring the workflow: cheaper, and a broken state never blocks.
    status = session.execute(
        select(col(ProcessInstance.status)).where(col(ProcessInstance.id) == row.instance_id)
    ).scalar_one_or_none()
    if status == SUSPENDED:
        return timers.DEFERRED  # fires once the instance is resumed
    if status != RUNNING:
        return TimerStatus.noop  # a failed, ended or deleted instance never moves again
    instance, workflow = load_workflow(session, row.instance_id)
    task = find_task(workflow, row.task_id)
    if task is None or not timers.still_waits(task, row.due_at):
        return TimerStatus.noop
    # SpiffWorkflow fires a timer when its moment is strictly before now; a row claimed at its
    # very due moment must fire, so the step runs at least a microsecond after it.
    moment = FixedClock(max(now, timers.as_utc(row.due_at) + timedelta(microseconds=1)))

    def fire() -> None:
        workflow.refresh_timers()
        workflow.do_engine_steps()

    # A process error fails that instance (core's run_step) and the timer row is done.
    run_step(session, moment, instance, workflow, fire, raise_rule_errors=False)
    save_workflow(session, instance, workflow, moment)
    return TimerStatus.fired


def record_failure(database: Database, timer_id: int, worker_id: str, exc: Exception) -> None:
    """Release the lease (retried after a back-off) or park the row after MAX_ATTEMPTS."""
    with database.session() as session:
        row = session.get(RuntimeTimer, timer_id)
        if row is None or row.lock_owner != worker_id:
            return
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= timers.MAX_ATTEMPTS:
            row.status = TimerStatus.failed
        session.add(row)
