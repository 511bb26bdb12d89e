"""Where an analysis gets its catalog: a file (read and validated by the catalog importer) or a
stored version (loaded by the catalog service), named by id or by its version text."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, col, select

from engine.catalog.document import CatalogDocument
from engine.errors import InvalidInput, NotFound


def read_catalog_file(path: Path) -> CatalogDocument:
    """Read and validate a catalog file with the catalog importer (YAML, JSON, xlsx, CSV)."""
    if not path.is_file():
        raise NotFound(f"文件 {path} 不存在", [f"path: {path}"])
    try:
        from engine.catalog.io import read_catalog
    except ImportError:  # importer not installed in this build: YAML/JSON through the validator
        return _read_structured(path)
    return read_catalog(path)


def _read_structured(path: Path) -> CatalogDocument:
    import yaml

    from engine.catalog.validation import validate_document

    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(f"无法解析清单文件 {path.name}", [str(exc)]) from exc
    return validate_document(data)


def resolve_version_id(session: Session, ref: str) -> int:
    """A stored version by id ("12") or by version text ("2026.1"; the newest such version)."""
    from engine.catalog.models import CatalogVersion

    ref = ref.strip()
    if ref.isdigit():
        version = session.get(CatalogVersion, int(ref))
        if version is not None:
            return version.id
    matches = session.exec(
        select(CatalogVersion).where(CatalogVersion.version == ref).order_by(col(CatalogVersion.id).desc())
    ).first()
    if matches is None:
        raise NotFound(f"清单版本 {ref} 不存在", [f"version: '{ref}' 既不是版本编号也不是已导入的版本号"])
    return matches.id


def load_version(session: Session, version_id: int) -> CatalogDocument:
    from engine.catalog.service import load_document

    return load_document(session, version_id)


def latest_version_id(session: Session) -> int:
    """The newest published version, else the newest version: what diagrams show by default."""
    from engine.catalog.models import PUBLISHED, CatalogVersion

    newest = select(CatalogVersion).order_by(col(CatalogVersion.id).desc())
    version = session.exec(newest.where(CatalogVersion.status == PUBLISHED)).first() or session.exec(newest).first()
    if version is None:
        raise NotFound("尚未导入任何权责清单", ["catalog_version: 空"])
    return version.id
