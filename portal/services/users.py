"""Users and memberships: admins invite people to their party (who accept or decline), change roles, deactivate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from portal import access
from portal.access import Actor, actor_user_id, can, load, require, user_history_clause
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Membership,
    MembershipInvitation,
    Party,
    Role,
    User,
)
from portal.models.base import MAX_INT
from portal.services.audit import ACCESS_ACTIONS, record_event
from portal.services.auth import (
    create_invitation,
    end_all_sessions,
    hash_password,
    issue_password_link,
    normalise_email,
    revoke_all_api_tokens,
    validate_password,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class NewUser:
    user: User
    membership: Membership | None  # None while the person has not accepted (`pending`)
    invitation_token: str | None  # a link to set a password, for an account made just now without one
    pending: MembershipInvitation | None = None


def _parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise InvalidInput(fields={"role": "Vælg en rolle: læser, redaktør, underskriver eller administrator."}) from exc


def list_members(actor: Actor, party: Party) -> list[Membership]:
    require(actor, "members:read", party)
    stmt = (select(Membership).join(Membership.user).where(Membership.party_id == party.id).order_by(User.name))
    return list(db.session.scalars(stmt))


def invite_user(actor: Actor, party: Party, *, email: str, name: str, role: str | Role,
                password: str | None = None, invitation_valid_hours: int = 72) -> NewUser:
    """Invite the person with `email` to `party`, creating an account when the address has none.

    For an admin the membership waits for the person's consent (`pending`): they accept or
    decline after logging in, and a new account first gets a one-time link to set a password.
    The admin's answer and the party's history are the same whether the address had an
    account or not. The operator (`SYSTEM`: the command line, the demo) adds the membership at
    once, and may set `password` directly.
    """
    require(actor, "members:manage", party)
    email = normalise_email(email)
    name = (name or "").strip()
    directly = can(actor, "members:add_directly", party)
    errors: dict[str, str] = {}
    if not _EMAIL.match(email):
        errors["email"] = "Skriv en gyldig e-mailadresse."
    role_value = None
    try:
        role_value = _parse_role(role)
    except InvalidInput as exc:
        errors.update(exc.fields)
    user = db.session.scalar(select(User).where(User.email == email))
    # An admin types a name whatever the address, so the form does not tell which have accounts.
    if not name and (user is None or not directly):
        errors["name"] = "Navnet skal udfyldes."
    if password is not None:
        try:
            validate_password(password, email=email, name=name)
        except InvalidInput as exc:
            errors.update(exc.fields)
    if errors:
        raise InvalidInput(fields=errors)
    assert role_value is not None
    if user is not None and any(m.party_id == party.id for m in user.memberships):
        raise InvalidInput(fields={"email": "Brugeren er allerede tilknyttet denne part."})
    if user is not None and _open_invitation(user, party) is not None:
        raise InvalidInput(fields={"email": "Der er allerede sendt en invitation til denne adresse, som venter på svar."})
    created = user is None
    if user is None:
        user = User(email=email, name=name, password_hash=hash_password(password) if password else None)
        db.session.add(user)
        db.session.flush()
        # Not in the party's history while the invitation waits: a new row there would tell the
        # admin that the address had no account.
        record_event(actor, "user.create", "user", user.id, party_id=party.id if directly else None,
                     after={"email": email, "name": name})
    token = None
    # Someone who never chose a password (invited before, link lapsed) needs one to answer too.
    if password is None and user.password_hash is None and user.active and (created or not directly):
        token = issue_password_link(actor, user, valid_hours=invitation_valid_hours)
    if not directly:
        pending = MembershipInvitation(user_id=user.id, party_id=party.id, role=role_value, email=email, name=name,
                                       invited_by_id=actor_user_id(actor))
        db.session.add(pending)
        db.session.flush()
        record_event(actor, "membership_invitation.create", "user", email, party_id=party.id,
                     after={"name": name, "role": role_value.value})
        return NewUser(user=user, membership=None, invitation_token=token, pending=pending)
    membership = Membership(user=user, party_id=party.id, role=role_value)
    db.session.add(membership)
    db.session.flush()
    record_event(actor, "membership.create", "user", user.id, party_id=party.id, after={"role": role_value.value})
    return NewUser(user=user, membership=membership, invitation_token=token)


def _open_invitation(user: User, party: Party) -> MembershipInvitation | None:
    return db.session.scalar(select(MembershipInvitation).where(
        MembershipInvitation.user_id == user.id, MembershipInvitation.party_id == party.id,
        MembershipInvitation.decided_at.is_(None)))


def list_pending_invitations(actor: Actor, party: Party) -> list[MembershipInvitation]:
    """The party's invitations that wait for an answer (for its admins: only what they typed shows)."""
    require(actor, "members:manage", party)
    return list(db.session.scalars(select(MembershipInvitation).where(
        MembershipInvitation.party_id == party.id, MembershipInvitation.decided_at.is_(None))
        .order_by(MembershipInvitation.id)))


def my_invitations(actor: Actor) -> list[MembershipInvitation]:
    """The invitations waiting for the acting user's answer."""
    if not isinstance(actor, User):
        return []
    found = db.session.scalars(select(MembershipInvitation).where(
        MembershipInvitation.user_id == actor.id, MembershipInvitation.decided_at.is_(None))
        .order_by(MembershipInvitation.id))
    return [invitation for invitation in found if can(actor, "invitation:decide", invitation)]


