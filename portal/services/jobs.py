"""Adding jobs to the outbox. Call inside the unit of work that makes the change, so the job
commits (or rolls back) with it; the indexer picks it up from there."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.models import Job, JobStatus

INDEX_DOCUMENT = "index_document"


def enqueue(kind: str, object_id: int, payload: dict[str, Any] | None = None) -> Job:
    """Queue `kind` for `object_id`; a job for the same object still waiting is reused, since
    the worker reloads the object's current state anyway."""
    waiting = db.session.scalar(select(Job).where(
        Job.kind == kind, Job.object_id == object_id, Job.status == JobStatus.QUEUED, Job.leased_until.is_(None)))
    if waiting is not None:
        if payload:
            waiting.payload = {**waiting.payload, **payload}
        return waiting
    job = Job(kind=kind, object_id=object_id, payload=payload or {})
    db.session.add(job)
    return job
