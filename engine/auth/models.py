"""Tables of sign-in: user accounts bound to staff records and roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from engine.db import AwareDateTime


class UserAccount(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    display_name: str = Field(default="", max_length=64)
    password_hash: str = Field(max_length=255)
    # The staff record (Holder id in the catalog, e.g. S003) this account acts as; None for pure admins.
    staff_id: str | None = Field(default=None, index=True, max_length=64)
    # Space-separated role names from engine.auth.roles.ROLES.
    roles: str = Field(default="staff", max_length=255)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=Column(AwareDateTime(), nullable=False))
