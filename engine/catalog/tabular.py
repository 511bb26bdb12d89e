"""Real published tables: one duties sheet (xlsx) or a CSV, in the layouts found in the wild.

What is recognised (docs/catalog-format.md, "Real published tables"):
- header synonyms (`HEADER_SYNONYMS`), with spaces, `*` and bracketed remarks ignored, and a
  header row that may sit below title rows;
- category variants (`map_category`): the 12 names, platform codes 01–10 and 20 (also written
  1, 5 …), 行政监督 → 行政检查, sub-typed values (`其他行政权力-备案` → 其他行政权力); anything
  else is refused naming the row and the value;
- 责任事项 as one numbered block (`1.受理责任：… 2.审查责任：…`) split into stages, and 依据 /
  追责情形 cells holding several lines.

Derived codes, stable across imports so versions of the same table diff cleanly:
- a department gets its `部门编码`, else the table's own `部门标识` (the first one seen for that
  department name; one already used by another department is not reused), else `D` + the first
  8 hex digits (upper case) of the SHA-1 of its NFKC-normalised name;
- a unit named in 承办机构 gets `<department code>-U` + 6 hex digits of the SHA-1 of its name;
- a row without 事项编码 gets `<department code>-` + 8 hex digits of the SHA-1 of its name, with
  `-2`, `-3` … for repeats of the same name in the same department.
Catalog info comes from the file name unless given (CLI options): name = the file's stem,
region = the single value of a 区划名称 column, else of a 区划代码 column, else the stem (a version
belongs to its region: --region / the form's 地区 name it when the table does not), version = a
`2026` / `2026.1` / `v3` found in the stem, else "1".
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from pathlib import Path
from typing import Any

from engine.catalog import cells
from engine.catalog.document import CATEGORIES, STAGES
from engine.catalog.limits import MAX_COLUMNS, MAX_ROWS, MAX_TITLE_ROWS, sheet_rows
from engine.catalog.raw import RawCatalog
from engine.errors import InvalidInput

HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "事项编码": ("事项编码", "编码", "职权编码", "权力编码", "事项代码", "权责事项编码", "基本编码"),
    "事项名称": ("事项名称", "权责事项名称", "权力事项名称", "职权名称", "权力名称", "子项名称"),
    "主项名称": ("主项名称",),
    "事项类型": ("事项类型", "权力类型", "权力类别", "职权类型", "职权类别", "事项类别"),
    "事项类型代码": ("事项类型代码", "权力类型代码", "类型代码"),
    "实施主体": ("实施主体", "行使主体", "责任主体", "部门名称", "部门", "实施部门", "实施机关"),
    "部门编码": ("部门编码",),
    "部门标识": ("部门标识", "部门代码", "实施主体编码", "实施主体代码"),
    "主办方式": ("主办方式",),
    "协同部门": ("协同部门", "配合部门"),
    "管理对象": ("管理对象",),
    "行为": ("行为",),
    "不含对象": ("不含对象",),
    "实施依据": ("实施依据", "设定依据", "法律依据", "依据", "设定和实施依据"),
    "承办机构": ("承办机构", "承办科室", "责任科室", "内设机构"),
    "责任事项": ("责任事项",),
    "追责情形": ("追责情形", "问责情形", "追责情形及追责依据"),
    "法定时限": ("法定时限", "法定办结时限"),
    "承诺时限": ("承诺时限", "承诺办结时限"),
    "收费标准": ("收费标准", "收费依据及标准"),
    "监督电话": ("监督电话", "监督投诉电话"),
    "办理流程": ("办理流程",),
    "区划代码": ("区划代码", "行政区划代码"),
    "区划名称": ("区划名称", "行政区划名称", "区划", "行政区划"),
}
_CANONICAL = {variant: canonical for canonical, variants in HEADER_SYNONYMS.items() for variant in variants}

PLATFORM_CODES: dict[int, str] = {
    1: "行政许可", 2: "行政处罚", 3: "行政强制", 4: "行政征收", 5: "行政给付", 6: "行政检查",
    7: "行政确认", 8: "行政奖励", 9: "行政裁决", 10: "其他行政权力", 20: "公共服务",
}
CATEGORY_VARIANTS: dict[str, str] = {
    "行政监督": "行政检查",
    "行政监督检查": "行政检查",
    "监督检查": "行政检查",
    "其他职权": "其他行政权力",
    "其他权力": "其他行政权力",
    "其他行政职权": "其他行政权力",
    "审核转报": "其他行政权力",
    "行政备案": "其他行政权力",
    "内部审批": "内部管理",
    "公共服务事项": "公共服务",
}
# Stage words of numbered 责任事项 blocks ("3.决定责任：…") → the format's stages.
STAGE_WORDS: dict[str, str] = {
    "受理": "受理", "审查": "审查", "审核": "审查", "决定": "决定", "审批": "决定", "批准": "决定",
    "送达": "送达", "告知": "送达", "事后监管": "事后监管", "监管": "事后监管", "监督": "事后监管",
    "后续监管": "事后监管",
}
_NUMBERED = re.compile(r"(?:^|(?<=[\s；;。]))\s*[（(]?\d{1,2}[)）]?\s*[.、．]\s*")
_STAGE_LABEL = re.compile(r"^(?P<word>[^：:]{1,10}?)(?:责任|环节)?\s*[：:]\s*(?P<text>.*)$", re.S)
_VERSION_IN_NAME = re.compile(r"(?:v|V|版本)?((?:19|20)\d{2}(?:[.\-]\d{1,2})?)|(?:v|V)(\d+)")


def header_key(value: Any) -> str:
    key = unicodedata.normalize("NFKC", str(value or ""))
    key = re.sub(r"[（(][^）)]*[)）]", "", key)
    return key.replace(" ", "").replace("*", "").replace("\n", "").strip()


def canonical_header(value: Any) -> str | None:
    return _CANONICAL.get(header_key(value))


def derived_code(name: str, length: int = 8) -> str:
    normalised = unicodedata.normalize("NFKC", name).strip()
    return hashlib.sha1(normalised.encode("utf-8")).hexdigest()[:length].upper()


def row_category(row: dict[str, Any]) -> str | None:
    """A row's category for reading its limits (§82); None when unreadable (reported under 事项类型)."""
    try:
        return map_category(row.get("事项类型"), row.get("事项类型代码"))
    except cells.CellError:
        return None


