"""The search index unavailable for a while: its folder gone, as when its volume is unmounted.

Uploads go on, their index jobs wait, and the search page says that search is unavailable
(503, in Danish) instead of failing. When the folder is back the queue drains and the index
equals the database again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from portal import create_app
from portal.backends import close_backends
from portal.extensions import db
from portal.models import Document, Job, JobStatus
from portal.services.jobs import INDEX_DOCUMENT
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf_pages, upload
from tests.factories import ApiUser
from tests.faults.conftest import EDITOR, Portal, indexer_check, wait_for
from tests.indexing_helpers import drain

pytestmark = pytest.mark.slow


def _upload(portal: Portal, text: str) -> int:
    response = upload(portal.client, portal.demo.organisations[0].id, make_pdf_pages([text]), title=text[:40])
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _jobs(document_ids: list[int]) -> list[Job]:
    db.session.expire_all()
    return list(db.session.scalars(select(Job).where(Job.kind == INDEX_DOCUMENT, Job.object_id.in_(document_ids))
                                   .order_by(Job.id)))


def test_uploads_go_on_while_the_index_is_gone_and_the_queue_drains_when_it_is_back(
        make_portal: Callable[..., Portal], tmp_path: Path, app_config: dict[str, object]) -> None:
    index_folder = tmp_path / "search"
    portal = make_portal(search_url=str(index_folder))
    # The indexer runs as its own app (in production its own process), with its own open index.
    indexer_app = create_app({**app_config, "search_url": str(index_folder)})
    api = ApiUser(portal.app, EDITOR)
    try:
        first = _upload(portal, "Helhedsplanen for Vestbyen er vedtaget")
        with indexer_app.app_context():
            assert drain() == 1
        assert [h["document_id"] for h in api.search(q="helhedsplanen")["hits"]] == [first]

        index_folder.rename(tmp_path / "search-unmounted")
        try:
            during = [_upload(portal, "Parkeringsforholdene i Vestbyen drøftes"),
                      _upload(portal, "Budgettet for renoveringen af Vestbyen")]
            with indexer_app.app_context():
                assert drain() == 2
            jobs = _jobs(during)
            assert [(j.status, j.attempts) for j in jobs] == [(JobStatus.QUEUED, 1)] * 2, [j.last_error for j in jobs]
            assert all("SearchUnavailable" in (j.last_error or "") for j in jobs), [j.last_error for j in jobs]
            assert all(j.run_after.replace(tzinfo=UTC) > datetime.now(UTC) for j in jobs)
            assert not index_folder.exists(), "an empty index was made in place of the missing one"

            page = portal.client.get("/soeg", query_string={"q": "vestbyen"})
            text = page.get_data(as_text=True)
            assert page.status_code == 503, text[:500]
            assert "Søgningen er midlertidigt utilgængelig" in text and "Prøv igen om lidt" in text
            by_api = api.client.get("/api/v1/search", query_string={"q": "vestbyen"}, headers=api.headers)
            assert by_api.status_code == 503 and by_api.json["error"]["code"] == "search_unavailable"
            assert by_api.headers.get("Retry-After", "").isdigit()
            health = portal.client.get("/healthz")
            assert health.status_code == 503 and not health.json["checks"]["search_index"]["ok"]
            assert portal.client.get(f"/dokumenter/{during[0]}").status_code == 200  # the rest of the portal works
        finally:
            if not index_folder.exists():
                (tmp_path / "search-unmounted").rename(index_folder)

        with unit_of_work():
            # The backoff would run out by itself; shorten the wait.
            db.session.execute(update(Job).where(Job.status == JobStatus.QUEUED)
                               .values(run_after=datetime.now(UTC) - timedelta(seconds=1)))
        with indexer_app.app_context():
            assert drain() == 2
        assert [j.status for j in _jobs(during)] == [JobStatus.DONE] * 2
        # Another process's writes reach this one's searches within about a second.
        wait_for(lambda: {h["document_id"] for h in api.search(q="vestbyen")["hits"]} == {first, *during},
                 timeout=15, what="the portal to find the documents indexed after the outage")
        assert all(db.session.get(Document, i).current.status.value == "extracted" for i in during)
        check = indexer_check(portal.app)
        assert check.exit_code == 0, check.output
        assert portal.client.get("/healthz").status_code == 200
    finally:
        close_backends(indexer_app)
        indexer_app.extensions["database"].dispose()
