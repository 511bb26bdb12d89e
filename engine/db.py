"""Database access: engine creation, sessions (one transaction per change), the start-up lock.

SQLite by default (zero set-up), PostgreSQL when DUTYFLOW_DATABASE_URL points to one. The
migrations are run by engine.migrate, which only the code that migrates imports (Alembic is slow
to import, and most commands never migrate).
"""

from __future__ import annotations

import fcntl
import logging
import threading
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

log = logging.getLogger(__name__)

# The key of the PostgreSQL advisory lock every dutyflow process takes for its start-up work:
# derived from a name, so it is stable across versions and unlikely to meet another program's.
STARTUP_LOCK_KEY = zlib.crc32(b"dutyflow start-up: migrations, demo set-up, processes/")

# Cache: each engine's URL as text, for as long as the engine lives (weak keys). Rendering a URL
# costs more than the per-database look-ups it keys; kept here rather than as an attribute set on
# SQLAlchemy's Engine, which is not ours to extend.
_DATABASE_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def database_key(session: Session) -> str:
    """The URL of the session's database as text, for per-database caches."""
    engine = session.get_bind().engine
    key = _DATABASE_KEYS.get(engine)
    if key is None:
        key = _DATABASE_KEYS[engine] = str(engine.url)
    return key


# session.info key: (the session's transaction, its connection), kept by `core_connection`.
# Lifetime: one transaction — the entry names the transaction it was taken in and is used only
# while that is still the session's transaction (a later one takes its own).
_CONNECTION = "dutyflow_core_connection"


def core_connection(session: Session) -> Connection:
    """The session's connection (its transaction) for a pre-built Core statement on tables.

    What `session.execute` does first for such a statement — autoflush pending ORM changes — and
    then the statement without the ORM's per-statement work (an ORMExecuteState, `do_orm_execute`
    events, the bind look-up): about 10 µs less a statement, for hot statements that load no ORM
    object. The flush costs nothing when nothing is pending. `session.connection()` looks the bind
    and the transaction's connection up again at every call (~8 µs, ~50 times an engine case): the
    connection is kept for the transaction instead."""
    if session.autoflush:
        session.flush()
    transaction = session.get_transaction()
    kept = session.info.get(_CONNECTION)
    if kept is not None and transaction is not None and kept[0] is transaction and not kept[1].closed:
        connection: Connection = kept[1]
        return connection
    connection = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL keeps the database consistent and loses no committed transaction when
    # the process dies; only an OS crash or power cut may drop the last commits. It saves an
    # fsync per commit, which dominated the cost of each engine step on SQLite.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin_immediate(conn) -> None:
    # pysqlite's own BEGIN handling is disabled (see below); take the write lock at the start of
    # every transaction so two writers serialise instead of failing mid-transaction. Straight on
    # the driver connection: this runs for every transaction, and SQLAlchemy's statement
    # machinery costs several times the statement itself.
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE")


def make_engine(url: str, **engine_options) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
            if "poolclass" not in engine_options:
                # The connection used last is taken again: its page cache is warm (handing out
                # connections in turn makes each transaction re-read pages another one changed).
                engine_options["pool_use_lifo"] = True
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "isolation_level": None}, **engine_options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, **engine_options)


class Database:
    """One database: its engine and the sessions over it."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        # Re-entrance of startup_lock within this process (engine.migrate.upgrade inside the
        # server's start-up).
        self._startup_guard = threading.RLock()
        self._startup_depth = 0

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commits when the block ends normally, rolls back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def startup_lock(self) -> Iterator[None]:
        """Hold the start-up lock: one process at a time migrates and sets things up.

        uvicorn's workers, a second `serve` and `dutyflow worker` may all start at once against an
        empty database; without this they race to create the same tables (UniqueViolation on
        pg_type) and to publish the demo catalog. Whoever comes second waits, then finds the work
        done and does nothing. PostgreSQL: a session advisory lock on a connection of its own (the
        server drops it if the process dies). SQLite: an exclusive flock on a file beside the
        database (a transaction cannot serve: the start-up's own writes would wait on it).
        Re-entrant within one process, so engine.migrate.upgrade may run inside a held lock.
        """
        with self._startup_guard:
            if self._startup_depth:
                self._startup_depth += 1
                try:
                    yield
                finally:
                    self._startup_depth -= 1
                return
            with self._cross_process_lock():
                self._startup_depth = 1
                try:
                    yield
                finally:
                    self._startup_depth = 0

    @contextmanager
    def _cross_process_lock(self) -> Iterator[None]:
        if not self.is_sqlite:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": STARTUP_LOCK_KEY}).scalar()
                if not got:
                    log.info("另一进程正在迁移或初始化数据库，等待其完成")
                    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK_KEY})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK_KEY})
            return
        database_file = self.engine.url.database
        if not database_file or database_file == ":memory:":
            yield  # an in-memory database belongs to this process alone
            return
        lock_path = Path(database_file).with_name(Path(database_file).name + ".startup-lock")
        with open(lock_path, "a") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("另一进程正在迁移或初始化数据库，等待其完成")
                fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def dispose(self) -> None:
        self.engine.dispose()

