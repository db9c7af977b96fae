"""EmbeddedIndex: the search index as tantivy files in a folder (the default, no server).

Layout of the folder:

    CURRENT                     name of the active generation, replaced atomically
    gen-<UTC time>-<pid>/       a tantivy index; a rebuild writes a new one

Readers (the portal's processes) open the generation CURRENT names and notice when it
changes (one stat per search), so a rebuild switches every process over without a
restart; the previous generation is kept until the next rebuild, so a process that has
not looked yet still has files to read. Writers (the indexer) take tantivy's own writer
lock for the duration of one call and release it, so several processes can take turns;
a call waits up to WRITER_WAIT_SECONDS for the lock.

Per query the work in Python is bounded: facet counts (and, when many pages match, the
document total) come from one tantivy aggregation; grouping looks at the best few
hundred pages (all of them when at most EXACT_TOTAL_MAX_PAGES match, which makes the
total exact; more only when paging deep); stored text is read only for the pages shown,
and snippets are cut in Python from those few pages (tantivy's SnippetGenerator only
knows the terms of plain term queries, so it cannot mark compounds or prefixes).

The access filter is a union of term queries: tantivy then reads the postings of a reader
token only as far as the query's own matches reach, where a term set would first collect
every page the user may read (twice per query: for ranking and for the facets).

The aggregation is a second pass over every matching page and costs about as much as
ranking them, so its result (facet counts and document total) is kept for a while per
(searcher version, access filter and filters, parsed query): paging, changing the sort
order and asking again reuse it. Each process reloads its searcher itself (tantivy's
"manual" policy), when the generation's meta.json has changed since the last search,
so the version is known exactly and a kept result never outlives the data it counted.

Writes made with `upsert` while a rebuild runs go to the old generation only; the
rebuild's caller (`indexer reindex`) should follow it with `indexer check`.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Occur, Query

from portal.errors import SearchError, SearchUnavailable
from portal.search import (
    DocumentHit,
    PageHit,
    RecordStamp,
    SearchQuery,
    SearchRecord,
    SearchResults,
    analysis,
    empty_facets,
)
from portal.search.query import AnyOf, Clause, ParsedQuery, Phrase, parse, replace_word

log = logging.getLogger(__name__)

POINTER = "CURRENT"
GENERATION_PREFIX = "gen-"
WRITER_HEAP_BYTES = 64_000_000
REBUILD_HEAP_BYTES = 128_000_000
REBUILD_THREADS = 2
WRITER_WAIT_SECONDS = 30.0

# How many best pages grouping looks at first; enough for several pages of 20
# documents even when documents have many matching pages. Paging deeper fetches more.
GROUPING_WINDOW = 400
GROUPING_WINDOW_MAX = 200_000
EXACT_TOTAL_MAX_PAGES = 2000
# Field weights: an exact word (or its inflection) in the text outranks the same word
# found only as part of a compound; a title match lifts every page of the document a bit.
TEXT_BOOST = 1.0
COMPOUND_BOOST = 0.3
TITLE_BOOST = 0.5
# "Did you mean" is only worth computing when the query found (almost) nothing.
SUGGEST_BELOW_TOTAL = 3
FACET_SIZE = 10_000
# A filter on more values than this is a term set (one pass collecting every page that has
# one of them); on fewer, a union of term queries, which is cheaper to intersect.
FILTER_UNION_MAX_VALUES = 32
# Aggregation results kept per process (a few kilobytes each), and for how long at most.
# A commit makes them unused at once (see _Generation); the time limit is only a backstop.
AGGREGATION_CACHE_SIZE = 256
AGGREGATION_CACHE_SECONDS = 300.0
# Built tantivy queries kept per process: a prefix ("renover*") compiles an automaton per
# field, about a millisecond, where the rest of building a query takes microseconds.
QUERY_CACHE_SIZE = 256
QUERY_CACHE_SECONDS = 3600.0


def _schema() -> tantivy.Schema:
    da = analysis.ANALYZER_NAME
    b = tantivy.SchemaBuilder()
    b.add_text_field("id", tokenizer_name="raw", index_option="basic")
    # (record_type, source_id) packed in one number: the grouping key read per hit.
    b.add_integer_field("group", indexed=True, fast=True)
    b.add_integer_field("source_id", indexed=True, fast=True)
    b.add_integer_field("version", fast=True)
    b.add_integer_field("page", fast=True)
    b.add_text_field("record_type", tokenizer_name="raw", fast=True, index_option="basic")
    b.add_integer_field("organisation_id", indexed=True, fast=True)
    b.add_integer_field("department_id", indexed=True, fast=True)
    b.add_text_field("kind", tokenizer_name="raw", fast=True, index_option="basic")
    b.add_integer_field("year", indexed=True, fast=True)
    b.add_text_field("visibility", tokenizer_name="raw", index_option="basic")
    b.add_text_field("readers", tokenizer_name="raw", index_option="basic")
    b.add_date_field("date", indexed=True, fast=True)
    # Indexed with "aa" read as "å" (tantivy has no character filters), not stored: the
    # text as written is in `payload`, which is what snippets are cut from.
    b.add_text_field("text", tokenizer_name=da, index_option="position")
    b.add_text_field("compound", tokenizer_name=da, index_option="freq")
    b.add_text_field("title", tokenizer_name=da, index_option="position")
    b.add_bytes_field("payload", stored=True)
    return b.build()


def _unavailable(reason: str) -> SearchUnavailable:
    # The reason names paths: it goes to the log, not to the user.
    log.warning("search unavailable: %s", reason)
    return SearchUnavailable()


def group_key(record_type: str, source_id: int) -> int:
    if not 0 <= source_id < 2**32:
        raise ValueError(f"source_id out of range: {source_id}")
    # 31 bits of type: tantivy-py mishandles deleting by integer terms of 2**63 and up.
    return ((zlib.crc32(record_type.encode()) & 0x7FFFFFFF) << 32) | source_id


def _as_datetime(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return datetime(value.year, value.month, value.day)


def _document(record: SearchRecord) -> tantivy.Document:
    text = analysis.prepare(record.text)
    title = analysis.prepare(record.title)
    doc = tantivy.Document()
    doc.add_text("id", record.id)
    doc.add_integer("group", group_key(record.record_type, record.source_id))
    doc.add_integer("source_id", record.source_id)
    doc.add_integer("version", record.version)
    doc.add_integer("page", record.page)
    doc.add_text("record_type", record.record_type)
    if record.organisation_id is not None:
        doc.add_integer("organisation_id", record.organisation_id)
    if record.department_id is not None:
        doc.add_integer("department_id", record.department_id)
    doc.add_text("kind", record.kind)
    doc.add_integer("year", record.year)
    doc.add_text("visibility", record.visibility)
    for reader in record.readers:
        doc.add_text("readers", reader)
    doc.add_date("date", _as_datetime(record.date))
    doc.add_text("text", analysis.normalise_aa(text))
    doc.add_text("compound", analysis.compound_text(title + "\n" + text))
    doc.add_text("title", analysis.normalise_aa(title))
    payload = {
        "id": record.id,
        "source_id": record.source_id,
        "version": record.version,
        "page": record.page,
        "record_type": record.record_type,
        "title": title,
        "text": text,
        "organisation_id": record.organisation_id,
        "organisation_name": record.organisation_name,
        "department_id": record.department_id,
        "kind": record.kind,
        "year": record.year,
        "visibility": record.visibility,
        "date": record.date.isoformat(),
        "fingerprint": record.fingerprint(),
    }
    doc.add_bytes("payload", json.dumps(payload, ensure_ascii=False).encode())
    return doc


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


# Searcher versions, unique in the process: a generation opened again (after close())
# must not reuse the numbers of its earlier opening.
_versions = itertools.count(1)


@dataclass
class _Generation:
    """One opened generation. Its searcher changes only in `reload`, which takes a new
    `version`, so (name, version) names what a searcher shows."""

    name: str
    index: tantivy.Index
    schema: tantivy.Schema
    path: Path
    version: int = field(default_factory=lambda: next(_versions))
    # meta.json as it was at the last reload; tantivy replaces it on every commit.
    committed: tuple[int, int, int] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def searcher(self) -> tuple[int, tantivy.Searcher]:
        """The searcher for one query and its version, after a reload if a writer (in any
        process) has committed since the last one."""
        committed = _file_stamp(self.path / "meta.json")
        if committed is not None and committed != self.committed:
            self.reload(committed)
        with self.lock:
            return self.version, self.index.searcher()

    def reload(self, committed: tuple[int, int, int] | None = None) -> None:
        committed = committed or _file_stamp(self.path / "meta.json")
        with self.lock:
            self.index.reload()
            self.version = next(_versions)
            self.committed = committed


def _open_generation(path: Path, *, create: bool = False) -> _Generation:
    schema = _schema()
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        committed = _file_stamp(path / "meta.json")
        index = tantivy.Index(schema, path=str(path), reuse=True) if create else tantivy.Index.open(str(path))
        # Reloaded by _Generation.searcher() when a commit is seen, not by a watcher thread.
        index.config_reader(reload_policy="manual")
    except (ValueError, OSError) as exc:
        raise _unavailable(f"cannot open search index {path}: {exc}") from exc
    index.register_tokenizer(analysis.ANALYZER_NAME, analysis.tantivy_analyzer())
    return _Generation(path.name, index, index.schema, path, committed=committed)


class _Recent:
    """Recently computed values by key, at most `size` of them and for `seconds` at most
    (least recently used go first). Shared by the threads of a process."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size = size
        self.seconds = seconds
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < now:
                if entry is not None:
                    del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        if self.size < 1:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + self.seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class _Caches:
    """What an EmbeddedIndex keeps between searches (see the module docstring)."""

    aggregations: _Recent = field(default_factory=lambda: _Recent(AGGREGATION_CACHE_SIZE, AGGREGATION_CACHE_SECONDS))
    user_queries: _Recent = field(default_factory=lambda: _Recent(QUERY_CACHE_SIZE, QUERY_CACHE_SECONDS))


