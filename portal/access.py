"""The access policy: the ONLY place permission rules live.

Use `can(actor, action, obj)` to ask and `require(actor, action, obj)` to enforce,
from services (before they validate or change anything) and, through the
`can` template helper, from templates to decide what to show. Never restate a rule
anywhere else. `search_filter(actor)` yields the reader tokens a search query must
match; `readers_for(...)` yields the tokens a record carries; together they give the
same answer as `can(actor, "document:read", doc)` (a test proves it).

Rules fail closed: an unknown action, a missing object, an inactive user or an
object of the wrong type is a denial.

Actors are a `User`, `None` (anonymous) or `SYSTEM` (the operator at the command
line and the indexer, who are trusted with everything).

Roles per membership: `reader` reads; `editor` also edits; `signatory` also
approves on the party's behalf; `admin` also manages the party's users (and, for
the municipality, organisations and every user).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import ColumnElement, or_, true

from portal.errors import Forbidden, NotFound, Unauthenticated
from portal.models import Department, Document, DocumentKind, Party, PartyKind, Role, User, Visibility


class _System:
    """The operator at the command line, and the indexer."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM: Final = _System()
Actor = User | _System | None

EDIT_ROLES: Final = frozenset({Role.EDITOR, Role.SIGNATORY, Role.ADMIN})
APPROVE_ROLES: Final = frozenset({Role.SIGNATORY})
ADMIN_ROLES: Final = frozenset({Role.ADMIN})


# --- facts about an actor -------------------------------------------------------------

def _active(actor: Actor) -> bool:
    return isinstance(actor, User) and actor.active


def roles_of(actor: Actor) -> dict[int, Role]:
    """party id → the actor's role there (empty for anonymous and inactive users)."""
    if not isinstance(actor, User) or not actor.active:
        return {}
    return {m.party_id: m.role for m in actor.memberships if m.party.active}


def party_ids_of(actor: Actor) -> set[int]:
    return set(roles_of(actor))


def municipality_role(actor: Actor) -> Role | None:
    if not isinstance(actor, User) or not actor.active:
        return None
    for m in actor.memberships:
        if m.party.kind is PartyKind.MUNICIPALITY and m.party.active:
            return m.role
    return None


def is_municipality_user(actor: Actor) -> bool:
    return municipality_role(actor) is not None


def _is_municipality_admin(actor: Actor) -> bool:
    return municipality_role(actor) is Role.ADMIN


def _role_in(actor: Actor, party_id: int, allowed: frozenset[Role]) -> bool:
    return roles_of(actor).get(party_id) in allowed


# --- rules per action ---------------------------------------------------------------

def _party_read(actor: Actor, party: Party) -> bool:
    # Every logged-in user may see the municipality's own page; organisations see themselves;
    # the municipality sees every organisation it supervises.
    if party.is_municipality:
        return _active(actor)
    return party.id in party_ids_of(actor) or is_municipality_user(actor)


def _party_update(actor: Actor, party: Party) -> bool:
    return _role_in(actor, party.id, ADMIN_ROLES) or _is_municipality_admin(actor)


def _party_create(actor: Actor, municipality: Party) -> bool:
    return municipality.is_municipality and _role_in(actor, municipality.id, ADMIN_ROLES)


def _party_list(actor: Actor, municipality: Party) -> bool:
    return municipality.is_municipality and municipality.id in party_ids_of(actor)


def _department_read(actor: Actor, department: Department) -> bool:
    return _party_read(actor, department.party)


def _department_create(actor: Actor, party: Party) -> bool:
    return not party.is_municipality and (
        _role_in(actor, party.id, EDIT_ROLES) or _is_municipality_admin(actor)
    )


def _department_update(actor: Actor, department: Department) -> bool:
    return _role_in(actor, department.party_id, EDIT_ROLES) or _is_municipality_admin(actor)


def _members_manage(actor: Actor, party: Party) -> bool:
    return _party_update(actor, party)


