"""Shared set-up for the timers tests: demo catalog, the test processes, actors, a case runner."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from engine.auth.roles import ADMIN, EFFICIENCY_OFFICE, STAFF, Actor
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.clock import BEIJING
from engine.models.runtime import TimingEvent, WorkTask
from engine.runtime import service
from tests.db_helpers import file_key, prepared

BPMN_DIR = Path(__file__).resolve().parent / "timers_bpmn"

ADMIN_ACTOR = Actor(username="admin", roles=frozenset({ADMIN}))
HANDLER = Actor(username="chenjing", staff_id="S003", roles=frozenset({STAFF}))  # holds MZ-SHJZ-01
OTHER_UNIT = Actor(username="huangli", staff_id="S006", roles=frozenset({STAFF}))  # MZ-HYDJ-01
EFFICIENCY = Actor(username="liuyang", staff_id="S002", roles=frozenset({STAFF, EFFICIENCY_OFFICE}))


def at(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def setup_catalog_and_processes(database, clock, demo_catalog_path, *names: str) -> None:
    """Import and publish the catalog, deploy the named test processes (built once, copied after:
    tests.db_helpers.prepared)."""
    paths = [BPMN_DIR / f"{name}.bpmn" for name in names]

    def build() -> None:
        with database.session() as session:
            version = catalog.import_catalog(session, read_catalog(demo_catalog_path), "test", clock.now())
            catalog.publish_version(session, version.id, "test", clock.now())
            for path in paths:
                service.deploy_definition(session, clock, path.read_bytes(), path.name, ADMIN_ACTOR)

    key = ("timers", file_key(demo_catalog_path), names, *(file_key(path) for path in paths), clock.now())
    prepared(database, key, build)


def start(database, clock, process_id: str, data: dict) -> int:
    with database.session() as session:
        return service.start_instance(session, clock, process_id, data, HANDLER).id


def open_tasks(database, instance_id: int) -> dict[str, int]:
    with database.session() as session:
        return {row.task_spec: row.id for row in service.instance_tasks(session, instance_id, open_only=True)}


def complete(database, clock, instance_id: int, task_spec: str, data: dict | None = None) -> None:
    task_id = open_tasks(database, instance_id)[task_spec]
    with database.session() as session:
        service.complete_task(session, clock, task_id, data or {}, HANDLER)


def events(database, instance_id: int, kind: str | None = None) -> list[TimingEvent]:
    with database.session() as session:
        query = select(TimingEvent).where(TimingEvent.instance_id == instance_id).order_by(TimingEvent.id)
        if kind:
            query = query.where(TimingEvent.kind == kind)
        return list(session.scalars(query))


def count_tasks(database, task_spec: str) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(WorkTask).where(WorkTask.task_spec == task_spec))
