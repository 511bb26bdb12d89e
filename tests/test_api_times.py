"""One time zone shown to people, one ISO form in the API (issue 13 item 3): every moment an
answer carries is Beijing time with its +08:00 offset, never `Z`; a message names Beijing time."""

from __future__ import annotations

import re

from engine.catalog import service as catalog
from engine.catalog.io import read_catalog
from engine.errors import Conflict

MOMENT = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?)"')


def test_every_moment_in_the_answers_is_beijing_time_with_its_offset(client, database, clock, demo_catalog_path):
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(demo_catalog_path), "test", clock.now())
        catalog.publish_version(session, version.id, "test", clock.now())  # 2026-09-30 09:00 Beijing
    text = client.get("/api/public/versions").text
    moments = MOMENT.findall(text)
    assert moments and all(m.endswith("+08:00") for m in moments), moments
    assert "2026-09-30T09:00:00+08:00" in moments  # published at 09:00 Beijing (01:00 UTC)


def test_a_message_names_the_moment_in_beijing_time(database, clock, demo_catalog_path):
    # Published at 2026-09-30 09:00 Beijing = 01:00 UTC: the refusal says 09:00, as pages do.
    with database.session() as session:
        version = catalog.import_catalog(session, read_catalog(demo_catalog_path), "test", clock.now())
        catalog.publish_version(session, version.id, "test", clock.now())
    with database.session() as session:
        try:
            catalog.publish_version(session, version.id, "test", clock.now())
        except Conflict as exc:
            assert "2026-09-30 09:00" in exc.problems[0], exc.problems
        else:
            raise AssertionError("a second publication must be refused")
