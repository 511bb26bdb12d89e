"""The permission policy as a table (finding 6 of issue 10): every cell of docs/permissions.md
against the API, and the rules behind the cells that used to be holes.

Each row of the table in docs/permissions.md is an action, each column a role; the test reads the
table from the document (so the document cannot drift from the code) and, for every cell, starts a
fresh 限时办结 case of 市民政局 (MZ-GF-001, started by 陈静 at 低保审核岗 MZ-SHJZ-01), performs the
action as that role and checks: ✓ → not 403 (and no server error), ✗ → 403 with a Chinese
detail, 401 → 401. Before the policy, any staff member started the coordinators' processes and
other departments' cases and read any case's clock and timers, and a unit without a head post let
every post approve extensions (500个工作日 included).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from api.security import session_lifetime, token_for_session
from engine.auth import service as auth_service
from engine.auth.passwords import hash_password
from engine.auth.roles import Actor
from engine.auth.service import create_user
from engine.catalog.validation import validate_document
from engine.clock import SystemClock
from engine.config import PROJECT_ROOT
from engine.errors import InvalidInput
from engine.evaluation import service as evaluation
from engine.models.evaluation import EvaluationYear
from tests.auth_helpers import issue_token
from tests.db_helpers import file_key, prepared
from tests.process_helpers import Scenario

DOC = PROJECT_ROOT / "docs" / "permissions.md"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
LOW_INCOME = {"duty_code": "MZ-GF-001", "applicant": "张三"}

# Column of the table → (username, staff id, roles). The case's starter is chenjing (not a column).
COLUMNS: dict[str, tuple[str | None, str | None, list[str]]] = {
    "公众": (None, None, []),
    "岗位（本件）": ("yangfan", "S004", ["staff"]),  # MZ-SHJZ-01, the task's post
    "岗位（他部门）": ("xujing", "S011", ["staff"]),  # RS-JY-02, 人社局
    "科室负责人": ("kezhang", "S008", ["staff"]),  # MZ-SHJZ-00, head: true in 社会救助科 (test catalog)
    "部门负责人": ("wangfang", "S001", ["staff"]),  # MZ-BGS-01, 市民政局's head_post
    "法制办": ("caoying", "S081", ["staff", "legal_office"]),  # FZ-FG-02 (not FZ's head post)
    "编办": ("fenggang", "S071", ["staff", "establishment_office"]),  # BB-JG-02
    "效能办": ("zenglin", "S091", ["staff", "efficiency_office"]),  # XN-DC-02
    "admin": ("admin", None, ["admin"]),
}
STARTER = ("chenjing", "S003", ["staff"])


def read_table() -> dict[str, dict[str, str]]:
    """{action: {column: "✓" | "✗" | "401"}} from docs/permissions.md."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    header = next(line for line in lines if line.startswith("| 操作 |"))
    columns = [cell.strip() for cell in header.strip("|").split("|")][2:]
    table = {}
    for line in lines:
        match = re.match(r"^\| `([a-z_]+)` \|", line)
        if match:
            cells = [cell.strip() for cell in line.strip("|").split("|")][2:]
            table[match.group(1)] = dict(zip(columns, cells, strict=True))
    return table


TABLE = read_table()


def catalog_with_unit_head(tmp_path: Path) -> Path:
    """The demo catalog, with a head post (科长岗) in 社会救助科 so the unit head is a role of its own."""
    data = yaml.safe_load((PROJECT_ROOT / "examples" / "demo-catalog.yaml").read_text(encoding="utf-8"))
    unit = next(u for d in data["departments"] for u in d.get("units", []) if u["code"] == "MZ-SHJZ")
    unit["posts"].insert(0, {"code": "MZ-SHJZ-00", "name": "科长岗", "holders": [{"id": "S008", "name": "李科长"}],
                             "head": True})
    # 最低生活保障审批 (行政给付) may be extended only because the catalog says so (extension_limit).
    duty = next(d for d in data["duties"] if d["code"] == "MZ-GF-001")
    duty["extension_limit"] = {"value": 15, "unit": "working_days"}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password("secret-pass-1")


