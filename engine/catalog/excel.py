"""The product's workbook (spec, "Excel workbook"): one sheet per part, Chinese headers, one row per item.

Beyond the spec's sheets the product writes `行为同义词` (action_synonyms) and `角色` (the roles
extension) and a `负责人岗` column on `岗位`, so a workbook it writes reads back to the same
catalog. A workbook without a `部门` sheet is a real published table: see `tabular`.
openpyxl parses the workbook's XML through defusedxml when it is installed (it is a dependency),
which keeps untrusted uploads from expanding entities.
"""

from __future__ import annotations

import unicodedata
import zipfile
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font

from engine.catalog import cells
from engine.catalog.document import CatalogDocument
from engine.catalog.limits import (
    MAX_XLSX_MEMBERS,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNPACKED_BYTES,
    MIN_RATIO_CHECKED_BYTES,
    mb,
    sheet_rows,
)
from engine.catalog.raw import RawCatalog
from engine.catalog.tabular import read_table_workbook
from engine.errors import InvalidInput
from engine.xlsx_cells import keep_text

INFO = ("清单信息", ("地区", "清单名称", "版本", "施行日期"))
DEPARTMENTS = ("部门", ("部门编码", "部门名称", "部门类型", "编制数", "部门负责人岗位"))
UNITS = ("内设机构", ("部门编码", "机构编码", "机构名称", "编制数"))
POSTS = ("岗位", ("机构编码", "岗位编码", "岗位名称", "在岗人员", "B角岗位", "负责人岗"))
OBJECTS = ("对象分类", ("对象名称", "上级对象", "别名"))
SYNONYMS = ("行为同义词", ("行为写法", "标准行为"))
MANDATES = ("法定职责", ("职责编码", "管理对象", "行为", "依据"))
DUTIES = (
    "权责事项",
    ("事项编码", "事项名称", "事项类型", "实施主体", "主办方式", "协同部门", "管理对象", "行为", "不含对象",
     "实施依据", "承办机构", "承办岗位", "责任事项", "追责情形", "法定时限", "承诺时限", "收费标准", "监督电话",
     "办理流程", "补正告知期限", "延期上限"),
)
ROLES = ("角色", ("角色", "绑定对象"))
SHEETS = (INFO, DEPARTMENTS, UNITS, POSTS, OBJECTS, SYNONYMS, MANDATES, DUTIES, ROLES)


# ---------------------------------------------------------------- reading


def _not_a_workbook(name: str, reason: str) -> InvalidInput:
    return InvalidInput(f"无法读取 Excel 文件 {name}", [f"{name}: 不是有效的 .xlsx 工作簿（{reason}）"])


