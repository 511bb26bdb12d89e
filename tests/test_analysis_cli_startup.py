"""The command line loads a command's module only when the command runs (issue 11 item 6: the
start-up counts in `dutyflow analyze`'s time aims), and still connects the engine's hooks
before any command that may fire one. `dutyflow analyze FILE` on the interchange format loads
neither the database (settings, SQLAlchemy, the tables, Alembic) nor the table readers
(openpyxl). Each command whose loading is checked runs in a fresh interpreter, as a person would:
the test process itself has long imported everything. The steps that only set up a database or
read a result back run in this process (each fresh interpreter costs ~3 s of CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from api.cli import app as cli_app
from engine.catalog.io import read_catalog, write_catalog

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
    # The database: only a stored version needs it (api.cli.analysis_sources, loaded for one).
    "api.cli.database",
    "api.cli.analysis_sources",
    "engine.config",
    "pydantic_settings",
    "engine.db",
    "sqlalchemy",
    "sqlmodel",
    "engine.models",
    "engine.migrate",
    "alembic",
    "engine.catalog.service",
    "engine.analysis.preview",
    # The table readers (xlsx, csv) and their dispatch: a YAML/JSON file needs none.
    "engine.catalog.io",
    "engine.catalog.excel",
    "engine.catalog.tabular",
    "openpyxl",
    # The drawings (`dutyflow diagram`, api.cli.diagrams).
    "api.cli.diagrams",
    "graphviz",
)

# A module and what importing it must not load: each sits below what it leaves out.
LEAVES_OUT = {
    # Alembic is imported by the code that migrates (engine.migrate), not with the engine.
    "engine.db": ("alembic", "engine.migrate", "engine.models"),
    # A limit's type and the catalog document need neither the working calendar nor the tables.
    "engine.calendar.units": ("engine.calendar.working", "engine.models", "sqlalchemy"),
    "engine.catalog.document": ("engine.calendar.working", "engine.models", "sqlalchemy", "engine.db"),
    # The working calendar is pure; the database's calendar is engine.calendar.stored.
    "engine.calendar.working": ("engine.calendar.stored", "engine.models", "sqlalchemy"),
    # The interchange reader validates without the other formats' readers.
    "engine.catalog.yaml_json": ("openpyxl", "engine.catalog.excel", "engine.catalog.tabular", "engine.models"),
    # The root of the command line: the settings and the database are the commands' business.
    "api.cli.app": ("engine.config", "pydantic_settings", "engine.db", "sqlalchemy"),
}

ANALYZE = """
import json, sys
from api.cli import app
app(["analyze", sys.argv[1], "--format", "json"], standalone_mode=False)
print(json.dumps({name: name in sys.modules for name in sys.argv[2:]}))
"""


def _in_this_process(*args: str, env: dict[str, str]):
    """A command run here rather than in a fresh interpreter (~3 s each), where its loading is not
    what the test is about: a step that only sets up or reads back for the one that is."""
    done = CliRunner().invoke(cli_app, list(args), env=env)
    assert done.exit_code == 0, done.output
    return done


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_analyze_a_file_loads_neither_the_runtime_nor_the_web_app_nor_the_database(
    suffix, demo_catalog_path, tmp_path
):
    path = tmp_path / f"demo.{suffix}"
    path.write_bytes(write_catalog(read_catalog(demo_catalog_path), suffix))
    done = _python(ANALYZE, str(path), *NOT_FOR_ANALYSIS)
    assert done.returncode == 0, done.stderr
    report, loaded = done.stdout.rsplit("\n{", 1)[0], json.loads("{" + done.stdout.rsplit("\n{", 1)[1])
    assert json.loads(report)["catalog"]["region"] == "示例市"
    assert loaded == dict.fromkeys(NOT_FOR_ANALYSIS, False)


@pytest.mark.parametrize("module", sorted(LEAVES_OUT))
def test_a_lower_module_does_not_load_what_only_other_code_needs(module):
    unwanted = LEAVES_OUT[module]
    code = f"import json, sys, {module}; print(json.dumps({{n: n in sys.modules for n in sys.argv[1:]}}))"
    done = _python(code, *unwanted)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == dict.fromkeys(unwanted, False)


def test_analyze_a_table_and_a_stored_version_load_what_they_need(tmp_path, demo_catalog_path):
    # The same command reads a table (csv: engine.catalog.io and its readers) and a stored version
    # (the database, migrated first), loading those parts only then (api.cli.app.load). A stored
    # version's report is the one of the file it was imported from.
    env = {"DUTYFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    run = "import sys; from api.cli import app; app(sys.argv[1:], standalone_mode=False)"
    table = tmp_path / "pair.csv"
    table.write_text("部门名称,事项名称,事项编码,事项类型,部门标识\n"
                     "区民政局,公益性公墓建设审批,A-1,行政许可,Z9\n"
                     "区自然资源局,公益性公墓建设审批,Z-1,行政许可,B2\n", encoding="utf-8")
    from_table = _python(run, "analyze", str(table), "--format", "json", env=env)
    assert from_table.returncode == 0, from_table.stderr
    # One pair of the two departments' identical names: one suspected overlap, similarity 1.
    suspected = json.loads(from_table.stdout)["suspected_overlaps"]
    assert [(s["duties"], s["score"]) for s in suspected] == [(["A-1", "Z-1"], 1.0)]
    _in_this_process("import", str(demo_catalog_path), env=env)
    stored = _python(run, "analyze", "1", "--format", "json", env=env)
    assert stored.returncode == 0, stored.stderr
    from_file = _in_this_process("analyze", str(demo_catalog_path), "--format", "json", env={})
    assert json.loads(stored.stdout) == json.loads(from_file.stdout)


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
    # Importing into an empty database fires no hook (only replacing a draft would): it sets up
    # the version a fresh interpreter then publishes.
    _in_this_process("import", str(demo_catalog_path), env=env)
    published = _python(run, "publish", "1", env=env)
    assert published.returncode == 0, published.stderr
    listed = _in_this_process("alerts", "list", env=env)
    assert "预警（9）" in listed.stdout
