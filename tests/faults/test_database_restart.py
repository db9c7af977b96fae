"""PostgreSQL restarted while people upload documents and edit an agreement.

Requests that meet the outage get a clear 503 in Danish with Retry-After, and the same
request succeeds once the server is back. Afterwards every document has its index job,
every job its document, every version its stored object, and every edit that was
answered with success is in the agreement's newest revision.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from portal import create_app
from portal.access import SYSTEM
from portal.backends import close_backends, object_store
from portal.extensions import db
from portal.models import DocumentVersion, User
from portal.services.auth import create_api_token
from portal.uow import unit_of_work
from tests.conftest import IsolatedClient
from tests.documents_helpers import make_pdf
from tests.factories import DemoData, log_in
from tests.faults.conftest import EDITOR, PrivatePostgres, wait_for

pytestmark = pytest.mark.slow

# How long a client keeps retrying one request before the test calls it lost.
RETRY_FOR_SECONDS = 60


@dataclass
class Outcome:
    """What the clients saw."""

    uploads: list[int] = field(default_factory=list)  # ids of documents answered with 201
    edits: list[str] = field(default_factory=list)  # lines whose edit was answered with 200
    unavailable: list[tuple[str, int, dict[str, Any], str | None]] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)  # anything that is neither success nor a proper 503


@pytest.fixture
def restart_app(private_postgres: PrivatePostgres, tmp_path: Path) -> Iterator[Flask]:
    url = private_postgres.create_database(f"restart_{uuid.uuid4().hex[:8]}")
    app = create_app({"database_url": url, "storage_url": str(tmp_path / "objects"),
                      "search_url": str(tmp_path / "search"), "instance_dir": tmp_path / "instance",
                      "testing": True, "csrf": False, "session_cookie_secure": False, "secret_key": "test-secret"})
    app.test_client_class = IsolatedClient
    yield app
    if not private_postgres.is_running():
        private_postgres.start()
    close_backends(app)
    app.extensions["database"].dispose()


def _token() -> str:
    with unit_of_work():
        user = db.session.scalar(select(User).where(User.email == EDITOR))
        return create_api_token(SYSTEM, user)


class Client:
    """One person's requests, each retried on 503 until it succeeds, as the message asks."""

    def __init__(self, app: Flask, token: str, outcome: Outcome) -> None:
        self.http = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}
        self.outcome = outcome

    def send(self, label: str, request: Any, ok: int) -> Any:
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        while True:
            response = request()
            if response.status_code == ok:
                return response
            body = response.get_json(silent=True) or {}
            if response.status_code != 503:
                self.outcome.wrong.append(f"{label}: {response.status_code} {response.get_data(as_text=True)[:300]}")
                return None
            self.outcome.unavailable.append((label, response.status_code, body, response.headers.get("Retry-After")))
            if time.monotonic() > deadline:
                self.outcome.wrong.append(f"{label}: still 503 after {RETRY_FOR_SECONDS} s")
                return None
            # The answer says when to come back; a quicker retry keeps the test short.
            time.sleep(0.2)

    def upload(self, n: int, organisation: str) -> None:
        pdf = make_pdf(f"Beboermøde nummer {n} om vedligeholdelse")

        def request() -> Any:
            return self.http.post("/api/v1/documents", headers=self.headers, content_type="multipart/form-data", data={
                "file": (io.BytesIO(pdf), f"referat-{n}.pdf"), "organisation": organisation, "kind": "referat",
                "year": "2025", "title": f"Referat {n}", "visibility": "dialogue"})

        response = self.send(f"upload {n}", request, 201)
        if response is not None:
            self.outcome.uploads.append(response.get_json()["id"])

    def edit(self, agreement: dict[str, Any], section: str, line: str) -> None:
        """Add a line to a section, based on the revision this client last saw."""
        new_text = agreement["text"] + "\n" + line
        body = {"base_revision": agreement["revision"], "sections": {section: {"text": new_text}}}

        def request() -> Any:
            return self.http.patch(f"/api/v1/agreements/{agreement['id']}", json=body, headers=self.headers)

        response = self.send(line, request, 200)
        if response is not None:
            self.outcome.edits.append(line)
            agreement["revision"], agreement["text"] = response.get_json()["revision"], new_text


