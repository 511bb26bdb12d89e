"""Deploying BPMN definitions: checks up front, clear 422s, nothing half-stored, immutable versions."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from engine.errors import Forbidden, InvalidInput
from engine.models.runtime import ProcessDefinition
from engine.runtime import service
from tests.runtime_helpers import ADMIN, ARD, ARD_FILE, CHEN, deploy, load_demo_catalog, open_task, start

BASE = ARD_FILE.read_text(encoding="utf-8")


def _variant(old: str, new: str) -> bytes:
    assert old in BASE
    return BASE.replace(old, new, 1).encode("utf-8")


def _stored(database) -> list[ProcessDefinition]:
    with database.session() as session:
        return list(session.exec(select(ProcessDefinition)))


def _refused(database, clock, xml: bytes, filename: str = "bad.bpmn") -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        deploy(database, clock, xml, filename)
    assert _stored(database) == []
    return info.value


def test_valid_file_is_deployed_as_version_1_with_its_chinese_name(database, clock):
    [result] = deploy(database, clock)
    assert result.created
    assert (result.definition.process_id, result.definition.version) == (ARD, 1)
    assert result.definition.name == "受理审查决定（测试）"
    with database.session() as session:
        tasks = service.definition_tasks(service.get_definition(session, result.definition.id))
    decide = next(t for t in tasks if t["task_spec"] == "decide")
    assert decide["name"] == "决定" and decide["lane"] == "MZ-BGS-01" and decide["stage"] == "决定"
    assert decide["form"][0]["choices"] == ["approve", "reject"] and decide["form"][0]["required"]


def test_malformed_xml_is_refused_naming_the_file(database, clock):
    error = _refused(database, clock, BASE[:-40].encode(), "broken.bpmn")
    assert "XML" in error.message and "broken.bpmn" in error.problems[0]


def test_dtd_and_entities_are_refused(database, clock):
    xml = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           + BASE.split("?>", 1)[1]).encode()
    error = _refused(database, clock, xml)
    assert "DTD" in error.problems[0]


def test_unknown_element_fails_the_schema(database, clock):
    error = _refused(database, clock, _variant("<bpmn:userTask id=\"review\"", "<bpmn:userJob id=\"review\""))
    assert "bad.bpmn" in error.problems[0]


def test_unsupported_service_task_is_refused(database, clock):
    xml = _variant('<bpmn:scriptTask id="record_approval" name="登记批准结果">',
                   '<bpmn:serviceTask id="record_approval" name="登记批准结果">').replace(
        b"</bpmn:script>\n    </bpmn:scriptTask>", b"</bpmn:script>\n    </bpmn:serviceTask>")
    xml = re.sub(rb"<bpmn:script>.*?</bpmn:script>", b"", xml, flags=re.S)
    error = _refused(database, clock, xml)
    assert any("record_approval" in p and "serviceTask" in p for p in error.problems), error.problems


def test_bad_condition_expression_is_refused_with_element_and_problem(database, clock):
    error = _refused(database, clock, _variant('decision == "approve"', 'decision == = "approve"'))
    assert any("gateway_decision" in p and "语法错误" in p for p in error.problems), error.problems


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('result = "批准：" + applicant', "import os\nos.system('touch /tmp/pwned')", "import"),
        ('result = "批准：" + applicant', "result = __import__('os')", "_"),
        ('result = "批准：" + applicant', "result = ().__class__.__subclasses__()", "__class__"),
        ('result = "批准：" + applicant', "result = open('/etc/passwd').read()", "open"),
        ('result = "批准：" + applicant', "result = [y for y in (x for x in [1])]", "生成器"),
        ('result = "批准：" + applicant', "result = '{0.__class__}'.format(1)", "format"),
        ('decision == "approve"', '__import__("os").system("id") or decision == "approve"', "_"),
    ],
)
def test_unsafe_code_in_scripts_and_conditions_is_refused(database, clock, old, new, expected):
    error = _refused(database, clock, _variant(old, new))
    assert any(expected in p for p in error.problems), error.problems


def test_bad_form_declaration_and_lane_are_refused(database, clock):
    xml = _variant("enum:approve,reject;required", "choice:approve;required").replace(
        b'name="$reviewer_post"', b'name="$_secret"')
    error = _refused(database, clock, xml)
    assert any("choice" in p for p in error.problems) and any("$_secret" in p for p in error.problems)


def test_no_executable_process_and_missing_name_are_refused(database, clock):
    _refused(database, clock, _variant('isExecutable="true"', 'isExecutable="false"'))
    error = _refused(database, clock, _variant('name="受理审查决定（测试）" ', ""))
    assert any("中文名称" in p for p in error.problems)


def test_only_admins_deploy(database, clock):
    with database.session() as session, pytest.raises(Forbidden):
        service.deploy_definition(session, clock, ARD_FILE.read_bytes(), "x.bpmn", CHEN)


def test_same_content_same_version_new_content_next_version_and_instances_keep_theirs(
        database, clock, demo_catalog_path):
    load_demo_catalog(database, clock, demo_catalog_path)
    [first] = deploy(database, clock)
    [again] = deploy(database, clock)
    assert not again.created and again.definition.id == first.definition.id
    old_instance = start(database, clock)
    changed = _variant('<bpmn:lane id="Lane_accept" name="MZ-SHJZ-01">', '<bpmn:lane id="Lane_accept" name="MZ-SHJZ-02">')
    [second] = deploy(database, clock, changed)
    assert second.created and second.definition.version == 2
    new_instance = start(database, clock)
    assert old_instance.definition_id == first.definition.id
    assert new_instance.definition_id == second.definition.id
    # Each instance keeps the lanes of its own version.
    assert open_task(database, old_instance.id, "accept").post_code == "MZ-SHJZ-01"
    assert open_task(database, new_instance.id, "accept").post_code == "MZ-SHJZ-02"
    with database.session() as session:
        assert [d.version for d in service.list_definitions(session, ARD, all_versions=True)] == [2, 1]
        assert [d.version for d in service.list_definitions(session)] == [2]


def test_deploy_directory_is_all_or_nothing(database, clock, tmp_path):
    (tmp_path / "good.bpmn").write_bytes(ARD_FILE.read_bytes())
    (tmp_path / "bad.bpmn").write_bytes(_variant('result = "批准：" + applicant', "import os"))
    with database.session() as session, pytest.raises(InvalidInput) as info:
        service.deploy_directory(session, clock, tmp_path, ADMIN)
    assert any("bad.bpmn" in p for p in info.value.problems)
    assert _stored(database) == []
    (tmp_path / "bad.bpmn").unlink()
    with database.session() as session:
        assert [d.definition.process_id for d in service.deploy_directory(session, clock, tmp_path, ADMIN)] == [ARD]


def test_bad_timing_properties_are_refused(database, clock):
    xml = _variant('<spiffworkflow:property name="stage" value="审查" />',
                   '<spiffworkflow:property name="stage" value="审查" />'
                   '<spiffworkflow:property name="stage_limit" value="两天半" />'
                   '<spiffworkflow:property name="clock" value="stop" />')
    error = _refused(database, clock, xml)
    assert any("stage_limit" in p and "review" in p for p in error.problems)
    assert any("clock" in p for p in error.problems)


def test_timer_expression_with_unquoted_iso_literal_is_refused():
    from engine.runtime.definitions import _expression_problems

    assert _expression_problems("PT1H", "eval", "定时表达式")
    assert _expression_problems('"PT1H"', "eval", "定时表达式") == []
