"""The schema Alembic builds is the schema the models declare, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel


def test_migrations_match_models(database):
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], f"models and migrations differ: {differences}"


def test_app_serves_openapi_docs(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"].startswith("dutyflow")


def test_settings_follow_the_environment_as_it_is_now(monkeypatch):
    from engine.config import get_settings

    monkeypatch.setenv("DUTYFLOW_OFFICE_HOURS", "08:30-12:00")
    first = get_settings()
    assert first.office_hours == "08:30-12:00"
    assert get_settings() is first  # unchanged environment: the same settings object
    monkeypatch.setenv("DUTYFLOW_OFFICE_HOURS", "09:00-17:00")
    assert get_settings().office_hours == "09:00-17:00"
    monkeypatch.delenv("DUTYFLOW_OFFICE_HOURS")
    assert get_settings().office_hours == "09:00-12:00,13:30-17:30"


def test_every_setting_follows_the_variable_named_after_it(monkeypatch):
    from engine.config import Settings, get_settings

    # A valid value other than the default for each setting that is checked (paths take "/tmp/x").
    samples = {"demo": "1", "yellow_days_before": "3", "trusted_origins": "https://a.example",
               "timezone": "Asia/Urumqi", "secret_key": "k" * 40, "office_hours": "08:30-12:00",
               "embedded_worker": "on", "yellow_fraction": "1/2", "cookie_secure": "1",
               "forwarded_allow_ips": "10.0.0.1", "session_hours": "8", "login_limit_account": "3/minute",
               "login_limit_address": "9/minute", "login_limit_storage": "redis://127.0.0.1:6379"}
    for field_name in Settings.model_fields:
        name = f"DUTYFLOW_{field_name.upper()}"
        monkeypatch.delenv(name, raising=False)
        default = getattr(get_settings(), field_name)
        monkeypatch.setenv(name, samples.get(field_name, "/tmp/x"))
        assert getattr(get_settings(), field_name) != default, name
        monkeypatch.delenv(name)
