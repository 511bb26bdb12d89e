"""Tables of sign-in: user accounts bound to staff records and roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from engine.models.types import AwareDateTime


class UserAccount(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    display_name: str = Field(default="", max_length=64)
    password_hash: str = Field(max_length=255)
    # The staff record (Holder id in the catalog, e.g. S003) this account acts as; None for pure admins.
    staff_id: str | None = Field(default=None, index=True, max_length=64)
    # Space-separated role names from engine.auth.roles.ROLES.
    roles: str = Field(default="staff", max_length=255)
    active: bool = Field(default=True)
    # A password an administrator gave (new account, reset): the holder must choose their own at
    # the next sign-in before anything else (api.security: every page and API route but the change).
    must_change_password: bool = Field(default=False)
    created_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))


class AuthSession(SQLModel, table=True):
    """One sign-in (a browser's session cookie or an API token): the cookie or token names only
    its id, so logging out, an administrator, or disabling the account ends it at once."""

    __tablename__ = "auth_session"

    # Random and unguessable (secrets.token_urlsafe); signed into the cookie or token as well.
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(AwareDateTime(), nullable=True))
