"""Every registered route × every kind of user: who gets in, who is sent to log in, who is refused.

A new route without an entry here fails `test_every_route_is_in_the_matrix`, so no
route reaches users without its permissions being decided and tested.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.access import SYSTEM, load
from portal.extensions import db
from portal.models import Agreement, ApiToken, Job, Role
from portal.services import agreements as agreement_service
from portal.services import auth as auth_service
from portal.services import dialogue as dialogue_service
from portal.services import documents as document_service
from portal.services import obligations as obligation_service
from portal.services import users as user_service
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf
from tests.factories import PASSWORD, DemoData, log_in, member

OK, LOGIN, FORBIDDEN, NOT_FOUND, TO_LOGIN_PAGE = "ok", "login", "403", "404", "to-login-page"

MUNICIPALITY = ("muni_admin", "muni_editor", "muni_signatory", "muni_reader")
ORGANISATION = ("org_admin", "org_editor", "org_signatory", "org_reader")
PRINCIPALS = ("anonymous", "deactivated", *MUNICIPALITY, *ORGANISATION, "company")
EMAILS = {
    "muni_admin": "administrator@fjordby.dk", "muni_editor": "redaktoer@fjordby.dk",
    "muni_signatory": "underskriver@fjordby.dk", "muni_reader": "laeser@fjordby.dk",
    "org_admin": "administrator@fjordby-boligselskab.dk", "org_editor": "redaktoer@fjordby-boligselskab.dk",
    "org_signatory": "underskriver@fjordby-boligselskab.dk", "org_reader": "laeser@fjordby-boligselskab.dk",
    "company": "forretningsfoerer@fjordby-boligadministration.dk",
}


@dataclass
class Ctx:
    """What URLs are built from: the demo, with org1 the org_* users' own organisation."""

    demo: DemoData

    @property
    def org1(self):  # type: ignore[no-untyped-def]
        return self.demo.organisations[0]

    def fresh_org1_user(self):  # type: ignore[no-untyped-def]
        return member(self.org1, Role.READER)

    def fresh_org1_membership_id(self) -> int:
        membership = self.fresh_org1_user().memberships[0]
        # A request may delete it; SQLite can then hand its id to the next new row, which must
        # not meet this stale object in the test's own session.
        db.session.expunge(membership)
        return membership.id

    def document(self, *, kind: str = "referat", published: bool = False, deleted: bool = False) -> int:
        """A new dialogue document of org1 (each call a fresh one, so state changes never leak between users)."""
        with unit_of_work():
            document = document_service.upload_document(
                SYSTEM, self.org1.id, {"kind": kind, "year": "2025", "visibility": "dialogue"},
                io.BytesIO(make_pdf("Matrix")), "matrix.pdf", max_size=10**7)
            if published:
                document_service.publish_document(SYSTEM, document.id)
            if deleted:
                document_service.delete_document(SYSTEM, document.id)
        return document.id

    def agreement(self) -> int:
        """A new individual agreement between the municipality and org1."""
        with unit_of_work():
            return agreement_service.create_agreement(SYSTEM, {
                "title": "Matrixaftale", "type": "individuel", "organisations": [self.org1.id]}).id

    def invited_agreement(self) -> int:
        """A new agreement the municipality's editor started, naming org1, which has yet to accept."""
        with unit_of_work():
            return agreement_service.create_agreement(self.demo.user("redaktoer@fjordby.dk"), {
                "title": "Matrixinvitation", "type": "individuel", "organisations": [self.org1.id]}).id

    def comment(self, *, suggestion: str | None = None) -> int:
        """A fresh comment (or suggestion) by org1's editor on a new agreement's first section."""
        agreement_id = self.agreement()
        agreement = load(SYSTEM, Agreement, agreement_id, "agreement:read")
        section = agreement_service.get_revision(agreement).content["order"][0]
        editor = self.demo.user("redaktoer@fjordby-boligselskab.dk")
        with unit_of_work():
            return agreement_service.add_comment(editor, agreement_id, section, "Matrix", suggestion=suggestion).id

    def dialogue(self) -> int:
        """A new dialogue of org1, each in a styringsår of its own."""
        with unit_of_work():
            return dialogue_service.open_dialogue(SYSTEM, self.org1.id, self.fresh_year()).id

    def occurrence(self) -> int:
        """The open occurrence of a new meeting agreement: org1 responsible, the municipality verifies."""
        dialogue_id = self.dialogue()
        with unit_of_work():
            dialogue_service.plan_meeting(SYSTEM, dialogue_id, {"starts_at": "2030-10-01T10:00"})
            obligation = dialogue_service.add_meeting_agreement(SYSTEM, dialogue_id, {
                "title": "Matrix", "responsible_party": self.org1.id, "first_due": "2030-12-01"})
        return obligation.occurrences[0].id

    def fresh_year(self) -> int:
        self._years = getattr(self, "_years", 2040) + 1
        return self._years

    def calendar_token(self) -> str:
        user = member(self.org1, Role.EDITOR)
        with unit_of_work():
            return obligation_service.create_calendar_feed(SYSTEM, user)

    def job_id(self) -> int:
        document_id = self.document()
        return db.session.scalar(select(Job.id).where(Job.object_id == document_id))

    def upload_form(self) -> dict[str, object]:
        return {"organisation": self.org1.cvr, "kind": "referat", "year": "2025", "visibility": "dialogue",
                "file": (io.BytesIO(make_pdf("Matrix")), "matrix.pdf"),
                "files": (io.BytesIO(make_pdf("Matrix")), "matrix.pdf")}

    def pending_invitation(self) -> int:
        """A fresh invitation by org1's admin of an account of another organisation, waiting for its answer."""
        invited = member(self.demo.organisations[1], Role.READER)
        admin = self.demo.user("administrator@fjordby-boligselskab.dk")
        with unit_of_work():
            result = user_service.invite_user(admin, self.org1, email=invited.email, name="Inviteret", role="reader")
        assert result.pending is not None
        return result.pending.id

    def someone_elses_token(self) -> int:
        with unit_of_work():
            auth_service.create_api_token(SYSTEM, self.fresh_org1_user())
        return db.session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()))

    def invitation_token(self) -> str:
        with unit_of_work():
            result = user_service.invite_user(SYSTEM, self.org1, email=f"ny-{uuid.uuid4().hex[:12]}@example.dk",
                                              name="Ny Bruger", role="reader")
        assert result.invitation_token
        return result.invitation_token


