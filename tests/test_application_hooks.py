"""The hooks a lower package fires and engine.application connects (docs/architecture.md)."""

from __future__ import annotations

import pytest

from engine import hooks
from engine.analysis.alerts import refresh_alerts
from engine.application import wire
from engine.runtime.clocks.warnings import recompute_provisional


def test_wire_connects_each_hook_to_its_handler_and_may_run_again():
    wire()
    wire()
    assert hooks.version_published.handler is refresh_alerts
    assert hooks.calendar_year_entered.handler is recompute_provisional


def test_a_hook_nobody_connected_refuses_to_fire():
    hook: hooks.Hook[[int], int] = hooks.Hook("example")
    with pytest.raises(hooks.HookNotConnected, match="engine.application.wire"):
        hook.fire(1)


def test_a_second_handler_is_a_wiring_mistake():
    hook: hooks.Hook[[int], int] = hooks.Hook("example")
    hook.connect(abs)
    hook.connect(abs)  # the same one again: no change
    with pytest.raises(RuntimeError, match="already connected"):
        hook.connect(lambda n: n)
    assert hook.fire(-3) == 3
