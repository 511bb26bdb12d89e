"""Runaround (推诿): a matter transferred (转办) in a cycle between posts or departments.

The pure function works on plain transfer records, so it is testable without the runtime; the
adapter `engine.analysis.transfers.transfer_records(session)` reads them from the runtime's event
log (`transferred`, then `accepted` or `refused`, on the same task). Apart, so the findings of a
catalog's analysis (engine.analysis.findings names runaround findings too) do not load the tables.

A matter here is one task of a case (a step at a post): handing a case on to the next step of
its process is the workflow, not a transfer; only 转办 of the same task can go round in a circle.

How a matter moves: a transfer from post A to post B hands the matter to B unless B refuses it; a
refusal sends it back to A, which never stopped owning it (首问负责), so a refusal is not a move.
The matter's path is the sequence of posts that held it. When a transfer hands it to a post that
already held it and passed it on, the matter has gone round in a circle: that is a runaround. The
same walk at department level (consecutive posts of one department merged) finds matters bounced
between departments even when different posts of each department took part.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ACCEPTED = "accepted"
REFUSED = "refused"
PENDING = "pending"

POST_LEVEL = "post"
DEPARTMENT_LEVEL = "department"


@dataclass(frozen=True)
class TransferRecord:
    instance_id: str
    task_id: str | None
    from_post: str
    to_post: str
    at: datetime
    outcome: str = PENDING  # accepted / refused / pending (not answered yet)


@dataclass(frozen=True)
class RunaroundFinding:
    instance_id: str
    task_id: str | None
    level: str  # post / department
    path: tuple[str, ...]  # every holder in order, the repeated one included twice
    cycle: tuple[str, ...]  # from the first visit of the repeated holder to its return
    transfers: int
    refusals: int

    @property
    def key(self) -> str:
        return f"runaround:{self.instance_id}:{self.task_id}:{self.level}"

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "task_id": self.task_id,
            "level": self.level,
            "path": list(self.path),
            "cycle": list(self.cycle),
            "transfers": self.transfers,
            "refusals": self.refusals,
        }


def holder_path(records: Iterable[TransferRecord]) -> list[str]:
    """The posts that held the matter, in order (a refused transfer leaves it where it was)."""
    path: list[str] = []
    for record in sorted(records, key=lambda r: r.at):
        if not path:
            path.append(record.from_post)
        elif path[-1] != record.from_post:
            # A transfer by a post we did not see receive it (records missing): follow the log.
            path.append(record.from_post)
        if record.outcome != REFUSED and record.to_post != path[-1]:
            path.append(record.to_post)
    return path


def first_cycle(path: list[str]) -> tuple[str, ...] | None:
    """The first stretch of the path that returns to a holder seen before, or None."""
    seen: dict[str, int] = {}
    for index, holder in enumerate(path):
        if holder in seen:
            return tuple(path[seen[holder] : index + 1])
        seen[holder] = index
    return None


def _collapse(path: list[str]) -> list[str]:
    collapsed: list[str] = []
    for item in path:
        if not collapsed or collapsed[-1] != item:
            collapsed.append(item)
    return collapsed


def find_runarounds(
    records: Iterable[TransferRecord], post_department: Mapping[str, str] | None = None
) -> list[RunaroundFinding]:
    """Matters (case, task) that went round in a circle, at post level and, given a post ->
    department map, at department level. Sorted by case then task."""
    by_matter: dict[tuple[str, str | None], list[TransferRecord]] = defaultdict(list)
    for record in records:
        by_matter[(record.instance_id, record.task_id)].append(record)
    findings = []
    for (instance_id, task_id) in sorted(by_matter, key=lambda key: (key[0], key[1] or "")):
        transfers = by_matter[(instance_id, task_id)]
        refusals = sum(1 for r in transfers if r.outcome == REFUSED)
        path = holder_path(transfers)
        levels = [(POST_LEVEL, path)]
        if post_department:
            levels.append((DEPARTMENT_LEVEL, _collapse([post_department.get(post, post) for post in path])))
        for level, walk in levels:
            cycle = first_cycle(walk)
            if cycle:
                findings.append(
                    RunaroundFinding(instance_id, task_id, level, tuple(walk), cycle, len(transfers), refusals)
                )
    return findings
