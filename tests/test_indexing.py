"""From an uploaded PDF to the right page in search, for exactly the people allowed to see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, update

from indexer.maintenance import compare, reindex
from indexer.worker import MAX_ATTEMPTS, claim_job
from portal.access import SYSTEM
from portal.backends import search_index
from portal.extensions import db
from portal.models import Document, DocumentPage, Job, JobStatus, Role, User
from portal.services import users as user_service
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf_pages, upload
from tests.factories import ApiUser as Api
from tests.factories import DemoData, log_in
from tests.indexing_helpers import drain

ORG1_EDITOR = "redaktoer@fjordby-boligselskab.dk"
ORG2_ADMIN = "admin@aabrinken.dk"
MUNI_READER = "laeser@fjordby.dk"

MINUTES = make_pdf_pages([
    "Referat af styringsdialogmødet 2025 med Fjordby Boligselskab",
    "Parterne drøftede udlejningsreglerne for afdeling Havnegården",
    "Aftalerne om fleksibel udlejning forlænges til 2027",
])


@pytest.fixture
def org1(client: FlaskClient, demo: DemoData) -> FlaskClient:
    log_in(client, ORG1_EDITOR, demo.password)
    return client


def _upload(client: FlaskClient, org_id: int, content: bytes = MINUTES, **fields: str) -> int:
    response = upload(client, org_id, content, fields.pop("filename", "referat.pdf"), **fields)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_uploaded_minutes_are_found_at_the_right_page(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(org1, demo.organisations[0].id, title="Referat 2025", year="2025")
    assert drain() == 1
    document = db.session.get(Document, document_id)
    db.session.refresh(document.current)
    assert document.current.status.value == "extracted" and document.current.page_count == 3
    api = Api(app, ORG1_EDITOR)
    result = api.search(q="aftale")  # inflection: "Aftalerne" on page 3
    assert result["total"] == 1
    hit = result["hits"][0]
    assert hit["document_id"] == document_id and hit["page"] == 3
    assert "<mark>Aftalerne</mark>" in hit["snippet"]
    assert hit["url"].endswith(f"/dokumenter/{document_id}/vis?side=3&q=aftale")
    assert api.search(q="udlejning")["hits"][0]["page"] in (2, 3)  # compound "udlejningsreglerne" and the word itself
    assert api.search(q='"fleksibel udlejning"')["hits"][0]["page"] == 3
    assert api.search(q="udlejning -fleksibel")["total"] == 1  # page 2 still matches without the excluded word
    page = org1.get("/soeg", query_string={"q": "aftalerne"}).get_data(as_text=True)
    assert "Referat 2025" in page and f"/dokumenter/{document_id}/vis?side=3" in page


def test_an_api_search_asks_the_database_once_for_the_user_once_for_the_hits_and_links_each_to_its_page(
    app: Flask, org1: FlaskClient, demo: DemoData
) -> None:
    from portal.api import _DOCUMENT_STAND_IN

    document_id = _upload(org1, demo.organisations[0].id, title="Referat 2025", year="2025")
    drain()
    api = Api(app, ORG1_EDITOR)
    api.search(q="aftale")  # the token's first use is written down (then at most once a minute)
    statements: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = api.search(q="aftalerne")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    # The token with its user, memberships and parties; then the page of hits re-checked in one query.
    assert len(statements) == 2, statements
    for q in ("aftalerne", 'Aftale OR "æble & grød?"', f"aftale OR {_DOCUMENT_STAND_IN}"):
        hit = api.search(q=q)["hits"][0]
        with app.test_request_context():
            assert hit["url"] == url_for("viewer.show", document_id=document_id, side=3, q=q, _external=True)
    assert result["hits"][0]["page"] == 3


def test_another_organisations_dialogue_document_is_invisible_in_search(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    _upload(org1, demo.organisations[0].id, make_pdf_pages(["Hemmelig vedligeholdelsesplan for Havnegården"]))
    drain()
    stranger = Api(app, ORG2_ADMIN)
    result = stranger.search(q="vedligeholdelsesplan")
    assert result["total"] == 0 and result["hits"] == []
    assert all(not values for values in result["facets"].values())
    assert result["suggestion"] is None
    assert stranger.search(q="vedligeholdelsesplaan")["suggestion"] is None  # no hint of the hidden word either
    assert Api(app, MUNI_READER).search(q="vedligeholdelsesplan")["total"] == 1  # the municipality sees dialogue


def test_publishing_and_membership_changes_reach_search(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(org1, demo.organisations[0].id, make_pdf_pages(["Beboerdemokratiet i Kildeparken"]))
    drain()
    stranger = Api(app, ORG2_ADMIN)
    assert stranger.search(q="beboerdemokrati")["total"] == 0
    municipality = app.test_client()
    log_in(municipality, "redaktoer@fjordby.dk", demo.password)
    municipality.post(f"/dokumenter/{document_id}/offentliggoer")
    drain()
    assert stranger.search(q="beboerdemokrati")["total"] == 1
    municipality.post(f"/dokumenter/{document_id}/tilbagekald")
    drain()
    assert stranger.search(q="beboerdemokrati")["total"] == 0
    with unit_of_work():
        user_service.invite_user(SYSTEM, demo.organisations[0], email=ORG2_ADMIN, name="", role=Role.READER)
    assert stranger.search(q="beboerdemokrati")["total"] == 1  # now a member of the owner
    membership = next(m for m in db.session.scalar(select(User).where(User.email == ORG2_ADMIN)).memberships
                      if m.party_id == demo.organisations[0].id)
    with unit_of_work():
        user_service.remove_membership(SYSTEM, membership.id)
    assert stranger.search(q="beboerdemokrati")["total"] == 0


def test_deleting_a_document_removes_it_from_search(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(org1, demo.organisations[0].id, make_pdf_pages(["Renoveringen af Skovbrynet"]))
    drain()
    api = Api(app, ORG1_EDITOR)
    assert api.search(q="renovering")["total"] == 1
    org1.post(f"/dokumenter/{document_id}/slet")
    drain()
    assert api.search(q="renovering")["total"] == 0
    assert not compare().any


def test_a_new_version_replaces_the_old_text(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    import io

    document_id = _upload(org1, demo.organisations[0].id, make_pdf_pages(["Udkast om tomgang", "Side to om tomgang"]))
    drain()
    org1.post(f"/dokumenter/{document_id}/versioner", content_type="multipart/form-data",
              data={"file": (io.BytesIO(make_pdf_pages(["Endelig tekst om huslejen"])), "v2.pdf")})
    drain()
    api = Api(app, ORG1_EDITOR)
    assert api.search(q="tomgang")["total"] == 0 and api.search(q="huslejen")["total"] == 1
    assert not compare().any


def test_broken_pdf_ends_failed_with_a_reason_and_stays_downloadable(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    broken = MINUTES[: len(MINUTES) // 3]  # truncated: header present, body cut off
    document_id = _upload(org1, demo.organisations[0].id, broken, filename="ødelagt.pdf")
    drain()
    version = db.session.get(Document, document_id).current
    db.session.refresh(version)
    assert version.status.value in {"failed", "extracted", "needs_ocr"}
    page = org1.get(f"/dokumenter/{document_id}").get_data(as_text=True)
    if version.status.value == "failed":
        assert version.status_reason and version.status_reason in page
    assert org1.get(f"/dokumenter/{document_id}/fil").data == broken
    assert db.session.scalar(select(Job.status).where(Job.object_id == document_id)) is JobStatus.DONE


def test_a_job_whose_worker_died_is_claimed_again_and_indexed_once(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(org1, demo.organisations[0].id)
    dead_worker = claim_job("worker-that-dies")
    assert dead_worker is not None and dead_worker.object_id == document_id
    assert drain() == 0  # leased: nobody else takes it
    with unit_of_work() as session:
        session.execute(update(Job).values(leased_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert drain() == 1
    job = db.session.scalar(select(Job))
    db.session.refresh(job)
    assert job.status is JobStatus.DONE and job.attempts == 2
    assert Api(app, ORG1_EDITOR).search(q="aftalerne")["total"] == 1
    assert sorted(search_index().record_ids_for_check()) == [f"doc:{document_id}:p{n}" for n in (1, 2, 3)]


def test_the_same_job_twice_and_out_of_order_leaves_the_index_equal_to_the_database(
        app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    from indexer.extract import extract
    from indexer.jobs import index_document

    document_id = _upload(org1, demo.organisations[0].id)
    org1.post(f"/dokumenter/{document_id}/rediger", data={"kind": "referat", "year": "2024", "title": "Nyt navn",
                                                         "visibility": "party"})
    for _ in range(3):  # a stale delivery after the newer change changes nothing
        with unit_of_work():
            index_document(document_id, extract)
    assert not compare().any
    assert Api(app, MUNI_READER).search(q="aftalerne")["total"] == 0  # visibility "party" reached the index


def test_search_index_down_gives_a_clear_message_and_jobs_wait(demo_app) -> None:  # type: ignore[no-untyped-def]
    app, client, demo = demo_app(search_url="http://127.0.0.1:9/")
    page = client.get("/soeg", query_string={"q": "aftale"})
    assert page.status_code == 503 and "Søgningen er midlertidigt utilgængelig" in page.get_data(as_text=True)
    assert client.get("/").status_code == 200  # the rest of the portal works
    assert upload(client, demo.organisations[0].id, MINUTES).status_code == 302  # uploads go on; indexing waits
    with app.app_context():
        drain()
        job = db.session.scalar(select(Job))
        assert job.status is JobStatus.QUEUED and job.attempts == 1 and "SearchUnavailable" in job.last_error
        assert job.run_after > datetime.now(UTC)


def test_dead_jobs_can_be_retried(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    _upload(org1, demo.organisations[0].id)
    with unit_of_work() as session:
        session.execute(update(Job).values(status=JobStatus.DEAD, attempts=MAX_ATTEMPTS, last_error="x"))
    assert drain() == 0
    admin = app.test_client()
    log_in(admin, "administrator@fjordby.dk", demo.password)
    page = admin.get("/drift/jobs?status=dead").get_data(as_text=True)
    job_id = db.session.scalar(select(Job.id))
    assert "x" in page and f"/drift/jobs/{job_id}/igen" in page
    assert admin.post(f"/drift/jobs/{job_id}/igen").status_code == 302
    assert drain() == 1


def test_check_reports_differences_and_reindex_repairs_them(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    document_id = _upload(org1, demo.organisations[0].id)
    drain()
    assert not compare().any
    search_index().delete_records([f"doc:{document_id}:p2"])
    differences = compare()
    assert differences.missing == [f"doc:{document_id}:p2"]
    pages_before = db.session.scalar(select(func.count()).select_from(DocumentPage))
    assert reindex(None) == 3  # from stored text: nothing extracted again
    assert db.session.scalar(select(func.count()).select_from(DocumentPage)) == pages_before
    assert not compare().any


def test_periodic_upkeep_purges_expired_documents_and_old_jobs(app: Flask, org1: FlaskClient, demo: DemoData) -> None:
    from indexer.maintenance import periodic_upkeep

    document_id = _upload(org1, demo.organisations[0].id)
    drain()
    org1.post(f"/dokumenter/{document_id}/slet")
    drain()
    long_ago = datetime.now(UTC) - timedelta(days=31)
    with unit_of_work() as session:
        session.execute(update(Document).values(deleted_at=long_ago))
        session.execute(update(Job).values(finished_at=long_ago))
    assert periodic_upkeep() == {"expired_agreements": 0, "purged_documents": 1, "login_failures": 0, "done_jobs": 2}
    assert db.session.get(Document, document_id) is None


def test_hostile_pdfs_end_failed_or_extracted_and_the_worker_lives_on(app: Flask, demo: DemoData) -> None:
    import io
    import os

    from portal.services import documents as document_service
    from tests.indexer.hostile import HOSTILE

    ids = {}
    for name, make in HOSTILE.items():
        with unit_of_work():
            try:
                document = document_service.upload_document(
                    SYSTEM, demo.organisations[0].id, {"kind": "bilag", "year": "2025"}, io.BytesIO(make()),
                    name if name.endswith(".pdf") else name + ".pdf", max_size=10**9)
            except Exception as exc:  # refused at the door (not a PDF at all): nothing to index
                assert exc.__class__.__name__ == "UnsupportedMediaType", (name, exc)
                continue
        ids[name] = document.id
    normal = _upload_system(demo.organisations[0].id)
    parent = os.getpid()
    assert drain(timeout=20, memory_limit=768 * 1024**2) == len(ids) + 1
    assert os.getpid() == parent
    for name, document_id in ids.items():
        version = db.session.get(Document, document_id).current
        db.session.refresh(version)
        assert version.status.value in {"failed", "extracted", "needs_ocr"}, name
        if version.status.value == "failed":
            assert version.status_reason, name
    assert db.session.scalar(select(func.count()).select_from(Job).where(Job.status != JobStatus.DONE)) == 0
    version = db.session.get(Document, normal).current
    db.session.refresh(version)
    assert version.status.value == "extracted"


def _upload_system(org_id: int) -> int:
    import io

    from portal.services import documents as document_service

    with unit_of_work():
        return document_service.upload_document(SYSTEM, org_id, {"kind": "referat", "year": "2025"},
                                                io.BytesIO(MINUTES), "normal.pdf", max_size=10**7).id
