"""Authentication: passwords, log-in throttling, server-side sessions, invitations and API tokens.

Secrets (passwords, session ids, invitation and API tokens) are never stored or logged in
the clear: passwords as argon2 hashes, tokens as SHA-256.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update

from portal.access import Actor, require
from portal.errors import InvalidInput, NotFound, TooManyAttempts
from portal.extensions import db
from portal.models import ApiToken, Invitation, LoginFailure, User, UserSession
from portal.services.audit import record_event

log = logging.getLogger("portal.auth")

hasher = PasswordHasher()
# A real hash to verify against when the account does not exist, so timing reveals nothing.
_DUMMY_HASH = hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- passwords --------------------------------------------------------------------

def validate_password(password: str, *, email: str = "") -> None:
    """Length-based rules (NIST SP 800-63B): long enough, not absurdly long, not the e-mail address."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(fields={"password": f"Adgangskoden skal være på mindst {MIN_PASSWORD_LENGTH} tegn."})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(fields={"password": f"Adgangskoden må højst være på {MAX_PASSWORD_LENGTH} tegn."})
    if email and password.strip().lower() == normalise_email(email):
        raise InvalidInput(fields={"password": "Adgangskoden må ikke være din e-mailadresse."})


def hash_password(password: str) -> str:
    return hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# --- log-in with throttling ----------------------------------------------------------

def _failures(key: str, since: datetime) -> int:
    return db.session.scalar(select(func.count()).where(LoginFailure.key == key, LoginFailure.at >= since)) or 0


def authenticate(email: str, password: str, *, address: str, max_per_account: int, max_per_address: int,
                 window_seconds: int) -> User | None:
    """The active user with these credentials, or None (and the failure is counted).

    Raises TooManyAttempts, before looking at the password, when the account or the
    address has failed too often within the window: guessing gets no answers at all.
    Failures are rows in the database, so every web worker shares the count.
    """
    email = normalise_email(email)
    since = _now() - timedelta(seconds=window_seconds)
    account_key, address_key = f"account:{email}", f"address:{address}"
    if _failures(account_key, since) >= max_per_account or _failures(address_key, since) >= max_per_address:
        log.warning("log-in throttled for an account or address")
        raise TooManyAttempts(
            "For mange mislykkede forsøg. Vent et kvarter, eller nulstil adgangskoden via din administrator.",
            retry_after=window_seconds,
        )
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None and user.active and _verify(user.password_hash, password):
        db.session.execute(delete(LoginFailure).where(LoginFailure.key == account_key))
        if hasher.check_needs_rehash(user.password_hash or ""):
            user.password_hash = hash_password(password)
        return user
    if user is None:
        _verify(None, password)
    db.session.add_all([LoginFailure(key=account_key), LoginFailure(key=address_key)])
    record_event(None, "login.failed", "user", user.id if user else email, address=address)
    return None


def prune_login_failures(older_than_seconds: int) -> int:
    cutoff = _now() - timedelta(seconds=older_than_seconds)
    result = db.session.execute(delete(LoginFailure).where(LoginFailure.at < cutoff))
    return result.rowcount or 0


# --- sessions ------------------------------------------------------------------------

def start_session(user: User, *, address: str) -> str:
    """A new server-side session for `user`; returns its id (the only thing the cookie holds)."""
    session_id = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=_sha256(session_id), user_id=user.id, address=address[:64]))
    record_event(user, "login", "user", user.id, address=address)
    return session_id


def load_session(session_id: str, *, idle_minutes: int) -> User | None:
    """The user of a live session, or None when it ended, idled out or its user is inactive."""
    row = db.session.get(UserSession, _sha256(session_id))
    if row is None or row.ended_at is not None:
        return None
    now = _now()
    if now - row.last_seen_at > timedelta(minutes=idle_minutes):
        return None
    user = row.user
    if not user.active:
        return None
    # Touch at most once a minute: a write per request would serialise readers on SQLite.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return user


def end_session(session_id: str) -> None:
    row = db.session.get(UserSession, _sha256(session_id))
    if row is not None and row.ended_at is None:
        row.ended_at = _now()
        record_event(row.user, "logout", "user", row.user_id)


def end_all_sessions(user: User, *, except_session_id: str | None = None) -> None:
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if except_session_id is not None:
        stmt = stmt.where(UserSession.id != _sha256(except_session_id))
    db.session.execute(stmt.values(ended_at=_now()))


# --- invitations ----------------------------------------------------------------------

def create_invitation(actor: Actor, user: User, *, valid_hours: int) -> str:
    """A one-time link token with which `user` sets a password. Earlier unused links stop working."""
    require(actor, "user:read", user)
    now = _now()
    db.session.execute(
        update(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None)).values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(Invitation(
        user_id=user.id,
        token_hash=_sha256(token),
        created_by_id=actor.id if isinstance(actor, User) else None,
        expires_at=now + timedelta(hours=valid_hours),
    ))
    record_event(actor, "invitation.create", "user", user.id)
    return token


def find_invitation(token: str) -> Invitation:
    """The usable invitation for `token`; NotFound for unknown, used or expired ones alike."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == _sha256(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at < _now() or not invitation.user.active:
        raise NotFound("Linket er ugyldigt eller udløbet. Bed din administrator om et nyt.")
    return invitation


def accept_invitation(token: str, password: str) -> User:
    """Set the invited user's password and spend the link."""
    invitation = find_invitation(token)
    user = invitation.user
    validate_password(password, email=user.email)
    user.password_hash = hash_password(password)
    invitation.used_at = _now()
    end_all_sessions(user)
    record_event(user, "invitation.accept", "user", user.id)
    return user


# --- passwords by the user ---------------------------------------------------------------

def change_password(actor: Actor, user: User, *, current: str, new: str, keep_session_id: str | None) -> None:
    require(actor, "profile:update", user)
    if not _verify(user.password_hash, current):
        raise InvalidInput(fields={"current_password": "Den nuværende adgangskode er forkert."})
    validate_password(new, email=user.email)
    user.password_hash = hash_password(new)
    end_all_sessions(user, except_session_id=keep_session_id)
    record_event(actor, "password.change", "user", user.id)


# --- API tokens ---------------------------------------------------------------------------

def create_api_token(actor: Actor, user: User, *, label: str = "") -> str:
    """A new bearer token for `user`; shown once, stored only as its hash."""
    require(actor, "profile:update" if actor is user else "user:manage", user)
    token = "ap_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_sha256(token), label=label[:100]))
    record_event(actor, "token.create", "user", user.id, after={"label": label})
    return token


def user_for_token(token: str) -> User | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(token), ApiToken.revoked_at.is_(None)))
    if row is None or not row.user.active:
        return None
    now = _now()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return row.user
