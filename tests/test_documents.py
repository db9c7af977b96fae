"""Documents as staff meet them: upload, versions, bad files refused, ranges, delete and restore."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from portal.backends import object_store
from portal.extensions import db
from portal.models import Document, DocumentVersion, Job
from portal.services.storage_check import check_storage, purge_deleted_documents
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf, upload
from tests.factories import DemoData, log_in

ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"


def _counts() -> tuple[int, int, int]:
    objects = sum(1 for _ in object_store().iter_objects())
    rows = db.session.scalar(select(func.count()).select_from(Document)) or 0
    jobs = db.session.scalar(select(func.count()).select_from(Job)) or 0
    return objects, rows, jobs


@pytest.fixture
def editor(client: FlaskClient, demo: DemoData) -> FlaskClient:
    log_in(client, ORG_EDITOR, demo.password)
    return client


def test_upload_stores_the_file_a_row_and_an_index_job_together(editor: FlaskClient, demo: DemoData) -> None:
    org = demo.organisations[0]
    pdf = make_pdf("Aftale om fleksibel udlejning")
    response = upload(editor, org.id, pdf, "Referat 2025.pdf", kind="referat", year="2025")
    assert response.status_code == 302
    document = db.session.scalar(select(Document))
    assert document.title == "Referat 2025" and document.visibility.value == "dialogue"
    version = document.current
    assert version.size == len(pdf) and version.media_type == "application/pdf" and version.status.value == "pending"
    assert db.session.scalar(select(Job).where(Job.object_id == document.id)).kind == "index_document"
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Referat 2025" in page and "Gøres søgbar" in page
    assert editor.get(f"/dokumenter/{document.id}/fil").data == pdf


def test_several_files_at_once_become_several_documents(editor: FlaskClient, demo: DemoData) -> None:
    org = demo.organisations[0]
    data = {"kind": "afdelingsskema", "year": "2024", "visibility": "dialogue",
            "files": [(io.BytesIO(make_pdf("Skema A")), "afd-101.pdf"), (io.BytesIO(make_pdf("Skema B")), "afd-102.pdf")]}
    response = editor.post(f"/parter/{org.id}/dokumenter/ny", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    titles = sorted(db.session.scalars(select(Document.title)))
    assert titles == ["afd-101", "afd-102"]


def test_new_version_keeps_the_old_one_readable(editor: FlaskClient, demo: DemoData) -> None:
    org = demo.organisations[0]
    first, second = make_pdf("Første udkast"), make_pdf("Endelig udgave")
    upload(editor, org.id, first, "referat.pdf")
    document = db.session.scalar(select(Document))
    response = editor.post(f"/dokumenter/{document.id}/versioner", data={"file": (io.BytesIO(second), "referat-v2.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert editor.get(f"/dokumenter/{document.id}/fil").data == second
    assert editor.get(f"/dokumenter/{document.id}/versioner/1/fil").data == first
    assert editor.get(f"/dokumenter/{document.id}/versioner/2/fil").data == second


BAD_FILES = [
    ("not a pdf named .pdf", b"<html>hello</html>", "referat.pdf", 415, "er ikke en PDF-fil"),
    ("junk before %PDF-", b"JUNK" + make_pdf(), "referat.pdf", 415, "er ikke en PDF-fil"),
    ("empty file", b"", "referat.pdf", 400, "Filen er tom"),
    ("unsupported type", b"\x89PNG\r\n\x1a\n....", "billede.png", 415, "Filtypen understøttes ikke"),
    ("pdf named .docx", make_pdf(), "referat.docx", 415, "passer ikke til filnavnets endelse"),
    ("path in name", make_pdf(), "../../etc/passwd.pdf", 400, "mapper eller skråstreger"),
    ("NUL in name", make_pdf(), "referat\x00.pdf", 400, "styretegn"),
    # The multipart layer cannot carry CR/LF in a name: no file arrives, and the user is told so.
    ("CR/LF in name", make_pdf(), "referat\r\nSet-Cookie: x.pdf", 400, "Vælg mindst én fil"),
    ("right-to-left override", make_pdf(), "referat\u202efdp.exe.pdf", 400, "retnings"),
    ("300 characters", make_pdf(), "a" * 296 + ".pdf", 400, "for langt"),
]


@pytest.mark.parametrize("case, content, filename, status, message", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_upload_gets_a_clear_message_and_nothing_is_stored(
        editor: FlaskClient, demo: DemoData, case: str, content: bytes, filename: str, status: int, message: str | None) -> None:
    before = _counts()
    response = upload(editor, demo.organisations[0].id, content, filename)
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:400]
    assert message in body
    assert _counts() == before


@pytest.mark.parametrize("filename, message", [
    ("referat\x00.pdf", "styretegn"), ("referat\r\n.pdf", "styretegn"), ("a\tb.pdf", "styretegn"),
    ("ok\u2067.pdf", "retnings"), ("..", "mapper"), ("a\\b.pdf", "mapper")])
def test_unsafe_filenames_are_refused_whatever_the_channel(filename: str, message: str) -> None:
    from portal.errors import InvalidUpload
    from portal.services.uploads import check_filename

    with pytest.raises(InvalidUpload, match=message):
        check_filename(filename)
    assert check_filename("Referat – styringsdialog 2025 (endelig).pdf") == "Referat – styringsdialog 2025 (endelig).pdf"


def test_file_over_the_limit_is_refused_before_anything_is_stored(demo_app) -> None:  # type: ignore[no-untyped-def]
    app, client, demo = demo_app(max_upload_bytes=64 * 1024)
    org_id = demo.organisations[0].id
    big = make_pdf() + b"%" + b"x" * (80 * 1024)
    with app.app_context():
        before = _counts()
    response = upload(client, org_id, big, "stor.pdf")
    assert response.status_code == 413
    assert "64 KB" not in response.get_data(as_text=True)  # the limit is stated in MB
    assert "for stor" in response.get_data(as_text=True)
    with app.app_context():
        assert _counts() == before


def test_store_that_refuses_connections_gives_a_clear_error_and_no_row(demo_app) -> None:  # type: ignore[no-untyped-def]
    app, client, demo = demo_app(storage_url="s3://key:secret@127.0.0.1:9/dokumenter")
    org_id = demo.organisations[0].id
    response = client.post(f"/parter/{org_id}/dokumenter/ny", data={
        "kind": "referat", "year": "2025", "visibility": "dialogue", "files": (io.BytesIO(make_pdf()), "referat.pdf")},
        content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert "Fillageret svarer ikke" in response.json["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Document)) == 0
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_range_requests_serve_the_asked_bytes(editor: FlaskClient, demo: DemoData) -> None:
    pdf = make_pdf("Rækkevidde")
    upload(editor, demo.organisations[0].id, pdf)
    document_id = db.session.scalar(select(Document.id))
    part = editor.get(f"/dokumenter/{document_id}/fil", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == pdf[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(pdf)}"
    tail = editor.get(f"/dokumenter/{document_id}/fil", headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.data == pdf[-5:]
    beyond = editor.get(f"/dokumenter/{document_id}/fil", headers={"Range": f"bytes={len(pdf) + 10}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(pdf)}"
    whole = editor.get(f"/dokumenter/{document_id}/fil")
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.data == pdf
    assert editor.get(f"/dokumenter/{document_id}/fil", headers={"If-None-Match": whole.headers["ETag"]}).status_code == 304


def test_download_has_a_safe_filename_and_never_renders_as_a_page(editor: FlaskClient, demo: DemoData) -> None:
    upload(editor, demo.organisations[0].id, b"<script>alert(1)</script>", "noter æøå.txt", kind="bilag")
    document_id = db.session.scalar(select(Document.id))
    response = editor.get(f"/dokumenter/{document_id}/fil")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''noter%20%C3%A6%C3%B8%C3%A5.txt" in response.headers["Content-Disposition"]
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    document = db.session.get(Document, document_id)
    assert document.current.status.value == "unsupported"


def test_soft_delete_hides_the_document_and_an_admin_restores_it(editor: FlaskClient, demo: DemoData, app: Flask) -> None:
    org = demo.organisations[0]
    upload(editor, org.id, make_pdf(), "slettes.pdf")
    document_id = db.session.scalar(select(Document.id))
    assert editor.post(f"/dokumenter/{document_id}/slet").status_code == 302
    assert "slettes" not in editor.get(f"/parter/{org.id}/dokumenter").get_data(as_text=True)
    assert editor.get(f"/dokumenter/{document_id}").status_code == 404
    admin = app.test_client()
    log_in(admin, "administrator@fjordby-boligselskab.dk", demo.password)
    assert "slettes" in admin.get(f"/parter/{org.id}/papirkurv").get_data(as_text=True)
    assert admin.post(f"/dokumenter/{document_id}/gendan").status_code == 302
    assert "slettes" in editor.get(f"/parter/{org.id}/dokumenter").get_data(as_text=True)


def test_documents_deleted_over_30_days_ago_are_purged_with_their_files(editor: FlaskClient, demo: DemoData) -> None:
    upload(editor, demo.organisations[0].id, make_pdf("Gammel"), "gammel.pdf")
    upload(editor, demo.organisations[0].id, make_pdf("Ny"), "ny.pdf")
    old_id = db.session.scalar(select(Document.id).where(Document.title == "gammel"))
    old_key = db.session.scalar(select(DocumentVersion.object_key).where(DocumentVersion.document_id == old_id))
    editor.post(f"/dokumenter/{old_id}/slet")
    with unit_of_work() as session:
        session.execute(update(Document).where(Document.id == old_id)
                        .values(deleted_at=datetime.now(UTC) - timedelta(days=31)))
    with unit_of_work():
        assert purge_deleted_documents() == 1
    assert db.session.get(Document, old_id) is None
    assert not object_store().exists(old_key)
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1


def test_storage_check_removes_old_orphans_and_reports_missing_objects(editor: FlaskClient, demo: DemoData) -> None:
    upload(editor, demo.organisations[0].id, make_pdf("Bevares"), "bevares.pdf")
    store = object_store()
    orphan = store.put_stream(io.BytesIO(b"%PDF-1.4 forladt"))
    report = check_storage()
    assert [o.key for o in report.orphan_objects] == [orphan.key] and report.removed_objects == []  # too young
    report = check_storage(remove_older_than=timedelta(seconds=-1))
    assert report.removed_objects == [orphan.key] and not store.exists(orphan.key)
    kept = db.session.scalar(select(DocumentVersion))
    store.delete(kept.object_key)
    assert check_storage().missing_objects == [(kept.document_id, 1, kept.object_key)]
