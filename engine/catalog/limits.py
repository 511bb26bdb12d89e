"""How much an imported catalog file may hold, checked before the work that would cost that much.

The numbers are sized on the largest real catalogs: a province's 权责清单 runs to about 100,000
duties, each with its legal basis, stages and accountability (the demo catalog averages about
0.8 KB a duty as YAML, 1.3 KB as indented JSON; an xlsx holds the same text compressed 5–10×).
Every limit leaves at least twice that room, and nothing past it: a file beyond them is not a
catalog but an attempt to exhaust the server (an upload of hundreds of MB, a zip bomb, an xlsx
declaring 16,384 × 1,048,576 cells).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.errors import InvalidInput

MB = 1024 * 1024

# The request body of an upload (the file and the form around it). 100,000 duties at 1.3 KB is
# 130 MB only for indented JSON, which nobody exports at that size; YAML/CSV of such a catalog stay
# near 80 MB (measured: a 100,000-row published table with basis, stages and accountability of
# ~700 bytes a row is a 71 MB CSV, read and validated in ~40 s) and its xlsx near 15 MB. Checked
# on Content-Length before anything is read, and on the bytes as they arrive when none is sent.
MAX_UPLOAD_BYTES = 100 * MB

# Data rows of one sheet or CSV (and duties of a YAML/JSON document): twice the largest catalog.
MAX_ROWS = 200_000
# Rows above the header a published table may carry (titles, notes) on top of MAX_ROWS.
MAX_TITLE_ROWS = 20
# Columns of a sheet or CSV: the product's widest sheet has 19, real published tables up to ~40.
MAX_COLUMNS = 200

# An xlsx is a zip: what its members declare once unpacked, checked in the zip's directory before
# any member is inflated. Python's zipfile stops inflating a member at its declared size (and then
# fails its CRC), so a member that lies about its size cannot unpack to more than it declared.
# 100,000 duties with their texts unpack to about 250 MB of sheet and shared-strings XML.
MAX_XLSX_UNPACKED_BYTES = 512 * MB
# Deflate of real spreadsheet XML packs 5–30×; a zip bomb uses deflate's maximum (~1,000×). Only
# members over MIN_RATIO_CHECKED_BYTES are held to it: a tiny styles part may pack very well.
MAX_XLSX_RATIO = 200
MIN_RATIO_CHECKED_BYTES = 1 * MB
# A workbook has a few dozen parts; thousands of members are a directory bomb.
MAX_XLSX_MEMBERS = 1_000


def mb(size: int) -> str:
    """A size as people read it in a message: `100 MB`."""
    return f"{size // MB} MB" if size >= MB else f"{size} 字节"


def sheet_rows(sheet) -> Iterator[tuple[Any, ...]]:
    """The value rows of a read-only openpyxl sheet, never more than the limits allow.

    In read-only mode openpyxl pads every row to the sheet's declared `<dimension>` and yields an
    empty row for every row number up to it: `A1:XFD1048576` in a 5 KB file asks for 17 billion
    cells. So the declared size is checked first (InvalidInput naming it), columns are cut at
    MAX_COLUMNS when nothing is declared, and a sheet whose rows run past the limit is refused as
    soon as they do — its rows are never all held.
    """
    max_rows = MAX_ROWS + MAX_TITLE_ROWS
    declared_rows, declared_columns = sheet.max_row or 0, sheet.max_column or 0
    if declared_rows > max_rows or declared_columns > MAX_COLUMNS:
        raise InvalidInput(
            f"工作表「{sheet.title}」声明的范围过大",
            [f"{sheet.title}: 声明的范围为 {declared_rows} 行 × {declared_columns} 列，"
             f"超过上限（最多 {max_rows} 行、{MAX_COLUMNS} 列）；若因整行整列设置了格式，请删除多余的空白行列后另存"],
        )
    columns = declared_columns or MAX_COLUMNS
    for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=columns), start=1):
        if number > max_rows:
            raise InvalidInput(
                f"工作表「{sheet.title}」行数过多",
                [f"{sheet.title}: 超过 {max_rows} 行上限（清单最多 {MAX_ROWS} 项，另可有 {MAX_TITLE_ROWS} 行标题）"],
            )
        yield row
