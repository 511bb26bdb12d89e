"""Issue 10, finding 1 and 3 (scripts): code execution through BPMN and unbounded scripts.

Every test here fails if the attack works: the exploit's marker file is written, a forbidden
object is reached, a run does not stop at its budget, or the server stops answering. The exploit
from the issue (generator → gi_frame → f_back → f_builtins → __import__ → os.system) is tried in
each place a BPMN file holds code — script task, preScript, gateway condition, timer expression,
multi-instance cardinality — through the HTTP API (deploy as admin, start as plain staff) and
through the CLI (`dutyflow deploy`, `dutyflow start`), and also against definitions stored
without the deploy check (as from before the checks existed), so the run-time guards are tested
on their own.
"""

from __future__ import annotations

import time
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import runtime  # noqa: F401  (registers the commands)
from api.cli.app import app as cli_app
from api.cli.app import console
from engine.auth.roles import Actor
from engine.auth.service import create_user
from engine.models.runtime import ProcessDefinition, ProcessInstance
from engine.runtime import definitions, service
from engine.runtime.scripting import (
    MAX_CPU_SECONDS,
    ScriptBudgetExceeded,
    ScriptDataError,
    UnsafeScript,
    check_code,
    make_script_engine,
)
from engine.runtime.serializer import serialize_spec
from engine.runtime.worker import Worker
from tests.auth_helpers import signed_in
from tests.runtime_helpers import load_demo_catalog

PROCESS = "sandbox_probe"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def exploit_script(marker: Path) -> str:
    """The issue's script, verbatim except for the command (it touches a marker file)."""
    return ("g = (g.gi_frame.f_back.f_back.f_builtins for x in [1])\n"
            "b = list(g)[0]\n"
            "len = b['__import__']\n"
            "os = len('os')\n"
            "max = os.system\n"
            f"rc = max('touch {marker}')")


def exploit_expression(marker: Path) -> str:
    """The same chain in one list comprehension (this form ran os.system on the old engine)."""
    return (f"[max('touch {marker}') for g in [0] "
            "for g in [(g.gi_frame.f_back.f_back.f_back.f_builtins for x in [1])] "
            "for b in list(g) for len in [b['__import__']] for os in [len('os')] for max in [os.system]]")


def probe_bpmn(place: str, code: str) -> bytes:
    """A process start → element → end whose element holds `code` in `place`."""
    code = escape(code)
    if place == "script":
        element = f'<bpmn:scriptTask id="probe" name="探针"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'
    elif place == "prescript":
        element = ('<bpmn:task id="probe" name="探针"><bpmn:extensionElements>'
                   f'<spiffworkflow:preScript>{code}</spiffworkflow:preScript></bpmn:extensionElements>'
                   '</bpmn:task>')
    elif place == "timer":
        element = ('<bpmn:intermediateCatchEvent id="probe" name="等待"><bpmn:timerEventDefinition id="probe_timer">'
                   f'<bpmn:timeDuration>{code}</bpmn:timeDuration></bpmn:timerEventDefinition>'
                   '</bpmn:intermediateCatchEvent>')
    elif place == "cardinality":
        element = ('<bpmn:scriptTask id="probe" name="多实例"><bpmn:multiInstanceLoopCharacteristics>'
                   f'<bpmn:loopCardinality>{code}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>'
                   '<bpmn:script>done = True</bpmn:script></bpmn:scriptTask>')
    elif place == "condition":
        return _bpmn(
            '<bpmn:exclusiveGateway id="probe" name="判断" default="flow_other" />'
            '<bpmn:endEvent id="end_yes" name="是" /><bpmn:endEvent id="end" name="否" />'
            '<bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="probe" />'
            '<bpmn:sequenceFlow id="flow_yes" sourceRef="probe" targetRef="end_yes">'
            f'<bpmn:conditionExpression>{code}</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="flow_other" sourceRef="probe" targetRef="end" />')
    else:
        raise AssertionError(place)
    return _bpmn(element + '<bpmn:endEvent id="end" name="结束" />'
                 '<bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="probe" />'
                 '<bpmn:sequenceFlow id="flow_end" sourceRef="probe" targetRef="end" />')


