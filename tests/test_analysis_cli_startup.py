"""The command line loads a command's module only when the command runs (issue 11 item 6: the
start-up counts in `dutyflow analyze`'s time aims), and still connects the engine's hooks
before any command that may fire one. Each check runs the command in a fresh interpreter, as a
person would: the test process itself has long imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Loaded by the web app, the runtime and the accounts; `dutyflow analyze FILE` needs none.
NOT_FOR_ANALYSIS = (
    "SpiffWorkflow",
    "fastapi",
    "engine.runtime",
    "engine.auth",
    "engine.audit",
    "api.labels",
    "engine.application",
    "engine.analysis.alerts",
)

ANALYZE = """
import json, sys
from api.cli import app
app(["analyze", sys.argv[1], "--format", "json"], standalone_mode=False)
print(json.dumps({name: name in sys.modules for name in sys.argv[2:]}))
"""


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_analyze_a_file_loads_neither_the_runtime_nor_the_web_app(demo_catalog_path):
    done = _python(ANALYZE, str(demo_catalog_path), *NOT_FOR_ANALYSIS)
    assert done.returncode == 0, done.stderr
    report, loaded = done.stdout.rsplit("\n{", 1)[0], json.loads("{" + done.stdout.rsplit("\n{", 1)[1])
    assert json.loads(report)["catalog"]["region"] == "示例市"
    assert loaded == dict.fromkeys(NOT_FOR_ANALYSIS, False)


def test_help_lists_every_command_in_the_old_order():
    done = _python("from api.cli import app; app(['--help'], prog_name='dutyflow', standalone_mode=False)")
    assert done.returncode == 0, done.stderr
    names = [
        "analyze",
        "import",
        "export",
        "publish",
        "diff",
        "versions",
        "deploy",
        "definitions",
        "start",
        "instances",
        "timeline",
        "tasks",
        "task",
        "suspend",
        "activate",
        "metrics",
        "serve",
        "worker",
        "diagram",
        "alerts",
        "audit",
        "calendar",
        "clock",
        "evaluation",
        "processes",
        "users",
    ]
    positions = [done.stdout.find(f"│ {name} ") for name in names]
    assert -1 not in positions and positions == sorted(positions)


def test_a_command_that_fires_a_hook_gets_it_connected(tmp_path, demo_catalog_path):
    # Publishing fires version_published; unconnected, the hook raises (engine/hooks.py). The
    # catalog module names `prepare = wire`, so the new version's alerts are raised: the demo
    # has 9 findings (tests/test_analysis_alerts.py).
    env = {"DUTYFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    run = "import sys; from api.cli import app; app(sys.argv[1:], standalone_mode=False)"
    imported = _python(run, "import", str(demo_catalog_path), env=env)
    assert imported.returncode == 0, imported.stderr
    published = _python(run, "publish", "1", env=env)
    assert published.returncode == 0, published.stderr
    listed = _python(run, "alerts", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "预警（9）" in listed.stdout