def _invitation(actor: Actor, invitation_id: int, action: str) -> MembershipInvitation:
    invitation = db.session.get(MembershipInvitation, invitation_id) if invitation_id <= MAX_INT else None
    if invitation is None:
        raise NotFound()
    require(actor, action, invitation)
    return invitation


def answer_invitation(actor: Actor, invitation_id: int, *, accept: bool) -> MembershipInvitation:
    """The invited person accepts (the membership begins) or declines."""
    invitation = _invitation(actor, invitation_id, "invitation:decide")
    invitation.decided_at = datetime.now(UTC)
    invitation.outcome = "accepted" if accept else "declined"
    user = invitation.user
    if not accept:
        record_event(actor, "membership_invitation.decline", "user", invitation.email, party_id=invitation.party_id)
        return invitation
    if not any(m.party_id == invitation.party_id for m in user.memberships):
        user.memberships.append(Membership(party_id=invitation.party_id, role=invitation.role))
        db.session.flush()
    record_event(actor, "membership.create", "user", user.id, party_id=invitation.party_id,
                 after={"role": invitation.role.value, "invitation": invitation.id})
    return invitation


def withdraw_invitation(actor: Actor, invitation_id: int) -> MembershipInvitation:
    invitation = _invitation(actor, invitation_id, "invitation:withdraw")
    invitation.decided_at = datetime.now(UTC)
    invitation.outcome = "withdrawn"
    record_event(actor, "membership_invitation.withdraw", "user", invitation.email, party_id=invitation.party_id)
    return invitation


def user_history(actor: Actor, user: User, *, limit: int = 50) -> list[AuditEvent]:
    """The events of `user`'s page that `actor` may see (see `access.user_history_clause`)."""
    require(actor, "user:read", user)
    stmt = (select(AuditEvent).where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id),
                                     AuditEvent.action.not_in(ACCESS_ACTIONS), user_history_clause(actor, user))
            .order_by(AuditEvent.id.desc()).limit(limit))
    return list(db.session.scalars(stmt))


def _membership(actor: Actor, membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        raise NotFound()
    require(actor, "members:manage", membership.party)
    return membership


def change_role(actor: Actor, membership_id: int, role: str | Role) -> Membership:
    membership = _membership(actor, membership_id)
    new_role = _parse_role(role)
    before = membership.role.value
    if before == new_role.value:
        return membership
    _keep_an_admin(membership, new_role)
    membership.role = new_role
    record_event(actor, "membership.update", "user", membership.user_id, party_id=membership.party_id,
                 before={"role": before}, after={"role": new_role.value})
    return membership


def remove_membership(actor: Actor, membership_id: int) -> None:
    membership = _membership(actor, membership_id)
    _keep_an_admin(membership, None)
    record_event(actor, "membership.delete", "user", membership.user_id, party_id=membership.party_id,
                 before={"role": membership.role.value})
    # Through the collection, so the user's memberships are right at once (delete-orphan deletes the row).
    membership.user.memberships.remove(membership)


def _keep_an_admin(membership: Membership, new_role: Role | None) -> None:
    """A party must keep at least one active admin, or nobody could manage it again."""
    if not access.role_may(membership.role, "members:manage") or access.role_may(new_role, "members:manage"):
        return
    others = db.session.scalars(select(Membership).join(Membership.user).where(
        access.members_who_may_clause(membership.party_id, "members:manage"),
        Membership.id != membership.id, User.active.is_(True))).first()
    if others is None:
        raise InvalidInput("Parten skal have mindst én aktiv administrator.")


def set_user_active(actor: Actor, user_id: int, active: bool) -> User:
    """Deactivating ends every session and token use at once; the user's history stays."""
    user = load(actor, User, user_id, "user:manage")
    if user.active == active:
        return user
    if not active:
        for membership in user.memberships:
            _keep_an_admin(membership, None)
    user.active = active
    user.deactivated_at = None if active else datetime.now(UTC)
    if not active:
        end_all_sessions(user)
        # Revoked, not merely paused: reactivating the account does not bring old tokens back.
        revoke_all_api_tokens(user)
    record_event(actor, "user.activate" if active else "user.deactivate", "user", user.id,
                 before={"active": not active}, after={"active": active})
    return user


def update_profile(actor: Actor, user: User, data: dict[str, Any]) -> User:
    require(actor, "profile:update", user)
    name = str(data.get("name", "")).strip()
    locale = str(data.get("locale", user.locale))
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Navnet skal udfyldes."
    if locale not in {"da", "en"}:
        errors["locale"] = "Vælg dansk eller engelsk."
    if errors:
        raise InvalidInput(fields=errors)
    before = {"name": user.name, "locale": user.locale}
    user.name, user.locale = name, locale
    record_event(actor, "user.update", "user", user.id, before=before, after={"name": name, "locale": locale})
    return user


def reissue_invitation(actor: Actor, user_id: int, *, valid_hours: int) -> str:
    user = load(actor, User, user_id, "user:manage")
    return create_invitation(actor, user, valid_hours=valid_hours)
