"""What a reader hands back before validation: the data, problems found in cells, and places.

`places` maps a document path prefix (`duties[3]`) to where that item sits in the file
(`权责事项 第5行`), so validation problems on a workbook or table name the row people can find.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawCatalog:
    data: Any
    problems: list[str] = field(default_factory=list)
    places: dict[str, str] = field(default_factory=dict)
    # Document paths whose cell problem is already in `problems`; validation need not repeat them.
    reported: set[str] = field(default_factory=set)

    def locate(self, problem: str) -> str:
        """Prefix a problem's document path with the file place of its item, when known."""
        path = problem.split(":", 1)[0]
        best = ""
        for prefix in self.places:
            if (path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")) and len(prefix) > len(best):
                best = prefix
        return f"{self.places[best]}（{problem.split(':', 1)[0]}）:{problem.split(':', 1)[1]}" if best else problem
