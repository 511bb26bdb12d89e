"""计时明细 (issue 14 item 9): a case clock explained line by line, driven through the real engine
with a controlled clock, on the case page, in the API and in `dutyflow timeline`.

Every expected line is worked out by hand from the rules, on the 2026 calendar of the
chinesecalendar package: 10-01..10-07 National Day (rest), 10-08 (Thursday) a working day, 10-10
(Saturday) a 调休 working day, 10-11 Sunday rest; no other rest day in October or November but
the weekends. Office hours 09:00-12:00 and 13:30-17:30: a working day is 7 hours of office time.
A day count starts the day after the event (counted from that day's close, 17:30).
"""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import runtime as runtime_cli  # noqa: F401  (registers the commands)
from api.cli.app import app, console
from engine.auth.roles import STAFF, Actor
from engine.calendar.limits import parse_limit
from engine.models.runtime import WorkTask
from engine.runtime import service as runtime
from engine.runtime.clocks import commands as clock_commands
from engine.runtime.clocks import views as clock_views
from engine.runtime.clocks.explanation import explain_clock
from engine.runtime.worker import Worker
from tests.auth_helpers import issue_token
from tests.browser_helpers import load_demo, sign_in
from tests.timers_helpers import HANDLER, at, complete, setup_catalog_and_processes, start

# 王芳 holds MZ-BGS-01, the head post of 市民政局 (`head_post` in the demo catalog): the one who
# decides extensions of the department's cases; she handles none of these cases.
HEAD = Actor(username="wangfang", staff_id="S001", roles=frozenset({STAFF}))
MZ = {"unit_code": "MZ-SHJZ", "department_code": "MZ", "applicant": "张三"}


def explanation(database, clock, instance_id):
    with database.session() as session:
        return [(line["at"], line["text"]) for line in explain_clock(session, instance_id, clock)]


@pytest.fixture
def timed(database, clock, demo_catalog_path):
    setup_catalog_and_processes(database, clock, demo_catalog_path, "timed_case")


def test_notice_correction_expert_review_extension_and_finish(database, clock, timed):
    # Received Friday 10-09 09:30, 15个工作日 from the start data.
    clock.set(at(2026, 10, 9, 9, 30))
    case = start(database, clock, "timed_case", {**MZ, "limit": "15个工作日"})
    # 10-10 10:00 (the 调休 Saturday) the materials are incomplete: the one-time notice comes 1
    # working day after receipt, within 5 (due 10-15 17:30), so the clock stops for 补正.
    clock.set(at(2026, 10, 10, 10, 0))
    complete(database, clock, case, "accept", {"complete": False})
    # 10-20 15:00 the corrected materials arrive: the count starts afresh from 10-21.
    # Waited 10-10 10:00 → 10-20 15:00: 10-10 6 h (10:00-12:00, 13:30-17:30), 10-12..10-19 six
    # working days (42 h), 10-20 4 h 30 (09:00-12:00, 13:30-15:00) = 52 h 30 = 7 days 3 h 30.
    # 15 working days from 10-20: 10-21, 22, 23, 26..30, 11-02..06, 09, 10 → due 11-10 17:30.
    clock.set(at(2026, 10, 20, 15, 0))
    complete(database, clock, case, "correction")
    # 10-22 09:00 the review sends it to expert review (a §45 pause), which ends 10-29 09:00:
    # 10-22, 23, 26, 27, 28 stood still = 35 h = 5 working days; due 11-10 17:30 moves 5 working
    # days: 11-11, 12, 13, 16, 17 → 11-17 17:30.
    clock.set(at(2026, 10, 22, 9, 0))
    complete(database, clock, case, "review", {"expert": True})
    clock.set(at(2026, 10, 29, 9, 0))
    complete(database, clock, case, "expert_review")
    # 11-05 11:00 the head approves 10个工作日 in writing (what the 延期审批 step calls): the limit
    # runs 15 working days to 11-10, then 10 more (11-11..13, 16..20, 23, 24) to 11-24, then the 5
    # paused days (11-25, 26, 27, 30, 12-01) → 12-01 17:30.
    clock.set(at(2026, 11, 5, 11, 0))
    with database.session() as session:
        held = clock_commands.get_case(session, case, for_update=True)
        clock_commands.approve_extension(session, clock.now(), held, parse_limit("10个工作日"), "需现场核查申请人家庭收入",
                                         HEAD, notice="书面", decision_reason="同意")

    # Counted at 11-05 11:00, from the close of 10-20: 10-21..10-30 (8 days) and 11-02..04 (3)
    # = 77 h, plus 11-05 09:00-11:00 = 79 h, less the 35 h paused = 44 h = 6 days 2 h.
    # Left to 12-01 17:30: 11-05 5 h (11:00-12:00, 13:30-17:30), 11-06, 11-09..13, 16..20,
    # 23..27, 30, 12-01 = 18 days → 18 days 5 h (6 d 2 h + 18 d 5 h = 25 days = 15 + 10).
    assert explanation(database, clock, case) == [
        ("2026-10-09 09:30", "收到申请，自次日起计时（办结时限 15个工作日，启动时给定）"),
        ("2026-10-10 10:00", "一次性告知补正材料，等待补正期间不计时"),
        ("2026-10-20 15:00", "补正材料收到，自次日起重新计时（等待补正 7 个工作日 3 小时 30 分）"),
        ("2026-10-22 09:00", "因专家评审暂停计时"),
        ("2026-10-29 09:00", "恢复计时（专家评审暂停 5 个工作日），办结时限顺延至 2026-11-17 17:30"),
        ("2026-11-05 11:00", "延期 10个工作日，王芳批准，已书面告知申请人（理由：需现场核查申请人家庭收入；审批意见：同意），"
                             "办结时限延至 2026-12-01 17:30"),
        (None, "办结时限 2026-12-01 17:30 前（已计 6 个工作日 2 小时，剩余 18 个工作日 5 小时）"),
    ]

    # Decided 11-10 10:00. Counted from the close of 10-20: 10-21..30 (8), 11-02..06 (5), 11-09
    # (1) = 14 days = 98 h, plus 11-10 09:00-10:00 = 99 h, less 35 h = 64 h = 9 days 1 h; on time.
    clock.set(at(2026, 11, 10, 10, 0))
    complete(database, clock, case, "decide", {"decision": "approve"})
    lines = explanation(database, clock, case)
    assert lines[-1] == (None, "办结于 2026-11-10 10:00，按时（办结时限 2026-12-01 17:30，共计 9 个工作日 1 小时）")
    assert len(lines) == 7  # finishing adds no line of its own: the summary says it


