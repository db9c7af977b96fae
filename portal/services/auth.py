"""Authentication: passwords, log-in throttling, server-side sessions, invitations and API tokens.

Secrets (passwords, session ids, invitation and API tokens) are never stored or logged in
the clear: passwords as argon2 hashes, tokens as SHA-256.

The password policy follows NIST SP 800-63B: a minimum length, a generous maximum, every
character allowed (spaces and æøå too), no composition rules, and a refusal of passwords
that attackers try first: common and breached ones, trivial repetitions and sequences, and
ones made of the user's own e-mail address or name. The list of common passwords,
`portal/data/common-passwords.txt.gz`, is the 100,000 most common passwords of SecLists
(Daniel Miessler et al., Passwords/Common-Credentials/10-million-password-list-top-100000.txt,
MIT licence).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.orm import joinedload

from portal.access import Actor, require
from portal.errors import InvalidInput, NotFound, TooManyAttempts
from portal.extensions import db
from portal.models import ApiToken, Invitation, LoginFailure, User, UserSession
from portal.models.base import MAX_INT
from portal.models.base import utcnow as _now
from portal.services.audit import record_event

log = logging.getLogger("portal.auth")

hasher = PasswordHasher()
# A real hash to verify against when the account does not exist, is deactivated or has no
# password yet, so a log-in takes as long as a wrong password for a real account.
_dummy_hashes: dict[str, str] = {}

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"
# Words that make a password guessable in this portal whatever the user's name is.
_SITE_WORDS = ("aftaleportalen", "aftaleportal", "adgangskode", "kodeord", "password")
# A password that is the user's own details (or the site's name) plus fewer characters than
# this is refused: "nina.hansen2024" is, "nina elsker lange gåture" is not.
_MIN_OWN_CHARACTERS = 6
# Repetitions ("abababababab") and runs along the alphabet, the digits or a Danish keyboard's
# rows ("123456789012", "qwertyuiopås") are what guessing tools try right after the lists.
_MIN_DISTINCT_CHARACTERS = 5
_SEQUENCES = ("0123456789" * 4, "abcdefghijklmnopqrstuvwxyzæøå" * 2, "qwertyuiopåasdfghjklæøzxcvbnm" * 2)



def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- passwords --------------------------------------------------------------------

def normalise_password(password: str) -> str:
    """NFKC, so "å" typed as one character or as "a" plus a ring (as some keyboards send it)
    is the same password (NIST SP 800-63B 5.1.1.2)."""
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased. Only entries long enough to pass the
    length rule are kept: the shorter ones are refused anyway, and 100,000 strings per web
    worker would cost memory for nothing."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8", errors="replace") as lines:
        return frozenset(word for line in lines
                         if len(word := normalise_password(line.rstrip("\r\n")).lower()) >= MIN_PASSWORD_LENGTH)


def _letters_and_digits(text: str) -> str:
    return "".join(ch for ch in normalise_password(text).lower() if ch.isalnum())


def _own_details(email: str, name: str) -> list[str]:
    local = normalise_email(email).partition("@")[0]
    words = [email, local, name, *re.split(r"[\s.,_-]+", f"{local} {name}"), *_SITE_WORDS]
    found = {_letters_and_digits(w) for w in words}
    # Longest first, so "ninahansen" is taken out before "nina" would leave "hansen" behind.
    return sorted((w for w in found if len(w) >= 3), key=len, reverse=True)


def _is_trivial(password: str) -> bool:
    folded = password.lower()
    if len(set(folded)) < _MIN_DISTINCT_CHARACTERS:
        return True
    compact = folded.replace(" ", "")
    return any(compact in seq or compact in seq[::-1] for seq in _SEQUENCES)


def _mostly_own_details(password: str, email: str, name: str) -> bool:
    rest = _letters_and_digits(password)
    if not rest:
        return False
    matched = False
    for word in _own_details(email, name):
        if word in rest:
            rest, matched = rest.replace(word, ""), True
    return matched and len(rest) < _MIN_OWN_CHARACTERS


def validate_password(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse a password an attacker would guess early (NIST SP 800-63B); InvalidInput on `password`.

    Length counts characters after NFKC normalisation. No rules about character classes:
    a sentence of ordinary words is a good password.
    """
    password = normalise_password(password)
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = (f"Adgangskoden skal være på mindst {MIN_PASSWORD_LENGTH} tegn. "
                   "En sætning af flere ord er let at huske og svær at gætte.")
    elif len(password) > MAX_PASSWORD_LENGTH:
        problem = f"Adgangskoden må højst være på {MAX_PASSWORD_LENGTH} tegn."
    elif password.lower() in common_passwords():
        problem = ("Adgangskoden er for almindelig: den står på lister over adgangskoder, som angribere "
                   "prøver først. Vælg en anden, fx en sætning af flere ord.")
    elif _is_trivial(password):
        problem = ("Adgangskoden er for let at gætte: den består af gentagne tegn eller en række som "
                   "1234 eller abcd. Vælg en anden, fx en sætning af flere ord.")
    elif _mostly_own_details(password, email, name):
        problem = ("Adgangskoden må ikke bygge på din e-mailadresse, dit navn, portalens navn eller ordet "
                   "»adgangskode«. Vælg en anden, fx en sætning af flere ord.")
    else:
        return
    raise InvalidInput(fields={"password": problem})


