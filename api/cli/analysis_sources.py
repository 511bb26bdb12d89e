"""Where `dutyflow analyze` and `dutyflow diagram` get a catalog other than a YAML/JSON file: a
table (xlsx, csv) through the catalog importer, or a stored version from the database.

api.cli.analysis loads this module only for such a run (api.cli.app.load): it brings openpyxl,
the settings, SQLAlchemy's engine, every table and Alembic, which a YAML/JSON file does not need.
"""

from __future__ import annotations

from pathlib import Path

from api.cli.database import open_database
from engine.analysis.preview import Preview, preview
from engine.analysis.report import AnalysisReport, analyze
from engine.analysis.sources import load_version, read_catalog_file, resolve_version_id
from engine.catalog.document import CatalogDocument
from engine.catalog.service import find_version, version_in_force


def read_table_file(path: Path) -> CatalogDocument:
    """A catalog file in any format the importer reads (here: a table, xlsx or csv)."""
    return read_catalog_file(path)


def load_source(source: str | None) -> CatalogDocument:
    """A file path is read by the importer; anything else names a stored version (default: newest)."""
    if source is not None and Path(source).exists():
        return read_catalog_file(Path(source))
    database = open_database()
    try:
        with database.session() as session:
            version_id = resolve_version_id(session, source)
            return load_version(session, version_id)
    finally:
        database.dispose()


def analyze_stored(source: str, threshold: float) -> tuple[CatalogDocument, AnalysisReport, Preview | None, str]:
    """A stored version's report; for a version not in force (a draft), also what publishing it
    would do to its region's alerts (read only: the session is rolled back)."""
    database = open_database()
    try:
        with database.session() as session:
            version = find_version(session, source)
            document = load_version(session, version.id)
            in_force = version_in_force(session, version.region)
            if in_force is not None and in_force.id == version.id:
                return document, analyze(document, threshold=threshold), None, version.version
            found = preview(session, document, version.id, threshold=threshold)
            return document, found.report, found, version.version
    finally:
        database.dispose()
