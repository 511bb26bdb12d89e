"""`dutyflow --help` lists every command from api.cli.app.SUMMARIES, loading no command module.

Two things a user relies on: the listing says of each command exactly what the command's own help
says (the summaries are a copy, so they must not drift from the commands), and it comes at once
(it used to import every command module — the engine, SpiffWorkflow, the web app — to print a
page of text).
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from typer.testing import CliRunner

# The module, not the package's `app` attribute (the Typer application, which api.cli exports).
cli_app = importlib.import_module("api.cli.app")


def _listing(monkeypatch: pytest.MonkeyPatch, summaries: dict[str, str]) -> str:
    monkeypatch.setattr(cli_app, "SUMMARIES", summaries)
    monkeypatch.setenv("COLUMNS", "200")  # one line per command: the texts compare whole
    result = CliRunner().invoke(cli_app.app, ["--help"], prog_name="dutyflow")
    assert result.exit_code == 0, result.output
    return result.output


def test_the_listing_says_what_each_loaded_command_says(monkeypatch):
    # Without summaries the group asks every real command (loading its module) for its help: the
    # page must be the same, character for character.
    summaries = dict(cli_app.SUMMARIES)
    from_summaries = _listing(monkeypatch, summaries)
    from_commands = _listing(monkeypatch, {})
    assert from_summaries == from_commands
    assert set(summaries) == set(cli_app.COMMANDS)
    for summary in summaries.values():
        assert summary in from_commands


def test_the_listing_loads_no_command_module():
    probe = (
        "import sys; from api.cli import app; from api.cli.app import COMMANDS\n"
        "try:\n    app(['--help'], prog_name='dutyflow')\nexcept SystemExit:\n    pass\n"
        "heavy = ('engine.runtime', 'SpiffWorkflow', 'fastapi', 'sqlalchemy', *set(COMMANDS.values()))\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "│ worker " in done.stdout and "│ users " in done.stdout
    assert "LOADED []" in done.stderr, done.stderr
