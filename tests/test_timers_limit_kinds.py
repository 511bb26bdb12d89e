"""Issue 14 items 4 and 7: case clocks of duties whose limits real tables write as 即办, 无, months or
with a note, and yellow that never comes at the moment a clock starts. Expected moments are
worked out by hand from the calendar rules (docs/calendar.md); office hours 09:00–12:00 and
13:30–17:30 (7 hours a day)."""

from __future__ import annotations

from fractions import Fraction

import pytest
import yaml
from sqlalchemy import func, select

from engine.calendar.limits import read_limit
from engine.calendar.working import WorkingCalendar
from engine.models.runtime import WorkTask
from engine.models.timers import CaseDeadline, RuntimeTimer, StageDeadline
from engine.runtime.clocks import limits as clock_limits
from engine.runtime.clocks import views as clock_views
from engine.runtime.clocks import warnings as clock_warnings
from engine.runtime.clocks.arithmetic import WarningPolicy, compute_moments
from tests.timers_helpers import at, setup_catalog_and_processes, start

POLICY = WarningPolicy(days_before=1, fraction_used=Fraction(2, 3))

SAME_DAY = "MZ-QR-001"  # 行政确认, set to 即办
NO_LIMIT = "MZ-GF-001"  # 行政给付, set to 无
MONTH = "MZ-QR-002"  # 行政确认, set to 1个月 with a note


@pytest.fixture
def catalog_path(demo_catalog_path, tmp_path):
    data = yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8"))
    duties = {d["code"]: d for d in data["duties"]}
    duties[SAME_DAY]["statutory_limit"] = {"value": 1, "unit": "working_days"}
    duties[SAME_DAY]["committed_limit"] = {"unit": "same_day"}
    duties[NO_LIMIT]["statutory_limit"] = {"unit": "none"}
    duties[NO_LIMIT].pop("committed_limit", None)
    duties[MONTH]["statutory_limit"] = {"value": 1, "unit": "months", "note": "不含公示时间"}
    duties[MONTH].pop("committed_limit", None)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def processes(database, clock, catalog_path):
    setup_catalog_and_processes(database, clock, catalog_path, "timed_case")


def clock_of(database, clock, instance_id):
    with database.session() as session:
        return clock_views.case_clock(session, instance_id, clock)


def test_a_same_day_duty_is_due_at_the_close_of_the_receiving_day(database, clock, processes):
    clock.set(at(2026, 9, 30, 10, 0))
    case = start(database, clock, "timed_case", {"duty_code": SAME_DAY})
    view = clock_of(database, clock, case)
    assert (view["limit"], view["limit_source"]) == ("即办", "committed")
    assert view["due_at"] == at(2026, 9, 30, 17, 30).isoformat()
    # "One working day before" (09-29 17:30) is before the start; two thirds of the 6 office hours
    # from 10:00 to 17:30 (10–12, 13:30–17:30) are used at 15:30.
    assert view["yellow_at"] == at(2026, 9, 30, 15, 30).isoformat()
    assert view["state"] == "green"
    # In a same-day case the 受理 step (1个工作日 in the process) ends with the case, the same day.
    [stage] = view["stages"]
    assert (stage["limit"], stage["due_at"]) == ("即办", at(2026, 9, 30, 17, 30).isoformat())
    assert stage["yellow_at"] == at(2026, 9, 30, 15, 30).isoformat()
    clock.set(at(2026, 9, 30, 17, 30))
    assert clock_of(database, clock, case)["state"] == "red"


def test_a_duty_without_a_limit_gets_no_clock_and_no_warnings(database, clock, processes):
    clock.set(at(2026, 9, 30, 10, 0))
    case = start(database, clock, "timed_case", {"duty_code": NO_LIMIT})
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(CaseDeadline).where(CaseDeadline.instance_id == case)) == 0
        assert session.scalar(select(func.count()).select_from(RuntimeTimer).where(RuntimeTimer.instance_id == case)) == 0
        # The 受理 step is listed as a stage but has no due moment: no stage yellow or red either.
        stages = list(session.scalars(select(StageDeadline).where(StageDeadline.instance_id == case)))
        assert [(s.stage, s.limit_text, s.due_at) for s in stages] == [("受理", None, None)]
        task = session.scalars(select(WorkTask).where(WorkTask.instance_id == case)).one()
        # No deadline view: the task, inbox and case pages show 不计时 (api/templates/_deadline.html).
        assert clock_views.task_deadline(session, task, clock) is None
        # The clock view says so (state none) with the limit as the catalog writes it, not an error.
        view = clock_views.case_clock(session, case, clock)
        assert (view["state"], view["limit"], view["due_at"], view["stages"]) == ("none", "无", None, [])
    clock.set(at(2027, 9, 30, 10, 0))  # a year later: still nothing is overdue
    with database.session() as session:
        assert clock_warnings.open_warnings(session, clock) == []


