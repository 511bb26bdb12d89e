"""Checks a catalog as a whole and reports every problem with its place.

Places use the document's own paths (`duties[12].department`) and messages are Chinese, so one
list serves the API (422), the CLI and the pages. Nothing is stored unless this finds nothing.

Two stages: `parse_document` turns raw data (dicts from YAML/JSON/Excel) into a
`CatalogDocument`, converting pydantic's type errors to the same path style; `check_document`
then checks what types cannot: duplicate codes, unknown references, taxonomy cycles, categories,
stages, A/B roles and time limits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from engine.calendar.limits import ParsedLimit
from engine.calendar.working import WorkingCalendar
from engine.catalog.cells import format_limit_cell, parsed_limit
from engine.catalog.document import BINDABLE_ROLES, CATEGORIES, STAGES, CatalogDocument, TimeLimit
from engine.catalog.taxonomy import find_taxonomy_cycles
from engine.clock import BEIJING
from engine.errors import InvalidInput

POST_ROLES = ("A", "B")


def format_loc(loc: Iterable[Any]) -> str:
    """('duties', 12, 'department') → 'duties[12].department'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "（文档）"


def _pydantic_message(error: ErrorDetails) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    given = error.get("input")
    messages = {
        "missing": "缺少必填字段",
        "string_type": "应为文本",
        "int_type": "应为整数",
        "int_parsing": f"应为整数，实际为 {given!r}",
        "int_from_float": f"应为整数，实际为 {given!r}",
        "bool_parsing": f"应为 true 或 false，实际为 {given!r}",
        "list_type": "应为列表",
        "dict_type": "应为映射（键: 值）",
        "model_type": "应为对象（字段: 值）",
        "model_attributes_type": "应为对象（字段: 值）",
        "date_parsing": f"日期应写作 YYYY-MM-DD，实际为 {given!r}",
        "date_from_datetime_parsing": f"日期应写作 YYYY-MM-DD，实际为 {given!r}",
        "date_type": f"日期应写作 YYYY-MM-DD，实际为 {given!r}",
        "greater_than": f"必须大于 {ctx.get('gt')}，实际为 {given!r}",
        "greater_than_equal": f"不能小于 {ctx.get('ge')}，实际为 {given!r}",
        "less_than_equal": f"不能大于 {ctx.get('le')}，实际为 {given!r}",
        "enum": f"取值应为 {ctx.get('expected', '')}，实际为 {given!r}",
    }
    return messages.get(kind, error.get("msg", "格式错误"))


def parse_document(data: Any) -> CatalogDocument:
    """Raw data → CatalogDocument; every type problem reported at once as InvalidInput."""
    if isinstance(data, CatalogDocument):
        return data
    if not isinstance(data, dict):
        raise InvalidInput("清单格式错误：顶层应为映射（catalog、departments、duties …）", ["（文档）: 顶层应为映射"])
    try:
        return CatalogDocument.model_validate(data)
    except ValidationError as exc:
        problems = [f"{format_loc(e['loc'])}: {_pydantic_message(e)}" for e in exc.errors()]
        raise InvalidInput(f"清单校验未通过，共 {len(problems)} 处问题", problems) from None


def validate_document(data: Any) -> CatalogDocument:
    """Parse and check; raise InvalidInput listing every problem, else return the document."""
    document = parse_document(data)
    problems = check_document(document)
    if problems:
        raise InvalidInput(f"清单校验未通过，共 {len(problems)} 处问题", problems)
    return document


def check_document(document: CatalogDocument) -> list[str]:
    """Every cross-reference problem of a typed document, in document order."""
    problems: list[str] = []
    problems += _check_organisation(document)
    problems += _check_taxonomy(document)
    problems += _check_mandates(document)
    problems += _check_duties(document)
    problems += _check_roles(document)
    return problems


def _duplicates(items: Iterable[tuple[str, str]], what: str) -> list[str]:
    """items: (path, code) in order; report every repeat, naming the first occurrence."""
    first: dict[str, str] = {}
    problems = []
    for path, code in items:
        if code in first:
            problems.append(f"{path}: {what}重复 '{code}'（已用于 {first[code]}）")
        else:
            first[code] = path
    return problems