def test_a_late_notice_stops_nothing_and_the_count_runs_from_receipt(database, clock, timed):
    # Received 09-30 09:00 with 15个工作日: 10-08, 09, 10, 12..16, 19..23, 26, 27 → due 10-27 17:30.
    case = start(database, clock, "timed_case", {**MZ, "limit": "15个工作日"})
    # The notice was due within 5 working days of receipt: 10-08, 09, 10, 12, 13 → 10-13 17:30.
    # Given 10-14 10:00 it is late: recorded, the clock neither stops nor restarts (§32).
    clock.set(at(2026, 10, 14, 10, 0))
    complete(database, clock, case, "accept", {"complete": False})
    clock.set(at(2026, 10, 16, 10, 0))
    complete(database, clock, case, "correction")
    # At 10-16 10:00, counted from the close of 09-30: 10-08..10-15 (7 working days) + 1 h;
    # left: 10-16 6 h, 10-19..23 and 10-26, 27 (7 days) → 7 days 6 h (7 d 1 h + 7 d 6 h = 15 days).
    assert explanation(database, clock, case) == [
        ("2026-09-30 09:00", "收到申请，自次日起计时（办结时限 15个工作日，启动时给定）"),
        ("2026-10-14 10:00", "一次性告知逾期（收到申请后 5个工作日内应告知，即 2026-10-13 17:30 前）：计时不暂停、不重新计算"),
        (None, "办结时限 2026-10-27 17:30 前（已计 7 个工作日 1 小时，剩余 7 个工作日 6 小时）"),
    ]


def test_yellow_red_and_escalation_of_the_case_but_not_of_its_steps(database, clock, timed):
    # 5个工作日 from 09-30 09:00: 10-08, 09, 10, 12, 13 → due 10-13 17:30; yellow when two thirds
    # of its 35 office hours are used: 23 h 20 after the close of 09-30 → 10-12 11:20.
    case = start(database, clock, "timed_case", {**MZ, "limit": "5个工作日"})
    clock.set(at(2026, 9, 30, 10, 0))
    complete(database, clock, case, "accept", {"complete": True})
    clock.set(at(2026, 10, 8, 9, 0))
    complete(database, clock, case, "review", {"expert": False})
    worker = Worker(database, clock, worker_id="explain-test", lease_seconds=30)
    # The decide step (2 working days from 10-08: due 10-09 17:30) goes yellow and red on its own
    # clock too, with a stage escalation: the step's matter, not the case clock's — no line.
    clock.set(at(2026, 10, 12, 11, 20))
    worker.run_until_idle()
    clock.set(at(2026, 10, 13, 17, 30))
    worker.run_until_idle()
    # 社会救助科 names no head: the case goes to 市民政局's head post MZ-BGS-01, 综合文秘岗.
    # At 10-14 10:30: counted 10-08..10-13 (5 days) + 10-14 1 h 30; over by 1 h 30 (09:00-10:30).
    clock.set(at(2026, 10, 14, 10, 30))
    expected = [
        ("2026-09-30 09:00", "收到申请，自次日起计时（办结时限 5个工作日，启动时给定）"),
        ("2026-10-12 11:20", "黄牌：临近办结时限 2026-10-13 17:30"),
        ("2026-10-13 17:30", "红牌：已超过办结时限 2026-10-13 17:30"),
        ("2026-10-13 17:30", "超期督办：移送综合文秘岗"),
    ]
    assert explanation(database, clock, case) == [
        *expected, (None, "办结时限 2026-10-13 17:30，已超期 1 小时 30 分（已计 5 个工作日 1 小时 30 分）")]
    complete(database, clock, case, "decide", {"decision": "approve"})
    assert explanation(database, clock, case) == [
        *expected,
        (None, "办结于 2026-10-14 10:30，超期（办结时限 2026-10-13 17:30，共计 5 个工作日 1 小时 30 分，超出 1 小时 30 分）")]


