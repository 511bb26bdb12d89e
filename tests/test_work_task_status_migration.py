"""Migration 0020 renames `work_task.state` to `status` (docs/glossary.md: one name per concept).

An office upgrading a database with tasks in hand must find every task as it was: the open one
still 待办, the finished one still 已办结, the closed one still 已关闭 — and the inbox's index on
(instance, status) there, since every step asks for an instance's open tasks. Downgrading gives
the old column back with the same values. Run on SQLite and PostgreSQL: the backends rename a
column and its indexes differently.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic import command

from engine.migrate import alembic_config

PG_ADMIN_URL = os.environ.get("DUTYFLOW_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BEFORE = "0016"
WHEN = "2026-09-30 01:00:00+00:00"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    name = f"dutyflow_test_migration_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def task_values(engine: sa.Engine, column: str) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(f"SELECT task_spec, {column} FROM work_task")).all())


def index_columns(engine: sa.Engine) -> dict[str, list[str]]:
    return {index["name"]: index["column_names"] for index in sa.inspect(engine).get_indexes("work_task")}


def test_the_rename_keeps_every_task_and_goes_back(url):
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO process_definition (id, process_id, version, name, filename, content_hash, bpmn_xml,"
            " spec_json, deployed_at, deployed_by) VALUES (1, 'p', 1, '流程', 'p.bpmn', 'h', '<x/>', '{}', :at, 'admin')"),
            {"at": WHEN})
        conn.execute(sa.text(
            "INSERT INTO process_instance (id, definition_id, process_id, status, subject, start_data, state_json,"
            " version, started_at, started_by, updated_at) VALUES (1, 1, 'p', 'running', '', '{}', '{}', 1, :at,"
            " 'admin', :at)"), {"at": WHEN})
        for number, (spec, state) in enumerate([("accept", "completed"), ("review", "ready"),
                                                ("decide", "cancelled")], start=1):
            conn.execute(sa.text(
                "INSERT INTO work_task (id, instance_id, spiff_task_id, task_spec, name, state, ready_at, urge_count,"
                " form_data) VALUES (:id, 1, :sid, :spec, :spec, :state, :at, 0, '{}')"),
                {"id": number, "sid": str(uuid.UUID(int=number)), "spec": spec, "state": state, "at": WHEN})
    before = {"accept": "completed", "review": "ready", "decide": "cancelled"}
    assert task_values(engine, "state") == before

    command.upgrade(config, "head")
    engine.dispose()  # PostgreSQL caches the row type of a statement; a fresh pool reads the new table
    assert task_values(engine, "status") == before
    columns = {column["name"] for column in sa.inspect(engine).get_columns("work_task")}
    assert "status" in columns and "state" not in columns
    indexes = index_columns(engine)
    assert indexes["ix_work_task_instance_status"] == ["instance_id", "status"]
    assert indexes["ix_work_task_status"] == ["status"]
    assert not {"ix_work_task_instance_state", "ix_work_task_state"} & set(indexes)

    command.downgrade(config, BEFORE)
    engine.dispose()
    assert task_values(engine, "state") == before
    assert index_columns(engine)["ix_work_task_instance_state"] == ["instance_id", "state"]
    engine.dispose()
