"""The restricted script engine: refuses imports, private names and unknown calls, at deployment and at
run time, also after a workflow is restored from the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.runtime import definitions, service
from engine.runtime.instances import load_workflow
from engine.runtime.scripting import UnsafeScript, check_code, make_script_engine, register_script_function
from engine.runtime.serializer import serialize_spec
from tests.runtime_helpers import ARD_FILE, CHEN, WANG, ZHAO, deploy, load_demo_catalog, open_task, start


@pytest.mark.parametrize(
    "code",
    [
        "import os",
        "from os import system",
        "__import__('os')",
        "().__class__.__subclasses__()",
        "x.__dict__",
        "_secret",
        "open('/etc/passwd')",
        "eval('1')",
        "getattr(x, 'y')",
        "[y for y in (x for x in [1])]",
        "x.real",
        "len(x) if 1 else (len := 2)",
        "f(**kw)",
        "(lambda: 1)()",
        "'{0.__class__}'.format(1)",
        "def f(): pass",
        "while True: pass",
    ],
)
def test_checker_refuses_dangerous_code(code):
    mode = "exec" if code.startswith(("import", "from", "def", "while")) else "eval"
    assert check_code(code, mode), code


@pytest.mark.parametrize(
    "code",
    [
        'approved == True and days_left < 3',
        'decision == "approve" or amount > 1000',
        'len(items) > 0 and max(items) < 10',
        'data.get("x", 0) + sum([1, 2, 3])',
        '"批准：" + applicant',
        '{k: v for k, v in scores.items() if v >= 90}',
    ],
)
def test_checker_accepts_ordinary_conditions(code):
    assert check_code(code, "eval") == []


def test_registered_functions_are_callable_and_only_them():
    assert check_code("dutyflow_test_double(2) == 4", "eval")
    register_script_function("dutyflow_test_double", lambda x: x * 2)
    assert check_code("dutyflow_test_double(2) == 4", "eval") == []
    engine = make_script_engine()
    assert engine.environment.evaluate("dutyflow_test_double(21)", {}) == 42
    with pytest.raises(ValueError):
        register_script_function("_hidden", len)


def test_engine_has_no_real_builtins_even_inside_allowed_code():
    engine = make_script_engine()
    with pytest.raises(UnsafeScript):
        engine.environment.evaluate("__builtins__", {})
    # A data value is data: it is never evaluated as code.
    assert engine.environment.evaluate("payload", {"payload": "__import__('os').system('id')"}).startswith("__import__")
    context = {"n": 2}
    engine.environment.execute("m = n + 1", context)
    assert context == {"n": 2, "m": 3}


def _store_unchecked(database, clock, xml: bytes) -> None:
    """Store a definition without the deployment checks, as a file from before the checks existed."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(xml, filename="old.bpmn")
    spec = parser.get_spec("accept_review_decide")
    parsed = definitions.ParsedProcess("accept_review_decide", "旧流程", spec, {}, serialize_spec(spec, {}),
                                       "unchecked-" + str(hash(xml)))
    with database.session() as session:
        definitions.store_definitions(session, [parsed], xml, "old.bpmn", clock.now(), "admin")


def test_runtime_attempt_fails_that_instance_and_leaves_the_server_untouched(database, clock, demo_catalog_path,
                                                                          tmp_path):
    marker = tmp_path / "pwned"
    xml = ARD_FILE.read_text(encoding="utf-8").replace(
        'result = "批准：" + applicant', f"import os\nos.system('touch {marker}')").encode()
    load_demo_catalog(database, clock, demo_catalog_path)
    _store_unchecked(database, clock, xml)
    instance = start(database, clock)
    for spec, data, actor in (("accept", {"accepted": True}, CHEN), ("review", {"opinion": "同意"}, ZHAO),
                              ("decide", {"decision": "approve"}, WANG)):
        task_id = open_task(database, instance.id, spec).id
        with database.session() as session:
            service.complete_task(session, clock, task_id, data, actor)
    with database.session() as session:
        failed = service.get_instance(session, instance.id)
        last = service.timeline(session, instance.id)[-1]
    assert failed.status == "failed" and "import" in failed.error
    assert last.kind == "failed"
    assert not marker.exists()


def test_restored_workflow_still_refuses(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    deploy(database, clock)
    instance = start(database, clock)
    with database.session() as session:
        _row, workflow = load_workflow(session, instance.id)
    task = workflow.last_task or workflow.task_tree
    from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

    for code in ("__import__('os').getcwd()", "().__class__.__subclasses__()", "open('/etc/passwd').read()"):
        with pytest.raises(WorkflowTaskException) as info:
            workflow.script_engine.evaluate(task, code)
        assert info.value.error_type == "UnsafeScript"
    assert workflow.script_engine.evaluate(task, "applicant + '!'") == "张三!"


def test_state_rows_hold_no_spec(database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    deploy(database, clock)
    instance = start(database, clock)
    with database.session() as session:
        row = service.get_instance(session, instance.id)
    assert '"spec_key"' in row.state_json and "task_specs" not in row.state_json
    assert Path(ARD_FILE).exists()


def test_library_functions_still_read_the_task_data_of_the_running_script():
    # option() reads its caller's globals; the budget wrapper around registered functions keeps
    # the task data as those globals, in scripts and in expressions.
    definitions.load_script_libraries()
    environment = make_script_engine().environment
    context = {"public_notice_days": 3, "empty": ""}
    environment.execute('days = int(option("public_notice_days", 5))\nfallback = option("empty", "默认")', context)
    assert (context["days"], context["fallback"]) == (3, "默认")
    assert environment.evaluate('option("public_notice_days") + 1', {"public_notice_days": 3}) == 4