def _bpmn(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
            f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="{SPIFF}" '
            f'id="Definitions_probe" targetNamespace="http://dutyflow.example/bpmn">'
            f'<bpmn:process id="{PROCESS}" name="沙箱探针" isExecutable="true">'
            f'<bpmn:startEvent id="start" name="开始" />{body}</bpmn:process></bpmn:definitions>').encode()


PLACES = ("script", "prescript", "condition", "timer", "cardinality")


def exploit_for(place: str, marker: Path) -> str:
    return exploit_script(marker) if place in ("script", "prescript") else exploit_expression(marker)


def store_unchecked(database, clock, xml: bytes) -> None:
    """Store a definition without any deploy check, as a file deployed before the checks existed."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(xml, filename="old.bpmn")
    spec = parser.get_spec(PROCESS)
    parsed = definitions.ParsedProcess(PROCESS, "沙箱探针", spec, {}, serialize_spec(spec, {}),
                                       "unchecked-" + str(hash(xml)))
    with database.session() as session:
        definitions.store_definitions(session, [parsed], xml, "old.bpmn", clock.now(), "admin")


def _stored(database) -> list[ProcessDefinition]:
    """The probe's stored versions (the app deploys processes/ at start-up too)."""
    with database.session() as session:
        return list(session.exec(select(ProcessDefinition).where(ProcessDefinition.process_id == PROCESS)))


def _instances(database) -> list[ProcessInstance]:
    with database.session() as session:
        return list(session.exec(select(ProcessInstance)))




@pytest.fixture
def api(client, database, clock, settings, demo_catalog_path):
    return signed_in(client, database, clock, settings, demo_catalog_path)


def _upload(api, xml: bytes, name: str = "probe.bpmn"):
    return api.post("/api/definitions", headers=api.as_("admin"), files={"file": (name, xml, "application/xml")})


def _start(api, data: dict | None = None):
    return api.post("/api/instances", headers=api.as_("chenjing"), json={"process_id": PROCESS, "data": data or {}})


# ---------------------------------------------------------------- the issue's exploit, everywhere


@pytest.mark.parametrize("place", PLACES)
def test_exploit_is_refused_at_deploy_through_the_api(api, database, tmp_path, place):
    marker = tmp_path / "pwned.txt"
    answer = _upload(api, probe_bpmn(place, exploit_for(place, marker)))
    assert answer.status_code == 422, answer.text
    assert any("probe" in p for p in answer.json()["problems"]), answer.json()
    assert _stored(database) == []
    assert _start(api).status_code == 404  # nothing deployed, nothing to start
    assert not marker.exists()


@pytest.mark.parametrize("place", PLACES)
def test_exploit_stored_without_checks_still_cannot_run_when_staff_start_it(api, database, clock, tmp_path, place):
    marker = tmp_path / "pwned.txt"
    store_unchecked(database, clock, probe_bpmn(place, exploit_for(place, marker)))
    answer = _start(api)
    assert not marker.exists()
    # Either the start is refused or the instance is marked failed with the refusal; never done.
    if answer.status_code == 201:
        body = answer.json()
        assert body["status"] == "failed", body
        assert "脚本被拒绝" in body["error"], body
    else:
        assert 400 <= answer.status_code < 500, answer.text
    assert api.get("/api/public/duties").status_code == 200


