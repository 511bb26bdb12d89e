"""The 调整说明 between two catalog versions: added, removed and changed duties, field by field.

Duties are matched by code. A change lists each differing field with its old and new value in the
format's own shape (lists stay lists), so the API can return it as JSON and the text rendering
can print it for people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from engine.catalog.cells import format_limit_cell
from engine.catalog.document import CatalogDocument, Duty, TimeLimit
from engine.errors import InvalidInput

FIELD_LABELS: dict[str, str] = {
    "name": "事项名称",
    "category": "事项类型",
    "department": "实施主体",
    "role": "主办方式",
    "partners": "协同部门",
    "object": "管理对象",
    "action": "行为",
    "excludes": "不含对象",
    "basis": "实施依据",
    "units": "承办机构",
    "posts": "承办岗位",
    "stages": "责任事项",
    "accountability": "追责情形",
    "statutory_limit": "法定时限",
    "committed_limit": "承诺时限",
    "notice_limit": "补正告知期限",
    "extension_limit": "延期上限",
    "fee": "收费标准",
    "phone": "监督电话",
    "process": "办理流程",
}


def check_same_region(old_meta: dict, new_meta: dict) -> None:
    """InvalidInput naming both regions when the two versions (meta: region, version, id) differ in region."""
    if old_meta["region"] != new_meta["region"]:
        raise InvalidInput(
            "不能比较两个区划的清单版本",
            [f"{_label(old_meta)} 属于 {old_meta['region']}，{_label(new_meta)} 属于 {new_meta['region']}："
             "调整说明只比较同一区划的版本"],
        )


def _label(meta: dict) -> str:
    number = f"（编号 {meta['id']}）" if meta.get("id") is not None else ""
    return f"版本 '{meta['version']}'{number}"


# The 调整说明's part numbers, in order (three parts at most).
SECTION_NUMBERS = ("一", "二", "三")


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: Any
    new: Any


@dataclass(frozen=True)
class DutyRef:
    code: str
    name: str
    department: str


@dataclass(frozen=True)
class DutyChange:
    code: str
    name: str
    changes: list[FieldChange]


@dataclass
class VersionDiff:
    old: dict[str, Any]  # {"id", "version", "status"} of each side
    new: dict[str, Any]
    added: list[DutyRef] = field(default_factory=list)
    removed: list[DutyRef] = field(default_factory=list)
    changed: list[DutyChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary()}

    def summary(self) -> str:
        return f"新增 {len(self.added)} 项，取消 {len(self.removed)} 项，变更 {len(self.changed)} 项"

    def headings(self) -> dict[str, str]:
        """The headings of the parts that have entries, numbered 一、二、三 in the order they are
        shown (新增, 取消, 变更): an empty part takes no number, so the first shown is always 一."""
        parts = [(key, title) for key, title, items in (("added", "新增事项", self.added),
                                                        ("removed", "取消事项", self.removed),
                                                        ("changed", "变更事项", self.changed)) if items]
        return {key: f"{SECTION_NUMBERS[i]}、{title}" for i, (key, title) in enumerate(parts)}

    def text(self) -> str:
        """The 调整说明 as people read it."""
        lines = [f"调整说明：{self.old['version']} → {self.new['version']}（{self.summary()}）"]
        headings = self.headings()
        if self.added:
            lines.append(headings["added"])
            lines += [f"  {d.code} {d.name}（{d.department}）" for d in self.added]
        if self.removed:
            lines.append(headings["removed"])
            lines += [f"  {d.code} {d.name}（{d.department}）" for d in self.removed]
        if self.changed:
            lines.append(headings["changed"])
            for duty in self.changed:
                lines.append(f"  {duty.code} {duty.name}")
                lines += [f"    {c.label}：{render_value(c.old)} → {render_value(c.new)}" for c in duty.changes]
        if self.is_empty:
            lines.append("两个版本的事项没有差别。")
        return "\n".join(lines)


def render_value(value: Any) -> str:
    """A field value as one line of text: lists joined with ；, limits as `20个工作日`."""
    if value is None or value == [] or value == "":
        return "（无）"
    if isinstance(value, list):
        return "；".join(render_value(v) for v in value)
    if isinstance(value, dict):
        if "unit" in value:  # a time limit: written as the catalog writes it (即办, 无, notes, months)
            return format_limit_cell(TimeLimit(**value)) or "（无）"
        if "post" in value:
            return f"{value['post']}({value.get('role', 'A')})"
        if "stage" in value:
            return f"{value['stage']}：{value['text']}"
    return str(value)


def _duty_fields(duty: Duty) -> dict[str, Any]:
    data = duty.model_dump(mode="json")
    return {name: data.get(name) for name in FIELD_LABELS}


def _ref(duty: Duty) -> DutyRef:
    return DutyRef(code=duty.code, name=duty.name, department=duty.department)


def diff_documents(old: CatalogDocument, new: CatalogDocument, old_meta: dict, new_meta: dict) -> VersionDiff:
    # Two regions' catalogs share no history: the "diff" would be one whole catalog added and the
    # other cancelled (the 广安区 draft against 示例市 gave 311 added, 17 cancelled), so refuse it.
    check_same_region(old_meta | {"region": old.catalog.region, "version": old.catalog.version},
                      new_meta | {"region": new.catalog.region, "version": new.catalog.version})
    old_duties, new_duties = old.duty_by_code(), new.duty_by_code()
    result = VersionDiff(old=old_meta, new=new_meta)
    result.added = [_ref(d) for code, d in new_duties.items() if code not in old_duties]
    result.removed = [_ref(d) for code, d in old_duties.items() if code not in new_duties]
    for code, duty in new_duties.items():
        before = old_duties.get(code)
        if before is None:
            continue
        a, b = _duty_fields(before), _duty_fields(duty)
        changes = [FieldChange(name, FIELD_LABELS[name], a[name], b[name]) for name in FIELD_LABELS if a[name] != b[name]]
        if changes:
            result.changed.append(DutyChange(code=code, name=duty.name, changes=changes))
    return result

