"""Tables of this area (SQLModel): coordinator alerts, one row per distinct finding."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from engine.models.types import AwareDateTime

# Alert statuses. `closed` is set by the analysis (the finding disappeared); `acknowledged` and
# `resolved` are set by a coordinator.
OPEN = "open"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
CLOSED = "closed"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED, CLOSED)


class Alert(SQLModel, table=True):
    """A finding of the analysis (overlap, suspected overlap, gap, runaround) kept for coordinators.

    `finding_key` is stable across analyses (kind + sorted duty codes or the ref), so re-analysing
    a catalog updates the row instead of adding a duplicate. `scope` separates catalogs of
    different regions (and runtime findings) so refreshing one never closes another's alerts.
    """

    __tablename__ = "analysis_alert"
    __table_args__ = (
        UniqueConstraint("scope", "finding_key", name="uq_analysis_alert_scope_key"),
        Index("ix_analysis_alert_status_kind", "status", "kind"),
    )

    id: int = Field(default=None, primary_key=True)
    scope: str = Field(max_length=200)  # "catalog:<region>/<name>" or "runtime"
    finding_key: str = Field(max_length=500)
    category: str = Field(max_length=40)  # overlap / suspected_overlap / gap / staffing / boundary / runaround
    kind: str = Field(max_length=40)  # the report's kind (taxonomy, post_vacant, …)
    severity: str = Field(max_length=10)  # high / medium / low
    summary: str = Field(max_length=1000)  # Chinese, for people
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # ",MT,AJ," so a department filter is a portable LIKE on SQLite and PostgreSQL alike.
    departments: str = Field(default=",", max_length=1000)
    status: str = Field(default=OPEN, max_length=20, index=True)
    catalog_version_id: int | None = Field(default=None, index=True)  # last version that showed it
    first_seen_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    last_seen_at: datetime = Field(sa_type=AwareDateTime, nullable=False)
    acknowledged_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    resolved_by: str | None = Field(default=None, max_length=100)
    resolution: str | None = Field(default=None, max_length=2000)
    closed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    reopened_count: int = Field(default=0)
    dispute_instance_id: str | None = Field(default=None, max_length=100)
