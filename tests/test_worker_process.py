"""The indexer as a real process: stops cleanly on SIGTERM, and a worker killed mid-job loses nothing."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from portal import create_app
from portal.access import SYSTEM
from portal.backends import search_index
from portal.extensions import db
from portal.models import Document, Job, JobStatus
from portal.services import documents as document_service
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf_pages

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[tuple[dict[str, str], Flask]]:
    env = dict(os.environ, PORTAL_INSTANCE_DIR=str(tmp_path), PORTAL_SECRET_KEY="worker-test",
               PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([str(BIN / "portal"), *args], env=env, check=True, capture_output=True, timeout=120)
    app = create_app({"database_url": env["PORTAL_DATABASE_URL"], "instance_dir": tmp_path,
                      "storage_url": str(tmp_path / "objects"), "search_url": str(tmp_path / "search")})
    yield env, app
    app.extensions["database"].dispose()


def _start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BIN / "indexer"), "run", "--poll", "0.2", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _upload(app: Flask, pdf: bytes) -> int:
    with app.app_context(), unit_of_work():
        # Party 2 is the demo's first organisation.
        return document_service.upload_document(SYSTEM, 2, {"kind": "referat", "year": "2025"}, io.BytesIO(pdf),
                                                "referat.pdf", max_size=10**8).id


def _job(app: Flask, document_id: int) -> Job:
    """The newest job for the document (the demo data brings jobs of its own)."""
    with app.app_context():
        return db.session.scalar(select(Job).where(Job.object_id == document_id).order_by(Job.id.desc()))


def test_sigterm_lets_the_worker_finish_and_exit(instance) -> None:  # type: ignore[no-untyped-def]
    env, app = instance
    worker = _start_worker(env)
    document_id = _upload(app, make_pdf_pages(["Styringsdialog om henlæggelser"]))
    _wait(lambda: _job(app, document_id).status is JobStatus.DONE)
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert "stopped" in output
    with app.app_context():
        assert db.session.get(Document, document_id).current.status.value == "extracted"


def test_a_worker_killed_mid_job_loses_nothing(instance) -> None:  # type: ignore[no-untyped-def]
    env, app = instance
    # Enough text that extraction takes a few seconds: long enough to kill the worker inside it.
    slow = make_pdf_pages([f"Side {n}: " + "Fleksibel udlejning og kombineret udlejning i afdelingen. " * 12
                           for n in range(1, 121)])
    document_id = _upload(app, slow)
    first = _start_worker(env)
    _wait(lambda: _job(app, document_id).status is JobStatus.RUNNING)
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its extraction children, mid-job
    first.wait(timeout=30)
    with app.app_context(), unit_of_work() as session:
        assert _job(app, document_id).status is JobStatus.RUNNING
        # The lease would run out by itself; shorten the wait.
        session.execute(update(Job).values(leased_until=datetime.now(UTC) - timedelta(seconds=1)))
    second = _start_worker(env, "--once")
    output, _ = second.communicate(timeout=300)
    assert second.returncode == 0, output
    job = _job(app, document_id)
    assert job.status is JobStatus.DONE and job.attempts == 2
    with app.app_context():
        version = db.session.get(Document, document_id).current
        assert version.status.value == "extracted" and version.page_count == 120
        ids = [i for i in search_index().record_ids_for_check() if i.startswith(f"doc:{document_id}:")]
        assert sorted(ids) == sorted(f"doc:{document_id}:p{n}" for n in range(1, 121))
