"""Problems raised inside process scripts name the field as the person knows it (issue 13).

A script checks the task's data by key (`missing_materials: 不能为空`, engine.runtime.library);
the person filled a field the task's form labels 需补正的全部材料（一次性告知）. Completing a task,
the API and the pages name it by that label; a key the form does not declare (or any key of a
process start, which has no form) by api.messages.SCRIPT_FIELD_LABELS, which holds every key the
library raises; choices the sentence names by code are said in words.

The demo catalog: 陈静 (s003, 低保审核岗) starts a 最低生活保障审批 case (MZ-GF-001) and holds
its 受理 step; time_limited_case's 受理 form labels missing_materials 需补正的全部材料（一次性告知）.
"""

from __future__ import annotations

import re

from sqlmodel import select

from api.messages import FIELD_LABELS, SCRIPT_FIELD_LABELS, catalog_problem, readable_problem, script_problem
from engine.auth.roles import Actor
from engine.config import PROJECT_ROOT
from engine.models.runtime import WorkTask
from engine.runtime import service as runtime
from engine.runtime.forms import name_fields
from tests.auth_helpers import issue_token
from tests.browser_helpers import load_demo, sign_in

CHENJING = Actor("s003", "S003", frozenset({"staff"}), "陈静")
ASCII_WORD = re.compile(r"[A-Za-z_]{2,}")


def start(database, clock) -> int:
    load_demo(database, clock)
    with database.session() as session:
        instance = runtime.start_instance(session, clock, "time_limited_case",
                                          {"duty_code": "MZ-GF-001", "applicant": "张三"}, CHENJING)
        return session.exec(select(WorkTask).where(WorkTask.instance_id == instance.id)).one().id


def test_the_api_names_a_scripts_field_by_the_forms_label(client, database, clock, settings):
    task_id = start(database, clock)
    # 一次性告知 without the materials: the form lets the field be empty (it is needed only for this
    # decision), the process's script refuses it.
    response = client.post(f"/api/tasks/{task_id}/complete", json={"data": {"decision": "notify_missing"}},
                           headers={"Authorization": f"Bearer {issue_token(settings, 's003')}"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"] == "一次性告知必须列明需补正的全部材料"
    assert body["problems"] == ["需补正的全部材料（一次性告知）：不能为空"]


def test_the_task_page_names_it_the_same_way(client, database, clock):
    task_id = start(database, clock)
    sign_in(client, "s003")
    page = client.post(f"/tasks/{task_id}/complete", data={"f_decision": "notify_missing"})
    # A refused form goes back to where the person was, the refusal shown at the top.
    assert page.status_code == 200
    assert '<ul class="problems"><li>需补正的全部材料（一次性告知）：不能为空</li></ul>' in page.text
    assert "missing_materials" not in page.text


def test_only_keys_the_form_declares_are_renamed():
    labels = {"missing_materials": "需补正的全部材料（一次性告知）"}
    assert name_fields(["missing_materials: 不能为空", "other: 有误", "CSV 第2行 事项类型: x"], labels) == [
        "需补正的全部材料（一次性告知）：不能为空", "other: 有误", "CSV 第2行 事项类型: x"]


def every_key_the_library_raises() -> set[str]:
    """The keys the process library words its problems by: `"key: …"` or `f"key: …"` in a list
    handed to InvalidInput or appended to problems, and the `field` arguments' defaults and
    literal values (require_reason's "review_comment", "division" …)."""
    keys: set[str] = set()
    for path in (PROJECT_ROOT / "engine" / "runtime" / "library").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"""[\[(]f?"([a-z_]+)(?:\[[^\]]*\])?: """, source))
    for path in (PROJECT_ROOT / "processes").glob("*.bpmn"):
        # require_reason(answer, option("x"), "field", "when") names the field it refuses.
        keys |= set(re.findall(r'require_reason\([^,]+, option\("[a-z_]+"\), "([a-z_]+)"', path.read_text(encoding="utf-8")))
    return keys | {"review_comment"}  # require_reason's default field


def test_every_key_a_script_raises_has_a_label():
    keys = every_key_the_library_raises()
    assert {"units", "duties", "missing_materials", "refusal_reason", "division", "to_post"} <= keys  # the scan works
    assert sorted(k for k in keys if k not in SCRIPT_FIELD_LABELS and k not in FIELD_LABELS) == []


def test_a_start_refused_by_a_script_names_the_field():
    # A campaign started through the API without units: the script's `units: 不能为空`.
    assert script_problem("units: 不能为空") == "参加的内设机构：不能为空"
    assert script_problem("duties[1]: 未知事项编码 'X-1'") == "争议事项第 2 项：未知事项编码 'X-1'"
    # A choice the sentence names by its code (require_reason's `结论为 reject 时`) is said in words,
    # also after the form's label replaced the key.
    said = script_problem("review_comment: 结论为 reject 时不能为空")
    assert said == "审核意见：结论为“退回”时不能为空" and not ASCII_WORD.search(said)
    assert script_problem("审查意见（退回必填）：结论为 reject 时不能为空") == "审查意见（退回必填）：结论为“退回”时不能为空"
    # Keys the sender chose (data.x) and places in a file are theirs and stay as written.
    assert script_problem("data.len: 与流程脚本的内置函数或流程函数同名") == "data.len: 与流程脚本的内置函数或流程函数同名"
    assert script_problem("CSV: 超过 200020 行上限") == "CSV: 超过 200020 行上限"


def test_the_api_start_names_the_field(client, database, clock, settings):
    load_demo(database, clock)
    response = client.post("/api/instances", json={"process_id": "self_inspection_campaign", "data": {"title": "自查"}},
                           headers={"Authorization": f"Bearer {issue_token(settings, 's090')}"})
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == ["参加的内设机构：不能为空"]


def test_a_catalog_place_is_named_in_the_catalogs_words():
    # The legal office's import problems (engine.catalog.validation) name a place in the file as a
    # path; /legal says it with the catalog's column names and the item's position (counted from 1).
    assert catalog_problem("duties[18].department: 未知部门 '市民政厅'") == "事项第 19 项 · 实施部门：未知部门 '市民政厅'"
    assert catalog_problem("duties[1].code: 事项编码重复 'D-1'（已用于 duties[0].code）") == (
        "事项第 2 项 · 编码：事项编码重复 'D-1'（已用于 事项第 1 项 · 编码）")
    assert catalog_problem("departments[0].units[1].posts[2].code: 岗位编码重复 'P'") == (
        "部门第 1 项 · 内设机构第 2 项 · 岗位第 3 项 · 编码：岗位编码重复 'P'")
    # A row of a table keeps its words; the place it adds in brackets is said too.
    assert catalog_problem("CSV 第2行 事项类型: x") == "CSV 第2行 事项类型: x"
    assert catalog_problem("权责事项 第3行（duties[1].department）: 未知部门 'XX'") == (
        "权责事项 第3行（事项第 2 项 · 实施部门）: 未知部门 'XX'")
    # The API keeps a path into the file (clients and the CLI point into the file with it).
    assert readable_problem("duties[0].department: 未知部门 'XX'") == "duties[0].department: 未知部门 'XX'"
