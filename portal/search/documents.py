"""Building the search records of a document from the database: one record per page of
its current version, carrying the metadata the filters and facets use and the reader
tokens `access.py` computes. Everything indexed comes from here, so the indexer, a full
rebuild and `indexer check` always agree on what a document's records should be."""

from __future__ import annotations

from sqlalchemy import select

from portal import access
from portal.extensions import db
from portal.models import Document, DocumentPage, ExtractionStatus
from portal.search import SearchRecord

RECORD_TYPE = "page"


def page_record_id(document_id: int, page: int) -> str:
    # Without the version: a new version's page 3 replaces the old page 3 in place.
    return f"doc:{document_id}:p{page}"


def document_records(document: Document, municipality_id: int) -> list[SearchRecord]:
    """The records `document` should have in the index now (none when deleted, unreadable or not extracted)."""
    version = document.current
    readers = access.document_readers(document, municipality_id)
    if not readers or version.status is not ExtractionStatus.EXTRACTED:
        return []
    pages = db.session.scalars(select(DocumentPage).where(DocumentPage.version_id == version.id)
                               .order_by(DocumentPage.number))
    date = document.published_at or version.uploaded_at
    return [
        SearchRecord(
            id=page_record_id(document.id, page.number), source_id=document.id, version=version.number,
            page=page.number, record_type=RECORD_TYPE, title=document.title, text=page.text,
            organisation_id=document.party_id, organisation_name=document.party.name,
            department_id=document.department_id, kind=document.kind.value, year=document.year,
            visibility=document.visibility.value, date=date, readers=readers,
        )
        for page in pages if page.text.strip()
    ]
