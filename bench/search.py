"""Search latency: the JSON search API against the raw tantivy query on the same index.

    python bench/search.py [--pages 200000] [--queries 300] [--cache DIR] [--workers 2] [--profile]
                           [--engine embedded|opensearch|both] [--opensearch-url URL]

1. A throw-away portal in a temporary folder (SQLite, embedded search index):
   ``portal db upgrade``, ``portal demo``, API tokens for a municipality reader
   (``laeser@fjordby.dk``: every organisation's dialogue documents) and an
   organisation editor (``redaktoer@fjordby-boligselskab.dk``).
2. ``--pages`` generated Danish pages (bench/_generate.py, seeded) in documents of
   about ten pages, spread over the demo's organisations, kinds, years and
   visibilities, written straight into the embedded index with ``upsert``, and a
   database row for each document (the API re-checks its hits against the database). The built
   index is cached (``--cache``, default under /tmp keyed by page count, generator
   version and seed) and hard-linked into the instance, so a second run skips the build.
3. The portal under gunicorn on loopback, in its own process group, killed at the end.
4. A fixed, seeded query mix, each query measured six ways per round:
   - raw: in this process, the query the embedded engine builds for the text
     (``portal.search.query.parse`` → the engine's own clause builder), plus the
     explicit filters of the filtered query, ``Searcher.search`` for the top 20 pages
     with the hit count (tantivy-py's default), and ``tantivy.SnippetGenerator`` on the
     text field for those 20 (the text field is not stored, so the generator is given
     the page text from the stored payload). No access filter, no grouping, no facets.
     The targets are against this. "raw, no count" is the same without the count,
     which lets tantivy skip blocks that cannot reach the top 20, for reference;
   - engine: the portal's ``SearchIndex.search`` in this process (no HTTP, no Flask),
     with the query ``services.search.build_query`` makes for each user. The engine
     keeps facet counts and totals per (searcher version, access filter, query), so
     once warmed up a repeated query skips the aggregation; "uncached reader" is the
     reader's query on a second index object of the same folder that keeps nothing, to
     show what a query costs the first time;
   - API: ``GET /api/v1/search`` over one ``http.client.HTTPConnection`` per user,
     JSON decoded, as the reader and as the editor.

``--engine opensearch`` runs the same steps on OpenSearch: the portal's PORTAL_SEARCH_URL
is an index prefix of its own (``aftaleportalen-bench-<pid>``, deleted at the end) on a
private node started in the temporary folder with tests/opensearch_node.py (the version
the tests run against), or on the cluster of ``--opensearch-url``. The pages are indexed
with the backend's ``upsert`` (no cache: the index lives in the node). "raw" is then the
query the backend builds for the text plus the explicit filters, sent with the same
client: top 20 pages, total hits tracked, OpenSearch's highlighter on the text field; no
access filter, no collapsing into documents, no aggregations. There is no "uncached
reader" path (the backend keeps nothing between queries). ``--engine both`` runs the
embedded engine, then OpenSearch, and prints their overall figures side by side.

Prints p50/p95/p99 per query type and overall, API p95 / raw p95, and whether the
targets hold (API p95 within TARGET_RATIO of raw p95 and under TARGET_MS). Speed is
only ever reported here, against the baseline measured in the same run. ``--profile``
adds where the in-process search spends its time (sections and cProfile) and what
Flask adds on top of it.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import math
import os
import pstats
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tantivy  # noqa: E402
from _generate import DEFAULT_SEED, GENERATOR_VERSION, Organisation, generate_records  # noqa: E402
from tantivy import Occur, Query  # noqa: E402

TARGET_RATIO = 3.0
TARGET_MS = 30.0
RAW_TOP = 20
BATCH = 10_000
WARMUP = 3
READER = "laeser@fjordby.dk"
EDITOR = "redaktoer@fjordby-boligselskab.dk"
EDITOR_ORGANISATION = "Fjordby Boligselskab"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Variant:
    q: str
    kind: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    filtered: bool = False  # on the editor's organisation


# Fixed query mix: each round draws one variant per type with a seeded RNG.
QUERY_TYPES: list[tuple[str, list[Variant]]] = [
    ("one word, common", [Variant(q) for q in ("udlejning", "styringsdialog", "vedligeholdelse", "huslejen", "regnskab")]),
    ("one word, rare", [Variant(q) for q in ("skimmelsvamp", "radonmåling", "asbestsanering", "faldstammer")]),
    ("inflected word", [Variant(q) for q in ("henlæggelserne", "fraflytningerne", "afdelingsbestyrelsens", "renoveringerne")]),
    ("two words (AND)", [Variant(q) for q in ("tomgang fraflytning", "anvisning venteliste", "renovering landsbyggefonden")]),
    ("phrase", [Variant('"fleksibel udlejning"'), Variant('"kombineret udlejning"')]),
    ("prefix", [Variant("renover*"), Variant("henlæg*")]),
    ("exclusion", [Variant(q) for q in ("udlejning -fleksibel", "vedligeholdelse -renovering", "tomgang -fraflytning")]),
    ("filtered (org+years+kind)", [
        Variant("anvisning", kind="referat", year_from=2019, year_to=2023, filtered=True),
        Variant("regnskab", kind="regnskab", year_from=2016, year_to=2020, filtered=True),
        Variant("tomgang", kind="styringsrapport", year_from=2021, year_to=2025, filtered=True),
    ]),
]


# --- the throw-away instance --------------------------------------------------------

def instance_env(folder: Path, search_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PORTAL_INSTANCE_DIR=str(folder),
        PORTAL_DATABASE_URL=f"sqlite:///{folder / 'portal.sqlite3'}",
        PORTAL_SEARCH_URL=search_url or str(folder / "search"),
        PORTAL_STORAGE_URL=str(folder / "objects"),
        PORTAL_SECRET_KEY="bench-search-" + "x" * 32,
        PORTAL_DEBUG="0",
    )
    return env


def portal(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "portal"), *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"portal {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def api_token(env: dict[str, str], email: str) -> str:
    return portal(env, "tokens", "create", "--user", email, "--label", "bench").strip().splitlines()[-1]


def demo_parties(app: Any) -> tuple[int, list[Organisation]]:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Department, Party, PartyKind

    with app.app_context():
        parties = db.session.scalars(select(Party).order_by(Party.id)).all()
        municipality = next(p.id for p in parties if p.kind is PartyKind.MUNICIPALITY)
        organisations = []
        for p in parties:
            if p.kind is PartyKind.ORGANISATION:
                departments = db.session.execute(
                    select(Department.id, Department.name).where(Department.party_id == p.id).order_by(Department.id)
                ).all()
                organisations.append(Organisation(p.id, p.name, tuple((d.id, d.name) for d in departments)))
    return municipality, organisations


# --- the index, built once and cached ------------------------------------------------

def default_cache(pages: int, seed: int) -> Path:
    return Path(tempfile.gettempdir()) / "aftaleportalen-bench-search" / f"pages{pages}-gen{GENERATOR_VERSION}-seed{seed}"


def cached_index(cache: Path, pages: int, seed: int, municipality: int, organisations: list[Organisation]) -> dict[str, Any]:
    """The manifest of an index of `pages` generated pages under `cache`/index, built now
    unless a finished build for the same parties is there."""
    from portal.search import iter_batches, open_index

    wanted = {
        "pages": pages, "seed": seed, "generator_version": GENERATOR_VERSION, "municipality_id": municipality,
        "organisations": [[o.id, o.name, [list(d) for d in o.departments]] for o in organisations],
    }
    manifest_path = cache / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if {k: manifest.get(k) for k in wanted} == wanted:
            manifest["cached"] = True
            return manifest
        print(f"cache at {cache} was built for other parties; rebuilding")
        shutil.rmtree(cache)

    partial = cache.with_name(cache.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        index = open_index(str(partial / "index"), create=True)
        started = time.perf_counter()
        made = documents = 0
        rows: list[list[Any]] = []
        for batch in iter_batches(generate_records(pages, organisations, municipality, seed=seed), BATCH):
            index.upsert(batch)
            rows += [document_row(r) for r in batch if r.page == 1]
            made += len(batch)
            documents = batch[-1].source_id
            if made % (BATCH * 5) == 0 or made == pages:
                print(f"  indexed {made:,} pages ({time.perf_counter() - started:.0f} s)", flush=True)
        index.refresh()
        seconds = time.perf_counter() - started
        manifest = {**wanted, "documents": documents, "build_seconds": round(seconds, 1), "describe": index.describe()}
        index.close()
        (partial / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        (partial / DOCUMENTS_FILE).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(cache, ignore_errors=True)
        partial.rename(cache)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    manifest["cached"] = False
    return manifest


DOCUMENTS_FILE = "documents.json"


def document_row(record: Any) -> list[Any]:
    return [record.source_id, record.organisation_id, record.department_id, record.kind, record.year,
            record.visibility, record.title]


def cached_documents(cache: Path, pages: int, seed: int, municipality: int,
                     organisations: list[Organisation]) -> list[list[Any]]:
    """The generated documents' metadata, kept beside the index (made again for a cache built without it)."""
    path = cache / DOCUMENTS_FILE
    if not path.exists():
        rows = [document_row(r) for r in generate_records(pages, organisations, municipality, seed=seed) if r.page == 1]
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return json.loads(path.read_text(encoding="utf-8"))


