"""OpenSearchIndex: the search index on an OpenSearch cluster (the distributed option).

Each deployment's records live in an index named `<prefix>-<UTC time>` reached only
through the alias `<prefix>`. A rebuild fills a new index and moves the alias in one
`_aliases` call, so searches never see a half-built index. The mapping expresses the
analysis chain of portal.search.analysis (same stop words, stemmer, "aa" → "å"); the
compound parts are computed by that module too and indexed in a `compound` field, as on
the embedded engine, and queries are built from the same parsed clauses with the same
terms and weights. So both engines find the same documents and score them alike (to
within about 1 %: the engines round field lengths differently); documents with equal
scores may come in another order.

Grouping: `collapse` on the record group (record type + document id) with `inner_hits`
for the best pages; document totals and facet counts are cardinality aggregations over
the group, so they count documents as the embedded engine does. Snippets are cut in
Python from the text of the few pages shown, by the same highlighter as the embedded
engine's (portal.search.analysis.Highlighter), so both mark the same words and show the
same window: OpenSearch's own highlighter starts its fragment at the first match, which
for a match at the end of a long page left a snippet of one word.

Network trouble (refused, timeout, 5xx, 429) becomes SearchUnavailable; anything else
the cluster rejects becomes SearchError. Timeouts are short: a search that takes longer
than a few seconds is of no use to a person waiting for it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import (
    ConnectionError as OpenSearchConnectionError,
)
from opensearchpy.exceptions import (
    NotFoundError,
    OpenSearchException,
    TransportError,
)
from opensearchpy.helpers import BulkIndexError

from portal.errors import SearchError, SearchUnavailable
from portal.search import (
    FACETS,
    DocumentHit,
    PageHit,
    RecordStamp,
    SearchQuery,
    SearchRecord,
    SearchResults,
    analysis,
    empty_facets,
    iter_batches,
)
from portal.search.query import AnyOf, Clause, ParsedQuery, Phrase, Term, parse, replace_word

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "aftaleportalen"
SEARCH_TIMEOUT_SECONDS = 5.0
BULK_TIMEOUT_SECONDS = 120.0
BULK_BATCH = 500
# Same weights as the embedded engine (see portal.search.embedded).
TEXT_BOOST = 1.0
COMPOUND_BOOST = 0.3
TITLE_BOOST = 0.5
SUGGEST_BELOW_TOTAL = 3
FACET_SIZE = 1000
SNIPPET_CHARS = 240

_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,100}$")
_DISPLAY_FIELDS = [
    "id", "source_id", "version", "page", "record_type", "title", "organisation_id",
    "organisation_name", "department_id", "kind", "year", "visibility", "date",
]


def index_body() -> dict[str, Any]:
    """Settings and mapping of one generation of the index."""
    return {
        "settings": {
            # One shard: a few hundred thousand pages fit easily, and term statistics
            # (and so scores) are then the same for every query.
            "index": {"number_of_shards": 1},
            "analysis": analysis.opensearch_analysis(),
        },
        "mappings": {
            "dynamic": "strict",
            # `compound` is derived from title and text; it is searched, never shown.
            "_source": {"excludes": ["compound"]},
            "properties": {
                "id": {"type": "keyword"},
                "group": {"type": "keyword"},
                "source_id": {"type": "long"},
                "version": {"type": "integer"},
                "page": {"type": "integer"},
                "record_type": {"type": "keyword"},
                "title": {"type": "text", "analyzer": "da_text"},
                "text": {
                    "type": "text",
                    "analyzer": "da_text",
                    "fields": {
                        "words": {"type": "text", "analyzer": "da_words", "index_options": "docs", "norms": False},
                    },
                },
                # The compound parts of title and text, as the embedded engine's field of
                # the same name: each part once per distinct word, stemmed by da_text.
                "compound": {"type": "text", "analyzer": "da_text", "index_options": "freqs"},
                "organisation_id": {"type": "long"},
                "organisation_name": {"type": "keyword", "index": False},
                "department_id": {"type": "long"},
                "kind": {"type": "keyword"},
                "year": {"type": "integer"},
                "visibility": {"type": "keyword"},
                "date": {"type": "date"},
                "readers": {"type": "keyword"},
                "fingerprint": {"type": "keyword", "index": False},
            },
        },
    }


def _source(record: SearchRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "group": record.group,
        "source_id": record.source_id,
        "version": record.version,
        "page": record.page,
        "record_type": record.record_type,
        "title": analysis.prepare(record.title),
        "text": analysis.prepare(record.text),
        "compound": analysis.compound_text(analysis.prepare(record.title) + "\n" + analysis.prepare(record.text)),
        "organisation_id": record.organisation_id,
        "organisation_name": record.organisation_name,
        "department_id": record.department_id,
        "kind": record.kind,
        "year": record.year,
        "visibility": record.visibility,
        "date": record.date.isoformat(),
        "readers": list(record.readers),
        "fingerprint": record.fingerprint(),
    }


def _unavailable(reason: str) -> SearchUnavailable:
    # The reason may name hosts: it goes to the log, not to the user.
    log.warning("search unavailable: %s", reason)
    return SearchUnavailable()


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Vendor exceptions → ours."""
    try:
        yield
    except OpenSearchConnectionError as exc:  # refused, DNS, TLS, timeout
        raise _unavailable(f"{action}: {exc}") from exc
    except NotFoundError as exc:
        raise _unavailable(f"{action}: index or alias missing: {exc}") from exc
    except BulkIndexError as exc:
        log.error("%s: %d records rejected, first: %s", action, len(exc.errors), exc.errors[:1])
        raise SearchError() from exc
    except TransportError as exc:
        status = exc.status_code if isinstance(exc.status_code, int) else 0
        if status >= 500 or status == 429:
            raise _unavailable(f"{action}: {status} {exc.error}") from exc
        log.error("%s rejected by OpenSearch: %s %s %s", action, status, exc.error, exc.info)
        raise SearchError() from exc
    except OpenSearchException as exc:
        log.error("%s failed: %s", action, exc)
        raise SearchError() from exc


