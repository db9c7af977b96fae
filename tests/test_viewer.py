"""The document viewer: opened at a page with the search, and the matches it marks per page."""

from __future__ import annotations

import io
import re

import pypdfium2
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from indexer.extract import extract
from indexer.jobs import index_document
from portal.extensions import db
from portal.models import Document
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf, upload
from tests.factories import DemoData, log_in

ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"
OTHER_COMPANY = "forretningsfoerer@fjordby-boligadministration.dk"  # serves two other organisations

PAGES = (
    "Referat af mødet om budgettet",
    "Aftalen om fleksibel udlejning blev godkendt",
    "Nye aftaler om kommunal anvisning og en anvisningsaftale",
)


def pdf_of_pages(*texts: str) -> bytes:
    """A PDF whose pages carry different texts (make_pdf repeats one text on every page)."""
    merged = pypdfium2.PdfDocument.new()
    for text in texts:
        merged.import_pages(pypdfium2.PdfDocument(make_pdf(text)))
    out = io.BytesIO()
    merged.save(out)
    return out.getvalue()


def _index(document_id: int) -> None:
    """What the indexer worker does for the upload's job: extract, store the pages, index."""
    with unit_of_work():
        index_document(document_id, extract)


@pytest.fixture
def editor(client: FlaskClient, demo: DemoData) -> FlaskClient:
    log_in(client, ORG_EDITOR, demo.password)
    return client


def _upload(client: FlaskClient, demo: DemoData, pdf: bytes, *, extracted: bool = True) -> int:
    response = upload(client, demo.organisations[0].id, pdf, "referat.pdf")
    assert response.status_code == 302
    document_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    if extracted:
        _index(document_id)
    return document_id


