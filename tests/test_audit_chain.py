"""防篡改记录 (docs/audit.md): the timing log and the evaluation rows are recorded as they are
written (pending entries, in the step's transaction) and linked into the hash chain later by a
sealer (the worker, `dutyflow audit verify`); verify names the first link whose row was altered,
removed or inserted behind the engine's back, on SQLite and on PostgreSQL.

How the expected link numbers are worked out: the scenario below is replayed on an empty database,
one transaction after another, and nothing chained is written before its first timing event. Each
timing event gets exactly one pending entry (the log is never updated), written in id order at its
transaction's commit; the entries' ids follow the commits, and the sealer links them in entry-id
order; so timing_event row k is link k. After the replay's N events come the evaluation's entries,
one transaction each: the year created (N+1), the year opened (N+2), the score entered (N+3).
Nothing is linked until a sealer runs: drive() leaves all N+3 pending.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from sqlalchemy import event, func, select, text
from typer.testing import CliRunner

from api.cli import audit as audit_cli  # noqa: F401  (registers the command)
from api.cli.app import app as cli_app
from engine import audit
from engine.auth.roles import EFFICIENCY_OFFICE, STAFF, Actor
from engine.clock import BEIJING
from engine.config import get_settings
from engine.db import core_connection
from engine.evaluation import service
from engine.models.audit import AuditChainHead, AuditEntry, AuditPending
from engine.models.runtime import TimingEvent
from engine.runtime import simulation
from engine.runtime.worker import Worker
from tests.db_helpers import directory_key, file_key, prepared

SCENARIO = Path(__file__).resolve().parent.parent / "docs" / "clock-scenarios" / "extension-licensing.yaml"
OFFICE = Actor("zenglin", "S091", frozenset({STAFF, EFFICIENCY_OFFICE}), "曾琳")
AS_OF = datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)


def drive(database) -> int:
    """The scenario's steps (receive, extension asked and approved, …) and one evaluation score;
    returns N, the number of timing events. Replayed for real once per process and backend, its
    rows (pending entries included, ids and sequences as written) copied in for the later tests
    (tests.db_helpers.prepared): ~0.2 s of CPU and a few hundred statements each time otherwise,
    in 36 tests whose subject is what verify and the sealer make of those rows."""
    settings = get_settings()

    def replay() -> int:
        scenario = simulation.read_scenario(SCENARIO)
        list(simulation.replay(database, scenario, settings.processes_dir, settings.demo_catalog))
        with database.session() as session:
            year_id = service.create_year(session, OFFICE, 2026, AS_OF, department="AJ").id
        with database.session() as session:
            service.open_year(session, OFFICE, year_id, AS_OF)
        with database.session() as session:
            service.enter_scores(session, OFFICE, year_id, [service.ScoreEntry("unit", "AJ-WH", "MGMT.LAW", "88.5")], AS_OF)
        with database.session() as session:
            return session.scalar(select(func.count()).select_from(TimingEvent))

    key = ("audit-drive", file_key(SCENARIO), directory_key(settings.processes_dir), file_key(settings.demo_catalog))
    return prepared(database, key, replay)


def check(database, batch: int = 1000) -> audit.Report:
    with database.session() as session:
        return audit.verify(session, batch=batch)


def seal(database) -> int:
    with database.session() as session:
        return audit.seal_all(session)


def count(database, model) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def tamper(database, sql: str, **params) -> None:
    with database.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_real_steps_and_a_score_are_chained_and_verify_intact(database):
    n = drive(database)
    assert n >= 5  # receive, task ready, the extension asked, approved … : several steps' events
    # The steps wrote pending entries only: no link, and the head was never touched (reset()
    # emptied the tables, so not even its row exists yet).
    assert (count(database, AuditPending), count(database, AuditEntry), count(database, AuditChainHead)) == (n + 3, 0, 0)
    report = check(database)
    assert report.problem is None and report.sealed == n + 3
    assert count(database, AuditPending) == 0
    # N timing events + year created + year opened + one score.
    assert report.links == report.head_seq == n + 3
    with database.session() as session:
        chained = session.execute(select(AuditEntry.seq, AuditEntry.subject_table, AuditEntry.subject_id)
                                  .order_by(AuditEntry.seq)).all()
    assert [tuple(row) for row in chained] == (
        [(k, "timing_event", k) for k in range(1, n + 1)]
        + [(n + 1, "evaluation_year", 1), (n + 2, "evaluation_year", 1), (n + 3, "evaluation_score", 1)])
    # Walking in batches of 2 (many round trips) finds the same; nothing was left to seal.
    again = check(database, batch=2)
    assert again == report and again.sealed == 0


def test_a_timing_event_edited_before_its_seal_is_named(database):
    # The window between the step's commit and the seal: the pending entry holds the row as the
    # step wrote it, so the link made later differs from the edited row.
    n = drive(database)
    tamper(database, "UPDATE timing_event SET actor = 'someone-else' WHERE id = 3")
    for batch in (1000, 2):
        problem = check(database, batch).problem
        assert problem is not None
        assert (problem.seq, problem.table, problem.row_id, problem.reason) == (3, "timing_event", 3, "内容被修改")
        assert "actor" in problem.detail and "someone-else" in problem.detail
    assert n >= 3


def test_a_timing_event_edited_after_its_seal_is_named(database):
    drive(database)
    seal(database)
    tamper(database, "UPDATE timing_event SET actor = 'someone-else' WHERE id = 3")
    problem = check(database).problem
    assert problem is not None
    assert (problem.seq, problem.table, problem.row_id, problem.reason) == (3, "timing_event", 3, "内容被修改")


def test_an_edited_score_is_named_at_its_link(database):
    n = drive(database)
    # 88.5 is kept as the exact fraction 177/2; a numerator of 190 makes it 95.
    tamper(database, "UPDATE evaluation_score SET value_num = 190 WHERE id = 1")
    problem = check(database).problem
    assert problem is not None
    assert (problem.seq, problem.table, problem.row_id, problem.reason) == (n + 3, "evaluation_score", 1, "内容被修改")
    assert "value_num: 177 → 190" in problem.detail


def test_a_removed_timing_event_is_named(database):
    drive(database)
    tamper(database, "DELETE FROM timing_event WHERE id = 4")
    problem = check(database).problem
    assert problem is not None
    assert (problem.seq, problem.table, problem.row_id, problem.reason) == (4, "timing_event", 4, "记录被删除")


def test_a_forged_timing_event_is_named(database):
    n = drive(database)
    # A copy of row 2 under the next free id, written straight into the table.
    tamper(database, "INSERT INTO timing_event (id, instance_id, task_id, kind, at, actor, staff_id, post_code, "
                     "target_post, detail, wall_seconds, working_seconds) SELECT :id, instance_id, task_id, kind, at, "
                     "actor, staff_id, post_code, target_post, detail, wall_seconds, working_seconds "
                     "FROM timing_event WHERE id = 2", id=n + 1)
    problem = check(database).problem
    assert problem is not None
    assert (problem.seq, problem.table, problem.row_id, problem.reason) == (None, "timing_event", n + 1,
                                                                            "插入了不在链上的记录")


def test_a_removed_link_leaves_a_gap(database):
    drive(database)
    seal(database)
    tamper(database, "DELETE FROM audit_entry WHERE seq = 5")
    problem = check(database).problem
    assert problem is not None
    assert (problem.seq, problem.reason) == (5, "链断裂") and "序号 5 的记录缺失" in problem.detail


def test_an_edited_link_and_a_cut_tail_are_named(database):
    n = drive(database)
    seal(database)
    tamper(database, "UPDATE audit_entry SET content = REPLACE(content, 'AJ-WH', 'AJ-FM') WHERE seq = :seq", seq=n + 3)
    problem = check(database).problem
    assert problem is not None and (problem.seq, problem.reason) == (n + 3, "内容被修改")
    assert "链上记录本身" in problem.detail
    # The last link removed too (the score's): every link left is sound, but the head still says n + 3.
    tamper(database, "DELETE FROM audit_entry WHERE seq = :seq", seq=n + 3)
    problem = check(database).problem
    assert problem is not None and (problem.seq, problem.reason) == (n + 3, "链断裂")
    assert f"链尾序号 {n + 3} 的记录缺失" in problem.detail
    # Two links removed (the year opened, the score): the year row is open, its latest link left
    # (n + 1) says draft, and that comes first in chain order.
    tamper(database, "DELETE FROM audit_entry WHERE seq = :seq", seq=n + 2)
    problem = check(database).problem
    assert problem is not None and (problem.seq, problem.table, problem.reason) == (n + 1, "evaluation_year", "内容被修改")
    assert "status: 'draft' → 'open'" in problem.detail


def test_the_command_says_intact_or_names_the_link(database, monkeypatch):
    n = drive(database)
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    runner = CliRunner()
    intact = runner.invoke(cli_app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    # drive() left all n + 3 entries pending: verify seals them first, then walks.
    assert intact.stdout.startswith(f"已先封存 {n + 3} 条待封存记录\n完整：共 {n + 3} 条记录，链头序号 {n + 3}，哈希 ")
    tamper(database, "UPDATE timing_event SET working_seconds = working_seconds + 3600 WHERE id = 2")
    broken = runner.invoke(cli_app, ["audit", "verify", "--batch", "3"])
    assert broken.exit_code == 1
    assert "已被改动：序号 2，表 timing_event，行 2，原因：内容被修改" in broken.stderr
    assert "第一处问题之前的 1 条记录完整（至序号 1）" in broken.stdout


def test_a_pending_entry_edited_or_removed_before_its_seal_is_named(database):
    drive(database)
    # Entry 2 (timing_event row 2) edited alone: its link holds the edited text, the row does not.
    with database.session() as session:
        kind = session.scalar(select(TimingEvent.kind).where(TimingEvent.id == 2))
    tamper(database, "UPDATE audit_pending SET content = REPLACE(content, :was, :forged) "
                     "WHERE subject_table = 'timing_event' AND subject_id = 2",
           was=f'"kind":"{kind}"', forged='"kind":"urged"')
    problem = check(database).problem
    assert problem is not None
    assert (problem.seq, problem.table, problem.row_id, problem.reason) == (2, "timing_event", 2, "内容被修改")
    assert f"kind: 'urged' → '{kind}'" in problem.detail  # the link says urged, the row still its kind


def test_a_pending_entry_edited_into_something_not_json_is_named(database):
    drive(database)
    tamper(database, "UPDATE audit_pending SET content = 'garbage' WHERE subject_table = 'timing_event' AND subject_id = 2")
    problem = check(database).problem
    assert problem is not None
    assert (problem.seq, problem.table, problem.row_id, problem.reason) == (2, "timing_event", 2, "内容被修改")
    assert problem.detail == "表中该行与链上记录不符：链上所记内容不是有效的 JSON"


def test_a_removed_pending_entry_leaves_its_row_unchained(database):
    n = drive(database)
    tamper(database, "DELETE FROM audit_pending WHERE subject_table = 'timing_event' AND subject_id = 4")
    report = check(database)
    # The other n + 2 entries are linked (row 5 becomes link 4, and so on); row 4 has no link.
    assert report.links == n + 2
    assert report.problem is not None
    problem = report.problem
    assert (problem.seq, problem.table, problem.row_id, problem.reason) == (None, "timing_event", 4,
                                                                            "插入了不在链上的记录")


def test_a_row_and_its_pending_entry_edited_together_before_the_seal_are_not_seen(database):
    # The documented window (docs/audit.md): the same change made to the row and to its entry
    # before a sealer links it is what gets linked. Anyone who can do that can also rewrite the
    # newest links and the head after the seal; the note of the head kept outside the database is
    # the defence for both.
    n = drive(database)
    with database.session() as session:
        actor = session.scalar(select(TimingEvent.actor).where(TimingEvent.id == 3))
    assert actor is not None  # the row's content names it
    tamper(database, "UPDATE timing_event SET actor = 'someone-else' WHERE id = 3")
    tamper(database, "UPDATE audit_pending SET content = REPLACE(content, :was, :forged) "
                     "WHERE subject_table = 'timing_event' AND subject_id = 3",
           was=f'"actor":"{actor}"', forged='"actor":"someone-else"')
    report = check(database)
    assert report.problem is None and report.links == n + 3


def test_sealing_goes_in_bounded_batches_in_entry_order(database):
    n = drive(database)
    with database.session() as session:
        assert audit.seal_batch(core_connection(session), 4) == 4
    # The first four entries, oldest first: timing_event rows 1-4 are links 1-4.
    with database.session() as session:
        linked = session.execute(select(AuditEntry.seq, AuditEntry.subject_id).order_by(AuditEntry.seq)).all()
        head = session.get(AuditChainHead, 1)
    assert [tuple(row) for row in linked] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert head.last_seq == 4
    assert count(database, AuditPending) == n + 3 - 4
    # The worker seals the rest (at most its seal_batches batches of 1000 a round: all of them here).
    assert Worker(database, None, seal_batches=1).seal_audit() == n + 3 - 4
    report = check(database)
    assert report.problem is None and report.sealed == 0 and report.links == n + 3


def test_a_step_writes_one_pending_insert_and_does_not_touch_the_chain(database):
    n = drive(database)
    sent: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        with database.session() as session:
            service.enter_scores(session, OFFICE, 1, [service.ScoreEntry("unit", "AJ-WH", "MGMT.LAW", "90")], AS_OF)
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)
    assert [s for s in sent if "audit_chain_head" in s or "audit_entry" in s] == []
    assert len([s for s in sent if s.startswith("INSERT INTO audit_pending")]) == 1
    assert count(database, AuditPending) == n + 4  # the score entered again is one more state


def test_a_state_committed_after_the_seal_is_left_to_the_next_verify(database):
    # A step that commits while verify walks (after its seal) has its new state pending: the row's
    # older link must not read as 内容被修改, nor the row as unchained.
    n = drive(database)
    seal(database)
    with database.session() as session:
        service.enter_scores(session, OFFICE, 1, [service.ScoreEntry("unit", "AJ-WH", "MGMT.LAW", "90")], AS_OF)
    with database.session() as session:
        as_of_now = audit.verify(session, seal=False)
    assert as_of_now.problem is None and as_of_now.links == n + 3
    # The next verify seals it: link n + 4 holds the score's new state.
    report = check(database)
    assert report.problem is None and report.sealed == 1 and report.links == n + 4


def test_two_sealers_at_once_do_not_fork_the_chain(database):
    n = drive(database)
    done: list[int] = []
    with database.session() as first:
        # The first sealer holds the head (PostgreSQL: its row lock; SQLite: the write lock) …
        assert audit.seal_batch(core_connection(first), 3) == 3

        def second() -> None:
            with database.session() as session:
                done.append(audit.seal_all(session))

        thread = threading.Thread(target=second)
        thread.start()
        if not database.is_sqlite:
            # … and the second waits for it (seen in pg_stat_activity) before the first commits.
            waiting = threading.Event()
            for _ in range(1000):
                with database.engine.connect() as conn:
                    if conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND wait_event_type = 'Lock'")).scalar():
                        break
                waiting.wait(0.01)
            else:
                raise AssertionError("the second sealer never waited for the head")
    thread.join()
    # The second linked exactly what the first had not taken, after it: one gapless chain.
    assert done == [n + 3 - 3]
    report = check(database)
    assert report.problem is None and report.sealed == 0 and report.links == report.head_seq == n + 3
    with database.session() as session:
        subjects = session.execute(select(AuditEntry.subject_table, AuditEntry.subject_id).order_by(AuditEntry.seq)).all()
    assert [tuple(row) for row in subjects][:n] == [("timing_event", k) for k in range(1, n + 1)]


class OneRound:
    """A stop event for Worker.run_forever that lets one round run and never waits."""

    def __init__(self) -> None:
        self.asked = 0

    def is_set(self) -> bool:
        self.asked += 1
        return self.asked > 1

    def wait(self, _seconds: float) -> bool:
        return False


def test_the_worker_seals_in_its_rounds(database, clock):
    # The timer worker's loop (the embedded worker and `dutyflow worker`) seals when a round
    # starts and its seal_every has passed (at once, for a new worker): one round links all.
    n = drive(database)
    worker = Worker(database, clock)
    worker.run_forever(OneRound())  # type: ignore[arg-type]
    assert count(database, AuditPending) == 0 and count(database, AuditEntry) == n + 3
    report = check(database)
    assert report.problem is None and report.sealed == 0 and report.links == n + 3
