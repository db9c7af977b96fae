"""Documents: upload, versions, metadata, soft delete and restore, publishing, listing.

Write order, so nothing is lost and no row points at nothing: the bytes go to the object
store first; only then are the document row, its version and its index job added, in one
transaction. If the store fails, the user gets a clear error and no row exists; if the
transaction fails, an unreferenced object is left for `portal storage check` to sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from portal import access
from portal.access import Actor, load, require
from portal.backends import object_store
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.i18n import N_
from portal.models import (
    AuditEvent,
    Department,
    Document,
    DocumentKind,
    DocumentVersion,
    ExtractionStatus,
    Party,
    PartyKind,
    User,
    Visibility,
)
from portal.models.base import utcnow as _now
from portal.services.audit import record_event
from portal.services.jobs import INDEX_DOCUMENT, enqueue
from portal.services.uploads import (
    SNIFF_BYTES,
    PrefixedStream,
    check_filename,
    sniff_type,
)
from portal.storage import StoredObject

RESTORE_DAYS = 30
UNPUBLISH_REQUEST = "document.unpublish_request"
MIN_YEAR, MAX_YEAR = 2000, 2100

KIND_LABELS = {
    DocumentKind.REFERAT: N_("Referat"),
    DocumentKind.STYRINGSRAPPORT: N_("Styringsrapport"),
    DocumentKind.AFDELINGSSKEMA: N_("Afdelingsskema"),
    DocumentKind.REGNSKAB: N_("Regnskab"),
    DocumentKind.REGNSKABSSPOERGESKEMA: N_("Regnskabsspørgeskema"),
    DocumentKind.AARSBERETNING: N_("Årsberetning"),
    DocumentKind.ANALYSE: N_("Analyse"),
    DocumentKind.REVISIONSPROTOKOL: N_("Revisionsprotokol"),
    DocumentKind.REDEGOERELSE: N_("Redegørelse"),
    DocumentKind.AFTALE: N_("Aftale"),
    DocumentKind.BILAG: N_("Bilag"),
    DocumentKind.ANDET: N_("Andet"),
}
VISIBILITY_LABELS = {
    Visibility.PARTY: N_("Kun ejeren"),
    Visibility.DIALOGUE: N_("Ejeren og kommunen"),
    Visibility.ALL_PARTIES: N_("Alle brugere af portalen"),
    Visibility.PUBLIC: N_("Offentlig"),
}



@dataclass(frozen=True)
class DocumentMetadata:
    kind: DocumentKind
    year: int
    title: str
    visibility: Visibility
    department_id: int | None


def default_visibility(kind: DocumentKind) -> Visibility:
    """Minutes are shared with the municipality until published; everything else too, as the
    dialogue's material is the two parties' common ground."""
    return Visibility.DIALOGUE


def parse_metadata(party: Party, data: dict[str, Any], *, already_public: bool = False) -> DocumentMetadata:
    """Validated metadata from form or API fields; every problem is reported per field.

    `public` is reached only by publishing minutes, so it is accepted here only for a
    referat that is already public (its metadata being edited)."""
    errors: dict[str, str] = {}
    kind = visibility = None
    try:
        kind = DocumentKind(str(data.get("kind", "")).strip())
    except ValueError:
        errors["kind"] = "Vælg en dokumenttype."
    raw_visibility = str(data.get("visibility", "") or "").strip()
    try:
        visibility = Visibility(raw_visibility) if raw_visibility else (default_visibility(kind) if kind else None)
    except ValueError:
        errors["visibility"] = "Vælg hvem der må se dokumentet."
    try:
        year = int(str(data.get("year", "")).strip())
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError
    except ValueError:
        errors["year"] = f"Skriv styringsåret som et årstal mellem {MIN_YEAR} og {MAX_YEAR}."
        year = 0
    title = str(data.get("title", "") or "").strip()
    if len(title) > 300:
        errors["title"] = "Titlen må højst være på 300 tegn."
    department_id = None
    raw_department = str(data.get("department", "") or data.get("department_id", "") or "").strip()
    if raw_department:
        department = _find_department(party, raw_department)
        if department is None:
            errors["department"] = "Afdelingen findes ikke hos denne organisation."
        else:
            department_id = department.id
    if visibility is Visibility.PUBLIC and kind is not DocumentKind.REFERAT:
        errors["visibility"] = "Kun referater kan gøres offentlige, og det sker ved at offentliggøre dem."
    elif visibility is Visibility.PUBLIC and not already_public:
        errors["visibility"] = "Et referat gøres offentligt ved at offentliggøre det, når det er godkendt."
    if errors:
        raise InvalidInput(fields=errors)
    assert kind is not None and visibility is not None
    return DocumentMetadata(kind=kind, year=year, title=title, visibility=visibility, department_id=department_id)


def _find_department(party: Party, reference: str) -> Department | None:
    by_lbf = next((d for d in party.departments if d.lbf_number == reference), None)
    if by_lbf is not None:
        return by_lbf
    if reference.isdigit():
        return next((d for d in party.departments if d.id == int(reference)), None)
    return None


def _store(stream: BinaryIO, filename: str, *, max_size: int) -> tuple[StoredObject, str, bool, str]:
    """Check and store the file; returns (stored object, media type, searchable, clean filename)."""
    filename = check_filename(filename)
    head = stream.read(SNIFF_BYTES)
    file_type = sniff_type(head, filename)
    stored = object_store().put_stream(PrefixedStream(head, stream), max_size=max_size, content_type=file_type.media_type)
    return stored, file_type.media_type, file_type.searchable, filename


def _new_version(document: Document, stored: StoredObject, media_type: str, searchable: bool, filename: str,
                 actor: Actor) -> DocumentVersion:
    version = DocumentVersion(
        number=(document.versions[-1].number + 1) if document.versions else 1,
        object_key=stored.key, size=stored.size, sha256=stored.sha256, media_type=media_type, filename=filename,
        uploaded_by_id=actor.id if isinstance(actor, User) else None,
        status=ExtractionStatus.PENDING if searchable else ExtractionStatus.UNSUPPORTED,
        status_reason=None if searchable else "Filtypen kan ikke gennemsøges endnu; dokumentet kan hentes og læses.",
    )
    document.versions.append(version)
    return version


def _snapshot(doc: Document) -> dict[str, Any]:
    return {"kind": doc.kind.value, "year": doc.year, "title": doc.title, "visibility": doc.visibility.value,
            "department_id": doc.department_id}


def upload_document(actor: Actor, party_id: int, data: dict[str, Any], stream: BinaryIO, filename: str, *,
                    max_size: int) -> Document:
    """Store a new document with its first version, and queue its indexing."""
    party = db.session.get(Party, party_id)
    if party is None:
        raise NotFound()
    require(actor, "party:read", party)
    require(actor, "document:create", party)
    metadata = parse_metadata(party, data)
    stored, media_type, searchable, filename = _store(stream, filename, max_size=max_size)
    document = Document(
        party_id=party.id, department_id=metadata.department_id, kind=metadata.kind, year=metadata.year,
        title=metadata.title or _title_from(filename), visibility=metadata.visibility,
        created_by_id=actor.id if isinstance(actor, User) else None,
    )
    db.session.add(document)
    version = _new_version(document, stored, media_type, searchable, filename, actor)
    db.session.flush()
    enqueue(INDEX_DOCUMENT, document.id)
    record_event(actor, "document.create", "document", document.id, party_id=party.id,
                 after={**_snapshot(document), "version": version.number, "sha256": stored.sha256, "size": stored.size})
    return document


def _title_from(filename: str) -> str:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return stem.replace("_", " ").strip()[:300] or filename[:300]


def get_version(actor: Actor, document_id: int, number: int | None = None) -> DocumentVersion:
    document = load(actor, Document, document_id, "document:read")
    if number is None:
        return document.current
    version = next((v for v in document.versions if v.number == number), None)
    if version is None:
        raise NotFound()
    return version


def add_version(actor: Actor, document_id: int, stream: BinaryIO, filename: str, *, max_size: int) -> DocumentVersion:
    """Store a new version; earlier versions stay readable and downloadable."""
    document = load(actor, Document, document_id, "document:update")
    stored, media_type, searchable, filename = _store(stream, filename, max_size=max_size)
    version = _new_version(document, stored, media_type, searchable, filename, actor)
    document.updated_at = _now()
    db.session.flush()
    if document.visibility is Visibility.PUBLIC:
        # Only the municipality may version published minutes (access.py); doing so publishes the new
        # text, and the public archive serves what was published last.
        document.published_at = _now()
        document.published_by_id = actor.id if isinstance(actor, User) else None
    enqueue(INDEX_DOCUMENT, document.id)
    record_event(actor, "document.version", "document", document.id, party_id=document.party_id,
                 after={"version": version.number, "sha256": stored.sha256, "size": stored.size})
    return version


def update_metadata(actor: Actor, document_id: int, data: dict[str, Any]) -> Document:
    document = load(actor, Document, document_id, "document:update")
    before = _snapshot(document)
    fields = {"kind": document.kind.value, "year": document.year, "title": document.title,
              "visibility": document.visibility.value, "department": document.department_id or "", **data}
    metadata = parse_metadata(document.party, fields, already_public=document.visibility is Visibility.PUBLIC)
    if metadata.visibility not in access.visibility_choices(actor, document):
        raise InvalidInput(fields={"visibility": "Kommunen kan ikke gøre en organisations dokument synligt for flere, "
                                                 "kun begrænse det til ejeren og kommunen."})
    document.kind, document.year, document.department_id = metadata.kind, metadata.year, metadata.department_id
    document.title = metadata.title or document.title
    document.visibility = metadata.visibility
    if document.visibility is not Visibility.PUBLIC:
        document.published_at = document.published_by_id = None
    document.updated_at = _now()
    enqueue(INDEX_DOCUMENT, document.id)
    record_event(actor, "document.update", "document", document.id, party_id=document.party_id, before=before,
                 after=_snapshot(document))
    return document


def delete_document(actor: Actor, document_id: int) -> Document:
    """Soft delete: gone from lists and search at once; an admin may restore it for 30 days."""
    document = load(actor, Document, document_id, "document:delete")
    document.deleted_at = _now()
    document.deleted_by_id = actor.id if isinstance(actor, User) else None
    enqueue(INDEX_DOCUMENT, document.id)
    record_event(actor, "document.delete", "document", document.id, party_id=document.party_id)
    return document


def restore_document(actor: Actor, document_id: int) -> Document:
    document = load(actor, Document, document_id, "document:restore")
    if document.deleted_at is not None and _now() - document.deleted_at > timedelta(days=RESTORE_DAYS):
        raise InvalidInput(f"Dokumentet blev slettet for mere end {RESTORE_DAYS} dage siden og kan ikke gendannes.")
    document.deleted_at = document.deleted_by_id = None
    enqueue(INDEX_DOCUMENT, document.id)
    record_event(actor, "document.restore", "document", document.id, party_id=document.party_id)
    return document


def publish_document(actor: Actor, document_id: int) -> Document:
    """Make minutes public: listed in the public archive, readable without logging in."""
    document = load(actor, Document, document_id, "document:publish")
    if document.visibility is Visibility.PUBLIC:
        return document
    before = _snapshot(document)
    document.visibility = Visibility.PUBLIC
    document.published_at = _now()
    document.published_by_id = actor.id if isinstance(actor, User) else None
    enqueue(INDEX_DOCUMENT, document.id)
    record_event(actor, "document.publish", "document", document.id, party_id=document.party_id, before=before,
                 after=_snapshot(document))
    return document


def request_unpublish(actor: Actor, document_id: int, reason: str) -> Document:
    """The organisation asks the municipality to withdraw its published minutes; the request is an
    audit event, shown on the document's page until the municipality acts on it."""
    document = load(actor, Document, document_id, "document:request_unpublish")
    reason = reason.strip()
    if not reason:
        raise InvalidInput(fields={"reason": "Skriv hvorfor referatet skal trækkes tilbage."})
    record_event(actor, UNPUBLISH_REQUEST, "document", document.id, party_id=document.party_id,
                 after={"reason": reason[:2000]})
    return document


