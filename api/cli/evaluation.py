"""CLI commands: 绩效考评 (`dutyflow evaluation …`). Every command acts as a user account
(`--user`), with the same permission and state checks as the API (docs/evaluation.md)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from api.cli.app import app, console, fail
from api.cli.database import open_database
from engine.application import wire
from engine.auth.roles import Actor
from engine.auth.service import actor_for, get_user
from engine.clock import SystemClock
from engine.errors import DutyflowError, NotFound
from engine.evaluation import export, scheme, service
from engine.models.evaluation import SUBJECT_STAFF, SUBJECT_UNIT

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire

evaluation_app = typer.Typer(help="绩效考评：考评年度、指标体系、评分、计算结果。", no_args_is_help=True)
app.add_typer(evaluation_app, name="evaluation")

USER = typer.Option(..., "--user", help="操作人用户名（效能办账号）")


def actor_of(session, username: str) -> Actor:
    user = get_user(session, username)
    if user is None or not user.active:
        raise NotFound(f"用户 '{username}' 不存在或已停用", [f"--user: {username}"])
    return actor_for(user)


def _tree_lines(nodes, depth: int = 0) -> list[str]:
    lines = []
    for node in nodes:
        kind = "" if node["kind"] == "group" else f"（{node['formula_name'] or node['kind_name']}）"
        lines.append(f"{'  ' * depth}{node['name']} {node['weight']}%{kind}  [{node['code']}]")
        lines += _tree_lines(node["children"], depth + 1)
    return lines


@evaluation_app.command("create-year")
def create_year(year: int = typer.Option(..., "--year", help="考评年度"),
                department: str | None = typer.Option(None, "--department", help="部门编码"),
                region: str | None = typer.Option(None, "--region", help="区划（考评其各部门）"),
                user: str = USER) -> None:
    """创建考评年度：默认指标体系，单位和人员取自现行清单。"""
    try:
        database = open_database()
        with database.session() as session:
            row = service.create_year(session, actor_of(session, user), year, SystemClock().now(),
                                      department=department, region=region)
            units = len(service.subjects(session, row.id, SUBJECT_UNIT))
            staff = len(service.subjects(session, row.id, SUBJECT_STAFF))
            text = f"已创建 {row.scope_name} {row.year} 年度考评（编号 {row.id}，草稿）：{units} 个单位，{staff} 名人员"
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(text, highlight=False)


@evaluation_app.command("show")
def show(year_id: int = typer.Argument(..., help="考评年度编号"), user: str = USER) -> None:
    """显示考评年度：指标体系、单位、人员；已计算的显示结果。"""
    try:
        database = open_database()
        with database.session() as session:
            actor = actor_of(session, user)
            detail = service.year_detail(session, actor, year_id)
            found = service.results(session, actor, year_id)
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    year = detail["year"]
    console.print(f"{year['scope_name']} {year['year']} 年度考评（编号 {year['id']}）：{year['status_name']}", highlight=False)
    for subject, title in ((SUBJECT_UNIT, "单位（处室）指标体系"), (SUBJECT_STAFF, "个人指标体系")):
        console.print(f"\n{title}", style="bold", highlight=False)
        for line in _tree_lines(detail["trees"][subject]):
            console.print(line, highlight=False, markup=False)
    units = "、".join(u["name"] for u in detail["units"])
    console.print(f"\n考评单位：{units or '无'}", highlight=False)
    console.print(f"考评人员：{'、'.join(s['name'] for s in detail['staff']) or '无'}", highlight=False)
    if found["units"] or found["staff"]:
        table = Table("名次", "单位", "总分", "按分等次", "等次", "先进", "重点整改", "说明", title="单位结果")
        for u in found["units"]:
            table.add_row(str(u["rank"]), u["name"], u["total"], u["grade_by_score"], u["grade"],
                          "是" if u["advanced"] else "", "是" if u["key_rectification"] else "", "；".join(u["reasons"]))
        console.print(table)
        table = Table("名次", "姓名", "单位", "总分", "按分等次", "等次", "优秀个人人选", "说明", title="个人结果")
        for s in found["staff"]:
            table.add_row(str(s["rank"]), s["name"], s["unit_name"] or "", s["total"], s["grade_by_score"], s["grade"],
                          "是" if s["excellent_candidate"] else "", "；".join(s["reasons"]))
        console.print(table)


@evaluation_app.command("open")
def open_command(year_id: int = typer.Argument(..., help="考评年度编号"), user: str = USER) -> None:
    """开始考评：指标体系冻结，可以录入评分。"""
    try:
        database = open_database()
        with database.session() as session:
            row = service.open_year(session, actor_of(session, user), year_id, SystemClock().now())
            text = f"{row.scope_name} {row.year} 年度考评已开始，可以录入评分"
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(text, highlight=False)


@evaluation_app.command("score")
def score(year_id: int = typer.Argument(..., help="考评年度编号"),
          unit: str | None = typer.Option(None, "--unit", help="单位编码"),
          staff: str | None = typer.Option(None, "--staff", help="人员编号"),
          indicator: str = typer.Option(..., "--indicator", help="末级指标编码，如 FUNC.Q1.KEY"),
          value: str = typer.Option(..., "--value", help="0–100，最多两位小数"),
          note: str | None = typer.Option(None, "--note", help="说明"),
          user: str = USER) -> None:
    """录入一个评分（主观指标）。"""
    if bool(unit) == bool(staff):
        fail("请用 --unit 或 --staff 指定一个考评对象", ["--unit / --staff: 二选一"], code=2)
    subject, code = (SUBJECT_UNIT, unit) if unit else (SUBJECT_STAFF, staff)
    assert code is not None
    try:
        database = open_database()
        with database.session() as session:
            service.enter_scores(session, actor_of(session, user), year_id,
                                 [service.ScoreEntry(subject, code, indicator, value, note)], SystemClock().now())
            names = {s.code: s.name for s in service.subjects(session, year_id, subject)}
            leaf = {n.code: scheme.path_name(n, p) for n, p in scheme.walk(service.tree(session, year_id, subject))}
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(f"已录入：{names.get(code, code)}「{leaf.get(indicator, indicator)}」{value} 分", highlight=False)


@evaluation_app.command("compute")
def compute(year_id: int = typer.Argument(..., help="考评年度编号"), user: str = USER) -> None:
    """计算结果：客观指标、总分、等次、降等、先进名额。"""
    try:
        database = open_database()
        with database.session() as session:
            decision = service.compute_results(session, actor_of(session, user), year_id, SystemClock().now())
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    table = Table("名次", "单位", "总分", "等次", "先进", "重点整改", "说明", title="单位结果")
    for u in decision.units:
        table.add_row(str(u.rank), u.name, u.total_display, u.grade, "是" if u.advanced else "",
                      "是" if u.key_rectification else "", "；".join(u.reasons))
    console.print(table)
    table = Table("名次", "姓名", "总分", "等次", "优秀个人人选", "说明", title="个人结果")
    for s in decision.staff:
        table.add_row(str(s.rank), s.name, s.total_display, s.grade, "是" if s.advanced else "", "；".join(s.reasons))
    console.print(table)
    console.print(f"先进名额：{decision.advanced_cap} 个（单位总数的 30%，向下取整）", highlight=False)


@evaluation_app.command("publish")
def publish(year_id: int = typer.Argument(..., help="考评年度编号"), user: str = USER) -> None:
    """发布结果，考评年度结束。"""
    try:
        database = open_database()
        with database.session() as session:
            row = service.publish(session, actor_of(session, user), year_id, SystemClock().now())
            text = f"{row.scope_name} {row.year} 年度考评结果已发布"
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    console.print(text, highlight=False)


@evaluation_app.command("export")
def export_command(year_id: int = typer.Argument(..., help="考评年度编号"),
                   out: Path = typer.Option(..., "--out", help="输出文件（.xlsx）"),
                   user: str = USER) -> None:
    """导出考评结果为 xlsx：单位考评结果、个人考评结果、指标三张表。"""
    if out.suffix.lower() != ".xlsx":
        fail(f"输出文件应以 .xlsx 结尾：{out}", [f"--out: {out}"], code=2)
    try:
        database = open_database()
        with database.session() as session:
            content, _name = export.write_xlsx(session, actor_of(session, user), year_id)
    except DutyflowError as exc:
        fail(exc.message, exc.problems)
    try:
        out.write_bytes(content)
    except OSError as exc:
        fail(f"无法写入文件 {out}", [f"--out: {exc.strerror or exc}"])
    console.print(f"已导出到 {out}（{len(content)} 字节）：单位考评结果、个人考评结果、指标", highlight=False)
