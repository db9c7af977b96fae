"""The search record of an obligation: its title and description, readable by the responsible
and the verifying party and by the municipality (the same answer as `obligation:read`)."""

from __future__ import annotations

from portal.access import party_token
from portal.models import Obligation
from portal.search import SearchRecord

RECORD_TYPE = "obligation"


def obligation_records(obligation: Obligation, municipality_id: int) -> list[SearchRecord]:
    if not obligation.in_force:
        return []
    readers = sorted({party_token(obligation.responsible_party_id), party_token(obligation.verifying_party_id),
                      party_token(municipality_id)})
    party = obligation.responsible_party
    return [SearchRecord(
        id=f"obl:{obligation.id}", source_id=obligation.id, version=1, page=0, record_type=RECORD_TYPE,
        title=obligation.title, text=f"{obligation.title}\n{obligation.description}".strip(),
        organisation_id=None if party.is_municipality else party.id, organisation_name=party.name,
        department_id=None, kind="forpligtelse", year=obligation.first_due.year, visibility="party",
        date=obligation.created_at, readers=readers)]
