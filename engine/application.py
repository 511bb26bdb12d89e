"""The application layer: connects the hooks of engine.hooks to their handlers.

The only engine module that sees every package: it sits above the analysis and the runtime so
that the catalog and the calendar, far below them, can still make them act (docs/architecture.md).
Every entry point calls `wire()` before it does anything: api.main.create_app, the `dutyflow`
command group (api.cli), and the tests (tests/conftest.py). `wire()` is idempotent, so an entry
point that runs inside another (the worker command under the CLI, an app built in a test) may call
it again.
"""

from __future__ import annotations

from engine import hooks
from engine.accountability import functions as accountability_functions
from engine.analysis.alerts import refresh_alerts
from engine.evaluation import process_functions as evaluation_functions
from engine.runtime.clocks.warnings import recompute_provisional
from engine.runtime.library.publication import refuse_replacing_under_review


def wire() -> None:
    """Connect every hook to its handler (again: no change)."""
    # A version published → its region's alerts follow the new version in force.
    hooks.version_published.connect(refresh_alerts)
    # A calendar year entered → provisional deadlines are recomputed with the official days.
    hooks.calendar_year_entered.connect(recompute_provisional)
    # A draft re-imported → refused while a catalog_publication case reviews it.
    hooks.draft_replacing.connect(refuse_replacing_under_review)
    # The script functions of the accountability and evaluation processes (they call packages above
    # the runtime, so they are registered from here rather than by engine.runtime.library).
    accountability_functions.register_script_functions()
    evaluation_functions.register_script_functions()
