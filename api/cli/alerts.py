"""CLI commands: coordinator alerts (`dutyflow alerts list`, `dutyflow alerts refresh`)."""

from __future__ import annotations

import typer
from rich.table import Table

from api.cli.analysis import errors
from api.cli.app import app, cell_text, console
from api.cli.database import open_database
from api.labels import severity_label
from engine.analysis import alerts
from engine.analysis.similarity import DEFAULT_THRESHOLD
from engine.analysis.sources import resolve_version_id
from engine.application import wire
from engine.clock import SystemClock

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup), as for
# every command before the commands were loaded lazily; the analysis commands (api.cli.analysis)
# fire no hook and leave the engine's upper packages unloaded.
prepare = wire

alerts_app = typer.Typer(help="协调人预警：查看与刷新。", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

STATUS_LABELS = {"open": "待处理", "acknowledged": "已确认", "resolved": "已办结", "closed": "已消除"}


@alerts_app.command("list")
def alerts_list(
    status: str | None = typer.Option(None, "--status", help="open / acknowledged / resolved / closed"),
    kind: str | None = typer.Option(
        None, "--kind", help="类型（taxonomy、post_vacant…）或类别（overlap、gap…）"
    ),
    department: str | None = typer.Option(None, "--department", help="部门编码"),
) -> None:
    """列出预警。"""
    database = open_database()
    try:
        with errors(), database.session() as session:
            found = alerts.list_alerts(
                session, status=status, kind=kind, department=department, limit=100_000
            )
    finally:
        database.dispose()
    table = Table(title=f"预警（{len(found)}）")
    table.add_column("编号", no_wrap=True, justify="right")
    table.add_column("状态", no_wrap=True)
    table.add_column("级别", no_wrap=True)
    table.add_column(
        "摘要", overflow="fold", ratio=1
    )  # Chinese text wraps at the width, codes in it are not cut
    for alert in found:
        table.add_row(
            str(alert.id),
            STATUS_LABELS.get(alert.status, alert.status),
            severity_label(alert.severity),
            cell_text(alert.summary),
        )
    console.print(table)


@alerts_app.command("refresh")
def alerts_refresh(
    version: str | None = typer.Argument(
        None, help="清单版本（编号、版本号…），须为其区划的现行版本；默认各区划的现行版本"
    ),
    region: str | None = typer.Option(None, "--region", help="只刷新这个区划"),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, "--threshold", min=0.01, max=1.0),
) -> None:
    """分析各区划的现行版本（或给出的现行版本）并刷新预警（含推诿检测）；草稿不产生预警。"""
    clock = SystemClock()
    database = open_database()
    try:
        with errors(), database.session() as session:
            if version is None:
                results = alerts.refresh_in_force(session, clock.now(), region=region, threshold=threshold)
            else:
                version_id = resolve_version_id(session, version, region)
                results = [alerts.refresh_alerts(session, version_id, clock.now(), threshold)]
            runarounds = alerts.refresh_runaround_alerts(session, clock.now())
    finally:
        database.dispose()
    for result in results:
        console.print(
            f"{result.report.region}：新增 {len(result.created)} 条，保留 {len(result.kept)} 条，"
            f"消除 {len(result.closed)} 条，重新出现 {len(result.reopened)} 条",
            highlight=False,
        )
    if not results:
        console.print("没有已发布的清单版本：预警只跟随各区划的现行版本。", highlight=False)
    console.print(f"分析完成；推诿预警新增 {len(runarounds.created)} 条", highlight=False)
