"""Issue 10, item 1: limits on branches per instance, and data keys that hide script names.

A multi-instance task over a collection (`loopDataInputRef`) makes one branch per item of a list
(per key of a dict, per character of a string) without asking the script engine, so the bound on
cardinality did not cover it: start data, form data or a script carrying a 100,000-item list made
an instance with 100,000 branches. Every test here fails if such a collection gets through: the
answer is not a 422 naming the field, or an instance, a task row or a branch exists afterwards.
The bound is the one the engine enforces (MAX_CARDINALITY, 200): 200 items pass and make exactly
200 branches, 201 do not.

Start or form data keyed like a builtin or a registered script function (`len`, `due_after`)
used to hide it in every script of the instance, which then failed: refused at the door too.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from engine.auth.roles import Actor
from engine.models.runtime import ProcessInstance, WorkTask
from engine.runtime import service
from engine.runtime.scripting import MAX_CARDINALITY
from engine.runtime.worker import Worker
from tests.auth_helpers import signed_in
from tests.runtime_helpers import load_demo_catalog
from tests.security.test_sandbox import PROCESS, _bpmn, _instances, _start, _upload


@pytest.fixture
def api(client, database, clock, settings, demo_catalog_path):
    return signed_in(client, database, clock, settings, demo_catalog_path)


def loop_over(collection: str, body: str = "user", sequential: bool = False) -> str:
    """An MI task over `collection` (item `item`): a user task without a lane (it lands at the
    starter's posts) or a script task whose output `results` collects item * 2."""
    flags = ' isSequential="true"' if sequential else ""
    loop = (f'<bpmn:multiInstanceLoopCharacteristics{flags}><bpmn:loopDataInputRef>{collection}</bpmn:loopDataInputRef>'
            '{output}<bpmn:inputDataItem id="item" name="item" />{output_item}</bpmn:multiInstanceLoopCharacteristics>')
    if body == "user":
        return f'<bpmn:userTask id="loop" name="逐项核查">{loop.format(output="", output_item="")}</bpmn:userTask>'
    loop = loop.format(output="<bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>",
                       output_item='<bpmn:outputDataItem id="result" name="result" />')
    return f'<bpmn:scriptTask id="loop" name="逐项计算">{loop}<bpmn:script>result = item * 2</bpmn:script></bpmn:scriptTask>'


def chain(*elements: str) -> bytes:
    """start → each element in turn → end (elements have the ids given in `ids` order)."""
    ids = ["start"] + [e.split('id="', 1)[1].split('"', 1)[0] for e in elements] + ["end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
                    for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False)))
    return _bpmn("".join(elements) + '<bpmn:endEvent id="end" name="结束" />' + flows)


def _tasks(database) -> list[WorkTask]:
    with database.session() as session:
        return list(session.exec(select(WorkTask)))


def _instance(database, instance_id: int) -> ProcessInstance:
    with database.session() as session:
        return session.get(ProcessInstance, instance_id)


# ---------------------------------------------------------------- start data


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_start_data_with_one_item_too_many_is_refused_before_any_branch(api, database, sequential):
    assert _upload(api, chain(loop_over("items", sequential=sequential))).status_code == 201
    answer = _start(api, {"items": [f"第{i}项" for i in range(MAX_CARDINALITY + 1)]})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert "data.items" in body["detail"] and "201 项" in body["detail"] and "上限 200 项" in body["detail"]
    assert body["problems"] == ["data.items: 多实例任务将按其中每一项各建一个分支，共 201 项，超过上限 200 项"]
    assert _instances(database) == [] and _tasks(database) == []


@pytest.mark.parametrize("value", [
    {f"k{i}": i for i in range(201)},  # a dict: one branch per key
    "字" * 201,  # a string: one branch per character
], ids=["dict", "string"])
def test_every_kind_of_collection_spiff_loops_over_is_bounded(api, database, value):
    assert _upload(api, chain(loop_over("items"))).status_code == 201
    answer = _start(api, {"items": value})
    assert answer.status_code == 422, answer.text
    assert "共 201 项" in answer.json()["detail"]
    assert _instances(database) == []


