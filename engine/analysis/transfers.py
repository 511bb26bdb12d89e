"""The runaround detection's records from the database: every 转办 of the runtime's event log
with its answer, and the department of each post in the version in force
(engine.analysis.runaround finds the circles in them)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from engine.analysis.runaround import ACCEPTED, PENDING, REFUSED, TransferRecord
from engine.catalog.service import find_version
from engine.catalog.store import load_departments
from engine.errors import NotFound
from engine.models.runtime import TimingEvent


def transfer_records(session: Session) -> list[TransferRecord]:
    """Every 转办 in the runtime's event log, with its answer (accepted / refused / pending).

    The runtime allows one open transfer per task, so each `transferred` event is answered by the
    next `accepted` or `refused` event of the same task.
    """
    events = session.exec(
        select(TimingEvent)
        .where(col(TimingEvent.kind).in_(("transferred", "accepted", "refused")))
        .order_by(col(TimingEvent.task_id), col(TimingEvent.at), col(TimingEvent.id))
    ).all()
    records: list[TransferRecord] = []
    open_transfer: dict[int | None, TimingEvent] = {}
    answers: dict[int | None, str] = {}
    for event in events:
        if event.kind == "transferred":
            open_transfer[event.task_id] = event
        elif event.task_id in open_transfer:
            answers[open_transfer.pop(event.task_id).id] = ACCEPTED if event.kind == "accepted" else REFUSED
    for event in events:
        if event.kind == "transferred" and event.post_code and event.target_post:
            records.append(
                TransferRecord(
                    instance_id=str(event.instance_id),
                    task_id=str(event.task_id) if event.task_id is not None else None,
                    from_post=event.post_code,
                    to_post=event.target_post,
                    at=event.at,
                    outcome=answers.get(event.id, PENDING),
                )
            )
    return records


def post_departments(session: Session) -> dict[str, str]:
    """Post code -> department code in the catalog version in force (empty when there is none)."""
    try:
        version = find_version(session, None)
    except NotFound:
        return {}
    return {
        post.code: department.code
        for department in load_departments(session, version.id)
        for unit in department.units
        for post in unit.posts
    }
