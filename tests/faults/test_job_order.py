"""Index jobs delivered twice and out of order end with the index equal to the database.

Two indexers (as two processes would be: an app each, with its own session and open
index) work the same queue. Indexer A is slow: it has read a document and extracted its
text when the document changes and indexer B indexes the change. Then A writes what it
read. Whatever the order, once the queue is empty `indexer check` finds no difference.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from indexer.jobs import HANDLERS
from indexer.sandbox import ExtractorPool
from indexer.worker import Claimed, claim_job, run_one
from portal import create_app
from portal.access import SYSTEM
from portal.backends import close_backends, search_index
from portal.extensions import db
from portal.models import Job, JobStatus
from portal.services import documents as document_service
from portal.services.jobs import INDEX_DOCUMENT
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf_pages, upload
from tests.factories import ApiUser
from tests.faults.conftest import EDITOR, Portal, indexer_check
from tests.indexing_helpers import drain

pytestmark = pytest.mark.slow


@pytest.fixture
def indexers(app_config: dict[str, object]) -> Iterator[Callable[[], Flask]]:
    made: list[Flask] = []

    def make() -> Flask:
        app = create_app(dict(app_config))
        made.append(app)
        return app

    yield make
    for app in made:
        close_backends(app)
        app.extensions["database"].dispose()


@pytest.fixture
def slow_indexer(indexers: Callable[[], Flask]) -> Iterator[Callable[[], "SlowIndexer"]]:
    started: list[SlowIndexer] = []

    def start() -> SlowIndexer:
        indexer = SlowIndexer(indexers())
        started.append(indexer)
        return indexer.start()

    yield start
    for indexer in started:  # a failed test must not leave one waiting in an open transaction
        indexer.release.set()
        indexer._thread.join(60)


class SlowIndexer:
    """Indexer A in a thread: claims one job, extracts, then waits for `release` before it
    writes anything. The handlers are the real ones; only the moment is chosen by the test."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.extracted = threading.Event()
        self.release = threading.Event()
        self.job: Claimed | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "SlowIndexer":
        self._thread.start()
        assert self.extracted.wait(120), self.error or "indexer A never reached its extraction"
        return self

    def finish(self) -> Claimed | None:
        self.release.set()
        self._thread.join(120)
        assert not self._thread.is_alive(), "indexer A did not finish"
        if self.error is not None:
            raise self.error
        return self.job

    def _run(self) -> None:
        try:
            with self.app.app_context(), ExtractorPool(1) as pool:
                def extract(pdf_bytes: bytes) -> Any:
                    result = pool.extract(pdf_bytes)
                    self.extracted.set()
                    assert self.release.wait(120)
                    return result

                def handle(job: Claimed) -> None:
                    self.job = job
                    HANDLERS[job.kind](job.object_id, extract, force_extract=bool(job.payload.get("extract")))

                run_one("indexer-a", handle)
        except BaseException as exc:  # reported by finish()
            self.error = exc
            self.extracted.set()


def _upload(portal: Portal, text: str) -> int:
    response = upload(portal.client, portal.demo.organisations[0].id, make_pdf_pages([text]), title="Referat")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _drain_with(app: Flask, worker_id: str) -> int:
    with app.app_context():
        return drain(worker_id)


def _found(api: ApiUser, word: str) -> list[int]:
    search_index(api.client.application).refresh()  # the indexers wrote from other "processes"
    return [hit["document_id"] for hit in api.search(q=word)["hits"]]


def _assert_index_equals_database(portal: Portal, drainer: Flask) -> None:
    """Work off what is queued (an indexer that noticed it was overtaken queues one more run),
    then compare: nothing may be stuck, and `indexer check` must find no difference."""
    _drain_with(drainer, "indexer-b")
    db.session.expire_all()
    stuck = db.session.scalars(select(Job).where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))).all()
    assert [(j.id, j.status, j.leased_by) for j in stuck] == []
    check = indexer_check(portal.app)
    assert check.exit_code == 0, check.output