def map_category(value: Any, code: Any = None) -> str:
    """A category as real tables write it → one of the 12; CellError naming the value otherwise."""
    cell = cells.text(value)
    if cell:
        cell = unicodedata.normalize("NFKC", cell).replace(" ", "")
        if cell in CATEGORIES:
            return cell
        if cell in CATEGORY_VARIANTS:
            return CATEGORY_VARIANTS[cell]
        # ASCII digits only (full-width ones are ASCII after NFKC): str.isdigit() also takes '᧚',
        # which int() refuses — a ValueError that answered an upload with 500.
        if cell.isascii() and cell.isdigit() and int(cell) in PLATFORM_CODES:
            return PLATFORM_CODES[int(cell)]
        # Sub-typed values: 其他行政权力-备案, 行政许可（变更）, 其他行政权力/审核转报
        head = re.split(r"[-—–－/／（(]", cell, maxsplit=1)[0]
        if head != cell and (head in CATEGORIES or head in CATEGORY_VARIANTS):
            return CATEGORY_VARIANTS.get(head, head)
    platform = cells.text(code)
    if platform and not cell:
        digits = unicodedata.normalize("NFKC", platform)
        if digits.isascii() and digits.isdigit() and int(digits) in PLATFORM_CODES:
            return PLATFORM_CODES[int(digits)]
        raise cells.CellError(f"无法识别的事项类型代码 '{platform}'（平台代码为 01–10 或 20）")
    if not cell:
        raise cells.CellError("事项类型必须填写")
    raise cells.CellError(
        f"无法识别的事项类型 '{cell}'（应为 {'、'.join(CATEGORIES)} 之一，或平台代码 01–10、20）"
    )


def split_stage_block(value: Any) -> list[dict[str, str]]:
    """`1.受理责任：… 2.审查责任：…` (or one stage per line, or `受理：…；审查：…`) → stages."""
    cell = cells.text(value)
    if not cell:
        return []
    parts = [p.strip() for p in _NUMBERED.split(cell) if p.strip()]
    if len(parts) == 1:
        parts = cells.split_list(value)
    stages = []
    for part in parts:
        match = _STAGE_LABEL.match(part)
        word = match["word"].strip() if match else None
        if match and word in STAGES:
            stages.append({"stage": word, "text": match["text"].strip()})
        elif match and word in STAGE_WORDS:
            stages.append({"stage": STAGE_WORDS[word], "text": match["text"].strip()})
        else:
            # 执行责任、其他责任 … or text without a label: kept whole under 其他.
            stages.append({"stage": "其他", "text": part.rstrip("；;")})
    return stages


