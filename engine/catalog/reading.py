"""What reading a catalog file does whatever its format: the upload limit, the item limit, and
validation with the reader's own problems and places.

Each format has a reader of its own that turns the file's bytes into a `RawCatalog`:
`engine.catalog.yaml_json` (.yaml/.yml/.json, the interchange format), `engine.catalog.excel`
(.xlsx) and `engine.catalog.tabular` (.csv); `engine.catalog.io` picks one by the file's
extension. This part is apart from the dispatch so a reader can be used without loading the
others: openpyxl alone takes longer to import than `dutyflow analyze` takes to read 20,000
duties from JSON (issue 11 item 6).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.catalog.document import CatalogDocument
from engine.catalog.limits import MAX_ROWS, MAX_UPLOAD_BYTES, mb
from engine.catalog.raw import RawCatalog
from engine.catalog.validation import validate_document
from engine.errors import InvalidInput

# The lists of a catalog document; none may hold more items than a sheet may hold rows.
_DOCUMENT_LISTS = ("departments", "objects", "mandates", "duties")


def too_large(name: str, size: int) -> InvalidInput:
    return InvalidInput(f"文件 {name} 过大", [f"{name}: {mb(size)}，超过 {mb(MAX_UPLOAD_BYTES)} 上限"])


def file_content(path_or_bytes: str | Path | bytes, filename: str | None) -> tuple[bytes, str]:
    """The file's bytes and name; a file over the upload limit is refused before it is read
    (the CLI reads the same files the web upload takes, under the same limit)."""
    if isinstance(path_or_bytes, bytes):
        if not filename:
            raise InvalidInput("无法判断文件格式", ["filename: 上传内容需附带文件名（.yaml/.yml/.json/.xlsx/.csv）"])
        if len(path_or_bytes) > MAX_UPLOAD_BYTES:
            raise too_large(filename, len(path_or_bytes))
        return path_or_bytes, filename
    path = Path(path_or_bytes)
    try:
        size = path.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise too_large(path.name, size)
        return path.read_bytes(), filename or path.name
    except OSError as exc:
        raise InvalidInput(f"无法读取文件 {path}", [f"{path}: {exc.strerror or exc}"]) from None


def _check_counts(data: Any) -> None:
    """A YAML/JSON document is held to the same item limit as a sheet's rows, before validation
    builds a model of every item."""
    if not isinstance(data, dict):
        return
    over = [f"{key}: {len(data[key])} 项，超过 {MAX_ROWS} 项上限" for key in _DOCUMENT_LISTS
            if isinstance(data.get(key), list) and len(data[key]) > MAX_ROWS]
    if over:
        raise InvalidInput("清单条目过多", over)


def validated(raw: RawCatalog, overrides: dict[str, Any] | None = None) -> CatalogDocument:
    """The reader's structure validated into a document; `overrides` replaces catalog info
    (region, name, version …). Raises InvalidInput listing every problem, the reader's first,
    each placed where the file has it (`权责事项 第5行`) when the reader knows."""
    data = raw.data
    _check_counts(data)
    if overrides and isinstance(data, dict):
        info = data.get("catalog")
        if not isinstance(info, dict):
            info = {}
        data["catalog"] = {**info, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        document = validate_document(data)
    except InvalidInput as exc:
        fresh = [p for p in exc.problems if p.split(":", 1)[0] not in raw.reported]
        problems = raw.problems + [raw.locate(p) for p in fresh]
        raise InvalidInput(f"清单校验未通过，共 {len(problems)} 处问题", problems) from None
    if raw.problems:
        raise InvalidInput(f"清单校验未通过，共 {len(raw.problems)} 处问题", raw.problems)
    return document