def register_documents(app: Any, rows: list[list[Any]]) -> None:
    """A database row for every generated document, as the index has it: the search service
    re-checks each page of hits against the database, so the documents must exist there (ids
    the demo already used are taken over)."""
    from sqlalchemy import insert, select, update

    from portal.extensions import db
    from portal.models import Document, DocumentKind, DocumentVersion, ExtractionStatus, Visibility
    from portal.uow import unit_of_work

    with app.app_context(), unit_of_work():
        existing = set(db.session.scalars(select(Document.id)))
        documents = [{"id": i, "party_id": party, "department_id": department, "kind": DocumentKind(kind),
                      "year": year, "title": title, "visibility": Visibility(visibility), "deleted_at": None}
                     for i, party, department, kind, year, visibility, title in rows]
        taken = [d for d in documents if d["id"] in existing]
        new = [d for d in documents if d["id"] not in existing]
        if taken:
            db.session.execute(update(Document), taken)
        for start in range(0, len(new), BATCH):
            chunk = new[start:start + BATCH]
            db.session.execute(insert(Document), chunk)
            db.session.execute(insert(DocumentVersion), [
                {"document_id": d["id"], "number": 1, "object_key": f"bench/{d['id']}", "size": 1, "sha256": "0" * 64,
                 "media_type": "application/pdf", "filename": f"{d['id']}.pdf", "status": ExtractionStatus.EXTRACTED}
                for d in chunk])