def check_archive(content: bytes, name: str) -> None:
    """Refuse a zip bomb from the zip's directory alone, before any member is inflated.

    Members are counted on their directory signatures first (a directory of millions of entries
    would cost more to load than to count), then each member's declared unpacked size and ratio
    and their total are held to the limits (engine.catalog.limits says why those numbers).
    """
    if content.count(b"PK\x01\x02") > MAX_XLSX_MEMBERS:
        raise InvalidInput(f"Excel 文件 {name} 的部件过多",
                           [f"{name}: 超过 {MAX_XLSX_MEMBERS} 个压缩部件，不是清单工作簿"])
    try:
        with zipfile.ZipFile(BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise _not_a_workbook(name, type(exc).__name__) from None
    check_archive_members(members, name)


def check_archive_members(members: list[zipfile.ZipInfo], name: str) -> None:
    """Each member's declared ratio, then the declared total, against the limits."""
    for member in members:
        packed = max(member.compress_size, 1)
        if member.file_size > MIN_RATIO_CHECKED_BYTES and member.file_size > MAX_XLSX_RATIO * packed:
            raise InvalidInput(
                f"Excel 文件 {name} 解压后过大（疑似压缩炸弹）",
                [f"{name}: 部件 {member.filename} 由 {mb(member.compress_size)} 解压为 {mb(member.file_size)}，"
                 f"压缩比 {member.file_size // packed}:1 超过 {MAX_XLSX_RATIO}:1 上限"],
            )
    total = sum(member.file_size for member in members)
    if total > MAX_XLSX_UNPACKED_BYTES:
        raise InvalidInput(
            f"Excel 文件 {name} 解压后过大",
            [f"{name}: 解压后共 {mb(total)}，超过 {mb(MAX_XLSX_UNPACKED_BYTES)} 上限"],
        )


def open_workbook(content: bytes, name: str):
    check_archive(content, name)
    try:
        return load_workbook(BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-xlsx file
        raise _not_a_workbook(name, type(exc).__name__) from None


def header_key(value: Any) -> str:
    """Headers as typed by people: full-width forms, spaces and required-field stars removed."""
    return unicodedata.normalize("NFKC", str(value or "")).replace(" ", "").replace("*", "").strip()


class _Sheet:
    """Rows of one sheet as {header: value}, with their Excel row numbers."""

    def __init__(self, workbook, title: str):
        self.title = title
        self.rows: list[tuple[int, dict[str, Any]]] = []
        if title not in workbook.sheetnames:
            return
        rows = sheet_rows(workbook[title])
        headers = [header_key(h) for h in next(rows, ())]
        for number, values in enumerate(rows, start=2):
            if all(cells.text(v) is None for v in values):
                continue
            self.rows.append((number, {h: v for h, v in zip(headers, values, strict=False) if h}))


def is_product_workbook(workbook) -> bool:
    return DEPARTMENTS[0] in workbook.sheetnames


def read_xlsx(content: bytes, name: str) -> RawCatalog:
    workbook = open_workbook(content, name)
    try:
        if not is_product_workbook(workbook):
            return read_table_workbook(workbook, name)
        return _WorkbookReader(workbook).read()
    finally:
        workbook.close()


class _WorkbookReader:
    def __init__(self, workbook):
        self.workbook = workbook
        self.raw = RawCatalog(data={})

    def cell(self, sheet: str, number: int, row: dict[str, Any], header: str, parse=cells.text):
        try:
            return parse(row.get(header))
        except cells.CellError as exc:
            self.raw.problems.append(f"{sheet} 第{number}行 {header}: {exc}")
            return None

    def read(self) -> RawCatalog:
        data = self.raw.data
        data["catalog"] = self._info()
        data["departments"] = self._organisation()
        data["objects"] = self._objects()
        data["action_synonyms"] = self._synonyms()
        data["mandates"] = self._mandates()
        data["duties"] = self._duties()
        data["roles"] = self._roles()
        return self.raw

    def _info(self) -> dict[str, Any]:
        sheet = _Sheet(self.workbook, INFO[0])
        if not sheet.rows:
            return {}
        number, row = sheet.rows[0]
        self.raw.places["catalog"] = f"{INFO[0]} 第{number}行"
        return {
            "region": cells.text(row.get("地区")),
            "name": cells.text(row.get("清单名称")),
            "version": cells.text(row.get("版本")),
            "effective_date": cells.text(row.get("施行日期")),
        }

    def _organisation(self) -> list[dict[str, Any]]:
        departments: list[dict[str, Any]] = []
        # Keyed by the code as written: None for a row without one (validation names it later).
        by_code: dict[str | None, dict[str, Any]] = {}
        for number, row in _Sheet(self.workbook, DEPARTMENTS[0]).rows:
            item = {
                "code": cells.text(row.get("部门编码")),
                "name": cells.text(row.get("部门名称")),
                "kind": cells.text(row.get("部门类型")),
                "staffing_quota": self.cell(DEPARTMENTS[0], number, row, "编制数", lambda v: cells.parse_int(v, "编制数")),
                "head_post": cells.text(row.get("部门负责人岗位")),
                "units": [],
            }
            self.raw.places[f"departments[{len(departments)}]"] = f"{DEPARTMENTS[0]} 第{number}行"
            departments.append(item)
            by_code.setdefault(item["code"], item)
        units: dict[str | None, tuple[int, dict[str, Any], str]] = {}
        for number, row in _Sheet(self.workbook, UNITS[0]).rows:
            department_code = cells.text(row.get("部门编码"))
            department = by_code.get(department_code)
            if department is None:
                self.raw.problems.append(f"{UNITS[0]} 第{number}行 部门编码: 未知部门 '{department_code}'")
                continue
            item = {
                "code": cells.text(row.get("机构编码")),
                "name": cells.text(row.get("机构名称")),
                "staffing_quota": self.cell(UNITS[0], number, row, "编制数", lambda v: cells.parse_int(v, "编制数")),
                "posts": [],
            }
            path = f"departments[{departments.index(department)}].units[{len(department['units'])}]"
            self.raw.places[path] = f"{UNITS[0]} 第{number}行"
            department["units"].append(item)
            units.setdefault(item["code"], (number, item, path))
        for number, row in _Sheet(self.workbook, POSTS[0]).rows:
            unit_code = cells.text(row.get("机构编码"))
            if unit_code not in units:
                self.raw.problems.append(f"{POSTS[0]} 第{number}行 机构编码: 未知内设机构 '{unit_code}'")
                continue
            _, unit, unit_path = units[unit_code]
            self.raw.places[f"{unit_path}.posts[{len(unit['posts'])}]"] = f"{POSTS[0]} 第{number}行"
            unit["posts"].append({
                "code": cells.text(row.get("岗位编码")),
                "name": cells.text(row.get("岗位名称")),
                "holders": self.cell(POSTS[0], number, row, "在岗人员", cells.parse_holders) or [],
                "backup": cells.text(row.get("B角岗位")),
                "head": cells.parse_bool(row.get("负责人岗")),
            })
        return departments

    def _objects(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for number, row in _Sheet(self.workbook, OBJECTS[0]).rows:
            self.raw.places[f"objects[{len(items)}]"] = f"{OBJECTS[0]} 第{number}行"
            items.append({
                "name": cells.text(row.get("对象名称")),
                "parent": cells.text(row.get("上级对象")),
                "aliases": cells.split_list(row.get("别名")),
            })
        return items

    def _synonyms(self) -> dict[str, str]:
        synonyms = {}
        for number, row in _Sheet(self.workbook, SYNONYMS[0]).rows:
            variant, canonical = cells.text(row.get("行为写法")), cells.text(row.get("标准行为"))
            if not variant or not canonical:
                self.raw.problems.append(f"{SYNONYMS[0]} 第{number}行: 行为写法和标准行为都必须填写")
                continue
            synonyms[variant] = canonical
        return synonyms

    def _mandates(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for number, row in _Sheet(self.workbook, MANDATES[0]).rows:
            self.raw.places[f"mandates[{len(items)}]"] = f"{MANDATES[0]} 第{number}行"
            items.append({
                "code": cells.text(row.get("职责编码")),
                "object": cells.text(row.get("管理对象")),
                "action": cells.text(row.get("行为")),
                "basis": cells.split_list(row.get("依据")),
            })
        return items

    def _duties(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        sheet = DUTIES[0]
        for number, row in _Sheet(self.workbook, sheet).rows:
            self.raw.places[f"duties[{len(items)}]"] = f"{sheet} 第{number}行"
            category = cells.text(row.get("事项类型"))
            items.append(_without_none({
                "code": cells.text(row.get("事项编码")),
                "name": cells.text(row.get("事项名称")),
                "category": category,
                "department": cells.text(row.get("实施主体")),
                "role": self.cell(sheet, number, row, "主办方式", cells.parse_role),
                "partners": cells.split_list(row.get("协同部门")),
                "object": cells.text(row.get("管理对象")),
                "action": cells.text(row.get("行为")),
                "excludes": cells.split_list(row.get("不含对象")),
                "basis": cells.split_list(row.get("实施依据")),
                "units": cells.split_list(row.get("承办机构")),
                "posts": self.cell(sheet, number, row, "承办岗位", cells.parse_post_assignments) or [],
                "stages": self.cell(sheet, number, row, "责任事项", cells.parse_stages) or [],
                "accountability": cells.split_list(row.get("追责情形")),
                # The duty's category decides what a bare `20日` counts (行政许可法 §82).
                "statutory_limit": self.cell(sheet, number, row, "法定时限", lambda v, c=category: cells.parse_limit_cell(v, c)),
                "committed_limit": self.cell(sheet, number, row, "承诺时限", lambda v, c=category: cells.parse_limit_cell(v, c)),
                "fee": cells.text(row.get("收费标准")),
                "phone": cells.text(row.get("监督电话")),
                "process": cells.text(row.get("办理流程")),
                "notice_limit": self.cell(sheet, number, row, "补正告知期限", lambda v, c=category: cells.parse_limit_cell(v, c)),
                "extension_limit": self.cell(sheet, number, row, "延期上限", lambda v, c=category: cells.parse_limit_cell(v, c)),
            }))
        return items

    def _roles(self) -> dict[str, list[str]]:
        roles: dict[str, list[str]] = {}
        for number, row in _Sheet(self.workbook, ROLES[0]).rows:
            role = cells.text(row.get("角色"))
            if not role:
                self.raw.problems.append(f"{ROLES[0]} 第{number}行 角色: 必须填写角色名称")
                continue
            roles.setdefault(role, []).extend(cells.split_list(row.get("绑定对象")))
        return roles


def _without_none(item: dict[str, Any]) -> dict[str, Any]:
    """Drop empty cells so the document's defaults apply (and required ones are reported missing)."""
    return {k: v for k, v in item.items() if v is not None}


# ---------------------------------------------------------------- writing


def _append(sheet, values: list[Any]) -> None:
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        keep_text(cell)  # a duty's name, fee or 问责情形 must never become a formula
        if isinstance(cell.value, str) and "\n" in cell.value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _sheet(workbook: Workbook, spec: tuple[str, tuple[str, ...]]):
    title, headers = spec
    sheet = workbook.create_sheet(title)
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, header in enumerate(headers):
        sheet.column_dimensions[sheet.cell(1, index + 1).column_letter].width = max(12, len(header) * 3)
    sheet.freeze_panes = "A2"
    return sheet


def write_xlsx(document: CatalogDocument) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    info = document.catalog
    _append(_sheet(workbook, INFO), [info.region, info.name, info.version,
                                     info.effective_date.isoformat() if info.effective_date else None])
    departments, units, posts = _sheet(workbook, DEPARTMENTS), _sheet(workbook, UNITS), _sheet(workbook, POSTS)
    for department in document.departments:
        _append(departments, [department.code, department.name, department.kind, department.staffing_quota,
                              department.head_post])
        for unit in department.units:
            _append(units, [department.code, unit.code, unit.name, unit.staffing_quota])
            for post in unit.posts:
                _append(posts, [unit.code, post.code, post.name, cells.format_holders(post.holders), post.backup,
                                "是" if post.head else None])
    objects = _sheet(workbook, OBJECTS)
    for item in document.objects:
        _append(objects, [item.name, item.parent, cells.join_codes(item.aliases)])
    synonyms = _sheet(workbook, SYNONYMS)
    for variant, canonical in document.action_synonyms.items():
        _append(synonyms, [variant, canonical])
    mandates = _sheet(workbook, MANDATES)
    for mandate in document.mandates:
        _append(mandates, [mandate.code, mandate.object, mandate.action, cells.join_lines(mandate.basis)])
    duties = _sheet(workbook, DUTIES)
    for duty in document.duties:
        _append(duties, [
            duty.code, duty.name, duty.category, duty.department, cells.DUTY_ROLE_TEXT[duty.role.value],
            cells.join_codes(duty.partners), duty.object, duty.action, cells.join_codes(duty.excludes),
            cells.join_lines(duty.basis), cells.join_codes(duty.units), cells.format_post_assignments(duty.posts),
            cells.format_stages(duty.stages), cells.join_lines(duty.accountability),
            cells.format_limit_cell(duty.statutory_limit), cells.format_limit_cell(duty.committed_limit),
            duty.fee, duty.phone, duty.process,
            cells.format_limit_cell(duty.notice_limit), cells.format_limit_cell(duty.extension_limit),
        ])
    roles = _sheet(workbook, ROLES)
    for role, targets in document.roles.items():
        _append(roles, [role, cells.join_codes(targets)])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
