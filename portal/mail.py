"""Outgoing e-mail. With `PORTAL_SMTP_URL` set (smtp://user:pass@host:port, smtps:// for TLS,
?starttls=1) messages go through SMTP; without it they are written to the log, where an
operator can read them, so no feature depends on mail being configured."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("portal.mail")


def send_mail(settings: Any, *, to: str, subject: str, body: str) -> bool:
    """Send one message; True when handed to an SMTP server, False when only logged.

    A failing SMTP server is logged, never raised: the action that sent the mail has
    already succeeded and shows the same information on screen.
    """
    if not settings.smtp_url:
        log.info("mail (no SMTP configured) to=%s subject=%s\n%s", to, subject, body)
        return False
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.mail_sender, to, subject
    message.set_content(body)
    url = urlsplit(settings.smtp_url)
    query = parse_qs(url.query)
    try:
        smtp_cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with smtp_cls(url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 25), timeout=10) as smtp:
            if query.get("starttls", ["0"])[0] in {"1", "true"}:
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("mail to %s could not be sent: %s", to, exc)
        return False
    return True


def send_invitation(settings: Any, *, email: str, name: str, link: str) -> bool:
    body = (
        f"Kære {name}\n\n"
        "Du er blevet oprettet som bruger af Aftaleportalen.\n"
        f"Vælg din adgangskode her (linket kan bruges én gang og udløber om {settings.invitation_valid_hours} timer):\n\n"
        f"{link}\n\n"
        "Har du ikke ventet denne mail, kan du se bort fra den.\n"
    )
    return send_mail(settings, to=email, subject="Din adgang til Aftaleportalen", body=body)
