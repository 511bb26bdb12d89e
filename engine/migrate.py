"""Running the Alembic migrations: the schema of a database brought to the newest revision.

A module of its own, apart from engine.db, because Alembic costs more to import than most
commands take to run (0.38 s of `dutyflow analyze`'s start-up, issue 11 item 6): only the code
that migrates — the server's start-up, the commands that open the database, the worker, tests
and scripts that make a database — imports it. The migrations themselves are in
engine/migrations/ (their env.py reads every table's metadata from engine.models; this module,
like engine.db, does not import the tables).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from engine.db import Database, normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def upgrade(database: Database) -> None:
    """Create or upgrade the schema to the newest Alembic revision (under the start-up lock)."""
    with database.startup_lock():
        command.upgrade(alembic_config(database.url), "head")


def alembic_config(url: str) -> Config:
    """Alembic's configuration for `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config
