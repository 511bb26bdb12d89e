"""The process library's script functions, the BPMN files' validity and diagram sections, and the
graphviz renderings — without the HTTP layer."""

from __future__ import annotations

import re

import pytest
from defusedxml import ElementTree
from typer.testing import CliRunner

from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.config import PROJECT_ROOT
from engine.errors import InvalidInput
from engine.runtime.bpmn_graph import read_graph
from engine.runtime.bpmn_layout import with_diagram
from engine.runtime.definitions import parse_bpmn
from engine.runtime.diagram import ACTIVE, DONE, render_svg
from engine.runtime.library import campaigns, cases, disputes, inquiries, options, rules
from engine.runtime.library.catalog_lookup import match_duties, name_score
from engine.runtime.scripting import script_context

PROCESSES = PROJECT_ROOT / "processes"
PROCESS_IDS = ["accountability", "catalog_publication", "duty_dispute", "efficiency_complaint", "evaluation_admonition",
               "evaluation_quarterly_report", "evaluation_survey", "first_inquiry", "self_inspection_campaign",
               "time_limited_case"]
DI = "{http://www.omg.org/spec/BPMN/20100524/DI}"


# ------------------------------------------------------------------ the BPMN files
def test_the_six_processes_are_there_and_deploy_cleanly():
    assert sorted(p.stem for p in PROCESSES.glob("*.bpmn")) == PROCESS_IDS
    for process_id in PROCESS_IDS:
        parsed = parse_bpmn((PROCESSES / f"{process_id}.bpmn").read_bytes(), f"{process_id}.bpmn")
        assert [p.process_id for p in parsed] == [process_id]
        assert re.search("[\u4e00-\u9fff]", parsed[0].name)  # a Chinese name


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_every_element_has_a_shape_or_edge_and_a_chinese_name(process_id):
    xml = (PROCESSES / f"{process_id}.bpmn").read_bytes()
    graph = read_graph(xml)
    root = ElementTree.fromstring(xml)
    shapes = {s.get("bpmnElement") for s in root.iter(f"{DI}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{DI}BPMNEdge")}
    assert set(graph.nodes) <= shapes and {lane.id for lane in graph.lanes} <= shapes
    assert {f.id for f in graph.flows} == edges
    for node in graph.nodes.values():
        if node.kind in ("userTask", "scriptTask", "exclusiveGateway", "parallelGateway"):
            assert re.search("[\u4e00-\u9fff]", node.name), node.id
    assert all(re.search("[\u4e00-\u9fff]", lane.label) for lane in graph.lanes)


@pytest.mark.parametrize("process_id", PROCESS_IDS)
def test_layout_is_stable(process_id):
    xml = (PROCESSES / f"{process_id}.bpmn").read_bytes()
    assert with_diagram(xml) == xml  # the committed files carry the current layout


def test_layout_replaces_a_missing_diagram(tmp_path):
    xml = (PROCESSES / "first_inquiry.bpmn").read_text(encoding="utf-8")
    bare = re.sub(r"\s*<bpmndi:BPMNDiagram\b.*?</bpmndi:BPMNDiagram>", "", xml, flags=re.DOTALL)
    assert "BPMNShape" not in bare
    assert with_diagram(bare.encode("utf-8")).decode("utf-8") == xml


# ------------------------------------------------------------------ diagrams
def test_process_diagram_shows_lanes_and_chinese_labels():
    svg = render_svg(read_graph((PROCESSES / "time_limited_case.bpmn").read_bytes())).decode("utf-8")
    assert svg.startswith("<?xml") and "<svg" in svg
    for label in ("限时办结", "受理", "审查", "决定", "送达", "效能办", "单位负责人"):
        assert label in svg
    assert "Noto Sans CJK SC" in svg


def test_instance_diagram_highlights_active_and_shades_done_steps():
    graph = read_graph((PROCESSES / "time_limited_case.bpmn").read_bytes())
    plain = render_svg(graph).decode("utf-8")
    marked = render_svg(graph, {"accept_application": DONE, "review": ACTIVE}).decode("utf-8")
    assert "#ffd54f" not in plain and "#dddddd" not in plain
    assert "#ffd54f" in marked and "#dddddd" in marked


