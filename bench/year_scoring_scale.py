"""Scoring a department's year at 1,000,000 cases, as the 效能办's 计算结果 does: a year for MZ made
and opened, every entered (subjective) leaf of every unit and person given 80 in one call, then
`service.compute_results` timed (the objective indicators of every unit, totals, grades, results
written). Rolled back at the end. python bench/year_scoring_scale.py URL
(a database kept by bench/metrics_scale.py --keep; docs/benchmarks.md).
"""
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.application import wire  # noqa: E402
from engine.auth.roles import Actor  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.evaluation import scheme, service  # noqa: E402
from engine.models.evaluation import OBJECTIVE, SUBJECT_STAFF, SUBJECT_UNIT  # noqa: E402

wire()
OFFICE = Actor("s090", "S090", frozenset({"staff", "efficiency_office"}), "彭亮")
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
database = Database(sys.argv[1])
with database.session() as session:
    year = service.create_year(session, OFFICE, 2026, NOW, department="MZ")
    service.open_year(session, OFFICE, year.id, NOW)
    entries = []
    for subject in (SUBJECT_UNIT, SUBJECT_STAFF):
        leaves = [node for node, _ in scheme.leaves(service.tree(session, year.id, subject)) if node.kind != OBJECTIVE]
        for person in service.subjects(session, year.id, subject):
            entries += [service.ScoreEntry(subject, person.code, node.code, 80, None) for node in leaves]
    service.enter_scores(session, OFFICE, year.id, entries, NOW)
    session.flush()
    wall, cpu = time.perf_counter(), time.process_time()
    decision = service.compute_results(session, OFFICE, year.id, NOW)
    session.flush()
    print(f"{len(decision.units)} units, {len(decision.staff)} staff, {len(entries)} entered scores: "
          f"compute_results {time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU (this process)")
    session.rollback()
