"""CLI commands: 防篡改记录 (`dutyflow audit …`, docs/audit.md)."""

from __future__ import annotations

import typer
from rich.markup import escape

from api.cli.app import app, console, err_console
from api.cli.database import open_database
from engine.application import wire
from engine.audit import verify as verify_chain

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire

audit_app = typer.Typer(help="防篡改记录：办理时限记录、考评评分与结果的哈希链。", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(batch: int = typer.Option(1000, "--batch", min=1, max=100000, help="每批读取的链上记录条数")) -> None:
    """先把待封存的记录链入哈希链，再逐条核对哈希链和被记录的行：完整时退出码 0，发现改动时指出第一处并以 1 退出。"""
    database = open_database()
    with database.session() as session:
        report = verify_chain(session, batch=batch)
    if report.sealed:
        console.print(f"已先封存 {report.sealed} 条待封存记录", highlight=False, soft_wrap=True)
    if report.problem is None:
        console.print(f"完整：共 {report.links} 条记录，链头序号 {report.head_seq}，哈希 {report.head_hash}",
                      highlight=False, soft_wrap=True)
        return
    err_console.print(f"[bold red]已被改动：[/]{escape(report.problem.text())}", highlight=False, soft_wrap=True)
    console.print(f"第一处问题之前的 {report.links} 条记录完整（至序号 {report.head_seq}）", highlight=False,
                  soft_wrap=True)
    raise typer.Exit(1)