def _check_organisation(document: CatalogDocument) -> list[str]:
    departments, units, posts = [], [], []
    for i, department in enumerate(document.departments):
        departments.append((f"departments[{i}].code", department.code))
        for j, unit in enumerate(department.units):
            units.append((f"departments[{i}].units[{j}].code", unit.code))
            for k, post in enumerate(unit.posts):
                posts.append((f"departments[{i}].units[{j}].posts[{k}]", post))
    problems = _duplicates(departments, "部门编码")
    problems += _duplicates(units, "机构编码")
    problems += _duplicates([(f"{path}.code", post.code) for path, post in posts], "岗位编码")
    post_codes = {post.code for _, post in posts}
    staff_names: dict[str, tuple[str, str]] = {}
    for path, post in posts:
        if post.backup is not None:
            if post.backup == post.code:
                problems.append(f"{path}.backup: B角岗位不能是本岗位 '{post.code}'")
            elif post.backup not in post_codes:
                problems.append(f"{path}.backup: 未知岗位 '{post.backup}'")
        seen_here: set[str] = set()
        for h, holder in enumerate(post.holders):
            where = f"{path}.holders[{h}]"
            if holder.id in seen_here:
                problems.append(f"{where}.id: 人员 '{holder.id}' 在本岗位重复出现")
            seen_here.add(holder.id)
            known = staff_names.get(holder.id)
            if known and known[0] != holder.name:
                problems.append(f"{where}.name: 人员 '{holder.id}' 的姓名 '{holder.name}' 与 {known[1]} 的 '{known[0]}' 不一致")
            staff_names.setdefault(holder.id, (holder.name, where))
    problems += _check_head_posts(document, post_codes)
    return problems


def _check_head_posts(document: CatalogDocument, post_codes: set[str]) -> list[str]:
    """A department's `head_post` names one of its own posts: the head decides extensions of the
    department's cases, so a post of another department (or none at all) must not be accepted."""
    problems = []
    seen: set[str] = set()
    for i, department in enumerate(document.departments):
        code = department.head_post
        repeated = department.code in seen  # a repeated department is reported once, as a duplicate
        seen.add(department.code)
        if code is None or repeated:
            continue
        own = {post.code for unit in department.units for post in unit.posts}
        if code not in post_codes:
            problems.append(f"departments[{i}].head_post: 未知岗位 '{code}'")
        elif code not in own:
            problems.append(f"departments[{i}].head_post: 岗位 '{code}' 不属于部门 '{department.code}'，"
                            "负责人岗位须是本部门内设机构的岗位")
    return problems


def _check_taxonomy(document: CatalogDocument) -> list[str]:
    names = [(f"objects[{i}].name", item.name) for i, item in enumerate(document.objects)]
    problems = _duplicates(names, "对象名称")
    known = {item.name for item in document.objects}
    for i, item in enumerate(document.objects):
        if item.parent is not None and item.parent not in known:
            problems.append(f"objects[{i}].parent: 未知对象 '{item.parent}'")
        if item.parent == item.name:
            problems.append(f"objects[{i}].parent: 对象 '{item.name}' 不能是自己的上级")
    index = {item.name: i for i, item in reversed(list(enumerate(document.objects)))}
    for cycle in find_taxonomy_cycles(document.objects):
        if len(cycle) > 1:  # a self-loop is reported above with its place
            # Edges run parent → child, so the cycle's first object has the last one as its parent.
            at = f"objects[{index[cycle[0]]}].parent" if cycle[0] in index else "objects"
            problems.append(f"{at}: 对象分类存在循环 {' → '.join([*cycle, cycle[0]])}")
    return problems


def _check_mandates(document: CatalogDocument) -> list[str]:
    return _duplicates([(f"mandates[{i}].code", m.code) for i, m in enumerate(document.mandates)], "职责编码")


def _object_names(document: CatalogDocument) -> set[str]:
    names = set()
    for item in document.objects:
        names.add(item.name)
        names.update(item.aliases)
    return names


