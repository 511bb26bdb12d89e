"""Finding 10: every bad input is a 4xx naming the problem, never a 500.

The two causes the attack found — integers past 64 bits in paths and queries, and `'²'.isdigit()`
in version references — and the one schemathesis found next (a NUL character, which PostgreSQL
text refuses), each on SQLite and PostgreSQL. Schemathesis (test_schemathesis.py) covers every
operation; these pin the known cases with the answer a client relies on.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

from api.deps import DB_INT_MAX
from api.input_guard import DATA_REFUSED, NUL_REFUSED
from api.pages.web import PageRoute
from engine.calendar.working import WorkingCalendar
from engine.catalog.document import TimeLimit
from engine.clock import BEIJING
from engine.errors import InvalidInput
from tests.auth_helpers import bearer_headers
from tests.runtime_helpers import load_demo_catalog

PAST_64_BITS = "99999999999999999999"  # > 2**64
PAST_INT_COLUMN = str(DB_INT_MAX + 1)  # fits 64 bits, not PostgreSQL's INTEGER


@pytest.fixture
def published(client, database, clock, demo_catalog_path) -> int:
    """The demo catalog imported and published (publishing refreshes the analysis alerts)."""
    return load_demo_catalog(database, clock, demo_catalog_path)


@pytest.fixture
def coordinator(database, clock, settings) -> dict[str, str]:
    return bearer_headers(database, clock, settings, "bianban", ["establishment_office"])


# ------------------------------------------------------------------ version references


@pytest.mark.parametrize("url", [
    "/api/public/duties/MZ-GF-001?version=%C2%B2",  # the attack: '²'.isdigit() is True, int('²') fails
    "/api/public/duties?version=%C2%B2",
    "/api/public/export?version=%C2%B2",
])
def test_a_unicode_digit_is_no_version_reference(client, published, url):
    response = client.get(url)
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == "找不到清单版本 '²'"


def test_only_ascii_digits_name_a_version_by_its_number(client, published):
    # int('١') == 1 (ARABIC-INDIC DIGIT ONE): the old parser took it for version 1.
    assert client.get(f"/api/public/duties/MZ-GF-001?version={published}").status_code == 200
    response = client.get("/api/public/duties/MZ-GF-001?version=%D9%A1")
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == "找不到清单版本 '١'"


@pytest.mark.parametrize("number", [PAST_64_BITS, PAST_INT_COLUMN])
def test_a_version_number_past_the_id_column_is_unknown(client, published, number):
    response = client.get(f"/api/public/duties/MZ-GF-001?version={number}")
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == f"找不到清单版本 '{number}'"


def test_an_over_long_version_reference_is_refused(client, published, coordinator):
    response = client.get("/api/versions/" + "1" * 101, headers=coordinator)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "清单版本引用无效"
    assert "不超过 100 个可见字符" in response.json()["problems"][0]


def test_a_version_reference_with_a_control_character_is_refused(client, published):
    response = client.get("/api/public/duties/MZ-GF-001", params={"version": "2026\t1"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == "清单版本引用无效"


# ------------------------------------------------------------------ integers in paths and queries


def test_the_anonymous_offset_of_the_attack_is_refused(client, published):
    response = client.get(f"/api/public/duties?offset={PAST_64_BITS}")
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("number", [PAST_64_BITS, PAST_INT_COLUMN])
def test_alert_ids_and_offsets_past_the_column_are_422_naming_the_parameter(client, published, coordinator, number):
    answers = {
        "offset": client.get(f"/api/alerts?offset={number}", headers=coordinator),
        "alert_id": client.get(f"/api/alerts/{number}", headers=coordinator),
    }
    for action in ("acknowledge", "resolve", "dispute"):
        answers[f"alert_id ({action})"] = client.post(f"/api/alerts/{number}/{action}", headers=coordinator, json={})
    for what, response in answers.items():
        assert response.status_code == 422, (what, response.text)
        # Named by its label, in Chinese (api.messages): 起始位置 (offset) or the alert's id.
        label = {"offset": "起始位置", "alert_id": "预警编号"}[what.split(" ")[0]]
        assert response.json()["problems"][0].startswith(f"{label}：应不大于"), (what, response.text)


def test_the_largest_alert_id_is_simply_not_found(client, published, coordinator):
    response = client.get(f"/api/alerts/{DB_INT_MAX}", headers=coordinator)
    assert response.status_code == 404, response.text
    assert client.get(f"/api/alerts?offset={DB_INT_MAX}", headers=coordinator).json() == []


# ------------------------------------------------------------------ uploads


@pytest.fixture
def legal_office(database, clock, settings) -> dict[str, str]:
    return bearer_headers(database, clock, settings, "fazhiban", ["legal_office"])


def test_a_unicode_digit_as_category_code_is_an_import_problem(client, legal_office, research_csv_path):
    # '᧚' (NEW TAI LUE THAM DIGIT ONE): str.isdigit() is True, int() refuses it — the import was a 500.
    header, first = research_csv_path.read_text(encoding="utf-8").splitlines()[:2]
    cells = first.split(",")
    assert header.split(",")[5:7] == ["事项类型代码", "事项类型"]
    cells[5], cells[6] = "", "᧚"
    body = f"{header}\n{','.join(cells)}\n".encode()
    response = client.post("/api/import", headers=legal_office, files={"file": ("t.csv", body, "text/csv")},
                           data={"region": "广安区", "name": "广安区政务服务事项", "version": "2025.1"})
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0].startswith("CSV 第2行 事项类型: 无法识别的事项类型 '᧚'")


def test_a_staffing_quota_past_the_column_is_an_import_problem(client, legal_office, demo_catalog_path):
    # SQLite refused the int with OverflowError, PostgreSQL with "integer out of range": a 500.
    document = yaml.safe_load(demo_catalog_path.read_text(encoding="utf-8"))
    document["departments"][0]["staffing_quota"] = int(PAST_64_BITS)
    body = yaml.safe_dump(document, allow_unicode=True).encode()
    response = client.post("/api/import", headers=legal_office, files={"file": ("c.yaml", body, "application/yaml")})
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == [
        f"departments[0].staffing_quota: 不能大于 {DB_INT_MAX}，实际为 {PAST_64_BITS}"]


# ------------------------------------------------------------------ the working-day calendar (anonymous)


@pytest.mark.parametrize("start", ["9999-12-31T10:00", "0001-01-01T10:00", "1999-12-31T10:00", "2101-01-01T09:00"])
def test_a_start_outside_the_calendar_years_is_refused(client, start):
    # 9999-12-31 + 5 working days overflowed datetime: a 500 before.
    response = client.get("/api/calendar/due", params={"start": start, "limit": "5个工作日"})
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": f"开始时间超出范围：{start}", "problems": ["开始时间：年份应在 2000 至 2100 之间"],
                               "code": "invalid_input"}


@pytest.mark.parametrize(("limit", "longest"), [
    ("1000000000个工作日", "2500个工作日"),  # counted day by day: kept the request busy for hours
    ("3661日", "3660个自然日"),
    ("20001小时", "20000小时"),
])
def test_a_limit_longer_than_ten_years_is_refused_at_once(client, limit, longest):
    response = client.get("/api/calendar/due", params={"start": "2026-09-30T10:00", "limit": limit})
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": f"时限过长：{limit}", "problems": [f"时限：不得超过 {longest}"],
                               "code": "invalid_input"}


def test_a_limit_past_the_integer_column_is_refused_by_the_parser(client):
    # Past 2**31 - 1 the catalog model (TimeLimit) and the database could not hold it: a 500 before.
    limit = f"{PAST_64_BITS}日"
    response = client.get("/api/calendar/due", params={"start": "2026-09-30T10:00", "limit": limit})
    assert response.status_code == 422, response.text
    assert response.json() == {"detail": f"时限数值过大：{limit!r}",
                               "problems": [f"时限 {limit!r}：数值不能大于 {DB_INT_MAX}"], "code": "invalid_input"}


def test_the_longest_limits_are_still_counted(client):
    # 2026-09-30 + 3660 calendar days: ten years are 3653 days (29 February 2028, 2032 and 2036),
    # seven more give Tuesday 2036-10-07 — after the 国庆 days, a working day even in a year not
    # yet published — closing at 17:30, the end of office hours.
    response = client.get("/api/calendar/due", params={"start": "2026-09-30T10:00", "limit": "3660日"})
    assert response.status_code == 200, response.text
    assert response.json()["due"] == "2036-10-07T17:30:00+08:00"
    response = client.get("/api/calendar/due", params={"start": "2100-12-31T10:00", "limit": "2500个工作日"})
    assert response.status_code == 200, response.text
    assert response.json()["provisional"] is True


# ------------------------------------------------------------------ NUL and values the database refuses


@pytest.mark.parametrize("url", [
    "/api/warnings?department=%00",  # found by schemathesis: psycopg DataError on PostgreSQL → 500
    "/api/public/duties?q=a%00b",
    "/api/public/duties/MZ%00GF-001",
    "/catalog?q=%00",
])
def test_a_nul_character_in_the_path_or_query_is_refused(client, published, coordinator, url):
    response = client.get(url, headers=coordinator)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == NUL_REFUSED


def test_a_nul_character_in_a_json_body_is_stored_or_refused_never_a_500(client, published, coordinator, database):
    alerts = client.get("/api/alerts", headers=coordinator).json()
    assert alerts, "publishing the demo catalog raises alerts"
    response = client.post(f"/api/alerts/{alerts[0]['id']}/resolve", headers=coordinator,
                           json={"resolution": "已协调\u0000"})
    if database.is_sqlite:
        assert response.status_code == 200, response.text  # SQLite text holds NUL
    else:
        assert response.status_code == 422, response.text  # PostgreSQL text cannot: a 4xx, nothing written
        assert response.json()["detail"] == DATA_REFUSED
        assert client.get(f"/api/alerts/{alerts[0]['id']}", headers=coordinator).json()["status"] != "resolved"


def test_a_page_whose_value_the_database_refuses_answers_an_error_page(app):
    """PageRoute (api.pages.web) shows a DataError as a 422 page like any refusal."""

    def refused():
        raise DataError("SELECT 1", {}, Exception("text fields cannot contain NUL"))

    app.router.add_api_route("/refused-for-the-test", refused, route_class_override=PageRoute)
    with TestClient(app) as client:
        response = client.get("/refused-for-the-test")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert DATA_REFUSED in response.text


# ------------------------------------------------------------------ request bodies


def test_an_oversized_json_body_is_refused_before_any_route_parses_it(client, database, clock, settings):
    # Start data and forms are a few KB; a 2 MB JSON body (declared length) is 413 in Chinese.
    headers = {**bearer_headers(database, clock, settings, "s003", []), "content-type": "application/json"}
    body = b'{"process_id": "time_limited_case", "data": {"note": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    response = client.post("/api/instances", content=body, headers=headers)
    assert response.status_code == 413, response.text
    assert "过大" in response.json()["detail"]


def test_a_chunked_body_without_length_is_counted_and_refused(client, database, clock, settings):
    headers = {**bearer_headers(database, clock, settings, "s003", []), "content-type": "application/json"}

    def chunks():  # no Content-Length: the server must count what arrives
        yield b'{"process_id": "time_limited_case", "data": {"note": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}}'

    response = client.post("/api/instances", content=chunks(), headers=headers)
    assert response.status_code == 413, response.text


def test_a_small_chunked_body_still_reaches_the_route(client, database, clock, settings):
    headers = {**bearer_headers(database, clock, settings, "s003", []), "content-type": "application/json"}

    def chunks():
        yield b'{"process_id": "no_such_process",'
        yield b' "data": {}}'

    response = client.post("/api/instances", content=chunks(), headers=headers)
    assert response.status_code == 404, response.text  # parsed and answered by the route


# ------------------------------------------------------------------ unbounded counting


@pytest.mark.parametrize("unit", ["working_days", "calendar_days", "hours"])
def test_the_calendar_refuses_to_count_a_limit_of_a_billion(unit):
    # An imported duty (or a BPMN timer) with a limit of 10⁹ days used to keep the step counting
    # for hours; the calendar itself refuses anything over ten years, whoever asks.
    with pytest.raises(InvalidInput, match="时限过长"):
        WorkingCalendar().due(datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING), TimeLimit(value=10**9, unit=unit))
