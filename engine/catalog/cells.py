"""Cell syntaxes of catalog tables (spec, "Excel workbook"): lists, holders, post roles, stages, limits.

Shared by the product's workbook (`excel`) and real published tables (`tabular`). Each parser
raises CellError with a Chinese message; the caller adds the sheet, row and column.
Brackets and colons may be full-width or ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from engine.calendar.limits import LimitKind, ParsedLimit, format_limit, read_limit
from engine.calendar.units import COUNTED_UNITS, LimitUnit, TimeLimit
from engine.errors import InvalidInput

LIST_SEPARATOR = "；"
DUTY_ROLE_TEXT = {"sole": "主办", "lead": "牵头", "partner": "配合"}
DUTY_ROLE_FROM_TEXT = {"主办": "sole", "牵头": "lead", "配合": "partner", "协办": "partner",
                  "sole": "sole", "lead": "lead", "partner": "partner"}
YES = {"是", "y", "yes", "true", "1", "√", "✓"}

_BRACKETED = re.compile(r"^(?P<text>.*?)\s*[（(]\s*(?P<inner>[^()（）]*?)\s*[)）]$", re.S)
_STAGE = re.compile(r"^(?P<stage>[^：:]{1,12}?)\s*[：:]\s*(?P<text>.*)$", re.S)


class CellError(ValueError):
    """A cell whose text does not follow its syntax; the message says what was expected."""


def text(value: Any) -> str | None:
    """A cell as stripped text (numbers typed into code cells become text, 2026.0 → '2026')."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = str(value).strip()
    return result or None


def split_list(value: Any) -> list[str]:
    """`A；B` or one item per line → ['A', 'B'].

    When the cell has line breaks, only line breaks separate items: the writer puts free text
    (依据, 追责情形, 责任事项) one per line, and such text may itself contain `；`.
    """
    if value is None:
        return []
    raw = value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value
    cell = text(raw)
    if not cell:
        return []
    parts = cell.split("\n") if isinstance(raw, str) and "\n" in raw else re.split(r"[；;]", cell)
    return [p.strip() for p in parts if p.strip()]


def join_codes(items: list[str]) -> str | None:
    return LIST_SEPARATOR.join(items) or None


def join_lines(items: list[str]) -> str | None:
    """Free text one item per line; a lone item holding `；` gets a trailing line break so that
    reading it back does not split it (see split_list)."""
    if len(items) == 1 and re.search(r"[；;]", items[0]):
        return items[0] + "\n"
    return "\n".join(items) or None


def parse_bracketed(item: str, what: str) -> tuple[str, str]:
    """`张三(S001)` → ('张三', 'S001'); `X（A）` → ('X', 'A')."""
    match = _BRACKETED.match(item.strip())
    if not match or not match["text"] or not match["inner"]:
        raise CellError(f"无法识别的{what} '{item}'")
    return match["text"].strip(), match["inner"].strip()


def parse_holders(value: Any) -> list[dict[str, str]]:
    holders = []
    for item in split_list(value):
        name, staff_id = parse_bracketed(item, "在岗人员（应写作 姓名(编号)）")
        holders.append({"id": staff_id, "name": name})
    return holders


def format_holders(holders) -> str | None:
    return join_codes([f"{h.name}({h.id})" for h in holders])


def parse_post_assignments(value: Any) -> list[dict[str, str]]:
    posts = []
    for item in split_list(value):
        post, role = parse_bracketed(item, "承办岗位（应写作 岗位编码(A) 或 岗位编码(B)）")
        posts.append({"post": post, "role": unicodedata.normalize("NFKC", role).upper()})
    return posts


def format_post_assignments(posts) -> str | None:
    return join_codes([f"{p.post}({p.role})" for p in posts])


def parse_stages(value: Any) -> list[dict[str, str]]:
    """`受理：…` one per line (or `；`-separated). A line that starts no stage (no `环节：`) goes on
    the text of the stage before it, so a stage text written with line breaks reads back whole
    (blank lines and the lines' outer spaces are not kept)."""
    stages: list[dict[str, str]] = []
    for item in split_list(value):
        match = _STAGE.match(item)
        if match:
            stages.append({"stage": match["stage"].strip(), "text": match["text"].strip()})
        elif stages:
            stages[-1]["text"] += "\n" + item
        else:
            raise CellError(f"无法识别的责任事项 '{item}'（应写作 环节：内容，如 受理：依法受理申请）")
    return stages


def format_stages(stages) -> str | None:
    return join_lines([f"{s.stage}：{s.text}" for s in stages])


def parse_role(value: Any) -> str:
    cell = text(value)
    if not cell:
        return "sole"
    if cell not in DUTY_ROLE_FROM_TEXT:
        raise CellError(f"主办方式应为 主办、牵头 或 配合，实际为 '{cell}'")
    return DUTY_ROLE_FROM_TEXT[cell]


def parse_limit_cell(value: Any, category: str | None = None) -> dict[str, Any] | None:
    """A 法定时限/承诺时限 cell as real tables write it → TimeLimit data; None for an empty cell.

    `category` is the duty's 事项类型: for a 行政许可 a bare `20日` is 20 working days (行政许可法
    §82). An empty cell means "no limit recorded"; `无`, `/`, `不限` … mean the duty has no clock
    (unit `none`), `即办`/`0个工作日` a same-day limit; a bracketed note is kept.
    """
    cell = text(value)
    if not cell:
        return None
    try:
        parsed = read_limit(cell, category)
    except InvalidInput as exc:
        # The calendar's problem names the text and the expected forms: "时限 '5周'：应写作…".
        raise CellError(f"无法识别的{exc.problems[0]}" if exc.problems else exc.message) from exc
    return limit_data(parsed)


def limit_data(parsed: ParsedLimit) -> dict[str, Any]:
    """A read limit as the catalog document's TimeLimit fields (no value for 即办 and 无)."""
    data: dict[str, Any] = {"unit": parsed.kind.value}
    if parsed.kind.value in {u.value for u in COUNTED_UNITS}:
        data["value"] = parsed.value
    if parsed.note:
        data["note"] = parsed.note
    return data


def parsed_limit(limit: TimeLimit) -> ParsedLimit:
    """The catalog's TimeLimit as the calendar reads it (due dates, comparisons, printing)."""
    parsed = ParsedLimit(LimitKind(LimitUnit(limit.unit).value), limit.value or 0, limit.note)
    return ParsedLimit(parsed.kind, parsed.value, parsed.note, format_limit(parsed))


def format_limit_cell(limit: TimeLimit | None) -> str | None:
    """The text an export writes: it reads back (`parse_limit_cell`) to the same limit whatever the
    duty's category — calendar days are written `30个自然日`, never a bare `30日` that §82 would
    read as working days for a 行政许可."""
    return parsed_limit(limit).text if limit else None


def parse_int(value: Any, what: str) -> int | None:
    cell = text(value)
    if cell is None:
        return None
    try:
        return int(unicodedata.normalize("NFKC", cell))
    except ValueError:
        raise CellError(f"{what}应为整数，实际为 '{cell}'") from None


def parse_bool(value: Any) -> bool:
    cell = text(value)
    return cell is not None and cell.lower() in YES
