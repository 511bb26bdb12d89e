"""Scenario helpers for the process tests: the demo catalog, signed-in staff of the demo city, and
short calls for the HTTP API (start a process, find a step, complete it, move time)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from engine.auth.service import create_user
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.models.runtime import ProcessInstance, TimingEvent, WorkTask
from engine.runtime.worker import Worker
from tests.auth_helpers import issue_token
from tests.db_helpers import file_key, prepared

# username → (staff id in the demo catalog, roles). Comments: the post each one holds.
PEOPLE = {
    "chenjing": ("S003", ["staff"]),  # MZ-SHJZ-01 低保审核岗 (A角 of 最低生活保障审批)
    "zhaolei": ("S005", ["staff"]),  # MZ-SHJZ-02 临时救助岗 (its B角)
    "wangfang": ("S001", ["staff"]),  # MZ-BGS-01 综合文秘岗, head post of 市民政局
    "huangli": ("S006", ["staff"]),  # MZ-HYDJ-01 登记受理岗
    "sunwei": ("S020", ["staff"]),  # MT-AQ-01 煤矿安全监管岗 (first post of 市煤炭局)
    "machao": ("S021", ["staff"]),  # MT-AQ-02 石膏矿安全监管岗
    "zhujun": ("S030", ["staff"]),  # AJ-FM-01 非煤矿山监管岗 (first post of 市安监局)
    "hanxue": ("S070", ["staff", "establishment_office"]),  # BB-JG-01 三定审核岗 (编办)
    "denghua": ("S080", ["staff", "legal_office"]),  # FZ-FG-01 合法性审查岗 (法制办)
    "pengliang": ("S090", ["staff", "efficiency_office"]),  # XN-DC-01 效能监察岗 (效能办)
    "zenglin": ("S091", ["staff", "efficiency_office"]),  # XN-DC-02 投诉受理岗 (效能办)
    "admin": (None, ["admin"]),
}


class Scenario:
    """One demo city on one backend, driven through the HTTP API."""

    def __init__(self, client, database, clock, settings, catalog_path):
        self.client, self.database, self.clock = client, database, clock
        def build() -> int:
            with database.session() as session:
                version = catalog.import_catalog(session, read_catalog(catalog_path), "test", clock.now())
                catalog.publish_version(session, version.id, "test", clock.now())
                return version.id

        # Built once per session and database, copied in afterwards (tests.db_helpers.prepared).
        self.catalog_version_id = prepared(database, ("catalog", file_key(catalog_path), clock.now()), build)
        self.settings = settings
        self.tokens: dict[str, str] = {}

    def headers(self, username: str) -> dict[str, str]:
        """Bearer header of a demo person; the account is created on first use (hashing is slow)."""
        if username not in self.tokens:
            staff_id, roles = PEOPLE[username]
            with self.database.session() as session:
                create_user(session, username, "secret-pass-1", self.clock.now(), roles=roles, staff_id=staff_id)
            self.tokens[username] = issue_token(self.settings, username)
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    # ------------------------------------------------------------------ calls
    def start(self, username: str, process_id: str, data: dict, status: int = 201) -> dict:
        response = self.client.post("/api/instances", json={"process_id": process_id, "data": data},
                                    headers=self.headers(username))
        assert response.status_code == status, response.text
        return response.json()

    def instance(self, instance_id: int) -> dict:
        response = self.client.get(f"/api/instances/{instance_id}", headers=self.headers("admin"))
        assert response.status_code == 200, response.text
        return response.json()

    def open_steps(self, instance_id: int) -> list[str]:
        return sorted(bpmn_id(t) for t in self.instance(instance_id)["current_tasks"])

    def steps(self, instance_id: int, task_spec: str) -> list[dict]:
        return [t for t in self.instance(instance_id)["current_tasks"] if bpmn_id(t) == task_spec]

    def step(self, instance_id: int, task_spec: str) -> dict:
        found = self.steps(instance_id, task_spec)
        assert len(found) == 1, (task_spec, self.open_steps(instance_id))
        return found[0]

    def complete(self, username: str, task_id: int, data: dict, status: int = 200) -> dict:
        response = self.client.post(f"/api/tasks/{task_id}/complete", json={"data": data},
                                    headers=self.headers(username))
        assert response.status_code == status, response.text
        return response.json()

    def do(self, username: str, instance_id: int, task_spec: str, data: dict) -> dict:
        """Complete the one open step `task_spec` of the instance as `username`."""
        return self.complete(username, self.step(instance_id, task_spec)["id"], data)

    def data(self, instance_id: int) -> dict:
        return self.instance(instance_id)["data"]

    # ------------------------------------------------------------------ time
    def advance(self, **delta) -> int:
        """Move the clock and let a worker fire whatever fell due; the number of rows fired."""
        self.clock.advance(timedelta(**delta))
        return Worker(self.database, self.clock).run_until_idle()

    # ------------------------------------------------------------------ inspection
    def snapshot(self, instance_id: int):
        """What any refused request must leave untouched: instance version, status, task rows, events."""
        with self.database.session() as session:
            instance = session.get(ProcessInstance, instance_id)
            tasks = sorted((t.id, t.status, t.post_code) for t in session.exec(
                select(WorkTask).where(WorkTask.instance_id == instance_id)))
            events = len(list(session.exec(select(TimingEvent).where(TimingEvent.instance_id == instance_id))))
            return instance.version, instance.status, tasks, events

    def events(self, instance_id: int, kind: str | None = None) -> list[dict]:
        response = self.client.get(f"/api/instances/{instance_id}/timeline", headers=self.headers("admin"))
        assert response.status_code == 200, response.text
        return [e for e in response.json() if kind is None or e["kind"] == kind]


def bpmn_id(task: dict) -> str:
    """The BPMN element id of a task (the API gives it as `bpmn_id`; `task_spec` of a
    multi-instance child is "<id> [child]")."""
    return task["bpmn_id"]


def problems_text(response_json: dict) -> str:
    return " ".join([response_json.get("detail", "")] + list(response_json.get("problems", [])))