def split_lines(value: Any) -> list[str]:
    """依据 / 追责情形: several provisions on several lines (a leading `1.` numbering dropped)."""
    cell = cells.text(value)
    if not cell:
        return []
    lines = [line.strip() for line in cell.replace("\r", "\n").split("\n")]
    return [re.sub(r"^[（(]?\d{1,2}[)）]?\s*[.、．]\s*", "", line) for line in lines if line]


# ---------------------------------------------------------------- rows


def _find_header(rows: list[list[Any]]) -> int | None:
    """The first of the top rows that names the item and its department or category."""
    for index, row in enumerate(rows[:15]):
        found = {canonical_header(v) for v in row}
        if "事项名称" in found and found & {"实施主体", "事项类型", "事项类型代码"}:
            return index
    return None


def read_rows(rows: list[list[Any]], source: str, sheet: str) -> RawCatalog:
    """A table (first rows may be titles) → RawCatalog with departments, units and duties derived."""
    header_index = _find_header(rows)
    if header_index is None:
        seen = "、".join(h for h in (header_key(v) for v in (rows[0] if rows else [])) if h) or "（空）"
        raise InvalidInput(
            f"无法识别 {source} 的表头",
            [f"{sheet} 表头: 需要 事项名称（或 职权名称、权力名称 …）以及 实施主体（或 部门名称 …）或 事项类型 列；"
             f"第一行为：{seen}"],
        )
    headers = [canonical_header(v) for v in rows[header_index]]
    builder = _TableBuilder(source, sheet)
    for offset, values in enumerate(rows[header_index + 1 :], start=header_index + 2):
        row: dict[str, Any] = {}
        for header, value in zip(headers, values, strict=False):
            if header and header not in row:
                row[header] = value
        if all(cells.text(v) is None for v in values):
            continue
        builder.add(offset, row)
    if "实施主体" not in headers:
        builder.raw.problems.append(f"{sheet} 表头: 缺少 实施主体 列（或 行使主体、责任主体、部门名称、部门）")
    return builder.finish(headers)


