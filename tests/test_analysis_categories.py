"""Alert categories of the gaps (issue 13): 超编 and 岗位空缺 are not 职责空缺.

A 职责空缺 is a duty nobody carries: a mandate without a duty, a duty without a unit or a post, a
catalog without 三定 data. A vacant post (岗位空缺), a post without a B角 and a unit over its
quota (超编) leave every duty carried; they are about who is in post, category 编制与岗位
(`staffing`). Before, all seven kinds were stored and listed under 职责空缺.
"""

from __future__ import annotations

import sqlalchemy as sa
import yaml
from alembic import command

from engine.analysis import alerts
from engine.analysis.findings import CATEGORY_LABELS, Finding, gap_category, report_findings
from engine.analysis.report import analyze
from engine.catalog.document import CatalogDocument
from engine.migrate import alembic_config


def _demo(path) -> CatalogDocument:
    return CatalogDocument.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_each_gap_kind_has_the_category_of_what_it_is_about():
    duties_not_carried = ("mandate_uncovered", "duty_without_unit", "duty_without_post", "no_sanding")
    posts_and_quota = ("post_vacant", "post_without_backup", "over_quota")
    assert {kind: gap_category(kind) for kind in duties_not_carried} == dict.fromkeys(
        duties_not_carried, "gap"
    )
    assert {kind: gap_category(kind) for kind in posts_and_quota} == dict.fromkeys(
        posts_and_quota, "staffing"
    )
    assert CATEGORY_LABELS["gap"] == "职责空缺" and CATEGORY_LABELS["staffing"] == "编制与岗位"


def test_demo_findings_put_vacant_post_and_over_quota_apart_from_duty_gaps(demo_catalog_path):
    # The demo's seven gaps (tests/test_analysis_report.py lists them): GGZY-FW-001 has neither
    # unit nor post and M-MZ-DM is carried by no duty — three duties not carried; MZ-SHJZ holds
    # more people than its quota, MZ-YLFW-01 has nobody and no B角, AJ-WH-01 has no B角 — four
    # staffing findings. Keys keep their "gap:" prefix (an alert keeps its identity).
    document = _demo(demo_catalog_path)
    findings: list[Finding] = report_findings(analyze(document), document)
    by_category = {
        category: sorted(f.key for f in findings if f.category == category)
        for category in ("gap", "staffing")
    }
    assert by_category == {
        "gap": [
            "gap:duty_without_post:GGZY-FW-001",
            "gap:duty_without_unit:GGZY-FW-001",
            "gap:mandate_uncovered:M-MZ-DM",
        ],
        "staffing": [
            "gap:over_quota:MZ-SHJZ",
            "gap:post_vacant:MZ-YLFW-01",
            "gap:post_without_backup:AJ-WH-01",
            "gap:post_without_backup:MZ-YLFW-01",
        ],
    }


def test_stored_alerts_filter_by_the_new_category(database, clock, demo_catalog_path):
    with database.session() as session:
        alerts.refresh_alerts_for_document(session, _demo(demo_catalog_path), clock.now(), version_id=1)
    with database.session() as session:
        mz_staffing = {
            a.finding_key for a in alerts.list_alerts(session, department="MZ", category="staffing")
        }
        mz_gaps = {a.finding_key for a in alerts.list_alerts(session, department="MZ", category="gap")}
        counts = {
            (category, kind): n for category, kind, n in alerts.counts_by_kind(session, alerts.AlertFilter())
        }
    # 民政局 (MZ) has only staffing findings; its mandate M-MZ-DM names no department.
    assert mz_staffing == {
        "gap:over_quota:MZ-SHJZ",
        "gap:post_vacant:MZ-YLFW-01",
        "gap:post_without_backup:MZ-YLFW-01",
    }
    assert mz_gaps == set()
    assert counts[("staffing", "post_vacant")] == 1 and counts[("staffing", "over_quota")] == 1
    assert counts[("staffing", "post_without_backup")] == 2
    assert not any(category == "gap" and kind in ("post_vacant", "over_quota") for category, kind in counts)


def test_migration_moves_stored_rows_to_the_new_category_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0015")
    engine = sa.create_engine(url)
    rows = [
        ("post_vacant", "gap"),
        ("over_quota", "gap"),
        ("post_without_backup", "gap"),
        ("no_sanding", "gap"),
        ("taxonomy", "overlap"),
    ]
    with engine.begin() as connection:
        for number, (kind, category) in enumerate(rows):
            connection.execute(
                sa.text(
                    "INSERT INTO analysis_alert (scope, finding_key, category, kind, severity, summary, payload,"
                    " departments, status, first_seen_at, last_seen_at, reopened_count)"
                    " VALUES ('s', :key, :category, :kind, 'medium', '摘要', '{}', ',', 'closed',"
                    " '2026-09-30 01:00:00', '2026-09-30 01:00:00', 0)"
                ),
                {"key": f"k{number}", "category": category, "kind": kind},
            )

    def categories() -> dict[str, str]:
        with engine.connect() as connection:
            return dict(connection.execute(sa.text("SELECT kind, category FROM analysis_alert")).all())

    command.upgrade(config, "0016")
    # Closed rows the analysis will not see again move too; duty gaps and overlaps stay.
    assert categories() == {
        "post_vacant": "staffing",
        "over_quota": "staffing",
        "post_without_backup": "staffing",
        "no_sanding": "gap",
        "taxonomy": "overlap",
    }
    command.downgrade(config, "0015")
    assert categories() == {kind: category for kind, category in rows}
    engine.dispose()