def unpublish_requests(document: Document) -> list[AuditEvent]:
    """Requests to withdraw published minutes made since they were (last) published, newest first."""
    if document.visibility is not Visibility.PUBLIC:
        return []
    stmt = (select(AuditEvent).where(AuditEvent.object_type == "document", AuditEvent.object_id == str(document.id),
                                     AuditEvent.action == UNPUBLISH_REQUEST)
            .order_by(AuditEvent.id.desc()))
    if document.published_at is not None:
        stmt = stmt.where(AuditEvent.at >= document.published_at)
    return list(db.session.scalars(stmt))


def unpublish_document(actor: Actor, document_id: int) -> Document:
    document = load(actor, Document, document_id, "document:publish")
    if document.visibility is not Visibility.PUBLIC:
        return document
    document.visibility = Visibility.DIALOGUE
    document.published_at = document.published_by_id = None
    enqueue(INDEX_DOCUMENT, document.id)
    record_event(actor, "document.unpublish", "document", document.id, party_id=document.party_id,
                 after=_snapshot(document))
    return document


# --- reading lists -----------------------------------------------------------------------

SORTS = {
    "nyeste": (Document.year.desc(), Document.created_at.desc()),
    "aeldste": (Document.year.asc(), Document.created_at.asc()),
    "titel": (Document.title.asc(),),
    "type": (Document.kind.asc(), Document.year.desc()),
}