@pytest.fixture(scope="module")
def unit_head_catalog(tmp_path_factory) -> Path:
    """catalog_with_unit_head, written once for the module (~0.1 s of YAML each time, ~120 cities)."""
    return catalog_with_unit_head(tmp_path_factory.mktemp("permissions"))


@pytest.fixture
def city(client, database, clock, settings, monkeypatch, password_hash, unit_head_catalog):
    # Nine accounts and their sign-ins, built once per database and copied in afterwards
    # (tests.db_helpers.prepared); Argon2 (slow on purpose) hashes the one shared password once.
    monkeypatch.setattr(auth_service, "hash_password", lambda _password: password_hash)
    catalog_path = unit_head_catalog
    scenario = Scenario(client, database, clock, settings, catalog_path)
    people = [person for person in [*COLUMNS.values(), STARTER] if person[0]]

    def sign_in_everyone() -> dict[str, str]:
        with database.session() as session:
            for username, staff_id, roles in people:
                create_user(session, username, "secret-pass-1", clock.now(), roles=roles, staff_id=staff_id)
        with database.session() as session:
            return {username: auth_service.start_session(session, auth_service.get_user(session, username),
                                                         SystemClock().now(), session_lifetime(settings)).id
                    for username, _, _ in people}

    sessions = prepared(database, ("permission-accounts", file_key(catalog_path), repr(people)), sign_in_everyone)
    # The token is the session id signed with this test's key.
    scenario.tokens.update({username: token_for_session(settings, session_id)
                            for username, session_id in sessions.items()})
    return scenario


class Cell:
    """One cell's set-up and call: a fresh case (started when the action first names it, so
    actions decided by role alone run without one), then the action as `username` (None: anonymous)."""

    def __init__(self, city: Scenario):
        self.city = city

    @cached_property
    def case(self) -> dict:
        return self.city.start("chenjing", "time_limited_case", LOW_INCOME)

    @cached_property
    def task(self) -> int:
        return self.city.step(self.case["id"], "accept_application")["id"]

    @cached_property
    def evaluation_year(self) -> int:
        """市民政局's 2026 evaluation year (created once per test, by the engine as an admin)."""
        with self.city.database.session() as session:
            found = session.scalars(select(EvaluationYear).where(EvaluationYear.scope_code == "MZ",
                                                                 EvaluationYear.year == 2026)).first()
            if found is None:
                found = evaluation.create_year(session, Actor("admin", roles=frozenset({"admin"})), 2026,
                                               self.city.clock.now(), department="MZ")
            return found.id

    def headers(self, username: str | None) -> dict[str, str]:
        return self.city.headers(username) if username else {}

    def get(self, username, path):
        return self.city.client.get(path, headers=self.headers(username))

    def post(self, username, path, body=None, **kwargs):
        return self.city.client.post(path, json=body, headers=self.headers(username), **kwargs)

    def start(self, username, process_id, data):
        return self.post(username, "/api/instances", {"process_id": process_id, "data": data})

    def as_starter(self, method: str, path: str, body=None):
        response = getattr(self.city.client, method)(path, json=body, headers=self.city.headers("chenjing"))
        assert response.status_code == 200, response.text
        return response


def _instance(cell: Cell, suffix: str = "") -> str:
    return f"/api/instances/{cell.case['id']}{suffix}"


def _receive_transfer(cell: Cell, username):
    cell.as_starter("post", f"/api/tasks/{cell.task}/transfer", {"to_post": "MZ-BGS-01", "reason": "请部门负责人办理"})
    return cell.post(username, f"/api/tasks/{cell.task}/accept")


def request_extension(city: Scenario, case_id: int, username: str, limit: str):
    return city.client.post(f"/api/instances/{case_id}/clock/extension-request", headers=city.headers(username),
                            json={"limit": limit, "reason": "需补充调查"})


