"""Pre-compiled statements run straight on the transaction's DBAPI connection.

Why this exists: on SQLite a small statement costs about 10 µs in the driver, about 35 µs as a
pre-built Core statement and 150–300 µs as an ORM query or flush. An engine step (start a case,
complete a task, fire a timer) runs some twenty statements, so on the step's hot path that
overhead, not the database, was most of the time (docs/benchmarks.md, runtime (a)).

The SQL still comes from SQLAlchemy: a `Raw` wraps a Core statement, compiles it once per dialect
and keeps the column types' bind and result processors, so rows written here are exactly the rows
the ORM writes and reads (UTC datetimes, JSON, booleans). Statements run on the connection of the
session's transaction: the same transaction, the same `BEGIN IMMEDIATE` on SQLite, rolled back
together with everything else. Where ORM code of the same transaction may have left changes
pending, callers flush them first (`flush_pending`, what autoflush would do); `update_row` gives
an ORM object of the row that the session already holds the values it wrote, so ORM code running
later in the same transaction sees the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import Executable


@dataclass
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # parameter order for qmark drivers (SQLite), None for named
    binds: tuple[tuple[str, Any], ...]  # (name, processor) for parameters whose type converts values
    fixed: dict[str, Any]  # values written into the statement (`status == "published"`)
    types: tuple[Any, ...]  # the SQL type of each selected column
    results: tuple[Any, ...] | None = None  # a result processor (or None) per column, from the first cursor


class Raw:
    """One Core statement, compiled once per dialect, executed on the session's DBAPI connection.

    Parameters are named as in the statement (`bindparam("p_id")`, or the column keys of an
    `insert(table).values({...: bindparam(...)})`); every parameter must be given.
    """

    def __init__(self, statement: Executable):
        self.statement = statement
        self._compiled: dict[Any, _Compiled] = {}

    def _for(self, dialect) -> _Compiled:
        found = self._compiled.get(dialect)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            found = self._compiled[dialect] = _Compiled(
                sql=str(compiled),
                positional=tuple(compiled.positiontup) if compiled.positional else None,
                binds=tuple((name, proc) for name, proc in compiled._bind_processors.items() if proc is not None),
                fixed={name: value for name, value in compiled.params.items() if value is not None},
                types=tuple(column[3] for column in (compiled._result_columns or ())),
            )
        return found

    # -- running -------------------------------------------------------------------------------
    def _cursor(self, session: Session, params: Mapping[str, Any] | None, many: Iterable[Mapping] | None = None):
        connection = session.connection()
        compiled = self._for(connection.dialect)
        cursor = connection.connection.driver_connection.cursor()
        if many is not None:
            cursor.executemany(compiled.sql, [_parameters(compiled, p) for p in many])
        else:
            cursor.execute(compiled.sql, _parameters(compiled, params or {}))
        return cursor, compiled

    def all(self, session: Session, params: Mapping[str, Any] | None = None) -> list[tuple]:
        cursor, compiled = self._cursor(session, params)
        try:
            processors = _processors(compiled, cursor, session)
            return [_row(processors, raw) for raw in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, session: Session, params: Mapping[str, Any] | None = None) -> tuple | None:
        cursor, compiled = self._cursor(session, params)
        try:
            raw = cursor.fetchone()
            return None if raw is None else _row(_processors(compiled, cursor, session), raw)
        finally:
            cursor.close()

    def scalar(self, session: Session, params: Mapping[str, Any] | None = None) -> Any:
        row = self.first(session, params)
        return None if row is None else row[0]

    def run(self, session: Session, params: Mapping[str, Any] | None = None) -> int:
        """Run an insert, update or delete; returns the number of rows it touched."""
        cursor, _ = self._cursor(session, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def run_many(self, session: Session, params: list[Mapping[str, Any]]) -> None:
        if not params:
            return
        cursor, _ = self._cursor(session, None, many=params)
        cursor.close()


def _parameters(compiled: _Compiled, params: Mapping[str, Any]):
    if compiled.fixed:
        params = {**compiled.fixed, **params}
    if compiled.binds:
        params = dict(params)
        for name, process in compiled.binds:
            if name in params:
                params[name] = process(params[name])
    if compiled.positional is not None:
        return tuple(params[name] for name in compiled.positional)
    return params


def _processors(compiled: _Compiled, cursor, session: Session) -> tuple:
    """Result processors by column, made once from the driver's column type codes (PostgreSQL's
    numeric processors need them)."""
    if compiled.results is None:
        dialect = session.get_bind().dialect
        codes = [column[1] for column in cursor.description or ()]
        compiled.results = tuple(
            sql_type._cached_result_processor(dialect, code) for sql_type, code in zip(compiled.types, codes, strict=False)
        )
    return compiled.results


def _row(processors: tuple, raw: tuple) -> tuple:
    if not any(processors):
        return tuple(raw)
    return tuple(value if process is None else process(value) for process, value in zip(processors, raw, strict=False))


def flush_pending(session: Session) -> None:
    """Flush the session's pending ORM changes so raw statements see them (autoflush's job)."""
    if session.new or session.dirty or session.deleted:
        session.flush()


def set_loaded(obj: Any, **values: Any) -> None:
    """Put values a raw statement wrote onto an object: an ORM object as committed state (so the
    session does not write them again), a `Record` directly."""
    if isinstance(obj, Record):
        obj.__dict__.update(values)
        return
    for key, value in values.items():
        set_committed_value(obj, key, value)


class Record:
    """A row read by a raw statement: attributes by column name, and the names changed since."""

    def __init__(self, **values: Any):
        self.__dict__.update(values)
        self.__dict__["_changed"] = set()

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value
        self._changed.add(name)

    def changes(self) -> dict[str, Any]:
        """The changed columns and their values, forgetting them (they are about to be written)."""
        changed = {name: self.__dict__[name] for name in sorted(self._changed)}
        self._changed.clear()
        return changed

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        return f"Record({shown})"


def record(names: tuple[str, ...], row: tuple) -> Record:
    """A Record of one row read by a raw statement, its values named by `names`."""
    return Record(**dict(zip(names, row, strict=True)))


def records(names: tuple[str, ...], rows: list[tuple]) -> list[Record]:
    return [record(names, row) for row in rows]


# -- rows of a mapped table ---------------------------------------------------------------------
_INSERTS: dict[tuple, Raw] = {}
_UPDATES: dict[tuple, Raw] = {}
_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(model: type) -> dict[str, Any]:
    """The model's field defaults (the values the ORM would write for fields not given)."""
    found = _DEFAULTS.get(model)
    if found is None:
        found = {}
        for name, field in model.model_fields.items():
            if field.default_factory is not None:
                found[name] = field.default_factory
            elif not _is_undefined(field.default):
                found[name] = field.default
        _DEFAULTS[model] = found
    return found