@dataclass(frozen=True)
class DocumentFilter:
    year: int | None = None
    kind: DocumentKind | None = None
    department_id: int | None = None
    sort: str = "nyeste"


def list_documents(actor: Actor, party_id: int, filters: DocumentFilter) -> list[Document]:
    """The party's documents the actor may read, filtered and sorted."""
    party = db.session.get(Party, party_id)
    if party is None:
        raise NotFound()
    require(actor, "documents:list", party)
    stmt: Select[tuple[Document]] = (
        select(Document).where(Document.party_id == party.id, access.document_live_clause(actor))
        .options(selectinload(Document.versions), selectinload(Document.department))
        .order_by(*SORTS.get(filters.sort, SORTS["nyeste"]))
    )
    if filters.year is not None:
        stmt = stmt.where(Document.year == filters.year)
    if filters.kind is not None:
        stmt = stmt.where(Document.kind == filters.kind)
    if filters.department_id is not None:
        stmt = stmt.where(Document.department_id == filters.department_id)
    return list(db.session.scalars(stmt))


def years_of(actor: Actor, party_id: int) -> list[int]:
    """The years of the party's documents the actor may read, newest first (the year filter's options)."""
    return list(db.session.scalars(select(Document.year).where(Document.party_id == party_id,
                                                               access.document_live_clause(actor))
                                   .distinct().order_by(Document.year.desc())))


