"""In a real browser: the organisation's editor reports an overdue obligation done with an uploaded
PDF as evidence; the municipality's editor opens the evidence and approves; the occurrence page
meets WCAG 2.1 AA (axe-core) before and after."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from portal import create_app
from portal.access import SYSTEM
from portal.extensions import db, make_engine
from portal.migrate import upgrade
from portal.models import Party, User
from portal.uow import unit_of_work
from tests.browser.conftest import axe_violations, logged_in
from tests.documents_helpers import make_pdf

pytestmark = pytest.mark.browser

MUNI_EDITOR = "redaktoer@fjordby.dk"
ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"
TITLE = "Indberet boliger tilbudt kommunal anvisning"


@dataclass
class Portal:
    url: str
    occurrence_id: int


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """A live portal like tests/browser/conftest.py's, with an active agreement between the
    municipality and Fjordby Boligselskab and an obligation of the organisation overdue by two days.
    Its own server, because the shared one does not expose its app for arranging data."""
    from portal.demo import load_demo
    from portal.services import agreements as agreement_service
    from portal.services import obligations as obligation_service

    root = tmp_path_factory.mktemp("obligations-live")
    url = f"sqlite:///{root / 'portal.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({"database_url": url, "storage_url": str(root / "objects"), "search_url": str(root / "search"),
                      "instance_dir": root, "session_cookie_secure": False, "secret_key": "browser-tests"})
    with app.app_context():
        with unit_of_work():
            load_demo()
        organisation = db.session.scalar(select(Party).where(Party.name == "Fjordby Boligselskab"))

        def user(email: str) -> User:
            return db.session.scalar(select(User).where(User.email == email))

        with unit_of_work():
            agreement = agreement_service.create_agreement(SYSTEM, {
                "title": "Udlejningsaftale", "type": "individuel", "organisations": [organisation.id]})
        for signatory in ("underskriver@fjordby.dk", "underskriver@fjordby-boligselskab.dk"):
            with unit_of_work():
                agreement_service.approve(user(signatory), agreement.id, 1)
        with unit_of_work():
            obligation = obligation_service.create_obligation(user(MUNI_EDITOR), agreement.id, None, {
                "title": TITLE, "responsible_party": organisation.id,
                "first_due": (date.today() - timedelta(days=2)).isoformat(), "recurrence": "quarterly"})
        occurrence_id = obligation.occurrences[0].id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Portal(f"http://127.0.0.1:{server.server_port}", occurrence_id)
    server.shutdown()
    app.extensions["database"].dispose()


def _logged_in(browser, portal: Portal, email: str):  # type: ignore[no-untyped-def]
    return logged_in(browser, portal.url, email)


def test_report_with_evidence_then_the_municipality_approves(browser, portal: Portal) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    occurrence_url = f"{portal.url}/forpligtelser/{portal.occurrence_id}"

    # The organisation's editor finds the overdue obligation from the menu and reports it done.
    org_context, org = _logged_in(browser, portal, ORG_EDITOR)
    try:
        org.get_by_role("link", name="Mine forpligtelser").click()
        overdue = org.locator("h2#overskredet + div table")
        expect(overdue).to_contain_text(TITLE)
        expect(overdue).to_contain_text("2 dage over fristen")
        overdue.get_by_role("link", name=TITLE).click()
        org.wait_for_url(occurrence_url)
        expect(org.get_by_role("heading", level=1)).to_have_text(TITLE)
        expect(org.locator("#occurrence-status")).to_contain_text("Åben")
        assert axe_violations(org) == []

        # Reporting without evidence is refused with an error summary that leads to the fields.
        org.get_by_role("button", name="Meld udført").click()
        expect(org.get_by_role("alert")).to_contain_text("Vedlæg et dokument eller et link som dokumentation.")
        assert axe_violations(org) == []

        org.get_by_label("Bemærkning til den anden part").fill("Indberetningen for kvartalet er vedlagt.")
        org.get_by_label("Upload en fil").set_input_files({
            "name": "indberetning.pdf", "mimeType": "application/pdf",
            "buffer": make_pdf("Indberetning af tilbudte boliger", pages=2)})
        org.get_by_label("Side i den uploadede fil").fill("2")
        org.get_by_role("button", name="Meld udført").click()
        org.wait_for_url(occurrence_url)
        expect(org.get_by_role("status")).to_contain_text("Forpligtelsen er meldt udført")
        expect(org.locator("#occurrence-status")).to_contain_text("Meldt udført")
        expect(org.locator("#occurrence-status")).not_to_contain_text("Overskredet")
        evidence = org.locator(".evidence-list")
        expect(evidence.get_by_role("link")).to_have_attribute("href", re.compile(r"^/dokumenter/\d+/vis\?side=2$"))
    finally:
        org_context.close()

    # The municipality's editor sees it waiting for approval, opens the evidence and approves.
    muni_context, muni = _logged_in(browser, portal, MUNI_EDITOR)
    try:
        muni.goto(f"{portal.url}/forpligtelser")
        waiting = muni.locator("h2#til-godkendelse ~ div table").first
        expect(waiting).to_contain_text(TITLE)
        waiting.get_by_role("link", name=TITLE).click()
        muni.wait_for_url(occurrence_url)
        expect(muni.locator("dl")).to_contain_text("Indberetningen for kvartalet er vedlagt.")
        evidence_link = muni.locator(".evidence-list").get_by_role("link")
        expect(evidence_link).to_contain_text("side 2")
        assert axe_violations(muni) == []
        muni.get_by_role("button", name="Godkend opfyldelsen").click()
        muni.wait_for_url(occurrence_url)
        expect(muni.get_by_role("status")).to_contain_text("Opfyldelsen er godkendt.")
        expect(muni.locator("#occurrence-status")).to_have_text("Godkendt")
        expect(muni.get_by_role("button", name="Godkend opfyldelsen")).to_have_count(0)
        history = muni.get_by_role("table", name="Historik for forpligtelsen")
        expect(history).to_contain_text("Meldt udført")
        expect(history).to_contain_text("Godkendt")
        assert axe_violations(muni) == []

        # The evidence opens in the viewer at the page it was reported at.
        evidence_link.click()
        muni.wait_for_url(re.compile(r".*/dokumenter/\d+/vis\?side=2$"))
    finally:
        muni_context.close()

