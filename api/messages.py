"""One message catalogue for what a person meets when a request is refused.

FastAPI answers malformed input with pydantic's English (`Field required`, `Input should be a
valid integer`, `JSON decode error`, `String should have at most 200 characters`). Here each of
pydantic's error types becomes a Chinese sentence naming the field by its label, for the API and
the pages alike; every answer also carries a stable machine `code` next to the Chinese `detail`,
so clients branch on the code, never on the wording. pydantic has no Chinese locale and
FastAPI none to plug in, hence this small table rather than a library.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlmodel import Session

from api.labels import CHOICE_LABELS
from engine.auth.roles import Actor
from engine.errors import Conflict, DutyflowError, Forbidden, InvalidInput, NotFound
from engine.runtime import service as runtime
from engine.runtime.forms import form_labels, name_fields

VALIDATION_MESSAGE = "提交的内容不完整或格式不对"

# The labels people know the fields by (form fields of the pages and bodies/queries of the API).
FIELD_LABELS: dict[str, str] = {
    "q": "查询词", "page": "页码", "size": "每页条数", "offset": "起始位置", "limit": "时限",
    "reason": "理由", "text": "内容", "message": "内容", "data": "表单数据", "file": "文件",
    "process_id": "流程", "duty_code": "事项编码", "applicant": "申请人", "subject": "事由",
    "to_post": "转办岗位", "posts": "岗位", "post": "岗位", "department": "部门", "unit": "科室",
    "region": "区划", "version": "版本", "version_id": "版本", "username": "用户名", "password": "密码",
    "roles": "角色", "staff_id": "人员编号", "received_at": "材料接收时间", "start": "开始时间",
    "year": "年度", "holidays": "放假日期", "workdays": "调休上班日期", "by": "统计口径",
    "scope": "统计范围", "since": "起始日期", "until": "截止日期", "status": "状态", "category": "类别",
    "kind": "种类", "format": "格式", "matter": "事项", "citizen": "群众姓名", "contact": "联系方式",
    "diff": "对比版本", "next": "跳转地址", "open_only": "只看未办结", "alert_id": "预警编号", "instance_id": "办件编号",
    "task_id": "任务编号", "definition_id": "流程定义编号", "current_password": "当前密码", "new_password": "新密码",
    "new_password_again": "再次输入新密码",
}

# The keys the processes' scripts (engine.runtime.library) word their problems by, for a start (no
# form) or a task whose form does not declare the key. Every key the library raises is here
# (tests/test_script_problem_labels.py reads the library to check), so none is shown bare.
SCRIPT_FIELD_LABELS: dict[str, str] = {
    "units": "参加的内设机构", "duties": "争议事项", "lead": "牵头部门", "division": "职责分工",
    "complainant": "投诉人", "subject": "投诉事项", "department": "部门", "duty_code": "事项",
    "matter": "事项", "to_post": "转办岗位", "posts": "岗位", "text": "内容", "version_id": "清单版本",
    "missing_materials": "需补正的材料", "refusal_reason": "退回理由", "extension_decision": "是否批准延期",
    "review_comment": "审核意见", "rejection_reason": "不予受理理由", "check_opinion": "核查意见",
    "to_task_spec": "退回到的步骤", "handler_post": "经办岗位", "first_post": "首问岗位",
    "actor": "办理人", "catalog": "权责清单",
}

CODES: tuple[tuple[type[DutyflowError], str], ...] = (
    (InvalidInput, "invalid_input"), (NotFound, "not_found"), (Conflict, "conflict"), (Forbidden, "forbidden"),
)


def error_code(exc: DutyflowError) -> str:
    """The stable machine code of a refusal (the API's `code`)."""
    for cls, code in CODES:
        if isinstance(exc, cls):
            return code
    return "unauthorized" if exc.status_code == 401 else "refused"


# What the framework itself answers in English (a path no route serves, a method a route does not
# take), by status; a detail already in Chinese (the sign-in's 401, the rate limit's 429) is kept.
HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    404: ("找不到这个地址：页面或接口不存在，请检查链接", "not_found"),
    405: ("这个地址不接受这种请求方式", "method_not_allowed"),
    401: ("请先登录", "unauthorized"),
    403: ("没有权限", "forbidden"),
    429: ("请求过于频繁，请稍后再试", "too_many_requests"),
}


def http_message(status: int, detail: Any) -> tuple[str, str]:
    """(Chinese detail, machine code) of a framework HTTP error."""
    message, code = HTTP_MESSAGES.get(status, ("请求未能完成", "refused"))
    if isinstance(detail, str) and _is_chinese(detail):
        message = detail
    return message, code


