"""Recording audit events. Every change is logged once, here, with actor and object id."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from portal.access import SYSTEM, Actor
from portal.extensions import db
from portal.models import AuditEvent, User

log = logging.getLogger("portal.audit")

# Never store secrets in the trail, whatever a caller passes in.
_SECRET_KEYS = frozenset({"password", "password_hash", "token", "token_hash", "secret"})


def _clean(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: ("***" if k in _SECRET_KEYS else v) for k, v in values.items()}


def actor_label(actor: Actor) -> str:
    if actor is SYSTEM:
        return "system"
    if isinstance(actor, User):
        return actor.email
    return "anonymous"


def record_event(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    *,
    party_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    address: str = "",
) -> AuditEvent:
    """Append one audit event to the current unit of work."""
    event = AuditEvent(
        actor_id=actor.id if isinstance(actor, User) else None,
        actor_label=actor_label(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        party_id=party_id,
        before=_clean(before),
        after=_clean(after),
        address=address,
    )
    db.session.add(event)
    log.info("%s %s %s:%s", event.actor_label, action, object_type, object_id)
    return event


def list_events(*, object_type: str | None = None, object_id: object = None, party_id: int | None = None,
                actor_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
    """The newest events matching the filters. Callers check permission first."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if object_type is not None:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    if party_id is not None:
        stmt = stmt.where(AuditEvent.party_id == party_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    return list(db.session.scalars(stmt))
