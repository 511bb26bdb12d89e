"""CLI commands: catalog — import, export, publish, diff, versions.

The database is DUTYFLOW_DATABASE_URL's; every error prints each problem and exits non-zero.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.app import app, console, fail
from api.cli.database import open_database
from api.labels import person_label
from engine.application import wire
from engine.auth.service import user_names
from engine.catalog import service
from engine.catalog.diff import render_value
from engine.catalog.io import WRITE_FORMATS, read_catalog, write_catalog
from engine.clock import SystemClock
from engine.errors import DutyflowError

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire

STATUS_TEXT = {"draft": "草稿", "published": "已发布"}


def _who(name: str | None) -> str:
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "cli"


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="清单文件：.yaml/.yml/.json/.xlsx/.csv"),
    region: str | None = typer.Option(
        None, "--region", help="区划：版本属于哪个区划（覆盖表中 区划名称/区划代码 列、文件头中的或按文件名推断的）"
    ),
    name: str | None = typer.Option(None, "--name", help="清单名称（覆盖文件中的或按文件名推断的）"),
    version: str | None = typer.Option(None, "--version", help="版本号（覆盖文件中的或按文件名推断的）"),
    by: str | None = typer.Option(None, "--by", help="导入人（默认为当前系统用户）"),
) -> None:
    """导入清单，校验通过后存为草稿版本（同一版本号的草稿会被替换）。"""
    try:
        document = read_catalog(file, overrides={"region": region, "name": name, "version": version})
        database = open_database()
        with database.session() as session:
            stored = service.import_catalog(session, document, _who(by), SystemClock().now(), source=file.name)
            counts = service.version_counts(session, stored.id)
        warnings = service.same_name_warnings(document)
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(
        f"已导入 {stored.region}「{stored.name}」版本 {stored.version}（版本编号 {stored.id}，草稿）", highlight=False
    )
    console.print(
        f"部门 {counts['departments']} 个，内设机构 {counts['units']} 个，岗位 {counts['posts']} 个，"
        f"人员 {counts['staff']} 名，权责事项 {counts['duties']} 项",
        highlight=False,
    )
    for warning in warnings:
        console.print(f"[yellow]提醒[/]：{escape(warning)}", highlight=False)
    console.print(f"发布：dutyflow publish {stored.id}", highlight=False)


@app.command("export")
def export_command(
    format: str = typer.Option("yaml", "--format", "-f", help="yaml / json / xlsx"),
    version: str = typer.Option("current", "--version", help="版本：编号、版本号、current、published 或 latest"),
    output: Path | None = typer.Option(None, "--output", "-o", help="输出文件；不给时 yaml/json 输出到标准输出"),
) -> None:
    """导出清单为 YAML、JSON 或 Excel 工作簿。"""
    if format.lower() not in WRITE_FORMATS:
        fail(f"不支持的导出格式 '{format}'", [f"--format: 可选 {', '.join(WRITE_FORMATS)}"])
    if format.lower() == "xlsx" and output is None:
        fail("xlsx 为二进制文件，请用 --output 指定输出文件")
    try:
        database = open_database()
        with database.session() as session:
            found = service.find_version(session, version)
            content = write_catalog(service.load_document(session, found.id), format)
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    if output is None:
        sys.stdout.write(content.decode("utf-8"))
        sys.stdout.flush()
        return
    try:
        output.write_bytes(content)
    except OSError as exc:
        fail(f"无法写入 {output}", [f"{output}: {exc.strerror or exc}"])
    console.print(f"已导出版本 {found.version}（编号 {found.id}）到 {output}", highlight=False)


@app.command("publish")
def publish_command(
    version: str = typer.Argument("latest", help="要发布的版本：编号或版本号（默认最新导入的版本）"),
    by: str | None = typer.Option(None, "--by", help="发布人（默认为当前系统用户）"),
) -> None:
    """发布一个草稿版本；发布后该版本冻结，不可再修改。"""
    try:
        database = open_database()
        with database.session() as session:
            found = service.find_version(session, version)
            published = service.publish_version(session, found.id, _who(by), SystemClock().now())
            publisher = person_label(published.published_by, user_names(session, [published.published_by]))
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(
        f"已发布 {published.region}「{published.name}」版本 {published.version}（编号 {published.id}），"
        f"发布人 {publisher}，时间 {published.published_at.astimezone(SystemClock().tz):%Y-%m-%d %H:%M}",
        highlight=False,
    )


@app.command("diff")
def diff_command(
    old: str = typer.Argument(..., help="旧版本：编号、版本号、current、published 或 latest"),
    new: str = typer.Argument(..., help="新版本"),
    format: str = typer.Option("table", "--format", "-f", help="table（表格）/ text（调整说明）/ json"),
    region: str | None = typer.Option(None, "--region", help="在这个区划的版本中查找两个版本号"),
) -> None:
    """两个版本之间的调整说明：新增、取消和逐字段变更的事项（只比较同一区划的版本）。"""
    if format not in ("table", "text", "json"):
        fail(f"不支持的格式 '{format}'", ["--format: 可选 table、text、json"])
    try:
        database = open_database()
        with database.session() as session:
            a, b = service.find_version(session, old, region), service.find_version(session, new, region)
            diff = service.diff_versions(session, a.id, b.id)
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    if format == "json":
        sys.stdout.write(json.dumps(diff.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    if format == "text":
        console.print(diff.text(), highlight=False, markup=False)
        return
    table = Table(title=f"调整说明：{a.version} → {b.version}（{diff.summary()}）", show_lines=True)
    for column in ("调整方式", "事项编码", "事项名称", "字段", "原内容", "新内容"):
        table.add_column(column, overflow="fold")
    for d in diff.added:
        table.add_row("新增", d.code, d.name, "", "", "")
    for d in diff.removed:
        table.add_row("取消", d.code, d.name, "", "", "")
    for d in diff.changed:
        for change in d.changes:
            table.add_row("变更", d.code, d.name, change.label, render_value(change.old), render_value(change.new))
    console.print(table)
    if diff.is_empty:
        console.print("两个版本的事项没有差别。")


@app.command("versions")
def versions_command() -> None:
    """列出所有清单版本。"""
    try:
        database = open_database()
        with database.session() as session:
            versions = service.list_versions(session)
            counts = {v.id: service.version_counts(session, v.id)["duties"] for v in versions}
            people = user_names(session, [name for v in versions for name in (v.created_by, v.published_by)])
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    if not versions:
        console.print("尚未导入任何清单。用 dutyflow import FILE 导入。")
        return
    table = Table(title="清单版本")
    for column in ("编号", "地区", "清单名称", "版本", "状态", "事项数", "导入人", "发布人", "发布时间"):
        table.add_column(column, overflow="fold")
    tz = SystemClock().tz
    for v in versions:
        table.add_row(
            str(v.id), v.region, v.name, v.version, STATUS_TEXT.get(v.status, v.status), str(counts[v.id]),
            person_label(v.created_by, people), person_label(v.published_by, people),
            f"{v.published_at.astimezone(tz):%Y-%m-%d %H:%M}" if v.published_at else "",
        )
    console.print(table)