class _TableBuilder:
    def __init__(self, source: str, sheet: str):
        self.source, self.sheet = source, sheet
        self.raw = RawCatalog(data={})
        self.departments: dict[str, dict[str, Any]] = {}  # by name
        self.duties: list[dict[str, Any]] = []
        self.code_counts: dict[str, int] = {}
        self.regions: set[str] = set()
        self.region_names: set[str] = set()
        self.codes_used: dict[str, str] = {}  # department code -> the department name that took it

    def problem(self, number: int, header: str, message: str) -> None:
        self.raw.problems.append(f"{self.sheet} 第{number}行 {header}: {message}")

    def department(self, name: str, code: str | None = None) -> dict[str, Any]:
        if name not in self.departments:
            # The table's own identifier when it has one; one already taken by another department
            # (a copy slip) falls back to the name's hash rather than merging two departments.
            if code is None or self.codes_used.get(code, name) != name:
                code = "D" + derived_code(name)
            self.codes_used[code] = name
            self.departments[name] = {"code": code, "name": name, "units": []}
        return self.departments[name]

    def unit(self, department: dict[str, Any], name: str) -> str:
        for unit in department["units"]:
            if unit["name"] == name:
                return unit["code"]
        code = f"{department['code']}-U{derived_code(name, 6)}"
        department["units"].append({"code": code, "name": name})
        return code

    def duty_code(self, department: dict[str, Any], name: str) -> str:
        base = f"{department['code']}-{derived_code(name)}"
        self.code_counts[base] = self.code_counts.get(base, 0) + 1
        count = self.code_counts[base]
        return base if count == 1 else f"{base}-{count}"

    def cell(self, number: int, header: str, parse, value: Any):
        try:
            return parse(value)
        except cells.CellError as exc:
            self.problem(number, header, str(exc))
            return None

    def add(self, number: int, row: dict[str, Any]) -> None:
        name = cells.text(row.get("事项名称")) or cells.text(row.get("主项名称"))
        department_name = cells.text(row.get("实施主体"))
        if not name:
            self.problem(number, "事项名称", "必须填写")
            return
        if not department_name:
            self.problem(number, "实施主体", "必须填写")
            return
        region = cells.text(row.get("区划代码"))
        if region:
            self.regions.add(region)
        region_name = cells.text(row.get("区划名称"))
        if region_name:
            self.region_names.add(region_name)
        # 部门编码 (the format's column) wins; 部门标识 is what the province platform exports. A
        # department listed under several identifiers (区人社局 …239R, …239R_5143) keeps its first.
        department = self.department(
            department_name, cells.text(row.get("部门编码")) or cells.text(row.get("部门标识"))
        )
        self.raw.places[f"duties[{len(self.duties)}]"] = f"{self.sheet} 第{number}行"
        duty: dict[str, Any] = {
            "code": cells.text(row.get("事项编码")) or self.duty_code(department, name),
            "name": name,
            "category": self.cell(number, "事项类型", lambda v: map_category(v, row.get("事项类型代码")),
                                  row.get("事项类型")),
            "department": department["code"],
            "role": self.cell(number, "主办方式", cells.parse_role, row.get("主办方式")),
            "partners": [self.department(p)["code"] for p in cells.split_list(row.get("协同部门"))],
            "object": cells.text(row.get("管理对象")),
            "action": cells.text(row.get("行为")),
            "excludes": cells.split_list(row.get("不含对象")),
            "basis": split_lines(row.get("实施依据")),
            "units": [self.unit(department, u) for u in cells.split_list(row.get("承办机构"))],
            "stages": self.cell(number, "责任事项", split_stage_block, row.get("责任事项")) or [],
            "accountability": split_lines(row.get("追责情形")),
            # The row's category decides what a bare `20日` counts (行政许可法 §82).
            "statutory_limit": self.cell(number, "法定时限", lambda v: cells.parse_limit_cell(v, row_category(row)),
                                         row.get("法定时限")),
            "committed_limit": self.cell(number, "承诺时限", lambda v: cells.parse_limit_cell(v, row_category(row)),
                                         row.get("承诺时限")),
            "fee": cells.text(row.get("收费标准")),
            "phone": cells.text(row.get("监督电话")),
            "process": cells.text(row.get("办理流程")),
        }
        if duty["category"] is None:
            # Already reported with its row; a placeholder keeps the document typed.
            duty["category"] = ""
            self.raw.reported.add(f"duties[{len(self.duties)}].category")
        self.duties.append({k: v for k, v in duty.items() if v is not None})

    def _region(self, stem: str) -> str:
        """The region the table names (区划名称, else 区划代码) when it names one; else the stem
        (the CLI's --region and the upload form's 地区 override it)."""
        for found in (self.region_names, self.regions):
            if len(found) == 1:
                return next(iter(found))
        return stem

    def finish(self, headers: list[str | None]) -> RawCatalog:
        stem = Path(self.source).stem
        version = _VERSION_IN_NAME.search(stem)
        self.raw.data = {
            "catalog": {
                "region": self._region(stem),
                "name": stem,
                "version": (version.group(1) or version.group(2)) if version else "1",
            },
            "departments": list(self.departments.values()),
            "duties": self.duties,
        }
        return self.raw


# ---------------------------------------------------------------- files


def _decode(content: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"无法读取 {name}", [f"{name}: 文件编码应为 UTF-8 或 GB18030"])


def read_csv(content: bytes, name: str) -> RawCatalog:
    text = _decode(content, name)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    return read_rows(_csv_rows(text, dialect, name), name, "CSV")


def _csv_rows(text: str, dialect, name: str) -> list[list[str]]:
    """The CSV's rows, refused as soon as they pass the row or column limit (engine.catalog.limits)."""
    max_rows = MAX_ROWS + MAX_TITLE_ROWS
    reader = csv.reader(io.StringIO(text), dialect)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if len(rows) == max_rows:
                raise InvalidInput(
                    f"{name} 行数过多",
                    [f"CSV: 超过 {max_rows} 行上限（清单最多 {MAX_ROWS} 项，另可有 {MAX_TITLE_ROWS} 行标题）"],
                )
            if len(row) > MAX_COLUMNS:
                raise InvalidInput(f"{name} 列数过多",
                                   [f"CSV 第{reader.line_num}行: {len(row)} 列，超过 {MAX_COLUMNS} 列上限"])
            rows.append(row)
    except csv.Error as exc:
        raise InvalidInput(f"无法读取 {name}", [f"CSV 第{reader.line_num}行: {exc}"]) from None
    return rows


def read_table_workbook(workbook, name: str) -> RawCatalog:
    """The sheet that looks like a duties table (the first one with recognisable headers)."""
    for sheet in workbook.worksheets:
        rows = [list(r) for r in sheet_rows(sheet)]
        if _find_header(rows) is not None:
            return read_rows(rows, name, sheet.title)
    first = workbook.worksheets[0] if workbook.worksheets else None
    rows = [list(next(sheet_rows(first), ()))] if first else []
    return read_rows(rows, name, first.title if first else name)
