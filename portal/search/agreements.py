"""The search records of an agreement: one per section of its newest revision, readable by
the users of its parties only (the same answer as `agreement:read`)."""

from __future__ import annotations

from sqlalchemy import select

from portal import access
from portal.extensions import db
from portal.models import Agreement, AgreementRevision, PartyKind
from portal.search import SearchRecord

RECORD_TYPE = "agreement_section"


def agreement_records(agreement: Agreement) -> list[SearchRecord]:
    revision = db.session.scalar(select(AgreementRevision).where(
        AgreementRevision.agreement_id == agreement.id, AgreementRevision.number == agreement.head))
    if revision is None:
        return []
    organisations = [p.party for p in agreement.parties if p.party.kind is PartyKind.ORGANISATION]
    single = organisations[0] if len(organisations) == 1 else None
    year = (agreement.term_start or agreement.created_at).year
    readers = access.agreement_readers(agreement)
    records = []
    for position, sid in enumerate(revision.content["order"], start=1):
        section = revision.content["sections"][sid]
        text = f"{section['heading']}\n{section.get('text', '')}".strip()
        records.append(SearchRecord(
            id=f"agr:{agreement.id}:{sid}", source_id=agreement.id, version=revision.number, page=position,
            record_type=RECORD_TYPE, title=f"{agreement.title} – {section['heading']}", text=text,
            organisation_id=single.id if single else None,
            organisation_name=single.name if single else "Flere organisationer",
            department_id=None, kind="aftale", year=year, visibility="party", date=revision.created_at,
            readers=readers))
    return records
