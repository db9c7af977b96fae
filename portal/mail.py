"""Outgoing e-mail, with a log in the database.

Every message is first written to `mail_log` (in the caller's unit of work, so it commits
with the change that caused it), then handed to SMTP when `PORTAL_SMTP_URL` is set
(smtp://user:pass@host:port, smtps:// for TLS, ?starttls=1). Without SMTP the log is where
admins read the messages, so no feature depends on mail being configured. A failing SMTP
server is recorded on the row and retried by `deliver_pending`, never raised to the user.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select

from portal.extensions import db
from portal.models import MailLog

log = logging.getLogger("portal.mail")


def queue_mail(*, to: str, subject: str, body: str) -> MailLog:
    """Add a message to the log in the current unit of work; `deliver_pending` sends it."""
    message = MailLog(recipient=to, subject=subject[:300], body=body)
    db.session.add(message)
    return message


def _smtp_send(settings: Any, message: MailLog) -> None:
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = settings.mail_sender, message.recipient, message.subject
    email.set_content(message.body)
    url = urlsplit(settings.smtp_url)
    query = parse_qs(url.query)
    smtp_cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with smtp_cls(url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 25), timeout=10) as smtp:
        if query.get("starttls", ["0"])[0] in {"1", "true"}:
            smtp.starttls()
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(email)


def deliver_pending(settings: Any, *, limit: int = 200) -> int:
    """Send logged messages not yet delivered. Call it outside any unit of work: each message is
    marked delivered in a unit of its own right after sending, so a crash re-sends at most one."""
    from portal.uow import unit_of_work

    if not settings.smtp_url:
        return 0
    sent = 0
    ids = list(db.session.scalars(select(MailLog.id).where(MailLog.delivered.is_(False)).order_by(MailLog.id).limit(limit)))
    for message_id in ids:
        with unit_of_work():
            message = db.session.get(MailLog, message_id)
            if message is None or message.delivered:
                continue
            try:
                _smtp_send(settings, message)
            except (OSError, smtplib.SMTPException) as exc:
                message.error = f"{exc.__class__.__name__}: {exc}"[:1000]
                log.warning("mail %s to %s not delivered: %s", message.id, message.recipient, exc.__class__.__name__)
            else:
                message.delivered, message.error = True, None
                sent += 1
    return sent


def send_mail(settings: Any, *, to: str, subject: str, body: str) -> MailLog:
    """Log a message and try to deliver it now (used for invitations, shown on screen as well)."""
    from portal.uow import unit_of_work

    with unit_of_work():
        message = queue_mail(to=to, subject=subject, body=body)
    if settings.smtp_url:
        deliver_pending(settings, limit=50)
    else:
        log.info("mail (no SMTP configured; see the mail log) to=%s subject=%s", to, subject)
    return message


def send_invitation(settings: Any, *, email: str, name: str, link: str, party: str | None = None) -> MailLog:
    invited = (f"Du er inviteret til Aftaleportalen af {party}. Når du har valgt din adgangskode og er logget ind, "
               "kan du acceptere invitationen på forsiden.\n") if party else "Du er blevet oprettet som bruger af Aftaleportalen.\n"
    body = (
        f"Kære {name}\n\n"
        f"{invited}"
        f"Vælg din adgangskode her (linket kan bruges én gang og udløber om {settings.invitation_valid_hours} timer):\n\n"
        f"{link}\n\n"
        "Har du ikke ventet denne mail, kan du se bort fra den.\n"
    )
    return send_mail(settings, to=email, subject="Din adgang til Aftaleportalen", body=body)


def send_membership_invitation(settings: Any, *, email: str, name: str, party: str, link: str) -> MailLog:
    """To a person who already has an account: they accept or decline after logging in."""
    body = (
        f"Kære {name}\n\n"
        f"{party} har inviteret dig til at blive tilknyttet parten i Aftaleportalen.\n"
        f"Log ind for at acceptere eller afvise invitationen:\n\n{link}\n\n"
        "Har du ikke ventet denne mail, kan du afvise invitationen eller se bort fra den.\n"
    )
    return send_mail(settings, to=email, subject="Invitation i Aftaleportalen", body=body)
