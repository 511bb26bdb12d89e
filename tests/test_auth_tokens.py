"""API sign-in: a token for a valid password, 401 otherwise, roles enforced."""

from engine.auth.service import create_user


def _user(database, clock, **kwargs):
    with database.session() as session:
        create_user(session, now=clock.now(), **kwargs)


def test_token_identifies_the_user(client, database, clock):
    _user(database, clock, username="chen", password="secret-pass", staff_id="S003", roles=["staff"])
    response = client.post("/api/token", data={"username": "chen", "password": "secret-pass"})
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"username": "chen", "staff_id": "S003", "roles": ["staff"], "display_name": "chen"}


def test_wrong_password_and_forged_token_are_refused(client, database, clock):
    _user(database, clock, username="chen", password="secret-pass")
    assert client.post("/api/token", data={"username": "chen", "password": "nope-nope"}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer forged.token"}).status_code == 401
    assert client.get("/api/me").status_code == 401