class _Writer:
    """The object `rebuild()` yields: writes into the new generation only."""

    def __init__(self, writer: tantivy.IndexWriter) -> None:
        self._writer = writer

    def upsert(self, records: Iterable[SearchRecord]) -> None:
        for record in records:
            self._writer.delete_documents_by_term("id", record.id)
            self._writer.add_document(_document(record))


class EmbeddedIndex:
    """SearchIndex on tantivy files under `root`. See the module docstring."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._lock = threading.RLock()
        self.caches = _Caches()
        # (stamp of CURRENT, generation it named), swapped as one object so a thread
        # never pairs a new stamp with an old generation.
        self._opened: tuple[tuple[int, int, int], _Generation] | None = None

    # --- opening and switching --------------------------------------------------

    def _pointer(self) -> Path:
        return self.root / POINTER

    def _current(self) -> _Generation:
        """The generation CURRENT names, reopened when CURRENT has changed."""
        try:
            st = os.stat(self._pointer())
        except OSError as exc:
            raise _unavailable(f"no search index at {self.root}") from exc
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        opened = self._opened
        if opened is not None and opened[0] == stamp:
            return opened[1]
        with self._lock:
            opened = self._opened
            if opened is not None and opened[0] == stamp:
                return opened[1]
            try:
                name = self._pointer().read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise _unavailable(f"no search index at {self.root}") from exc
            generation = _open_generation(self.root / name)
            self._opened = (stamp, generation)
            return generation

    def create(self) -> None:
        """Make an empty index if there is none. Idempotent."""
        with self._lock, _folder_lock(self.root):
            if self._exists():
                return
            name = _new_generation_name()
            _open_generation(self.root / name, create=True)
            self._switch_to(name)

    def _switch_to(self, name: str) -> None:
        """Point CURRENT at `name` atomically (write a temporary file, rename it over)."""
        temporary = self.root / f".{POINTER}.{os.getpid()}.{threading.get_ident()}"
        temporary.write_text(name + "\n", encoding="utf-8")
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, self._pointer())
        _fsync_dir(self.root)
        self._current()

    def _exists(self) -> bool:
        try:
            name = self._pointer().read_text(encoding="utf-8").strip()
        except OSError:
            return False
        return bool(name) and (self.root / name / "meta.json").exists()

    def _writable(self) -> _Generation:
        if not self._exists():
            if self._opened is not None:
                # It was here and is gone (its volume unmounted, its folder moved away): a fresh,
                # empty index in its place would hide that, and lose these writes when it is back.
                raise _unavailable(f"search index at {self.root} has disappeared")
            self.create()
        return self._current()

    @contextmanager
    def _writer(
        self, generation: _Generation, heap: int = WRITER_HEAP_BYTES, threads: int = 1
    ) -> Iterator[tantivy.IndexWriter]:
        """One writer for one call: commit on success, roll back on error, then release
        tantivy's lock so another process may write."""
        writer = _acquire_writer(generation.index, heap, threads)
        try:
            yield writer
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()
        generation.reload()

    # --- writes ------------------------------------------------------------------

    def upsert(self, records: Iterable[SearchRecord]) -> None:
        generation = self._writable()
        with self._writer(generation) as writer:
            _Writer(writer).upsert(records)

    def delete_source(self, source_id: int, *, record_type: str = "page") -> None:
        generation = self._writable()
        with self._writer(generation) as writer:
            writer.delete_documents_by_term("group", group_key(record_type, source_id))

    def delete_records(self, ids: Iterable[str]) -> None:
        generation = self._writable()
        with self._writer(generation) as writer:
            for record_id in ids:
                writer.delete_documents_by_term("id", record_id)

    @contextmanager
    def rebuild(self) -> Iterator[_Writer]:
        """A new generation, filled through the yielded writer and switched to at the
        end; readers answer from the old one until then."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = _new_generation_name()
        path = self.root / name
        generation = _open_generation(path, create=True)
        try:
            with self._writer(generation, REBUILD_HEAP_BYTES, REBUILD_THREADS) as writer:
                yield _Writer(writer)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        with self._lock, _folder_lock(self.root):
            previous = self._current().name if self._exists() else None
            self._switch_to(name)
            self._remove_old_generations(keep={name, previous})
        log.info("search index rebuilt: %s", self.describe())

    def _remove_old_generations(self, keep: set[str | None]) -> None:
        # Only generations older than the ones kept: a newer one may be a rebuild in
        # progress in another process.
        oldest_kept = min(k for k in keep if k)
        for entry in self.root.iterdir():
            if entry.name.startswith(GENERATION_PREFIX) and entry.name not in keep and entry.name < oldest_kept:
                shutil.rmtree(entry, ignore_errors=True)

    # --- reads -------------------------------------------------------------------

    def refresh(self) -> None:
        generation = self._current()
        generation.reload()

    def count(self) -> int:
        return self._current().searcher()[1].num_docs

    def check(self) -> None:
        generation = self._current()
        try:
            generation.searcher()[1].search(Query.all_query(), 1, count=False)
        except (ValueError, OSError) as exc:
            raise _unavailable(f"search index at {self.root} does not answer: {exc}") from exc
        if not (self.root / generation.name / "meta.json").exists():
            raise _unavailable(f"search index files missing under {self.root}")

    def close(self) -> None:
        with self._lock:
            self._opened = None

    def describe(self) -> str:
        try:
            generation = self._current()
        except SearchUnavailable:
            return f"embedded tantivy index at {self.root} (missing)"
        searcher = generation.index.searcher()
        return (
            f"embedded tantivy index at {self.root} (generation {generation.name}, "
            f"{searcher.num_docs} records, {searcher.num_segments} segments)"
        )

    def record_ids_for_check(self) -> dict[str, RecordStamp]:
        _, searcher = self._current().searcher()
        total = searcher.num_docs
        stamps: dict[str, RecordStamp] = {}
        if total == 0:
            return stamps
        for _, address in searcher.search(Query.all_query(), total, count=False).hits:
            payload = json.loads(searcher.doc(address).get_first("payload"))
            stamps[payload["id"]] = RecordStamp(payload["source_id"], payload["version"], payload["fingerprint"])
        return stamps

    def search(self, query: SearchQuery) -> SearchResults:
        parsed = parse(query.text)
        if not query.readers or parsed.only_stop_words:
            return SearchResults(total=0, facets=empty_facets())
        generation = self._current()
        try:
            return _Search(generation, query, parsed, self.caches).run()
        except ValueError as exc:
            # tantivy reports I/O trouble (files removed under it) as ValueError.
            log.error("search failed in %s: %s", self.root, exc)
            raise SearchError() from exc


class _Search:
    """One query against one searcher (a consistent snapshot of the index)."""

    def __init__(
        self,
        generation: _Generation,
        query: SearchQuery,
        parsed: ParsedQuery,
        caches: _Caches | None = None,
    ) -> None:
        self.schema = generation.schema
        self.version, self.searcher = generation.searcher()
        self.generation_name = generation.name
        self.query = query
        self.parsed = parsed
        self.filter = self._filters()
        self.caches = caches

    def run(self) -> SearchResults:
        self.highlighter = self.parsed.highlighter()
        q = self.query
        full = self._with_filter(self._built_user_query())
        by_date = q.sort == "date" or self.parsed.matches_everything
        wanted = q.offset + q.per_page
        window = max(GROUPING_WINDOW, wanted * q.pages_per_document * 2)
        found = self._top(full, window, by_date, count=True)
        matching_pages = found.count or 0
        # Few matching pages: fetch them all and count documents exactly. Many: the
        # cardinality sketch (about 1-2 % off) is far cheaper than fetching them all.
        exact = matching_pages <= EXACT_TOTAL_MAX_PAGES
        hits = found.hits
        groups = self._group(hits, q.pages_per_document)
        if exact and matching_pages > len(hits):
            # The rest only: the ranking is deterministic, so the first pages are the same.
            rest = self._top(full, matching_pages - len(hits), by_date, offset=len(hits)).hits
            groups = self._group(rest, q.pages_per_document, into=groups)
            hits = hits + rest
        while not exact and len(groups) < wanted and len(hits) == window and window < GROUPING_WINDOW_MAX:
            window *= 4
            hits = self._top(full, window, by_date).hits
            groups = self._group(hits, q.pages_per_document)

        results = SearchResults(total=0, facets=empty_facets())
        if matching_pages:
            facets, documents = self._aggregate(full, exact)
            results.facets = facets
            results.total = len(groups) if exact else max(documents, len(groups))
            shown = list(groups.items())[q.offset : wanted]
            if by_date:
                shown = self._best_pages_by_score(full, shown)
            results.hits = [self._document_hit(pages) for _, pages in shown]
        if results.total < SUGGEST_BELOW_TOTAL:
            results.suggestion = self._suggestion()
        return results

    def _aggregate(self, full: Query, exact: bool) -> tuple[dict[str, dict[str, int]], int]:
        """Facet counts and (unless `exact`) the estimated number of documents, kept in
        the cache under everything they depend on: the searcher's version, the access
        tokens and filters, and the parsed query; not the sort order or the page."""
        q = self.query
        key = (
            self.generation_name, self.version, exact, self.parsed, tuple(sorted(q.readers)),
            _tuple(q.organisation_ids), _tuple(q.department_ids), _tuple(q.kinds), _tuple(q.visibilities),
            _tuple(q.record_types), q.year_from, q.year_to,
        )
        cache = self.caches.aggregations if self.caches is not None else None
        cached = cache.get(key) if cache is not None else None
        if cached is None:
            aggregated = self.searcher.aggregate(full, _FACETS if exact else _FACETS_AND_TOTAL)
            cached = (_facets(aggregated), 0 if exact else _count(aggregated["documents"]))
            if cache is not None:
                cache.put(key, cached)
        facets, documents = cached
        return {name: dict(values) for name, values in facets.items()}, documents

    def _top(
        self, query: Query, limit: int, by_date: bool, count: bool = False, offset: int = 0
    ) -> tantivy.SearchResult:
        return self.searcher.search(
            query, max(limit, 1), count=count, order_by_field="date" if by_date else None, offset=offset
        )

    # --- building queries -----------------------------------------------------------

    def _filters(self) -> Query:
        q = self.query
        clauses = [self._any_of("readers", sorted(q.readers))]
        if q.organisation_ids is not None:
            clauses.append(self._any_of("organisation_id", q.organisation_ids))
        if q.department_ids is not None:
            clauses.append(self._any_of("department_id", q.department_ids))
        if q.kinds is not None:
            clauses.append(self._any_of("kind", q.kinds))
        if q.visibilities is not None:
            clauses.append(self._any_of("visibility", q.visibilities))
        if q.record_types is not None:
            clauses.append(self._any_of("record_type", q.record_types))
        s = self.schema
        if q.year_from is not None or q.year_to is not None:
            clauses.append(
                Query.range_query(s, "year", tantivy.FieldType.Integer, q.year_from, q.year_to)
            )
        # Filters decide what matches, never how well: no score of their own.
        return Query.const_score_query(
            Query.boolean_query([(Occur.Must, c) for c in clauses]), 0.0
        )

    def _any_of(self, field: str, values: Iterable[Any]) -> Query:
        """Records whose `field` has one of `values` (none: nothing)."""
        values = list(dict.fromkeys(values))
        if not values:
            return Query.empty_query()
        if len(values) > FILTER_UNION_MAX_VALUES:
            return Query.term_set_query(self.schema, field, values)
        terms = [Query.term_query(self.schema, field, value, index_option="basic") for value in values]
        if len(terms) == 1:
            return terms[0]
        return Query.boolean_query([(Occur.Should, term) for term in terms])

    def _with_filter(self, user_query: Query) -> Query:
        return Query.boolean_query([(Occur.Must, user_query), (Occur.Must, self.filter)])

    def _built_user_query(self) -> Query:
        """`_user_query(self.parsed)`, built once per generation (its schema) and query."""
        cache = self.caches.user_queries if self.caches is not None else None
        key = (self.generation_name, self.parsed)
        built = cache.get(key) if cache is not None else None
        if built is None:
            built = self._user_query(self.parsed)
            if cache is not None:
                cache.put(key, built)
        return built

    def _user_query(self, parsed: ParsedQuery) -> Query:
        if parsed.matches_everything:
            return Query.all_query()
        clauses: list[tuple[Occur, Query]] = []
        for item in parsed.required:
            if isinstance(item, AnyOf):
                options = [(Occur.Should, self._clause(option)) for option in item.options]
                clauses.append((Occur.Must, Query.boolean_query(options)))
            else:
                clauses.append((Occur.Must, self._clause(item)))
        if not clauses:
            clauses.append((Occur.Must, Query.all_query()))
        clauses.extend((Occur.MustNot, self._clause(item)) for item in parsed.excluded)
        return Query.boolean_query(clauses)

    def _clause(self, clause: Clause) -> Query:
        s = self.schema
        if isinstance(clause, Phrase):
            terms = analysis.phrase_terms(" ".join(clause.words))
            if not terms:
                return Query.empty_query()
            if len(terms) == 1:
                return self._term(terms[0][1])
            first = terms[0][0]
            words = [(position - first, term) for position, term in terms]
            return Query.boolean_query(
                [
                    (Occur.Should, Query.boost_query(Query.phrase_query(s, "text", words), TEXT_BOOST)),
                    (Occur.Should, Query.boost_query(Query.phrase_query(s, "title", words), TITLE_BOOST)),
                ]
            )
        if clause.prefix:
            pattern = _regex_escape(analysis.prefix_term(clause.word)) + ".*"
            return Query.boolean_query(
                [
                    (Occur.Should, Query.boost_query(Query.regex_query(s, "text", pattern), TEXT_BOOST)),
                    (Occur.Should, Query.boost_query(Query.regex_query(s, "compound", pattern), COMPOUND_BOOST)),
                    (Occur.Should, Query.boost_query(Query.regex_query(s, "title", pattern), TITLE_BOOST)),
                ]
            )
        term = analysis.stem(clause.word)
        return self._term(term) if term else Query.empty_query()

    def _term(self, term: str) -> Query:
        s = self.schema
        return Query.boolean_query(
            [
                (Occur.Should, Query.boost_query(Query.term_query(s, "text", term), TEXT_BOOST)),
                (Occur.Should, Query.boost_query(Query.term_query(s, "compound", term), COMPOUND_BOOST)),
                (Occur.Should, Query.boost_query(Query.term_query(s, "title", term), TITLE_BOOST)),
            ]
        )

    # --- grouping into documents ------------------------------------------------------

    def _group(
        self,
        found: list[tuple[Any, tantivy.DocAddress]],
        per_group: int,
        into: dict[int, list[tuple[float, tantivy.DocAddress]]] | None = None,
    ) -> dict[int, list[tuple[float, tantivy.DocAddress]]]:
        """Hits in order → {group: its first `per_group` hits}, groups in order of their
        first hit (so best document first). With `into`, `found` continues those hits."""
        keys = self.searcher.fast_field_values("group", [address for _, address in found])
        groups: dict[int, list[tuple[float, tantivy.DocAddress]]] = {} if into is None else into
        for (score, address), key in zip(found, keys):
            pages = groups.setdefault(key, [])
            if len(pages) < per_group:
                pages.append((score, address))
        return groups

    def _best_pages_by_score(
        self, full: Query, shown: list[tuple[int, list[tuple[Any, tantivy.DocAddress]]]]
    ) -> list[tuple[int, list[tuple[Any, tantivy.DocAddress]]]]:
        """For date order: the documents are chosen by date, their pages by relevance."""
        if not shown:
            return shown
        keys = [key for key, _ in shown]
        restricted = Query.boolean_query(
            [(Occur.Must, full), (Occur.Must, Query.term_set_query(self.schema, "group", keys))]
        )
        per_group = self.query.pages_per_document
        scored = self._group(
            self.searcher.search(restricted, max(GROUPING_WINDOW, len(keys) * per_group * 4), count=False).hits,
            per_group,
        )
        return [(key, scored.get(key) or [(0.0, a) for _, a in pages]) for key, pages in shown]

    def _document_hit(self, pages: list[tuple[Any, tantivy.DocAddress]]) -> DocumentHit:
        highlighter = self.highlighter
        page_hits: list[PageHit] = []
        first: dict[str, Any] | None = None
        for score, address in pages:
            payload = json.loads(self.searcher.doc(address).get_first("payload"))
            first = first or payload
            page_hits.append(
                PageHit(
                    page=payload["page"],
                    snippet_html=highlighter.snippet(payload["text"]),
                    score=float(score),
                    record_id=payload["id"],
                )
            )
        assert first is not None
        return DocumentHit(
            source_id=first["source_id"],
            title=first["title"],
            organisation_id=first["organisation_id"],
            organisation_name=first["organisation_name"],
            kind=first["kind"],
            year=first["year"],
            score=page_hits[0].score,
            pages=page_hits,
            record_type=first["record_type"],
            version=first["version"],
            department_id=first["department_id"],
            visibility=first["visibility"],
            date=first["date"],
        )

    # --- did you mean ---------------------------------------------------------------------

    def _count(self, query: Query) -> int:
        return self.searcher.search(self._with_filter(query), 1, count=True).count

    def _suggestion(self) -> str | None:
        """Replace the first word that has no hits for this user by a close word that
        does, if the corrected query then has hits. Candidates come only from records
        the user may read, so a suggestion never reveals anything."""
        for word in self.parsed.plain_words():
            term = analysis.stem(word)
            if not term or len(word) < 4 or self._count(self._term(term)):
                continue
            for candidate in self._candidates(word, term):
                corrected = replace_word(self.parsed.source, word, candidate)
                corrected_query = self._user_query(parse(corrected))
                if corrected != self.parsed.source and self._count(corrected_query):
                    return corrected
        return None

    def _candidates(self, word: str, term: str) -> list[str]:
        """Words within a small edit distance of `word` in records this user may read,
        closest and most frequent first. Stems of misspelt words are unpredictable
        ("anvisnig" stems to "anvisn"), so both the word and its stem are looked up
        and candidates are compared as written."""
        lowered = analysis.normalise_aa(word).lower()
        distance = 1 if len(lowered) <= 5 else 2
        fuzzy = Query.boolean_query(
            [
                (Occur.Should, Query.fuzzy_term_query(self.schema, "text", target, distance=distance, transposition_cost_one=True))
                for target in {lowered, term}
            ]
        )
        seen: dict[str, int] = {}
        for _, address in self.searcher.search(self._with_filter(fuzzy), 20, count=False).hits:
            text = json.loads(self.searcher.doc(address).get_first("payload"))["text"]
            for surface, stem in analysis.iter_words_with_stems(text):
                if stem != term and abs(len(surface) - len(lowered)) <= distance:
                    seen[surface] = seen.get(surface, 0) + 1
        ranked = [(analysis.levenshtein(lowered, w), -n, w) for w, n in seen.items()]
        return [w for d, _, w in sorted(ranked) if d <= distance][:3]


# Facet values count matching PAGES (records): a count of distinct documents per value
# needs a cardinality sketch per bucket, which at 200,000 pages costs three to four
# times the rest of a one-word query. The total counts documents.
_FACETS: dict[str, Any] = {
    "organisation": {"terms": {"field": "organisation_id", "size": FACET_SIZE}},
    "kind": {"terms": {"field": "kind", "size": FACET_SIZE}},
    "year": {"terms": {"field": "year", "size": FACET_SIZE}},
}
_FACETS_AND_TOTAL: dict[str, Any] = {**_FACETS, "documents": {"cardinality": {"field": "group"}}}


def _tuple(values: list[Any] | None) -> tuple[Any, ...] | None:
    return None if values is None else tuple(values)


def _count(cardinality: dict[str, Any]) -> int:
    return int(round(cardinality.get("value") or 0))


def _facets(aggregated: dict[str, Any]) -> dict[str, dict[str, int]]:
    facets = empty_facets()
    for name in facets:
        for bucket in aggregated.get(name, {}).get("buckets", []):
            if bucket["doc_count"]:
                facets[name][_key(bucket["key"])] = int(bucket["doc_count"])
    return facets


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _regex_escape(text: str) -> str:
    # tantivy's regex syntax; prefixes are letters and digits, but be safe.
    return "".join("\\" + ch if ch in ".+*?()|[]{}^$\\#&-~\"" else ch for ch in text)


def _new_generation_name() -> str:
    return f"{GENERATION_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}"


def _acquire_writer(index: tantivy.Index, heap: int, threads: int) -> tantivy.IndexWriter:
    deadline = time.monotonic() + WRITER_WAIT_SECONDS
    delay = 0.01
    while True:
        try:
            return index.writer(heap, threads)
        except ValueError as exc:
            if "LockBusy" not in str(exc):
                log.error("cannot write the search index: %s", exc)
                raise SearchError() from exc
            if time.monotonic() >= deadline:
                raise SearchError("Søgeindekset er optaget af en anden proces.") from exc
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


@contextmanager
def _folder_lock(root: Path) -> Iterator[None]:
    """Serialise creating and switching generations between processes."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not on POSIX: creation races are then only unlikely
        yield
        return
    with open(root / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
