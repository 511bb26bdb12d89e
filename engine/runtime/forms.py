"""Form fields of user tasks: the declaration mini-syntax and validation of submitted data.

A user task declares each field it expects as a SpiffWorkflow property on the task::

    <spiffworkflow:property name="form.decision" value="enum:approve,reject;required;label=决定"/>

The property name is `form.<field>` (a Python identifier not starting with `_`); the value is
`;`-separated parts: first the type, then optional flags:

- types: `text`, `int`, `number`, `bool`, `date` (YYYY-MM-DD), `datetime` (ISO 8601 with offset),
  `enum:a,b,c` (one of the listed values), `list` (a list of texts), `post` (a post code);
- `required` — the field must be given and not empty;
- `label=…` — the Chinese label shown on pages and in error messages.

Completing a task validates the submitted data against these fields: a missing required field,
a value of the wrong type or an undeclared field is refused (422) with every problem listed.
Tasks that declare no field accept any data whose keys are plain identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.errors import InvalidInput

FORM_PREFIX = "form."
# `post` and `department` are codes of the catalog in force: pages offer them by name (a picker),
# the process's own script checks that the code exists.
FIELD_TYPES = ("text", "int", "number", "bool", "date", "datetime", "enum", "list", "post", "department")


@dataclass(frozen=True)
class FormField:
    name: str
    type: str
    required: bool = False
    label: str = ""
    choices: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required,
                "label": self.label or self.name, "choices": list(self.choices)}


def parse_field(name: str, spec: str) -> FormField:
    """One declaration; raises ValueError with a Chinese message naming the problem."""
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"字段名 '{name}' 必须是不以下划线开头的标识符")
    parts = [p.strip() for p in spec.split(";") if p.strip()]
    if not parts:
        raise ValueError(f"字段 '{name}' 没有声明类型")
    type_part, flags = parts[0], parts[1:]
    kind, _, options = type_part.partition(":")
    if kind not in FIELD_TYPES:
        raise ValueError(f"字段 '{name}' 的类型 '{kind}' 未知（可选：{', '.join(FIELD_TYPES)}）")
    choices = tuple(c.strip() for c in options.split(",") if c.strip()) if kind == "enum" else ()
    if kind == "enum" and not choices:
        raise ValueError(f"字段 '{name}' 的 enum 类型没有列出取值")
    required, label = False, ""
    for flag in flags:
        if flag == "required":
            required = True
        elif flag.startswith("label="):
            label = flag[len("label="):].strip()
        else:
            raise ValueError(f"字段 '{name}' 的声明 '{flag}' 无法识别（可用 required、label=…）")
    return FormField(name=name, type=kind, required=required, label=label, choices=choices)


def form_of(properties: dict[str, str]) -> list[FormField]:
    """The fields a task declares, in declaration order."""
    return [parse_field(key[len(FORM_PREFIX):], value)
            for key, value in properties.items() if key.startswith(FORM_PREFIX)]


def form_problems(properties: dict[str, str]) -> list[str]:
    """Problems in a task's declarations (checked at deployment)."""
    problems = []
    for key, value in properties.items():
        if key.startswith(FORM_PREFIX):
            try:
                parse_field(key[len(FORM_PREFIX):], value)
            except ValueError as exc:
                problems.append(str(exc))
    return problems


def check_data_keys(data: dict[str, Any], reserved: Set[str], where: str = "data") -> list[str]:
    """Keys of task data must be identifiers that cannot reach private names or hide functions.

    `reserved`: the names scripts are given (scripting.provided_names()). Task data are a script's
    globals, looked up before its builtins: `{"len": 1}` would make every `len(…)` of the process
    fail and the instance with it."""
    problems = []
    for key in data:
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("_"):
            problems.append(f"{where}.{key}: 字段名必须是不以下划线开头的标识符")
        elif key in reserved:
            problems.append(f"{where}.{key}: 与流程脚本的内置函数或流程函数同名，请换一个字段名")
    return problems


def validate_submission(fields: list[FormField], data: dict[str, Any], reserved: Set[str]) -> dict[str, Any]:
    """Cleaned data for the task, or InvalidInput listing every problem."""
    if not isinstance(data, dict):
        raise InvalidInput("表单数据必须是对象", ["data: 应为 JSON 对象"])
    problems = check_data_keys(data, reserved)
    if not fields:
        if problems:
            raise InvalidInput("表单数据有误", problems)
        return dict(data)
    declared = {f.name: f for f in fields}
    problems += [f"data.{key}: 表单没有名为“{key}”的字段" for key in data if key not in declared]
    cleaned: dict[str, Any] = {}
    for f in fields:
        value = data.get(f.name)
        if value is None or value == "" or value == []:
            if f.required:
                problems.append(f"data.{f.name}: 必填项「{f.label or f.name}」未填写")
            continue
        try:
            cleaned[f.name] = _coerce(f, value)
        except ValueError as exc:
            problems.append(f"data.{f.name}: 「{f.label or f.name}」{exc}")
    if problems:
        raise InvalidInput("表单数据有误", problems)
    return cleaned


# A problem a process script raises while a task completes: "field: what is wrong".
_KEYED = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*[:：]\s*(?P<rest>.+)$", re.DOTALL)


def name_fields(problems: Iterable[str], labels: Mapping[str, str]) -> list[str]:
    """A script's problems with the field named as the task's form labels it.

    Scripts (engine.runtime.library) word a problem by the data key they checked
    (`missing_materials: 不能为空`); the person filled a field labelled 需补正的全部材料, so the
    problem says that (需补正的全部材料：不能为空). Keys the form does not declare are left for the
    API's message catalogue (api.messages) to name or drop."""
    named = []
    for problem in problems:
        match = _KEYED.match(problem)
        label = labels.get(match["key"]) if match else None
        named.append(f"{label}：{match['rest']}" if match and label else problem)
    return named


def form_labels(form: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """{field name: label} of a task's form as FormField.as_dict() gives it (fields without a
    label of their own are left out: their name is no label)."""
    return {str(f["name"]): str(f["label"]) for f in form if f.get("label") and f["label"] != f["name"]}


def _coerce(f: FormField, value: Any) -> Any:
    coerce = _COERCERS[f.type]
    return coerce(f, value)


def _text(_f: FormField, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("应为文本")
    return value


def _int(_f: FormField, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("应为整数")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError("应为整数")


def _number(_f: FormField, value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError("应为数字")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError("应为数字")


def _bool(_f: FormField, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "是", "1", 1):
        return True
    if value in ("false", "否", "0", 0):
        return False
    raise ValueError("应为是/否")


def _date(_f: FormField, value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError("应为日期（YYYY-MM-DD）") from None


def _datetime(_f: FormField, value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError("应为带时区的时间（ISO 8601）") from None
    if moment.tzinfo is None:
        raise ValueError("时间必须带时区，例如 +08:00")
    return moment.isoformat()


def _enum(f: FormField, value: Any) -> str:
    if value not in f.choices:
        raise ValueError(f"取值应为 {', '.join(f.choices)} 之一")
    return value


def _list(_f: FormField, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("应为文本列表")
    return value


_COERCERS = {
    "text": _text, "int": _int, "number": _number, "bool": _bool, "date": _date,
    "datetime": _datetime, "enum": _enum, "list": _list, "post": _text, "department": _text,
}
