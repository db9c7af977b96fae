"""Reading an agreement's revisions by number: shared by the agreements and the obligations they
create, which must not import each other (agreements activate their obligations)."""

from __future__ import annotations

from sqlalchemy import select

from portal.errors import NotFound
from portal.extensions import db
from portal.models import Agreement, AgreementRevision


def get_revision(agreement: Agreement, number: int | None = None) -> AgreementRevision:
    number = agreement.head if number is None else number
    revision = db.session.scalar(select(AgreementRevision).where(
        AgreementRevision.agreement_id == agreement.id, AgreementRevision.number == number))
    if revision is None:
        raise NotFound("Revisionen findes ikke.")
    return revision
