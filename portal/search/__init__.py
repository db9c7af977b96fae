"""Full-text search: the records we index, the query we accept, the results we give, and
the `SearchIndex` protocol with two implementations behind `open_index(url)`:

- `EmbeddedIndex` (portal.search.embedded): tantivy in a folder, the default;
- `OpenSearchIndex` (portal.search.opensearch): an OpenSearch cluster, index behind an alias.

Access control happens INSIDE the query: every record carries `readers` (access tokens
computed by portal.access) and every query carries the user's tokens; a record matches
only if they share one. Totals, facet counts, snippets and suggestions are all computed
on the filtered set, so none of them can reveal a record the user may not read.

One analysis chain serves both engines (portal.search.analysis), and one query language
(portal.search.query). Vendor errors become SearchError / SearchUnavailable here at the
boundary.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple, Protocol, runtime_checkable
from urllib.parse import urlsplit

from portal.errors import InvalidQuery

__all__ = [
    "SORTS",
    "MAX_PER_PAGE",
    "MAX_RESULT_WINDOW",
    "DocumentHit",
    "IndexWriterLike",
    "PageHit",
    "RecordStamp",
    "SearchIndex",
    "SearchQuery",
    "SearchRecord",
    "SearchResults",
    "open_index",
]

SORTS = ("relevance", "date")
MAX_PER_PAGE = 100
MAX_PAGES_PER_DOCUMENT = 10
# Deepest document reachable by paging (OpenSearch's default max_result_window).
MAX_RESULT_WINDOW = 10_000


@dataclass
class SearchRecord:
    """One searchable unit: a page of a document version (later also an agreement
    section or an obligation). `id` is unique; writing a record with an existing id
    replaces it. Records group into one hit by (`record_type`, `source_id`)."""

    id: str
    # The id of what the record comes from: a document, an agreement or an obligation,
    # as `record_type` says.
    source_id: int
    version: int
    page: int  # 1-based; 0 for records that are not pages
    record_type: str  # "page", "agreement_section", "obligation"
    title: str
    text: str
    organisation_id: int | None
    organisation_name: str
    department_id: int | None
    kind: str
    year: int  # styringsår
    visibility: str  # "party", "dialogue", "all_parties", "public"
    date: datetime | date
    readers: list[str]  # access tokens, e.g. ["public"] or ["party:12", "party:1"]

    def fingerprint(self) -> str:
        """A digest of everything indexed, so `indexer check` can tell a stale record
        from a current one by comparing this with the database's version."""
        payload = json.dumps(
            [
                self.id, self.source_id, self.version, self.page, self.record_type,
                self.title, self.text, self.organisation_id, self.organisation_name,
                self.department_id, self.kind, self.year, self.visibility,
                self.date.isoformat(), sorted(self.readers),
            ],
            ensure_ascii=False,
        )
        return hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()

    @property
    def group(self) -> str:
        return f"{self.record_type}:{self.source_id}"


@dataclass
class SearchQuery:
    """What a user asks, with the user's access tokens (`readers`, required: an empty
    set matches nothing). Filters are ANDed; a list filter matches any of its values.
    Results are pages of DOCUMENT groups (`page` is 1-based), each with its best
    `pages_per_document` pages. Raises InvalidQuery for out-of-range paging or sort."""

    text: str
    readers: frozenset[str]
    organisation_ids: list[int] | None = None
    department_ids: list[int] | None = None
    kinds: list[str] | None = None
    year_from: int | None = None
    year_to: int | None = None
    visibilities: list[str] | None = None
    record_types: list[str] | None = None
    sort: str = "relevance"  # "relevance" | "date" (newest first)
    page: int = 1
    per_page: int = 20
    pages_per_document: int = 3

    def __post_init__(self) -> None:
        self.readers = frozenset(self.readers)
        if self.sort not in SORTS:
            raise InvalidQuery("Ukendt sortering.", fields={"sort": "relevance eller date"})
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidQuery(f"Der kan vises 1 til {MAX_PER_PAGE} dokumenter pr. side.", fields={"per_page": "1-100"})
        if self.page < 1 or self.page * self.per_page > MAX_RESULT_WINDOW:
            raise InvalidQuery("Siden findes ikke.", fields={"page": f"1-{MAX_RESULT_WINDOW // self.per_page}"})
        if not 1 <= self.pages_per_document <= MAX_PAGES_PER_DOCUMENT:
            raise InvalidQuery("Ugyldigt antal sider pr. dokument.", fields={"pages_per_document": "1-10"})

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass
class PageHit:
    """A matching page; `snippet_html` is the page text HTML-escaped with `<mark>`
    around matches and nothing else."""

    page: int
    snippet_html: str
    score: float
    record_id: str = ""


