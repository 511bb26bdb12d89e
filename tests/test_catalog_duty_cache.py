"""The answers of a published catalog version kept for the life of the process
(`engine.catalog.in_force.published_answers`): a duty's document — the case clock's limit, the
handler's post — the head posts and the posts of a lane must never come from another catalog
that once had the same version id. A database emptied and refilled reuses the ids (tests do it
before every test, with the same clock: the same `published_at` too), and a new version takes
over. The answers are kept across transactions, keyed by the version's publication token (random,
written when it is published); a version published without one keeps them for one transaction."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import event, update

from engine.catalog import document as doc
from engine.catalog import in_force
from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.migrate import alembic_config
from engine.models.catalog import CatalogVersion
from engine.runtime.clocks.limits import duty_limits
from engine.runtime.library.catalog_lookup import head_post
from engine.runtime.tasks import resolve_lane
from tests.db_helpers import reset

DUTY = "MZ-GF-001"  # 最低生活保障审批 of 市民政局 (MZ), unit 社会救助科 (MZ-SHJZ)


def _changed(document: doc.CatalogDocument, version: str | None = None) -> doc.CatalogDocument:
    """The demo catalog with what a case of DUTY reads changed: committed limit 15 → 10 working
    days, A and B posts swapped, a third post in 社会救助科 marked as its head, the department's
    named head 综合文秘岗 → 效能督查岗."""
    def unit(u: doc.Unit) -> doc.Unit:
        if u.code != "MZ-SHJZ":
            return u
        posts = [p.model_copy(update={"head": True}) if p.code == "MZ-SHJZ-02" else p for p in u.posts]
        return u.model_copy(update={"posts": [*posts, doc.Post(code="MZ-SHJZ-03", name="救助复核岗")]})

    departments = [
        d.model_copy(update={"head_post": "MZ-BGS-02", "units": [unit(u) for u in d.units]}) if d.code == "MZ" else d
        for d in document.departments
    ]
    duties = [
        d.model_copy(update={
            "committed_limit": doc.TimeLimit(value=10, unit=doc.LimitUnit("working_days")),
            "posts": [doc.PostAssignment(post="MZ-SHJZ-02", role="A"), doc.PostAssignment(post="MZ-SHJZ-01", role="B")],
        }) if d.code == DUTY else d
        for d in document.duties
    ]
    info = document.catalog.model_copy(update={"version": version}) if version else document.catalog
    return document.model_copy(update={"catalog": info, "departments": departments, "duties": duties})


def _publish(database, clock, document: doc.CatalogDocument) -> tuple[int, object]:
    with database.session() as session:
        version = catalog.import_catalog(session, document, "test", clock.now())
        catalog.publish_version(session, version.id, "test", clock.now())
        return version.id, version.published_at


def _what_a_case_reads(database) -> dict:
    """What starting a 限时办结 case of DUTY reads from the version in force, in one transaction
    that first finds the version in force, as a step does."""
    with database.session() as session:
        version_id = in_force.catalog_version_id(session)
        duty = catalog.get_duty(session, version_id, DUTY)
        lane = SimpleNamespace(task_spec=SimpleNamespace(lane="MZ-SHJZ", bpmn_name="受理", name="accept"), data={})
        return {
            "version": version_id,
            "committed": str(duty_limits(session, DUTY)[0]),
            "a_posts": [p.post for p in duty.posts if p.role == "A"],
            "unit_head": head_post(session, version_id, "MZ", "MZ-SHJZ"),
            "department_head": catalog.named_department_head(session, version_id, "MZ"),
            "lane": resolve_lane(session, None, lane),
        }


# Worked out from examples/demo-catalog.yaml: MZ-GF-001 commits 15 working days with A post
# MZ-SHJZ-01; 社会救助科 marks no head, so its head is the department's head_post MZ-BGS-01; the
# unit's lane is its two posts. `_changed` changes each of them.
DEMO = {"committed": str(doc.TimeLimit(value=15, unit=doc.LimitUnit("working_days"))), "a_posts": ["MZ-SHJZ-01"],
        "unit_head": "MZ-BGS-01", "department_head": "MZ-BGS-01", "lane": ["MZ-SHJZ-01", "MZ-SHJZ-02"]}
CHANGED = {"committed": str(doc.TimeLimit(value=10, unit=doc.LimitUnit("working_days"))), "a_posts": ["MZ-SHJZ-02"],
           "unit_head": "MZ-SHJZ-02", "department_head": "MZ-BGS-02",
           "lane": ["MZ-SHJZ-01", "MZ-SHJZ-02", "MZ-SHJZ-03"]}


def _without_version(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "version"}


@pytest.fixture
def duty_reads(database) -> list[str]:
    """The statements that read a duty's row, as they run."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if "FROM catalog_duty" in statement and "catalog_duty.code" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", note)
    yield seen
    event.remove(database.engine, "before_cursor_execute", note)