def test_exactly_the_bound_is_allowed_and_makes_that_many_branches(api, database):
    assert _upload(api, chain(loop_over("items"))).status_code == 201
    answer = _start(api, {"items": [f"第{i}项" for i in range(MAX_CARDINALITY)]})
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "running"
    tasks = _tasks(database)
    assert len(tasks) == 200 and {t.status for t in tasks} == {"ready"}
    assert {t.post_code for t in tasks} == {"MZ-SHJZ-01"}  # the starter's post (the task has no lane)


def test_a_collection_no_multi_instance_task_reads_is_not_limited_by_this_bound(api, database):
    # Only names a multi-instance task of *this* process loops over are counted (the 64 KB limit
    # on the whole of the data still holds for everything else).
    assert _upload(api, chain(loop_over("items"))).status_code == 201
    answer = _start(api, {"items": ["甲", "乙"], "notes": list(range(1000))})
    assert answer.status_code == 201, answer.text
    assert len(_tasks(database)) == 2


# ---------------------------------------------------------------- form data


def test_form_data_with_too_many_items_is_refused_and_the_task_stays_open(api, database):
    form = ('<bpmn:userTask id="list" name="列出问题"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="form.items" value="list;label=问题" />'
            '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')
    assert _upload(api, chain(form, loop_over("items", body="script"))).status_code == 201
    started = _start(api)
    assert started.status_code == 201, started.text
    (task,) = _tasks(database)
    headers = api.as_("chenjing")
    answer = api.post(f"/api/tasks/{task.id}/complete", headers=headers,
                      json={"data": {"items": [str(i) for i in range(201)]}})
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == ["data.items: 多实例任务将按其中每一项各建一个分支，共 201 项，超过上限 200 项"]
    (still,) = _tasks(database)
    assert still.status == "ready" and not still.form_data and still.completed_by is None
    assert _instance(database, started.json()["id"]).status == "running"
    # the same step with a list inside the bound goes on through the loop to the end
    done = api.post(f"/api/tasks/{task.id}/complete", headers=headers, json={"data": {"items": ["1", "2", "3"]}})
    assert done.status_code == 200, done.text
    finished = api.get(f"/api/instances/{started.json()['id']}", headers=headers).json()
    assert finished["status"] == "completed"
    assert finished["data"]["results"] == ["11", "22", "33"]  # item * 2 of each text


# ---------------------------------------------------------------- scripts and expressions


def test_a_script_making_a_big_collection_fails_that_step_and_the_server_goes_on(api, database):
    script = '<bpmn:scriptTask id="make" name="生成清单"><bpmn:script>items = list(range(10000))</bpmn:script></bpmn:scriptTask>'
    assert _upload(api, chain(script, loop_over("items", body="script"))).status_code == 201
    answer = _start(api)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "脚本超出运行预算" in detail and "items" in detail and "共 10000 项" in detail, detail
    assert _instances(database) == [] and _tasks(database) == []
    assert api.get("/api/public/duties").status_code == 200


def test_a_condition_growing_a_collection_in_place_is_caught_too(api, database):
    # Expressions may call list.extend: the check runs after evaluations as well as scripts.
    gateway = ('<bpmn:exclusiveGateway id="probe" name="判断" default="f_other" />'
               '<bpmn:sequenceFlow id="f_other" sourceRef="probe" targetRef="loop" />')
    xml = _bpmn(gateway + loop_over("items", body="script") + '<bpmn:endEvent id="end" name="结束" />'
                '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="probe" />'
                '<bpmn:sequenceFlow id="f_grow" sourceRef="probe" targetRef="end">'
                '<bpmn:conditionExpression>items.extend(range(300)) or False</bpmn:conditionExpression>'
                '</bpmn:sequenceFlow>'
                '<bpmn:sequenceFlow id="f2" sourceRef="loop" targetRef="end" />')
    assert _upload(api, xml).status_code == 201
    answer = _start(api, {"items": [1]})
    assert answer.status_code == 422, answer.text
    assert "共 301 项" in answer.json()["detail"]
    assert _instances(database) == []


