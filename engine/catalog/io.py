"""Reading and writing whole catalogs, dispatching on the file's extension.

`.yaml/.yml/.json` are the interchange format; `.xlsx` is the product's workbook when it has the
spec's sheets, else a single duties sheet as real tables are published (`tabular`); `.csv` is
always a real table. Everything read is validated (engine.catalog.reading): a returned document
is safe to import. Each format's reader is a module of its own; code that reads only the
interchange format can use `engine.catalog.yaml_json.read_interchange_catalog` and leave
openpyxl unloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.catalog.document import CatalogDocument
from engine.catalog.excel import read_xlsx, write_xlsx
from engine.catalog.raw import RawCatalog
from engine.catalog.reading import file_content, validated
from engine.catalog.tabular import read_csv
from engine.catalog.yaml_json import read_json, read_yaml, write_json, write_yaml
from engine.errors import InvalidInput

# Each readable extension and its reader: the file's bytes and name → its plain structure.
READERS: dict[str, Callable[[bytes, str], RawCatalog]] = {
    ".yaml": read_yaml,
    ".yml": read_yaml,
    ".json": read_json,
    ".xlsx": read_xlsx,
    ".csv": read_csv,
}
READ_FORMATS = tuple(READERS)
WRITE_FORMATS = ("yaml", "json", "xlsx")
MEDIA_TYPES = {
    "yaml": "application/yaml",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def read_raw(path_or_bytes: str | Path | bytes, filename: str | None = None) -> RawCatalog:
    """The file as the format's plain structure, before validation."""
    content, name = file_content(path_or_bytes, filename)
    suffix = Path(name).suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        raise InvalidInput(
            f"不支持的文件格式 '{suffix or name}'",
            [f"{name}: 支持的格式为 {', '.join(READ_FORMATS)}"],
        )
    return reader(content, name)


def read_catalog(
    path_or_bytes: str | Path | bytes,
    filename: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> CatalogDocument:
    """Read and validate a catalog file; `overrides` replaces catalog info (region, name, version …).

    Raises InvalidInput listing every problem.
    """
    return validated(read_raw(path_or_bytes, filename), overrides)


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
