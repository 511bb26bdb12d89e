"""CLI commands: accounts (`dutyflow users …`) for the office's administrator — provision the
catalog's staff, list who holds which role, reset a password, disable and enable
(engine.auth.accounts). Whoever runs them holds the database, so they act as the system
administrator; one-time passwords are printed once and stored only as hashes."""

from __future__ import annotations

import typer
from rich.table import Table

from api.cli.app import app, cell_text, console, fail
from api.cli.database import open_database
from engine.application import wire
from engine.auth import accounts
from engine.auth.roles import ADMIN, Actor
from engine.clock import SystemClock
from engine.errors import DutyflowError

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire

users_app = typer.Typer(help="账号管理：按清单开设账号、查看角色、重置密码、停用与启用。", no_args_is_help=True)
app.add_typer(users_app, name="users")

# The command line acts as the system administrator (module docstring).
OPERATOR = Actor(username="命令行管理员", roles=frozenset({ADMIN}), display_name="命令行管理员")
USERNAME = typer.Argument(..., help="用户名（工号小写，如 s003）")


def _passwords(issued: list[tuple[str, str, str]]) -> None:
    table = Table(title="一次性密码（只显示这一次，请转交本人；首次登录须修改）", title_justify="left")
    for column in ("姓名", "用户名", "一次性密码"):
        table.add_column(column, no_wrap=True)
    for username, name, password in issued:
        table.add_row(name or username, username, password)
    console.print(table)


@users_app.command("provision")
def provision() -> None:
    """按现行清单为在岗人员开设账号，校正已有账号的角色和姓名，停用离开全部岗位的人员。"""
    try:
        database = open_database()
        with database.session() as session:
            result = accounts.provision_staff(session, OPERATOR, SystemClock().now())
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    if result.version is None:
        fail("尚无清单版本：请先导入并发布权责清单（dutyflow import、dutyflow publish）")
    console.print(f"按清单版本 {result.version} 开设账号：新开设 {len(result.created)} 个，校正 {len(result.updated)} 个，"
                  f"停用 {len(result.disabled)} 个，未变 {result.unchanged} 个", highlight=False)
    for change in result.updated:
        console.print(f"  校正 {change.name}（{change.username}）：{'；'.join(change.changes)}", highlight=False)
    for change in result.disabled:
        console.print(f"  停用 {change.name}（{change.username}）：不再在现行清单的任何岗位上", highlight=False)
    for skipped in result.skipped:
        console.print(f"  未开设 {skipped}", highlight=False)
    if result.created:
        _passwords([(c.username, c.name, c.password or "") for c in result.created])


@users_app.command("list")
def list_users() -> None:
    """全部账号：姓名、角色、现行清单中的岗位、状态。"""
    database = open_database()
    with database.session() as session:
        rows = accounts.list_accounts(session, OPERATOR)
    if not rows:
        console.print("尚无账号：先运行 dutyflow users provision", highlight=False)
        return
    table = Table(title=f"账号（共 {len(rows)} 个）", title_justify="left")
    table.add_column("用户名", no_wrap=True)
    table.add_column("姓名", no_wrap=True)
    table.add_column("角色")
    table.add_column("岗位")
    table.add_column("状态", no_wrap=True)
    for row in rows:
        state = "启用" if row.active else "已停用"
        if row.active and row.must_change_password:
            state += "（须改密码）"
        posts = "、".join(row.posts) or ("不在现行清单中" if row.not_in_catalog else "—")
        table.add_row(row.username, row.name, row.role_names or "无", cell_text(posts), state)
    console.print(table)


@users_app.command("reset-password")
def reset_password(username: str = USERNAME) -> None:
    """重置密码：打印一次性密码（只这一次），其现有登录全部失效，本人登录后须先修改。"""
    try:
        database = open_database()
        with database.session() as session:
            user, password = accounts.reset_password(session, OPERATOR, username, SystemClock().now())
            name = user.display_name or user.username
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(f"已重置 {name}（{username}）的密码，其现有登录已全部失效", highlight=False)
    _passwords([(username, name, password)])


def _set_active(username: str, active: bool) -> None:
    try:
        database = open_database()
        with database.session() as session:
            user = accounts.set_account_active(session, OPERATOR, username, active, SystemClock().now())
            name = user.display_name or user.username
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(f"已停用 {name}（{username}）的账号，其登录已全部失效" if not active
                  else f"已启用 {name}（{username}）的账号", highlight=False)


@users_app.command("disable")
def disable(username: str = USERNAME) -> None:
    """停用账号：不能再登录，现有登录立即失效（不删除，记录仍署其名）。"""
    _set_active(username, False)


@users_app.command("enable")
def enable(username: str = USERNAME) -> None:
    """启用已停用的账号。"""
    _set_active(username, True)


@users_app.command("add-admin")
def add_admin(username: str = typer.Argument(..., help="管理员用户名"),
              name: str = typer.Option("系统管理员", "--name", help="姓名")) -> None:
    """开设系统管理员账号（首个管理员由此开设），打印一次性密码。"""
    try:
        database = open_database()
        with database.session() as session:
            user, password = accounts.create_admin(session, username, name, SystemClock().now())
            username = user.username
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(f"已开设系统管理员账号 {username}", highlight=False)
    _passwords([(username, name, password)])