def test_a_database_refilled_with_the_same_ids_is_read_anew(database, clock, demo_catalog_path, duty_reads):
    first_id, first_published = _publish(database, clock, read_catalog(demo_catalog_path))
    duty_reads.clear()  # (publishing reads duties of its own)
    assert _without_version(_what_a_case_reads(database)) == DEMO
    assert _without_version(_what_a_case_reads(database)) == DEMO
    # The answers are kept between transactions: the second read ran no duty statement.
    assert len(duty_reads) == 1

    kept = dict(in_force.VERSION_ANSWERS)
    reset(database)  # what tests do between tests: ids start at 1 again
    in_force.VERSION_ANSWERS.update(kept)  # (reset drops them too; here only the token may tell)
    second_id, second_published = _publish(database, clock, _changed(read_catalog(demo_catalog_path)))
    assert (second_id, second_published) == (first_id, first_published)  # same id, same moment
    assert _without_version(_what_a_case_reads(database)) == CHANGED


def test_a_new_version_in_force_is_read_and_the_old_one_keeps_its_answers(database, clock, demo_catalog_path):
    old_id, _ = _publish(database, clock, read_catalog(demo_catalog_path))
    assert _what_a_case_reads(database) == {"version": old_id, **DEMO}
    clock.advance(hours=1)
    new_id, _ = _publish(database, clock, _changed(read_catalog(demo_catalog_path), version="2026.2"))
    assert _what_a_case_reads(database) == {"version": new_id, **CHANGED}
    with database.session() as session:  # the old version, asked by id (public catalog, diffs)
        assert [p.post for p in catalog.get_duty(session, old_id, DUTY).posts if p.role == "A"] == ["MZ-SHJZ-01"]


def test_a_publication_rolled_back_leaves_no_answer_behind(database, clock, demo_catalog_path):
    _publish(database, clock, read_catalog(demo_catalog_path))
    clock.advance(hours=1)
    with pytest.raises(RuntimeError):
        with database.session() as session:  # published and read, then the transaction fails
            version = catalog.import_catalog(session, _changed(read_catalog(demo_catalog_path), version="2026.2"),
                                             "test", clock.now())
            catalog.publish_version(session, version.id, "test", clock.now())
            assert in_force.catalog_version_id(session) == version.id
            assert catalog.get_duty(session, version.id, DUTY).committed_limit.value == 10
            raise RuntimeError("the request fails after publishing")
    # The same version string is imported and published again, with the demo's own contents.
    second = read_catalog(demo_catalog_path)
    second = second.model_copy(update={"catalog": second.catalog.model_copy(update={"version": "2026.2"})})
    new_id, _ = _publish(database, clock, second)
    assert _what_a_case_reads(database) == {"version": new_id, **DEMO}


def test_answers_are_kept_beyond_a_transaction_only_with_a_publication_token(database, clock, demo_catalog_path):
    in_force.VERSION_ANSWERS.clear()
    version_id, _ = _publish(database, clock, read_catalog(demo_catalog_path))
    _what_a_case_reads(database)
    kept = [key for key in in_force.VERSION_ANSWERS if key[0] == str(database.engine.url)]
    assert len(kept) == 1
    with database.session() as session:
        token = session.get(CatalogVersion, version_id).publication_token
    assert kept == [(str(database.engine.url), version_id, token)] and len(token) == 32

    # A version marked published without a token (rows written behind the catalog's service, or
    # published by a release before migration 0022 and not migrated): one transaction only.
    in_force.VERSION_ANSWERS.clear()
    with database.session() as session:
        session.execute(update(CatalogVersion).where(CatalogVersion.id == version_id).values(publication_token=None))
    assert _without_version(_what_a_case_reads(database)) == DEMO
    assert [key for key in in_force.VERSION_ANSWERS if key[0] == str(database.engine.url)] == []


def test_each_publication_draws_its_own_token(database, clock, demo_catalog_path):
    first_id, _ = _publish(database, clock, read_catalog(demo_catalog_path))
    with database.session() as session:
        first = session.get(CatalogVersion, first_id).publication_token
    reset(database)
    second_id, _ = _publish(database, clock, read_catalog(demo_catalog_path))
    with database.session() as session:
        second = session.get(CatalogVersion, second_id).publication_token
    assert second_id == first_id and second != first


def test_the_migration_gives_each_version_published_before_it_a_token_of_its_own(tmp_path):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0021")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for number, status in enumerate(("published", "published", "draft"), start=1):
            connection.execute(sa.text(
                "INSERT INTO catalog_version (id, region, name, version, status, created_at)"
                " VALUES (:id, '某市', '权责清单', :version, :status, '2026-01-05 01:00:00')"),
                {"id": number, "version": f"2026.{number}", "status": status})
    command.upgrade(config, "0022")
    with engine.connect() as connection:
        tokens = dict(connection.execute(sa.text("SELECT id, publication_token FROM catalog_version")).all())
    # The two published versions each get 32 hex digits, not the same; the draft gets none (it is
    # given one when it is published).
    assert tokens[3] is None
    assert all(len(tokens[i]) == 32 and int(tokens[i], 16) >= 0 for i in (1, 2)) and tokens[1] != tokens[2]
    command.downgrade(config, "0021")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM catalog_version")).scalar_one() == 3
    engine.dispose()
