"""Efficiency figures per post, unit or department, from task rows, the timing log and deadlines.

For the tasks that became ready in the period (sent-back, withdrawn and interrupted ones left
out, as they were not the post's to finish):
- 办结率 completion_rate = completed / (completed + open);
- 按时办结率 on_time_rate = completed in time / completed with a deadline — a step with its own
  stage limit is on time when it did not overrun it, otherwise the case due moment counts
  (deadlines are the clocks' `stage_deadline` / `case_deadline` rows); None without any;
- mean and 90th-percentile working time of completed tasks (office time since ready, taken from
  the `completed` events of the timing log);
- open yellow / red: open tasks whose deadline view (engine.runtime.clocks.views.task_deadline)
  is yellow / red.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id
from engine.clock import Clock
from engine.errors import InvalidInput, NotFound
from engine.models.runtime import TASK_COMPLETED, TASK_READY, ProcessInstance, TimingEvent, WorkTask
from engine.models.timers import CaseDeadline, StageDeadline
from engine.runtime.clocks.views import task_deadline

GROUPINGS = ("post", "unit", "department")
UNKNOWN = "（清单外）"


@dataclass
class MetricRow:
    group: str
    total: int = 0
    completed: int = 0
    open: int = 0
    completion_rate: float | None = None
    on_time: int = 0
    with_deadline: int = 0
    on_time_rate: float | None = None
    mean_working_seconds: float | None = None
    p90_working_seconds: float | None = None
    open_yellow: int = 0
    open_red: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def efficiency_metrics(session: Session, clock, by: str = "post", since: datetime | None = None,
                       until: datetime | None = None, process_id: str | None = None) -> list[MetricRow]:
    if by not in GROUPINGS:
        raise InvalidInput("统计口径有误", [f"by: 应为 {', '.join(GROUPINGS)} 之一"])
    rows = _tasks(session, since, until, process_id)
    group_of = _grouper(session, by)
    working = _working_seconds(session, [r.id for r in rows if r.state == TASK_COMPLETED and r.id is not None])
    deadlines = DeadlineReader(session, clock)
    groups: dict[str, MetricRow] = {}
    durations: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        post = row.completed_post if row.state == TASK_COMPLETED and row.completed_post else row.post_code
        key = group_of(post)
        metric = groups.setdefault(key, MetricRow(group=key))
        metric.total += 1
        if row.state == TASK_COMPLETED:
            metric.completed += 1
            if row.id in working:
                durations[key].append(working[row.id])
            verdict = deadlines.on_time(row)
            if verdict is not None:
                metric.with_deadline += 1
                metric.on_time += int(verdict)
        else:
            metric.open += 1
            state = deadlines.state(row)
            metric.open_yellow += int(state == "yellow")
            metric.open_red += int(state == "red")
    for key, metric in groups.items():
        metric.completion_rate = _ratio(metric.completed, metric.total)
        metric.on_time_rate = _ratio(metric.on_time, metric.with_deadline)
        values = sorted(durations[key])
        if values:
            metric.mean_working_seconds = sum(values) / len(values)
            metric.p90_working_seconds = _percentile(values, 0.9)
    return sorted(groups.values(), key=lambda m: m.group)


def _tasks(session: Session, since: datetime | None, until: datetime | None, process_id: str | None) -> list[WorkTask]:
    query = select(WorkTask).where(col(WorkTask.state).in_((TASK_READY, TASK_COMPLETED)))
    if since is not None:
        query = query.where(WorkTask.ready_at >= since)
    if until is not None:
        query = query.where(WorkTask.ready_at < until)
    if process_id:
        query = query.join(ProcessInstance, col(ProcessInstance.id) == col(WorkTask.instance_id)).where(
            ProcessInstance.process_id == process_id
        )
    return list(session.exec(query))


def _grouper(session: Session, by: str):
    version_id = catalog_version_id(session)
    cache: dict[str | None, str] = {}

    def group_of(post: str | None) -> str:
        if post not in cache:
            cache[post] = _group(session, version_id, by, post)
        return cache[post]

    return group_of


def _group(session: Session, version_id: int | None, by: str, post: str | None) -> str:
    if not post:
        return UNKNOWN
    if by == "post":
        return post
    if version_id is None:
        return UNKNOWN
    try:
        if by == "unit":
            return catalog.unit_of_post(session, version_id, post)
        return catalog.department_of_post(session, version_id, post)
    except NotFound:
        return UNKNOWN


def _working_seconds(session: Session, task_ids: list[int]) -> dict[int, float]:
    if not task_ids:
        return {}
    found: dict[int, float] = {}
    for chunk_start in range(0, len(task_ids), 500):
        chunk = task_ids[chunk_start: chunk_start + 500]
        events = session.exec(
            select(col(TimingEvent.task_id), col(TimingEvent.working_seconds))
            .where(col(TimingEvent.task_id).in_(chunk), TimingEvent.kind == "completed")
            .order_by(col(TimingEvent.id))
        ).all()
        for task_id, seconds in events:
            if task_id is not None and seconds is not None:
                found[task_id] = seconds
    return found


class DeadlineReader:
    """On-time verdicts and current states of task rows, from the clocks' rows."""

    def __init__(self, session: Session, clock: Clock):
        self.session, self.clock = session, clock

    def on_time(self, row: WorkTask) -> bool | None:
        if row.completed_at is None:
            return None
        stage = self.stage_of(row)
        if stage is not None and stage.due_at is not None:
            return not stage.overran and row.completed_at <= stage.due_at
        case = self.session.exec(select(CaseDeadline).where(CaseDeadline.instance_id == row.instance_id)).first()
        if case is not None and case.due_at is not None:
            return row.completed_at <= case.due_at
        return None

    def stage_of(self, row: WorkTask) -> StageDeadline | None:
        """The stage row of this attempt at the step. A step sent back and redone keeps its
        SpiffWorkflow task id and gets one stage row per time it became ready, so take the latest
        row started when this task row became ready (or, failing that, before it was completed)."""
        assert row.completed_at is not None
        rows = self.session.exec(
            select(StageDeadline).where(
                StageDeadline.instance_id == row.instance_id, StageDeadline.task_id == row.spiff_task_id,
                col(StageDeadline.started_at) <= row.completed_at,
            ).order_by(col(StageDeadline.id).desc())
        ).all()
        return next((s for s in rows if s.started_at <= row.ready_at), rows[0] if rows else None)

    def state(self, row: WorkTask) -> str | None:
        view = task_deadline(self.session, row, self.clock)
        return view.state if view is not None else None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (the value at or below which q of the values lie)."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]
