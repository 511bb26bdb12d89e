"""Optional start data with defaults.

A BPMN script cannot ask whether the start data carried a key (a missing name is a NameError and
the restricted engine offers no `locals()`), yet processes have options such as the notice period
that callers may leave out. `option("public_notice_days", 5)` returns the calling script's variable of
that name, or the default when it is absent or empty.
"""

from __future__ import annotations

import sys
from typing import Any


def option(name: str, default: Any = None) -> Any:
    # The restricted engine runs scripts with the task data as their global namespace, so the
    # caller's globals are exactly the task data; reading them is the only way to see a missing key.
    namespace = sys._getframe(1).f_globals
    value = namespace.get(str(name), None)
    if value is None or value == "" or value == [] or value == {}:
        return default
    return value
