"""Where an analysis gets its catalog: a file (read and validated by the catalog importer) or a
stored version (loaded by the catalog service), named by id or by its version text."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from engine.catalog.document import CatalogDocument
from engine.catalog.io import read_catalog
from engine.catalog.service import find_version, load_document
from engine.errors import NotFound


def read_catalog_file(path: Path) -> CatalogDocument:
    """Read and validate a catalog file with the catalog importer (YAML, JSON, xlsx, CSV)."""
    if not path.is_file():
        raise NotFound(f"文件 {path} 不存在", [f"path: {path}"])
    return read_catalog(path)


def resolve_version_id(session: Session, ref: str | None, region: str | None = None) -> int:
    """A stored version by id, version text, "current", "published" or "latest" (None = current),
    within `region` when one is given."""
    return find_version(session, ref, region).id


def load_version(session: Session, version_id: int) -> CatalogDocument:
    return load_document(session, version_id)


def latest_version_id(session: Session) -> int:
    """The version in force (newest published, else newest draft): what diagrams show by default."""
    return resolve_version_id(session, None)
