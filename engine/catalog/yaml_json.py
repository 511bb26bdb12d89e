"""YAML and JSON: the interchange format itself (catalog-format.md), read and written.

This reader needs neither openpyxl nor the table readers: `read_interchange_catalog` reads and
validates a YAML/JSON file as engine.catalog.io.read_catalog does, for code that reads only this
format (`dutyflow analyze FILE.json`, whose start-up counts in its time aims, issue 11 item 6).

Written documents omit empty optional fields and defaults (role `sole`, `head: false`) so they
read like the hand-written examples; keys keep the format's order; YAML keeps Chinese readable.
"""

from __future__ import annotations

import json
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from engine.catalog.document import CatalogDocument
from engine.catalog.raw import RawCatalog
from engine.catalog.reading import file_content, validated
from engine.errors import InvalidInput

# The extensions of the interchange format.
INTERCHANGE_FORMATS = (".yaml", ".yml", ".json")

# Keys that may be dropped when empty; required lists (departments, duties) are always written.
_REQUIRED_KEYS = {"departments", "duties"}
# Fields whose default value is not worth writing.
_DEFAULTS = {"role": "sole", "head": False}
# libyaml's safe loader when PyYAML was built with it: the same documents (safe tags only), about
# 8x faster on the demo catalog; the pure-Python SafeLoader otherwise.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str | bytes) -> Any:
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else "（文档）"
        raise InvalidInput("YAML 格式错误，无法读取", [f"{where}: {getattr(exc, 'problem', None) or exc}"]) from None


def parse_json(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("JSON 格式错误，无法读取", [f"第 {exc.lineno} 行第 {exc.colno} 列: {exc.msg}"]) from None


def read_yaml(content: bytes, name: str) -> RawCatalog:
    return RawCatalog(parse_yaml(content))


def read_json(content: bytes, name: str) -> RawCatalog:
    return RawCatalog(parse_json(content))


def read_interchange_catalog(path_or_bytes: str | Path | bytes, filename: str | None = None) -> CatalogDocument:
    """A YAML or JSON catalog file read and validated (the same checks and problems as
    engine.catalog.io.read_catalog). Raises InvalidInput listing every problem."""
    content, name = file_content(path_or_bytes, filename)
    suffix = Path(name).suffix.lower()
    if suffix not in INTERCHANGE_FORMATS:
        raise InvalidInput(f"不是 YAML/JSON 清单文件 '{suffix or name}'",
                           [f"{name}: 应为 {', '.join(INTERCHANGE_FORMATS)}"])
    return validated(read_json(content, name) if suffix == ".json" else read_yaml(content, name))


def _clean(value: Any) -> Any:
    """Plain data for a dumper: enums as text, empty optionals and defaults dropped."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            cleaned = _clean(v)
            if k not in _REQUIRED_KEYS and (cleaned is None or cleaned == [] or cleaned == {}):
                continue
            if k in _DEFAULTS and cleaned == _DEFAULTS[k]:
                continue
            out[k] = cleaned
        return out
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def document_to_data(document: CatalogDocument) -> dict[str, Any]:
    """The document as the format's plain structure (dates stay `date` objects)."""
    # Post assignments keep their A/B role even when it is A: only `sole` and `false` are dropped.
    return _clean(document.model_dump(mode="python"))


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")


def write_json(document: CatalogDocument) -> bytes:
    text = json.dumps(document_to_data(document), ensure_ascii=False, indent=2, default=_json_default)
    return (text + "\n").encode("utf-8")


def write_yaml(document: CatalogDocument) -> bytes:
    text = yaml.safe_dump(document_to_data(document), allow_unicode=True, sort_keys=False, width=120)
    return text.encode("utf-8")
