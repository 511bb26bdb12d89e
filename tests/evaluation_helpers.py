"""A computed 绩效考评 year of 市民政局 on the demo catalog, for the page, export and browser tests.

Built through engine.evaluation.service as the efficiency office (彭亮, s090), as
tests/test_evaluation_api.py does through the API: 常规工作 made a subjective leaf while the year is a
draft, every subjective leaf scored, 高效履职 computed from the record, one person punished.

Scores (unit: the same value on every subjective leaf outside 职能工作; 职能工作 by quarter, the
same value on each leaf of a quarter, so the quarter's score is that value):

  unit       base  Q1  Q2  Q3  Q4   职能工作 = mean of the quarters
  办公室       95  93  95  96  96   95
  社会救助科   80  70  75  85  90   80
  婚姻登记处   60  65  60  58  57   60
  养老服务科   92  90  92  92  94   92

高效履职 (objective): the one case (低保, 社会救助科, started 2026-09-30, due after the computation)
is not yet judged, so every unit's value is 100 (nothing judged → 100).
管理工作 = base × (20 + 20 + 40) % + 100 × 20 % = 0.8 base + 20.
Total = 职能工作 × 40 % + 管理工作 × 30 % + base × 10 % + base × 20 % = 0.4 F + 0.24 b + 6 + 0.3 b:
  办公室      0.4×95 + 0.24×95 + 6 + 0.3×95 = 38 + 22.8 + 6 + 28.5 = 95.30 → 优秀
  社会救助科  32 + 19.2 + 6 + 24 = 81.20 → 良好; 赵磊 (S005) punished → 达标 (downgrade)
  婚姻登记处  24 + 14.4 + 6 + 18 = 62.40 → 诫勉, 重点整改单位
  养老服务科  36.8 + 22.08 + 6 + 27.6 = 92.48 → 优秀
先进: 4 units → floor(1.2) = 1 place: 办公室 (95.30 > 92.48); 养老服务科 stays 优秀 without it.

Staff: 95 on every leaf (total 95.00, 优秀) except 周勇 (S007) 60 (诫勉). 赵磊 (S005) punished →
诫勉; 黄丽 (S006) of 婚姻登记处 (诫勉) → 良好. 优秀个人人选: 王芳, 刘洋, 陈静, 杨帆.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.auth.roles import Actor
from engine.clock import ControlledClock
from engine.config import PROJECT_ROOT
from engine.db import Database
from engine.errors import NotFound
from engine.evaluation import scheme, service
from engine.models.evaluation import EvaluationScore
from engine.runtime import service as runtime
from engine.runtime.definitions import latest_definition
from engine.runtime.deployment import deploy_directory
from tests.browser_helpers import load_demo
from tests.db_helpers import directory_key, prepared

OFFICE = Actor("s090", "S090", frozenset({"staff", "efficiency_office"}), "彭亮")
BASE = {"MZ-BGS": 95, "MZ-SHJZ": 80, "MZ-HYDJ": 60, "MZ-YLFW": 92}
QUARTERS = {"MZ-BGS": (93, 95, 96, 96), "MZ-SHJZ": (70, 75, 85, 90), "MZ-HYDJ": (65, 60, 58, 57),
            "MZ-YLFW": (90, 92, 92, 94)}
STAFF = {"S001": 95, "S002": 95, "S003": 95, "S004": 95, "S005": 95, "S006": 95, "S007": 60}


def routine_subjective(tree: list[dict]) -> list[dict]:
    for node in tree:
        if node["code"].endswith(".ROUTINE"):
            node["kind"], node["formula"] = "subjective", None
        routine_subjective(node["children"])
    return tree


def unit_value(code: str, leaf: scheme.Node, path: tuple[scheme.Node, ...]) -> int:
    quarter = scheme.quarter_of(leaf, path)
    return QUARTERS[code][quarter - 1] if quarter else BASE[code]


def create_year(database: Database, clock: ControlledClock, *, compute: bool = True) -> tuple[int, int]:
    """The year (opened, scored and, by default, computed); returns (year id, the case's id).
    Deploys processes/ first where the app has not (a browser site is prepared before it starts).
    Built once per process, database and starting state, its rows copied in afterwards
    (tests.db_helpers.prepared: ~0.3 s of CPU a year); the clock ends where the build leaves it."""
    start = clock.now()

    def build() -> tuple[int, int]:
        with database.session() as session:
            try:
                latest_definition(session, "time_limited_case")
            except NotFound:
                deploy_directory(session, clock, PROJECT_ROOT / "processes", Actor("admin", roles=frozenset({"admin"})))
            case = runtime.start_instance(session, clock, "time_limited_case", {"duty_code": "MZ-GF-001", "applicant": "张三"},
                                          Actor("s003", "S003", frozenset({"staff"})))
            case_id = case.id
            year = service.create_year(session, OFFICE, 2026, clock.now(), department="MZ")
            tree = routine_subjective(scheme.tree_to_json(service.tree(session, year.id, "unit")))
            service.replace_tree(session, OFFICE, year.id, "unit", tree)
            service.save_plan(session, OFFICE, year.id, "MZ-SHJZ", "全年低保审批按时办结率 100%\n季度报告按时报送", clock.now())
            service.open_year(session, OFFICE, year.id, clock.now())
            entries = [service.ScoreEntry("unit", code, leaf.code, unit_value(code, leaf, path))
                       for code in BASE for leaf, path in scheme.leaves(service.tree(session, year.id, "unit"))
                       if leaf.kind == "subjective"]
            entries += [service.ScoreEntry("staff", code, leaf.code, value)
                        for code, value in STAFF.items() for leaf, _ in scheme.leaves(service.tree(session, year.id, "staff"))]
            service.enter_scores(session, OFFICE, year.id, entries, clock.now())
            service.record_sanction(session, OFFICE, year.id, "punished", "S005", "违反工作纪律受到警告处分", clock.now())
            if compute:
                clock.advance(minutes=5)
                service.compute_results(session, OFFICE, year.id, clock.now())
            return year.id, case_id

    # routine_subjective in the key: a test may replace it (hostile indicator names) to build a year of its own.
    key = ("evaluation-year", compute, start, directory_key(PROJECT_ROOT / "processes"), routine_subjective)
    made = prepared(database, key, build)
    if compute:
        clock.set(start + timedelta(minutes=5))  # as build() advances it before computing
    return made


def open_demo_year(database: Database, clock: ControlledClock) -> int:
    """The demo catalog loaded and 市民政局's 2026 year created and opened by the efficiency office:
    the year the score-entry tests enter (or fail to enter) a score into."""
    load_demo(database, clock)
    with database.session() as session:
        year = service.create_year(session, OFFICE, 2026, clock.now(), department="MZ")
        service.open_year(session, OFFICE, year.id, clock.now())
        return year.id


def no_score_stored(database: Database) -> bool:
    with database.session() as session:
        return session.scalars(select(EvaluationScore)).first() is None
