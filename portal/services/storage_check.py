"""Keeping the database and the object store in step.

Uploads store bytes before the row that points at them, so a crash between the two can
leave an object nobody references; it is removed once it is older than a day (younger ones
may belong to an upload still committing). A row whose object is missing is only
reported: that is data loss an operator must look into, never something to tidy away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.access import SYSTEM
from portal.backends import object_store
from portal.extensions import db
from portal.models import Document, DocumentVersion
from portal.services.audit import record_event
from portal.services.documents import RESTORE_DAYS
from portal.storage import ObjectInfo

ORPHAN_GRACE = timedelta(days=1)


@dataclass
class StorageReport:
    orphan_objects: list[ObjectInfo] = field(default_factory=list)  # in the store, no row
    removed_objects: list[str] = field(default_factory=list)
    missing_objects: list[tuple[int, int, str]] = field(default_factory=list)  # (document id, version, key)

def check_storage(*, remove_older_than: timedelta | None = ORPHAN_GRACE) -> StorageReport:
    """Compare both sides; remove orphan objects older than `remove_older_than` (None: only report)."""
    store = object_store()
    referenced = {row.object_key: row for row in db.session.execute(
        select(DocumentVersion.object_key, DocumentVersion.document_id, DocumentVersion.number))}
    report = StorageReport()
    stored_keys = set()
    now = datetime.now(UTC)
    for info in store.iter_objects():
        stored_keys.add(info.key)
        if info.key in referenced:
            continue
        report.orphan_objects.append(info)
        if remove_older_than is not None and now - info.modified > remove_older_than:
            store.delete(info.key)
            report.removed_objects.append(info.key)
    for key, row in referenced.items():
        if key not in stored_keys:
            report.missing_objects.append((row.document_id, row.number, key))
    return report


def purge_deleted_documents() -> int:
    """Remove documents deleted more than RESTORE_DAYS ago, and the objects no other version uses."""
    cutoff = datetime.now(UTC) - timedelta(days=RESTORE_DAYS)
    expired = list(db.session.scalars(select(Document).where(Document.deleted_at.is_not(None),
                                                             Document.deleted_at < cutoff)))
    keys = set()
    for document in expired:
        keys.update(v.object_key for v in document.versions)
        record_event(SYSTEM, "document.purge", "document", document.id, party_id=document.party_id,
                     before={"title": document.title, "versions": len(document.versions)})
        db.session.delete(document)
    db.session.flush()
    still_used = set(db.session.scalars(select(DocumentVersion.object_key).where(DocumentVersion.object_key.in_(keys))))
    store = object_store()
    for key in keys - still_used:
        store.delete(key)
    return len(expired)
