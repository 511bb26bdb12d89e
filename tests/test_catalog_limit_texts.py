"""Issue 14 items 4 and 5: limit texts as real published tables write them import, keep what they
mean (即办, 无, months, notes, §82 working days of a 行政许可) through the database and the workbook,
and a committed limit is compared with the statutory one like with like."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from engine.catalog import service as catalog
from engine.catalog.document import LimitUnit, TimeLimit
from engine.catalog.excel import write_xlsx
from engine.catalog.io import read_catalog
from engine.errors import InvalidInput

REAL_TABLE = Path(__file__).resolve().parent / "data" / "sichuan_guangan_guanganqu_service_items_sample.csv"

# (法定时限, 承诺时限) as the issue lists them, and what each must mean.
TEXTS: list[tuple[str, dict | None]] = [
    ("即办", {"unit": "same_day"}),
    ("即办件", {"unit": "same_day"}),
    ("当场办结", {"unit": "same_day"}),
    ("立即办结", {"unit": "same_day"}),
    ("0个工作日", {"unit": "same_day"}),  # nothing to count: by the close of the receiving day
    ("无", {"unit": "none"}),
    ("/", {"unit": "none"}),
    ("—", {"unit": "none"}),
    ("-", {"unit": "none"}),
    ("无法定时限", {"unit": "none"}),
    ("不限", {"unit": "none"}),
    ("1个月", {"unit": "months", "value": 1}),
    ("3个月", {"unit": "months", "value": 3}),
    ("15个工作日（不含公示时间）", {"unit": "working_days", "value": 15, "note": "不含公示时间"}),
    ("10个工作日(含)", {"unit": "working_days", "value": 10, "note": "含"}),
    ("", None),  # an empty cell: no limit recorded, which is not 无
]


def _real_rows(count: int) -> tuple[list[str], list[list[str]]]:
    """The header and the first rows of the real district table (tests/data), as published."""
    with REAL_TABLE.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:count + 1]


def _table(limits: list[tuple[str, str]], categories: list[str] | None = None) -> bytes:
    """The real table's header with 法定时限/承诺时限 added, one real row per pair of limits."""
    header, rows = _real_rows(len(limits))
    type_column = header.index("事项类型")
    code_column = header.index("事项类型代码")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*header, "法定时限", "承诺时限"])
    for i, (row, (statutory, committed)) in enumerate(zip(rows, limits, strict=True)):
        row = list(row)
        if categories:
            row[type_column], row[code_column] = categories[i], ""
        writer.writerow([*row, statutory, committed])
    return out.getvalue().encode("utf-8")


def _limits(document) -> list[tuple[dict | None, dict | None]]:
    def plain(limit: TimeLimit | None):
        return None if limit is None else limit.model_dump(mode="json", exclude_none=True)

    return [(plain(d.statutory_limit), plain(d.committed_limit)) for d in document.duties]


def test_every_limit_text_of_real_tables_imports_from_a_published_csv():
    # Each text once as the statutory limit and once as the committed one (with an empty
    # statutory cell, so the comparison of the two does not come into it).
    limits = [(text, "") for text, _ in TEXTS] + [("", text) for text, _ in TEXTS]
    document = read_catalog(_table(limits), "广安区权责清单2026.csv")
    expected = [(meaning, None) for _, meaning in TEXTS] + [(None, meaning) for _, meaning in TEXTS]
    assert _limits(document) == expected


def test_limits_keep_their_kind_and_note_in_the_database(database, clock):
    limits = [(text, "") for text, _ in TEXTS]
    document = read_catalog(_table(limits), "广安区权责清单2026.csv")
    with database.session() as session:
        version = catalog.import_catalog(session, document, "test", clock.now())
        stored = catalog.load_document(session, version.id)
    assert _limits(stored) == [(meaning, None) for _, meaning in TEXTS]


def test_a_bare_day_count_is_working_days_for_a_licensing_duty_only():
    """行政许可法 §82: a 行政许可's `20日` is 20 working days; written `20个自然日` it stays calendar days."""
    limits = [("20日", ""), ("20个自然日", ""), ("20日", "")]
    document = read_catalog(_table(limits, ["行政许可", "行政许可", "行政检查"]), "广安区权责清单2026.csv")
    assert _limits(document) == [
        ({"value": 20, "unit": "working_days"}, None),
        ({"value": 20, "unit": "calendar_days"}, None),
        ({"value": 20, "unit": "calendar_days"}, None),
    ]


