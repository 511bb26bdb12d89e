"""CLI commands: processes — render diagrams of the BPMN files, refresh their BPMN-DI layout."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli.app import app, console, fail
from engine.application import wire
from engine.config import get_settings
from engine.errors import DutyflowError
from engine.runtime.bpmn_layout import with_diagram
from engine.runtime.diagram import render_directory, render_file

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire

processes_app = typer.Typer(help="效能制度流程（processes/*.bpmn）：生成流程图、重排 BPMN 图形布局。", no_args_is_help=True)
app.add_typer(processes_app, name="processes")


def _bpmn_files(source: Path, process_id: str | None) -> list[Path]:
    files = sorted(source.glob("*.bpmn"))
    if process_id is None:
        return files
    chosen = [f for f in files if f.stem == process_id]
    if not chosen:
        fail(f"找不到流程 '{process_id}'", [f"{source}: 没有 {process_id}.bpmn（可用：{', '.join(f.stem for f in files)}）"])
    return chosen


@processes_app.command("render")
def render_command(
    process_id: str | None = typer.Argument(None, help="流程编号，如 time_limited_case"),
    all_: bool = typer.Option(False, "--all", help="生成全部流程的流程图"),
    source: Path | None = typer.Option(None, "--source", help="BPMN 目录（默认 DUTYFLOW_PROCESSES_DIR）"),
    out: Path | None = typer.Option(None, "--out", help="输出目录（默认 DUTYFLOW_DIAGRAMS_DIR）"),
) -> None:
    """用 graphviz 生成流程图：diagrams/<流程编号>.svg（泳道为分组，中文标注）。"""
    settings = get_settings()
    source = source or settings.processes_dir
    out = out or settings.diagrams_dir
    if not all_ and process_id is None:
        fail("请给出流程编号或 --all")
    try:
        if all_:
            written = render_directory(source, out)
        else:
            out.mkdir(parents=True, exist_ok=True)
            written = []
            for path in _bpmn_files(source, process_id):
                pid, svg = render_file(path)
                (out / f"{pid}.svg").write_bytes(svg)
                written.append(out / f"{pid}.svg")
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    for path in written:
        console.print(f"已生成 {path}", highlight=False)


@processes_app.command("layout")
def layout_command(
    process_id: str | None = typer.Argument(None, help="流程编号；不给则处理全部"),
    source: Path | None = typer.Option(None, "--source", help="BPMN 目录（默认 DUTYFLOW_PROCESSES_DIR）"),
) -> None:
    """重新计算 BPMN 文件的图形布局（BPMNDiagram 部分），使其可在 bpmn.io / Camunda Modeler 中打开。"""
    source = source or get_settings().processes_dir
    for path in _bpmn_files(source, process_id):
        try:
            path.write_bytes(with_diagram(path.read_bytes()))
        except DutyflowError as exc:
            fail(exc.message, [f"{path.name}: {p}" for p in exc.problems])
        console.print(f"已重排 {path}", highlight=False)
