"""The 调整说明 between two versions (from the catalog's diff) and the public download links."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlmodel import Session

from engine.catalog import service as catalog
from engine.catalog.diff import VersionDiff, render_value
from engine.models.catalog import CatalogVersion

DOWNLOAD_FORMATS = (("Excel", "xlsx"), ("JSON", "json"), ("YAML", "yaml"))


def diff_of(session: Session, old_id: int, new_id: int) -> VersionDiff:
    return catalog.diff_versions(session, old_id, new_id)


def download_links(version: CatalogVersion) -> list[tuple[str, str]]:
    """(label, URL) of the catalog area's public export API for a published version."""
    return [(label, "/api/public/export?" + urlencode({"version": version.id, "format": fmt}))
            for label, fmt in DOWNLOAD_FORMATS]


def value_text(value) -> str:
    """A changed field's value as one line (lists joined with ；, limits as 20个工作日)."""
    return render_value(value)