def test_a_pause_by_hand_and_a_refused_extension_name_the_people(database, clock, timed):
    # 5个工作日 from 09-30 09:00 → due 10-13 17:30.
    case = start(database, clock, "timed_case", {**MZ, "limit": "5个工作日"})
    # 陈静 (S003, the handler) pauses 10-09 10:00 and resumes 10-12 10:00: 10-09 6 h, 10-10 7 h,
    # 10-12 1 h = 14 h = 2 working days; due moves 2 working days: 10-14, 15 → 10-15 17:30.
    clock.set(at(2026, 10, 9, 10, 0))
    with database.session() as session:
        clock_commands.pause_case(session, clock, case, "等待申请人现场核验", HANDLER)
    clock.set(at(2026, 10, 12, 10, 0))
    with database.session() as session:
        clock_commands.resume_case(session, clock, case, HANDLER)
    # 王芳 refuses 3个工作日 at 11:00: recorded, the clock unchanged.
    clock.set(at(2026, 10, 12, 11, 0))
    with database.session() as session:
        held = clock_commands.get_case(session, case, for_update=True)
        clock_commands.refuse_extension(session, clock.now(), held, "3个工作日", "材料需补充核实", HEAD, "理由不充分")
    # Counted at 10-12 11:00 from the close of 09-30: 10-08, 09, 10 (21 h) + 10-12 2 h = 23 h,
    # less 14 h paused = 9 h = 1 day 2 h; left: 10-12 5 h + 10-13, 14, 15 = 3 days 5 h.
    assert explanation(database, clock, case) == [
        ("2026-09-30 09:00", "收到申请，自次日起计时（办结时限 5个工作日，启动时给定）"),
        ("2026-10-09 10:00", "人工暂停计时：等待申请人现场核验（陈静）"),
        ("2026-10-12 10:00", "恢复计时（等待申请人现场核验暂停 2 个工作日，陈静恢复），办结时限顺延至 2026-10-15 17:30"),
        ("2026-10-12 11:00", "延期 3个工作日 未获批准（王芳：理由不充分），办结时限不变"),
        (None, "办结时限 2026-10-15 17:30 前（已计 1 个工作日 2 小时，剩余 3 个工作日 5 小时）"),
    ]


def test_materials_recorded_by_hand_with_their_day_of_receipt(database, clock, timed):
    # 15个工作日 from 09-30 09:00; the notice 10-09 10:00 is in time (due 10-13 17:30): paused.
    case = start(database, clock, "timed_case", {**MZ, "limit": "15个工作日"})
    clock.set(at(2026, 10, 9, 10, 0))
    complete(database, clock, case, "accept", {"complete": False})
    # 陈静 records 10-13 11:00 that the materials came 10-12 16:00: waited 10-09 6 h, 10-10 7 h,
    # 10-12 5 h 30 (09:00-12:00, 13:30-16:00) = 18 h 30 = 2 days 4 h 30. The count starts 10-13:
    # 10-13..16 (4), 10-19..23 (9), 10-26..30 (14), 11-02 (15) → due 11-02 17:30.
    clock.set(at(2026, 10, 13, 11, 0))
    with database.session() as session:
        clock_commands.record_correction(session, clock, case, at(2026, 10, 12, 16, 0), "补正材料已收到", HANDLER)
    # Counted from the close of 10-12: 10-13 09:00-11:00 = 2 h; left: 10-13 5 h and 14 working
    # days (10-14..16, 10-19..23, 10-26..30, 11-02) → 14 days 5 h (2 h + 14 d 5 h = 15 days).
    assert explanation(database, clock, case) == [
        ("2026-09-30 09:00", "收到申请，自次日起计时（办结时限 15个工作日，启动时给定）"),
        ("2026-10-09 10:00", "一次性告知补正材料，等待补正期间不计时"),
        ("2026-10-13 11:00", "补正材料于 2026-10-12 16:00 收到，自次日起重新计时（等待补正 2 个工作日 4 小时 30 分，陈静登记）"),
        (None, "办结时限 2026-11-02 17:30 前（已计 2 小时，剩余 14 个工作日 5 小时）"),
    ]


