"""The ``jobs`` table: one solve each, with its problem, lease, progress and answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db.base import Base, UTCDateTime, utcnow

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")


ACTIVE_STATUSES = ("queued", "running")


FINAL_STATUSES = ("succeeded", "failed", "cancelled", "interrupted")


JOB_KINDS = ("dispatch", "visits", "posts", "groups", "pairs")
"""What a job solves: a dispatch problem, a quarter of team visits, or a long-term matching."""


class Job(Base):
    """One solve: its problem, lease, progress and answer."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_client_id_created_at", "client_id", "created_at"),
        Index("ix_jobs_status_lease_expires_at", "status", "lease_expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(
        String(32), nullable=False, default="dispatch", server_default="dispatch"
    )
    mode: Mapped[str] = mapped_column(String(8), nullable=False, default="async")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    n_members: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    n_demands: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    n_teams: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    problem: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, deferred=True)
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, deferred=True)
    best_answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, deferred=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempts: Mapped[int] = mapped_column(
        Integer, nullable=False, server_default="0"
    )  # times a worker took this job (a lost worker's job is queued again, up to a bound)
    sent_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )  # when a runner handed the queued job to its executor (None: held by the runner)
    resubmitted_from: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