def field_label(loc: Iterable[Any]) -> str:
    """`body.data.reason` → 理由; list positions → 第 N 项; unknown names stay as written."""
    parts = [p for p in loc if p not in ("body", "query", "path", "form", "header", "cookie")]
    words: list[str] = []
    for part in parts:
        if isinstance(part, int):
            words.append(f"第 {part + 1} 项")
        else:
            words.append(FIELD_LABELS.get(str(part), str(part)))
    return "·".join(words) or "请求"


def _choices(ctx: Mapping[str, Any]) -> str:
    return str(ctx.get("expected", "")).replace("' or '", "、").replace("', '", "、").replace("'", "")


def problem_text(error: Mapping[str, Any]) -> str:
    """One pydantic error as a Chinese sentence: the field's label and what it should be."""
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    label = field_label(error.get("loc", ()))
    messages = {
        "missing": "必填",
        "string_too_long": f"最多 {ctx.get('max_length')} 个字符",
        "string_too_short": f"至少 {ctx.get('min_length')} 个字符",
        "too_long": f"最多 {ctx.get('max_length')} 项",
        "too_short": f"至少 {ctx.get('min_length')} 项",
        "int_parsing": "应为整数",
        "int_type": "应为整数",
        "int_from_float": "应为整数",
        "float_parsing": "应为数字",
        "float_type": "应为数字",
        "bool_parsing": "应为是或否（true/false）",
        "bool_type": "应为是或否（true/false）",
        "string_type": "应为文字",
        "list_type": "应为列表",
        "dict_type": "应为对象（键值对）",
        "model_type": "应为对象（键值对）",
        "model_attributes_type": "应为对象（键值对）",
        "date_parsing": "应为日期，如 2026-10-09",
        "date_from_datetime_parsing": "应为日期，如 2026-10-09",
        "datetime_parsing": "应为时间，如 2026-10-09T09:30:00+08:00",
        "datetime_from_date_parsing": "应为时间，如 2026-10-09T09:30:00+08:00",
        "greater_than": f"应大于 {ctx.get('gt')}",
        "greater_than_equal": f"应不小于 {ctx.get('ge')}",
        "less_than": f"应小于 {ctx.get('lt')}",
        "less_than_equal": f"应不大于 {ctx.get('le')}",
        "literal_error": f"应为 {_choices(ctx)} 之一",
        "enum": f"应为 {_choices(ctx)} 之一",
        "extra_forbidden": "不是可接受的字段",
        "string_pattern_mismatch": "格式不对",
        "uuid_parsing": "格式不对",
    }
    if kind == "json_invalid":  # its place is a character position in the body, not a field
        position = next((p for p in reversed(list(error.get("loc", ()))) if isinstance(p, int)), None)
        return "请求体不是有效的 JSON" + (f"（第 {position} 个字符附近）" if position is not None else "")
    if kind in messages:
        return f"{label}：{messages[kind]}"
    # Our own validators raise Chinese (`value_error`); pydantic prefixes them with "Value error, ".
    text = str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{label}：{text if _is_chinese(text) else '格式不对'}"


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def validation_problems(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    return [problem_text(error) for error in errors]


# A problem the engine words as "field: what is wrong" (`reason：不能为空`, `data.decision: 必填项「受理决定」未填写`).
_KEYED = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?P<index>\[\d+\])?\s*[:：]\s*(?P<rest>.+)$",
                    re.DOTALL)


def readable_problem(problem: str) -> str:
    """A problem as people read it: a leading field key becomes its label (理由：不能为空); a form
    field's key goes when the sentence already names the field (必填项「受理决定」未填写). Problems
    that name a place in a file (CSV 第2行 …) or carry no key are left as they are."""
    match = _KEYED.match(problem)
    if match is None:
        return problem
    key, rest = match["key"], match["rest"]
    last = key.rsplit(".", 1)[-1]
    if "「" in rest and key.startswith("data."):
        return rest
    label = FIELD_LABELS.get(last)
    return f"{label}：{rest}" if label else problem