def test_a_timer_step_making_a_big_collection_fails_its_instance_naming_the_step(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    wait = ('<bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:timerEventDefinition id="wait_timer">'
            '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
    script = '<bpmn:scriptTask id="make" name="生成清单"><bpmn:script>items = list(range(10000))</bpmn:script></bpmn:scriptTask>'
    admin = Actor("admin", roles=frozenset({"admin"}))
    with database.session() as session:
        service.deploy_definition(session, clock, chain(wait, script, loop_over("items", body="script")), "t.bpmn", admin)
        instance_id = service.start_instance(session, clock, PROCESS, {}, admin).id
    clock.advance(hours=2)
    Worker(database, clock, worker_id="w").run_until_idle()
    row = _instance(database, instance_id)
    assert row.status == "failed", row.error
    assert "生成清单" in row.error and "共 10000 项，超过上限 200 项" in row.error, row.error


# ---------------------------------------------------------------- nested loops


def test_items_that_become_the_collection_of_an_inner_loop_are_bounded_too(api, database):
    # An MI subprocess over units; inside, an MI over the unit's own list (its input item).
    inner = _loop_task("inner", "unit", "post", "done = True")
    outer = ('<bpmn:subProcess id="outer" name="逐单位"><bpmn:multiInstanceLoopCharacteristics>'
             '<bpmn:loopDataInputRef>units</bpmn:loopDataInputRef><bpmn:inputDataItem id="unit" name="unit" />'
             '</bpmn:multiInstanceLoopCharacteristics>'
             '<bpmn:startEvent id="sub_start" />' + inner + '<bpmn:endEvent id="sub_end" />'
             '<bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="inner" />'
             '<bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="sub_end" /></bpmn:subProcess>')
    assert _upload(api, chain(outer)).status_code == 201
    answer = _start(api, {"units": [["a"], list(range(201))]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == ["data.units: 其中一项将作为内层多实例任务的集合，有 201 项，超过上限 200 项"]
    assert _instances(database) == []
    ok = _start(api, {"units": [["a"], list(range(200))]})
    assert ok.status_code == 201 and ok.json()["status"] == "completed", ok.text


def _loop_task(task_id: str, collection: str, item: str, script: str) -> str:
    return (f'<bpmn:scriptTask id="{task_id}" name="{task_id}"><bpmn:multiInstanceLoopCharacteristics>'
            f'<bpmn:loopDataInputRef>{collection}</bpmn:loopDataInputRef>'
            f'<bpmn:inputDataItem id="{item}" name="{item}" /></bpmn:multiInstanceLoopCharacteristics>'
            f'<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>')


# ---------------------------------------------------------------- keys hiding script names


@pytest.mark.parametrize("key", ["len", "sorted", "due_after", "option"])
def test_start_data_may_not_hide_a_builtin_or_a_script_function(api, database, key):
    script = '<bpmn:scriptTask id="count" name="计数"><bpmn:script>n = len([1, 2])</bpmn:script></bpmn:scriptTask>'
    assert _upload(api, chain(script)).status_code == 201
    answer = _start(api, {key: 1, "applicant": "张三"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == [f"data.{key}: 与流程脚本的内置函数或流程函数同名，请换一个字段名"]
    assert _instances(database) == []
    ok = _start(api, {"applicant": "张三"})
    assert ok.status_code == 201 and ok.json()["status"] == "completed", ok.text


def test_form_data_may_not_hide_a_builtin_or_start_with_an_underscore(api, database):
    script = '<bpmn:scriptTask id="count" name="计数"><bpmn:script>n = len([1, 2])</bpmn:script></bpmn:scriptTask>'
    assert _upload(api, chain('<bpmn:userTask id="fill" name="填写" />', script)).status_code == 201
    started = _start(api)
    (task,) = _tasks(database)
    headers = api.as_("chenjing")
    for key in ("len", "_getattr_"):
        answer = api.post(f"/api/tasks/{task.id}/complete", headers=headers, json={"data": {key: 1}})
        assert answer.status_code == 422, answer.text
        assert answer.json()["problems"][0].startswith(f"data.{key}: ")
    done = api.post(f"/api/tasks/{task.id}/complete", headers=headers, json={"data": {"remark": "好"}})
    assert done.status_code == 200, done.text
    assert _instance(database, started.json()["id"]).status == "completed"
