"""In a real browser: a search hit opens the PDF at its page with the words marked, the
viewer steps from match to match across pages, and it meets WCAG 2.1 AA (axe-core)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from indexer.extract import extract
from indexer.jobs import index_document
from portal import create_app
from portal.access import SYSTEM
from portal.demo import load_demo
from portal.extensions import db, make_engine
from portal.migrate import upgrade
from portal.models import Party, PartyKind
from portal.services import documents as document_service
from portal.uow import unit_of_work
from tests.browser.conftest import axe_violations, log_in
from tests.test_viewer import PAGES, pdf_of_pages

pytestmark = pytest.mark.browser

ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"

# Listens for what the page's Content-Security-Policy refuses (the tests' own axe-core
# injection is let through by the browser context, see conftest.py).
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""


@pytest.fixture(scope="module")
def viewer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A live portal with the demo data and one extracted three-page document of the
    first organisation; (base URL, document id). The shared live server does not expose
    its app, and this test needs the document's text stored as the indexer stores it."""
    root: Path = tmp_path_factory.mktemp("viewer")
    url = f"sqlite:///{root / 'portal.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({"database_url": url, "storage_url": str(root / "objects"), "search_url": str(root / "search"),
                      "instance_dir": root, "session_cookie_secure": False, "secret_key": "viewer-tests"})
    with app.app_context():
        with unit_of_work():
            load_demo()
            org = db.session.scalars(select(Party).where(Party.kind == PartyKind.ORGANISATION).order_by(Party.id)).first()
            assert org is not None
            document = document_service.upload_document(
                SYSTEM, org.id, {"kind": "referat", "year": "2025", "title": "Referat af styringsdialogmødet",
                                 "visibility": "dialogue"},
                io.BytesIO(pdf_of_pages(*PAGES)), "referat.pdf", max_size=10**7)
            document_id = document.id
        with unit_of_work():
            index_document(document_id, extract)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", document_id
    server.shutdown()
    app.extensions["database"].dispose()


def _log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, base, email)


def test_search_hit_opens_at_its_page_with_the_words_marked(page, viewer_server) -> None:  # type: ignore[no-untyped-def]
    base, document_id = viewer_server
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    _log_in(page, base, ORG_EDITOR)

    page.goto(f"{base}/dokumenter/{document_id}/vis?side=2&q=aftaler")

    marks = page.locator("#viewer-pages .textLayer mark")
    marks.first.wait_for()
    assert page.get_by_label("Side", exact=True).input_value() == "2"
    assert page.get_by_role("region", name="Side 2 af 3").is_visible()
    assert marks.all_inner_texts() == ["Aftalen"]
    assert page.locator(".textLayer mark.selected").inner_text() == "Aftalen"
    assert page.locator("#viewer-match-status").inner_text() == "Fund 1 af 3"
    assert page.locator("#viewer-status").inner_text() == ""  # "Indlæser dokumentet …" is gone
    canvas = page.locator("#viewer-pages canvas")
    assert canvas.evaluate("c => c.width > 0 && c.getContext('2d').getImageData(0, 0, c.width, c.height)"
                           ".data.some((v, i) => i % 4 !== 3 && v < 128)"), "the page is drawn, text and all"

    page.get_by_role("button", name="Næste fund").click()

    page.get_by_role("region", name="Side 3 af 3").wait_for()
    assert page.get_by_label("Side", exact=True).input_value() == "3"
    assert marks.all_inner_texts() == ["aftaler", "anvisningsaftale"]
    assert page.locator(".textLayer mark.selected").inner_text() == "aftaler"
    assert page.locator("#viewer-match-status").inner_text() == "Fund 2 af 3"
    assert "side=3" in page.url

    page.get_by_role("button", name="Næste fund").click()
    page.get_by_role("button", name="Næste fund").click()  # past the last match: round to the first
    page.get_by_role("region", name="Side 2 af 3").wait_for()
    assert page.locator("#viewer-match-status").inner_text() == "Fund 1 af 3"

    page.get_by_role("button", name="Forrige fund").click()
    page.get_by_role("region", name="Side 3 af 3").wait_for()
    assert page.locator(".textLayer mark.selected").inner_text() == "anvisningsaftale"
    assert page.locator("#viewer-match-status").inner_text() == "Fund 3 af 3"

    assert errors == []
    assert page.evaluate("window.cspViolations") == []
    assert axe_violations(page) == []


def test_pages_are_reached_by_buttons_and_by_number_from_the_keyboard(page, viewer_server) -> None:  # type: ignore[no-untyped-def]
    base, document_id = viewer_server
    _log_in(page, base, ORG_EDITOR)
    page.goto(f"{base}/dokumenter/{document_id}/vis")
    page.get_by_role("region", name="Side 1 af 3").wait_for()
    assert page.get_by_role("button", name="Forrige side").is_disabled()
    assert page.locator("#viewer-match-status").count() == 0  # no search, no match buttons

    page.get_by_role("button", name="Næste side").click()
    page.get_by_role("region", name="Side 2 af 3").wait_for()

    field = page.get_by_label("Side", exact=True)
    field.focus()
    field.fill("3")
    page.keyboard.press("Enter")
    page.get_by_role("region", name="Side 3 af 3").wait_for()
    assert page.get_by_role("button", name="Næste side").is_disabled()
    assert page.locator("#viewer-pages .textLayer").inner_text().startswith("Nye aftaler")
    assert axe_violations(page) == []