@pytest.mark.parametrize("place", PLACES)
def test_exploit_through_the_cli_deploy_and_start(database, clock, demo_catalog_path, monkeypatch, tmp_path, place):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    monkeypatch.setattr(console, "width", 250)
    load_demo_catalog(database, clock, demo_catalog_path)
    with database.session() as session:
        create_user(session, "chenjing", "password-123", clock.now(), roles=["staff"], staff_id="S003")
    marker = tmp_path / "pwned.txt"
    bpmn = tmp_path / "probe.bpmn"
    bpmn.write_bytes(probe_bpmn(place, exploit_for(place, marker)))
    runner = CliRunner()
    deployed = runner.invoke(cli_app, ["deploy", str(bpmn)])
    assert deployed.exit_code != 0 and "probe" in deployed.output, deployed.output
    assert _stored(database) == []
    # The run-time guards on their own: the same file stored unchecked, started from the CLI.
    store_unchecked(database, clock, bpmn.read_bytes())
    runner.invoke(cli_app, ["start", PROCESS, "--user", "chenjing", "--data", "{}"])
    assert not marker.exists()
    assert all(row.status == "failed" for row in _instances(database))


# ---------------------------------------------------------------- variants, against the engine itself


def _run(code: str, data: dict | None = None, mode: str = "exec"):
    environment = make_script_engine().environment
    context = dict(data or {})
    if mode == "eval":
        return environment.evaluate(code, context)
    environment.execute(code, context)
    return context


ESCAPES = [
    # frames through generators and coroutines, by every attribute name that leads there
    "g = (x for x in [1])\nf = g.gi_frame",
    "g = [x for x in [1]]\nc = g.gi_code",
    "c = (x for x in [1]).cr_frame",
    "f = [1].gi_frame",
    "def f():\n    yield 1",
    "async def f():\n    pass",
    # tracebacks and exception objects
    "try:\n    x = 1 / 0\nexcept Exception as e:\n    t = e.__traceback__",
    "try:\n    x = 1 / 0\nexcept Exception as e:\n    t = e.args",
    "raise ValueError('x')",
    # format strings walking attributes inside C
    "x = '{0.__class__}'.format(1)",
    "x = '{0.__class__.__base__}'.format_map({})",
    "m = 'x'.format",
    "x = f'{x.__class__}'",
    "x = f'{1!r:{2}}'",
    # getattr and friends, including through bound methods of dicts
    "x = getattr({}, 'get')",
    "x = {}.get.__self__",
    "m = {}.get\nx = m.__self__",
    "x = {}.keys().mapping",
    "x = vars()",
    "x = globals()",
    "x = type(1)",
    "x = __builtins__",
    "x = (1).real",
    "x = [].__class__.__base__.__subclasses__()",
    # operator overloading needs a class
    "class X:\n    def __add__(self, other):\n        return 1",
    "x = lambda: 1",
    # rebinding what the engine provides
    "len = 1",
    "str, y = 1, 2",
    "for max in [1]:\n    pass",
    "x = [1 for sorted in [1]]",
    "del range",
    "due_after = 1",
    "x = (len := 3)",
    # imports and other statements
    "import os",
    "from os import system",
    "x = __import__('os')",
    "x = eval('1')",
    "x = exec('y = 1')",
    "x = open('/etc/passwd')",
    "while True:\n    pass",
    "with x:\n    pass",
    "global x",
    "x = print(1)",
    "x = [*range(3)]",
    "x = dict(**{'a': 1})",
    "x = [1, 2]\nx[0:0] = x",
]


@pytest.mark.parametrize("code", ESCAPES)
def test_escape_variants_are_refused_by_the_checker_and_by_the_engine(code, tmp_path):
    assert check_code(code, "exec"), code
    with pytest.raises(UnsafeScript):
        _run(code)


def test_the_issues_exploit_does_not_run_in_the_engine(tmp_path):
    marker = tmp_path / "pwned.txt"
    with pytest.raises(UnsafeScript) as refused:
        _run(exploit_script(marker))
    assert any("生成器" in p for p in refused.value.problems)
    assert any("len" in p and "重新赋值" in p for p in refused.value.problems)
    with pytest.raises(UnsafeScript):
        _run(exploit_expression(marker), mode="eval")
    assert not marker.exists()


