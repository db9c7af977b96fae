"""Rebuilding the index from the database, and comparing the two (`indexer reindex`, `indexer check`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from indexer.jobs import Extractor, extract_version
from portal.backends import search_index
from portal.extensions import db
from portal.models import Agreement, Document, ExtractionStatus, Job, JobStatus, Obligation
from portal.search import SearchRecord
from portal.search.agreements import agreement_records
from portal.search.documents import document_records
from portal.search.obligations import obligation_records
from portal.services.parties import find_municipality
from portal.uow import unit_of_work


def _documents() -> Iterable[Document]:
    ids = list(db.session.scalars(select(Document.id).order_by(Document.id)))
    for start in range(0, len(ids), 200):
        batch = db.session.scalars(select(Document).where(Document.id.in_(ids[start:start + 200]))
                                   .options(selectinload(Document.versions)).order_by(Document.id))
        yield from batch


def expected_records() -> Iterable[SearchRecord]:
    municipality = find_municipality()
    municipality_id = municipality.id if municipality else -1
    for document in _documents():
        yield from document_records(document, municipality_id)
    for agreement in db.session.scalars(select(Agreement).order_by(Agreement.id)):
        yield from agreement_records(agreement)
    for obligation in db.session.scalars(select(Obligation).order_by(Obligation.id)):
        yield from obligation_records(obligation, municipality_id)


def count_documents() -> int:
    return len(list(db.session.scalars(select(Document.id))))


def reindex(extractor: Extractor | None, *, force_extract: bool = False,
            progress: Callable[[int], None] = lambda n: None) -> int:
    """Write a new index from the database and switch to it. With `extractor`, PDFs not yet
    extracted are extracted (every PDF, with `force_extract`); otherwise stored text is used.

    Searches keep answering from the old index until the switch. Returns the number of records written.
    """
    written = 0
    municipality = find_municipality()
    municipality_id = municipality.id if municipality else -1
    with search_index().rebuild() as writer:
        for document in _documents():
            version = document.current
            is_pdf = version.media_type == "application/pdf"
            if extractor is not None and is_pdf and (force_extract or version.status is ExtractionStatus.PENDING):
                with unit_of_work():
                    extract_version(version, extractor)
            records = document_records(document, municipality_id)
            writer.upsert(records)
            written += len(records)
            progress(1)
        for agreement in db.session.scalars(select(Agreement).order_by(Agreement.id)):
            records = agreement_records(agreement)
            writer.upsert(records)
            written += len(records)
        for obligation in db.session.scalars(select(Obligation).order_by(Obligation.id)):
            records = obligation_records(obligation, municipality_id)
            writer.upsert(records)
            written += len(records)
    return written


@dataclass
class Differences:
    missing: list[str] = field(default_factory=list)  # in the database, not in the index
    stale: list[str] = field(default_factory=list)  # in both, but the index holds old content or access
    extra: list[str] = field(default_factory=list)  # in the index, not in the database

    @property
    def any(self) -> bool:
        return bool(self.missing or self.stale or self.extra)


def compare() -> Differences:
    indexed = search_index().record_ids_for_check()
    differences = Differences()
    seen = set()
    for record in expected_records():
        seen.add(record.id)
        stamp = indexed.get(record.id)
        if stamp is None:
            differences.missing.append(record.id)
        elif stamp.fingerprint != record.fingerprint():
            differences.stale.append(record.id)
    differences.extra = sorted(set(indexed) - seen)
    return differences


DONE_JOBS_KEPT = timedelta(days=14)


def periodic_upkeep() -> dict[str, int]:
    """What the worker does about once an hour: expire agreements whose term ended, purge
    documents past their restore window, forget old log-in failures, and drop finished jobs
    after two weeks (dead ones stay)."""
    from portal.services.agreements import expire_agreements
    from portal.services.auth import prune_login_failures
    from portal.services.obligations import extend_all
    from portal.services.storage_check import purge_deleted_documents

    with unit_of_work() as session:
        extend_all()
        expired = expire_agreements()
        purged = purge_deleted_documents()
        failures = prune_login_failures(older_than_seconds=24 * 3600)
        jobs = session.execute(delete(Job).where(Job.status == JobStatus.DONE,
                                                 Job.finished_at < datetime.now(UTC) - DONE_JOBS_KEPT)).rowcount
    return {"expired_agreements": expired, "purged_documents": purged, "login_failures": failures,
            "done_jobs": jobs or 0}
