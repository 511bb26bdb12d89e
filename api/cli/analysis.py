"""CLI commands: analysis (`dutyflow analyze`, `dutyflow diagram ...`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.app import app, console, err_console, fail, open_database
from engine.analysis import alerts, diagrams
from engine.analysis.findings import GAP_LABELS, OVERLAP_LABELS
from engine.analysis.report import AnalysisReport, analyze
from engine.analysis.similarity import DEFAULT_THRESHOLD
from engine.analysis.sources import load_version, read_catalog_file, resolve_version_id
from engine.catalog.document import CatalogDocument
from engine.clock import SystemClock
from engine.config import get_settings
from engine.errors import DutyflowError

# Below this many duties the analysis takes well under a second: no progress bar.
PROGRESS_FROM = 2000

diagram_app = typer.Typer(help="绘制 SVG 图：三定结构、职责交叉关系、对象分类。", no_args_is_help=True)
app.add_typer(diagram_app, name="diagram")


class Format(StrEnum):
    json = "json"
    table = "table"


def _load(source: str | None) -> CatalogDocument:
    """A file path is read by the importer; anything else names a stored version (default: newest)."""
    if source is not None and Path(source).exists():
        return read_catalog_file(Path(source))
    database = open_database()
    try:
        with database.session() as session:
            version_id = resolve_version_id(session, source)
            return load_version(session, version_id)
    finally:
        database.dispose()


@contextmanager
def _errors() -> Iterator[None]:
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


def _print_table(report: AnalysisReport, document: CatalogDocument) -> None:
    names = {d.code: d.name for d in document.departments}
    duties = document.duty_by_code()
    console.print(f"[bold]{report.region} 权责清单 {report.version}[/]：{len(document.duties)} 项事项")
    overlaps = Table(title=f"职责交叉（{len(report.overlaps)}）")
    for column in ("类型", "对象", "行为", "事项", "部门"):
        overlaps.add_column(column)
    for o in report.overlaps:
        overlaps.add_row(
            OVERLAP_LABELS[o.kind],
            o.object,
            o.action,
            "\n".join(f"{c} {duties[c].name}" for c in o.duties),
            "\n".join(names.get(c, c) for c in o.departments),
        )
    console.print(overlaps)
    suspected = Table(title=f"疑似职责交叉（{len(report.suspected_overlaps)}，阈值 {report.threshold:.2f}）")
    for column in ("相似度", "事项", "部门"):
        suspected.add_column(column)
    for s in sorted(report.suspected_overlaps, key=lambda s: -s.score):
        suspected.add_row(
            f"{s.score:.2f}",
            "\n".join(f"{c} {duties[c].name}" for c in s.duties),
            "\n".join(names.get(c, c) for c in s.departments),
        )
    console.print(suspected)
    gaps = Table(title=f"职责空缺（{len(report.gaps)}）")
    gaps.add_column("类型")
    gaps.add_column("编码")
    for g in report.gaps:
        gaps.add_row(GAP_LABELS[g.kind], g.ref)
    console.print(gaps)


@app.command("analyze")
def analyze_command(
    source: str = typer.Argument(..., metavar="FILE_OR_VERSION", help="清单文件路径，或已导入的版本（编号或版本号）"),
    format: Format = typer.Option(Format.table, "--format", "-f", help="json：规范格式的报告；table：表格"),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, "--threshold", min=0.01, max=1.0, help="名称相似度阈值（0..1）"),
) -> None:
    """分析权责清单：职责交叉、疑似交叉（名称相似）与职责空缺。"""
    with _errors():
        document = _load(source)
        show_progress = format == Format.table and len(document.duties) >= PROGRESS_FROM
        report = _run(document, threshold, show_progress)
    if format == Format.json:
        typer.echo(json.dumps(report.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        _print_table(report, document)


def _write(graph, out: Path | None, default_name: str) -> None:
    target = out or get_settings().diagrams_dir / default_name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(diagrams.render_svg(graph), encoding="utf-8")
    console.print(f"已生成 {target}")


VersionOption = typer.Option(None, "--version", "-v", help="清单版本（编号或版本号）或清单文件；默认最新版本")
OutOption = typer.Option(None, "--out", "-o", help="输出 SVG 文件；默认写入 diagrams/ 目录")


@diagram_app.command("sanding")
def diagram_sanding(
    department: str = typer.Argument(..., help="部门编码"),
    version: str | None = VersionOption,
    out: Path | None = OutOption,
) -> None:
    """某部门的三定结构：内设机构、岗位（在岗人员、B角）与岗位承担的事项。"""
    with _errors():
        document = _load(version)
        _write(diagrams.sanding_graph(document, department), out, f"sanding-{department}.svg")


@diagram_app.command("overlaps")
def diagram_overlaps(
    version: str | None = VersionOption,
    out: Path | None = OutOption,
    threshold: float = typer.Option(DEFAULT_THRESHOLD, "--threshold", min=0.01, max=1.0),
) -> None:
    """职责交叉关系图：部门为节点，交叉（实线）与疑似交叉（虚线）为边。"""
    with _errors():
        document = _load(version)
        report = analyze(document, threshold=threshold)
        _write(diagrams.overlap_graph(document, report), out, "overlaps.svg")


@diagram_app.command("taxonomy")
def diagram_taxonomy(version: str | None = VersionOption, out: Path | None = OutOption) -> None:
    """对象分类树，并标出各对象由哪些部门承担（红色：存在交叉）。"""
    with _errors():
        document = _load(version)
        _write(diagrams.taxonomy_graph(document, analyze(document)), out, "taxonomy.svg")


alerts_app = typer.Typer(help="协调人预警：查看与刷新。", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

STATUS_LABELS = {"open": "待处理", "acknowledged": "已确认", "resolved": "已办结", "closed": "已消除"}


@alerts_app.command("list")
def alerts_list(
    status: str | None = typer.Option(None, "--status", help="open / acknowledged / resolved / closed"),
    kind: str | None = typer.Option(None, "--kind", help="类型（taxonomy、post_vacant…）或类别（overlap、gap…）"),
    department: str | None = typer.Option(None, "--department", help="部门编码"),
) -> None:
    """列出预警。"""
    database = open_database()
    try:
        with _errors(), database.session() as session:
            found = alerts.list_alerts(session, status=status, kind=kind, department=department, limit=100_000)
    finally:
        database.dispose()
    table = Table(title=f"预警（{len(found)}）")
    for column in ("编号", "状态", "级别", "摘要"):
        table.add_column(column)
    for alert in found:
        table.add_row(str(alert.id), STATUS_LABELS.get(alert.status, alert.status), alert.severity, alert.summary)
    console.print(table)


@alerts_app.command("refresh")
def alerts_refresh(
    version: str | None = typer.Argument(None, help="清单版本（编号、版本号、current…）；默认现行版本"),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, "--threshold", min=0.01, max=1.0),
) -> None:
    """分析清单版本并刷新预警（含推诿检测）。"""
    clock = SystemClock()
    database = open_database()
    try:
        with _errors(), database.session() as session:
            result = alerts.refresh_alerts(session, resolve_version_id(session, version), clock.now(), threshold)
            runarounds = alerts.refresh_runaround_alerts(session, clock.now())
    finally:
        database.dispose()
    console.print(
        f"分析完成：新增 {len(result.created)} 条，保留 {len(result.kept)} 条，消除 {len(result.closed)} 条，"
        f"重新出现 {len(result.reopened)} 条；推诿预警新增 {len(runarounds.created)} 条"
    )