# A place in a catalog document as the validation names it (engine.catalog.validation.format_loc:
# `duties[18].department`), in the words of the catalog's own columns (docs/catalog-format.md).
CATALOG_PLACES: dict[str, str] = {
    "catalog": "清单信息", "region": "区划", "name": "名称", "version": "版本号", "effective_date": "施行日期",
    "departments": "部门", "units": "内设机构", "posts": "岗位", "holders": "人员", "code": "编码",
    "head_post": "负责人岗位", "head": "负责人", "backup": "B角岗位", "id": "人员编号", "objects": "对象分类",
    "parent": "上级对象", "mandates": "三定职责", "duties": "事项", "category": "事项类型", "department": "实施部门",
    "role": "岗位角色", "partners": "协同部门", "object": "对象", "action": "行为", "excludes": "不含对象",
    "basis": "设定依据", "stages": "环节", "stage": "环节", "accountability": "追责情形",
    "statutory_limit": "法定时限", "committed_limit": "承诺时限", "notice_limit": "补正告知时限",
    "extension_limit": "延长时限", "fee": "收费", "phone": "咨询电话", "process": "流程", "post": "岗位",
    "roles": "角色", "action_synonyms": "行为近义词", "staffing": "编制数", "title": "标题", "text": "内容",
}
_CATALOG_ROOTS = ("catalog", "departments", "objects", "mandates", "duties", "roles", "action_synonyms")
_CATALOG_PATH = re.compile(r"\b(?:" + "|".join(_CATALOG_ROOTS) + r")(?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*")
_CATALOG_PLACE = re.compile(r"^(?P<path>" + _CATALOG_PATH.pattern[2:] + r")\s*:\s*(?P<rest>.+)$", re.DOTALL)
_PLACE_PART = re.compile(r"\[(\d+)\]|\.?([A-Za-z_][A-Za-z0-9_]*)")


def _place_words(path: str) -> str:
    words: list[str] = []
    for index, name in _PLACE_PART.findall(path):
        if index:
            words[-1] += f"第 {int(index) + 1} 项"
        else:
            words.append(CATALOG_PLACES.get(name, name))
    return " · ".join(words)


def catalog_problem(problem: str) -> str:
    """`duties[18].department: 未知部门 'XX'` → `事项第 19 项 · 实施部门：未知部门 'XX'`: the legal office
    finds the place by the catalog's words and the item's position, also where the sentence
    points at another place (已用于 duties[0].code); other problems stay."""
    match = _CATALOG_PLACE.match(problem)
    if match is None:  # a row of a table with its place in brackets: 第3行（duties[1].department）
        return _CATALOG_PATH.sub(lambda m: _place_words(m[0]), problem)
    rest = _CATALOG_PATH.sub(lambda m: _place_words(m[0]), match["rest"])
    return f"{_place_words(match['path'])}：{rest}"


def readable_problems(problems: Iterable[str]) -> list[str]:
    return [readable_problem(p) for p in problems]


# A choice's code inside a script's sentence (require_reason: 结论为 reject 时不能为空).
_CODE_WORD = re.compile(r" ?\b(?P<code>[a-z][a-z_]*)\b ?")
# A script's problem: "key: what is wrong" (a bare key; `data.x` keys are the sender's own).
_SCRIPT_KEYED = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?P<index>\[\d+\])?\s*[:：]\s*(?P<rest>.+)$", re.DOTALL)


def script_problem(problem: str) -> str:
    """A problem a process script raised, once the task's form labels are applied
    (engine.runtime.forms.name_fields): the key it still leads with becomes its label, a choice
    named by code is said in words."""
    match = _SCRIPT_KEYED.match(problem)
    if match is None:
        head, colon, rest = problem.partition("：")
        if colon and not re.search(r"[A-Za-z]", head):  # already named by the form's label
            return f"{head}：{_choices_in_words(rest)}"
        return problem
    label = SCRIPT_FIELD_LABELS.get(match["key"]) or FIELD_LABELS.get(match["key"])
    if label is None:
        return problem
    place = f"第 {int(match['index'][1:-1]) + 1} 项" if match["index"] else ""
    return f"{label}{place}：{_choices_in_words(match['rest'])}"


def _choices_in_words(text: str) -> str:
    return _CODE_WORD.sub(lambda m: f"“{CHOICE_LABELS[m['code']]}”" if m["code"] in CHOICE_LABELS else m[0], text)


@contextmanager
def fields_by_their_labels(form: Callable[[], Iterable[Mapping[str, Any]]] | None = None) -> Iterator[None]:
    """Starting a process or completing a task: a refusal raised by the process's scripts names the
    fields as the task's form labels them, else as SCRIPT_FIELD_LABELS does (`form` is called
    only on a refusal, so a step that succeeds reads no form)."""
    try:
        yield
    except InvalidInput as exc:
        labels = form_labels(form()) if form is not None else {}
        raise InvalidInput(exc.message, [script_problem(p) for p in name_fields(exc.problems, labels)]) from None


def task_fields_by_their_labels(session: Session, task_id: int, actor: Actor) -> AbstractContextManager[None]:
    """`fields_by_their_labels` for completing task `task_id`: its form's labels, read only on a
    refusal (the API's and the CLI's task completion both word refusals this way)."""
    return fields_by_their_labels(lambda: runtime.task_form(session, runtime.get_task(session, task_id, actor)))
