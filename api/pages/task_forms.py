"""HTML forms for user tasks: the declared fields (engine.runtime.forms) as inputs, and back.

A browser sends every value as text; this module turns the posted form into the data the engine
validates (lists from lines, datetimes with the Beijing offset, empty inputs left out so the
engine reports a missing required field itself). Validation stays in the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.datastructures import FormData

from api.labels import (  # noqa: F401  (the pages' names)
    CHOICE_LABELS,
    EVENT_LABELS,
    RELATION_LABELS,
    choice_label,
    event_detail_text,
)
from engine.runtime.clocks.limits import pause_reason_name

FIELD_PREFIX = "f_"

# The words for codes (choices, events, relations) live in api.labels, one catalogue with the CLI.


def _value(field: dict[str, Any], form: FormData) -> Any:
    """The posted value of one field in the engine's terms, or None when left empty."""
    name = FIELD_PREFIX + field["name"]
    if field["type"] == "list":
        lines = [line.strip() for line in str(form.get(name, "")).splitlines()]
        return [line for line in lines if line] or None
    raw = form.get(name)
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None
    if field["type"] == "datetime" and len(text) <= 16:
        return f"{text}:00+08:00"  # <input type=datetime-local> gives 2026-09-30T10:00, in Beijing time
    return text


def submitted_data(fields: list[dict[str, Any]], form: FormData) -> dict[str, Any]:
    """The task data from a posted form; tasks without declared fields take a free note."""
    if not fields:
        note = str(form.get(FIELD_PREFIX + "note", "")).strip()
        return {"note": note} if note else {}
    data = {}
    for field in fields:
        value = _value(field, form)
        if value is not None:
            data[field["name"]] = value
    return data


def event_text(event: Any, post: Callable[[str], str] = str, step: str | None = None) -> str:
    """One line for the timeline: which step, what happened, from which post to which, and why —
    posts by the name `post` gives them, the detail as a sentence (api.labels)."""
    detail = event.detail or {}
    parts = [f"「{step}」" if step else "", EVENT_LABELS.get(event.kind, event.kind)]
    if event.target_post and event.kind in ("transferred", "refused", "accepted"):
        parts.append(f"→ {post(event.target_post)}")
    for key in ("reason", "text", "comment", "message", "limit"):
        if detail.get(key):
            value = detail[key]
            if key == "reason" and event.kind in ("paused", "resumed"):
                value = pause_reason_name(str(value))  # a code (correction, hearing …) as people read it
            parts.append(f"：{value}")
            break
    else:
        sentence = event_detail_text(event.kind, detail, post)
        if sentence:
            parts.append(f"：{sentence}")
    return " ".join(p for p in parts if p).replace("」 ", "」")
