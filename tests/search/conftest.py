"""Fixtures for the search contract suite.

`corpus` is a fresh, empty index per test on every engine: the embedded engine in
tmp_path, and OpenSearch: the cluster in PORTAL_TEST_OPENSEARCH_URL, or else the test
node that tests/opensearch_node.py starts (each test gets its own index prefix, removed
afterwards). Without Java/Maven and without that variable the OpenSearch runs skip with
the reason (under CI they fail). Tests arrange their own few Danish pages with
`corpus.page(...)`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from portal.search import SearchIndex, SearchQuery, SearchRecord, SearchResults, open_index
from tests.opensearch_node import opensearch_url, with_prefix

ENGINES = ["embedded", "opensearch"]

PUBLIC = frozenset({"public"})
ORG3_STAFF = frozenset({"public", "authenticated", "party:3"})


class Corpus:
    """A real index plus the few helpers every contract test needs."""

    def __init__(self, index: SearchIndex, engine: str) -> None:
        self.index = index
        self.engine = engine

    @staticmethod
    def page(
        document_id: int,
        page: int = 1,
        text: str = "",
        *,
        title: str | None = None,
        organisation_id: int | None = 3,
        department_id: int | None = None,
        kind: str = "referat",
        year: int = 2021,
        visibility: str = "public",
        readers: Iterable[str] = ("public",),
        day: date | None = None,
        version: int = 1,
        record_type: str = "page",
    ) -> SearchRecord:
        return SearchRecord(
            id=f"{record_type}:{document_id}:v{version}:p{page}",
            source_id=document_id,
            version=version,
            page=page,
            record_type=record_type,
            title=title if title is not None else f"Dokument {document_id}",
            text=text,
            organisation_id=organisation_id,
            organisation_name=f"Boligorganisation {organisation_id}",
            department_id=department_id,
            kind=kind,
            year=year,
            visibility=visibility,
            date=day or date(year, 1, 1) + timedelta(days=document_id % 300),
            readers=list(readers),
        )

    def add(self, *records: SearchRecord) -> None:
        self.index.upsert(records)
        self.index.refresh()

    def find(self, text: str, readers: Iterable[str] = PUBLIC, **filters: Any) -> SearchResults:
        return self.index.search(SearchQuery(text=text, readers=frozenset(readers), **filters))

    def ids(self, text: str, readers: Iterable[str] = PUBLIC, **filters: Any) -> list[int]:
        return [hit.source_id for hit in self.find(text, readers, **filters).hits]


def _opensearch_cleanup(url: str, prefix: str) -> None:
    from portal.search.opensearch import client_for

    client = client_for(url, timeout=10)
    try:
        for name in client.indices.get(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True):
            client.indices.delete(index=name, ignore_unavailable=True)
    finally:
        client.close()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    if request.param == "opensearch":
        opensearch_url()  # waits for the test node; skips (fails under CI) without one
    return request.param


@pytest.fixture
def index_url(engine: str, tmp_path: Path) -> Iterator[str]:
    """Where a fresh index for this test lives (nothing is created yet)."""
    if engine == "embedded":
        yield str(tmp_path / "search")
        return
    base = opensearch_url()
    prefix = f"aftaleportalen-test-{uuid.uuid4().hex[:12]}"
    yield with_prefix(base, prefix)
    _opensearch_cleanup(base, prefix)


@pytest.fixture
def corpus(engine: str, index_url: str) -> Iterator[Corpus]:
    index = open_index(index_url, create=True)
    try:
        yield Corpus(index, engine)
    finally:
        index.close()
