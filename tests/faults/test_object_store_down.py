"""The object store down: during an upload, a download, and while the indexer needs the bytes.

Two real outages: moto's S3 server stopped (connections refused), and the local store's
folder gone, as when the volume it lives on is unmounted.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from indexer.worker import MAX_ATTEMPTS, backoff
from portal.backends import object_store
from portal.extensions import db
from portal.models import Document, DocumentVersion, Job, JobStatus
from portal.services.jobs import INDEX_DOCUMENT
from portal.storage.local import TEMP_DIR
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf_pages, upload
from tests.factories import ApiUser
from tests.faults.conftest import EDITOR, Portal, S3Server, indexer_check, wait_for
from tests.indexing_helpers import drain

pytestmark = pytest.mark.slow

STORE_DOWN_MESSAGE = "Fillageret svarer ikke lige nu"


class Outage:
    """Takes one kind of store down and brings it back."""

    def __init__(self, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.kind = kind
        if kind == "s3":
            self.s3: S3Server = request.getfixturevalue("s3_server")
            self.storage_url = self.s3.url(f"dokumenter-{uuid.uuid4().hex[:8]}")  # moto's buckets outlive a test
        else:
            self.folder = tmp_path / "volume" / "objects"
            self.storage_url = str(self.folder)

    def begin(self) -> None:
        if self.kind == "s3":
            self.s3.stop()
        else:
            self.folder.rename(self.folder.with_name("objects-unmounted"))

    def end(self) -> None:
        if self.kind == "s3":
            self.s3.start()
        else:
            self.folder.with_name("objects-unmounted").rename(self.folder)

    def leftovers(self) -> list[str]:
        """Temporary files of unfinished uploads (the S3 store spools to an anonymous file)."""
        if self.kind == "s3":
            return []
        return sorted(p.name for p in (self.folder / TEMP_DIR).iterdir())


@pytest.fixture(params=["local", "s3"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Outage:
    return Outage(request.param, tmp_path, request)


def _counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Document)) or 0,
            db.session.scalar(select(func.count()).select_from(Job).where(Job.kind == INDEX_DOCUMENT)) or 0)


def _stored_keys() -> set[str]:
    return {info.key for info in object_store().iter_objects()}


def _referenced_keys() -> set[str]:
    return set(db.session.scalars(select(DocumentVersion.object_key)))


def test_upload_while_the_store_is_down_is_refused_cleanly_and_works_once_it_is_back(
        make_portal: Callable[..., Portal], outage: Outage) -> None:
    portal = make_portal(storage_url=outage.storage_url)
    app, client, demo = portal.app, portal.client, portal.demo
    organisation = demo.organisations[0].id
    first = upload(client, organisation, make_pdf_pages(["Referat før nedbruddet"]))
    assert first.status_code == 302
    api = ApiUser(app, EDITOR)
    first_id = int(first.headers["Location"].rsplit("/", 1)[1])
    before = _counts()
    pdf = make_pdf_pages(["Referat under nedbruddet"])

    outage.begin()
    try:
        page = upload(client, organisation, pdf, title="Referat under nedbrud")
        text = page.get_data(as_text=True)
        assert page.status_code == 503, text[:500]
        assert STORE_DOWN_MESSAGE in text and "Intet er gemt" in text
        assert page.headers.get("Retry-After", "").isdigit()
        by_api = api.client.post("/api/v1/documents", headers=api.headers, content_type="multipart/form-data", data={
            "file": (io.BytesIO(pdf), "referat.pdf"), "organisation": str(organisation), "kind": "referat",
            "year": "2025"})
        assert by_api.status_code == 503 and by_api.json["error"]["code"] == "storage_unavailable"
        assert by_api.headers.get("Retry-After", "").isdigit()
        # Reading a stored file meets the same outage: "try again", not "the file does not exist".
        download = api.get(f"/documents/{first_id}/file")
        assert download.status_code == 503, download.get_data(as_text=True)[:300]
        assert download.json["error"]["code"] == "storage_unavailable"
        assert _counts() == before, "a row or job was written for an upload whose bytes were not stored"
    finally:
        outage.end()

    assert outage.leftovers() == []
    assert _stored_keys() == _referenced_keys(), "the failed upload left bytes in the store"
    again = upload(client, organisation, pdf, title="Referat under nedbrud")
    assert again.status_code == 302, again.get_data(as_text=True)[:500]
    assert _counts() == (before[0] + 1, before[1] + 1)
    assert _stored_keys() == _referenced_keys()
    assert api.get(f"/documents/{first_id}/file").status_code == 200


def _job_of(document_id: int) -> Job:
    db.session.expire_all()
    job = db.session.scalar(select(Job).where(Job.kind == INDEX_DOCUMENT, Job.object_id == document_id)
                            .order_by(Job.id.desc()))
    assert job is not None
    return job


def _upload_one(client: FlaskClient, organisation: int, text: str) -> int:
    response = upload(client, organisation, make_pdf_pages([text]), title="Referat om fjernvarme")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _assert_retry_scheduled(job: Job, failed_between: tuple[datetime, datetime]) -> None:
    """Failed once, for want of the store, and due again one backoff after the failure."""
    assert job.status is JobStatus.QUEUED and job.attempts == 1, (job.status, job.attempts, job.last_error)
    assert "StorageUnavailable" in (job.last_error or ""), job.last_error
    run_after = job.run_after if job.run_after.tzinfo else job.run_after.replace(tzinfo=UTC)
    earliest, latest = failed_between
    assert earliest + backoff(1) <= run_after <= latest + backoff(1), (earliest, run_after, latest)


# S3 goes with PostgreSQL in the distributed set-up (docker-compose.yml); the SQLite run of the
# same worker logic is the unmounted-folder test below.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_indexing_waits_out_an_s3_outage_and_succeeds_when_it_is_back(
        make_portal: Callable[..., Portal], s3_server: S3Server, start_worker: Callable[[Flask], Any]) -> None:
    """The real `indexer run` process meets the outage: the job is retried after its backoff, not given up."""
    portal = make_portal(storage_url=s3_server.url(f"dokumenter-{uuid.uuid4().hex[:8]}"))
    app, client, demo = portal.app, portal.client, portal.demo
    document_id = _upload_one(client, demo.organisations[0].id, "Fjernvarmeværket skal renoveres i afdelingen")
    s3_server.stop()
    started = datetime.now(UTC)
    worker = start_worker(app)
    try:
        job = wait_for(lambda: (j := _job_of(document_id)).attempts >= 1 and j.status is JobStatus.QUEUED and j,
                       timeout=90, interval=0.1, what="the worker to meet the outage")
        _assert_retry_scheduled(job, (started, datetime.now(UTC)))
    finally:
        s3_server.start()
    job = wait_for(lambda: (j := _job_of(document_id)).status in (JobStatus.DONE, JobStatus.DEAD) and j,
                   timeout=backoff(1).total_seconds() + 30, what="the retried job")
    output = worker.stop()
    assert job.status is JobStatus.DONE and job.attempts == 2, (job.status, job.attempts, job.last_error, output)
    assert job.attempts < MAX_ATTEMPTS
    version = db.session.get(Document, document_id).current
    assert version.status.value == "extracted"
    hits = ApiUser(app, EDITOR).search(q="fjernvarmeværket")["hits"]
    assert [hit["document_id"] for hit in hits] == [document_id]
    check = indexer_check(app)
    assert check.exit_code == 0, check.output


def test_indexing_waits_out_an_unmounted_store_folder(
        make_portal: Callable[..., Portal], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The local store's volume gone while a job runs: retried with backoff, done once it is back."""
    outage = Outage("local", tmp_path, request)
    portal = make_portal(storage_url=outage.storage_url)
    app, client, demo = portal.app, portal.client, portal.demo
    document_id = _upload_one(client, demo.organisations[0].id, "Fjernvarmeværket skal renoveres i afdelingen")
    outage.begin()
    try:
        started = datetime.now(UTC)
        assert drain() == 1
        job = _job_of(document_id)
        _assert_retry_scheduled(job, (started, datetime.now(UTC)))
        assert drain() == 0  # not due again before its backoff has passed
    finally:
        outage.end()
    with unit_of_work():
        # The backoff would run out by itself; shorten the wait.
        db.session.get(Job, job.id).run_after = datetime.now(UTC) - timedelta(seconds=1)
    assert drain() == 1
    job = _job_of(document_id)
    assert job.status is JobStatus.DONE and job.attempts == 2
    assert [h["document_id"] for h in ApiUser(app, EDITOR).search(q="fjernvarmeværket")["hits"]] == [document_id]
    check = indexer_check(app)
    assert check.exit_code == 0, check.output
