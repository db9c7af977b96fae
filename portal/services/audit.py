"""Recording audit events. Every change is logged once, here, with actor and object id.

The trail holds two kinds of events. Changes (who created, edited, approved what) make up
the history pages of documents, parties, users and obligations. Access events (a document's
bytes read, a permission check that refused an existing object, a search of the trail
itself) say what a person looked at: they are shown only to the municipality's admins,
through the search per person that answers a GDPR access request (`user_trail`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, func, or_, select

from portal.access import SYSTEM, Actor, require
from portal.csvexport import write_csv
from portal.errors import Denial, InvalidInput
from portal.extensions import db
from portal.models import AuditEvent, DocumentVersion, Party, User

log = logging.getLogger("portal.audit")

# Never store secrets in the trail, whatever a caller passes in.
_SECRET_KEYS = frozenset({"password", "password_hash", "token", "token_hash", "secret"})

DOCUMENT_READ: Final = "document.download"
ACCESS_DENIED: Final = "access.denied"
AUDIT_SEARCH: Final = "audit.search"
ACCESS_ACTIONS: Final = frozenset({DOCUMENT_READ, ACCESS_DENIED, AUDIT_SEARCH})

# A user hammering refused addresses must not grow the trail without bound (every row is
# cheap to write and found through the actor/time index, but millions of them would still
# bury the rest): per user, this many refusals per window are recorded; beyond that they
# go to the log only.
DENIAL_WINDOW: Final = timedelta(minutes=10)
DENIALS_PER_WINDOW: Final = 50

_OBJECT_ID_LENGTH = 64  # the column's size


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
        # An id typed by an anonymous visitor (a failed log-in's e-mail) can be any length.
        object_id=str(object_id)[:_OBJECT_ID_LENGTH],
        party_id=party_id,
        before=_clean(before),
        after=_clean(after),
        address=address[:64],
    )
    db.session.add(event)
    log.info("%s %s %s:%s", event.actor_label, action, object_type, event.object_id)
    return event


def record_document_read(actor: Actor, version: DocumentVersion, *, address: str = "") -> AuditEvent:
    """The bytes of `version` were sent to `actor` (a download, or the viewer opening it)."""
    return record_event(actor, DOCUMENT_READ, "document", version.document_id, party_id=version.document.party_id,
                        after={"version": version.number}, address=address)


def record_denial(actor: Actor, denial: Denial, *, address: str = "") -> AuditEvent | None:
    """A permission check refused `actor` an existing object. Recorded up to
    DENIALS_PER_WINDOW times per user per window; None when only logged."""
    if not isinstance(actor, User):
        return None
    since = datetime.now(UTC) - DENIAL_WINDOW
    recent = db.session.scalar(select(func.count()).where(
        AuditEvent.actor_id == actor.id, AuditEvent.at >= since, AuditEvent.action == ACCESS_DENIED)) or 0
    if recent >= DENIALS_PER_WINDOW:
        log.info("%s %s %s:%s (%s; not recorded: over %s refusals in %s)", actor.email, ACCESS_DENIED,
                 denial.object_type, denial.object_id, denial.action, DENIALS_PER_WINDOW, DENIAL_WINDOW)
        return None
    return record_event(actor, ACCESS_DENIED, denial.object_type, denial.object_id, after={"action": denial.action},
                        address=address)


def list_events(*, object_type: str | None = None, object_id: object = None, party_id: int | None = None,
                actor_id: int | None = None, limit: int = 100, include_access: bool = False) -> list[AuditEvent]:
    """The newest events matching the filters; changes only unless `include_access`.
    Callers check permission first."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if not include_access:
        stmt = stmt.where(AuditEvent.action.not_in(ACCESS_ACTIONS))
    if object_type is not None:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    if party_id is not None:
        stmt = stmt.where(AuditEvent.party_id == party_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    return list(db.session.scalars(stmt))


# --- the search per person (GDPR access requests) -----------------------------------------------

@dataclass(frozen=True)
class UserTrail:
    email: str
    user: User | None
    events: list[AuditEvent]
    truncated: bool  # more events exist than were returned


def user_trail(actor: Actor, municipality: Party, email: str, *, limit: int, export: bool = False) -> UserTrail:
    """Everything the trail holds on the person with `email`, newest first: what they did
    (actor) and what was done to their account (failed log-ins, invitations, role changes),
    also for an address that has no account. The search itself is recorded."""
    require(actor, "audit:search", municipality)
    email = email.strip().lower()
    if not email or "@" not in email or len(email) > 254:
        raise InvalidInput(fields={"bruger": "Skriv brugerens e-mailadresse."})
    user = db.session.scalar(select(User).where(User.email == email))
    about_ids = [email[:_OBJECT_ID_LENGTH]]
    clauses = []
    if user is not None:
        about_ids.append(str(user.id))
        clauses.append(AuditEvent.actor_id == user.id)
    clauses.append(and_(AuditEvent.object_type == "user", AuditEvent.object_id.in_(about_ids)))
    stmt = (select(AuditEvent).where(or_(*clauses))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit + 1))
    events = list(db.session.scalars(stmt))
    record_event(actor, AUDIT_SEARCH, "user", user.id if user is not None else email,
                 after={"email": email, "export": export})
    return UserTrail(email=email, user=user, events=events[:limit], truncated=len(events) > limit)


def _json(values: dict[str, Any] | None) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True, default=str) if values else ""


def export_csv(events: list[AuditEvent]) -> str:
    # E-mail addresses typed at the log-in form are the attacker's choice: the writer keeps
    # "=HYPERLINK(...)" from becoming a formula.
    return write_csv(["tidspunkt_utc", "hvem", "bruger_id", "handling", "objekttype", "objekt_id", "part_id",
                      "adresse", "foer", "efter"],
                     ((e.at.astimezone(UTC).isoformat(timespec="seconds"), e.actor_label, e.actor_id,
                       e.action, e.object_type, e.object_id, e.party_id, e.address, _json(e.before), _json(e.after))
                      for e in events))
