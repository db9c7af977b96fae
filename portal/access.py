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
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, false, or_, select, true

from portal.errors import Denial, Forbidden, NotFound, Unauthenticated
from portal.extensions import db
from portal.models import (
    Agreement,
    AgreementComment,
    AgreementParty,
    AgreementStatus,
    ApiToken,
    AuditEvent,
    Department,
    Dialogue,
    DialogueStep,
    Document,
    DocumentKind,
    Membership,
    MembershipInvitation,
    Obligation,
    Occurrence,
    Party,
    PartyConsent,
    PartyKind,
    Role,
    User,
    Visibility,
)
from portal.models.base import MAX_INT


class _System:
    """The operator at the command line, and the indexer."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM: Final = _System()
Actor = User | _System | None
_Loaded = TypeVar("_Loaded")

EDIT_ROLES: Final = frozenset({Role.EDITOR, Role.SIGNATORY, Role.ADMIN})
APPROVE_ROLES: Final = frozenset({Role.SIGNATORY})
ADMIN_ROLES: Final = frozenset({Role.ADMIN})


# --- facts about an actor -------------------------------------------------------------

def _active(actor: Actor) -> bool:
    return isinstance(actor, User) and actor.active


def actor_user_id(actor: Actor) -> int | None:
    """The user's id for "who did it" columns; None for the system and anonymous visitors."""
    return actor.id if isinstance(actor, User) else None


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


