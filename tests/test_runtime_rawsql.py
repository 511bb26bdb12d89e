"""engine.rawsql: statements run on the DBAPI connection write and read exactly what the ORM does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select
from sqlmodel import Session

from engine.clock import BEIJING
from engine.models.runtime import ProcessDefinition, ProcessInstance, TimingEvent
from engine.rawsql import Raw, insert_record, insert_row, update_row, write_changes

MOMENT = datetime(2026, 9, 30, 10, 15, 30, 123456, tzinfo=BEIJING)


def _instance(session: Session) -> int:
    definition = ProcessDefinition(process_id="p", version=1, name="p", filename="p.bpmn", content_hash="h",
                                   bpmn_xml="<x/>", spec_json="{}", deployed_at=MOMENT, deployed_by="t")
    session.add(definition)
    session.flush()
    return insert_row(session, ProcessInstance, {
        "definition_id": definition.id, "process_id": "p", "state_json": "{}", "started_at": MOMENT,
        "started_by": "t", "updated_at": MOMENT,
    })


def test_insert_row_fills_the_model_defaults_and_the_orm_reads_the_row_back(database):
    with database.session() as session:
        instance_id = _instance(session)
    with database.session() as session:
        row = session.get(ProcessInstance, instance_id)
        assert (row.status, row.version, row.start_data, row.subject, row.ended_at) == ("running", 1, {}, "", None)
        assert row.started_at == MOMENT and row.started_at.tzinfo is not None


def test_values_pass_through_the_column_types_both_ways(database):
    detail = {"原因": "材料不全", "items": [1, 2.5, None, True]}
    with database.session() as session:
        instance_id = _instance(session)
        event_id = insert_row(session, TimingEvent, {"instance_id": instance_id, "kind": "commented", "at": MOMENT,
                                                     "detail": detail, "wall_seconds": 1.5})
    read = Raw(select(TimingEvent.at, TimingEvent.detail, TimingEvent.wall_seconds)
               .where(TimingEvent.id == bindparam("p_id")))
    with database.session() as session:
        at, stored, wall = read.first(session, {"p_id": event_id})
        orm = session.get(TimingEvent, event_id)
    assert at == MOMENT and at.utcoffset() == timedelta(0)  # stored as UTC, returned aware
    assert stored == detail == orm.detail
    assert wall == 1.5
    assert orm.at == MOMENT.astimezone(UTC)


def test_constants_written_into_a_statement_are_bound_too(database):
    with database.session() as session:
        instance_id = _instance(session)
        for kind in ("commented", "urged", "commented"):
            insert_row(session, TimingEvent, {"instance_id": instance_id, "kind": kind, "at": MOMENT})
    count = Raw(select(TimingEvent.id).where(TimingEvent.kind == "commented",
                                             TimingEvent.instance_id == bindparam("p_instance")))
    with database.session() as session:
        assert len(count.all(session, {"p_instance": instance_id})) == 2
        assert count.all(session, {"p_instance": instance_id + 1}) == []


def test_update_row_also_updates_the_orm_object_the_session_holds(database):
    with database.session() as session:
        instance_id = _instance(session)
    with database.session() as session:
        held = session.get(ProcessInstance, instance_id)
        assert update_row(session, ProcessInstance, instance_id, {"status": "suspended", "subject": "改"}) == 1
        assert (held.status, held.subject) == ("suspended", "改")
        assert not session.dirty  # the values are committed state, not pending changes
        assert update_row(session, ProcessInstance, instance_id + 99, {"status": "failed"}) == 0
    with database.session() as session:
        assert session.get(ProcessInstance, instance_id).status == "suspended"


def test_a_record_writes_back_only_what_changed(database):
    with database.session() as session:
        instance_id = _instance(session)
        record = insert_record(session, TimingEvent, {"instance_id": instance_id, "kind": "paused", "at": MOMENT})
        assert record.id and record.detail == {} and record.changes() == {}
        record.kind = "resumed"
        record.working_seconds = 60.0
        assert record.changes() == {"kind": "resumed", "working_seconds": 60.0}
        record.post_code = "MZ-SHJZ-01"
        write_changes(session, TimingEvent, record)
        assert record.changes() == {}
    with database.session() as session:
        row = session.get(TimingEvent, record.id)
        assert (row.kind, row.working_seconds, row.post_code) == ("paused", None, "MZ-SHJZ-01")


def test_raw_statements_belong_to_the_session_transaction(database):
    with pytest.raises(RuntimeError):
        with database.session() as session:
            _instance(session)
            raise RuntimeError("rolled back")
    with database.session() as session:
        assert session.exec(select(ProcessInstance)).all() == []


def test_run_many_inserts_every_row(database):
    insert = Raw(TimingEvent.__table__.insert().values(
        {c: bindparam(c) for c in ("instance_id", "kind", "at", "detail")}))
    with database.session() as session:
        instance_id = _instance(session)
        insert.run_many(session, [{"instance_id": instance_id, "kind": "urged", "at": MOMENT + timedelta(minutes=i),
                                   "detail": {"count": i}} for i in range(3)])
        insert.run_many(session, [])  # nothing to insert: no statement
    with database.session() as session:
        rows = session.scalars(select(TimingEvent).order_by(TimingEvent.at)).all()
        assert [(r.kind, r.detail["count"]) for r in rows] == [("urged", 0), ("urged", 1), ("urged", 2)]
