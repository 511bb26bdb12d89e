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
