"""What the indexer does for each job, reloading everything from the database by id.

Jobs are idempotent: running one twice, or an old one after a newer one, leaves the index
equal to what the database says now. Extraction happens only for a version whose text is
not stored yet (or when a rebuild asks for it), since it is by far the slowest step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import delete

from indexer.extract import ExtractionResult
from portal.backends import object_store, search_index
from portal.extensions import db
from portal.models import Agreement, Document, DocumentPage, DocumentVersion, ExtractionStatus, Obligation
from portal.search.agreements import RECORD_TYPE as AGREEMENT_RECORD
from portal.search.agreements import agreement_records
from portal.search.documents import document_records, page_record_id
from portal.search.obligations import RECORD_TYPE as OBLIGATION_RECORD
from portal.search.obligations import obligation_records
from portal.services.jobs import INDEX_AGREEMENT, INDEX_DOCUMENT, INDEX_OBLIGATION
from portal.services.parties import find_municipality

log = logging.getLogger("indexer.jobs")


class Extractor(Protocol):
    def __call__(self, pdf_bytes: bytes) -> ExtractionResult: ...


def read_bytes(version: DocumentVersion) -> bytes:
    return b"".join(object_store().open(version.object_key))


def extract_version(version: DocumentVersion, extractor: Extractor) -> None:
    """Extract `version` and store its pages and status (in the caller's unit of work)."""
    result = extractor(read_bytes(version))
    db.session.execute(delete(DocumentPage).where(DocumentPage.version_id == version.id))
    ocr_pages = set(result.ocr_pages)
    db.session.add_all(DocumentPage(version_id=version.id, number=number, text=text, ocr=number in ocr_pages)
                       for number, text in enumerate(result.pages, start=1))
    version.status = ExtractionStatus(result.status)
    version.status_reason = result.reason
    version.page_count = result.page_count or None
    log.info("document %s version %s: %s (%s pages)", version.document_id, version.number, result.status,
             result.page_count)


def index_document(document_id: int, extractor: Extractor, *, force_extract: bool = False) -> None:
    """Bring the index in line with document `document_id` as the database has it now."""
    index = search_index()
    document = db.session.get(Document, document_id)
    if document is None:
        index.delete_source(document_id)
        return
    version = document.current
    if version.media_type == "application/pdf" and (force_extract or version.status is ExtractionStatus.PENDING):
        extract_version(version, extractor)
        db.session.flush()
    municipality = find_municipality()
    records = document_records(document, municipality.id if municipality else -1)
    if not records:
        index.delete_source(document.id)
        return
    index.upsert(records)
    # Pages indexed before that the current records lack (a shorter new version, a page now empty).
    kept = {r.id for r in records}
    highest = max((v.page_count or 0 for v in document.versions), default=0)
    stale = [rid for n in range(1, highest + 1) if (rid := page_record_id(document.id, n)) not in kept]
    if stale:
        index.delete_records(stale)


def index_agreement(agreement_id: int, extractor: Extractor, *, force_extract: bool = False) -> None:
    """Replace an agreement's section records with those of its newest revision."""
    index = search_index()
    index.delete_source(agreement_id, record_type=AGREEMENT_RECORD)
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is not None:
        records = agreement_records(agreement)
        if records:
            index.upsert(records)


def index_obligation(obligation_id: int, extractor: Extractor, *, force_extract: bool = False) -> None:
    index = search_index()
    obligation = db.session.get(Obligation, obligation_id)
    municipality = find_municipality()
    records = obligation_records(obligation, municipality.id if municipality else -1) if obligation else []
    if records:
        index.upsert(records)
    else:
        index.delete_source(obligation_id, record_type=OBLIGATION_RECORD)


HANDLERS: dict[str, Callable[..., None]] = {INDEX_DOCUMENT: index_document, INDEX_AGREEMENT: index_agreement,
                                            INDEX_OBLIGATION: index_obligation}
