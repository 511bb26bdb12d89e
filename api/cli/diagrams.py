"""CLI commands: `dutyflow diagram sanding|overlaps|taxonomy`, SVG drawings of a catalog (a file or
a stored version). Apart from `dutyflow analyze` (api.cli.analysis), which needs neither graphviz
nor, for a YAML/JSON file, the database."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.analysis import errors
from api.cli.analysis_sources import load_source
from api.cli.app import app, console
from engine.analysis import diagrams
from engine.analysis.report import analyze
from engine.analysis.similarity import DEFAULT_THRESHOLD
from engine.config import get_settings

diagram_app = typer.Typer(help="绘制 SVG 图：三定结构、职责交叉关系、对象分类。", no_args_is_help=True)
app.add_typer(diagram_app, name="diagram")


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
    with errors():
        document = load_source(version)
        _write(diagrams.sanding_graph(document, department), out, f"sanding-{department}.svg")


@diagram_app.command("overlaps")
def diagram_overlaps(
    version: str | None = VersionOption,
    out: Path | None = OutOption,
    threshold: float = typer.Option(DEFAULT_THRESHOLD, "--threshold", min=0.01, max=1.0),
) -> None:
    """职责交叉关系图：部门为节点，交叉（实线）与疑似交叉（虚线）为边。"""
    with errors():
        document = load_source(version)
        report = analyze(document, threshold=threshold)
        _write(diagrams.overlap_graph(document, report), out, "overlaps.svg")


@diagram_app.command("taxonomy")
def diagram_taxonomy(version: str | None = VersionOption, out: Path | None = OutOption) -> None:
    """对象分类树，并标出各对象由哪些部门承担（红色：存在交叉）。"""
    with errors():
        document = load_source(version)
        _write(diagrams.taxonomy_graph(document, analyze(document)), out, "taxonomy.svg")