def party_read_clause(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition `_party_read` states, for lists."""
    if actor is SYSTEM or is_municipality_user(actor):
        return true()
    if not _active(actor):
        return false()
    return or_(Party.id.in_(party_ids_of(actor) or {-1}), Party.kind == PartyKind.MUNICIPALITY)


def own_party_clause(actor: Actor, column: Any) -> ColumnElement[bool]:
    """`column` (a party id) is one of the actor's own parties: what "mine" means in "Mine forpligtelser"."""
    return column.in_(party_ids_of(actor) or {-1})


def belongs_to_a_party(actor: Actor) -> bool:
    return bool(party_ids_of(actor))


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


# Which roles of a membership do an action for the party: who gets a party's reminders, and who
# keeps a party manageable (a party must keep an admin).
_MEMBER_ROLES: Final = {"obligation:report": EDIT_ROLES, "members:manage": ADMIN_ROLES}


def role_may(role: Role | None, action: str) -> bool:
    return role in _MEMBER_ROLES[action]


def members_who_may_clause(party_id: int, action: str) -> ColumnElement[bool]:
    """The SQL form of `role_may`: memberships of `party_id` whose role does `action` for it."""
    return (Membership.party_id == party_id) & Membership.role.in_(list(_MEMBER_ROLES[action]))


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


def _administered(actor: Actor) -> set[int]:
    return {pid for pid, role in roles_of(actor).items() if role is Role.ADMIN}


def _members_add_directly(actor: Actor, party: Party) -> bool:
    """Adding an account that already exists to a party would show the party's admins the
    person's profile and history, so it is an invitation the person accepts. Only the operator
    (`SYSTEM`, let through by `can` before any rule) adds a membership at once."""
    return False


def _invitation_decide(actor: Actor, invitation: MembershipInvitation) -> bool:
    """Only the invited person accepts or declines, and only while the invitation is open."""
    return invitation.pending and _profile(actor, invitation.user)


def _invitation_withdraw(actor: Actor, invitation: MembershipInvitation) -> bool:
    return invitation.pending and _members_manage(actor, invitation.party)


def _membership_read(actor: Actor, membership: Membership) -> bool:
    """On a person's page, a membership (and its history) shows to the person and to those who
    manage that party: an administration company's employee serves several organisations, and
    each sees only its own part."""
    return _profile(actor, membership.user) or _members_manage(actor, membership.party)


def user_history_clause(actor: Actor, user: User) -> ColumnElement[bool]:
    """The SQL condition on `AuditEvent` for the events of `user`'s history that `actor` may see:
    all of them for the person and the municipality's admins; otherwise those of the parties the
    actor manages, and the account's own events (log-ins, passwords) only with `user:manage`."""
    if actor is SYSTEM or _profile(actor, user) or _is_municipality_admin(actor):
        return true()
    administered = _administered(actor)
    clauses: list[ColumnElement[bool]] = [AuditEvent.party_id.in_(administered or {-1})]
    if _user_manage(actor, user):
        clauses.append(AuditEvent.party_id.is_(None))
    return or_(*clauses) if _active(actor) else false()


def _token_revoke(actor: Actor, token: ApiToken) -> bool:
    """A token is its owner's: they revoke it on their profile (the operator with `portal tokens revoke`)."""
    return _profile(actor, token.user)


def _audit_read(actor: Actor, party: Party) -> bool:
    return _party_update(actor, party)


def _audit_search(actor: Actor, municipality: Party) -> bool:
    """Searching the whole trail for one person (a GDPR access request) is for the municipality's
    admins alone: the municipality runs the portal. An organisation admin would see what a
    shared user (an administration company's staff) did for other organisations, so they
    have only their own party's history (`audit:read`)."""
    return municipality.is_municipality and _role_in(actor, municipality.id, ADMIN_ROLES)


# --- documents ----------------------------------------------------------------------------
#
# A document belongs to a party. Its visibility decides who reads it: `party` the owner only,
# `dialogue` the owner and the municipality, `all_parties` every logged-in user, `public` anyone.
# Editors of the owner write; so do the municipality's editors for an organisation's documents
# (they write the minutes of the dialogue). Deleted documents are seen only by those who may
# restore them, and only if they could read them before the deletion. Published minutes are
# frozen: only the municipality changes, versions or deletes a public referat; the organisation
# may ask for it to be withdrawn. The municipality may narrow an organisation's choice of
# visibility to the dialogue, never widen it.

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


def _restorers(actor: Actor) -> ColumnElement[bool]:
    """The owner's admins, or the municipality's admins: who may restore, as SQL (see `_document_restore`)."""
    if _is_municipality_admin(actor):
        return true()
    admin_of = {pid for pid, role in roles_of(actor).items() if role in ADMIN_ROLES} or {-1}
    return Document.party_id.in_(admin_of)


def document_live_clause(actor: Actor) -> ColumnElement[bool]:
    """Documents the actor may read that are not deleted: every list, count, drop-down and year
    filter of documents uses this (deleted ones appear only in the trash)."""
    return Document.deleted_at.is_(None) & document_read_clause(actor)


def document_trash_clause(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition `_document_restore` states, for the trash."""
    if actor is SYSTEM:
        return Document.deleted_at.is_not(None)
    return Document.deleted_at.is_not(None) & document_read_clause(actor) & _restorers(actor)


def _is_frozen_minutes(doc: Document) -> bool:
    return doc.kind is DocumentKind.REFERAT and doc.visibility is Visibility.PUBLIC


def _may_write_for(actor: Actor, party: Party) -> bool:
    if _role_in(actor, party.id, EDIT_ROLES):
        return True
    return not party.is_municipality and municipality_role(actor) in EDIT_ROLES


def _document_create(actor: Actor, party: Party) -> bool:
    return party.active and _may_write_for(actor, party)


def _document_update(actor: Actor, doc: Document) -> bool:
    if doc.is_deleted or not _document_visible(actor, doc):
        return False
    if _is_frozen_minutes(doc):
        # The public archive serves what the municipality published, so no one else may change it.
        return municipality_role(actor) in EDIT_ROLES
    return _role_in(actor, doc.party_id, EDIT_ROLES) or (
        doc.visibility is not Visibility.PARTY and not doc.party.is_municipality
        and municipality_role(actor) in EDIT_ROLES)


def _document_restore(actor: Actor, doc: Document) -> bool:
    # Deleting must not widen who sees a document: an owner-only document stays the owner's.
    return doc.is_deleted and _document_visible(actor, doc) and (
        _role_in(actor, doc.party_id, ADMIN_ROLES) or _is_municipality_admin(actor))


def _document_request_unpublish(actor: Actor, doc: Document) -> bool:
    """The organisation asks the municipality to withdraw its published minutes."""
    return not doc.is_deleted and _is_frozen_minutes(doc) and _role_in(actor, doc.party_id, EDIT_ROLES)


_VISIBILITY_ORDER: Final = (Visibility.PARTY, Visibility.DIALOGUE, Visibility.ALL_PARTIES, Visibility.PUBLIC)


def visibility_choices(actor: Actor, doc: Document) -> list[Visibility]:
    """The visibilities `actor` may give `doc` when editing it (public is reached by publishing only,
    so it is offered only to keep it). The owner's editors choose freely. The municipality may keep
    the owner's choice or narrow it to the dialogue, which it still reads (so it can undo the change),
    but never widen it: who else sees an organisation's document is the organisation's decision."""
    if not can(actor, "document:update", doc):
        return []
    choices = [v for v in _VISIBILITY_ORDER if v is not Visibility.PUBLIC or doc.visibility is Visibility.PUBLIC]
    if actor is SYSTEM or _role_in(actor, doc.party_id, EDIT_ROLES):
        return choices
    current = _VISIBILITY_ORDER.index(doc.visibility)
    return [v for v in choices
            if v is doc.visibility or (Visibility.DIALOGUE is v and _VISIBILITY_ORDER.index(v) < current)]


def _document_publish(actor: Actor, doc: Document) -> bool:
    """Only the municipality publishes, and only minutes of the dialogue."""
    return (not doc.is_deleted and doc.kind is DocumentKind.REFERAT and doc.visibility is not Visibility.PARTY
            and municipality_role(actor) in EDIT_ROLES)


def _documents_list(actor: Actor, party: Party) -> bool:
    return _party_read(actor, party)


# --- agreements ----------------------------------------------------------------------------
#
# An agreement is seen only by the users of its parties (the municipality is always one).
# Their editors write, comment and suggest; their signatories approve on the party's behalf.
# A suggestion is decided by a person of another party than its author's: neither the author
# nor anyone who acts for the author's party, so nobody accepts their own side's proposal.
# Exporting archives a document, so it takes edit rights. Expired and terminated agreements
# are read-only.
#
# Naming an organisation in an agreement only invites it: a pending party is no party. Until
# one of its editors, signatories or admins accepts, its users see only the invitation (title,
# type, term, who invited it) and its departments, obligations and approvals play no part;
# `Agreement.parties` holds the accepted parties alone. Whoever creates the agreement consents
# for the parties they edit for; the system (the operator's command line) for every party.

_CLOSED = frozenset({AgreementStatus.EXPIRED, AgreementStatus.TERMINATED})


def _agreement_party_roles(actor: Actor, agreement: Agreement) -> dict[int, Role]:
    mine = roles_of(actor)
    return {pid: mine[pid] for pid in agreement.party_ids if pid in mine}


def _agreement_read(actor: Actor, agreement: Agreement) -> bool:
    return bool(_agreement_party_roles(actor, agreement))


def _agreements_naming_own_party(actor: Actor, consent: PartyConsent) -> ColumnElement[bool]:
    """Agreements that name one of the actor's parties with the given consent."""
    return Agreement.id.in_(select(AgreementParty.agreement_id).where(
        AgreementParty.party_id.in_(party_ids_of(actor) or {-1}), AgreementParty.consent == consent))


def agreement_read_clause(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition `_agreement_read` states, for lists: an accepted party is one of the actor's."""
    return true() if actor is SYSTEM else _agreements_naming_own_party(actor, PartyConsent.ACCEPTED)


_ACTING_ROLES: Final = {"agreement:approve": APPROVE_ROLES, "agreement:comment": EDIT_ROLES}


def acting_parties(actor: Actor, agreement: Agreement, action: str) -> list[int]:
    """The agreement's parties on whose behalf `actor` does `action` (approvals and comments are
    given per party; a person who serves two parties acts for each)."""
    allowed = _ACTING_ROLES[action]
    return sorted(pid for pid, role in _agreement_party_roles(actor, agreement).items() if role in allowed)


def _pending_roles(actor: Actor, agreement: Agreement) -> dict[int, Role]:
    mine = roles_of(actor)
    return {p.party_id: mine[p.party_id] for p in agreement.pending if p.party_id in mine}


def _agreement_invitation(actor: Actor, agreement: Agreement) -> bool:
    """Every user of a pending party sees that it was invited (and by whom); only that."""
    return bool(_pending_roles(actor, agreement))


def _agreement_open(actor: Actor, agreement: Agreement) -> bool:
    """Opening the agreement's page: its parties' users, and an invited party's (who see the invitation only)."""
    return _agreement_read(actor, agreement) or _agreement_invitation(actor, agreement)


def invited_parties(actor: Actor, agreement: Agreement) -> list[int]:
    """The actor's parties that the agreement invited and that have not answered."""
    return sorted(_pending_roles(actor, agreement))


def agreement_invitation_clause(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition `_agreement_invitation` states, for lists."""
    return false() if actor is SYSTEM else _agreements_naming_own_party(actor, PartyConsent.PENDING)


def consents_for(actor: Actor, party_id: int) -> bool:
    """Whether the actor may accept (or decline) taking part in an agreement for the party."""
    return actor is SYSTEM or _role_in(actor, party_id, EDIT_ROLES)


def _agreement_respond(actor: Actor, agreement: Agreement) -> bool:
    return agreement.status not in _CLOSED and any(role in EDIT_ROLES
                                                   for role in _pending_roles(actor, agreement).values())


def responding_parties(actor: Actor, agreement: Agreement) -> list[int]:
    """The pending parties the actor answers an invitation for."""
    return sorted(p.party_id for p in agreement.pending if consents_for(actor, p.party_id))


def _agreement_create(actor: Actor, party: Party) -> bool:
    return party.active and _role_in(actor, party.id, EDIT_ROLES)


def _agreement_update(actor: Actor, agreement: Agreement) -> bool:
    return agreement.status not in _CLOSED and _agreement_edit_role(actor, agreement)


def _agreement_edit_role(actor: Actor, agreement: Agreement) -> bool:
    return any(role in EDIT_ROLES for role in _agreement_party_roles(actor, agreement).values())


def _agreement_export(actor: Actor, agreement: Agreement) -> bool:
    """Export writes a document into the archive; an expired agreement may still be exported."""
    return _agreement_edit_role(actor, agreement)


def _agreement_approve(actor: Actor, agreement: Agreement) -> bool:
    return agreement.status not in _CLOSED and any(
        role in APPROVE_ROLES for role in _agreement_party_roles(actor, agreement).values())


def _suggestion_decide(actor: Actor, comment: AgreementComment) -> bool:
    agreement = comment.agreement
    if comment.suggestion is None or agreement.status in _CLOSED:
        return False
    if isinstance(actor, User) and actor.id == comment.author_id:
        return False
    roles = _agreement_party_roles(actor, agreement)
    if comment.author_party_id in roles:
        return False
    return any(role in EDIT_ROLES for role in roles.values())


def _comment_read(actor: Actor, comment: AgreementComment) -> bool:
    return _agreement_read(actor, comment.agreement)


def _comment_resolve(actor: Actor, comment: AgreementComment) -> bool:
    return _agreement_update(actor, comment.agreement)


def agreement_readers(agreement: Agreement) -> list[str]:
    """The reader tokens of an agreement's search records (same answer as `agreement:read`)."""
    return sorted(party_token(pid) for pid in agreement.party_ids)


# --- obligations -------------------------------------------------------------------------------
#
# An obligation concerns two parties: the one responsible and the one that verifies. Both see
# it, and so does the municipality, which follows every organisation. The responsible party's
# editors report it done; the verifying party's editors verify, reject or waive it.

def _obligation_read(actor: Actor, obligation: Obligation) -> bool:
    parties = party_ids_of(actor)
    return (obligation.responsible_party_id in parties or obligation.verifying_party_id in parties
            or is_municipality_user(actor))


def obligation_read_clause(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition `_obligation_read` states, for lists."""
    if actor is SYSTEM or is_municipality_user(actor):
        return true()
    parties = party_ids_of(actor) or {-1}
    return or_(Obligation.responsible_party_id.in_(parties), Obligation.verifying_party_id.in_(parties))


def _obligation_report(actor: Actor, obligation: Obligation) -> bool:
    return obligation.in_force and _role_in(actor, obligation.responsible_party_id, EDIT_ROLES)


def _obligation_verify(actor: Actor, obligation: Obligation) -> bool:
    return obligation.in_force and _role_in(actor, obligation.verifying_party_id, EDIT_ROLES)


def _obligation_manage(actor: Actor, obligation: Obligation) -> bool:
    return (_role_in(actor, obligation.responsible_party_id, EDIT_ROLES)
            or _role_in(actor, obligation.verifying_party_id, EDIT_ROLES))


def _allocation_record(actor: Actor, agreement: Agreement) -> bool:
    return agreement.status not in _CLOSED and any(
        role in EDIT_ROLES and pid != _municipality_id(agreement)
        for pid, role in _agreement_party_roles(actor, agreement).items())


def _allocation_department(actor: Actor, department: Department) -> bool:
    """The organisation records its own departments' figures."""
    return _role_in(actor, department.party_id, EDIT_ROLES)


def _municipality_id(agreement: Agreement) -> int | None:
    return next((p.party_id for p in agreement.parties if p.party.is_municipality), None)


# --- key figures and area status ---------------------------------------------------------------
#
# Key figures are the organisation's own numbers: it and the municipality read them. The
# municipality imports them and sets the thresholds that mark a value critical; it also records
# each department's area status (the ministry's classification of the area).

def _keyfigures_read(actor: Actor, party: Party) -> bool:
    return not party.is_municipality and _party_read(actor, party)


def _municipality_writer(actor: Actor, municipality: Party) -> bool:
    return municipality.is_municipality and _role_in(actor, municipality.id, EDIT_ROLES)


def _area_status_update(actor: Actor, department: Department) -> bool:
    return municipality_role(actor) in EDIT_ROLES


# --- the styringsdialog year ------------------------------------------------------------------------
#
# The organisation and the municipality both follow the organisation's dialogue. The organisation
# submits its documentation package and approves the minutes; the municipality registers and
# accepts (or returns) the package, plans and holds the meeting, drafts and publishes the minutes.

_ORGANISATION_STEPS = frozenset({DialogueStep.PACKAGE_RECEIVED, DialogueStep.MINUTES_APPROVED})


def _dialogue_read(actor: Actor, dialogue: Dialogue) -> bool:
    return _party_read(actor, dialogue.party)


def dialogue_read_clause(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition `_dialogue_read` states, for lists (the organisation and the municipality)."""
    if actor is SYSTEM or is_municipality_user(actor):
        return true()
    return Dialogue.party_id.in_(party_ids_of(actor) or {-1})


def _dialogue_step_rule(step: DialogueStep) -> Callable[[Actor, Dialogue], bool]:
    def rule(actor: Actor, dialogue: Dialogue) -> bool:
        if municipality_role(actor) in EDIT_ROLES:
            return True
        return step in _ORGANISATION_STEPS and _role_in(actor, dialogue.party_id, EDIT_ROLES)

    return rule


def _dialogue_manage(actor: Actor, dialogue: Dialogue) -> bool:
    return municipality_role(actor) in EDIT_ROLES


def _dialogue_create(actor: Actor, organisation: Party) -> bool:
    return not organisation.is_municipality and municipality_role(actor) in EDIT_ROLES


def _overview(actor: Actor, municipality: Party) -> bool:
    return municipality.is_municipality and municipality.id in party_ids_of(actor)


def _visibility_filter(actor: Actor, municipality: Party) -> bool:
    """Only the municipality filters search on visibility; for others it would only narrow their own view."""
    return municipality.is_municipality and is_municipality_user(actor)


def _jobs_manage(actor: Actor, municipality: Party) -> bool:
    """The indexing queue is operated by the municipality's admins."""
    return municipality.is_municipality and _role_in(actor, municipality.id, ADMIN_ROLES)


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
    "members:add_directly": (Party, _members_add_directly),
    "invitation:decide": (MembershipInvitation, _invitation_decide),
    "invitation:withdraw": (MembershipInvitation, _invitation_withdraw),
    "membership:read": (Membership, _membership_read),
    "token:revoke": (ApiToken, _token_revoke),
    "audit:read": (Party, _audit_read),
    "audit:search": (Party, _audit_search),
    "document:read": (Document, _document_read),
    "document:create": (Party, _document_create),
    "document:update": (Document, _document_update),
    "document:delete": (Document, _document_update),
    "document:restore": (Document, _document_restore),
    "document:publish": (Document, _document_publish),
    "document:request_unpublish": (Document, _document_request_unpublish),
    "documents:list": (Party, _documents_list),
    "jobs:manage": (Party, _jobs_manage),
    "agreement:read": (Agreement, _agreement_read),
    "agreement:create": (Party, _agreement_create),
    "agreement:update": (Agreement, _agreement_update),
    "agreement:comment": (Agreement, _agreement_update),
    "agreement:approve": (Agreement, _agreement_approve),
    "agreement:export": (Agreement, _agreement_export),
    "agreement:invitation": (Agreement, _agreement_invitation),
    "agreement:open": (Agreement, _agreement_open),
    "agreement:respond": (Agreement, _agreement_respond),
    "comment:read": (AgreementComment, _comment_read),
    "comment:resolve": (AgreementComment, _comment_resolve),
    "suggestion:decide": (AgreementComment, _suggestion_decide),
    "obligation:create": (Agreement, _agreement_update),
    "obligation:read": (Obligation, _obligation_read),
    "obligation:report": (Obligation, _obligation_report),
    "obligation:verify": (Obligation, _obligation_verify),
    "obligation:manage": (Obligation, _obligation_manage),
    "obligations:list": (Party, _party_read),
    "allocation:read": (Agreement, _agreement_read),
    "allocation:record": (Agreement, _allocation_record),
    "allocation:department": (Department, _allocation_department),
    "keyfigures:read": (Party, _keyfigures_read),
    "keyfigures:import": (Party, _municipality_writer),
    "thresholds:manage": (Party, _municipality_writer),
    "areastatus:update": (Department, _area_status_update),
    "dialogue:read": (Dialogue, _dialogue_read),
    "dialogue:manage": (Dialogue, _dialogue_manage),
    "dialogue:create": (Party, _dialogue_create),
    "dialogues:overview": (Party, _overview),
    "search:filter_visibility": (Party, _visibility_filter),
    "deadlines:manage": (Party, _municipality_writer),
    **{f"dialogue:{step.value}": (Dialogue, _dialogue_step_rule(step)) for step in DialogueStep},
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
    A refusal of an existing object carries a `Denial`, for the audit trail.
    """
    if can(actor, action, obj):
        return
    if actor is None:
        raise Unauthenticated()
    read_action = _READ_ACTION.get(type(obj))
    error = Forbidden() if read_action is not None and read_action != action and can(actor, read_action, obj) \
        else NotFound()
    if obj is not None:
        error.denial = Denial(action, _AUDIT_TYPES.get(type(obj), type(obj).__name__.lower()),
                              str(getattr(obj, "id", "")))
    raise error


def load(actor: Actor, model: type[_Loaded], object_id: int | None, action: str) -> _Loaded:
    """The `model` row with `object_id`, if `actor` may do `action` on it: THE way services and
    views fetch an object by an id they were given. Absent and not readable answer the same
    NotFound (an id reveals nothing); readable but not allowed answers Forbidden (`require`)."""
    found = db.session.get(model, object_id) if isinstance(object_id, int) and 0 < object_id <= MAX_INT else None
    if found is None:
        raise NotFound()
    guard = _GUARDED_BY.get(model)
    require(actor, action, guard(found) if guard else found)
    return found


# Objects whose permission is their parent's: an obligation's occurrence is read and worked as the obligation.
_GUARDED_BY: Final[dict[type, Callable[[Any], Any]]] = {Occurrence: lambda occurrence: occurrence.obligation}


_READ_ACTION: Final[dict[type, str]] = {Party: "party:read", User: "user:read", Department: "department:read",
                                        Document: "document:read", Agreement: "agreement:read",
                                        AgreementComment: "comment:read", Obligation: "obligation:read",
                                        Dialogue: "dialogue:read"}


# The names the audit trail already uses for these objects.
_AUDIT_TYPES: Final[dict[type, str]] = {AgreementComment: "comment"}


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


def searchable_document_clause(actor: Actor) -> ColumnElement[bool]:
    """Documents whose search hits `actor` may be shown: readable and not deleted (a deleted
    document is found in the trash, never by search). Search re-checks its hits with this."""
    return document_live_clause(actor)


def searchable_agreement_clause(actor: Actor) -> ColumnElement[bool]:
    """Agreements whose search hits `actor` may be shown: `agreement:read`, as SQL (an invited
    party that has not accepted finds nothing of the agreement)."""
    return agreement_read_clause(actor)


def searchable_obligation_clause(actor: Actor) -> ColumnElement[bool]:
    """Obligations whose search hits `actor` may be shown: readable and in force (only those are indexed)."""
    return Obligation.in_force.is_(True) & obligation_read_clause(actor)


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