def test_an_older_versions_text_written_after_the_newer_ones_is_put_right(
        make_portal: Callable[..., Portal], indexers: Callable[[], Flask],
        slow_indexer: Callable[[], SlowIndexer]) -> None:
    portal = make_portal()
    document_id = _upload(portal, "Gammel version om varmecentralen")
    a = slow_indexer()  # has read version 1 and extracted its text
    with unit_of_work():
        document_service.add_version(SYSTEM, document_id, io.BytesIO(make_pdf_pages(["Ny version om solcelleanlægget"])),
                                     "referat-v2.pdf", max_size=10**8)
    b = indexers()
    assert _drain_with(b, "indexer-b") == 1  # version 2's job, done while A still works
    a.finish()  # A writes version 1's pages last
    _assert_index_equals_database(portal, b)
    api = ApiUser(portal.app, EDITOR)
    assert _found(api, "solcelleanlægget") == [document_id]
    assert _found(api, "varmecentralen") == []


def test_the_same_job_delivered_twice_after_its_lease_ran_out(
        make_portal: Callable[..., Portal], indexers: Callable[[], Flask],
        slow_indexer: Callable[[], SlowIndexer]) -> None:
    portal = make_portal()
    document_id = _upload(portal, "Referat om legepladsen i gården")
    a = slow_indexer()
    with unit_of_work():
        # A is slower than its lease: the job is handed out again (the lease would run out by itself).
        db.session.execute(update(Job).where(Job.status == JobStatus.RUNNING)
                           .values(leased_until=datetime.now(UTC) - timedelta(seconds=1)))
        document_service.update_metadata(SYSTEM, document_id, {"title": "Legepladsen, endelig udgave"})
    b = indexers()
    assert _drain_with(b, "indexer-b") == 2  # the same job once more, then the title change's own job
    first = a.finish()
    assert first is not None and first.object_id == document_id
    db.session.expire_all()
    assert db.session.get(Job, first.id).attempts == 2  # it really was delivered twice
    _assert_index_equals_database(portal, b)
    search_index(portal.app).refresh()
    hits = ApiUser(portal.app, EDITOR).search(q="legepladsen")["hits"]
    assert [(h["document_id"], h["title"]) for h in hits] == [(document_id, "Legepladsen, endelig udgave")]


def test_a_delete_indexed_before_the_upsert_of_the_same_document(
        make_portal: Callable[..., Portal], indexers: Callable[[], Flask],
        slow_indexer: Callable[[], SlowIndexer]) -> None:
    portal = make_portal()
    document_id = _upload(portal, "Fortroligt udkast om huslejestigningen")
    a = slow_indexer()  # working on the upload
    deleted = portal.client.post(f"/dokumenter/{document_id}/slet")
    assert deleted.status_code == 302, deleted.get_data(as_text=True)[:300]
    b = indexers()
    assert _drain_with(b, "indexer-b") == 1  # the delete's job first
    a.finish()  # then the upload's job writes the pages of a document that is gone
    _assert_index_equals_database(portal, b)
    assert _found(ApiUser(portal.app, EDITOR), "huslejestigningen") == []


def test_jobs_run_in_reverse_order_and_twice_leave_the_current_state(
        make_portal: Callable[..., Portal], indexers: Callable[[], Flask]) -> None:
    """Without overlap: an indexer died holding the older job, which runs again after the newer one."""
    portal = make_portal()
    document_id = _upload(portal, "Første udgave om affaldssorteringen")
    b = indexers()
    with b.app_context():
        older = claim_job("indexer-that-dies")
    assert older is not None and older.kind == INDEX_DOCUMENT
    with unit_of_work():
        document_service.add_version(SYSTEM, document_id, io.BytesIO(make_pdf_pages(["Anden udgave om cykelparkeringen"])),
                                     "referat-v2.pdf", max_size=10**8)
    assert _drain_with(b, "indexer-b") == 1  # the newer job; the older one is still leased
    with unit_of_work():
        db.session.execute(update(Job).where(Job.id == older.id)
                           .values(leased_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert _drain_with(b, "indexer-b") == 1  # the older job, after the newer one
    with b.app_context(), unit_of_work():
        # And once more, as a duplicate delivery would.
        HANDLERS[INDEX_DOCUMENT](document_id, lambda _: pytest.fail("nothing left to extract"))
    _assert_index_equals_database(portal, b)
    api = ApiUser(portal.app, EDITOR)
    assert _found(api, "cykelparkeringen") == [document_id]
    assert _found(api, "affaldssorteringen") == []