def _members_read(actor: Actor, party: Party) -> bool:
    return party.id in party_ids_of(actor) or (is_municipality_user(actor) and _party_read(actor, party))


def _user_read(actor: Actor, user: User) -> bool:
    if not _active(actor):
        return False
    if isinstance(actor, User) and actor.id == user.id:
        return True
    if _is_municipality_admin(actor):
        return True
    administered = {pid for pid, role in roles_of(actor).items() if role is Role.ADMIN}
    return any(m.party_id in administered for m in user.memberships)


def _user_manage(actor: Actor, user: User) -> bool:
    """Deactivating or editing a user touches every party the user serves, so an organisation
    admin may do it only when all of the user's memberships are in parties they administer."""
    if not _active(actor):
        return False
    if isinstance(actor, User) and actor.id == user.id:
        return False
    if _is_municipality_admin(actor):
        return True
    administered = {pid for pid, role in roles_of(actor).items() if role is Role.ADMIN}
    return bool(user.memberships) and all(m.party_id in administered for m in user.memberships)


def _profile(actor: Actor, user: User) -> bool:
    return _active(actor) and isinstance(actor, User) and actor.id == user.id


def _audit_read(actor: Actor, party: Party) -> bool:
    return _party_update(actor, party)


# --- documents ----------------------------------------------------------------------------
#
# A document belongs to a party. Its visibility decides who reads it: `party` the owner only,
# `dialogue` the owner and the municipality, `all_parties` every logged-in user, `public` anyone.
# Editors of the owner write; so do the municipality's editors for an organisation's documents
# (they write the minutes of the dialogue). Deleted documents are seen only by those who may
# restore them.

def _document_visible(actor: Actor, doc: Document) -> bool:
    parties = party_ids_of(actor)
    if doc.visibility is Visibility.PUBLIC:
        return True
    if doc.visibility is Visibility.ALL_PARTIES:
        return _active(actor)
    if doc.visibility is Visibility.DIALOGUE:
        return doc.party_id in parties or is_municipality_user(actor)
    if doc.visibility is Visibility.PARTY:
        return doc.party_id in parties
    return False


