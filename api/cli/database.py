"""The database of the commands that use one: named by DUTYFLOW_DATABASE_URL, migrated first.

Apart from api.cli.app because the settings (pydantic-settings), SQLAlchemy's engine and Alembic
are slow to import and `dutyflow analyze FILE` needs none of them (issue 11 item 6: the start-up
counts in its time aims); the command modules that open the database import this one.
"""

from __future__ import annotations

from engine.config import get_settings
from engine.db import Database
from engine.migrate import upgrade


def open_database() -> Database:
    """The database named by DUTYFLOW_DATABASE_URL (SQLite file by default), migrated to the newest schema."""
    database = Database(get_settings().database_url)
    upgrade(database)
    return database
