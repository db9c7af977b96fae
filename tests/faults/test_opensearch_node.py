"""Faults on a real OpenSearch node.

- The node is killed (SIGKILL, as on a crash) while the real `indexer run` is indexing:
  the jobs that hit the dead node wait and are retried, and once the node is started
  again on the same data folder every document is found and `indexer check` reports no
  difference.
- `indexer reindex` (a new index, then the alias moved) runs while another thread keeps
  searching: no search in between returns nothing or fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.models import Job, JobStatus
from portal.search import SearchQuery, open_index
from portal.services.jobs import INDEX_DOCUMENT
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf_pages, upload
from tests.faults.conftest import BIN, Portal, indexer_check, portal_env, wait_for
from tests.indexing_helpers import drain
from tests.opensearch_node import OpenSearchNode, opensearch_url, with_prefix

pytestmark = [pytest.mark.slow, pytest.mark.opensearch]


def _upload(portal: Portal, text: str) -> int:
    response = upload(portal.client, portal.demo.organisations[0].id, make_pdf_pages([text, f"Side to. {text}"]),
                      title=text[:40])
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _index_jobs() -> dict[JobStatus, int]:
    db.session.expire_all()
    rows = db.session.execute(select(Job.status, func.count()).where(Job.kind == INDEX_DOCUMENT).group_by(Job.status))
    counts = {status: count for status, count in rows}
    # End the read: on SQLite an open read holds a lock that keeps the worker from committing.
    db.session.rollback()
    return counts


def _found(portal: Portal, word: str) -> set[int]:
    index = open_index(portal.app.config["PORTAL"].search_url)
    try:
        results = index.search(SearchQuery(text=word, readers=frozenset({"public", "authenticated"}) |
                                           _all_party_tokens(portal), per_page=100))
        return {hit.source_id for hit in results.hits}
    finally:
        index.close()


def _all_party_tokens(portal: Portal) -> frozenset[str]:
    # Wide enough for every demo document: the test asks what the index holds, not who may see it.
    return frozenset(f"party:{o.id}" for o in portal.demo.organisations)


def _due_now() -> bool:
    """The back-off would run out by itself; shorten the wait. (On SQLite the running
    worker may hold the write lock for a moment: then try again.)"""
    try:
        with unit_of_work():
            db.session.execute(update(Job).where(Job.status == JobStatus.QUEUED)
                               .values(run_after=datetime.now(UTC) - timedelta(seconds=1)))
    except OperationalError:
        db.session.rollback()
        return False
    return True


class _Worker:
    """`indexer run` as a process of its own, its log in a file: every failed bulk logs a
    traceback, and a pipe nobody reads until the end would fill and stop the worker
    mid-job (holding its database transaction)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen([str(BIN / "indexer"), "run", "--poll", "0.2"], env=env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        return self.log.read_text(errors="replace")


def test_a_node_killed_while_indexing_loses_nothing_once_it_is_back(
        make_portal: Callable[..., Portal], private_opensearch: OpenSearchNode, tmp_path: Path) -> None:
    node = private_opensearch
    portal = make_portal(search_url=f"{node.url}/faults")
    worker = _Worker(portal_env(portal.app), tmp_path / "worker.log")
    try:
        before = [_upload(portal, f"Vandskaden i blok {n} Kildevang udbedres") for n in range(3)]
        wait_for(lambda: _index_jobs().get(JobStatus.DONE, 0) >= 2, timeout=120, what="the worker to index something")

        node.kill()
        during = [_upload(portal, f"Kildevang taget på blok {n} skiftes") for n in range(4)]
        # Jobs that reach the dead node go back to the queue with a back-off, none is lost.
        wait_for(lambda: _index_jobs().get(JobStatus.QUEUED, 0) >= 1 and not _index_jobs().get(JobStatus.RUNNING),
                 timeout=120, what="index jobs to wait for the node")
        assert not _index_jobs().get(JobStatus.DEAD), "a job gave up while the node was down"
        assert portal.client.get("/soeg", query_string={"q": "kildevang"}).status_code == 503

        node.start().wait_ready()
        wait_for(_due_now, timeout=60, what="the queued jobs to be made due")
        wait_for(lambda: set(_index_jobs()) == {JobStatus.DONE}, timeout=180, what="every index job to be done")
        assert worker.process.poll() is None, "the worker died with the node"
    finally:
        output = worker.stop()
    assert "failed, attempt 1: SearchUnavailable -> queued" in output, output[-3000:]

    wait_for(lambda: _found(portal, "kildevang") == {*before, *during}, timeout=15,
             what="every uploaded document to be found after the restart")
    check = indexer_check(portal.app)
    assert check.exit_code == 0, check.output
    assert "0 record(s) missing from the index" in check.output
    assert "0 record(s) stale in the index" in check.output
    assert "The index matches the database." in check.output


def test_searches_during_a_reindex_never_come_back_empty(make_portal: Callable[..., Portal]) -> None:
    url = with_prefix(opensearch_url(), f"aftaleportalen-test-{uuid.uuid4().hex[:12]}")
    portal = make_portal(search_url=url)
    for n in range(3):
        _upload(portal, f"Helhedsplanen for Søndermarken del {n}")
    drain()
    readers = frozenset({"public", "authenticated"}) | _all_party_tokens(portal)
    query = SearchQuery(text="helhedsplanen", readers=readers)
    # Written documents become searchable at the next refresh (about a second).
    wait_for(lambda: len(_found(portal, "helhedsplanen")) >= 3, timeout=15, what="the documents to be found")
    expected = len(_found(portal, "helhedsplanen"))

    totals: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def search_until_stopped() -> None:
        index = open_index(url)
        try:
            while not stop.is_set():
                totals.append(index.search(query).total)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            index.close()

    from click.testing import CliRunner

    from indexer.cli import main

    searcher = threading.Thread(target=search_until_stopped)
    searcher.start()
    try:
        wait_for(lambda: len(totals) >= 3, timeout=30, what="searches to run")
        settings = portal.app.config["PORTAL"]
        env = {"PORTAL_INSTANCE_DIR": str(settings.instance_dir), "PORTAL_SECRET_KEY": settings.secret_key,
               "PORTAL_DATABASE_URL": settings.database_url, "PORTAL_STORAGE_URL": settings.storage_url,
               "PORTAL_SEARCH_URL": url}
        searches_before = len(totals)
        for _ in range(3):
            result = CliRunner().invoke(main, ["reindex"], env=env)
            assert result.exit_code == 0, result.output
        wait_for(lambda: len(totals) >= searches_before + 20, timeout=60, what="searches after the reindex")
    finally:
        stop.set()
        searcher.join(timeout=60)
    assert not errors, errors
    assert len(totals) > searches_before + 20
    assert set(totals) == {expected}, sorted(set(totals))
    check = indexer_check(portal.app)
    assert check.exit_code == 0, check.output
    assert "The index matches the database." in check.output
