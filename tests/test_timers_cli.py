"""`dutyflow worker --once` fires what is due and reports it; bad options are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from api.cli.app import app
from engine import audit
from engine.db import Database
from engine.migrate import upgrade
from engine.models.audit import AuditPending
from engine.models.evaluation import EvaluationYear
from engine.models.timers import RuntimeTimer, TimerStatus

runner = CliRunner()


def _register():
    # All command modules, as `dutyflow` itself loads them (a lone command would become the app).
    from api.cli import analysis, calendar, catalog, processes, runtime, serve, worker  # noqa: F401


def test_worker_once_on_an_empty_database(tmp_path, monkeypatch):
    _register()
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    result = runner.invoke(app, ["worker", "--once", "--id", "cli-test"])
    assert result.exit_code == 0, result.output
    assert "已触发 0 个定时器/预警，封存 0 条防篡改记录（worker cli-test）" in result.output


def test_worker_once_finishes_a_due_row_whose_instance_is_gone(tmp_path, monkeypatch):
    """A due row of a failed instance is finished as a no-op (it never fires later)."""
    _register()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", url)
    database = Database(url)
    upgrade(database)
    from engine.models.runtime import FAILED, ProcessDefinition, ProcessInstance

    now = datetime.now(UTC)
    with database.session() as session:
        definition = ProcessDefinition(process_id="p", version=1, name="p", filename="p.bpmn", content_hash="x",
                                       bpmn_xml="", spec_json="{}", deployed_at=now, deployed_by="t")
        session.add(definition)
        session.flush()
        instance = ProcessInstance(definition_id=definition.id, process_id="p", status=FAILED, state_json="{}",
                                   started_at=now, started_by="t", updated_at=now)
        session.add(instance)
        session.flush()
        session.add(RuntimeTimer(instance_id=instance.id, task_id="t", kind="bpmn_timer", due_at=now - timedelta(minutes=1),
                                 created_at=now))
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    with database.session() as session:
        [row] = session.query(RuntimeTimer).all()
        assert row.status == TimerStatus.noop
    database.dispose()


def test_worker_refuses_bad_options(tmp_path, monkeypatch):
    _register()
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    result = runner.invoke(app, ["worker", "--batch", "0"])
    assert result.exit_code != 0


def test_worker_once_seals_the_pending_audit_entries(tmp_path, monkeypatch):
    """A step records its rows as pending audit entries; the worker links them into the chain, and
    `--once` does it too before it exits (docs/audit.md), saying how many."""
    _register()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", url)
    database = Database(url)
    upgrade(database)
    now = datetime.now(UTC)
    with database.session() as session:
        for year in (2025, 2026):
            row = EvaluationYear(year=year, scope_kind="department", scope_code="MZ", scope_name="市民政局",
                                 created_by="s090", created_at=now)
            session.add(row)
            session.flush()
            audit.record(session, "evaluation_year", row.id)
    with database.session() as session:
        assert session.query(AuditPending).count() == 2
    result = runner.invoke(app, ["worker", "--once", "--id", "cli-test"])
    assert result.exit_code == 0, result.output
    assert "封存 2 条防篡改记录" in result.output
    with database.session() as session:
        assert session.query(AuditPending).count() == 0
    database.dispose()
