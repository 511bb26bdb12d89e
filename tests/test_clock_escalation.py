"""Red cards go up to the heads, never back to the late handler (issue 14 item 3).

The demo catalog is changed so that 陈静's post MZ-SHJZ-01, the A post of 最低生活保障审批
(MZ-GF-001), is also the head post of 社会救助科. A case of hers that runs late must not be
escalated to herself: the 督办 record and the 超期督促 step go to 市民政局's head post MZ-BGS-01
(王芳), and the 决定 step too, since a handler heading the unit would otherwise decide her own case.
"""

from __future__ import annotations

import yaml
from sqlmodel import col, select

from engine.config import get_settings
from engine.models.runtime import WorkTask
from engine.models.timers import Escalation
from engine.runtime import simulation
from tests.conftest import PROJECT_ROOT


def handler_heads_the_unit(tmp_path):
    data = yaml.safe_load((PROJECT_ROOT / "examples" / "demo-catalog.yaml").read_text(encoding="utf-8"))
    unit = next(u for d in data["departments"] for u in d.get("units", []) if u["code"] == "MZ-SHJZ")
    next(p for p in unit["posts"] if p["code"] == "MZ-SHJZ-01")["head"] = True
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # 15个工作日 from 2026-10-09: due 2026-10-29 17:30 (10-10 a 调休 working Saturday); on 10-30 it is red.
    (tmp_path / "late.yaml").write_text(
        "duty: MZ-GF-001\ncatalog: catalog.yaml\nevents:\n"
        "  - {at: '2026-10-09 09:30', do: receive}\n"
        "  - {at: '2026-10-30 09:00', do: check}\n", encoding="utf-8")
    return simulation.read_scenario(tmp_path / "late.yaml")


def test_a_late_unit_head_is_escalated_past_to_the_department_head(database, tmp_path):
    settings = get_settings()
    lines = list(simulation.replay(database, handler_heads_the_unit(tmp_path), settings.processes_dir,
                                   settings.demo_catalog))
    assert [line["clock"]["state"] for line in lines] == ["green", "red"]
    assert lines[0]["clock"]["due"] == "2026-10-29 17:30"
    with database.session() as session:
        escalations = session.exec(select(Escalation)).all()
        # The 受理 step (its own 5 working days: 10-10, 12, 13, 14, 15 → red from 10-15 17:30) and the case (red from 10-29): both
        # go to MZ-BGS-01, none to MZ-SHJZ-01, the late handler's own post.
        assert sorted(e.kind for e in escalations) == ["case_red", "stage_red"]
        assert all(e.to_posts == ["MZ-BGS-01"] for e in escalations)
        steps = {t.task_spec: t.post_code for t in session.exec(select(WorkTask)).all()}
    assert steps["accept_application"] == "MZ-SHJZ-01"
    assert steps["escalate_to_head"] == "MZ-BGS-01"


def test_a_restart_after_a_red_card_closes_the_steps_it_opened(database, tmp_path):
    # 即办 received 2026-10-12 10:00 is due at the close, 17:30; at 17:31 it is red: the worker
    # gives the card, a 督办 record and the BPMN 超期督促 and 督办 steps. The one-time notice the
    # next morning is within §32's 5 working days, so when the materials arrive on 10-14 the count
    # starts afresh (due 10-14 17:30): the overdue those steps answer no longer stands, and they
    # close with their 督办 records.
    (tmp_path / "red.yaml").write_text(
        "duty: MZ-QR-001\nlimit: 即办\nevents:\n"
        "  - {at: '2026-10-12 10:00', do: receive}\n"
        "  - {at: '2026-10-12 17:31', do: check}\n"
        "  - {at: '2026-10-13 09:00', do: notify_missing, materials: 户口簿}\n"
        "  - {at: '2026-10-14 10:00', do: correction_received}\n", encoding="utf-8")
    settings = get_settings()
    scenario = simulation.read_scenario(tmp_path / "red.yaml")
    lines = list(simulation.replay(database, scenario, settings.processes_dir, settings.demo_catalog))
    assert [line["clock"]["state"] for line in lines] == ["green", "red", "red", "green"]
    assert lines[2]["clock"]["pause_reason"] == "correction"  # waiting, and it was overdue when it stopped
    assert lines[3]["clock"]["due"] == "2026-10-14 17:30"
    with database.session() as session:
        # By id: a step redone is a new row, and the newest row of each step is how it stands now.
        rows = session.exec(select(WorkTask).order_by(col(WorkTask.id))).all()
        steps = {t.task_spec: (t.status, t.closed_reason) for t in rows}
        escalations = session.exec(select(Escalation)).all()
    assert steps["escalate_to_head"][0] != "ready" and steps["supervision_order"][0] != "ready"
    assert steps["accept_application"][0] == "ready"  # the case itself goes on, from 受理
    assert escalations and all(e.resolved_at is not None for e in escalations)
