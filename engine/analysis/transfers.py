"""The runaround detection's records from the database: the 转办 of the runtime's event log with
their answers, and the department of each post in the version in force
(engine.analysis.runaround finds the circles in them).

Only matters transferred at least twice are read: a circle needs a matter to come back to a post
(or department) that held it, which takes two moves at the least. The database counts the
transfers per matter, so the rows read grow with the matters sent round, not with every transfer
ever made (at province scale, hundreds of thousands a year)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from engine.analysis.runaround import ACCEPTED, PENDING, REFUSED, TransferRecord
from engine.catalog.service import find_version
from engine.errors import NotFound
from engine.models.catalog import CatalogDepartment, CatalogPost, CatalogUnit
from engine.models.runtime import TimingEvent

# Transfers a matter needs before it can have gone round in a circle (module docstring).
MIN_TRANSFERS = 2


def transfer_records(session: Session) -> list[TransferRecord]:
    """The 转办 of every matter transferred at least twice, with its answer (accepted / refused /
    pending).

    The runtime allows one open transfer per task, so each `transferred` event is answered by the
    next `accepted` or `refused` event of the same task.
    """
    moved_twice = (
        select(col(TimingEvent.task_id))
        .where(col(TimingEvent.kind) == "transferred", col(TimingEvent.task_id).is_not(None))
        .group_by(col(TimingEvent.task_id))
        .having(func.count() >= MIN_TRANSFERS)
    )
    events = session.exec(
        select(TimingEvent)
        .where(col(TimingEvent.kind).in_(("transferred", "accepted", "refused")),
               col(TimingEvent.task_id).in_(moved_twice))
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
    rows = session.exec(
        select(col(CatalogPost.code), col(CatalogDepartment.code))
        .join(CatalogUnit, col(CatalogUnit.id) == col(CatalogPost.unit_id))
        .join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogUnit.department_id))
        .where(col(CatalogPost.version_id) == version.id)
    ).all()
    return dict(rows)