def test_a_case_without_a_clock_says_why(database, clock, timed):
    case = start(database, clock, "timed_case", {"applicant": "张三"})  # no duty, no limit
    assert explanation(database, clock, case) == [(None, "不计时：事项无时限且启动数据未给出时限")]
    with database.session() as session:
        view = clock_views.case_clock(session, case, clock)
    assert view["state"] == "none"
    assert view["explanation"] == [{"at": None, "text": "不计时：事项无时限且启动数据未给出时限"}]


# ---------------------------------------------------------------- the case page and the API
READER = Actor(username="s006", staff_id="S006", roles=frozenset({STAFF}), display_name="黄丽")
CHENJING = Actor(username="s003", staff_id="S003", roles=frozenset({STAFF}), display_name="陈静")


def test_case_page_and_api_show_the_clock_explained(client, database, clock, settings):
    load_demo(database, clock)
    # 最低生活保障审批 (MZ-GF-001): committed limit 15个工作日, received 09-30 09:00.
    with database.session() as session:
        instance = runtime.start_instance(session, clock, "time_limited_case",
                                          {"duty_code": "MZ-GF-001", "applicant": "张三"}, READER)
        instance_id = instance.id
        task_id = session.exec(select(WorkTask.id).where(WorkTask.instance_id == instance_id)).one()
    # 10-09 10:00 陈静 tells what is missing, 2 working days after receipt (within 5): the clock
    # stops. Counted until then from the close of 09-30: 10-08 7 h + 10-09 1 h = 1 day 1 h.
    clock.set(at(2026, 10, 9, 10, 0))
    with database.session() as session:
        runtime.complete_task(session, clock, task_id, {"decision": "notify_missing", "missing_materials": "收入证明"},
                              CHENJING)
    clock.set(at(2026, 10, 9, 10, 30))
    expected = [
        {"at": "2026-09-30 09:00", "text": "收到申请，自次日起计时（办结时限 15个工作日，承诺时限）"},
        {"at": "2026-10-09 10:00", "text": "一次性告知补正材料，等待补正期间不计时"},
        {"at": None, "text": "等待补正材料，计时暂停（自 2026-10-09 10:00 起，此前已计 1 个工作日 1 小时）；"
                             "补正材料收到后自次日起重新计算 15个工作日"},
    ]

    answer = client.get(f"/api/instances/{instance_id}/clock",
                        headers={"Authorization": f"Bearer {issue_token(settings, 's003')}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["explanation"] == expected

    sign_in(client, "s003")
    page = client.get(f"/cases/{instance_id}")
    assert page.status_code == 200
    section = page.text.split('id="clock-explanation"')[1].split("</section>")[0]
    assert "<h2>计时明细</h2>" in section
    for entry in expected:
        assert entry["text"] in section
        if entry["at"]:
            assert entry["at"] in section


# ---------------------------------------------------------------- dutyflow timeline
def test_timeline_command_prints_the_clock_explained(database, clock, timed, monkeypatch):
    monkeypatch.setenv("DUTYFLOW_DATABASE_URL", database.url)
    monkeypatch.setattr(console, "width", 250)
    # 5个工作日 from 09-30 09:00 (due 10-13 17:30), decided 10-09 10:00: counted from the close of
    # 09-30, 10-08 7 h + 10-09 1 h = 1 day 1 h, on time. A finished clock does not depend on the
    # moment the command runs (it reads the system clock).
    case = start(database, clock, "timed_case", {**MZ, "limit": "5个工作日"})
    clock.set(at(2026, 9, 30, 10, 0))
    complete(database, clock, case, "accept", {"complete": True})
    clock.set(at(2026, 10, 8, 9, 0))
    complete(database, clock, case, "review", {"expert": False})
    clock.set(at(2026, 10, 9, 10, 0))
    complete(database, clock, case, "decide", {"decision": "approve"})

    result = CliRunner().invoke(app, ["timeline", str(case)])
    assert result.exit_code == 0, result.output
    after = result.output.split("计时明细：\n")[1].splitlines()
    assert after == [
        "  2026-09-30 09:00  收到申请，自次日起计时（办结时限 5个工作日，启动时给定）",
        "                    办结于 2026-10-09 10:00，按时（办结时限 2026-10-13 17:30，共计 1 个工作日 1 小时）",
    ]
    # The explanation comes after the timeline's table.
    assert result.output.index("流程结束") < result.output.index("计时明细：")
