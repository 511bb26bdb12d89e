"""Finding 10: no input answers 5xx — schemathesis fuzzes every operation of the OpenAPI schema.

The app runs in-process (ASGI) over the test's database, on SQLite and PostgreSQL, with the demo
catalog published, processes/ deployed and a few cases running, so ids, codes and version
references reach real rows. Every request carries the bearer token of an account holding every
role and a demo post, so the protected operations run past 401 into their validation and their
engine code; the check is schemathesis' `not_a_server_error` (a 5xx fails the test, with the
request to reproduce it).

Bounded so the suite stays quick on a small machine: few examples per operation, derandomized
(the same cases every run: a failure is reproducible, CI is stable), no example database, and
the coverage phase (boundary values such as 2**63 for integers and over-long strings) is what
finds most overflows anyway. DUTYFLOW_TEST_FUZZ_EXAMPLES raises the count for a longer hunt, and
DUTYFLOW_TEST_FUZZ_RANDOM=1 draws new cases each run.

The second backend. Every operation gets its whole coverage phase on both backends: the boundary
values are what PostgreSQL refuses where SQLite does not (integers past 2**63, strings past a
column's length), so they stay. The random phase draws 5 examples per operation on SQLite and 2 on
PostgreSQL (PG_EXAMPLES): random inputs exercise the same validation and handlers whatever stores
the rows, and on PostgreSQL they cost more than twice as much (a round trip per statement): the
fuzz tests were 7 % of the suite's test time, three quarters of that on PostgreSQL.
"""

from __future__ import annotations

import copy
import os
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from engine.auth.roles import ROLES
from engine.auth.service import create_user
from engine.runtime import service as runtime
from tests.auth_helpers import issue_token
from tests.db_helpers import prepared
from tests.runtime_helpers import CHEN, load_demo_catalog

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("DUTYFLOW_TEST_FUZZ_EXAMPLES", "5"))
PG_EXAMPLES = min(MAX_EXAMPLES, int(os.environ.get("DUTYFLOW_TEST_FUZZ_EXAMPLES", "2")))
# DUTYFLOW_TEST_FUZZ_RANDOM=1: new cases each run (a hunt), instead of the same ones (CI).
DERANDOMIZE = os.environ.get("DUTYFLOW_TEST_FUZZ_RANDOM") != "1"
FUZZ_USER = "fuzz-7c1e"  # every role, and S003's posts (低保审核岗), so task operations reach the engine
# Operations that end the caller's own sign-in: they get a sign-in of their own, so the shared
# token stays valid for every other operation.
ENDS_SIGN_IN = {("POST", "/api/logout"), ("POST", "/api/users/{username}/revoke-sessions")}
# Where 401 is the right answer to some valid-looking input (wrong password).
MAY_ANSWER_401 = {("POST", "/api/token")}


# The operations are fuzzed in shards, each its own test: one test over all ~70 operations took
# 30–160 s on one xdist process while the others had finished; shards spread that over all of them.
SHARDS = 4


@pytest.fixture
def api_schema(client, app, database, clock, settings, demo_catalog_path):
    """The app's OpenAPI schema, bound to the running app, over a database with data in it
    (`client` has run the start-up: processes/ deployed; the data is built once and copied after)."""
    load_demo_catalog(database, clock, demo_catalog_path)

    def build() -> None:
        with database.session() as session:
            create_user(session, username=FUZZ_USER, password="fuzz-password-1", now=clock.now(),
                        roles=list(ROLES), staff_id="S003", display_name="模糊测试")
        with database.session() as session:
            for applicant in ("张三", "李四"):
                runtime.start_instance(session, clock, "time_limited_case",
                                       {"duty_code": "MZ-GF-001", "applicant": applicant}, CHEN)

    prepared(database, ("fuzz-data", clock.now()), build)
    app.state.fuzz_token = issue_token(settings, FUZZ_USER)
    # The app's OpenAPI document, generated once per process (FastAPI takes ~0.5 s per app, and
    # every app of the run has the same routes) and served by this app as its own /openapi.json.
    if not _OPENAPI:
        _OPENAPI.append(app.openapi())
    app.openapi_schema = copy.deepcopy(_OPENAPI[0])
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(_OPENAPI[0]))
    loaded.app, loaded.location = app, "/openapi.json"  # as schemathesis.openapi.from_asgi binds it
    return loaded


_OPENAPI: list[dict] = []


def _shard(number: int):
    def in_shard(context) -> bool:
        operation = context.operation
        return zlib.crc32(f"{operation.method.upper()} {operation.path}".encode()) % SHARDS == number
    return in_shard


schema = schemathesis.pytest.from_fixture("api_schema")
FUZZ_SETTINGS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
PG_FUZZ_SETTINGS = hypothesis_settings(FUZZ_SETTINGS, max_examples=PG_EXAMPLES)


def check_operation(case, app, settings) -> None:
    key = (case.operation.method.upper(), case.operation.path)
    token = issue_token(settings, FUZZ_USER) if key in ENDS_SIGN_IN else app.state.fuzz_token
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=[not_a_server_error])
    if key not in MAY_ANSWER_401:
        # A 401 here would mean the run lost its sign-in and fuzzed only the authentication.
        assert response.status_code != 401, (key, response.text)


@pytest.mark.backends("sqlite")
@schema.include(_shard(0)).parametrize()
@FUZZ_SETTINGS
def test_no_operation_answers_a_server_error_shard_1(case, app, settings):
    check_operation(case, app, settings)


@pytest.mark.backends("sqlite")
@schema.include(_shard(1)).parametrize()
@FUZZ_SETTINGS
def test_no_operation_answers_a_server_error_shard_2(case, app, settings):
    check_operation(case, app, settings)


@pytest.mark.backends("sqlite")
@schema.include(_shard(2)).parametrize()
@FUZZ_SETTINGS
def test_no_operation_answers_a_server_error_shard_3(case, app, settings):
    check_operation(case, app, settings)


@pytest.mark.backends("sqlite")
@schema.include(_shard(3)).parametrize()
@FUZZ_SETTINGS
def test_no_operation_answers_a_server_error_shard_4(case, app, settings):
    check_operation(case, app, settings)


# The same operations on PostgreSQL, fewer random examples each (the module docstring says why).
@pytest.mark.backends("postgresql")
@schema.include(_shard(0)).parametrize()
@PG_FUZZ_SETTINGS
def test_no_operation_answers_a_server_error_on_postgresql_shard_1(case, app, settings):
    check_operation(case, app, settings)


@pytest.mark.backends("postgresql")
@schema.include(_shard(1)).parametrize()
@PG_FUZZ_SETTINGS
def test_no_operation_answers_a_server_error_on_postgresql_shard_2(case, app, settings):
    check_operation(case, app, settings)


@pytest.mark.backends("postgresql")
@schema.include(_shard(2)).parametrize()
@PG_FUZZ_SETTINGS
def test_no_operation_answers_a_server_error_on_postgresql_shard_3(case, app, settings):
    check_operation(case, app, settings)


@pytest.mark.backends("postgresql")
@schema.include(_shard(3)).parametrize()
@PG_FUZZ_SETTINGS
def test_no_operation_answers_a_server_error_on_postgresql_shard_4(case, app, settings):
    check_operation(case, app, settings)
