"""The indexer's job loop.

Run it as `indexer run` (`make run` starts one; on PostgreSQL any number may run). Each
job is claimed with a lease: an UPDATE that marks one claimable job as running, choosing
it with `FOR UPDATE SKIP LOCKED` on PostgreSQL (so workers never wait for each other)
and relying on SQLite's single writer otherwise. A job whose worker died is claimed again
once its lease runs out. Failures are retried with growing delays; after MAX_ATTEMPTS
the job is `dead`, with its error, for an admin to look at and retry.

SIGTERM or SIGINT lets the current job finish, then the loop exits.
Do not call the handlers from web requests: extraction takes seconds to minutes.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import traceback
from datetime import timedelta
from types import FrameType

from flask import Flask
from sqlalchemy import or_, select, update

from indexer.maintenance import periodic_upkeep
from indexer.runner import Claimed, Handler, make_handler
from portal import create_app
from portal.errors import BackendUnavailable
from portal.extensions import db
from portal.models import Job, JobStatus
from portal.models.base import utcnow as _now
from portal.services.jobs import enqueue
from portal.uow import unit_of_work

log = logging.getLogger("indexer")

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=15)
UPKEEP_EVERY = timedelta(hours=1)
REMINDERS_EVERY = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """10 s, 40 s, 2.7 min, 10.7 min, … capped at an hour."""
    return timedelta(seconds=min(3600, 10 * 4 ** (attempts - 1)))



def claim_job(worker_id: str) -> Claimed | None:
    """Lease one due job to `worker_id`, or None when nothing is due."""
    now = _now()
    claimable = (
        select(Job.id)
        .where(or_(
            (Job.status == JobStatus.QUEUED) & (Job.run_after <= now),
            (Job.status == JobStatus.RUNNING) & (Job.leased_until < now),  # its worker died
        ))
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    with unit_of_work() as session:
        row = session.execute(
            update(Job).where(Job.id == claimable)
            .values(status=JobStatus.RUNNING, leased_until=now + LEASE, leased_by=worker_id, attempts=Job.attempts + 1)
            .returning(Job.id, Job.kind, Job.object_id, Job.payload, Job.attempts)
            .execution_options(synchronize_session=False)
        ).first()
    if row is None:
        return None
    return Claimed(id=row.id, kind=row.kind, object_id=row.object_id, payload=row.payload or {}, attempts=row.attempts,
                   claimed_at=now)


def finish_job(job: Claimed, worker_id: str) -> None:
    """Mark the job done. If another worker finished a job for the same object since this one
    was claimed, or took this very job over when the lease ran out, this worker's writes (made
    from what it read earlier) may have landed after the other's newer ones: the object is
    queued once more, and that run indexes it from what the database says then."""
    with unit_of_work() as session:
        finished = session.execute(
            update(Job).where(Job.id == job.id, Job.leased_by == worker_id, Job.status == JobStatus.RUNNING)
            .values(status=JobStatus.DONE, finished_at=_now(), leased_until=None, last_error=None)).rowcount
        overlapped = session.scalar(select(Job.id).where(
            Job.kind == job.kind, Job.object_id == job.object_id, Job.id != job.id, Job.status == JobStatus.DONE,
            Job.finished_at >= job.claimed_at).limit(1))
        if not finished or overlapped is not None:
            log.info("job %s (%s %s) overlapped another worker's; queued again", job.id, job.kind, job.object_id)
            enqueue(job.kind, job.object_id)


def fail_job(job: Claimed, worker_id: str, error: str) -> JobStatus:
    """Schedule a retry, or give up after MAX_ATTEMPTS; returns the job's new status."""
    dead = job.attempts >= MAX_ATTEMPTS
    status = JobStatus.DEAD if dead else JobStatus.QUEUED
    with unit_of_work() as session:
        session.execute(update(Job).where(Job.id == job.id, Job.leased_by == worker_id).values(
            status=status, leased_until=None, last_error=error[-4000:],
            run_after=_now() if dead else _now() + backoff(job.attempts),
            finished_at=_now() if dead else None))
    return status




def run_one(worker_id: str, handle: Handler) -> Claimed | None:
    """Claim and run one job; returns it, or None when the queue had nothing due."""
    job = claim_job(worker_id)
    if job is None:
        return None
    try:
        with unit_of_work():
            handle(job)
    except Exception as exc:  # any failure is recorded on the job and retried; the worker lives on
        db.session.rollback()
        status = fail_job(job, worker_id, "".join(traceback.format_exception_only(type(exc), exc)).strip())
        level = logging.WARNING if isinstance(exc, BackendUnavailable) else logging.ERROR
        log.log(level, "job %s (%s %s) failed, attempt %s: %s -> %s", job.id, job.kind, job.object_id, job.attempts,
                exc.__class__.__name__, status.value)
    else:
        finish_job(job, worker_id)
    return job


def send_reminders(app: Flask) -> None:
    """Queue due reminders (each at most once, whatever restarts) and deliver queued mail."""
    from datetime import date

    from portal.mail import deliver_pending
    from portal.services.obligations import queue_reminders

    settings = app.config["PORTAL"]
    queue_reminders(date.today(), base_url=settings.base_url)
    deliver_pending(settings)


class _Stop:
    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current job", signum)
        self.event.set()


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_worker(*, once: bool = False, poll_seconds: float = 2.0, app: Flask | None = None) -> None:
    """Work the queue until stopped (or, with `once`, until nothing is due)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = _Stop()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    app = app or create_app()
    worker_id = worker_identity()
    log.info("indexer %s started", worker_id)
    next_upkeep = next_reminders = _now()
    with make_handler() as handle:
        while not stop.event.is_set():
            with app.app_context():
                try:
                    if _now() >= next_upkeep:
                        log.info("upkeep: %s", periodic_upkeep())
                        next_upkeep = _now() + UPKEEP_EVERY
                    if _now() >= next_reminders:
                        send_reminders(app)
                        next_reminders = _now() + REMINDERS_EVERY
                    job = run_one(worker_id, handle)
                except Exception as exc:  # the database or index may be restarting: wait and try again
                    log.warning("queue not reachable: %s", exc.__class__.__name__)
                    job = None
            if job is None:
                if once:
                    break
                stop.event.wait(poll_seconds)
    log.info("indexer %s stopped", worker_id)