def hash_password(password: str) -> str:
    return hasher.hash(normalise_password(password))


def _dummy_hash() -> str:
    """A hash made with the current hasher's parameters (a cheaper or dearer one would tell
    by its timing that no real hash was checked)."""
    key = f"{hasher.time_cost}:{hasher.memory_cost}:{hasher.parallelism}:{hasher.hash_len}:{hasher.salt_len}"
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return hasher.verify(password_hash or _dummy_hash(), normalise_password(password)) and password_hash is not None
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
    Failures are rows in the database, so every web worker (and every server behind a
    load balancer) shares the count; nothing is counted in a process's memory.
    """
    # No account has a longer address; cutting keeps an attacker's junk within the columns.
    email = normalise_email(email)[:254]
    since = _now() - timedelta(seconds=window_seconds)
    account_key, address_key = f"account:{email}", f"address:{address}"
    if _failures(account_key, since) >= max_per_account or _failures(address_key, since) >= max_per_address:
        log.warning("log-in throttled for an account or address")
        raise TooManyAttempts(
            "For mange mislykkede forsøg. Vent et kvarter, eller nulstil adgangskoden via din administrator.",
            retry_after=window_seconds,
        )
    user = db.session.scalar(select(User).where(User.email == email))
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""  # no one's password, and not worth hashing megabytes for
    # Exactly one argon2 verification whoever asks: unknown, deactivated and password-less
    # accounts check the dummy hash, so the answer's timing does not tell them apart.
    usable = user is not None and user.active and user.password_hash is not None
    correct = _verify(user.password_hash if usable and user is not None else None, password)
    if usable and correct and user is not None:
        db.session.execute(delete(LoginFailure).where(LoginFailure.key == account_key))
        if hasher.check_needs_rehash(user.password_hash or ""):
            user.password_hash = hash_password(password)
        return user
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
    return issue_password_link(actor, user, valid_hours=valid_hours)


def issue_password_link(actor: Actor, user: User, *, valid_hours: int) -> str:
    """`create_invitation` without the permission check, for an account the caller has just made
    (whose inviting admin may not read it until the person accepts)."""
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
    validate_password(password, email=user.email, name=user.name)
    user.password_hash = hash_password(password)
    invitation.used_at = _now()
    end_all_sessions(user)
    revoke_all_api_tokens(user)
    record_event(user, "invitation.accept", "user", user.id)
    return user


# --- passwords by the user ---------------------------------------------------------------

def change_password(actor: Actor, user: User, *, current: str, new: str, keep_session_id: str | None) -> None:
    require(actor, "profile:update", user)
    if not _verify(user.password_hash, current):
        raise InvalidInput(fields={"current_password": "Den nuværende adgangskode er forkert."})
    validate_password(new, email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    end_all_sessions(user, except_session_id=keep_session_id)
    # A token may have leaked with the old password; the user makes new ones on the profile page.
    revoke_all_api_tokens(user)
    record_event(actor, "password.change", "user", user.id)


# --- API tokens ---------------------------------------------------------------------------

TOKEN_PREFIX_LENGTH = 11  # "ap_" and eight random characters: enough to tell tokens apart, useless to guess with
MAX_TOKEN_DAYS = 3650


def create_api_token(actor: Actor, user: User, *, label: str = "", expires_days: int | None = None) -> str:
    """A new bearer token for `user`; shown once, stored only as its hash (and its prefix).
    With `expires_days` it stops working that many days from now."""
    require(actor, "profile:update" if actor is user else "user:manage", user)
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise InvalidInput(fields={"expires_days": f"Angiv et antal dage fra 1 til {MAX_TOKEN_DAYS}, eller lad feltet stå tomt."})
    token = "ap_" + secrets.token_urlsafe(32)
    expires_at = _now() + timedelta(days=expires_days) if expires_days is not None else None
    row = ApiToken(user_id=user.id, token_hash=_sha256(token), prefix=token[:TOKEN_PREFIX_LENGTH],
                   label=label.strip()[:100], expires_at=expires_at)
    db.session.add(row)
    db.session.flush()
    record_event(actor, "token.create", "user", user.id,
                 after={"token_id": row.id, "prefix": row.prefix, "label": row.label,
                        "expires_at": expires_at.isoformat(timespec="seconds") if expires_at else None})
    return token


def token_expired(token: ApiToken) -> bool:
    return token.expires_at is not None and token.expires_at <= _now()


def list_api_tokens(actor: Actor, user: User) -> list[ApiToken]:
    """`user`'s tokens that were not revoked, newest first (expired ones too, marked by `expires_at`)."""
    require(actor, "profile:update", user)
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                   .order_by(ApiToken.id.desc())))