def test_a_month_limit_started_on_january_31_ends_on_the_next_working_day_after_february_28(
        database, clock, processes):
    # 民法典 §201–203: 2027-01-31 + 1个月 → 02-31 does not exist → 02-28 (2027 is no leap year),
    # a Sunday → the next working day, Monday 2027-03-01, at the close of office. 2027 has no
    # official data yet: the due moment is provisional (暂定).
    clock.set(at(2027, 1, 31, 10, 0))
    case = start(database, clock, "timed_case", {"duty_code": MONTH})
    view = clock_of(database, clock, case)
    assert view["limit"] == "1个月（不含公示时间）"  # the note is kept with the clock and shown
    assert view["due_at"] == at(2027, 3, 1, 17, 30).isoformat()
    assert view["provisional"] is True


def test_a_one_working_day_step_is_not_yellow_when_it_arrives(database, clock, processes):
    # Started on 10-01 (National Day, a rest day): due at the close of the first working day,
    # 10-08. "One working day before" is 09-30 17:30, before the start, so it is not used; two
    # thirds of that day's 7 office hours (4h40) are used at 10-08 15:10. The old rule made the
    # step yellow at 10-01 10:00, the moment it arrived.
    clock.set(at(2026, 10, 1, 10, 0))
    case = start(database, clock, "timed_case", {"limit": "1个工作日", "unit_code": "MZ-SHJZ",
                                                 "department_code": "MZ"})
    view = clock_of(database, clock, case)
    assert view["due_at"] == at(2026, 10, 8, 17, 30).isoformat()
    assert view["yellow_at"] == at(2026, 10, 8, 15, 10).isoformat()
    assert view["state"] == "green"
    [stage] = view["stages"]
    assert stage["yellow_at"] == at(2026, 10, 8, 15, 10).isoformat() and stage["state"] == "green"


@pytest.mark.parametrize(("started", "limit", "due", "yellow"), [
    # 即办 at 10:00: 6 office hours left today, two thirds (4h) used at 15:30.
    (at(2026, 9, 30, 10, 0), "即办", at(2026, 9, 30, 17, 30), at(2026, 9, 30, 15, 30)),
    # 即办 at 16:30: one office hour left; two thirds (40 min) used at 17:10.
    (at(2026, 9, 30, 16, 30), "当场办结", at(2026, 9, 30, 17, 30), at(2026, 9, 30, 17, 10)),
    # 1个工作日 arriving at 17:45, after the close: due 10-08 17:30 (the holiday skipped); one
    # working day before (09-30 17:30) is before the start → two thirds of 7h from the close of
    # 09-30: 10-08 15:10.
    (at(2026, 9, 30, 17, 45), "1个工作日", at(2026, 10, 8, 17, 30), at(2026, 10, 8, 15, 10)),
    # 1个工作日 arriving at 10:00 on a working day keeps "one working day before due": 17:30 today,
    # 7h30 after the start, not at it.
    (at(2026, 9, 29, 10, 0), "1个工作日", at(2026, 9, 30, 17, 30), at(2026, 9, 29, 17, 30)),
    # A long limit is unchanged: 5 working days from 09-30 (acceptance test, 11:20 on 10-12).
    (at(2026, 9, 30, 9, 0), "5个工作日", at(2026, 10, 13, 17, 30), at(2026, 10, 12, 11, 20)),
])
def test_yellow_is_never_at_the_moment_a_clock_starts(started, limit, due, yellow):
    moments = compute_moments(WorkingCalendar(), started, read_limit(limit), policy=POLICY)
    assert (moments.due_at, moments.yellow_at) == (due, yellow)
    assert moments.yellow_at > started


def test_a_long_note_is_shortened_to_fit_the_clock_and_reads_back_to_the_same_limit():
    limit = read_limit("15个工作日（不含公示、听证、检验检测、专家评审及补正材料所需时间，法律法规另有规定的从其规定）")
    text = clock_limits.clock_limit_text(limit)
    assert len(text) <= clock_limits.LIMIT_TEXT_LENGTH
    assert text.startswith("15个工作日（不含公示、听证") and text.endswith("…）")
    again = read_limit(text)
    assert (again.kind, again.value) == (limit.kind, limit.value)
    # A §82 `20日` of a 行政许可 is kept as 20个工作日, so re-reading it without the category agrees.
    assert clock_limits.clock_limit_text(read_limit("20日", "行政许可")) == "20个工作日"


@pytest.mark.parametrize("written", ["/", "—", "不限", "无法定时限"])
def test_a_no_limit_text_in_the_start_data_gives_a_case_without_a_clock(database, clock, processes, written):
    clock.set(at(2026, 9, 30, 10, 0))
    case = start(database, clock, "timed_case", {"limit": written, "unit_code": "MZ-SHJZ", "department_code": "MZ"})
    view = clock_of(database, clock, case)
    # Every no-limit text means the same thing, 无; who answers for the case is still named.
    assert (view["state"], view["limit"], view["limit_source"]) == ("none", "无", "data")
    assert (view["unit_code"], view["department_code"], view["untimed_reason"]) == ("MZ-SHJZ", "MZ", "事项无法定时限")
    assert view["due_at"] is None and view["time_left_seconds"] is None