@dataclass
class DocumentHit:
    """A matching document (group of records), with its best pages, best first.
    `score` is its best page's score (0.0 for non-relevance sorting on some engines)."""

    source_id: int  # a document's, agreement's or obligation's id, by `record_type`
    title: str
    organisation_id: int | None
    organisation_name: str
    kind: str
    year: int
    score: float
    pages: list[PageHit]
    record_type: str = "page"
    version: int = 0
    department_id: int | None = None
    visibility: str = ""
    date: str = ""  # ISO date of the document


@dataclass
class SearchResults:
    """`total` counts matching DOCUMENTS (record groups) the user may read. It is exact
    while few pages match (embedded: up to 2,000 pages; OpenSearch: up to 40,000
    documents); beyond that it is a cardinality estimate, within about 2 %.

    `facets` maps "organisation" (organisation id as text), "kind" and "year" to the
    number of matching PAGES (records) per value, with every filter of the query
    applied; values without matches are left out. Pages, not documents, because a
    distinct-document count per value costs a sketch per bucket: three to four times
    the rest of a one-word query over 200,000 pages.

    `suggestion` is a corrected query text that has hits for this user, or None."""

    total: int
    hits: list[DocumentHit] = field(default_factory=list)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    suggestion: str | None = None


FACETS = ("organisation", "kind", "year")


def empty_facets() -> dict[str, dict[str, int]]:
    return {name: {} for name in FACETS}


class RecordStamp(NamedTuple):
    """What `indexer check` compares with the database for one record."""

    source_id: int
    version: int
    fingerprint: str


class IndexWriterLike(Protocol):
    def upsert(self, records: Iterable[SearchRecord]) -> None: ...


@runtime_checkable
class SearchIndex(Protocol):
    """A search index. Writes are durable when the call returns and visible to searches
    after `refresh()` (within about a second anyway); only the indexer writes."""

    def create(self) -> None:
        """Make an empty index if there is none (idempotent); writes do it too."""
        ...

    def upsert(self, records: Iterable[SearchRecord]) -> None:
        """Add or replace records by id."""
        ...

    def delete_source(self, source_id: int, *, record_type: str = "page") -> None:
        """Remove every record of one source: all pages of all versions of a document,
        or every section of an agreement, or an obligation."""
        ...

    def delete_records(self, ids: Iterable[str]) -> None:
        """Remove records by id; unknown ids are ignored."""
        ...

    def search(self, query: SearchQuery) -> SearchResults:
        """Run a query under the user's access tokens. Raises SearchUnavailable when
        the index does not answer; never raises for what the user typed."""
        ...

    def record_ids_for_check(self) -> dict[str, RecordStamp]:
        """Every record id with its document, version and fingerprint."""
        ...

    def count(self) -> int:
        """Number of records."""
        ...

    def check(self) -> None:
        """Raise SearchUnavailable unless the index exists and answers (for /healthz)."""
        ...

    def rebuild(self) -> AbstractContextManager[IndexWriterLike]:
        """Write a NEW index through the yielded writer; on a clean exit switch to it
        atomically (readers keep answering from the old one until then), on an exception
        throw it away. Writes made through `upsert` meanwhile go to the old index only:
        run `indexer check` after a rebuild to catch them."""
        ...

    def refresh(self) -> None:
        """Make recent writes and a finished rebuild visible to this process."""
        ...

    def close(self) -> None: ...

    def describe(self) -> str:
        """One line for logs and `indexer check`: engine, location, size."""
        ...


def open_index(url: str, *, create: bool = False) -> SearchIndex:
    """The index at `url`: a folder path or file:// URL → EmbeddedIndex; http(s)://host:port[/prefix]
    → OpenSearchIndex (index name prefix from the path, default "aftaleportalen").

    Opening is cheap and touches nothing; with `create`, an empty index is made if none
    exists (the indexer and the app factory do this; checks and tests of a missing
    index don't)."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        from portal.search.opensearch import OpenSearchIndex

        index: SearchIndex = OpenSearchIndex(url)
    elif parts.scheme in ("", "file") or len(parts.scheme) == 1:  # "C:\..." on Windows
        from portal.search.embedded import EmbeddedIndex

        path = parts.path if parts.scheme == "file" else url
        index = EmbeddedIndex(path)
    else:
        raise ValueError(f"unsupported search index URL: {url!r}")
    if create:
        index.create()  # type: ignore[attr-defined]
    return index


def iter_batches(records: Iterable[SearchRecord], size: int) -> Iterator[list[SearchRecord]]:
    batch: list[SearchRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