def test_matches_name_the_inflected_words_on_the_pages_that_have_them(editor: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(editor, demo, pdf_of_pages(*PAGES))

    body = editor.get(f"/dokumenter/{document_id}/fund", query_string={"q": "aftaler"}).get_json()

    # "aftaler" finds "Aftalen" (same stem) and "anvisningsaftale" (compound part); page 1 has neither.
    assert body == {"pages": [{"page": 2, "words": ["Aftalen"], "count": 1},
                              {"page": 3, "words": ["aftaler", "anvisningsaftale"], "count": 2}],
                    "total": 3}


def test_matches_follow_the_query_language(editor: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(editor, demo, pdf_of_pages(*PAGES))

    def pages(q: str) -> list[int]:
        return [p["page"] for p in editor.get(f"/dokumenter/{document_id}/fund", query_string={"q": q}).get_json()["pages"]]

    assert pages("budget*") == [1]
    assert pages('"fleksibel udlejning"') == [2]
    assert pages("anvisning -aftale") == [3]  # an exclusion is never marked, the rest is
    assert pages("budget OR udlejning") == [1, 2]


@pytest.mark.parametrize("q", ["", "   ", "og i at", "-aftale"])
def test_nothing_to_mark_gives_no_matches(editor: FlaskClient, demo: DemoData, q: str) -> None:
    document_id = _upload(editor, demo, pdf_of_pages(*PAGES))
    response = editor.get(f"/dokumenter/{document_id}/fund", query_string={"q": q})
    assert response.status_code == 200
    assert response.get_json() == {"pages": [], "total": 0}


def test_a_document_not_yet_extracted_shows_without_matches(editor: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(editor, demo, pdf_of_pages(*PAGES), extracted=False)

    assert editor.get(f"/dokumenter/{document_id}/fund?q=aftale").get_json() == {"pages": [], "total": 0}
    page = editor.get(f"/dokumenter/{document_id}/vis?q=aftale&side=2")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-page="2"' in html and "Teksten gøres søgbar i baggrunden" in html


def test_matches_of_an_older_version_come_from_its_own_text(editor: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(editor, demo, make_pdf("Aftalen om udlejning"))
    response = editor.post(f"/dokumenter/{document_id}/versioner",
                           data={"file": (io.BytesIO(make_pdf("Budgettet for næste år")), "v2.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    _index(document_id)

    def total(**args: str) -> int:
        return editor.get(f"/dokumenter/{document_id}/fund", query_string={"q": "aftale", **args}).get_json()["total"]

    assert total() == 0
    assert total(version="1") == 1
    assert editor.get(f"/dokumenter/{document_id}/fund?q=aftale&version=7").status_code == 404
    assert editor.get(f"/dokumenter/{document_id}/vis?version=7").status_code == 404
    old = editor.get(f"/dokumenter/{document_id}/vis?version=1&q=aftale").get_data(as_text=True)
    assert f'data-pdf="/dokumenter/{document_id}/versioner/1/fil"' in old and "Se nyeste version" in old


def test_viewer_opens_the_pdf_at_the_page_with_the_search(editor: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(editor, demo, pdf_of_pages(*PAGES))

    response = editor.get(f"/dokumenter/{document_id}/vis", query_string={"side": "2", "q": "aftaler"})

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'data-pdf="/dokumenter/{document_id}/versioner/1/fil"' in html
    assert 'data-page="2"' in html and 'id="viewer-page"' in html and 'value="2"' in html
    assert f'data-matches="/dokumenter/{document_id}/fund?q=aftaler&amp;version=1"' in html
    assert 'data-pdfjs="/vendor/pdfjs-dist/pdf.min.mjs"' in html
    assert '<script type="module" src="/static/viewer.js">' in html
    for label in ("Forrige side", "Næste side", "Forrige fund", "Næste fund", "Hent filen (PDF)", "Tilbage til dokumentet"):
        assert label in html
    assert 'role="status" aria-live="polite"' in html
    # The file the page points at is served, with ranges, to the same user.
    part = editor.get(f"/dokumenter/{document_id}/versioner/1/fil", headers={"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.data.startswith(b"%PDF-") and len(part.data) == 8


@pytest.mark.parametrize("side, shown", [("3", "3"), ("99", "3"), ("0", "1"), ("to", "1"), (None, "1")])
def test_the_page_asked_for_is_kept_within_the_document(editor: FlaskClient, demo: DemoData, side: str | None,
                                                       shown: str) -> None:
    document_id = _upload(editor, demo, pdf_of_pages(*PAGES))
    html = editor.get(f"/dokumenter/{document_id}/vis", query_string={"side": side} if side else {}).get_data(as_text=True)
    assert f'data-page="{shown}"' in html


def test_viewer_sets_a_policy_that_lets_pdfjs_work_and_nothing_inline(editor: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(editor, demo, pdf_of_pages(*PAGES))

    policy = editor.get(f"/dokumenter/{document_id}/vis").headers["Content-Security-Policy"]

    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["worker-src"] == "'self'" and directives["connect-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval'" not in policy and "blob:" not in policy
    # Every other page keeps the portal's own policy.
    assert "worker-src" not in editor.get(f"/dokumenter/{document_id}").headers["Content-Security-Policy"]


def test_pdfjs_is_served_from_node_modules(client: FlaskClient) -> None:
    module = client.get("/vendor/pdfjs-dist/pdf.min.mjs")
    worker = client.get("/vendor/pdfjs-dist/pdf.worker.min.mjs")
    assert module.status_code == worker.status_code == 200
    assert module.mimetype == worker.mimetype == "text/javascript"
    assert client.get("/vendor/pdfjs-dist-web/pdf_viewer.css").status_code == 200
    assert client.get("/vendor/pdfjs-dist-wasm/openjpeg_nowasm_fallback.js").status_code == 200
    assert client.get("/vendor/pdfjs-dist/../package.json").status_code == 404


def test_another_organisations_document_answers_like_a_missing_one(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, ORG_EDITOR, demo.password)
    document_id = _upload(client, demo, pdf_of_pages(*PAGES))
    client.post("/log-ud")
    log_in(client, OTHER_COMPANY, demo.password)

    for route in ("vis", "fund"):
        hidden = client.get(f"/dokumenter/{document_id}/{route}?q=aftale")
        missing = client.get(f"/dokumenter/999999/{route}?q=aftale")
        assert hidden.status_code == missing.status_code == 404
        # The pages may differ only by the requested path (the language links point back to it).
        assert hidden.data.replace(f"/dokumenter/{document_id}/".encode(), b"/dokumenter/ID/") == \
            missing.data.replace(b"/dokumenter/999999/", b"/dokumenter/ID/")
    assert client.get(f"/dokumenter/{document_id}/fund?q=aftale", headers={"Accept": "application/json"}).get_json()[
        "error"]["code"] == "not_found"


def test_the_municipality_reads_a_dialogue_document_in_the_viewer(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, ORG_EDITOR, demo.password)
    document_id = _upload(client, demo, pdf_of_pages(*PAGES))
    client.post("/log-ud")
    log_in(client, "laeser@fjordby.dk", demo.password)
    assert client.get(f"/dokumenter/{document_id}/vis?q=aftale").status_code == 200
    assert client.get(f"/dokumenter/{document_id}/fund?q=aftale").get_json()["total"] == 3


def test_anonymous_visitors_are_sent_to_log_in(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, ORG_EDITOR, demo.password)
    document_id = _upload(client, demo, pdf_of_pages(*PAGES))
    client.post("/log-ud")
    for route in ("vis", "fund"):
        response = client.get(f"/dokumenter/{document_id}/{route}?q=aftale")
        assert response.status_code == 302 and re.match(r"^/log-ind", response.headers["Location"])


def test_a_file_that_is_not_a_pdf_is_offered_for_download_instead(editor: FlaskClient, demo: DemoData) -> None:
    response = upload(editor, demo.organisations[0].id, b"Aftalen om udlejning\n", "noter.txt")
    assert response.status_code == 302
    document = db.session.scalar(select(Document).order_by(Document.id.desc()))
    html = editor.get(f"/dokumenter/{document.id}/vis").get_data(as_text=True)
    assert "Kun PDF-filer kan vises i browseren." in html and "pdf-viewer" not in html
