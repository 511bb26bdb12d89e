"""Issue 10, findings 3 and 10 (deploy): huge definitions, thousands of parallel branches and deep
expressions are refused at deploy with a 4xx naming the problem — never stored, never a 500.

Each test fails if the oversized or pathological file is accepted (stored) or answered 5xx.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.app import app as cli_app
from engine.runtime import service
from engine.runtime.definitions import MAX_DEFINITION_BYTES, MAX_FLOW_ELEMENTS, MAX_OUTGOING_FLOWS
from engine.runtime.scripting import MAX_AST_DEPTH, MAX_CARDINALITY, MAX_EXPRESSION_CHARS, MAX_SCRIPT_CHARS
from tests.auth_helpers import signed_in
from tests.runtime_helpers import ADMIN
from tests.security.test_sandbox import _bpmn, _stored, _upload, probe_bpmn

PROCESSES_DIR = Path(__file__).resolve().parents[2] / "processes"


@pytest.fixture
def api(client, database, clock, settings, demo_catalog_path):
    return signed_in(client, database, clock, settings, demo_catalog_path)


def parallel_fan_out(branches: int, padding: int = 0) -> bytes:
    """start → parallel split into `branches` script tasks → parallel join → end (the reported file)."""
    doc = "说明" * padding
    parts = ['<bpmn:parallelGateway id="split" name="分" />', '<bpmn:parallelGateway id="join" name="合" />',
             '<bpmn:endEvent id="end" name="结束" />',
             '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="split" />',
             '<bpmn:sequenceFlow id="f_end" sourceRef="join" targetRef="end" />']
    for i in range(branches):
        parts.append(f'<bpmn:scriptTask id="t{i}" name="分支{i}"><bpmn:documentation>{doc}</bpmn:documentation>'
                     f'<bpmn:script>x{i} = {i}</bpmn:script></bpmn:scriptTask>'
                     f'<bpmn:sequenceFlow id="a{i}" sourceRef="split" targetRef="t{i}" />'
                     f'<bpmn:sequenceFlow id="b{i}" sourceRef="t{i}" targetRef="join" />')
    return _bpmn("".join(parts))


def chain(tasks: int) -> bytes:
    """start → `tasks` script tasks in a row → end: many elements, no fan-out."""
    parts = ['<bpmn:endEvent id="end" name="结束" />']
    previous = "start"
    for i in range(tasks):
        parts.append(f'<bpmn:scriptTask id="t{i}" name="步骤{i}"><bpmn:script>n = {i}</bpmn:script></bpmn:scriptTask>'
                     f'<bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="t{i}" />')
        previous = f"t{i}"
    parts.append(f'<bpmn:sequenceFlow id="f_end" sourceRef="{previous}" targetRef="end" />')
    return _bpmn("".join(parts))


def test_the_reported_file_of_4000_parallel_branches_is_refused_with_413(api, database):
    xml = parallel_fan_out(4000, padding=80)
    assert len(xml) > 1_400_000  # the size reported in the issue (1.5 MB)
    answer = _upload(api, xml)
    assert answer.status_code == 413, answer.text
    assert f"{MAX_DEFINITION_BYTES // 1024} KB" in answer.json()["problems"][0]
    assert _stored(database) == []


def test_the_same_fan_out_in_a_small_file_is_refused_naming_the_gateway(api, database):
    xml = parallel_fan_out(4000)
    assert len(xml) > MAX_DEFINITION_BYTES  # 4000 branches cannot even fit under the size limit
    xml = parallel_fan_out(MAX_OUTGOING_FLOWS + 1)
    assert len(xml) < MAX_DEFINITION_BYTES
    answer = _upload(api, xml)
    assert answer.status_code == 422, answer.text
    assert any("split" in p and "分支" in p for p in answer.json()["problems"]), answer.json()
    assert _stored(database) == []
    assert _upload(api, parallel_fan_out(MAX_OUTGOING_FLOWS)).status_code == 201


def test_too_many_elements_are_refused(api, database):
    xml = chain(MAX_FLOW_ELEMENTS // 2 + 1)  # each step is a task and a flow
    assert len(xml) < MAX_DEFINITION_BYTES
    answer = _upload(api, xml)
    assert answer.status_code == 422, answer.text
    assert any("流程元素" in p for p in answer.json()["problems"]), answer.json()
    assert _stored(database) == []


def test_the_cli_refuses_the_reported_file(database, clock, monkeypatch, tmp_path):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    big = tmp_path / "big.bpmn"
    big.write_bytes(parallel_fan_out(4000, padding=80))
    result = CliRunner().invoke(cli_app, ["deploy", str(big)])
    assert result.exit_code != 0 and "过大" in result.output, result.output
    assert _stored(database) == []


DEEP = [
    ("-" * 20000 + "1", "过长"),                         # MemoryError in CPython's parser
    ("-" * (MAX_EXPRESSION_CHARS - 10) + "1", "嵌套过深"),  # RecursionError / depth
    ("(" * 300 + "1" + ")" * 300, "语法错误"),           # "too many nested parentheses"
    ("+".join(["1"] * (MAX_AST_DEPTH + 5)), "嵌套过深"),
    ("[" * (MAX_AST_DEPTH + 5) + "]" * (MAX_AST_DEPTH + 5), "嵌套过深"),
    ("not " * 500 + "x", "嵌套过深"),
]


@pytest.mark.parametrize(("expression", "expected"), DEEP,
                         ids=["minus-20000", "minus-4000", "parens-300", "plus-chain", "lists", "not-500"])
def test_deep_or_huge_conditions_are_refused_with_422_naming_the_element(api, database, expression, expected):
    answer = _upload(api, probe_bpmn("condition", expression))
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert any("probe" in p and expected in p for p in problems), problems
    assert _stored(database) == []


@pytest.mark.parametrize("place", ["script", "prescript", "timer", "cardinality"])
def test_deep_code_is_refused_in_every_place(api, database, place):
    code = "x = " + "-" * 3000 + "1" if place in ("script", "prescript") else "-" * 3000 + "1"
    answer = _upload(api, probe_bpmn(place, code))
    assert answer.status_code == 422, answer.text
    assert any("probe" in p and "嵌套过深" in p for p in answer.json()["problems"]), answer.json()


def test_long_scripts_are_refused(api, database):
    script = "\n".join(f"x{i} = {i}" for i in range(MAX_SCRIPT_CHARS // 8))
    assert len(script) > MAX_SCRIPT_CHARS
    answer = _upload(api, probe_bpmn("script", script))
    assert answer.status_code == 422, answer.text
    assert any("过长" in p for p in answer.json()["problems"])


def test_literal_cardinality_over_the_limit_is_refused(api, database):
    answer = _upload(api, probe_bpmn("cardinality", str(MAX_CARDINALITY + 1)))
    assert answer.status_code == 422, answer.text
    assert any("多实例数量" in p for p in answer.json()["problems"])
    assert _upload(api, probe_bpmn("cardinality", str(MAX_CARDINALITY))).status_code == 201


def test_the_shipped_processes_pass_every_limit(database, clock):
    with database.session() as session:
        deployed = service.deploy_directory(session, clock, PROCESSES_DIR, ADMIN)
    assert sorted(d.definition.process_id for d in deployed) == [
        "accountability", "catalog_publication", "duty_dispute", "efficiency_complaint",
        "evaluation_admonition", "evaluation_quarterly_report", "evaluation_survey", "first_inquiry", "self_inspection_campaign",
        "time_limited_case"]