def test_committed_limits_are_compared_with_statutory_ones_like_with_like():
    # 25日 against 20个工作日 for a 行政检查: 25 calendar days end before 20 working days (four
    # whole weeks at least) at every start — accepted although 25 > 20.
    document = read_catalog(_table([("20个工作日", "25日")], ["行政检查"]), "t.csv")
    assert _limits(document) == [({"value": 20, "unit": "working_days"}, {"value": 25, "unit": "calendar_days"})]
    # 30日 against 20个工作日: from 2026-01-04 (a working Sunday of 2026) 20 working days end on
    # Friday 01-30, 30 days on Tuesday 02-03 — refused, placed at the row.
    with pytest.raises(InvalidInput) as refused:
        read_catalog(_table([("20个工作日", "30日")], ["行政检查"]), "t.csv")
    [problem] = refused.value.problems
    assert problem.startswith("CSV 第2行（duties[0].committed_limit）: ") and "承诺时限 30个自然日 长于法定时限 20个工作日" in problem
    assert "2026-01-04 受理，承诺时限至 2026-02-03 17:30，法定时限至 2026-01-30 17:30" in problem
    # The same 25日 on a 行政许可 is 25 working days (§82): longer than 20 — refused. From
    # 2026-01-04: 20 working days end 01-30, 25 end Friday 02-06.
    with pytest.raises(InvalidInput) as refused:
        read_catalog(_table([("20个工作日", "25日")], ["行政许可"]), "t.csv")
    [problem] = refused.value.problems
    assert "承诺时限 25个工作日 长于法定时限 20个工作日" in problem and "2026-02-06 17:30" in problem


def test_an_unreadable_limit_is_an_error_at_its_row_and_column():
    with pytest.raises(InvalidInput) as refused:
        read_catalog(_table([("5个工作日", ""), ("5周", ""), ("", "十五个工作日（含")]), "t.csv")
    problems = refused.value.problems
    assert len(problems) == 2
    # Row 3 of the file is the second data row; the column is named.
    assert problems[0].startswith("CSV 第3行 法定时限: 无法识别的时限 '5周'：应写作“5个工作日”")
    assert problems[1].startswith("CSV 第4行 承诺时限: 无法识别的时限 '十五个工作日（含'：括号不成对")


def test_every_limit_reads_back_the_same_from_an_exported_workbook(demo_catalog_path):
    document = read_catalog(demo_catalog_path)
    duties = document.duties
    # A 行政许可 with calendar days must not come back as working days (§82) from a bare `20日`.
    licensing = next(d for d in duties if d.category == "行政许可")
    kinds = [
        TimeLimit(unit=LimitUnit.same_day),
        TimeLimit(unit=LimitUnit.none),
        TimeLimit(value=1, unit=LimitUnit.months),
        TimeLimit(value=15, unit=LimitUnit.working_days, note="不含公示时间"),
        TimeLimit(value=4, unit=LimitUnit.hours),
    ]
    licensing.statutory_limit = TimeLimit(value=30, unit=LimitUnit.calendar_days)
    licensing.committed_limit = TimeLimit(value=20, unit=LimitUnit.calendar_days)
    others = [d for d in duties if d is not licensing]
    for duty, limit in zip(others, kinds, strict=False):
        duty.statutory_limit, duty.committed_limit = TimeLimit(unit=LimitUnit.none), limit
    again = read_catalog(write_xlsx(document), "demo.xlsx")
    assert _limits(again) == _limits(document)
    assert again.duty_by_code()[licensing.code].committed_limit == TimeLimit(value=20, unit="calendar_days")


def test_a_limit_model_needs_a_value_exactly_when_it_counts():
    TimeLimit.model_validate({"value": 20, "unit": "working_days"})  # the format's {value, unit} stays valid
    for bad in ({"unit": "working_days"}, {"unit": "months"}, {"value": 1, "unit": "same_day"},
                {"value": 3, "unit": "none"}):
        with pytest.raises(ValueError):
            TimeLimit.model_validate(bad)


def test_the_adjustment_notes_write_every_kind_of_limit_as_the_catalog_does():
    # 调整说明 (diff) used a three-unit table: a 月 limit was a KeyError (500), 即办/无 raw dicts.
    from engine.catalog.diff import render_value

    assert render_value({"value": 1, "unit": "months"}) == "1个月"
    assert render_value({"unit": "same_day"}) == "即办"
    assert render_value({"unit": "none"}) == "无"
    assert render_value({"value": 15, "unit": "working_days", "note": "不含公示时间"}) == "15个工作日（不含公示时间）"
