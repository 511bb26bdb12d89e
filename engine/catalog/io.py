"""Reading and writing whole catalogs, dispatching on the file's extension.

`.yaml/.yml/.json` are the interchange format; `.xlsx` is the product's workbook when it has the
spec's sheets, else a single duties sheet as real tables are published (`tabular`); `.csv` is
always a real table. Everything read is validated: a returned document is safe to import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.catalog.document import CatalogDocument
from engine.catalog.excel import read_xlsx, write_xlsx
from engine.catalog.limits import MAX_ROWS, MAX_UPLOAD_BYTES, mb
from engine.catalog.raw import RawCatalog
from engine.catalog.tabular import read_csv
from engine.catalog.validation import validate_document
from engine.catalog.yaml_json import parse_json, parse_yaml, write_json, write_yaml
from engine.errors import InvalidInput

READ_FORMATS = (".yaml", ".yml", ".json", ".xlsx", ".csv")
WRITE_FORMATS = ("yaml", "json", "xlsx")
MEDIA_TYPES = {
    "yaml": "application/yaml",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# The lists of a catalog document; none may hold more items than a sheet may hold rows.
_DOCUMENT_LISTS = ("departments", "objects", "mandates", "duties")


def too_large(name: str, size: int) -> InvalidInput:
    return InvalidInput(f"文件 {name} 过大", [f"{name}: {mb(size)}，超过 {mb(MAX_UPLOAD_BYTES)} 上限"])


def _content_and_name(path_or_bytes: str | Path | bytes, filename: str | None) -> tuple[bytes, str]:
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


def read_raw(path_or_bytes: str | Path | bytes, filename: str | None = None) -> RawCatalog:
    """The file as the format's plain structure, before validation."""
    content, name = _content_and_name(path_or_bytes, filename)
    suffix = Path(name).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return RawCatalog(parse_yaml(content))
    if suffix == ".json":
        return RawCatalog(parse_json(content))
    if suffix == ".xlsx":
        return read_xlsx(content, name)
    if suffix == ".csv":
        return read_csv(content, name)
    raise InvalidInput(
        f"不支持的文件格式 '{suffix or name}'",
        [f"{name}: 支持的格式为 {', '.join(READ_FORMATS)}"],
    )


def read_catalog(
    path_or_bytes: str | Path | bytes,
    filename: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> CatalogDocument:
    """Read and validate a catalog file; `overrides` replaces catalog info (region, name, version …).

    Raises InvalidInput listing every problem.
    """
    raw = read_raw(path_or_bytes, filename)
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


def write_catalog(document: CatalogDocument, fmt: str) -> bytes:
    """The document as bytes in `fmt` (yaml, json or xlsx)."""
    fmt = fmt.lower()
    if fmt in ("yaml", "yml"):
        return write_yaml(document)
    if fmt == "json":
        return write_json(document)
    if fmt == "xlsx":
        return write_xlsx(document)
    raise InvalidInput(f"不支持的导出格式 '{fmt}'", [f"format: 可选 {', '.join(WRITE_FORMATS)}"])
