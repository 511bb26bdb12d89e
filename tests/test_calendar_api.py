"""The calendar over HTTP: due times, a year's days, an administrator entering a year."""

from __future__ import annotations

from tests.auth_helpers import bearer_headers

SCHEDULE_2027 = {
    "holidays": ["2027-01-01", "2027-01-02", "2027-01-03", "2027-02-06", "2027-02-07", "2027-02-08"],
    "workdays": ["2027-01-30"],
    "note": "国办发明电〔2026〕9号",
    "day_notes": {"2027-01-01": "元旦"},
}


def _headers(database, clock, settings, username="admin", roles=("admin",)):
    return bearer_headers(database, clock, settings, username, roles)


def test_due_for_the_acceptance_example(client):
    response = client.get("/api/calendar/due", params={"start": "2026-09-30T10:00", "limit": "5个工作日"})
    assert response.status_code == 200
    body = response.json()
    assert body["due"] == "2026-10-13T17:30:00+08:00"
    assert body["provisional"] is False
    assert body["weekday"] == "星期二"
    assert body["limit"] == {"value": 5, "unit": "working_days", "text": "5个工作日"}


def test_due_in_an_unpublished_year_is_provisional(client):
    body = client.get("/api/calendar/due", params={"start": "2027-03-01T10:00", "limit": "30日"}).json()
    assert body["due"] == "2027-03-31T17:30:00+08:00"
    assert body["provisional"] is True


def test_due_accepts_offsets_and_hours(client):
    body = client.get(
        "/api/calendar/due", params={"start": "2026-09-30T07:00:00+00:00", "limit": "4小时"}
    ).json()
    assert body["due"] == "2026-10-08T10:30:00+08:00"


def test_bad_limit_and_bad_start_are_422_naming_the_problem(client):
    response = client.get("/api/calendar/due", params={"start": "2026-09-30T10:00", "limit": "五周"})
    assert response.status_code == 422
    assert "五周" in response.json()["detail"]
    assert response.json()["problems"]
    response = client.get("/api/calendar/due", params={"start": "下周一", "limit": "5日"})
    assert response.status_code == 422
    assert "start" in response.json()["problems"][0]
    assert client.get("/api/calendar/due", params={"limit": "5日"}).status_code == 422


def test_days_of_an_official_year(client):
    body = client.get("/api/calendar/days", params={"year": 2026}).json()
    assert body["source"] == "official"
    day = next(d for d in body["days"] if d["date"] == "2026-10-10")
    assert day == {
        "date": "2026-10-10",
        "weekday": "星期六",
        "is_working": True,
        "source": "official",
        "note": "国庆节",
    }
    assert client.get("/api/calendar/days", params={"year": 2027}).json()["source"] == "provisional"
    assert client.get("/api/calendar/days", params={"year": 1800}).status_code == 422


def test_admin_enters_a_year_and_deadlines_become_certain(client, database, clock, settings):
    headers = _headers(database, clock, settings)
    response = client.put("/api/calendar/years/2027", json=SCHEDULE_2027, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "entered"
    assert body["entered_by"] == "admin"
    assert body["entered_at"] == "2026-09-30T09:00:00+08:00"
    assert body["notice"] == "国办发明电〔2026〕9号"
    assert len(body["days"]) == 7
    assert body["days"][0]["note"] == "元旦"

    due = client.get("/api/calendar/due", params={"start": "2027-02-05T10:00", "limit": "1个工作日"}).json()
    assert due["due"] == "2027-02-09T17:30:00+08:00"
    assert due["provisional"] is False
    assert client.get("/api/calendar/days", params={"year": 2027}).json()["source"] == "entered"


def test_entering_a_year_needs_an_admin(client, database, clock, settings):
    assert client.put("/api/calendar/years/2027", json=SCHEDULE_2027).status_code == 401
    headers = _headers(database, clock, settings, username="chen", roles=("staff",))
    assert client.put("/api/calendar/years/2027", json=SCHEDULE_2027, headers=headers).status_code == 403
    assert client.get("/api/calendar/days", params={"year": 2027}).json()["source"] == "provisional"


def test_a_bad_schedule_is_422_with_every_problem(client, database, clock, settings):
    headers = _headers(database, clock, settings)
    bad = {"holidays": ["2028-01-01", "2027-01-04"], "workdays": ["2027-01-04", "2027-01-06"]}
    response = client.put("/api/calendar/years/2027", json=bad, headers=headers)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert any("2028-01-01" in p for p in problems)
    assert any("同时列为" in p for p in problems)
    assert any("2027-01-06" in p for p in problems)
    not_a_date = client.put("/api/calendar/years/2027", json={"holidays": ["元旦"]}, headers=headers)
    assert not_a_date.status_code == 422
    assert client.get("/api/calendar/days", params={"year": 2027}).json()["source"] == "provisional"
