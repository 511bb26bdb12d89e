"""防篡改记录 (docs/audit.md): the timing log and the evaluation rows are chained as they are
written; `dutyflow audit verify` walks the chain and names the first link whose row was altered,
removed or inserted behind the engine's back, on SQLite and on PostgreSQL.

How the expected link numbers are worked out: the scenario below is replayed on an empty database,
one transaction after another, and nothing chained is written before its first timing event. Each
timing event gets exactly one link (the log is never updated), sealed in id order at its
transaction's commit, and ids follow the commits; so timing_event row k is link k. After the
replay's N events come the evaluation's links, one transaction each: the year created (N+1), the
year opened (N+2), the score entered (N+3).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from api.cli import audit as audit_cli  # noqa: F401  (registers the command)
from api.cli.app import app as cli_app
from engine import audit
from engine.auth.roles import EFFICIENCY_OFFICE, STAFF, Actor
from engine.clock import BEIJING
from engine.config import get_settings
from engine.evaluation import service
from engine.models.audit import AuditEntry
from engine.models.runtime import TimingEvent
from engine.runtime import simulation

SCENARIO = Path(__file__).resolve().parent.parent / "docs" / "clock-scenarios" / "extension-licensing.yaml"
OFFICE = Actor("zenglin", "S091", frozenset({STAFF, EFFICIENCY_OFFICE}), "曾琳")
AS_OF = datetime(2026, 11, 20, 10, 0, tzinfo=BEIJING)


def drive(database) -> int:
    """The scenario's steps (receive, extension asked and approved, …) and one evaluation score;
    returns N, the number of timing events."""
    settings = get_settings()
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


def check(database, batch: int = 1000) -> audit.Report:
    with database.session() as session:
        return audit.verify(session, batch=batch)


def tamper(database, sql: str, **params) -> None:
    with database.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_real_steps_and_a_score_are_chained_and_verify_intact(database):
    n = drive(database)
    assert n >= 5  # receive, task ready, the extension asked, approved … : several steps' events
    report = check(database)
    assert report.problem is None
    # N timing events + year created + year opened + one score.
    assert report.links == report.head_seq == n + 3
    with database.session() as session:
        chained = session.execute(select(AuditEntry.seq, AuditEntry.subject_table, AuditEntry.subject_id)
                                  .order_by(AuditEntry.seq)).all()
    assert [tuple(row) for row in chained] == (
        [(k, "timing_event", k) for k in range(1, n + 1)]
        + [(n + 1, "evaluation_year", 1), (n + 2, "evaluation_year", 1), (n + 3, "evaluation_score", 1)])
    # Walking in batches of 2 (many round trips) finds the same.
    assert check(database, batch=2) == report


def test_a_timing_event_edited_in_the_database_is_named(database):
    n = drive(database)
    tamper(database, "UPDATE timing_event SET actor = 'someone-else' WHERE id = 3")
    for batch in (1000, 2):
        problem = check(database, batch).problem
        assert problem is not None
        assert (problem.seq, problem.table, problem.row_id, problem.reason) == (3, "timing_event", 3, "内容被修改")
        assert "actor" in problem.detail and "someone-else" in problem.detail
    assert n >= 3


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
    tamper(database, "DELETE FROM audit_entry WHERE seq = 5")
    problem = check(database).problem
    assert problem is not None
    assert (problem.seq, problem.reason) == (5, "链断裂") and "序号 5 的记录缺失" in problem.detail


def test_an_edited_link_and_a_cut_tail_are_named(database):
    n = drive(database)
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
    assert intact.stdout.startswith(f"完整：共 {n + 3} 条记录，链头序号 {n + 3}，哈希 ")
    tamper(database, "UPDATE timing_event SET working_seconds = working_seconds + 3600 WHERE id = 2")
    broken = runner.invoke(cli_app, ["audit", "verify", "--batch", "3"])
    assert broken.exit_code == 1
    assert "已被改动：序号 2，表 timing_event，行 2，原因：内容被修改" in broken.stderr
    assert "第一处问题之前的 1 条记录完整（至序号 1）" in broken.stdout