def test_requests_during_a_postgresql_restart_get_503_and_nothing_is_lost(
        restart_app: Flask, private_postgres: PrivatePostgres) -> None:
    app = restart_app
    with app.app_context():
        demo = DemoData.load()
        organisation = demo.organisations[0].cvr
        token = _token()
    outcome = Outcome()
    client = Client(app, token, outcome)
    created = client.http.post("/api/v1/agreements", headers=client.headers, json={
        "title": "Dialogaftale 2025", "type": "styringsdialog", "organisations": [demo.organisations[0].id]})
    assert created.status_code == 201, created.get_data(as_text=True)
    section = created.json["sections"][0]
    agreement = {"id": created.json["id"], "revision": created.json["revision"], "text": section["text"]}

    stop = threading.Event()

    def work() -> None:
        n = after_stop = 0
        try:
            while after_stop < 3:  # a few rounds after the last restart too
                after_stop += stop.is_set()
                n += 1
                client.upload(n, organisation)
                client.edit(agreement, section["id"], f"Ændring {n}")
        except BaseException as exc:  # a request that raised instead of answering
            outcome.wrong.append(f"round {n}: {exc!r}")
            stop.set()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        wait_for(lambda: len(outcome.edits) >= 2 or outcome.wrong, timeout=60, what="the first requests")
        assert outcome.wrong == []
        private_postgres.restart("fast")
        time.sleep(0.5)
        private_postgres.restart("fast")
        time.sleep(0.5)
        # A longer outage, so that some requests certainly meet a server that is not there.
        private_postgres.stop("fast")
        time.sleep(2.0)
        private_postgres.start()
        time.sleep(0.5)
        private_postgres.restart("immediate")
    finally:
        stop.set()
        worker.join(timeout=RETRY_FOR_SECONDS * 3)
    assert not worker.is_alive(), "the clients did not finish"

    assert outcome.wrong == [], "requests answered with something other than success or a clear 503"
    assert outcome.unavailable, "no request met the outage; the test proved nothing"
    for label, _, body, retry_after in outcome.unavailable:
        error = body.get("error", {})
        assert error.get("code") == "database_unavailable", (label, body)
        assert "Prøv igen" in error.get("message", ""), (label, body)
        assert retry_after is not None and retry_after.isdigit() and int(retry_after) > 0, (label, retry_after)

    # The HTML pages say it in Danish too, and the pages work again afterwards.
    browser = app.test_client()
    log_in(browser, EDITOR, demo.password)
    private_postgres.stop("fast")
    try:
        page = browser.get("/")
        assert page.status_code == 503, page.get_data(as_text=True)[:500]
        assert "Prøv igen" in page.get_data(as_text=True) and page.headers.get("Retry-After")
    finally:
        private_postgres.start()
    assert browser.get("/").status_code == 200

    with app.app_context():
        session = db.session
        documents_without_job = session.execute(text(
            "SELECT d.id FROM documents d WHERE NOT EXISTS (SELECT 1 FROM jobs j "
            "WHERE j.kind = 'index_document' AND j.object_id = d.id)")).scalars().all()
        jobs_without_document = session.execute(text(
            "SELECT j.id FROM jobs j WHERE j.kind = 'index_document' "
            "AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = j.object_id)")).scalars().all()
        keys = session.scalars(select(DocumentVersion.object_key)).all()
        stored_document_ids = set(session.execute(text("SELECT id FROM documents")).scalars())
        assert documents_without_job == [] and jobs_without_document == []
        assert [key for key in keys if not object_store().exists(key)] == []
        assert set(outcome.uploads) <= stored_document_ids

        head = client.http.get(f"/api/v1/agreements/{agreement['id']}", headers=client.headers).json
        saved = next(s for s in head["sections"] if s["id"] == section["id"])["text"]
    lines = saved.splitlines()
    assert [line for line in outcome.edits if line not in lines] == [], "edits answered with success were lost"
    assert lines[-len(outcome.edits):] == outcome.edits  # in the order they were made, none twice
