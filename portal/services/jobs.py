"""Adding jobs to the outbox. Call inside the unit of work that makes the change, so the job
commits (or rolls back) with it; the indexer picks it up from there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from portal import access
from portal.access import Actor, require
from portal.errors import NotFound
from portal.extensions import db
from portal.models import Document, Job, JobStatus, Party
from portal.services.audit import record_event

INDEX_DOCUMENT = "index_document"
INDEX_AGREEMENT = "index_agreement"
INDEX_OBLIGATION = "index_obligation"


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


def job_counts(actor: Actor, municipality: Party) -> dict[str, int]:
    require(actor, "jobs:manage", municipality)
    rows = db.session.execute(select(Job.status, func.count()).group_by(Job.status))
    return {status.value: count for status, count in rows}


def list_jobs(actor: Actor, municipality: Party, status: JobStatus, *, limit: int = 200) -> list[tuple[Job, str | None]]:
    """Jobs in `status`, newest first, with the title of the document each concerns (None where the
    operator may not read the document: running the queue does not open an organisation's own files)."""
    require(actor, "jobs:manage", municipality)
    stmt = (select(Job, Document.title).outerjoin(Document, (Job.kind == INDEX_DOCUMENT) & (Document.id == Job.object_id)
                                                  & access.document_read_clause(actor))
            .where(Job.status == status).order_by(Job.id.desc()).limit(limit))
    return [(job, title) for job, title in db.session.execute(stmt)]


def retry_job(actor: Actor, municipality: Party, job_id: int) -> Job:
    """Put a dead (or waiting) job back in the queue at once, with a fresh set of attempts."""
    require(actor, "jobs:manage", municipality)
    job = db.session.get(Job, job_id)
    if job is None or job.status not in (JobStatus.DEAD, JobStatus.QUEUED):
        raise NotFound("Jobbet findes ikke eller er ikke i kø eller opgivet.")
    job.status, job.run_after, job.attempts, job.leased_until = JobStatus.QUEUED, datetime.now(UTC), 0, None
    record_event(actor, "job.retry", "job", job.id)
    return job


def document_job_state(document_id: int) -> dict[str, object] | None:
    """The newest indexing job of a document, for its status display."""
    job = db.session.scalar(select(Job).where(Job.kind == INDEX_DOCUMENT, Job.object_id == document_id)
                            .order_by(Job.id.desc()).limit(1))
    if job is None:
        return None
    return {"status": job.status.value, "attempts": job.attempts, "error": job.last_error if job.status is JobStatus.DEAD else None}
