"""The runtime CLI: deploy, start, inbox, task operations and timeline against the configured database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import runtime  # noqa: F401  (registers the commands)
from api.cli.app import app, console
from engine.auth.service import create_user
from tests.runtime_helpers import ARD, BPMN_DIR, load_demo_catalog


@pytest.fixture
def cli(database, clock, demo_catalog_path, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    monkeypatch.setattr(console, "width", 250)  # tables are not cut to a narrow test terminal
    load_demo_catalog(database, clock, demo_catalog_path)
    with database.session() as session:
        create_user(session, "chenjing", "password-123", clock.now(), roles=["staff"], staff_id="S003")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_deploy_start_inbox_complete_timeline(cli):
    deployed = cli("deploy", str(BPMN_DIR / "accept_review_decide.bpmn"))
    assert deployed.exit_code == 0, deployed.output
    assert "第 1 版" in deployed.output and "新版本" in deployed.output
    assert "未变化" in cli("deploy", str(BPMN_DIR / "accept_review_decide.bpmn")).output
    started = cli("start", ARD, "--user", "chenjing", "--data",
                  '{"applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": 1}')
    assert started.exit_code == 0, started.output
    assert "MZ-SHJZ-01" in started.output
    assert "受理" in cli("tasks", "--user", "chenjing").output
    bad = cli("task", "complete", "1", "--user", "chenjing", "--data", "{}")
    # the field by the form's label, as on the pages: no data key to decode
    assert bad.exit_code != 0 and "必填项「是否受理」未填写" in bad.output and "accepted" not in bad.output, bad.output
    done = cli("task", "complete", "1", "--user", "chenjing", "--data", '{"accepted": true}')
    assert done.exit_code == 0, done.output
    timeline = cli("timeline", "1")
    # Events by their Chinese words (api.labels), not their codes.
    assert "办结" in timeline.output and "到达" in timeline.output
    assert "completed" not in timeline.output and "task_ready" not in timeline.output


def test_errors_exit_non_zero_with_problems(cli):
    assert cli("start", "nope", "--user", "chenjing").exit_code != 0
    assert cli("start", ARD, "--user", "nobody").exit_code != 0
    result = cli("task", "complete", "1", "--user", "chenjing", "--data", "not json")
    assert result.exit_code != 0 and "JSON" in result.output
