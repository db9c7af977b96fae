"""Access around accounts that must not leak: invitations to a party, what a person's page shows
to whom, API tokens, and answers that take as long whatever exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from portal.access import SYSTEM
from portal.extensions import db
from portal.models import ApiToken, AuditEvent, MailLog, Membership, Role, User
from portal.services import audit as audit_service
from portal.services import auth as auth_service
from portal.services import users as user_service
from portal.uow import unit_of_work
from tests.factories import PASSWORD, DemoData, PartyFactory, log_in, member

ORG1_ADMIN = "administrator@fjordby-boligselskab.dk"
COMPANY_EDITOR = "sagsbehandler@fjordby-boligadministration.dk"  # editor for two other organisations
MUNI_ADMIN = "administrator@fjordby.dk"


def _invite(client: FlaskClient, party_id: int, email: str, name: str = "Skrevet Navn", role: str = "reader"):  # type: ignore[no-untyped-def]
    return client.post(f"/parter/{party_id}/brugere/ny", data={"email": email, "name": name, "role": role})


def _accept_on_front_page(client: FlaskClient) -> None:
    front = client.get("/").get_data(as_text=True)
    found = re.search(r'action="(/invitationer/\d+/accepter)"', front)
    assert found, "the invitation is not on the front page"
    assert client.post(found.group(1)).status_code == 302


# --- 1. adding an existing account is an invitation the person accepts ---------------------------

def test_admin_adding_an_existing_account_gets_no_membership_until_the_person_accepts(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    org1 = demo.organisations[0]
    company = demo.user(COMPANY_EDITOR)
    log_in(client, ORG1_ADMIN, demo.password)
    assert _invite(client, org1.id, COMPANY_EDITOR, name="Sara fra firmaet").status_code == 302

    db.session.refresh(company)
    assert org1.id not in {m.party_id for m in company.memberships}
    assert client.get(f"/brugere/{company.id}").status_code == 404  # nothing about the person yet
    members = client.get(f"/parter/{org1.id}/brugere").get_data(as_text=True)
    assert "Sara fra firmaet" in members and company.name not in members  # only what the admin typed

    invited = app.test_client()
    log_in(invited, COMPANY_EDITOR, demo.password)
    assert f"{org1.name} har inviteret dig som Læser" in invited.get("/profil").get_data(as_text=True)
    _accept_on_front_page(invited)
    membership = db.session.scalar(select(Membership).where(Membership.user_id == company.id,
                                                            Membership.party_id == org1.id))
    assert membership is not None and membership.role is Role.READER
    accepted = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "membership.create",
                                                          AuditEvent.party_id == org1.id,
                                                          AuditEvent.actor_id == company.id))
    assert accepted is not None
    assert client.get(f"/brugere/{company.id}").status_code == 200
    assert "Sara fra firmaet" not in client.get(f"/parter/{org1.id}/brugere").get_data(as_text=True)


def test_a_declined_invitation_gives_no_membership_and_is_audited(app: Flask, client: FlaskClient,
                                                                   demo: DemoData) -> None:
    org1 = demo.organisations[0]
    log_in(client, ORG1_ADMIN, demo.password)
    _invite(client, org1.id, COMPANY_EDITOR)
    invited = app.test_client()
    log_in(invited, COMPANY_EDITOR, demo.password)
    found = re.search(r'action="(/invitationer/\d+/afvis)"', invited.get("/").get_data(as_text=True))
    assert found and invited.post(found.group(1)).status_code == 302
    assert "har inviteret dig" not in invited.get("/").get_data(as_text=True)
    assert invited.post(found.group(1).replace("afvis", "accepter")).status_code == 404  # answered once
    assert org1.id not in {m.party_id for m in demo.user(COMPANY_EDITOR).memberships}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "membership_invitation.decline",
                                                      AuditEvent.party_id == org1.id)) is not None


def test_a_withdrawn_invitation_can_no_longer_be_accepted(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    org1 = demo.organisations[0]
    log_in(client, ORG1_ADMIN, demo.password)
    _invite(client, org1.id, COMPANY_EDITOR)
    invited = app.test_client()
    log_in(invited, COMPANY_EDITOR, demo.password)
    accept = re.search(r'action="(/invitationer/\d+/accepter)"', invited.get("/").get_data(as_text=True)).group(1)
    withdraw = re.search(r'action="(/invitationer/\d+/traek-tilbage)"',
                         client.get(f"/parter/{org1.id}/brugere").get_data(as_text=True)).group(1)
    assert client.post(withdraw).status_code == 302
    assert "har inviteret dig" not in invited.get("/").get_data(as_text=True)
    assert invited.post(accept).status_code == 404
    assert org1.id not in {m.party_id for m in demo.user(COMPANY_EDITOR).memberships}


def test_an_invited_account_without_a_password_gets_a_link_to_choose_one(app: Flask, client: FlaskClient,
                                                                        demo: DemoData) -> None:
    org1, org2 = demo.organisations[0], demo.organisations[1]
    with unit_of_work():
        user_service.invite_user(SYSTEM, org2, email="uden-kode@example.dk", name="Uden Kode", role="reader")
    log_in(client, ORG1_ADMIN, demo.password)
    assert _invite(client, org1.id, "uden-kode@example.dk").status_code == 302
    mail = db.session.scalars(select(MailLog).where(MailLog.recipient == "uden-kode@example.dk")).all()[-1]
    link = re.search(r"http://localhost(/invitation/\S+)", mail.body).group(1)
    invited = app.test_client()
    assert invited.post(link, data={"password": "en-lang-og-god-sætning",
                                    "password_repeat": "en-lang-og-god-sætning"}).status_code == 302
    log_in(invited, "uden-kode@example.dk", "en-lang-og-god-sætning")
    _accept_on_front_page(invited)
    assert {org1.id, org2.id} <= {m.party_id for m in demo.user("uden-kode@example.dk").memberships}


def test_invite_form_answers_the_same_for_known_and_unknown_addresses(client: FlaskClient, demo: DemoData) -> None:
    org1 = demo.organisations[0]
    log_in(client, ORG1_ADMIN, demo.password)
    answers = {}
    for email in (COMPANY_EDITOR, "ingen-konto@example.dk"):
        response = _invite(client, org1.id, email, name="Samme Navn")
        page = client.get(response.headers.get("Location", "/")).get_data(as_text=True)
        flash = re.search(r'<p class="alert-text">([^<]*)</p>', page)
        row = re.search(rf"<tr>\s*<th scope=\"row\">Samme Navn</th><td>{re.escape(email)}</td>(.*?)</tr>", page, re.S)
        assert flash and row, page[:2000]
        answers[email] = (response.status_code, response.headers.get("Location"), flash.group(1).replace(email, "EMAIL"),
                          re.sub(r'/invitationer/\d+/|name="csrf_token" value="[^"]*"', "X", row.group(1).replace(email, "EMAIL")))
    assert answers[COMPANY_EDITOR] == answers["ingen-konto@example.dk"]
    assert answers[COMPANY_EDITOR][0] == 302
    # The party's history tells the two apart no more than the page does.
    history = client.get(f"/parter/{org1.id}/historik").get_data(as_text=True)
    assert f"<td>{ORG1_ADMIN}</td><td>user.create</td>" not in history
    assert history.count(f"<td>{ORG1_ADMIN}</td><td>membership_invitation.create</td>") == 2
    # A name is asked for whatever the address, so a missing one tells nothing either.
    refusals = [_invite(client, org1.id, email, name="") for email in ("sara@x.dk", "admin@fjordby-boligforening.dk")]
    assert [r.status_code for r in refusals] == [400, 400]


def test_a_persons_page_shows_another_partys_memberships_only_to_its_managers(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    org1 = demo.organisations[0]
    company = demo.user(COMPANY_EDITOR)
    other_parties = [m.party for m in company.memberships]
    log_in(client, ORG1_ADMIN, demo.password)
    _invite(client, org1.id, COMPANY_EDITOR)
    invited = app.test_client()
    log_in(invited, COMPANY_EDITOR, demo.password)
    _accept_on_front_page(invited)

    page = client.get(f"/brugere/{company.id}").get_data(as_text=True)
    assert org1.name in page
    for party in other_parties:
        assert party.name not in page
    # Its history keeps to org1 too: the other organisations' role changes are theirs.
    db.session.expire_all()
    events = user_service.user_history(demo.user(ORG1_ADMIN), demo.user(COMPANY_EDITOR))
    assert events and {e.party_id for e in events} == {org1.id}

    municipality_admin = app.test_client()
    log_in(municipality_admin, MUNI_ADMIN, demo.password)
    everything = municipality_admin.get(f"/brugere/{company.id}").get_data(as_text=True)
    assert all(p.name in everything for p in [org1, *other_parties])


def test_the_operator_still_adds_an_existing_account_at_once(app: Flask) -> None:
    party, other = PartyFactory(), PartyFactory()
    user = member(other, Role.EDITOR)
    with unit_of_work():
        result = user_service.invite_user(SYSTEM, party, email=user.email, name="", role="reader")
    assert result.membership is not None and result.pending is None


# --- 2. API tokens: listed, revoked, expiring, and gone with the password or the account -----------

def _api(client: FlaskClient, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_tokens_are_listed_on_the_profile_with_when_made_and_last_used_and_can_be_revoked(
        app: Flask, client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.EDITOR)
    log_in(client, user.email)
    created = client.post("/profil/api-noegler", data={"label": "Sagssystem", "expires_days": "30"})
    assert created.status_code == 200
    token = re.search(r'id="new-api-token">([^<]+)<', created.get_data(as_text=True)).group(1)
    assert _api(app.test_client(), token) == 200

    page = client.get("/profil").get_data(as_text=True)
    assert token not in page  # shown once
    today = datetime.now(UTC)
    table = page[page.index('id="api-tokens"'):]
    assert token[:11] in table and "Sagssystem" in table
    assert table.count(today.strftime("%d-%m-%Y")) == 2  # created and last used today
    assert (today + timedelta(days=30)).strftime("%d-%m-%Y") in table

    revoke = re.search(r'action="(/profil/api-noegler/\d+/tilbagekald)"', page).group(1)
    assert client.post(revoke).status_code == 302
    assert _api(app.test_client(), token) == 401
    assert "Sagssystem" not in client.get("/profil").get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "token.revoke")) is not None


def test_deactivation_revokes_tokens_and_reactivation_does_not_bring_them_back(app: Flask) -> None:
    user = member(PartyFactory(), Role.EDITOR)
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, user)
    with unit_of_work():
        user_service.set_user_active(SYSTEM, user.id, False)
    with unit_of_work():
        user_service.set_user_active(SYSTEM, user.id, True)
    assert _api(app.test_client(), token) == 401


def test_changing_the_password_revokes_api_tokens(app: Flask, client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.EDITOR)
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, user)
    log_in(client, user.email)
    response = client.post("/profil/adgangskode", data={"current_password": PASSWORD, "new_password": "helt-ny-og-lang-kode",
                                                       "new_password_repeat": "helt-ny-og-lang-kode"})
    assert response.status_code == 302
    assert _api(app.test_client(), token) == 401


def test_expired_and_revoked_tokens_answer_401_like_an_unknown_one(app: Flask) -> None:
    user = member(PartyFactory(), Role.EDITOR)
    with unit_of_work():
        expiring = auth_service.create_api_token(SYSTEM, user, expires_days=1)
        revoked = auth_service.create_api_token(SYSTEM, user)
    assert _api(app.test_client(), expiring) == 200
    with unit_of_work() as session:
        session.execute(update(ApiToken).where(ApiToken.prefix == expiring[:11])
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        auth_service.revoke_api_token(SYSTEM, db.session.scalar(select(ApiToken.id).where(ApiToken.prefix == revoked[:11])))
    client = app.test_client()
    answers = [client.get("/api/v1/me", headers={"Authorization": f"Bearer {t}"})
               for t in (expiring, revoked, "ap_" + "x" * 43)]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert answers[0].json == answers[1].json == answers[2].json


def test_a_token_expiry_outside_the_allowed_days_is_refused_on_the_profile(client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.EDITOR)
    log_in(client, user.email)
    for days in ("0", "abc", "99999"):
        response = client.post("/profil/api-noegler", data={"label": "x", "expires_days": days})
        assert response.status_code == 400 and 'id="field-expires_days-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id)) is None


def test_nobody_revokes_another_persons_token(app: Flask, client: FlaskClient) -> None:
    party = PartyFactory()
    owner, admin = member(party, Role.EDITOR), member(party, Role.ADMIN)
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, owner)
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == owner.id))
    log_in(client, admin.email)
    assert client.post(f"/profil/api-noegler/{token_id}/tilbagekald").status_code == 404
    assert _api(app.test_client(), token) == 200


# --- 3. timing: refusals and log-ins answer as fast whatever exists ------------------------------

@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app runs, in order."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def _refused_and_missing(demo: DemoData) -> tuple[str, str]:
    return f"/parter/{demo.organisations[1].id}", "/parter/999999"


def test_a_refusal_is_audited_after_the_response_is_sent(app: Flask, client: FlaskClient, demo: DemoData,
                                                        statements: list[str]) -> None:
    """A refused read of an existing object and a missing one do the same database work until
    the answer is out, so their timing cannot tell them apart. (Compared by the statements run,
    not by the clock: medians of timed requests on a shared machine vary by more than the
    difference a commit made.)"""
    log_in(client, "redaktoer@fjordby-boligselskab.dk", demo.password)
    refused_url, missing_url = _refused_and_missing(demo)
    done = {}
    for name, url in (("refused", refused_url), ("missing", missing_url)):
        statements.clear()
        response = client.get(url, buffered=False)
        assert response.status_code == 404
        done[name] = [s.split()[0].upper() for s in statements]
        response.close()  # what the server does once the answer is sent
        if name == "refused":
            # Only now is the refusal written down.
            assert any(s.startswith("INSERT INTO audit_events") for s in statements)
    # Until the answer was out, both did the same work: no write, the same reads.
    assert done["refused"] == done["missing"]
    assert "INSERT" not in done["refused"]
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == audit_service.ACCESS_DENIED)).all()
    assert [(e.object_type, e.object_id) for e in denied] == [("party", str(demo.organisations[1].id))]


class _CountingHasher(PasswordHasher):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.verified: list[str] = []

    def verify(self, hash, password):  # type: ignore[no-untyped-def, override]
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


def test_log_in_of_unknown_or_deactivated_accounts_hashes_like_a_wrong_password(
        app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    party = PartyFactory()
    real, gone = member(party, Role.READER), member(party, Role.READER)
    with unit_of_work():
        user_service.set_user_active(SYSTEM, gone.id, False)
        invited = user_service.invite_user(SYSTEM, party, email="uden-kode@example.dk", name="Uden Kode",
                                           role="reader").user
    hasher = _CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)  # as the accounts were made
    monkeypatch.setattr(auth_service, "hasher", hasher)
    expected = extract_parameters(hasher.hash("x"))
    for email in (real.email, "findes-ikke@example.dk", gone.email, invited.email):
        hasher.verified.clear()
        assert client.post("/log-ind", data={"email": email, "password": "forkert-forkert-forkert"}).status_code == 401
        assert len(hasher.verified) == 1, email
        assert extract_parameters(hasher.verified[0]) == expected, email
    assert db.session.get(User, gone.id).active is False