def document_read_clause(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition `_document_visible` states, for lists; one test proves they agree."""
    if actor is SYSTEM:
        return true()
    parties = party_ids_of(actor) or {-1}
    clauses = [Document.visibility == Visibility.PUBLIC]
    if _active(actor):
        clauses.append(Document.visibility == Visibility.ALL_PARTIES)
        clauses.append(Document.party_id.in_(parties) & Document.visibility.in_([Visibility.PARTY, Visibility.DIALOGUE]))
        if is_municipality_user(actor):
            clauses.append(Document.visibility == Visibility.DIALOGUE)
    return or_(*clauses)


def _document_read(actor: Actor, doc: Document) -> bool:
    if doc.is_deleted:
        return _document_restore(actor, doc)
    return _document_visible(actor, doc)


def _may_write_for(actor: Actor, party: Party) -> bool:
    if _role_in(actor, party.id, EDIT_ROLES):
        return True
    return not party.is_municipality and municipality_role(actor) in EDIT_ROLES


def _document_create(actor: Actor, party: Party) -> bool:
    return party.active and _may_write_for(actor, party)


def _document_update(actor: Actor, doc: Document) -> bool:
    if doc.is_deleted or not _document_visible(actor, doc):
        return False
    return _role_in(actor, doc.party_id, EDIT_ROLES) or (
        doc.visibility is not Visibility.PARTY and not doc.party.is_municipality
        and municipality_role(actor) in EDIT_ROLES)


def _document_restore(actor: Actor, doc: Document) -> bool:
    return doc.is_deleted and (_role_in(actor, doc.party_id, ADMIN_ROLES) or _is_municipality_admin(actor))


def _document_publish(actor: Actor, doc: Document) -> bool:
    """Only the municipality publishes, and only minutes of the dialogue."""
    return (not doc.is_deleted and doc.kind is DocumentKind.REFERAT and doc.visibility is not Visibility.PARTY
            and municipality_role(actor) in EDIT_ROLES)


def _documents_list(actor: Actor, party: Party) -> bool:
    return _party_read(actor, party)


_RULES: Final[dict[str, tuple[type, Callable[[Actor, Any], bool]]]] = {
    "party:read": (Party, _party_read),
    "party:update": (Party, _party_update),
    "party:create": (Party, _party_create),
    "party:list": (Party, _party_list),
    "department:read": (Department, _department_read),
    "department:create": (Party, _department_create),
    "department:update": (Department, _department_update),
    "members:read": (Party, _members_read),
    "members:manage": (Party, _members_manage),
    "user:read": (User, _user_read),
    "user:manage": (User, _user_manage),
    "profile:update": (User, _profile),
    "audit:read": (Party, _audit_read),
    "document:read": (Document, _document_read),
    "document:create": (Party, _document_create),
    "document:update": (Document, _document_update),
    "document:delete": (Document, _document_update),
    "document:restore": (Document, _document_restore),
    "document:publish": (Document, _document_publish),
    "documents:list": (Party, _documents_list),
}

ACTIONS: Final = frozenset(_RULES)


def can(actor: Actor, action: str, obj: Any) -> bool:
    """True when `actor` may do `action` on `obj`. Unknown action or missing object: False."""
    rule = _RULES.get(action)
    if rule is None or obj is None:
        return False
    expected_type, check = rule
    if not isinstance(obj, expected_type):
        return False
    if actor is SYSTEM:
        return True
    return bool(check(actor, obj))


def require(actor: Actor, action: str, obj: Any) -> None:
    """Raise unless `can(actor, action, obj)`.

    Objects the actor may not even read answer NotFound, so an id reveals nothing
    about what exists; objects it may read but not change answer Forbidden.
    Anonymous actors get Unauthenticated, so the web asks them to log in.
    """
    if can(actor, action, obj):
        return
    if actor is None:
        raise Unauthenticated()
    read_action = _READ_ACTION.get(type(obj))
    if read_action is not None and read_action != action and can(actor, read_action, obj):
        raise Forbidden()
    raise NotFound()


_READ_ACTION: Final[dict[type, str]] = {Party: "party:read", User: "user:read", Department: "department:read",
                                        Document: "document:read"}


# --- search -------------------------------------------------------------------------

PUBLIC_TOKEN: Final = "public"
AUTHENTICATED_TOKEN: Final = "authenticated"


def party_token(party_id: int) -> str:
    return f"party:{party_id}"


def search_filter(actor: Actor) -> frozenset[str]:
    """The reader tokens a search must match for `actor`; a record is visible when it
    carries at least one of them (see `readers_for`)."""
    if actor is SYSTEM:
        raise ValueError("the system actor does not search")
    tokens = {PUBLIC_TOKEN}
    if _active(actor):
        tokens.add(AUTHENTICATED_TOKEN)
        tokens.update(party_token(pid) for pid in party_ids_of(actor))
    return frozenset(tokens)


def document_readers(doc: Document, municipality_id: int) -> list[str]:
    """The reader tokens of a document's search records (same answer as `document:read`)."""
    if doc.is_deleted:
        return []
    return readers_for(doc.visibility.value, doc.party_id, municipality_id)


def readers_for(visibility: str, owner_party_id: int, municipality_id: int, extra_party_ids: tuple[int, ...] = ()) -> list[str]:
    """The reader tokens a searchable record carries, mirroring the read rules for its visibility."""
    if visibility == "public":
        return [PUBLIC_TOKEN]
    if visibility == "all_parties":
        return [AUTHENTICATED_TOKEN]
    parties = {owner_party_id, *extra_party_ids}
    if visibility == "dialogue":
        parties.add(municipality_id)
    elif visibility != "party":
        return []
    return sorted(party_token(pid) for pid in parties)