def decide_extension(city: Scenario, case_id: int, username: str | None, decision: str = "approve"):
    task = city.step(case_id, "approve_extension")["id"]
    return city.client.post(f"/api/tasks/{task}/complete", headers=city.headers(username) if username else {},
                            json={"data": {"extension_decision": decision, "applicant_notice": "书面"}})


def _extend(cell: Cell, username):
    # The handler asks; the cell's user decides in 延期审批.
    assert request_extension(cell.city, cell.case["id"], "chenjing", "5个工作日").status_code == 200
    return decide_extension(cell.city, cell.case["id"], username)


def _withdraw(cell: Cell, username):
    cell.as_starter("post", f"/api/tasks/{cell.task}/complete", {"data": {"decision": "accept"}})
    return cell.post(username, f"/api/tasks/{cell.task}/withdraw")


ACTIONS: dict[str, Callable[[Cell, str | None], object]] = {
    "start_self_inspection_campaign": lambda c, u: c.start(u, "self_inspection_campaign", {"units": ["MZ-SHJZ"]}),
    "start_efficiency_complaint": lambda c, u: c.start(u, "efficiency_complaint",
                                                       {"subject": "窗口推诿", "complainant": "李四"}),
    "start_duty_dispute": lambda c, u: c.start(u, "duty_dispute", {"duties": ["MT-JC-002", "AJ-JC-001"]}),
    "start_catalog_publication": lambda c, u: c.start(u, "catalog_publication",
                                                      {"version_id": c.city.catalog_version_id}),
    "start_time_limited_case": lambda c, u: c.start(u, "time_limited_case", {"duty_code": "MZ-GF-001"}),
    "start_first_inquiry": lambda c, u: c.start(u, "first_inquiry", {"matter": "咨询低保申请"}),
    "start_accountability": lambda c, u: c.start(u, "accountability", {"staff_id": "S003"}),
    "start_evaluation_quarterly_report": lambda c, u: c.start(u, "evaluation_quarterly_report",
                                                              {"year_id": 999, "unit": "MZ-SHJZ", "quarter": 1}),
    "start_evaluation_survey": lambda c, u: c.start(u, "evaluation_survey", {"year_id": 999}),
    "start_evaluation_admonition": lambda c, u: c.start(u, "evaluation_admonition",
                                                        {"year_id": 999, "subject": "unit", "code": "MZ-SHJZ"}),
    "read_instance": lambda c, u: c.get(u, _instance(c)),
    "read_timeline": lambda c, u: c.get(u, _instance(c, "/timeline")),
    "read_clock": lambda c, u: c.get(u, _instance(c, "/clock")),
    "read_timers": lambda c, u: c.get(u, _instance(c, "/timers")),
    "suspend": lambda c, u: c.post(u, _instance(c, "/suspend"), {"reason": "核查"}),
    "read_task": lambda c, u: c.get(u, f"/api/tasks/{c.task}"),
    "comment": lambda c, u: c.post(u, f"/api/tasks/{c.task}/comment", {"text": "请尽快核实"}),
    "claim": lambda c, u: c.post(u, f"/api/tasks/{c.task}/claim"),
    "complete": lambda c, u: c.post(u, f"/api/tasks/{c.task}/complete", {"data": {"decision": "accept"}}),
    "transfer": lambda c, u: c.post(u, f"/api/tasks/{c.task}/transfer", {"to_post": "MZ-SHJZ-02", "reason": "临时救助"}),
    "delegate": lambda c, u: c.post(u, f"/api/tasks/{c.task}/delegate", {"reason": "出差"}),
    "copy": lambda c, u: c.post(u, f"/api/tasks/{c.task}/copy", {"posts": ["RS-JY-01"]}),
    "urge": lambda c, u: c.post(u, f"/api/tasks/{c.task}/urge", {"message": "请今日办结"}),
    "receive_transfer": _receive_transfer,
    "withdraw": _withdraw,
    "adjust_clock": lambda c, u: c.post(u, _instance(c, "/clock/pause"), {"reason": "专家评审"}),
    "withdraw_application": lambda c, u: c.post(u, _instance(c, "/withdraw-application"),
                                                {"reason": "申请人书面申请撤回"}),
    "request_extension": lambda c, u: c.post(u, _instance(c, "/clock/extension-request"),
                                             {"limit": "5个工作日", "reason": "需补充调查"}),
    "extend": _extend,
    "deploy": lambda c, u: c.city.client.post("/api/definitions", headers=c.headers(u),
                                               files={"file": ("x.bpmn", b"<not-bpmn/>", "text/xml")}),
    "read_metrics": lambda c, u: c.get(u, "/api/metrics"),
    "read_timer_queue": lambda c, u: c.get(u, "/api/timers/summary"),
    "read_warnings": lambda c, u: c.get(u, "/api/warnings"),
    "import_catalog": lambda c, u: c.city.client.post("/api/import", headers=c.headers(u),
                                                       files={"file": ("x.yaml", b"name: [", "text/yaml")}),
    "publish_catalog": lambda c, u: c.post(u, f"/api/versions/{c.city.catalog_version_id}/publish"),
    "enter_calendar_year": lambda c, u: c.city.client.put("/api/calendar/years/2031", headers=c.headers(u),
                                                          json={"holidays": [], "workdays": []}),
    "read_alerts": lambda c, u: c.get(u, "/api/alerts"),
    "handle_alerts": lambda c, u: c.post(u, "/api/alerts/999/acknowledge"),
    "manage_accounts": lambda c, u: c.post(u, "/api/users/chenjing/revoke-sessions"),
    # A wrong current password: 422 for anyone signed in (never 403: everyone changes their own).
    "change_password": lambda c, u: c.post(u, "/api/account/password",
                                           {"current_password": "not-the-password", "new_password": "new-pass-2026"}),
    "read_evaluation": lambda c, u: c.get(u, "/api/evaluation/years"),
    "manage_evaluation": lambda c, u: c.post(u, "/api/evaluation/years", {"year": 2026, "department": "MZ"}),
    "enter_evaluation_scores": lambda c, u: c.post(u, "/api/evaluation/years/999/scores", {"scores": [
        {"subject": "unit", "code": "MZ-SHJZ", "indicator": "FUNC.Q1.KEY", "value": 90}]}),
    "read_unit_evaluation": lambda c, u: c.get(u, f"/api/evaluation/years/{c.evaluation_year}/units/MZ-SHJZ"),
    "read_accountability": lambda c, u: c.get(u, "/api/accountability"),
    "cast_ballot": lambda c, u: c.get(u, "/api/evaluation/surveys/999"),
}