def link_tree(source: Path, target: Path) -> None:
    """Hard links where possible: tantivy never rewrites a segment file, and the portal
    only reads, so the cache stays as built."""
    shutil.rmtree(target, ignore_errors=True)

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


# --- the server ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], folder: Path, workers: int, worker_class: str) -> Iterator[int]:
    port = free_port()
    log = open(folder / "gunicorn.log", "w+b")
    command = [str(BIN / "gunicorn"), "-w", str(workers), "-k", worker_class, "-b", f"127.0.0.1:{port}",
               "--timeout", "120", "portal:create_app()"]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        started = time.perf_counter()
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read().decode(errors='replace')[-3000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                body = response.read()
                connection.close()
                if response.status == 200:
                    break
                if time.perf_counter() - started > 60:
                    raise RuntimeError(f"/healthz answers {response.status}: {body[:500]!r}")
            except OSError:
                if time.perf_counter() - started > 60:
                    raise
            time.sleep(0.2)
        print(f"server: gunicorn -w {workers} -k {worker_class} on 127.0.0.1:{port}, "
              f"/healthz ok after {time.perf_counter() - started:.1f} s")
        yield port
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the gunicorn master and its workers: the process group we started, by id."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


class ApiClient:
    """One HTTP/1.1 connection per user; http.client reconnects by itself when the server
    closes it (gunicorn's sync workers close after each response)."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def search(self, params: dict[str, str]) -> dict[str, Any]:
        self.connection.request("GET", "/api/v1/search?" + urlencode(params), headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"API answered {response.status}: {body[:500]!r}")
        return json.loads(body)

    def close(self) -> None:
        self.connection.close()


# --- the three ways of asking ------------------------------------------------------------

class RawEngine:
    """The query the embedded engine builds for the text, straight on a tantivy searcher,
    with tantivy's SnippetGenerator for the top pages: the floor the portal stands on."""

    def __init__(self, index: Any, organisation_id: int) -> None:
        from portal.search import SearchQuery
        from portal.search.embedded import _Search
        from portal.search.query import parse

        self.generation = index._current()
        self.schema = self.generation.schema
        self.parse = parse
        # Only its clause builder is used (it needs nothing but the schema).
        self.builder = _Search(self.generation, SearchQuery(text="", readers=frozenset({"-"})), parse(""))
        self.organisation_id = organisation_id

    def query(self, variant: Variant) -> Query:
        user_query = self.builder._user_query(self.parse(variant.q))
        if not variant.filtered:
            return user_query
        s = self.schema
        filters = Query.boolean_query([
            (Occur.Must, Query.term_set_query(s, "organisation_id", [self.organisation_id])),
            (Occur.Must, Query.term_set_query(s, "kind", [variant.kind])),
            (Occur.Must, Query.range_query(s, "year", tantivy.FieldType.Integer, variant.year_from, variant.year_to)),
        ])
        return Query.boolean_query([(Occur.Must, user_query), (Occur.Must, Query.const_score_query(filters, 0.0))])

    def search(self, variant: Variant, count: bool = True) -> tuple[int, list[str]]:
        from portal.search.analysis import normalise_aa

        searcher = self.generation.index.searcher()
        query = self.query(variant)
        found = searcher.search(query, RAW_TOP, count=count)
        generator = tantivy.SnippetGenerator.create(searcher, query, self.schema, "text")
        snippets = []
        for _, address in found.hits:
            payload = json.loads(searcher.doc(address).get_first("payload"))
            page = tantivy.Document()
            page.add_text("text", normalise_aa(payload["text"]))
            snippets.append(generator.snippet_from_doc(page).to_html())
        return found.count, snippets


class RawOpenSearch:
    """The OpenSearch counterpart of RawEngine: the backend's query for the text and the
    explicit filters, top 20 pages with OpenSearch's highlighter, on the backend's client."""

    def __init__(self, url: str, organisation_id: int) -> None:
        from portal.search.opensearch import client_for, parse_url

        self.client = client_for(url)
        self.alias = parse_url(url).prefix
        self.organisation_id = organisation_id

    def body(self, variant: Variant, count: bool) -> dict[str, Any]:
        from portal.search.opensearch import SNIPPET_CHARS, _user_query
        from portal.search.query import parse

        filters: list[dict[str, Any]] = []
        if variant.filtered:
            filters = [
                {"terms": {"organisation_id": [self.organisation_id]}},
                {"terms": {"kind": [variant.kind]}},
                {"range": {"year": {"gte": variant.year_from, "lte": variant.year_to}}},
            ]
        return {
            "query": {"bool": {"must": [_user_query(parse(variant.q))], "filter": filters}},
            "size": RAW_TOP,
            "track_total_hits": count,
            "_source": ["id"],
            "highlight": {"fields": {"text": {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1}}},
        }

    def search(self, variant: Variant, count: bool = True) -> tuple[int, list[str]]:
        response = self.client.search(index=self.alias, body=self.body(variant, count))
        hits = response["hits"]
        total = hits["total"]["value"] if count else len(hits["hits"])
        return total, [" ".join(h.get("highlight", {}).get("text", [])) for h in hits["hits"]]


def opensearch_index(url: str, pages: int, seed: int, municipality: int,
                     organisations: list[Organisation]) -> tuple[Any, list[list[Any]]]:
    """The generated pages indexed on OpenSearch at `url` (a fresh index behind the alias)
    with the backend's own upsert; returns the index and the documents' rows."""
    from portal.search import iter_batches, open_index

    index = open_index(url, create=True)
    started = time.perf_counter()
    made = 0
    rows: list[list[Any]] = []
    for batch in iter_batches(generate_records(pages, organisations, municipality, seed=seed), BATCH):
        index.upsert(batch)
        rows += [document_row(r) for r in batch if r.page == 1]
        made += len(batch)
        if made % (BATCH * 5) == 0 or made == pages:
            print(f"  indexed {made:,} pages ({time.perf_counter() - started:.0f} s)", flush=True)
    index.refresh()
    print(f"index: {made:,} pages in {len(rows):,} documents, indexed into OpenSearch in "
          f"{time.perf_counter() - started:.1f} s")
    return index, rows


@contextmanager
def opensearch_cluster(given: str | None, folder: Path) -> Iterator[str]:
    """The URL of `given`, or of a private node (tests/opensearch_node.py) in `folder`,
    stopped at the end."""
    if given:
        yield given.rstrip("/")
        return
    from tests.opensearch_node import OpenSearchNode

    node = OpenSearchNode(folder / "opensearch").start()
    try:
        url = node.wait_ready()
        print(f"opensearch: private node at {url}, answering {node.started_in:.1f} s after launch")
        yield url
    finally:
        node.stop()


def delete_prefix(url: str) -> None:
    """Remove the benchmark's alias and indices (`<prefix>-*`) from the cluster."""
    from portal.search.opensearch import client_for, parse_url

    client = client_for(url)
    prefix = parse_url(url).prefix
    names = list(client.indices.get(index=f"{prefix}-*", ignore_unavailable=True))
    if names:
        client.indices.delete(index=",".join(names))


def uncached_index(index: Any) -> Any:
    """Another EmbeddedIndex on the same folder that keeps no aggregations or queries."""
    from portal.search.embedded import EmbeddedIndex, _Caches, _Recent

    uncached = EmbeddedIndex(index.root)
    uncached.caches = _Caches(aggregations=_Recent(0, 0.0), user_queries=_Recent(0, 0.0))
    return uncached


def api_params(variant: Variant, organisation_id: int) -> dict[str, str]:
    params = {"q": variant.q}
    if variant.filtered:
        params.update(organisation=str(organisation_id), kind=variant.kind or "",
                      year_from=str(variant.year_from), year_to=str(variant.year_to))
    return params


def engine_queries(app: Any, email: str, organisation_id: int) -> dict[Variant, Any]:
    """The SearchQuery the search service builds for `email`, per variant."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import User
    from portal.services import search as search_service

    queries = {}
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        for _, variants in QUERY_TYPES:
            for variant in variants:
                form = search_service.SearchForm(**api_params(variant, organisation_id))
                queries[variant] = search_service.build_query(user, form)
    return queries


# --- measuring ---------------------------------------------------------------------------

def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter_ns()
    call()
    return (time.perf_counter_ns() - started) / 1e6


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def fmt(samples: list[float]) -> str:
    if not samples:
        return "-"
    return f"{percentile(samples, 0.5):5.1f} {percentile(samples, 0.95):5.1f} {percentile(samples, 0.99):5.1f}"


def measure(rounds: int, seed: int, calls: dict[str, Callable[[Variant], Any]]) -> dict[str, dict[str, list[float]]]:
    """samples[type][path] in ms. Each round asks one drawn variant of every type, every
    path in turn, so drift on a shared machine hits all paths alike."""
    rng = random.Random(seed)
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for done in range(rounds):
        for name, variants in QUERY_TYPES:
            variant = rng.choice(variants)
            for path, call in calls.items():
                samples[name][path].append(timed(lambda call=call, variant=variant: call(variant)))
        if (done + 1) % 50 == 0:
            print(f"  {done + 1}/{rounds} rounds", flush=True)
    return samples


RAW_NOTES = {
    "embedded": "with the hit count, as tantivy's Searcher.search does by default",
    "opensearch": "with the total hits tracked, and OpenSearch's highlighter",
}


def report(samples: dict[str, dict[str, list[float]]], paths: list[str], engine: str) -> bool:
    width = 27
    print()
    print("latency in ms: p50 p95 p99")
    print(f"{'query type':<{width}} " + " ".join(f"{p:>17}" for p in paths) + "   API p95 / raw p95 (reader, editor)")
    overall: dict[str, list[float]] = defaultdict(list)
    for name, _ in QUERY_TYPES:
        row = samples[name]
        for path in paths:
            overall[path].extend(row[path])
        print(f"{name:<{width}} " + " ".join(f"{fmt(row[path]):>17}" for path in paths) + "   " + _ratios(row))
    print(f"{'overall':<{width}} " + " ".join(f"{fmt(overall[path]):>17}" for path in paths) + "   " + _ratios(overall))

    print()
    print(f"targets: API p95 <= {TARGET_RATIO:g}x raw p95 and < {TARGET_MS:g} ms "
          f"(raw = {RAW_NOTES[engine]})")
    met_all = True
    raw = _p95(overall["raw"])
    for who in ("reader", "editor"):
        api = _p95(overall[f"API {who}"])
        ratio_ok, ms_ok = api <= TARGET_RATIO * raw, api < TARGET_MS
        met_all &= ratio_ok and ms_ok
        misses = [name for name, _ in QUERY_TYPES
                  if not (_p95(samples[name][f"API {who}"]) <= TARGET_RATIO * _p95(samples[name]["raw"])
                          and _p95(samples[name][f"API {who}"]) < TARGET_MS)]
        print(f"  overall, API {who}: p95 {api:.1f} ms = {api / raw:.2f}x raw p95 {raw:.1f} ms "
              f"({api / _p95(overall['raw, no count']):.2f}x raw without count) -> "
              f"ratio {'met' if ratio_ok else 'MISSED'}, under {TARGET_MS:g} ms {'met' if ms_ok else 'MISSED'}")
        print(f"    query types missing a target: {', '.join(misses) if misses else 'none'}")
    return met_all


def _p95(samples: list[float]) -> float:
    return percentile(samples, 0.95)


def _ratios(row: dict[str, list[float]]) -> str:
    raw = _p95(row["raw"])
    return f"{_p95(row['API reader']) / raw:5.2f}x {_p95(row['API editor']) / raw:5.2f}x"


# --- profiling (--profile) ----------------------------------------------------------------

class _Sections:
    def __init__(self) -> None:
        self.ms: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        started = time.perf_counter_ns()
        try:
            yield
        finally:
            self.ms[name] += (time.perf_counter_ns() - started) / 1e6
            self.calls[name] += 1


class _TimedSearcher:
    """A tantivy Searcher whose calls the embedded engine makes are timed."""

    def __init__(self, inner: Any, sections: _Sections) -> None:
        self._inner, self._sections = inner, sections

    def search(self, *args: Any, **kwargs: Any) -> Any:
        label = "tantivy search, with count" if kwargs.get("count", True) else "tantivy search, no count"
        with self._sections.section(label):
            return self._inner.search(*args, **kwargs)

    def aggregate(self, *args: Any, **kwargs: Any) -> Any:
        with self._sections.section("tantivy aggregate (facets, total)"):
            return self._inner.aggregate(*args, **kwargs)

    def fast_field_values(self, *args: Any, **kwargs: Any) -> Any:
        with self._sections.section("fast_field_values (group keys)"):
            return self._inner.fast_field_values(*args, **kwargs)

    def doc(self, *args: Any, **kwargs: Any) -> Any:
        with self._sections.section("stored doc fetch"):
            return self._inner.doc(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextmanager
def _instrumented(sections: _Sections) -> Iterator[None]:
    from portal.search import analysis, embedded

    originals = {
        "init": embedded._Search.__init__, "group": embedded._Search._group,
        "hit": embedded._Search._document_hit, "suggest": embedded._Search._suggestion,
        "snippet": analysis.Highlighter.snippet, "parse": embedded.parse,
    }

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        with sections.section("searcher + filter query"):
            originals["init"](self, *args, **kwargs)
        self.searcher = _TimedSearcher(self.searcher, sections)

    def wrap(name: str, label: str) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with sections.section(label):
                return originals[name](*args, **kwargs)
        return wrapped

    embedded._Search.__init__ = init  # type: ignore[method-assign]
    embedded._Search._group = wrap("group", "grouping (incl. fast fields)")  # type: ignore[method-assign]
    embedded._Search._document_hit = wrap("hit", "document hits (incl. doc fetch, snippets)")  # type: ignore[method-assign]
    embedded._Search._suggestion = wrap("suggest", "did-you-mean suggestion")  # type: ignore[method-assign]
    analysis.Highlighter.snippet = wrap("snippet", "Python snippets (Highlighter)")  # type: ignore[method-assign]
    embedded.parse = wrap("parse", "parse query text")
    try:
        yield
    finally:
        embedded._Search.__init__ = originals["init"]  # type: ignore[method-assign]
        embedded._Search._group = originals["group"]  # type: ignore[method-assign]
        embedded._Search._document_hit = originals["hit"]  # type: ignore[method-assign]
        embedded._Search._suggestion = originals["suggest"]  # type: ignore[method-assign]
        analysis.Highlighter.snippet = originals["snippet"]  # type: ignore[method-assign]
        embedded.parse = originals["parse"]


def profile(index: Any, queries: dict[Variant, Any], app: Any, token: str, organisation_id: int, rounds: int) -> None:
    """Where SearchIndex.search spends its time per query type (reader's queries), then
    cProfile of it and of the Flask request around it (test client, no sockets)."""
    print()
    print(f"profile: SearchIndex.search as the reader, {rounds} runs per variant, mean ms per query")
    labels: list[str] = []
    per_type: dict[str, tuple[float, _Sections]] = {}
    for name, variants in QUERY_TYPES:
        sections = _Sections()
        total = 0.0
        with _instrumented(sections):
            for _ in range(rounds):
                for variant in variants:
                    total += timed(lambda variant=variant: index.search(queries[variant]))
        runs = rounds * len(variants)
        per_type[name] = (total / runs, sections)
        labels += [label for label in sections.ms if label not in labels]
    order = ("parse query text", "searcher + filter query", "tantivy search, with count", "tantivy search, no count",
             "tantivy aggregate (facets, total)", "fast_field_values (group keys)", "stored doc fetch",
             "Python snippets (Highlighter)", "did-you-mean suggestion", "grouping (incl. fast fields)",
             "document hits (incl. doc fetch, snippets)")
    labels = [label for label in order if label in labels] + [label for label in labels if label not in order]
    short = {name: name.split(" (")[0].replace("one word, ", "")[:10] for name, _ in QUERY_TYPES}
    print(f"{'section':<44}" + "".join(f"{short[n]:>11}" for n, _ in QUERY_TYPES))
    print(f"{'search() total':<44}" + "".join(f"{per_type[n][0]:11.2f}" for n, _ in QUERY_TYPES))
    for label in labels:
        cells = []
        for name, variants in QUERY_TYPES:
            _, sections = per_type[name]
            runs = rounds * len(variants)
            cells.append(f"{sections.ms.get(label, 0.0) / runs:11.2f}")
        print(f"{label:<44}" + "".join(cells))
    print("  (the last two rows contain the fetch, fast-field and snippet rows above them)")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        for _, variants in QUERY_TYPES:
            for variant in variants:
                index.search(queries[variant])
    profiler.disable()
    _print_stats("cProfile of SearchIndex.search, all query types (reader)", profiler)

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    variants = [v for _, vs in QUERY_TYPES for v in vs]
    for variant in variants:  # warm this process's app
        client.get("/api/v1/search", query_string=api_params(variant, organisation_id), headers=headers)
    flask_ms: list[float] = []
    sections = _Sections()
    with _flask_instrumented(sections):
        for _ in range(rounds):
            for variant in variants:
                params = api_params(variant, organisation_id)
                flask_ms.append(timed(lambda params=params: client.get("/api/v1/search", query_string=params, headers=headers)))
    runs = len(flask_ms)
    print()
    print(f"GET /api/v1/search through the Flask test client (no sockets, no gunicorn), reader, all types, "
          f"{runs} requests: p50 {percentile(flask_ms, 0.5):.1f} p95 {percentile(flask_ms, 0.95):.1f} ms; "
          f"mean ms per request:")
    total = sum(flask_ms) / runs
    accounted = 0.0
    for label, ms in sections.ms.items():
        print(f"  {label:<58} {ms / runs:7.2f}")
        accounted += ms / runs
    print(f"  {'rest: Flask dispatch, view dicts, Babel, headers, test client':<58} {total - accounted:7.2f}")
    print(f"  {'total':<58} {total:7.2f}")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        for variant in variants:
            client.get("/api/v1/search", query_string=api_params(variant, organisation_id), headers=headers)
    profiler.disable()
    _print_stats("cProfile of GET /api/v1/search through the Flask test client (reader)", profiler, sort="cumulative")


@contextmanager
def _flask_instrumented(sections: _Sections) -> Iterator[None]:
    """Time the pieces of the API request: token look-up, the search service's query
    building, the engine, url_for and jsonify."""
    import portal.api as api
    from portal.search.embedded import EmbeddedIndex
    from portal.services import search as search_service

    patches = [
        (api, "user_for_token", "auth: user_for_token (DB, per request)"),
        (search_service, "build_query", "services.search.build_query (access tokens, org look-up)"),
        (EmbeddedIndex, "search", "SearchIndex.search"),
        (api, "url_for", "url_for, one per hit"),
        (api, "jsonify", "jsonify"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]

    def wrap(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with sections.section(label):
                return function(*args, **kwargs)
        return wrapped

    for (owner, name, label), (_, _, original) in zip(patches, originals):
        setattr(owner, name, wrap(original, label))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def _print_stats(title: str, profiler: cProfile.Profile, sort: str = "tottime") -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats(sort).print_stats(22)
    print()
    print(f"{title}, by {sort}:")
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    print("\n".join(line for line in lines[start - 2 :] if line.strip()))


# --- main -------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300, help="measured rounds of the query mix")
    parser.add_argument("--cache", type=Path, default=None, help="where the built index is kept between runs")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (the Dockerfile runs sync)")
    parser.add_argument("--engine", choices=("embedded", "opensearch", "both"), default="embedded")
    parser.add_argument("--opensearch-url", default=None,
                        help="an OpenSearch cluster (PORTAL_SEARCH_URL form) instead of a private node")
    parser.add_argument("--profile", action="store_true",
                        help="also show where the in-process search spends time (embedded engine)")
    parser.add_argument("--profile-rounds", type=int, default=20)
    args = parser.parse_args()
    # Clean up (stop gunicorn and the node, remove the instance) on Ctrl-C and on kill
    # alike, even when started in the background, where SIGINT arrives ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    engines = ["embedded", "opensearch"] if args.engine == "both" else [args.engine]
    results = {}
    for engine in engines:
        print(f"=== {engine} ===")
        results[engine] = run(engine, args)
        print()
    if len(results) > 1:
        print("overall p95 in ms        raw   API reader  API editor   API/raw (reader, editor)")
        for engine, (_, p95) in results.items():
            print(f"  {engine:<20} {p95['raw']:7.1f} {p95['API reader']:11.1f} {p95['API editor']:11.1f}   "
                  f"{p95['API reader'] / p95['raw']:5.2f}x {p95['API editor'] / p95['raw']:5.2f}x")
        print()
    met = all(met for met, _ in results.values())
    print("all targets met" if met else "targets missed (see above)")
    return 0


def run(engine: str, args: argparse.Namespace) -> tuple[bool, dict[str, float]]:
    """One engine's benchmark; returns whether the targets held and the overall p95 per path."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aftaleportalen-bench-search-")))
        search_url = None
        if engine == "opensearch":
            from tests.opensearch_node import with_prefix

            cluster = stack.enter_context(opensearch_cluster(args.opensearch_url, folder))
            search_url = with_prefix(cluster, f"aftaleportalen-bench-{os.getpid()}")
            stack.callback(delete_prefix, search_url)
        env = instance_env(folder, search_url)
        portal(env, "db", "upgrade")
        portal(env, "demo")
        tokens = {"reader": api_token(env, READER), "editor": api_token(env, EDITOR)}
        # This process reads the same instance: for party ids, the service's queries and
        # the in-process engine.
        os.environ.update({k: v for k, v in env.items() if k.startswith("PORTAL_")})
        from portal import create_app

        app = create_app()
        municipality, organisations = demo_parties(app)
        own = next(o.id for o in organisations if o.name == EDITOR_ORGANISATION)
        print(f"instance: {folder} (municipality id {municipality}, {len(organisations)} organisations)")

        from portal.backends import close_backends, search_index

        stack.callback(close_backends, app)
        if engine == "opensearch":
            assert search_url is not None
            index, rows = opensearch_index(search_url, args.pages, args.seed, municipality, organisations)
            index.close()
            register_documents(app, rows)
            raw: Any = RawOpenSearch(search_url, own)
        else:
            cache = args.cache or default_cache(args.pages, args.seed)
            manifest = cached_index(cache, args.pages, args.seed, municipality, organisations)
            how = f"cached at {cache}, built in" if manifest["cached"] else f"built now into {cache} in"
            print(f"index: {manifest['pages']:,} pages in {manifest['documents']:,} documents, {how} "
                  f"{manifest['build_seconds']:.1f} s")
            link_tree(cache / "index", folder / "search")
            register_documents(app, cached_documents(cache, args.pages, args.seed, municipality, organisations))
        index = search_index(app)
        print(f"index: {index.describe()}")
        if engine == "embedded":
            raw = RawEngine(index, own)
        queries = {"reader": engine_queries(app, READER, own), "editor": engine_queries(app, EDITOR, own)}

        port = stack.enter_context(gunicorn(env, folder, args.workers, args.worker_class))
        clients = {who: ApiClient(port, token) for who, token in tokens.items()}
        for client in clients.values():
            stack.callback(client.close)

        calls: dict[str, Callable[[Variant], Any]] = {
            "raw": raw.search,
            "raw, no count": lambda v: raw.search(v, count=False),
            "engine reader": lambda v: index.search(queries["reader"][v]),
            "engine editor": lambda v: index.search(queries["editor"][v]),
            "API reader": lambda v: clients["reader"].search(api_params(v, own)),
            "API editor": lambda v: clients["editor"].search(api_params(v, own)),
        }
        if engine == "embedded":
            uncached = uncached_index(index)
            calls["uncached reader"] = lambda v: uncached.search(queries["reader"][v])
        print()
        print("query mix: raw matching pages | API total documents (reader, editor)")
        for name, variants in QUERY_TYPES:
            for variant in variants:
                for _ in range(WARMUP):
                    results = {path: call(variant) for path, call in calls.items()}
                filters = f" [organisation {own}, {variant.kind}, {variant.year_from}-{variant.year_to}]" if variant.filtered else ""
                print(f"  {name:<27} {variant.q + filters:<62} {results['raw'][0]:>7,} | "
                      f"{results['API reader']['total']:>6,} {results['API editor']['total']:>6,}")

        print()
        print(f"measuring {args.queries} rounds x {len(QUERY_TYPES)} query types x {len(calls)} paths "
              f"on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        samples = measure(args.queries, args.seed, calls)
        print(f"load average at the end {os.getloadavg()[0]:.2f} (other work on the machine widens p95/p99)")
        met = report(samples, list(calls), engine)
        if args.profile and engine == "embedded":
            profile(index, queries["reader"], app, tokens["reader"], own, args.profile_rounds)
        overall = {path: _p95([ms for row in samples.values() for ms in row[path]]) for path in calls}
    return met, overall


if __name__ == "__main__":
    sys.exit(main())
