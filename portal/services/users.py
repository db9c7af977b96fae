"""Users and memberships: admins invite users to their party, change roles, deactivate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from portal.access import Actor, require
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.models import Membership, Party, Role, User
from portal.services.audit import record_event
from portal.services.auth import (
    create_invitation,
    end_all_sessions,
    hash_password,
    normalise_email,
    validate_password,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class NewUser:
    user: User
    membership: Membership
    invitation_token: str | None  # None when a password was set directly (the command line)


def _parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        raise InvalidInput(fields={"role": "Vælg en rolle: læser, redaktør, underskriver eller administrator."}) from exc


def get_user(actor: Actor, user_id: int, action: str = "user:read") -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    require(actor, action, user)
    return user


def list_members(actor: Actor, party: Party) -> list[Membership]:
    require(actor, "members:read", party)
    stmt = (select(Membership).join(Membership.user).where(Membership.party_id == party.id).order_by(User.name))
    return list(db.session.scalars(stmt))


def invite_user(actor: Actor, party: Party, *, email: str, name: str, role: str | Role,
                password: str | None = None, invitation_valid_hours: int = 72) -> NewUser:
    """Add a membership of `party` for the user with `email`, creating the user when new.

    A new user gets a one-time invitation link to set a password (or `password`
    directly, for the operator's command line). An existing user — e.g. an
    administration company's employee joining one more organisation — just gains the
    membership.
    """
    require(actor, "members:manage", party)
    email = normalise_email(email)
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not _EMAIL.match(email):
        errors["email"] = "Skriv en gyldig e-mailadresse."
    role_value = None
    try:
        role_value = _parse_role(role)
    except InvalidInput as exc:
        errors.update(exc.fields)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None and not name:
        errors["name"] = "Navnet skal udfyldes."
    if password is not None:
        try:
            validate_password(password, email=email, name=name)
        except InvalidInput as exc:
            errors.update(exc.fields)
    if errors:
        raise InvalidInput(fields=errors)
    assert role_value is not None
    created = user is None
    if user is None:
        user = User(email=email, name=name, password_hash=hash_password(password) if password else None)
        db.session.add(user)
        db.session.flush()
        record_event(actor, "user.create", "user", user.id, party_id=party.id, after={"email": email, "name": name})
    elif any(m.party_id == party.id for m in user.memberships):
        raise InvalidInput(fields={"email": "Brugeren er allerede tilknyttet denne part."})
    membership = Membership(user=user, party_id=party.id, role=role_value)
    db.session.add(membership)
    db.session.flush()
    record_event(actor, "membership.create", "user", user.id, party_id=party.id, after={"role": role_value.value})
    token = None
    if created and password is None:
        token = create_invitation(actor, user, valid_hours=invitation_valid_hours)
    return NewUser(user=user, membership=membership, invitation_token=token)


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
    if membership.role is not Role.ADMIN or new_role is Role.ADMIN:
        return
    others = db.session.scalars(select(Membership).join(Membership.user).where(
        Membership.party_id == membership.party_id, Membership.role == Role.ADMIN,
        Membership.id != membership.id, User.active.is_(True))).first()
    if others is None:
        raise InvalidInput("Parten skal have mindst én aktiv administrator.")


def set_user_active(actor: Actor, user_id: int, active: bool) -> User:
    """Deactivating ends every session and token use at once; the user's history stays."""
    user = get_user(actor, user_id, "user:manage")
    if user.active == active:
        return user
    if not active:
        for membership in user.memberships:
            _keep_an_admin(membership, None)
    user.active = active
    user.deactivated_at = None if active else datetime.now(timezone.utc)
    if not active:
        end_all_sessions(user)
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
    user = get_user(actor, user_id, "user:manage")
    return create_invitation(actor, user, valid_hours=valid_hours)