@dataclass
class Case:
    method: str
    url: Callable[[Ctx], str]
    expect: dict[str, str]
    default: str = OK
    api: bool = False
    data: dict[str, object] | Callable[[Ctx], dict[str, object]] = field(default_factory=dict)
    json: dict[str, object] | Callable[[Ctx], dict[str, object]] | None = None

    def expected(self, principal: str) -> str:
        if principal in ("anonymous", "deactivated") and principal not in self.expect:
            return LOGIN
        return self.expect.get(principal, self.default)


def only(allowed: tuple[str, ...], denied: str, **others: str) -> dict[str, str]:
    """Expectations where `allowed` get in and every other logged-in user gets `denied`."""
    result = {p: (OK if p in allowed else denied) for p in (*MUNICIPALITY, *ORGANISATION, "company")}
    result.update(others)
    return result


EVERYONE_OK = {p: OK for p in PRINCIPALS}
MUNI_OK_ORG1_OK = only((*MUNICIPALITY, *ORGANISATION), NOT_FOUND)
ADMINS_OF_ORG1 = only(("muni_admin", "org_admin"), FORBIDDEN, company=NOT_FOUND)
EDITORS_OF_ORG1 = only(("muni_admin", "org_admin", "org_editor", "org_signatory"), FORBIDDEN, company=NOT_FOUND)
ORG1_USER_MANAGERS = only(("muni_admin", "org_admin"), NOT_FOUND)
ALL_LOGGED_IN_404 = only((), NOT_FOUND)
AGREEMENT_PARTIES = only((*MUNICIPALITY, *ORGANISATION), NOT_FOUND)
AGREEMENT_EDITORS = only(("muni_admin", "muni_editor", "muni_signatory", "org_admin", "org_editor", "org_signatory"),
                         FORBIDDEN, company=NOT_FOUND)
AGREEMENT_SIGNATORIES = only(("muni_signatory", "org_signatory"), FORBIDDEN, company=NOT_FOUND)
AGREEMENT_CREATORS = only(("muni_admin", "muni_editor", "muni_signatory", "org_admin", "org_editor", "org_signatory",
                           "company"), FORBIDDEN)
EVERYONE_404 = {p: NOT_FOUND for p in PRINCIPALS}
ORG1_OR_MUNI_WRITERS = only(("muni_admin", "muni_editor", "muni_signatory", "org_admin", "org_editor", "org_signatory"),
                            FORBIDDEN, company=NOT_FOUND)
MUNI_WRITERS = only(("muni_admin", "muni_editor", "muni_signatory"), FORBIDDEN, company=NOT_FOUND)
RESTORERS = only(("muni_admin", "org_admin"), NOT_FOUND)
ORG1_WRITERS = only(("org_admin", "org_editor", "org_signatory"), FORBIDDEN, company=NOT_FOUND)
MUNICIPALITY_ONLY = only(MUNICIPALITY, FORBIDDEN)
MUNI_WRITERS_ONLY = only(("muni_admin", "muni_editor", "muni_signatory"), FORBIDDEN)