def test_render_command_writes_one_svg_per_process(tmp_path):
    import api.cli.processes  # noqa: F401  (registers the processes commands)
    from api.cli.app import app

    result = CliRunner().invoke(app, ["processes", "render", "--all", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in tmp_path.glob("*.svg")) == PROCESS_IDS
    one = CliRunner().invoke(app, ["processes", "render", "nope", "--out", str(tmp_path)])
    assert one.exit_code != 0 and "nope" in one.output


def test_committed_diagrams_exist_for_every_process():
    # diagrams/ also holds the catalog analysis diagrams (overlaps, taxonomy, 三定 trees).
    committed = {p.stem for p in (PROJECT_ROOT / "diagrams").glob("*.svg")}
    assert set(PROCESS_IDS) <= committed, sorted(set(PROCESS_IDS) - committed)


# ------------------------------------------------------------------ pure rules
def test_one_time_notice_allows_exactly_one_complete_notice():
    assert cases.one_time_notice(0, "身份证；户口簿") == 1
    with pytest.raises(InvalidInput, match="不得再次告知"):
        cases.one_time_notice(1, "又缺一份")
    with pytest.raises(InvalidInput, match="全部材料"):
        cases.one_time_notice(0, "  ")


def test_refusal_needs_a_reason_and_counts():
    assert inquiries.record_receipt("accept", None, 0) == 0
    assert inquiries.record_receipt("refuse", "非本单位职能", 1) == 2
    with pytest.raises(InvalidInput) as refused:
        inquiries.record_receipt("refuse", "", 0)
    assert "refusal_reason" in refused.value.problems[0]


def test_reason_rule():
    assert rules.require_reason("approve", None) == ""
    assert rules.require_reason("reject", " 缺岗位 ") == "缺岗位"
    with pytest.raises(InvalidInput):
        rules.require_reason("reject", None)


def test_option_reads_the_calling_scripts_data():
    namespace = {"option": options.option, "public_notice_days": 3, "empty": ""}
    exec("a = option('public_notice_days', 5)\nb = option('missing', 5)\nc = option('empty', 'x')", namespace)  # noqa: S102
    assert (namespace["a"], namespace["b"], namespace["c"]) == (3, 5, "x")


def test_tally_and_revision_draft():
    assert disputes.tally_confirmations({"MT": "confirm", "AJ": "confirm"}) == "agreed"
    assert disputes.tally_confirmations({"MT": "confirm", "AJ": "object"}) == "failed"
    assert disputes.tally_confirmations({}) == "failed"
    dispute = {"duties": [{"code": "MT-JC-002", "name": "石膏矿安全监督管理", "department": "MT", "role": "sole"}],
               "departments": ["MT"]}
    draft = disputes.draft_revision(dispute, "negotiation", " 煤炭局负责 ")
    assert draft["division"] == "煤炭局负责" and draft["duties"][0]["current_department"] == "MT"
    with pytest.raises(InvalidInput):
        disputes.draft_revision(dispute, "negotiation", "")


def test_name_score_uses_character_pairs():
    assert name_score("咨询最低生活保障审批", "最低生活保障审批") == 1.0
    assert name_score("天气怎么样", "最低生活保障审批") == 0.0


def test_broader_object_counts_unless_carved_out():
    from engine.runtime.library.catalog_lookup import _object_score

    parents = {"石膏矿": "非煤矿山", "非煤矿山": "矿山", "矿山": None}
    assert _object_score("石膏矿", [], {"石膏矿"}, parents) == 0.5
    assert _object_score("矿山", [], {"石膏矿"}, parents) == 0.3
    assert _object_score("矿山", ["非煤矿山"], {"石膏矿"}, parents) == 0.0  # carved out on the way
    assert _object_score(None, [], {"石膏矿"}, parents) == 0.0


# ------------------------------------------------------------------ rules on the demo catalog
@pytest.fixture
def in_step(database, clock, demo_catalog_path):
    """Run library functions as an engine step would: session, clock and actor in the context."""
    session_cm = database.session()
    session = session_cm.__enter__()
    version = catalog.import_catalog(session, read_catalog(demo_catalog_path), "test", clock.now())
    catalog.publish_version(session, version.id, "test", clock.now())
    with script_context(session, clock, None, Actor("chenjing", staff_id="S003", roles=frozenset({"staff"}))):
        yield session
    session_cm.__exit__(None, None, None)


def test_matter_matching_finds_the_duty_by_object_and_name(in_step):
    matches = match_duties(in_step, catalog.current_version(in_step).id, "举报石膏矿山安全隐患")
    assert matches[0].duty == "MT-JC-002" and matches[0].post == "MT-AQ-02"  # the alias 石膏矿山 counts
    # 非煤矿山 (安监局) is the broader object and does not exclude 石膏矿: proposed too, ranked lower
    assert [m.duty for m in matches[:2]] == ["MT-JC-002", "AJ-JC-001"] and matches[1].score < matches[0].score
    assert match_duties(in_step, catalog.current_version(in_step).id, "今天天气") == []


def test_matter_matching_reads_only_duties_that_can_score(in_step):
    """A duty scores only through a character pair its name shares with the matter or through its
    object; the database leaves every other duty out, so an inquiry does not read the catalog."""
    from engine.runtime.library.catalog_lookup import _candidates

    version_id = catalog.current_version(in_step).id
    total = catalog.search_duties(in_step, version_id, limit=1).total
    rows = _candidates(in_step, version_id, "咨询婚姻登记", set())
    names = {row[1] for row in rows.values()}
    # every candidate shares 婚姻/姻登/登记 (or 咨询/询婚) with the matter; 婚姻登记 itself is among them
    assert any("婚姻登记" in name for name in names)
    assert all(any(pair in name for pair in ("咨询", "询婚", "婚姻", "姻登", "登记")) for name in names)
    assert 0 < len(rows) < total
    assert _candidates(in_step, version_id, "今天天气", set()) == {}
    # a pair with a LIKE wildcard in it is matched as written, not as a pattern
    assert _candidates(in_step, version_id, "%_", set()) == {}


def test_open_case_takes_posts_head_and_committed_limit(in_step):
    case = cases.open_case("MZ-GF-001")
    assert (case["handler_post"], case["backup_post"], case["unit_head"], case["limit"]) == (
        "MZ-SHJZ-01", "MZ-SHJZ-02", "MZ-BGS-01", "15个工作日")
    assert cases.open_case("MZ-GF-001", "5个工作日")["limit"] == "5个工作日"
    with pytest.raises(InvalidInput, match="没有时限"):
        cases.open_case("MZ-JC-001")  # 养老机构监督检查 has no limit
    with pytest.raises(InvalidInput, match="没有承办岗位"):
        cases.open_case("GGZY-FW-001")


def test_inquiry_defaults_to_the_askers_post_and_refuses_self_transfer(in_step):
    inquiry = inquiries.register_inquiry("咨询最低生活保障审批")
    assert inquiry["first_post"] == "MZ-SHJZ-01" and inquiry["own_duty"] is True
    with pytest.raises(InvalidInput, match="首问岗位自己"):
        inquiries.transfer_target("MZ-SHJZ-01", [], "MZ-SHJZ-01")
    with pytest.raises(InvalidInput, match="NOPE"):
        inquiries.transfer_target("NOPE", [], "MZ-SHJZ-01")


def test_campaign_items_checks_and_summary(in_step):
    plan = campaigns.plan_campaign("MZ-SHJZ，MZ-HYDJ")
    assert plan == {"MZ-SHJZ": "MZ-SHJZ-01", "MZ-HYDJ": "MZ-HYDJ-01"}
    items = campaigns.collect_problems({"MZ-SHJZ": ["台账不全", " "], "MZ-HYDJ": "档案未归档\n公示不及时"}, plan,
                                       "10个工作日")
    assert sorted(items) == ["MZ-HYDJ-1", "MZ-HYDJ-2", "MZ-SHJZ-1"]
    first = campaigns.apply_checks(items, {"MZ-SHJZ-1": "accept", "MZ-HYDJ-1": "return", "MZ-HYDJ-2": "return"}, {})
    assert sorted(first["open"]) == ["MZ-HYDJ-1", "MZ-HYDJ-2"] and first["accountability"] == {}
    second = campaigns.apply_checks(first["open"], {"MZ-HYDJ-1": "accept", "MZ-HYDJ-2": "return"}, first["closed"])
    assert second["open"] == {} and list(second["accountability"]) == ["MZ-HYDJ-2"]
    assert campaigns.campaign_summary(second["closed"], 3) == {"found": 3, "fixed": 2, "late": 0, "sanctioned": 1}
    with pytest.raises(InvalidInput, match="内设机构有误"):
        campaigns.plan_campaign(["NO-UNIT"])


def test_dispute_parties_come_from_the_catalog(in_step):
    dispute = disputes.open_dispute(["MT-JC-002", "AJ-JC-001"], "AJ")
    assert dispute["departments"] == ["MT", "AJ"] and dispute["lead_post"] == "AJ-FM-01"
    with pytest.raises(InvalidInput, match="牵头部门"):
        disputes.open_dispute(["MT-JC-002"], "AJ")