def _check_duties(document: CatalogDocument) -> list[str]:
    problems = _duplicates([(f"duties[{i}].code", d.code) for i, d in enumerate(document.duties)], "事项编码")
    departments = set(document.department_by_code())
    units = set(document.units_by_code())
    posts = set(document.posts_by_code())
    objects = _object_names(document)
    for i, duty in enumerate(document.duties):
        at = f"duties[{i}]"
        if duty.category not in CATEGORIES:
            problems.append(f"{at}.category: 事项类型 '{duty.category}' 不在 {len(CATEGORIES)} 类之内（{'、'.join(CATEGORIES)}）")
        if duty.department not in departments:
            problems.append(f"{at}.department: 未知部门 '{duty.department}'")
        for j, partner in enumerate(duty.partners):
            if partner not in departments:
                problems.append(f"{at}.partners[{j}]: 未知部门 '{partner}'")
            elif partner == duty.department:
                problems.append(f"{at}.partners[{j}]: 协同部门不能是实施主体本身 '{partner}'")
        for j, name in enumerate(duty.excludes):
            # Carve-outs only mean something inside the taxonomy; a free-text name would silently never match.
            if name not in objects:
                problems.append(f"{at}.excludes[{j}]: 不含对象 '{name}' 不在对象分类中")
        for j, unit in enumerate(duty.units):
            if unit not in units:
                problems.append(f"{at}.units[{j}]: 未知内设机构 '{unit}'")
        for j, assignment in enumerate(duty.posts):
            if assignment.post not in posts:
                problems.append(f"{at}.posts[{j}].post: 未知岗位 '{assignment.post}'")
            if assignment.role not in POST_ROLES:
                problems.append(f"{at}.posts[{j}].role: 岗位角色应为 A 或 B，实际为 '{assignment.role}'")
        for j, stage in enumerate(duty.stages):
            if stage.stage not in STAGES:
                problems.append(f"{at}.stages[{j}].stage: 环节 '{stage.stage}' 不在 {'、'.join(STAGES)} 之中")
        problem = _check_limits(duty.statutory_limit, duty.committed_limit)
        if problem:
            problems.append(f"{at}.committed_limit: {problem}")
        for name, label, limit in (("notice_limit", "补正告知期限", duty.notice_limit),
                                   ("extension_limit", "延期上限", duty.extension_limit)):
            if limit is not None and limit.value is None:
                problems.append(f"{at}.{name}: {label}须写明天数（如“5个工作日”），不能是 {limit_text(limit)}")
    return problems


# Committed against statutory limits in different units (25日 against 20个工作日, 1个月 against
# 30日) are compared through the calendar: both due dates from the same start, at every working
# day of a reference year. The built-in calendar (no database) and a fixed year keep the verdict
# the same whenever and wherever a catalog is checked; 2026 has official holiday data.
REFERENCE_YEAR = 2026
_REFERENCE_CALENDAR = WorkingCalendar()


@lru_cache(maxsize=1)
def reference_starts() -> tuple[datetime, ...]:
    """10:00 on every working day of the reference year: the starts limits are compared at."""
    day, starts = date(REFERENCE_YEAR, 1, 1), []
    while day.year == REFERENCE_YEAR:
        if _REFERENCE_CALENDAR.is_working_day(day):
            starts.append(datetime.combine(day, time(10, 0), tzinfo=BEIJING))
        day += timedelta(days=1)
    return tuple(starts)


def limit_text(limit: TimeLimit) -> str:
    return format_limit_cell(limit) or ""


def _check_limits(statutory: TimeLimit | None, committed: TimeLimit | None) -> str | None:
    if statutory is None or committed is None:
        return None
    return _compare(parsed_limit(statutory), parsed_limit(committed))


@lru_cache(maxsize=4096)
def _compare(statutory: ParsedLimit, committed: ParsedLimit) -> str | None:
    # Cached by the two limits: a catalog of 100,000 duties has a few dozen distinct pairs.
    try:
        start = _REFERENCE_CALENDAR.longer_at(committed, statutory, list(reference_starts()))
    except InvalidInput as exc:  # a limit too long to count (over ten years): named, not a 500
        return f"时限无法计算：{exc.message}"
    if start is None:
        return None
    if not committed.has_clock:
        return f"承诺时限 {committed.text} 表示不计时，而法定时限为 {statutory.text}"
    committed_due = _REFERENCE_CALENDAR.due(start, committed).at
    statutory_due = _REFERENCE_CALENDAR.due(start, statutory).at
    return (f"承诺时限 {committed.text} 长于法定时限 {statutory.text}（如 {start:%Y-%m-%d} 受理，承诺时限至 "
            f"{committed_due:%Y-%m-%d %H:%M}，法定时限至 {statutory_due:%Y-%m-%d %H:%M}）")


def _check_roles(document: CatalogDocument) -> list[str]:
    targets = set(document.department_by_code()) | set(document.units_by_code()) | set(document.posts_by_code())
    problems = []
    for role, codes in document.roles.items():
        if role not in BINDABLE_ROLES:
            named = "、".join(f"{name}（{code}）" for code, name in BINDABLE_ROLES.items())
            problems.append(f"roles.{role}: 清单不能绑定这个角色，只能绑定{named}")
            continue
        for j, code in enumerate(codes):
            if code not in targets:
                problems.append(f"roles.{role}[{j}]: 未知部门、内设机构或岗位 '{code}'")
    return problems
