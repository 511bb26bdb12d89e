"""Cells of the spreadsheets dutyflow writes for people (the catalog's xlsx, the evaluation's
results): text that a spreadsheet would read as a formula stays text.

Names, notes, fees and 问责情形 come from departments' drafts and people's forms. openpyxl writes a
string starting with "=" as a formula, and Excel turns a cell starting with "+", "-" or "@" into one
as soon as someone edits it (OWASP: CSV/formula injection), so such text is stored as a string and
marked quote-prefixed. A base module: both the catalog and the evaluation export use it, and it
needs nothing of the engine (it works on any openpyxl cell).
"""

from __future__ import annotations

from typing import Any

# What a spreadsheet reads as the start of a formula: "=", "+", "-", "@", and a tab or line break
# before one of them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def keep_text(cell: Any) -> None:
    """Store the cell's text as text, quote-prefixed, if it starts like a formula."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True
