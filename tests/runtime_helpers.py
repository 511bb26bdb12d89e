"""Helpers for the runtime tests: the demo catalog, staff actors, the accept → review → decide BPMN."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.models.runtime import ProcessInstance, TaskAssignment, WorkTask
from engine.runtime import service
from tests.db_helpers import file_key, prepared

BPMN_DIR = Path(__file__).resolve().parent / "bpmn"
ARD_FILE = BPMN_DIR / "accept_review_decide.bpmn"
ARD = "accept_review_decide"

ADMIN = Actor("admin", roles=frozenset({"admin"}))
# Demo catalog: S003 and S004 hold MZ-SHJZ-01 (低保审核岗, B角 MZ-SHJZ-02); S005 holds MZ-SHJZ-02;
# S001 holds MZ-BGS-01 (办公室 head); S010 holds RS-JY-01 (another department).
CHEN = Actor("chenjing", staff_id="S003", roles=frozenset({"staff"}))
YANG = Actor("yangfan", staff_id="S004", roles=frozenset({"staff"}))
ZHAO = Actor("zhaolei", staff_id="S005", roles=frozenset({"staff"}))
WANG = Actor("wangfang", staff_id="S001", roles=frozenset({"staff"}))
WU = Actor("wumin", staff_id="S010", roles=frozenset({"staff"}))
XIAO = Actor("xiaoneng", staff_id=None, roles=frozenset({"efficiency_office"}))

START_DATA = {"applicant": "张三", "reviewer_post": "MZ-SHJZ-02", "amount": None}


def load_demo_catalog(database, clock, path: Path) -> int:
    """Import and publish the catalog; returns the version id (built once, copied after: tests.db_helpers)."""
    def build() -> int:
        with database.session() as session:
            version = catalog.import_catalog(session, read_catalog(path), "test", clock.now())
            catalog.publish_version(session, version.id, "test", clock.now())
            return version.id

    return prepared(database, ("catalog", file_key(path), clock.now()), build)


def deploy(database, clock, xml: bytes | None = None, filename: str = "accept_review_decide.bpmn"):
    with database.session() as session:
        return service.deploy_definition(session, clock, xml if xml is not None else ARD_FILE.read_bytes(),
                                         filename, ADMIN)


def start(database, clock, data: dict | None = None, actor: Actor = CHEN):
    with database.session() as session:
        return service.start_instance(session, clock, ARD, dict(START_DATA if data is None else data), actor)


def open_task(database, instance_id: int, task_spec: str):
    with database.session() as session:
        rows = [t for t in service.instance_tasks(session, instance_id, open_only=True) if t.task_spec == task_spec]
        assert len(rows) == 1, [t.task_spec for t in service.instance_tasks(session, instance_id, open_only=True)]
        return rows[0]


def kinds(database, instance_id: int) -> list[str]:
    with database.session() as session:
        return [e.kind for e in service.timeline(session, instance_id)]


def in_session(database, fn, *args, **kwargs):
    """Call an engine function in its own transaction, as one request would."""
    with database.session() as session:
        return fn(session, *args, **kwargs)


def snapshot(database, instance_id: int):
    """Everything an operation could change: instance version/status, task rows, assignments, events."""
    with database.session() as session:
        instance = session.get(ProcessInstance, instance_id)
        tasks = [t.model_dump() for t in session.exec(select(WorkTask).where(WorkTask.instance_id == instance_id))]
        assigned = [(a.task_id, a.post_code, a.kind) for a in session.exec(select(TaskAssignment))]
        return instance.version, instance.status, tasks, assigned, len(service.timeline(session, instance_id))
