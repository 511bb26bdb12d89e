"""CLI command: `dutyflow analyze`; the diagrams are api.cli.diagrams, the alerts api.cli.alerts.

`dutyflow analyze FILE.json` (or .yaml) is the path the time aims of issue 11 item 6 are set on,
start-up included: this module imports only what it needs — the interchange reader, the
analysis, the report's labels. A table (xlsx, csv) or a stored version is read through
api.cli.analysis_sources, loaded only for such a run (api.cli.app.load): openpyxl, the settings,
SQLAlchemy's engine, the tables and Alembic take longer to import than analysing 20,000 duties.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.app import app, collection_paused, console, err_console, fail, load
from engine.analysis.findings import CATEGORY_LABELS, GAP, GAP_LABELS, OVERLAP_LABELS, STAFFING, gap_category
from engine.analysis.report import AnalysisReport, analyze
from engine.analysis.similarity import DEFAULT_THRESHOLD
from engine.catalog.document import CatalogDocument
from engine.catalog.yaml_json import INTERCHANGE_FORMATS, read_interchange_catalog
from engine.errors import DutyflowError, NotFound

if TYPE_CHECKING:  # a type only: the preview is made in api.cli.analysis_sources, with the database
    from engine.analysis.preview import Preview

# Below this many duties the analysis takes well under a second: no progress bar.
PROGRESS_FROM = 2000

# Where a catalog that is not a YAML/JSON file is read (loaded only for such a run, see above).
OTHER_SOURCES = "api.cli.analysis_sources"


class Format(StrEnum):
    json = "json"
    table = "table"


def read_catalog_file(path: Path) -> CatalogDocument:
    """A catalog file read and validated as the importer reads it (YAML, JSON, xlsx, CSV)."""
    if not path.is_file():
        raise NotFound(f"文件 {path} 不存在", [f"path: {path}"])
    if path.suffix.lower() in INTERCHANGE_FORMATS:
        return read_interchange_catalog(path)
    return load(OTHER_SOURCES).read_table_file(path)


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except DutyflowError as exc:
        fail(exc.message, exc.problems)


def _run(document: CatalogDocument, threshold: float, show_progress: bool) -> AnalysisReport:
    if not show_progress:
        return analyze(document, threshold=threshold)
    columns = (TextColumn("比对事项名称"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("similarity", total=len(document.duties))
        return analyze(document, threshold=threshold, progress=lambda done, total: bar.update(task, completed=done))


def _duty_rows(table: Table, lead: list[str], codes: tuple[str, ...], document: CatalogDocument) -> None:
    """One line per duty with its OWN department (the finding's fields on its first line): a
    finding's department list is sorted apart from its duties, so printing the two lists side by
    side paired items with the wrong department."""
    names = {d.code: d.name for d in document.departments}
    duties = document.duty_by_code()
    for index, code in enumerate(codes):
        duty = duties.get(code)
        department = names.get(duty.department, duty.department) if duty else ""
        first = lead if index == 0 else [""] * len(lead)
        table.add_row(*first, f"{code} {duty.name if duty else ''}", department, end_section=index == len(codes) - 1)


def _print_table(report: AnalysisReport, document: CatalogDocument) -> None:
    console.print(f"[bold]{report.region} 权责清单 {report.version}[/]：{len(document.duties)} 项事项", highlight=False)
    overlaps = Table(title=f"职责交叉（{len(report.overlaps)}）")
    for column in ("类型", "对象", "行为", "事项", "部门"):
        overlaps.add_column(column, overflow="fold")
    for o in report.overlaps:
        _duty_rows(overlaps, [OVERLAP_LABELS[o.kind], o.object, o.action], o.duties, document)
    console.print(overlaps)
    suspected = Table(title=f"疑似职责交叉（{len(report.suspected_overlaps)}，阈值 {report.threshold:.2f}）")
    for column in ("相似度", "理由", "事项", "部门"):
        suspected.add_column(column, overflow="fold")
    for s in sorted(report.suspected_overlaps, key=lambda s: (-s.score, s.duties)):
        _duty_rows(suspected, [f"{s.score:.2f}", "\n".join(s.reasons)], s.duties, document)
    console.print(suspected)
    boundaries = Table(title=f"审管衔接（{len(report.boundaries)}）",
                       caption="审批局与行业主管部门按环节分担同一许可：请核对衔接，不是重复")
    for column in ("相似度", "理由", "事项", "部门"):
        boundaries.add_column(column, overflow="fold")
    for b in sorted(report.boundaries, key=lambda b: (-b.score, b.duties)):
        _duty_rows(boundaries, [f"{b.score:.2f}", "\n".join(b.reasons)], b.duties, document)
    console.print(boundaries)
    names = {d.code: d.name for d in document.departments}
    # 职责空缺 and 编制与岗位 (vacant posts, no B角, over quota) apart, as on the dashboard.
    for category in (GAP, STAFFING):
        found = [g for g in report.gaps if gap_category(g.kind) == category]
        gaps = Table(title=f"{CATEGORY_LABELS[category]}（{len(found)}）")
        gaps.add_column("类型")
        gaps.add_column("编码")
        gaps.add_column("事项数")
        for g in found:
            ref = f"{g.ref} {names[g.ref]}" if g.ref in names else g.ref
            gaps.add_row(GAP_LABELS[g.kind], ref, str(g.count) if g.count is not None else "")
        console.print(gaps)


def _print_preview(preview: Preview, version: str) -> None:
    console.print(
        f"预览：版本 {version} 不是 {preview.region} 的现行版本，本次分析不新增、不消除、不改指任何预警。"
        f"若发布，{preview.region} 的预警将新增 {len(preview.new)} 条、保留 {len(preview.standing)} 条、"
        f"消除 {len(preview.gone)} 条。",
        highlight=False,
        soft_wrap=True,  # one line, so the counts can be found (grep) in the output
    )


@app.command("analyze")
def analyze_command(
    source: str = typer.Argument(..., metavar="FILE_OR_VERSION", help="清单文件路径，或已导入的版本（编号或版本号）"),
    format: Format = typer.Option(Format.table, "--format", "-f", help="json：规范格式的报告；table：表格"),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, "--threshold", min=0.01, max=1.0, help="名称相似度阈值（0..1）"),
) -> None:
    """分析权责清单：职责交叉、疑似交叉（名称相似）、职责空缺与编制岗位问题。"""
    preview = None
    with errors(), collection_paused():
        if Path(source).exists():
            document = read_catalog_file(Path(source))
            show_progress = format == Format.table and len(document.duties) >= PROGRESS_FROM
            report = _run(document, threshold, show_progress)
        else:
            document, report, preview, version = load(OTHER_SOURCES).analyze_stored(source, threshold)
    if format == Format.json:
        typer.echo(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2))
        if preview is not None:
            err_console.print(f"（预览：版本 {version} 不是现行版本，未改动任何预警）", highlight=False)
    else:
        _print_table(report, document)
        if preview is not None:
            _print_preview(preview, version)