def list_deleted(actor: Actor, party_id: int) -> list[Document]:
    party = db.session.get(Party, party_id)
    if party is None:
        raise NotFound()
    require(actor, "party:update", party)
    cutoff = _now() - timedelta(days=RESTORE_DAYS)
    return list(db.session.scalars(select(Document).where(
        Document.party_id == party.id, access.document_trash_clause(actor), Document.deleted_at >= cutoff)
        .order_by(Document.deleted_at.desc())))


def public_minutes() -> list[Document]:
    """Every published referat, newest publication first (the public archive; no actor needed)."""
    stmt = (select(Document).join(Document.party)
            .where(Document.visibility == Visibility.PUBLIC, Document.kind == DocumentKind.REFERAT,
                   Document.deleted_at.is_(None), Party.kind == PartyKind.ORGANISATION)
            .options(selectinload(Document.versions))
            .order_by(Document.published_at.desc(), Document.id.desc()))
    return list(db.session.scalars(stmt))


def get_public_minutes(document_id: int) -> Document:
    """Published minutes, as anyone may read them; anything else is NotFound, like a missing id."""
    document = db.session.get(Document, document_id)
    if document is None or document.kind is not DocumentKind.REFERAT or not access.can(None, "document:read", document):
        raise NotFound()
    return document


def published_version(document: Document) -> DocumentVersion:
    """The version the municipality published: the newest uploaded by the time of (the last)
    publication, so a version slipped in afterwards is never served by the public archive."""
    if document.published_at is None:
        return document.current
    published = [v for v in document.versions if v.uploaded_at <= document.published_at]
    return published[-1] if published else document.current