def revoke_api_token(actor: Actor, token_id: int) -> ApiToken:
    """Revoke one token; it answers 401 from the next request on."""
    token = db.session.get(ApiToken, token_id) if token_id <= MAX_INT else None
    if token is None or token.revoked_at is not None:
        raise NotFound()
    require(actor, "token:revoke", token)
    token.revoked_at = _now()
    record_event(actor, "token.revoke", "user", token.user_id, after={"token_id": token.id, "prefix": token.prefix})
    return token


def find_api_tokens(*, user: User | None = None, token_id: int | None = None, prefix: str | None = None) -> list[ApiToken]:
    """Unrevoked tokens by owner, id or prefix, for the operator's command line."""
    stmt = select(ApiToken).where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
    if user is not None:
        stmt = stmt.where(ApiToken.user_id == user.id)
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    if prefix is not None:
        stmt = stmt.where(ApiToken.prefix == prefix[:TOKEN_PREFIX_LENGTH], ApiToken.prefix != "")
    return list(db.session.scalars(stmt))


def revoke_user_api_tokens(actor: Actor, user: User) -> int:
    """Revoke every token of `user` on request (the operator's `portal tokens revoke --user`)."""
    require(actor, "profile:update" if actor is user else "user:manage", user)
    count = revoke_all_api_tokens(user)
    record_event(actor, "token.revoke", "user", user.id, after={"all": True, "count": count})
    return count


def revoke_all_api_tokens(user: User) -> int:
    """Revoke every token of `user` (when they are deactivated or their password changes); a
    reactivated user makes new ones. Callers have checked permission; returns how many."""
    result = db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                .values(revoked_at=_now()))
    return result.rowcount or 0


@cache
def _token_lookup() -> Select[tuple[ApiToken]]:
    # Built once: on every API request, building the statement cost as much as running it.
    return (
        select(ApiToken)
        .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
        .options(joinedload(ApiToken.user).joinedload(User.memberships))
    )


def user_for_token(token: str) -> User | None:
    """The active user of an unrevoked, unexpired API token, or None. One query on the unique
    index of the token's SHA-256 (no slow hash: the token is random, not a password), bringing
    the user's memberships and parties along, since every API request needs them for access."""
    row = db.session.scalars(_token_lookup(), {"token_hash": _sha256(token)}).unique().first()
    if row is None or not row.user.active or token_expired(row):
        return None
    now = _now()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return row.user