MATRIX: dict[str, list[Case]] = {
    "auth.login": [Case("GET", lambda c: "/log-ind", EVERYONE_OK)],
    "auth.logout": [Case("POST", lambda c: "/log-ud", {p: TO_LOGIN_PAGE for p in PRINCIPALS})],
    "auth.accept_invitation": [
        Case("GET", lambda c: f"/invitation/{c.invitation_token()}", EVERYONE_OK),
        Case("GET", lambda c: "/invitation/ikke-et-token", {p: NOT_FOUND for p in PRINCIPALS}),
    ],
    "main.index": [Case("GET", lambda c: "/", {})],
    "main.set_language": [Case("GET", lambda c: "/sprog/en", EVERYONE_OK)],
    "health.healthz": [Case("GET", lambda c: "/healthz", EVERYONE_OK)],
    "vendor.asset": [Case("GET", lambda c: "/vendor/dkfds/css/dkfds.min.css", EVERYONE_OK),
                     Case("GET", lambda c: "/vendor/dkfds/../../package.json", {p: NOT_FOUND for p in PRINCIPALS})],
    "static": [Case("GET", lambda c: "/static/portal.css", EVERYONE_OK)],
    "api.me": [Case("GET", lambda c: "/api/v1/me", {}, api=True)],
    # A token that no longer works is refused even where no token is needed, so clients notice.
    "api.openapi": [Case("GET", lambda c: "/api/v1/openapi.json", {**EVERYONE_OK, "deactivated": LOGIN}, api=True)],
    "parties.index": [Case("GET", lambda c: "/organisationer", only(MUNICIPALITY, FORBIDDEN))],
    "parties.create": [Case("GET", lambda c: "/organisationer/ny", only(("muni_admin",), FORBIDDEN)),
                       Case("POST", lambda c: "/organisationer/ny", only(("muni_admin",), FORBIDDEN))],
    "parties.show": [Case("GET", lambda c: f"/parter/{c.org1.id}", MUNI_OK_ORG1_OK),
                     Case("GET", lambda c: "/parter/999999", ALL_LOGGED_IN_404),
                     Case("GET", lambda c: f"/parter/{c.demo.municipality.id}", {})],
    "parties.edit": [Case("GET", lambda c: f"/parter/{c.org1.id}/rediger", ADMINS_OF_ORG1),
                     Case("POST", lambda c: f"/parter/{c.org1.id}/rediger", ADMINS_OF_ORG1),
                     Case("GET", lambda c: "/parter/999999/rediger", ALL_LOGGED_IN_404)],
    "parties.create_department": [
        Case("GET", lambda c: f"/parter/{c.org1.id}/afdelinger/ny", EDITORS_OF_ORG1),
        Case("POST", lambda c: f"/parter/{c.org1.id}/afdelinger/ny", EDITORS_OF_ORG1)],
    "parties.edit_department": [
        Case("GET", lambda c: f"/afdelinger/{c.org1.departments[0].id}/rediger", EDITORS_OF_ORG1),
        Case("POST", lambda c: f"/afdelinger/{c.org1.departments[0].id}/rediger", EDITORS_OF_ORG1),
        Case("GET", lambda c: "/afdelinger/999999/rediger", ALL_LOGGED_IN_404)],
    "parties.members": [Case("GET", lambda c: f"/parter/{c.org1.id}/brugere", MUNI_OK_ORG1_OK)],
    "parties.invite": [Case("GET", lambda c: f"/parter/{c.org1.id}/brugere/ny", ADMINS_OF_ORG1),
                       Case("POST", lambda c: f"/parter/{c.org1.id}/brugere/ny", ADMINS_OF_ORG1)],
    "parties.change_role": [Case("POST", lambda c: f"/medlemskaber/{c.fresh_org1_membership_id()}/rolle",
                                 ADMINS_OF_ORG1, data={"role": "editor"})],
    "parties.remove_membership": [Case("POST", lambda c: f"/medlemskaber/{c.fresh_org1_membership_id()}/fjern",
                                       ADMINS_OF_ORG1)],
    "parties.history": [Case("GET", lambda c: f"/parter/{c.org1.id}/historik", ADMINS_OF_ORG1)],
    "documents.index": [Case("GET", lambda c: f"/parter/{c.org1.id}/dokumenter", MUNI_OK_ORG1_OK),
                        Case("GET", lambda c: "/parter/999999/dokumenter", ALL_LOGGED_IN_404)],
    "documents.upload": [Case("GET", lambda c: f"/parter/{c.org1.id}/dokumenter/ny", ORG1_OR_MUNI_WRITERS),
                         Case("POST", lambda c: f"/parter/{c.org1.id}/dokumenter/ny", ORG1_OR_MUNI_WRITERS,
                              data=lambda c: c.upload_form())],
    "documents.show": [Case("GET", lambda c: f"/dokumenter/{c.document()}", MUNI_OK_ORG1_OK),
                       Case("GET", lambda c: "/dokumenter/999999", ALL_LOGGED_IN_404),
                       Case("GET", lambda c: f"/dokumenter/{c.document(deleted=True)}", RESTORERS)],
    "documents.edit": [Case("GET", lambda c: f"/dokumenter/{c.document()}/rediger", ORG1_OR_MUNI_WRITERS),
                       Case("POST", lambda c: f"/dokumenter/{c.document()}/rediger", ORG1_OR_MUNI_WRITERS),
                       # Published minutes are frozen: only the municipality changes them.
                       Case("GET", lambda c: f"/dokumenter/{c.document(published=True)}/rediger",
                            only(("muni_admin", "muni_editor", "muni_signatory"), FORBIDDEN))],
    "documents.add_version": [Case("POST", lambda c: f"/dokumenter/{c.document()}/versioner", ORG1_OR_MUNI_WRITERS,
                                   data=lambda c: c.upload_form()),
                              Case("POST", lambda c: f"/dokumenter/{c.document(published=True)}/versioner",
                                   only(("muni_admin", "muni_editor", "muni_signatory"), FORBIDDEN),
                                   data=lambda c: c.upload_form())],
    "documents.download": [Case("GET", lambda c: f"/dokumenter/{c.document()}/fil", MUNI_OK_ORG1_OK)],
    "documents.download_version": [Case("GET", lambda c: f"/dokumenter/{c.document()}/versioner/1/fil", MUNI_OK_ORG1_OK),
                                   Case("GET", lambda c: f"/dokumenter/{c.document()}/versioner/7/fil", ALL_LOGGED_IN_404)],
    "documents.delete": [Case("POST", lambda c: f"/dokumenter/{c.document()}/slet", ORG1_OR_MUNI_WRITERS)],
    "documents.restore": [Case("POST", lambda c: f"/dokumenter/{c.document(deleted=True)}/gendan", RESTORERS)],
    "documents.publish": [Case("POST", lambda c: f"/dokumenter/{c.document()}/offentliggoer", MUNI_WRITERS),
                          Case("POST", lambda c: f"/dokumenter/{c.document(kind='analyse')}/offentliggoer",
                               only((), FORBIDDEN, company=NOT_FOUND))],
    # Published minutes are readable by anyone, so the refusal is 403 for every logged-in user.
    "documents.unpublish": [Case("POST", lambda c: f"/dokumenter/{c.document(published=True)}/tilbagekald",
                                 only(("muni_admin", "muni_editor", "muni_signatory"), FORBIDDEN))],
    # Only the organisation asks for its published minutes to be withdrawn; the municipality withdraws them itself.
    "documents.request_unpublish": [Case("POST", lambda c: f"/dokumenter/{c.document(published=True)}/anmod-om-tilbagekald",
                                         only(("org_admin", "org_editor", "org_signatory"), FORBIDDEN),
                                         data={"reason": "Navnet på en beboer skal fjernes."})],
    "documents.trash": [Case("GET", lambda c: f"/parter/{c.org1.id}/papirkurv", ADMINS_OF_ORG1)],
    "public.minutes": [Case("GET", lambda c: "/offentlig/referater", EVERYONE_OK)],
    "public.minutes_file": [Case("GET", lambda c: f"/offentlig/referater/{c.document(published=True)}", EVERYONE_OK),
                            Case("GET", lambda c: f"/offentlig/referater/{c.document()}", EVERYONE_404),
                            Case("GET", lambda c: f"/offentlig/referater/{c.document(kind='analyse')}", EVERYONE_404)],
    "public.feed": [Case("GET", lambda c: "/offentlig/referater.atom", EVERYONE_OK)],
    "api.create_document": [Case("POST", lambda c: "/api/v1/documents", ORG1_OR_MUNI_WRITERS, api=True,
                                 data=lambda c: c.upload_form())],
    "api.get_document": [Case("GET", lambda c: f"/api/v1/documents/{c.document()}", MUNI_OK_ORG1_OK, api=True),
                         Case("GET", lambda c: "/api/v1/documents/999999", ALL_LOGGED_IN_404, api=True)],
    "api.document_file": [Case("GET", lambda c: f"/api/v1/documents/{c.document()}/file", MUNI_OK_ORG1_OK, api=True)],
    "documents.status": [Case("GET", lambda c: f"/dokumenter/{c.document()}/status", MUNI_OK_ORG1_OK)],
    "search.index": [Case("GET", lambda c: "/soeg?q=aftale", {})],
    "api.search": [Case("GET", lambda c: "/api/v1/search?q=aftale", {}, api=True)],
    "operations.jobs": [Case("GET", lambda c: "/drift/jobs", only(("muni_admin",), FORBIDDEN))],
    "operations.retry": [Case("POST", lambda c: f"/drift/jobs/{c.job_id()}/igen", only(("muni_admin",), FORBIDDEN))],
    "api.create_agreement": [Case("POST", lambda c: "/api/v1/agreements", AGREEMENT_EDITORS, api=True,
                                  json=lambda c: {"title": "Ny", "type": "individuel", "organisations": [c.org1.id]})],
    "api.get_agreement": [Case("GET", lambda c: f"/api/v1/agreements/{c.agreement()}", AGREEMENT_PARTIES, api=True),
                          Case("GET", lambda c: "/api/v1/agreements/999999", ALL_LOGGED_IN_404, api=True)],
    "api.patch_agreement": [Case("PATCH", lambda c: f"/api/v1/agreements/{c.agreement()}", AGREEMENT_EDITORS, api=True,
                                 json={"base_revision": 1, "sections": {}})],
    "api.add_agreement_section": [Case("POST", lambda c: f"/api/v1/agreements/{c.agreement()}/sections",
                                       AGREEMENT_EDITORS, api=True, json={"heading": "Nyt", "base_revision": 1})],
    "api.approve_agreement": [Case("POST", lambda c: f"/api/v1/agreements/{c.agreement()}/approvals",
                                   AGREEMENT_SIGNATORIES, api=True, json={"revision": 1})],
    "viewer.show": [Case("GET", lambda c: f"/dokumenter/{c.document()}/vis?side=1&q=matrix", MUNI_OK_ORG1_OK),
                    Case("GET", lambda c: "/dokumenter/999999/vis", ALL_LOGGED_IN_404),
                    Case("GET", lambda c: f"/dokumenter/{c.document()}/vis?version=7", ALL_LOGGED_IN_404),
                    Case("GET", lambda c: f"/dokumenter/{c.document(deleted=True)}/vis", RESTORERS)],
    "viewer.matches": [Case("GET", lambda c: f"/dokumenter/{c.document()}/fund?q=matrix", MUNI_OK_ORG1_OK),
                       Case("GET", lambda c: "/dokumenter/999999/fund?q=matrix", ALL_LOGGED_IN_404)],
    # The secret address is the key: calendar programs cannot log in.
    "calendar.feed": [Case("GET", lambda c: f"/kalender/{c.calendar_token()}.ics", EVERYONE_OK),
                      Case("GET", lambda c: "/kalender/ukendt.ics", EVERYONE_404)],
    "agreements.index": [Case("GET", lambda c: "/aftaler", {})],
    "agreements.create": [Case("GET", lambda c: "/aftaler/ny", AGREEMENT_CREATORS),
                          Case("POST", lambda c: "/aftaler/ny", AGREEMENT_CREATORS)],
    "agreements.show": [Case("GET", lambda c: f"/aftaler/{c.agreement()}", AGREEMENT_PARTIES),
                        Case("GET", lambda c: f"/aftaler/{c.invited_agreement()}", AGREEMENT_PARTIES),
                        Case("GET", lambda c: "/aftaler/999999", ALL_LOGGED_IN_404)],
    "agreements.history": [Case("GET", lambda c: f"/aftaler/{c.agreement()}/historik", AGREEMENT_PARTIES)],
    "agreements.compare": [Case("GET", lambda c: f"/aftaler/{c.agreement()}/sammenlign?fra=1&til=1", AGREEMENT_PARTIES)],
    "agreements.edit": [Case("GET", lambda c: f"/aftaler/{c.agreement()}/rediger", AGREEMENT_EDITORS),
                        Case("POST", lambda c: f"/aftaler/{c.agreement()}/rediger", AGREEMENT_EDITORS,
                             data={"base_revision": "1"})],
    "agreements.presence": [Case("POST", lambda c: f"/aftaler/{c.agreement()}/tilstede", AGREEMENT_EDITORS,
                                 data={"section_id": "s0"})],
    "agreements.restore": [Case("POST", lambda c: f"/aftaler/{c.agreement()}/revisioner/1/gendan", AGREEMENT_EDITORS)],
    "agreements.negotiate": [Case("POST", lambda c: f"/aftaler/{c.agreement()}/forhandling", AGREEMENT_EDITORS)],
    "agreements.add_section": [Case("POST", lambda c: f"/aftaler/{c.agreement()}/afsnit", AGREEMENT_EDITORS,
                                    data={"heading": "Matrix", "base_revision": "1"})],
    "agreements.add_comment": [Case("POST", lambda c: f"/aftaler/{c.agreement()}/kommentarer", AGREEMENT_EDITORS,
                                    data={"section_id": "s0", "body": "Matrix"})],
    "agreements.resolve_comment": [Case("POST", lambda c: f"/kommentarer/{c.comment()}/loes", AGREEMENT_EDITORS)],
    "agreements.approve": [Case("POST", lambda c: f"/aftaler/{c.agreement()}/godkend", AGREEMENT_SIGNATORIES,
                                data={"revision": "1"})],
    # Export files a document in the archive: an editor's act, not a reader's.
    "agreements.export": [Case("POST", lambda c: f"/aftaler/{c.agreement()}/eksport", AGREEMENT_EDITORS)],
    # An invited organisation's users see the invitation; its writers answer it.
    "agreements.respond": [Case("POST", lambda c: f"/aftaler/{c.invited_agreement()}/invitation", ORG1_WRITERS,
                                data={"answer": "accept"})],
    "api.get_invitation": [Case("GET", lambda c: f"/api/v1/agreements/{c.invited_agreement()}/invitation",
                                AGREEMENT_PARTIES, api=True)],
    "api.answer_invitation": [Case("POST", lambda c: f"/api/v1/agreements/{c.invited_agreement()}/invitation",
                                   ORG1_WRITERS, api=True, json={"accept": True})],
    # A suggestion by org1 is decided by the other party: the municipality's writers.
    "agreements.accept_suggestion": [Case("POST", lambda c: f"/kommentarer/{c.comment(suggestion='Ny tekst')}/accepter",
                                          MUNI_WRITERS)],
    "agreements.reject_suggestion": [Case("POST", lambda c: f"/kommentarer/{c.comment(suggestion='Ny tekst')}/afvis",
                                          MUNI_WRITERS)],
    "dialogue.overview": [Case("GET", lambda c: "/styringsdialog?aar=2026", {})],
    "dialogue.for_party": [Case("GET", lambda c: f"/parter/{c.org1.id}/styringsdialog/{c.fresh_year()}", MUNI_OK_ORG1_OK),
                           Case("GET", lambda c: "/parter/999999/styringsdialog/2026", ALL_LOGGED_IN_404)],
    "dialogue.start": [Case("POST", lambda c: f"/parter/{c.org1.id}/styringsdialog/{c.fresh_year()}/start",
                            only(("muni_admin", "muni_editor", "muni_signatory"), FORBIDDEN, company=NOT_FOUND))],
    "dialogue.show": [Case("GET", lambda c: f"/styringsdialog/{c.dialogue()}", MUNI_OK_ORG1_OK),
                      Case("GET", lambda c: "/styringsdialog/999999", ALL_LOGGED_IN_404)],
    "dialogue.step": [Case("POST", lambda c: f"/styringsdialog/{c.dialogue()}/trin", ORG1_OR_MUNI_WRITERS,
                           data={"step": "package_received"})],
    "dialogue.meeting": [Case("POST", lambda c: f"/styringsdialog/{c.dialogue()}/moede", MUNI_WRITERS,
                              data={"starts_at": "2030-10-01T10:00"})],
    "dialogue.agenda": [Case("POST", lambda c: f"/styringsdialog/{c.dialogue()}/dagsorden", MUNI_WRITERS)],
    "dialogue.minutes": [Case("POST", lambda c: f"/styringsdialog/{c.dialogue()}/referat", MUNI_WRITERS)],
    "dialogue.meeting_agreement": [Case("POST", lambda c: f"/styringsdialog/{c.dialogue()}/aftaler", MUNI_WRITERS)],
    "dialogue.deadlines": [Case("GET", lambda c: "/styringsdialog/frister", only(("muni_admin", "muni_editor", "muni_signatory"), FORBIDDEN)),
                           Case("POST", lambda c: "/styringsdialog/frister", only(("muni_admin", "muni_editor", "muni_signatory"), FORBIDDEN))],
    "api.list_obligations": [Case("GET", lambda c: "/api/v1/obligations", {}, api=True),
                             Case("GET", lambda c: f"/api/v1/obligations?party={c.org1.cvr}", MUNI_OK_ORG1_OK, api=True)],
    "api.report_obligation": [Case("POST", lambda c: f"/api/v1/obligations/{c.occurrence()}/report", ORG1_WRITERS,
                                   api=True, json={"evidence": [{"url": "https://example.dk/bevis"}]})],
    "api.verify_obligation": [Case("POST", lambda c: f"/api/v1/obligations/{c.occurrence()}/verify", MUNI_WRITERS,
                                   api=True)],
    "api.reject_obligation": [Case("POST", lambda c: f"/api/v1/obligations/{c.occurrence()}/reject", MUNI_WRITERS,
                                   api=True, json={"reason": "Matrix"})],
    "obligations.mine": [Case("GET", lambda c: "/forpligtelser", {})],
    "obligations.overview": [Case("GET", lambda c: "/forpligtelser/alle", MUNICIPALITY_ONLY)],
    "obligations.export": [Case("GET", lambda c: "/forpligtelser/alle.csv", MUNICIPALITY_ONLY)],
    "obligations.show": [Case("GET", lambda c: f"/forpligtelser/{c.occurrence()}", MUNI_OK_ORG1_OK),
                         Case("GET", lambda c: "/forpligtelser/999999", ALL_LOGGED_IN_404)],
    "obligations.report": [Case("POST", lambda c: f"/forpligtelser/{c.occurrence()}/meld-udfoert", ORG1_WRITERS,
                                data={"comment": "Matrix", "url": "https://example.dk/bevis"})],
    "obligations.start": [Case("POST", lambda c: f"/forpligtelser/{c.occurrence()}/paabegynd", ORG1_WRITERS)],
    "obligations.verify": [Case("POST", lambda c: f"/forpligtelser/{c.occurrence()}/godkend", MUNI_WRITERS)],
    "obligations.reject": [Case("POST", lambda c: f"/forpligtelser/{c.occurrence()}/afvis", MUNI_WRITERS,
                                data={"reason": "Matrix"})],
    "obligations.waive": [Case("POST", lambda c: f"/forpligtelser/{c.occurrence()}/frafald", MUNI_WRITERS,
                               data={"reason": "Matrix"})],
    "obligations.new": [Case("GET", lambda c: f"/aftaler/{c.agreement()}/forpligtelser/ny", AGREEMENT_EDITORS),
                        Case("POST", lambda c: f"/aftaler/{c.agreement()}/forpligtelser/ny", AGREEMENT_EDITORS,
                             data=lambda c: {"title": "Matrix", "responsible_party": str(c.org1.id),
                                             "first_due": "2030-01-01", "recurrence": "none"})],
    "obligations.for_agreement": [Case("GET", lambda c: f"/aftaler/{c.agreement()}/forpligtelser", AGREEMENT_PARTIES)],
    # The organisation records its own departments' allocation; the municipality reads it.
    "obligations.allocation": [
        Case("GET", lambda c: f"/aftaler/{c.agreement()}/anvisning", AGREEMENT_PARTIES),
        Case("POST", lambda c: f"/aftaler/{c.agreement()}/anvisning", ORG1_WRITERS,
             data=lambda c: {"department": str(c.org1.departments[0].id), "year": "2030", "quarter": "1",
                             "vacant": "4", "offered": "1", "taken": "1"})],
    "obligations.create_calendar": [Case("POST", lambda c: "/profil/kalender", {})],
    "obligations.revoke_calendar": [Case("POST", lambda c: "/profil/kalender/tilbagekald", {})],
    "keyfigures.overview": [Case("GET", lambda c: "/noegletal", MUNICIPALITY_ONLY)],
    "keyfigures.import_figures": [Case("POST", lambda c: "/noegletal/import", MUNI_WRITERS_ONLY,
                                       data=lambda c: {"file": (io.BytesIO(
                                           f"cvr;lbf;year;metric;value\n{c.org1.cvr};;2030;tomgang;1,5\n".encode()),
                                           "noegletal.csv")})],
    "keyfigures.thresholds": [Case("GET", lambda c: "/noegletal/graenser", MUNICIPALITY_ONLY),
                              Case("POST", lambda c: "/noegletal/graenser", MUNI_WRITERS_ONLY)],
    "keyfigures.party": [Case("GET", lambda c: f"/parter/{c.org1.id}/noegletal", MUNI_OK_ORG1_OK),
                         Case("GET", lambda c: f"/parter/{c.demo.municipality.id}/noegletal", only((), FORBIDDEN))],
    "keyfigures.trend": [Case("GET", lambda c: f"/parter/{c.org1.id}/noegletal/tomgang", MUNI_OK_ORG1_OK),
                         Case("GET", lambda c: "/parter/999999/noegletal/tomgang", ALL_LOGGED_IN_404)],
    "keyfigures.area_status": [
        Case("GET", lambda c: f"/afdelinger/{c.org1.departments[0].id}/omraadestatus", MUNI_OK_ORG1_OK),
        Case("POST", lambda c: f"/afdelinger/{c.org1.departments[0].id}/omraadestatus", MUNI_WRITERS,
             data={"year": "2030", "status": "forebyggelsesomraade"})],
    "users.show": [Case("GET", lambda c: f"/brugere/{c.fresh_org1_user().id}", ORG1_USER_MANAGERS),
                   Case("GET", lambda c: "/brugere/999999", ALL_LOGGED_IN_404)],
    "users.deactivate": [Case("POST", lambda c: f"/brugere/{c.fresh_org1_user().id}/deaktiver", ORG1_USER_MANAGERS)],
    "users.activate": [Case("POST", lambda c: f"/brugere/{c.fresh_org1_user().id}/aktiver", ORG1_USER_MANAGERS)],
    "users.reinvite": [Case("POST", lambda c: f"/brugere/{c.fresh_org1_user().id}/invitation", ORG1_USER_MANAGERS)],
    "users.profile": [Case("GET", lambda c: "/profil", {}), Case("POST", lambda c: "/profil", {})],
    "users.change_password": [Case("POST", lambda c: "/profil/adgangskode", {})],
    "users.create_token": [Case("POST", lambda c: "/profil/api-noegler", {}, data={"label": "Matrix"})],
    # A token, and an invitation to a party, are their owner's alone: others meet a missing one.
    "users.revoke_token": [Case("POST", lambda c: f"/profil/api-noegler/{c.someone_elses_token()}/tilbagekald",
                                ALL_LOGGED_IN_404)],
    "users.accept_invitation": [Case("POST", lambda c: f"/invitationer/{c.pending_invitation()}/accepter",
                                     ALL_LOGGED_IN_404)],
    "users.decline_invitation": [Case("POST", lambda c: f"/invitationer/{c.pending_invitation()}/afvis",
                                      ALL_LOGGED_IN_404)],
    "parties.withdraw_invitation": [Case("POST", lambda c: f"/invitationer/{c.pending_invitation()}/traek-tilbage",
                                         ORG1_USER_MANAGERS)],
    # The search per person (GDPR access requests) is the municipality admins' alone.
    "audit.search": [Case("GET", lambda c: "/revision", only(("muni_admin",), FORBIDDEN)),
                     Case("GET", lambda c: "/revision?bruger=laeser@fjordby.dk", only(("muni_admin",), FORBIDDEN))],
    "audit.export": [Case("GET", lambda c: "/revision.csv?bruger=laeser@fjordby.dk", only(("muni_admin",), FORBIDDEN))],
}


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - MATRIX.keys() == set(), "routes without permission-matrix entries"
    assert MATRIX.keys() - endpoints == set(), "matrix entries for routes that no longer exist"


