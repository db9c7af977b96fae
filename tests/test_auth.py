"""Logging in and out, sessions, throttling, invitations and cookies, as a user meets them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from portal.access import SYSTEM
from portal.extensions import db
from portal.models import Invitation, MailLog, Role, UserSession
from portal.services import users as user_service
from portal.uow import unit_of_work
from tests.factories import PASSWORD, PartyFactory, log_in, member


def test_log_in_with_right_password_reaches_front_page(client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    response = client.post("/log-ind", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_gets_a_message_and_no_session(client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    response = client.post("/log-ind", data={"email": user.email, "password": "forkert-forkert-forkert"})
    assert response.status_code == 401
    assert "E-mailadressen eller adgangskoden er forkert" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_redirects_only_to_same_site_paths(client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    evil = client.post("/log-ind?next=https://evil.example/", data={"email": user.email, "password": PASSWORD})
    assert evil.headers["Location"] == "/"
    client.post("/log-ud")
    good = client.post("/log-ind?next=/profil", data={"email": user.email, "password": PASSWORD})
    assert good.headers["Location"] == "/profil"


def test_account_is_throttled_after_repeated_failures_even_with_right_password(app: Flask, client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    limit = app.config["PORTAL"].login_max_failures_per_account
    for _ in range(limit):
        assert client.post("/log-ind", data={"email": user.email, "password": "gaet-gaet-gaet-gaet"}).status_code == 401
    blocked = client.post("/log-ind", data={"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert "For mange mislykkede forsøg" in blocked.get_data(as_text=True)


def test_address_is_throttled_across_accounts(app: Flask, client: FlaskClient) -> None:
    app.config["PORTAL"].login_max_failures_per_address = 4
    party = PartyFactory()
    victims = [member(party, Role.READER) for _ in range(4)]
    for victim in victims:
        client.post("/log-ind", data={"email": victim.email, "password": "gaet-gaet-gaet-gaet"})
    fresh = member(party, Role.READER)
    assert client.post("/log-ind", data={"email": fresh.email, "password": PASSWORD}).status_code == 429
    other_address = app.test_client()
    response = other_address.post("/log-ind", data={"email": fresh.email, "password": PASSWORD},
                                  environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 302


def test_login_rotates_the_session_cookie(client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    client.get("/log-ind")
    before = client.get_cookie("aftaleportalen_session")
    log_in(client, user.email)
    after = client.get_cookie("aftaleportalen_session")
    assert after is not None and (before is None or before.value != after.value)


def test_logout_ends_the_session_on_the_server(app: Flask, client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    log_in(client, user.email)
    stolen = client.get_cookie("aftaleportalen_session").value
    client.post("/log-ud")
    replay = app.test_client()
    replay.set_cookie("aftaleportalen_session", stolen)
    assert replay.get("/").status_code == 302
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == user.id)).ended_at is not None


def test_deactivating_a_user_ends_their_open_sessions(app: Flask, client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.EDITOR)
    log_in(client, user.email)
    assert client.get("/profil").status_code == 200
    with unit_of_work():
        user_service.set_user_active(SYSTEM, user.id, False)
    assert client.get("/profil").status_code == 302
    assert client.post("/log-ind", data={"email": user.email, "password": PASSWORD}).status_code == 401


def test_idle_session_expires(app: Flask, client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    log_in(client, user.email)
    long_ago = datetime.now(UTC) - timedelta(minutes=app.config["PORTAL"].session_idle_minutes + 1)
    with unit_of_work() as session:
        session.execute(update(UserSession).values(last_seen_at=long_ago))
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_samesite_and_secure_outside_debug(app_config: dict[str, object]) -> None:
    from portal import create_app

    app = create_app({**app_config, "session_cookie_secure": True})
    with app.app_context():
        user = member(PartyFactory(), Role.READER)
    response = app.test_client().post("/log-ind", data={"email": user.email, "password": PASSWORD},
                                      base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_forms_are_refused_without_csrf_token(app_config: dict[str, object]) -> None:
    from portal import create_app

    app = create_app({**app_config, "csrf": True})
    with app.app_context():
        user = member(PartyFactory(), Role.READER)
    response = app.test_client().post("/log-ind", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Formularen var udløbet" in response.get_data(as_text=True)


def _invite(client: FlaskClient, party_id: int, email: str) -> str:
    """The admin invites; the link to set a password reaches the new person by e-mail only."""
    response = client.post(f"/parter/{party_id}/brugere/ny", data={"email": email, "name": "Nina Ny", "role": "editor"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    mail = db.session.scalars(select(MailLog).where(MailLog.recipient == email).order_by(MailLog.id.desc())).first()
    assert mail is not None
    match = re.search(r"http://localhost(/invitation/\S+)", mail.body)
    assert match
    return match.group(1)


def test_invitation_flow_sets_password_once(app: Flask, client: FlaskClient) -> None:
    party = PartyFactory()
    admin = member(party, Role.ADMIN)
    log_in(client, admin.email)
    link = _invite(client, party.id, "nina@example.dk")

    invited = app.test_client()
    assert "Nina Ny" in invited.get(link).get_data(as_text=True)
    short = invited.post(link, data={"password": "kort", "password_repeat": "kort"})
    assert short.status_code == 400 and "mindst 12 tegn" in short.get_data(as_text=True)
    done = invited.post(link, data={"password": "en-lang-og-god-sætning", "password_repeat": "en-lang-og-god-sætning"})
    assert done.status_code == 302
    assert invited.get(link).status_code == 404  # one-time
    log_in(invited, "nina@example.dk", "en-lang-og-god-sætning")
    front = invited.get("/").get_data(as_text=True)
    assert f"{party.name} har inviteret dig som Redaktør" in front
    invitation = re.search(r'action="(/invitationer/\d+/accepter)"', front)
    assert invitation and invited.post(invitation.group(1)).status_code == 302
    assert party.name in invited.get("/").get_data(as_text=True)
    assert invited.get(f"/parter/{party.id}/dokumenter").status_code == 200


def test_expired_invitation_is_refused(app: Flask, client: FlaskClient) -> None:
    party = PartyFactory()
    admin = member(party, Role.ADMIN)
    log_in(client, admin.email)
    link = _invite(client, party.id, "sen@example.dk")
    with unit_of_work() as session:
        session.execute(update(Invitation).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    response = app.test_client().get(link)
    assert response.status_code == 404 and "udløbet" in response.get_data(as_text=True)


def test_changing_password_logs_out_other_devices(app: Flask, client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    other_device = app.test_client()
    log_in(client, user.email)
    log_in(other_device, user.email)
    response = client.post("/profil/adgangskode", data={"current_password": PASSWORD, "new_password": "helt-ny-og-lang-kode",
                                                       "new_password_repeat": "helt-ny-og-lang-kode"})
    assert response.status_code == 302
    assert client.get("/profil").status_code == 200
    assert other_device.get("/profil").status_code == 302
