"""What a link of the chain holds and how it is hashed: pure functions, no database.

A row's content is the canonical JSON of its columns as the database gives them back (after the
column types' own processing, so the same row read on SQLite or PostgreSQL gives the same text):
keys sorted, no spaces, UTF-8 kept; datetimes as ISO 8601 in UTC; NULL columns left out (a
nullable column added by a later migration leaves every earlier link valid).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Column, Float, Integer

_SCALARS = (str, int, float, bool)


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo is not None else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _number_type(column: Column[Any]) -> type | None:
    if isinstance(column.type, Boolean):
        return bool
    if isinstance(column.type, Float):
        return float
    if isinstance(column.type, Integer):
        return int
    return None


# Cache, per process: the names and number types of the chained columns a caller passes, keyed
# by the identity of the collection passed (a table's `columns`, or the list a caller reuses for
# every row it reads), which the entry holds, so the id cannot be another object's while the
# entry lives; emptied at _LAYOUTS_LIMIT (callers that build a new list now and then).
_LAYOUTS: dict[int, tuple[Any, tuple[tuple[str, type | None], ...]]] = {}
_LAYOUTS_LIMIT = 256


def _layout(columns: Iterable[Column[Any]]) -> tuple[tuple[str, type | None], ...]:
    known = _LAYOUTS.get(id(columns))
    if known is not None and known[0] is columns:
        return known[1]
    found = tuple((column.name, _number_type(column)) for column in columns)
    if len(_LAYOUTS) >= _LAYOUTS_LIMIT:
        _LAYOUTS.clear()
    _LAYOUTS[id(columns)] = (columns, found)
    return found


def canonical(row: Mapping[Any, Any], columns: Iterable[Column[Any]]) -> str:
    """The canonical JSON of a row (a mapping of column name → value) over the chained table's
    `columns`. Numbers take their column's type: SQLite may hand back a REAL column's 0.0 as the
    integer 0 (RETURNING gives the value before the column's affinity applies), PostgreSQL never."""
    facts = {}
    for name, number in _layout(columns):
        value = row[name]
        if value is None:
            continue
        if number is not None:
            facts[name] = number(value)
        elif type(value) is str:  # the usual column, without _plain's call
            facts[name] = value
        else:
            facts[name] = _plain(value)
    return json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def link_hash(prev_hash: str, seq: int, table: str, row_id: int, content: str | None) -> str:
    """SHA-256 (hex) of the previous link's hash and this link's facts; a removal (content None)
    hashes as an empty content, which no row's JSON ever is."""
    text = f"{prev_hash}\n{seq}\n{table}\n{row_id}\n{content if content is not None else ''}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