def _clients(app: Flask, demo: DemoData) -> dict[str, tuple[FlaskClient, str | None]]:
    """A logged-in test client and an API token per principal."""
    clients: dict[str, tuple[FlaskClient, str | None]] = {"anonymous": (app.test_client(), None)}
    for principal, email in EMAILS.items():
        client = app.test_client()
        log_in(client, email, demo.password)
        with unit_of_work():
            token = auth_service.create_api_token(SYSTEM, demo.user(email))
        clients[principal] = (client, token)
    gone = member(demo.organisations[0], Role.ADMIN)
    client = app.test_client()
    log_in(client, gone.email, PASSWORD)
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, gone)
        user_service.set_user_active(SYSTEM, gone.id, False)
    clients["deactivated"] = (client, token)
    return clients


def _outcome(response, api: bool) -> str:  # type: ignore[no-untyped-def]
    location = response.headers.get("Location", "")
    if response.status_code == 401 or (not api and response.status_code == 302 and location.startswith("/log-ind")):
        return TO_LOGIN_PAGE if location == "/log-ind" else LOGIN
    if response.status_code in (403, 404):
        return str(response.status_code)
    if response.status_code < 500 and response.status_code not in (401, 405):
        return OK
    return f"unexpected {response.status_code}"


def test_permission_matrix(app: Flask, demo: DemoData) -> None:
    ctx = Ctx(demo)
    clients = _clients(app, demo)
    failures = []
    # Log-out ends the sessions the other cases use, so it goes last.
    ordered = sorted(MATRIX.items(), key=lambda item: item[0] == "auth.logout")
    for _endpoint, cases in ordered:
        for case in cases:
            for principal in PRINCIPALS:
                client, token = clients[principal]
                url = case.url(ctx)
                headers = {"Authorization": f"Bearer {token}"} if case.api and token else {}
                data = case.data(ctx) if callable(case.data) else case.data
                if case.json is not None:
                    body = case.json(ctx) if callable(case.json) else case.json
                    response = client.open(url, method=case.method, json=body, headers=headers)
                else:
                    response = client.open(url, method=case.method, data=data, headers=headers)
                got, want = _outcome(response, case.api), case.expected(principal)
                if want == LOGIN and got == TO_LOGIN_PAGE:
                    got = LOGIN
                if got != want:
                    failures.append(f"{case.method} {url} as {principal}: expected {want}, got {got} ({response.status_code})")
    assert not failures, "\n".join(failures)


def test_other_organisations_object_answers_like_a_missing_one(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, EMAILS["org_editor"], demo.password)
    other = demo.organisations[1]
    hidden = client.get(f"/parter/{other.id}")
    missing = client.get("/parter/999999")
    assert hidden.status_code == missing.status_code == 404
    # The pages may differ only by the requested path (the language links point back to it) and by
    # the log-out form's CSRF token, which carries the second it was signed in.
    def page(response: Any, path: str) -> bytes:
        return re.sub(rb'name="csrf_token" value="[^"]+"', b'name="csrf_token" value="TOKEN"',
                      response.data.replace(path.encode(), b"/parter/ID"))

    assert page(hidden, f"/parter/{other.id}") == page(missing, "/parter/999999")