class _BulkWriter:
    """What `rebuild()` yields: bulk-writes into the new index only."""

    def __init__(self, client: OpenSearch, index: str) -> None:
        self._client = client
        self._index = index

    def upsert(self, records: Iterable[SearchRecord]) -> None:
        _bulk_index(self._client, self._index, records)


def _bulk_index(client: OpenSearch, index: str, records: Iterable[SearchRecord]) -> None:
    for batch in iter_batches(records, BULK_BATCH):
        actions = [{"_op_type": "index", "_index": index, "_id": r.id, "_source": _source(r)} for r in batch]
        with _translated("bulk index"):
            helpers.bulk(client, actions, request_timeout=BULK_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class ClusterURL:
    """What a PORTAL_SEARCH_URL for OpenSearch says (see `parse_url`)."""

    host: str  # scheme://host:port, without credentials: safe to log
    prefix: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None

    def client(self, timeout: float = SEARCH_TIMEOUT_SECONDS) -> OpenSearch:
        kwargs: dict[str, Any] = {
            "hosts": [self.host],
            "timeout": timeout,
            "max_retries": 1,
            "retry_on_timeout": False,
            "http_compress": True,
        }
        if self.username is not None:
            kwargs["http_auth"] = (self.username, self.password or "")
        if self.host.startswith("https://"):
            # Certificates are always verified: against the given CA file, else the
            # system's store. There is deliberately no switch to turn that off.
            kwargs["use_ssl"] = True
            kwargs["verify_certs"] = True
            kwargs["ssl_show_warn"] = False
            kwargs["ca_certs"] = self.ca_file or _default_ca_file()
        return OpenSearch(**kwargs)


def _default_ca_file() -> str | None:
    explicit = os.environ.get("SSL_CERT_FILE")
    if explicit:
        return explicit
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with opensearch-py's requests/urllib3 users
        return None
    return str(certifi.where())


def parse_url(url: str) -> ClusterURL:
    """`http(s)://[user:password@]host[:port][/prefix][?ca=/path/to/ca.pem]`.

    The prefix (default "aftaleportalen") names the alias and its indices. User and
    password are percent-decoded (write "@" as %40, ":" as %3A). `ca` is the PEM file of
    the certificate authority that signed the cluster's certificate (a private CA, as
    OpenSearch's security plugin sets up); without it the system's CAs are trusted. The
    port defaults to 9200 for http and 443 for https (a managed cluster)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"OpenSearch URL must start with http:// or https://, not {parts.scheme or url!r}")
    if not parts.hostname:
        raise ValueError("OpenSearch URL has no host")
    prefix = parts.path.strip("/") or DEFAULT_PREFIX
    if not _PREFIX_RE.match(prefix):
        raise ValueError(f"invalid OpenSearch index prefix {prefix!r}: use a-z, 0-9, '-' and '_'")
    options = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(options) - {"ca"})
    if unknown:
        raise ValueError(f"unknown OpenSearch URL option(s): {', '.join(unknown)} (known: ca)")
    ca_file = options.get("ca") or None
    if ca_file is not None and parts.scheme != "https":
        raise ValueError("OpenSearch URL option ca needs https://")
    if ca_file is not None and not os.path.isfile(ca_file):
        raise ValueError(f"OpenSearch CA file {ca_file!r} does not exist")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return ClusterURL(
        host=f"{parts.scheme}://{host}:{parts.port or (443 if parts.scheme == 'https' else 9200)}",
        prefix=prefix,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        ca_file=ca_file,
    )


def client_for(url: str, timeout: float = SEARCH_TIMEOUT_SECONDS) -> OpenSearch:
    """A client for the cluster of an OpenSearch URL (for tools and tests)."""
    return parse_url(url).client(timeout)


class OpenSearchIndex:
    """SearchIndex on OpenSearch. See the module docstring; the URL is read by
    `parse_url`."""

    def __init__(self, url: str) -> None:
        target = parse_url(url)
        self.alias = target.prefix
        self._host = target.host
        self._client = target.client(SEARCH_TIMEOUT_SECONDS)
        self._known_to_exist = False

    # --- lifecycle ------------------------------------------------------------------

    def _new_index_name(self) -> str:
        return f"{self.alias}-{datetime.now(UTC):%Y%m%dt%H%M%S%f}"

    def _own_index(self, name: str) -> bool:
        # Only `<prefix>-<time>`: another deployment's prefix may start with ours.
        return re.fullmatch(re.escape(self.alias) + r"-\d{8}t\d{12}", name) is not None

    def _alias_exists(self) -> bool:
        with _translated("check alias"):
            return bool(self._client.indices.exists_alias(name=self.alias))

    def create(self) -> None:
        """Make an empty index behind the alias if the alias does not exist."""
        if self._alias_exists():
            self._add_new_fields()
            self._known_to_exist = True
            return
        body = index_body()
        body["aliases"] = {self.alias: {"is_write_index": True}}
        try:
            with _translated("create index"):
                self._client.indices.create(index=self._new_index_name(), body=body)
        except SearchError:
            if not self._alias_exists():  # lost a race with another process: fine
                raise
        self._known_to_exist = True

    def _add_new_fields(self) -> None:
        """Fields added to the mapping since an index was built are added to it (the
        mapping is strict, so records carrying them would otherwise be refused). Records
        written before have no value there until `indexer reindex`."""
        properties = index_body()["mappings"]["properties"]
        with _translated("read mapping"):
            mappings = self._client.indices.get_mapping(index=self.alias)
        for name, mapping in mappings.items():
            missing = {k: v for k, v in properties.items() if k not in mapping["mappings"].get("properties", {})}
            if missing:
                log.warning("index %s lacks %s: adding them; run `indexer reindex` to fill them", name, sorted(missing))
                with _translated("extend mapping"):
                    self._client.indices.put_mapping(index=name, body={"properties": missing})

    def _ensure_created(self) -> None:
        # Writing to a missing alias would make OpenSearch auto-create a plain index of
        # that name with a guessed mapping, which then blocks the alias for good.
        if not self._known_to_exist:
            self.create()

    def check(self) -> None:
        if not self._alias_exists():
            raise _unavailable(f"alias {self.alias} missing on {self._host}")

    def close(self) -> None:
        self._client.close()

    def describe(self) -> str:
        try:
            with _translated("describe"):
                indices = sorted(self._client.indices.get_alias(name=self.alias))
                records = self._client.count(index=self.alias)["count"]
        except SearchError:
            return f"OpenSearch {self._host} alias {self.alias} (unavailable)"
        return f"OpenSearch {self._host} alias {self.alias} → {', '.join(indices)} ({records} records)"

    # --- writes -----------------------------------------------------------------------

    def upsert(self, records: Iterable[SearchRecord]) -> None:
        self._ensure_created()
        _bulk_index(self._client, self.alias, records)

    def delete_source(self, source_id: int, *, record_type: str = "page") -> None:
        self._ensure_created()
        body = {"query": {"term": {"group": f"{record_type}:{source_id}"}}}
        with _translated("delete document"):
            self._client.delete_by_query(
                index=self.alias, body=body, conflicts="proceed", refresh=True,
                request_timeout=BULK_TIMEOUT_SECONDS,
            )

    def delete_records(self, ids: Iterable[str]) -> None:
        self._ensure_created()
        actions = ({"_op_type": "delete", "_index": self.alias, "_id": record_id} for record_id in ids)
        with _translated("delete records"):
            helpers.bulk(self._client, actions, ignore_status=(404,), request_timeout=BULK_TIMEOUT_SECONDS)

    @contextmanager
    def rebuild(self) -> Iterator[_BulkWriter]:
        """Fill a new index, then move the alias to it in one atomic `_aliases` call;
        the previous index is kept (until the next rebuild) for a quick way back."""
        name = self._new_index_name()
        body = index_body()
        # No refreshes while bulk loading: much faster, and nobody searches it yet.
        body["settings"]["index"]["refresh_interval"] = "-1"
        with _translated("create index"):
            self._client.indices.create(index=name, body=body)
        try:
            yield _BulkWriter(self._client, name)
            with _translated("switch alias"):
                self._client.indices.put_settings(index=name, body={"index": {"refresh_interval": None}})
                self._client.indices.refresh(index=name)
                current = sorted(self._client.indices.get_alias(name=self.alias)) if self._alias_exists() else []
                actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": self.alias}} for i in current]
                actions.append({"add": {"index": name, "alias": self.alias, "is_write_index": True}})
                self._client.indices.update_aliases(body={"actions": actions})
        except BaseException:
            try:
                self._client.indices.delete(index=name, ignore_unavailable=True)
            except OpenSearchException:
                log.exception("could not remove the unfinished index %s", name)
            raise
        self._known_to_exist = True
        self._remove_old_indices(keep={name, *current})
        log.info("search index rebuilt: %s", self.describe())

    def _remove_old_indices(self, keep: set[str]) -> None:
        with _translated("list indices"):
            settings = self._client.indices.get_settings(index=f"{self.alias}-*", name="index.creation_date")
        created = {
            name: int(value["settings"]["index"]["creation_date"])
            for name, value in settings.items()
            if self._own_index(name)
        }
        kept = [created[k] for k in keep if k in created]
        if not kept:
            return
        # Never an index newer than those kept: it may be another process's rebuild.
        for name, when in created.items():
            if name not in keep and when < min(kept):
                with _translated("delete old index"):
                    self._client.indices.delete(index=name, ignore_unavailable=True)

    # --- reads --------------------------------------------------------------------------

    def refresh(self) -> None:
        with _translated("refresh"):
            self._client.indices.refresh(index=self.alias)

    def count(self) -> int:
        with _translated("count"):
            return int(self._client.count(index=self.alias)["count"])

    def record_ids_for_check(self) -> dict[str, RecordStamp]:
        stamps: dict[str, RecordStamp] = {}
        with _translated("scan records"):
            for hit in helpers.scan(
                self._client,
                index=self.alias,
                query={"query": {"match_all": {}}, "_source": ["source_id", "version", "fingerprint"]},
                size=2000,
                request_timeout=BULK_TIMEOUT_SECONDS,
            ):
                src = hit["_source"]
                stamps[hit["_id"]] = RecordStamp(src["source_id"], src["version"], src["fingerprint"])
        return stamps

    def search(self, query: SearchQuery) -> SearchResults:
        parsed = parse(query.text)
        if not query.readers or parsed.only_stop_words:
            return SearchResults(total=0, facets=empty_facets())
        filters = _filters(query)
        body = _search_body(query, parsed, filters)
        with _translated("search"):
            response = self._client.search(index=self.alias, body=body)
        aggregations = response.get("aggregations", {})
        highlighter = parsed.highlighter()
        total = int(aggregations.get("documents", {}).get("value", 0))
        results = SearchResults(
            total=total,
            hits=[_document_hit(hit, highlighter) for hit in response["hits"]["hits"]],
            facets=_facets(aggregations),
        )
        if total < SUGGEST_BELOW_TOTAL:
            results.suggestion = self._suggestion(parsed, filters)
        return results

    # --- did you mean ---------------------------------------------------------------------

    def _count(self, user_query: dict[str, Any], filters: list[dict[str, Any]]) -> int:
        body = {"query": {"bool": {"must": [user_query], "filter": filters}}}
        with _translated("count"):
            return int(self._client.count(index=self.alias, body=body)["count"])

    def _suggestion(self, parsed: ParsedQuery, filters: list[dict[str, Any]]) -> str | None:
        """As the embedded engine: the first word with no hits for this user, replaced
        by a close word (the term suggester's candidates come from the whole index, so
        each is used only if the corrected query has hits under the user's filters)."""
        for word in parsed.plain_words():
            if len(word) < 4 or self._count(_clause(Term(word)), filters):
                continue
            lowered = analysis.normalise_aa(word).lower()
            body = {
                "size": 0,
                "suggest": {
                    "spelling": {
                        "text": lowered,
                        "term": {
                            "field": "text.words",
                            "suggest_mode": "always",
                            "max_edits": 1 if len(lowered) <= 5 else 2,
                            "prefix_length": 1,
                            "min_word_length": 4,
                            "size": 5,
                        },
                    }
                },
            }
            with _translated("suggest"):
                response = self._client.search(index=self.alias, body=body)
            entries = response.get("suggest", {}).get("spelling", [])
            for option in (entries[0].get("options", []) if entries else []):
                corrected = replace_word(parsed.source, word, option["text"])
                if corrected != parsed.source and self._count(_user_query(parse(corrected)), filters):
                    return corrected
        return None


# --- query translation ----------------------------------------------------------------


def _filters(q: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"terms": {"readers": sorted(q.readers)}}]
    for name, values in (
        ("organisation_id", q.organisation_ids),
        ("department_id", q.department_ids),
        ("kind", q.kinds),
        ("visibility", q.visibilities),
        ("record_type", q.record_types),
    ):
        if values is not None:
            filters.append({"terms": {name: list(values)}})
    if q.year_from is not None or q.year_to is not None:
        bounds = {k: v for k, v in (("gte", q.year_from), ("lte", q.year_to)) if v is not None}
        filters.append({"range": {"year": bounds}})
    return filters


def _should(*queries: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": list(queries), "minimum_should_match": 1}}


def _term_clauses(term: str) -> dict[str, Any]:
    return _should(
        {"term": {"text": {"value": term, "boost": TEXT_BOOST}}},
        {"term": {"compound": {"value": term, "boost": COMPOUND_BOOST}}},
        {"term": {"title": {"value": term, "boost": TITLE_BOOST}}},
    )


def _clause(clause: Clause) -> dict[str, Any]:
    """The same clauses as the embedded engine's: terms are stemmed here, by the shared
    chain, so both engines look up the very same terms."""
    if isinstance(clause, Phrase):
        terms = analysis.phrase_terms(" ".join(clause.words))
        if not terms:
            return {"match_none": {}}
        if len(terms) == 1:
            return _term_clauses(terms[0][1])
        text = " ".join(clause.words)
        return _should(
            {"match_phrase": {"text": {"query": text, "boost": TEXT_BOOST}}},
            {"match_phrase": {"title": {"query": text, "boost": TITLE_BOOST}}},
        )
    if clause.prefix:
        value = analysis.prefix_term(clause.word)
        return _should(
            {"prefix": {"text": {"value": value, "boost": TEXT_BOOST}}},
            {"prefix": {"compound": {"value": value, "boost": COMPOUND_BOOST}}},
            {"prefix": {"title": {"value": value, "boost": TITLE_BOOST}}},
        )
    term = analysis.stem(clause.word)
    return _term_clauses(term) if term else {"match_none": {}}


def _user_query(parsed: ParsedQuery) -> dict[str, Any]:
    if parsed.matches_everything:
        return {"match_all": {}}
    must: list[dict[str, Any]] = []
    for item in parsed.required:
        if isinstance(item, AnyOf):
            must.append(_should(*(_clause(option) for option in item.options)))
        else:
            must.append(_clause(item))
    query: dict[str, Any] = {"bool": {"must": must or [{"match_all": {}}]}}
    if parsed.excluded:
        query["bool"]["must_not"] = [_clause(item) for item in parsed.excluded]
    return query


def _facet(field: str) -> dict[str, Any]:
    # Pages per value, as on the embedded engine (see SearchResults).
    return {"terms": {"field": field, "size": FACET_SIZE}}


def _search_body(q: SearchQuery, parsed: ParsedQuery, filters: list[dict[str, Any]]) -> dict[str, Any]:
    by_date = q.sort == "date" or parsed.matches_everything
    sort: list[Any] = (
        [{"date": "desc"}, {"source_id": "desc"}, "_score"]
        if by_date
        else ["_score", {"date": "desc"}, {"source_id": "desc"}]
    )
    return {
        "query": {"bool": {"must": [_user_query(parsed)], "filter": filters}},
        "from": q.offset,
        "size": q.per_page,
        "sort": sort,
        "track_scores": True,
        "track_total_hits": False,  # pages are not what we count; see "documents"
        "_source": {"includes": _DISPLAY_FIELDS},
        "collapse": {
            "field": "group",
            "inner_hits": {
                "name": "pages",
                "size": q.pages_per_document,
                "sort": [{"_score": "desc"}, {"page": "asc"}],
                "_source": {"includes": ["id", "page", "text"]},
            },
            "max_concurrent_group_searches": 4,
        },
        "aggs": {
            "documents": {"cardinality": {"field": "group", "precision_threshold": 40000}},
            "organisation": _facet("organisation_id"),
            "kind": _facet("kind"),
            "year": _facet("year"),
        },
        "timeout": f"{int(SEARCH_TIMEOUT_SECONDS)}s",
    }


# --- response translation -------------------------------------------------------------

def _page_hit(inner: dict[str, Any], highlighter: analysis.Highlighter) -> PageHit:
    src = inner["_source"]
    return PageHit(
        page=int(src["page"]),
        snippet_html=highlighter.snippet(src.get("text", ""), SNIPPET_CHARS),
        score=float(inner.get("_score") or 0.0),
        record_id=src["id"],
    )


def _document_hit(hit: dict[str, Any], highlighter: analysis.Highlighter) -> DocumentHit:
    src = hit["_source"]
    inner = hit.get("inner_hits", {}).get("pages", {}).get("hits", {}).get("hits", [])
    pages = [_page_hit(i, highlighter) for i in inner]
    return DocumentHit(
        source_id=int(src["source_id"]),
        title=src["title"],
        organisation_id=src.get("organisation_id"),
        organisation_name=src.get("organisation_name", ""),
        kind=src["kind"],
        year=int(src["year"]),
        score=max([p.score for p in pages], default=float(hit.get("_score") or 0.0)),
        pages=pages,
        record_type=src["record_type"],
        version=int(src["version"]),
        department_id=src.get("department_id"),
        visibility=src.get("visibility", ""),
        date=src.get("date", ""),
    )


def _facets(aggregations: dict[str, Any]) -> dict[str, dict[str, int]]:
    facets = empty_facets()
    for name in FACETS:
        for bucket in aggregations.get(name, {}).get("buckets", []):
            count = int(bucket["doc_count"])
            if count:
                facets[name][str(bucket["key"])] = count
    return facets