# The same cells on the pages that offer the action: public → the sign-in page, ✗ → a 403 page in
# Chinese, ✓ → the page itself.
PAGES: dict[str, Callable[[Cell], str]] = {
    "read_instance": lambda c: f"/cases/{c.case['id']}",
    "read_task": lambda c: f"/tasks/{c.task}",
    "import_catalog": lambda c: "/legal",
    "manage_accounts": lambda c: "/accounts",
    "read_alerts": lambda c: "/dashboard",
    "read_evaluation": lambda c: f"/evaluation/{c.evaluation_year}",
    "read_unit_evaluation": lambda c: f"/evaluation/{c.evaluation_year}/units/MZ-SHJZ",
}


def test_the_document_lists_every_action_and_role():
    assert set(TABLE) == set(ACTIONS)
    for action, row in TABLE.items():
        assert list(row) == list(COLUMNS), action
        assert set(row.values()) <= {"✓", "✗", "401"}, action


# Actions that change nothing: every role asks about the same case (the others get a fresh one,
# so one role's change cannot decide another's answer).
READS = {"read_instance", "read_timeline", "read_clock", "read_timers", "read_task"}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_role_by_action(city, action):
    wrong = []
    shared = Cell(city) if action in READS else None
    for column, expected in TABLE[action].items():
        username = COLUMNS[column][0]
        response = ACTIONS[action](shared or Cell(city), username)
        status = response.status_code
        body = response.json() if "json" in response.headers.get("content-type", "") else None
        detail = body.get("detail") if isinstance(body, dict) else None
        if expected == "401":
            ok = status == 401
        elif expected == "✗":
            ok = status == 403 and isinstance(detail, str) and bool(CHINESE.search(detail))
        else:
            ok = status not in (401, 403) and status < 500
        if not ok:
            wrong.append(f"{column}: expected {expected}, got {status} {response.text[:160]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("action", list(PAGES))
def test_role_by_page(city, action):
    wrong = []
    cell = Cell(city)  # a page is only read: every role opens the same one
    for column, expected in TABLE[action].items():
        username = COLUMNS[column][0]
        response = city.client.get(PAGES[action](cell), headers=cell.headers(username), follow_redirects=False)
        status = response.status_code
        if expected == "401":
            ok = status in (302, 303, 307) and response.headers["location"].startswith("/login")
        elif expected == "✗":
            ok = status == 403 and bool(CHINESE.search(response.text))
        else:
            ok = status == 200
        if not ok:
            wrong.append(f"{column}: expected {expected}, got {status} {response.headers.get('location', '')}")
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------- the rules behind the cells


def test_extension_is_refused_when_the_catalog_names_no_head(client, database, clock, settings, tmp_path):
    data = yaml.safe_load(catalog_with_unit_head(tmp_path).read_text(encoding="utf-8"))
    del data["departments"][0]["head_post"]  # 市民政局 names no head
    path = tmp_path / "no-head.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    city = Scenario(client, database, clock, settings, path)
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    # Nobody could decide, so the handler cannot even ask: the 延期审批 step would have no post.
    response = request_extension(city, case["id"], "chenjing", "5个工作日")
    assert response.status_code == 403, response.text
    assert "没有指定市民政局（MZ）的负责人岗位" in response.json()["detail"], response.text
    # Nor does anyone approve by hand: this process decides extensions in its step.
    direct = client.post(f"/api/instances/{case['id']}/clock/extend", headers=city.headers("wangfang"),
                         json={"limit": "5个工作日", "reason": "需补充调查"})
    assert direct.status_code == 409 and "延期审批" in direct.json()["detail"]


def test_the_head_may_not_extend_a_case_they_handle(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)
    task = city.step(case["id"], "accept_application")["id"]
    # 王芳 takes the step over: the case is now hers to handle, and hers no longer to extend.
    sent = city.client.post(f"/api/tasks/{task}/transfer", json={"to_post": "MZ-BGS-01", "reason": "请负责人受理"},
                            headers=city.headers("chenjing"))
    assert sent.status_code == 200, sent.text
    assert city.client.post(f"/api/tasks/{task}/accept", headers=city.headers("wangfang")).status_code == 200
    assert request_extension(city, case["id"], "chenjing", "5个工作日").status_code == 200
    response = decide_extension(city, case["id"], "wangfang")
    assert response.status_code == 403 and "自己经办" in response.json()["detail"]


def test_extensions_are_capped(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)  # 15 working days; extension_limit 15

    def extend(limit: str):
        asked = request_extension(city, case["id"], "chenjing", limit)
        return asked if asked.status_code != 200 else decide_extension(city, case["id"], "wangfang")

    huge = extend("500个工作日")
    assert huge.status_code == 422 and "上限" in huge.json()["detail"]
    assert extend("16个工作日").status_code == 422  # more than the catalog's extension_limit
    assert extend("10日").status_code == 422  # calendar days against a working-day allowance
    assert extend("10个工作日").status_code == 200
    assert extend("6个工作日").status_code == 422  # 10 + 6 > 15
    assert extend("5个工作日").status_code == 200
    clock = city.client.get(f"/api/instances/{case['id']}/clock", headers=city.headers("wangfang")).json()
    assert clock["extensions"] == ["10个工作日", "5个工作日"]
    # A refusal is recorded and changes nothing.
    assert request_extension(city, case["id"], "chenjing", "1个工作日").status_code == 422


def test_a_licence_is_extended_by_ten_working_days_at_most(client, database, clock, settings, demo_catalog_path):
    # AJ-XK-001 危险化学品经营许可 (行政许可, committed 15 working days) at 危化品许可岗 AJ-WH-01 (郭敏);
    # 市安监局's head post is AJ-FM-01 (朱军).
    city = Scenario(client, database, clock, settings, demo_catalog_path)
    with database.session() as session:
        create_user(session, "guomin", "secret-pass-1", clock.now(), roles=["staff"], staff_id="S032")
        create_user(session, "zhujun", "secret-pass-1", clock.now(), roles=["staff"], staff_id="S030")
    city.tokens.update({name: issue_token(settings, name) for name in ("guomin", "zhujun")})
    case = city.start("guomin", "time_limited_case", {"duty_code": "AJ-XK-001", "applicant": "某化工公司"})
    over = request_extension(city, case["id"], "guomin", "11个工作日")
    assert over.status_code == 422 and "第四十二条" in over.json()["detail"]
    assert request_extension(city, case["id"], "guomin", "10个工作日").status_code == 200
    assert decide_extension(city, case["id"], "zhujun").status_code == 200
    assert request_extension(city, case["id"], "guomin", "1个工作日").status_code == 422


def test_start_data_cannot_move_a_case_to_another_department(city):
    # The catalog says 最低生活保障审批 belongs to 市民政局: naming another department in the start
    # data must not hand the extension decision to that department's head.
    case = city.start("chenjing", "time_limited_case", {**LOW_INCOME, "department_code": "RS", "unit_code": "RS-JY"})
    clock = city.client.get(f"/api/instances/{case['id']}/clock", headers=city.headers("chenjing")).json()
    assert (clock["department_code"], clock["unit_code"]) == ("MZ", "MZ-SHJZ")


def test_first_post_must_be_ones_own(city):
    response = city.client.post("/api/instances", headers=city.headers("yangfan"), json={
        "process_id": "first_inquiry", "data": {"matter": "咨询", "first_post": "RS-JY-02"}})
    assert response.status_code == 403 and "本人的岗位" in response.json()["detail"]


def test_ids_past_the_database_integer_are_422(city):
    huge = 2**63 + 1
    headers = city.headers("admin")
    for path in (f"/api/instances/{huge}", f"/api/instances/{huge}/clock", f"/api/instances/{huge}/timers",
                 f"/api/tasks/{huge}", f"/api/definitions/{huge}", f"/api/instances?offset={huge}"):
        assert city.client.get(path, headers=headers).status_code == 422, path
    for path in (f"/api/tasks/{huge}/claim", f"/api/instances/{huge}/clock/pause"):
        assert city.client.post(path, headers=headers, json={"reason": "x"}).status_code == 422, path


def test_catalog_head_post_must_be_a_post_of_the_department(demo_catalog_path):
    data = yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8"))
    data["departments"][0]["head_post"] = "RS-JY-01"
    data["departments"][1]["head_post"] = "NO-SUCH"
    with pytest.raises(InvalidInput) as caught:
        validate_document(data)
    assert caught.value.problems == [
        "departments[0].head_post: 岗位 'RS-JY-01' 不属于部门 'MZ'，负责人岗位须是本部门内设机构的岗位",
        "departments[1].head_post: 未知岗位 'NO-SUCH'",
    ]


def test_instance_lists_show_what_one_may_read(city):
    case = city.start("chenjing", "time_limited_case", LOW_INCOME)

    def listed(username: str) -> list[int]:
        response = city.client.get("/api/instances", headers=city.headers(username))
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()]

    for username in ("yangfan", "kezhang", "wangfang", "zenglin", "admin"):
        assert listed(username) == [case["id"]], username
    for username in ("xujing", "caoying", "fenggang"):
        assert listed(username) == [], username