def _is_undefined(value: Any) -> bool:
    return type(value).__name__ == "PydanticUndefinedType"


def insert_row(session: Session, model: type, values: Mapping[str, Any]) -> int:
    """Insert one row of `model` with its field defaults filled in; returns the new id."""
    row = {}
    for name, default in _defaults(model).items():
        if name not in values and name != "id":
            row[name] = default() if callable(default) else default
    row.update(values)
    table = model.__table__
    key = (table, tuple(sorted(row)))
    statement = _INSERTS.get(key)
    if statement is None:
        statement = _INSERTS[key] = Raw(
            table.insert().values({name: bindparam(name) for name in key[1]}).returning(table.c.id)
        )
    return statement.scalar(session, row)


def insert_record(session: Session, model: type, values: Mapping[str, Any]) -> Record:
    """Insert one row of `model` (defaults filled in) and return it as a Record, id included."""
    row = {name: (default() if callable(default) else default)
           for name, default in _defaults(model).items() if name != "id" and name not in values}
    row.update(values)
    return Record(id=insert_row(session, model, row), **row)


def update_row(session: Session, model: type, row_id: int, values: Mapping[str, Any]) -> int:
    """`UPDATE … SET values WHERE id = row_id`; returns the number of rows touched (0 or 1)."""
    if not values:
        return 0
    table = model.__table__
    key = (table, tuple(sorted(values)))
    statement = _UPDATES.get(key)
    if statement is None:
        statement = _UPDATES[key] = Raw(
            table.update().where(table.c.id == bindparam("p_row_id")).values({n: bindparam(f"v_{n}") for n in key[1]})
        )
    touched = statement.run(session, {"p_row_id": row_id, **{f"v_{n}": v for n, v in values.items()}})
    sync_identity(session, model, row_id, values)
    return touched


def sync_identity(session: Session, model: type, row_id: Any, values: Mapping[str, Any]) -> None:
    """Give an ORM object of the row that the session already holds the values just written."""
    if not session.identity_map:
        return
    held = session.identity_map.get(identity_key(model, row_id))
    if held is not None:
        for key, value in values.items():
            set_committed_value(held, key, value)


def write_changes(session: Session, model: type, record: Record) -> None:
    """Write a record's changed columns back to its row."""
    update_row(session, model, record.id, record.changes())