class _Sneaky(dict):
    """A dict subclass a registered function might return: not plain data, so no attributes."""


def test_attribute_access_is_checked_on_the_actual_type_at_run_time():
    # Names that are fine statically, on objects that are not plain data: refused when run.
    for value in (_Sneaky(a=1), make_script_engine, Path("/"), len):
        with pytest.raises(UnsafeScript):
            _run("x = thing.get('a')", {"thing": value})
    for value in (_Sneaky(a=1), Path("/")):
        with pytest.raises(UnsafeScript):
            _run("x = thing['a']", {"thing": value})
        with pytest.raises(UnsafeScript):
            _run("for x in thing:\n    pass", {"thing": value})
    # the same names on plain data work
    assert _run("x = thing.get('a')", {"thing": {"a": 1}})["x"] == 1


def test_ordinary_scripts_still_work():
    data = {"applicant": "张三", "amount": None, "scores": {"a": 95, "b": 60}, "items": [3, 1, 2]}
    result = _run(
        'result = "批准：" + applicant\n'
        "approved_amount = amount if amount is not None else 0\n"
        "top = {k: v for k, v in scores.items() if v >= 90}\n"
        "ordered = sorted(items)\n"
        "total = 0\n"
        "for i, item in enumerate(items):\n"
        "    total += item * (i + 1)\n"
        "label = f'{applicant}：{total:>4}'\n"
        "square = 12 ** 2\n"
        "words = '、'.join([str(x) for x in ordered])\n", data)
    # total = 3*1 + 1*2 + 2*3 = 11
    assert (result["result"], result["approved_amount"], result["top"], result["ordered"]) == (
        "批准：张三", 0, {"a": 95}, [1, 2, 3])
    assert (result["total"], result["label"], result["square"], result["words"]) == (11, "张三：  11", 144, "1、2、3")
    assert _run("len(items) > 0 and max(items) < 10", data, mode="eval") is True


# ---------------------------------------------------------------- budgets


BUDGET_BREAKERS = [
    "for i in range(10000000000000):\n    pass",
    "x = 'a' * 300000000",
    "x = [0] * 300000000",
    "x = 10 ** 10 ** 10",
    "x = 1 << 100000000",
    "x = 2\nfor i in range(100):\n    x = x * x",
    "s = 'ab'\nfor i in range(60):\n    s = s + s",
    "s = 'ab'\nfor i in range(60):\n    s += s",
    "l = [1]\nfor i in range(60):\n    l.extend(l)",
    "x = list(range(10 ** 12))",
    "x = [1 for i in range(100000) for j in range(100000)]",
    "x = '%999999999d' % 1",
    "s = 'a' * 100000\nx = s.replace('', s)",
    "x = ''.join(['a' * 900000, 'b' * 900000])",
    "x = [[0] * 100000 for i in range(10000)]",
    "d = {}\nfor i in range(2000000):\n    d[i] = i",
    "x = round(5, -100000000)",
]


@pytest.mark.parametrize("code", BUDGET_BREAKERS)
def test_budget_breakers_stop_fast_with_a_clear_error(code):
    started = time.monotonic()
    with pytest.raises(ScriptBudgetExceeded) as stopped:
        _run(code)
    assert "脚本超出运行预算" in stopped.value.message
    # Generous bound on a shared machine; the unguarded runs take minutes or exhaust memory.
    assert time.monotonic() - started < 10 * MAX_CPU_SECONDS


def test_cpu_budget_stops_a_loop_of_expensive_but_small_operations():
    # Each comparison walks two million-item lists: no object grows, only time passes.
    code = ("a = list(range(1000000))\nb = list(range(1000000))\nhits = 0\n"
            "for i in range(99999):\n    hits += 1 if a == b else 0")
    started = time.monotonic()
    with pytest.raises(ScriptBudgetExceeded) as stopped:
        _run(code)
    assert "CPU" in stopped.value.message
    assert time.monotonic() - started < 10 * MAX_CPU_SECONDS


@pytest.mark.parametrize(
    ("code", "expected"),
    [("x = {1, 2}", "set"), ("x = range(3)", "range"), ("x = [1, {2}]", "set"),
     ("x = enumerate([1])", "enumerate"), ("x = [1]\nfor i in range(200):\n    x = [x]", "嵌套")],
)
def test_scripts_leaving_data_that_cannot_be_stored_fail_clearly(code, expected):
    with pytest.raises(ScriptDataError) as refused:
        _run(code)
    assert expected in refused.value.message and "x" in refused.value.message


def test_start_data_cannot_shadow_the_guards(api, database):
    # Task data are the run's globals: a key named like a guard would replace it.
    assert _upload(api, probe_bpmn("script", "x = {'a': 1}.get('a')")).status_code == 201
    answer = _start(api, {"_getattr_": "x", "_getiter_": 1})
    assert answer.status_code == 422, answer.text
    assert _instances(database) == []
    # The engine refuses such data on its own too (data restored from elsewhere, timers).
    with pytest.raises(ScriptDataError) as refused:
        _run("x = {'a': 1}.get('a')", {"_getattr_": "x"})
    assert "下划线" in refused.value.message
    with pytest.raises(ScriptDataError):
        _run("x > 1", {"x": 2, "_getiter_": 1}, mode="eval")


def test_budget_overrun_is_a_422_for_the_person_and_nothing_is_kept(api, database):
    assert _upload(api, probe_bpmn("script", "for i in range(10000000000000):\n    pass")).status_code == 201
    answer = _start(api)
    assert answer.status_code == 422, answer.text
    assert "脚本超出运行预算" in answer.json()["detail"]
    assert _instances(database) == []
    # the server still answers everyone
    assert api.get("/api/public/duties").status_code == 200
    assert _upload(api, probe_bpmn("script", "x = 'a' * 300000000"), "probe2.bpmn").status_code == 201
    assert "脚本超出运行预算" in _start(api).json()["detail"]


def test_non_json_data_is_a_422_instead_of_a_500(api, database):
    assert _upload(api, probe_bpmn("script", "x = {1, 2}")).status_code == 201
    answer = _start(api)
    assert answer.status_code == 422, answer.text
    assert "无法保存" in answer.json()["detail"]
    assert _instances(database) == []


def test_cardinality_is_bounded_at_run_time(api, database):
    assert _upload(api, probe_bpmn("cardinality", "copies")).status_code == 201
    answer = _start(api, {"copies": 100000})
    assert answer.status_code == 422, answer.text
    assert "多实例数量" in answer.json()["detail"]
    ok = _start(api, {"copies": 3})
    assert ok.status_code == 201 and ok.json()["status"] == "completed", ok.text


def test_a_timer_that_runs_over_budget_fails_its_instance_and_the_worker_goes_on(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    xml = _bpmn(
        '<bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:timerEventDefinition id="wait_timer">'
        '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
        '<bpmn:scriptTask id="probe" name="超预算"><bpmn:script>x = 10 ** 10 ** 10</bpmn:script></bpmn:scriptTask>'
        '<bpmn:endEvent id="end" name="结束" />'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="probe" />'
        '<bpmn:sequenceFlow id="f3" sourceRef="probe" targetRef="end" />')
    admin = Actor("admin", roles=frozenset({"admin"}))
    with database.session() as session:
        service.deploy_definition(session, clock, xml, "timer.bpmn", admin)
        instance_id = service.start_instance(session, clock, PROCESS, {}, admin).id
    clock.advance(hours=2)
    Worker(database, clock, worker_id="w").run_until_idle()
    with database.session() as session:
        row = service.get_instance(session, instance_id)
    assert row.status == "failed" and "脚本超出运行预算" in row.error, (row.status, row.error)
