"""Load: simulated users against the portal as it runs in production, on loopback.

    python bench/load.py [--users 50] [--minutes 10] [--web-workers 4] [--indexers 2]
                         [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                         [--search embedded|opensearch] [--reuse-database]

Starts what docker-compose.yml starts, as local processes: a fresh PostgreSQL database,
`portal db upgrade` and the demo, gunicorn with N workers and M `indexer run` workers
(local object folder and embedded index in a temporary instance folder). With `--search
opensearch` the set-up is the distributed one: search on a private OpenSearch node
(tests/opensearch_node.py, the version the tests run against; data in the temporary folder)
and files in an S3 bucket on moto's S3 server (`moto_server`, on loopback), both stopped at
the end. Then locust, as a
library in this process, runs U users for the given time. Each user holds an API token of a
demo user and, with think time between requests, searches, reads documents and their files,
edits a section of an agreement it is party to (a 409 on overlapping edits is intended),
lists its obligations, and uploads PDFs (5 % of them broken: they must be stored and end
`failed`).

Prints request p50/p95/p99 per kind and in total, the errors (anything but the intended
409), the indexing lag (oldest pending job during the run, and the time until the queue is
empty after the run), and the memory (RSS) of the web and indexer workers at start and end.
Exits 1 when a target is missed: p95 under 1 s, no unintended errors, the queue empty within
five minutes of the end, indexer memory not growing by more than 50 %.
"""

from __future__ import annotations

# locust patches the standard library for gevent when imported, so it comes first.
from locust import HttpUser, between, events, task  # isort: skip
from locust.env import Environment  # isort: skip

import argparse
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

BIN = Path(sys.executable).parent
TARGET_P95_MS = 1000
TARGET_DRAIN_S = 300
WORDS = ["styringsdialog", "henlæggelser", "fleksibel udlejning", "kommunal anvisning", "tomgang", "fraflytning",
         "vedligeholdelse", "regnskab", "dispositionsfond", "beboere", "helhedsplan", "kombineret udlejning",
         "afdeling", "referat", "\"fleksibel udlejning\"", "anvisning*", "udlejning -kombineret"]


# --- the processes ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def _tree_rss_mib(pid: int) -> float:
    """RSS of a process and its children (gunicorn's workers, the indexer's extraction pool)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += _rss_kib(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            pending.extend(int(c) for c in children.read_text().split())
    return total / 1024


class Deployment:
    """A database, the web tier and the indexers, started and stopped as one."""

    def __init__(self, server_url: str, web_workers: int, indexers: int, search: str = "embedded",
                 reuse_database: bool = False) -> None:
        # A role without CREATEDB (a managed server) runs in the given database instead.
        self.reuse_database = reuse_database
        self.database = server_url.rsplit("/", 1)[1] if reuse_database else f"aftaleportalen_load_{uuid.uuid4().hex[:8]}"
        self.server_url = server_url.rstrip("/")
        self.folder = Path(tempfile.mkdtemp(prefix="aftaleportalen-load-"))
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.web_workers, self.indexers = web_workers, indexers
        self.processes: list[subprocess.Popen[bytes]] = []
        self.search = search
        self.opensearch: Any = None
        self.moto: subprocess.Popen[bytes] | None = None
        self.env = dict(os.environ, PORTAL_INSTANCE_DIR=str(self.folder), PORTAL_SECRET_KEY="load-" + uuid.uuid4().hex,
                        PORTAL_DATABASE_URL=f"{self.server_url.rsplit('/', 1)[0]}/{self.database}",
                        PORTAL_SECURE_COOKIES="0", PORTAL_BASE_URL=self.base_url)

    def _sql(self, statement: str) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(statement)

    def _reset_schema(self) -> None:
        self._sql("DROP SCHEMA IF EXISTS public CASCADE")
        self._sql("CREATE SCHEMA public")

    def _start_distributed_backends(self) -> None:
        """OpenSearch and an S3 server, as the compose file's opensearch and minio."""
        from tests.opensearch_node import OpenSearchNode, with_prefix

        self.opensearch = OpenSearchNode(self.folder / "opensearch").start()
        s3_port = _free_port()
        log = open(self.folder / "moto.log", "wb")
        self.moto = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = self.opensearch.wait_ready()
        print(f"  OpenSearch node at {url} ({self.opensearch.started_in:.0f} s), moto S3 on 127.0.0.1:{s3_port}",
              flush=True)
        for _ in range(150):
            try:
                with socket.create_connection(("127.0.0.1", s3_port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("moto_server did not start; see " + str(self.folder / "moto.log"))
        # moto takes any key; the portal creates the bucket on first use.
        self.env.update(PORTAL_SEARCH_URL=with_prefix(url, "aftaleportalen-load"),
                        PORTAL_STORAGE_URL=f"s3://load:load-secret@127.0.0.1:{s3_port}/dokumenter?secure=false")

    def start(self) -> None:
        if self.search == "opensearch":
            self._start_distributed_backends()
        if self.reuse_database:
            self._reset_schema()
        else:
            self._sql(f'CREATE DATABASE "{self.database}"')
        for args in (["db", "upgrade"], ["demo"]):
            done = subprocess.run([str(BIN / "portal"), *args], env=self.env, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"portal {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        log = open(self.folder / "web.log", "wb")
        self.web = subprocess.Popen([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers",
                                     str(self.web_workers), "--timeout", "120", "portal:create_app()"],
                                    env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(self.web)
        self.workers = []
        for n in range(self.indexers):
            out = open(self.folder / f"indexer-{n}.log", "wb")
            worker = subprocess.Popen([str(BIN / "indexer"), "run"], env=self.env, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
            self.workers.append(worker)
            self.processes.append(worker)
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the web tier did not start; see " + str(self.folder / "web.log"))

    def token(self, email: str) -> str:
        done = subprocess.run([str(BIN / "portal"), "tokens", "create", "--user", email], env=self.env, check=True,
                              capture_output=True, text=True)
        return done.stdout.strip().splitlines()[-1]

    def queue(self) -> tuple[int, float]:
        """Jobs not yet done (pending, running or waiting to retry), and the oldest one's age in seconds."""
        with psycopg.connect(self.env["PORTAL_DATABASE_URL"]) as conn:
            row = conn.execute("SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) "
                               "FROM jobs WHERE status IN ('queued', 'running')").fetchone()
        return int(row[0]), float(row[1])

    def job_outcomes(self) -> dict[str, int]:
        with psycopg.connect(self.env["PORTAL_DATABASE_URL"]) as conn:
            return dict(conn.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())

    def version_statuses(self) -> dict[str, int]:
        with psycopg.connect(self.env["PORTAL_DATABASE_URL"]) as conn:
            return dict(conn.execute("SELECT status, count(*) FROM document_versions GROUP BY status").fetchall())

    def memory(self) -> dict[str, float]:
        return {"web (gunicorn + workers)": _tree_rss_mib(self.web.pid),
                **{f"indexer {n + 1}": _tree_rss_mib(w.pid) for n, w in enumerate(self.workers)}}

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if self.moto is not None and self.moto.poll() is None:
            os.killpg(self.moto.pid, signal.SIGTERM)
            self.moto.wait(timeout=30)
        if self.opensearch is not None:
            self.opensearch.stop()
        try:
            if self.reuse_database:
                self._reset_schema()
            else:
                self._sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


# --- what a user does -----------------------------------------------------------------------------

def make_pdf(pages: int, seed: int) -> bytes:
    rng = random.Random(seed)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for number in range(1, pages + 1):
        y = 800
        for _ in range(30):
            line = " ".join(rng.choice(["Afdelingen", "styringsdialogen", "henlæggelserne", "fleksibel", "udlejning",
                                        "anvisning", "tomgangen", "beboerne", "vedligeholdelsesplanen", "regnskabet",
                                        "kommunen", "organisationen", "aftalen", "og", "er", "for"]) for _ in range(9))
            pdf.drawString(50, y, line)
            y -= 24
        pdf.drawString(50, 40, f"Side {number}")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


BROKEN = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R"


class Context:
    """What the users share: tokens, and the agreements each may edit (set up before the run)."""

    tokens: list[tuple[str, str, str]] = []  # (email, token, organisation CVR or "municipality")
    agreements: dict[str, list[int]] = {}  # token -> agreement ids it may edit
    pdfs: list[bytes] = []
    uploads = broken_uploads = 0
    lock = threading.Lock()


class PortalUser(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.email, token, self.organisation = random.choice(Context.tokens)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.token = token
        self.seen: list[int] = []

    @task(6)
    def search(self) -> None:
        word = random.choice(WORDS)
        with self.client.get("/api/v1/search", params={"q": word, "per_page": 10}, headers=self.headers,
                             name="search", catch_response=True) as response:
            if response.status_code == 200:
                hits = response.json()["hits"]
                self.seen = [h["document_id"] for h in hits if h["type"] == "document"][:10] or self.seen
                response.success()
            else:
                response.failure(f"search answered {response.status_code}")

    @task(3)
    def read(self) -> None:
        if not self.seen:
            return self.search()
        document_id = random.choice(self.seen)
        self.client.get(f"/api/v1/documents/{document_id}", headers=self.headers, name="document")
        self.client.get(f"/api/v1/documents/{document_id}/file", headers={**self.headers, "Range": "bytes=0-65535"},
                        name="document file (range)")

    @task(2)
    def edit_agreement(self) -> None:
        mine = Context.agreements.get(self.token)
        if not mine:
            return
        agreement_id = random.choice(mine)
        current = self.client.get(f"/api/v1/agreements/{agreement_id}", headers=self.headers, name="agreement")
        if current.status_code != 200:
            return
        body = current.json()
        section = random.choice(body["sections"][:4])
        lines = (section["text"] or "").splitlines() or [""]
        where = random.randrange(len(lines) + 1)
        lines.insert(where, f"Tilføjet af {self.email} {uuid.uuid4().hex[:6]}.")
        with self.client.patch(f"/api/v1/agreements/{agreement_id}", headers=self.headers, name="agreement edit",
                               json={"base_revision": body["revision"],
                                     "sections": {section["id"]: {"text": "\n".join(lines)}}},
                               catch_response=True) as response:
            if response.status_code in (200, 409):  # an overlap is reported, never merged silently
                response.success()
            else:
                response.failure(f"edit answered {response.status_code}")

    @task(1)
    def obligations(self) -> None:
        self.client.get("/api/v1/obligations", headers=self.headers, name="obligations")

    @task(1)
    def upload(self) -> None:
        if self.organisation == "municipality":
            return
        with Context.lock:
            Context.uploads += 1
            broken = Context.uploads % 20 == 0  # 5 %
            Context.broken_uploads += broken
        data = BROKEN if broken else random.choice(Context.pdfs)
        with self.client.post("/api/v1/documents", headers=self.headers, name="upload",
                              data={"organisation": self.organisation, "kind": "bilag", "year": "2026",
                                    "title": f"Bilag {uuid.uuid4().hex[:8]}", "visibility": "dialogue"},
                              files={"file": ("bilag.pdf", data, "application/pdf")},
                              catch_response=True) as response:
            if response.status_code == 201:
                response.success()
            else:
                response.failure(f"upload answered {response.status_code}")


# --- the run --------------------------------------------------------------------------------------

USERS = [  # (e-mail, organisation CVR or "municipality"); CVRs are filled in from /api/v1/me
    "redaktoer@fjordby.dk", "underskriver@fjordby.dk", "laeser@fjordby.dk", "administrator@fjordby.dk",
    "redaktoer@fjordby-boligselskab.dk", "underskriver@fjordby-boligselskab.dk", "laeser@fjordby-boligselskab.dk",
    "forretningsfoerer@fjordby-boligadministration.dk", "sagsbehandler@fjordby-boligadministration.dk",
]


def prepare(deployment: Deployment) -> None:
    import requests

    base = deployment.base_url
    muni_token = None
    for email in USERS:
        token = deployment.token(email)
        me = requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        organisations = [m for m in me["memberships"] if m["party_kind"] == "organisation"]
        writable = [m for m in organisations if m["role"] in ("editor", "signatory", "admin")]
        where = writable[0]["cvr"] if writable else "municipality"
        Context.tokens.append((email, token, where))
        if email == "redaktoer@fjordby.dk":
            muni_token = token
            muni_me = me
    assert muni_token is not None
    # Agreements to edit: one per organisation reached by a writing user, plus one shared by all.
    party_ids = {m["party_id"]: m for _, t, _ in Context.tokens for m in requests.get(
        f"{base}/api/v1/me", headers={"Authorization": f"Bearer {t}"}, timeout=30).json()["memberships"]
        if m["party_kind"] == "organisation"}
    del muni_me
    created: dict[int, int] = {}
    for party_id in party_ids:
        response = requests.post(f"{base}/api/v1/agreements", headers={"Authorization": f"Bearer {muni_token}"},
                                 json={"title": f"Belastningsaftale {party_id}", "type": "individuel",
                                       "organisations": [party_id]}, timeout=60)
        response.raise_for_status()
        created[party_id] = response.json()["id"]
    # Each organisation named is invited; one of its writers accepts, so it takes part.
    writers: dict[int, str] = {}
    for _, token, _ in Context.tokens:
        me = requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        for m in me["memberships"]:
            if m["role"] in ("editor", "signatory", "admin"):
                writers.setdefault(m["party_id"], token)
    for party_id, agreement_id in created.items():
        if party_id in writers:
            requests.post(f"{base}/api/v1/agreements/{agreement_id}/invitation", json={"accept": True}, timeout=60,
                          headers={"Authorization": f"Bearer {writers[party_id]}"}).raise_for_status()
    for _email, token, _ in Context.tokens:
        me = requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        writes = [m for m in me["memberships"] if m["role"] in ("editor", "signatory", "admin")]
        if any(m["party_kind"] == "municipality" for m in writes):
            Context.agreements[token] = list(created.values())
        else:
            Context.agreements[token] = [created[m["party_id"]] for m in writes if m["party_id"] in created]
    Context.pdfs = [make_pdf(pages, seed) for seed, pages in enumerate((1, 2, 3, 5, 8))]


def percentile(entry: Any, fraction: float) -> float:
    return entry.get_response_time_percentile(fraction) if entry.num_requests else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--indexers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get(
        "PORTAL_LOAD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server (any database on it); a fresh database is created and dropped")
    parser.add_argument("--reuse-database", action="store_true",
                        help="run in the database of --database-url instead (for a role that cannot create "
                             "databases): its public schema is DROPPED before and after the run")
    parser.add_argument("--search", choices=("embedded", "opensearch"), default="embedded",
                        help="opensearch: search on an OpenSearch node and files on an S3 server (moto)")
    args = parser.parse_args()

    deployment = Deployment(args.database_url, args.web_workers, args.indexers, args.search, args.reuse_database)
    backends = ("OpenSearch and S3 (moto)" if args.search == "opensearch"
                else "embedded search index and object folder")
    print(f"starting: PostgreSQL database {deployment.database}, gunicorn with {args.web_workers} workers, "
          f"{args.indexers} indexer workers, {backends}, on {deployment.base_url}", flush=True)
    try:
        deployment.start()
        prepare(deployment)
        time.sleep(5)  # the demo's own indexing settles first, so memory at start is a fair baseline
        memory_start = deployment.memory()
        environment = Environment(user_classes=[PortalUser], host=deployment.base_url, events=events)
        runner = environment.create_local_runner()
        lag_samples: list[float] = []
        stop_at = time.monotonic() + args.minutes * 60
        runner.start(args.users, spawn_rate=max(1, args.users // 10))
        while time.monotonic() < stop_at:
            time.sleep(min(15.0, max(0.0, stop_at - time.monotonic())))
            pending, oldest = deployment.queue()
            lag_samples.append(oldest)
            stats = environment.stats.total
            indexers = " ".join(f"{rss:.0f}" for name, rss in deployment.memory().items() if name.startswith("indexer"))
            print(f"  {int(args.minutes * 60 - (stop_at - time.monotonic())):4d} s: {stats.num_requests} requests, "
                  f"p95 {percentile(stats, 0.95):.0f} ms, {stats.num_failures} failures, queue {pending} "
                  f"(oldest {oldest:.0f} s), indexer RSS {indexers} MiB", flush=True)
        runner.quit()
        ended = time.monotonic()
        drained_after = None
        while time.monotonic() - ended < TARGET_DRAIN_S + 60:
            pending, _ = deployment.queue()
            if pending == 0:
                drained_after = time.monotonic() - ended
                break
            time.sleep(2)
        memory_end = deployment.memory()

        stats = environment.stats
        print(f"\n{args.users} users, {args.minutes:g} minutes, {stats.total.num_requests} requests "
              f"({stats.total.total_rps:.1f}/s)")
        print(f"{'request':28} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'failures':>9}")
        for name, entry in sorted(stats.entries.items(), key=lambda item: item[0][0]):
            print(f"{name[0]:28} {entry.num_requests:7d} {percentile(entry, 0.5):8.0f} {percentile(entry, 0.95):8.0f} "
                  f"{percentile(entry, 0.99):8.0f} {entry.num_failures:9d}")
        total = stats.total
        print(f"{'all':28} {total.num_requests:7d} {percentile(total, 0.5):8.0f} {percentile(total, 0.95):8.0f} "
              f"{percentile(total, 0.99):8.0f} {total.num_failures:9d}")
        for error in stats.errors.values():
            print(f"  error: {error.method} {error.name}: {error.error} ×{error.occurrences}")
        print(f"uploads: {Context.uploads}, of which broken: {Context.broken_uploads}")
        print(f"versions by status after the run: {deployment.version_statuses()}")
        print(f"jobs by status after the run: {deployment.job_outcomes()}")
        print(f"indexing lag during the run: oldest pending job max {max(lag_samples, default=0):.0f} s; "
              f"queue empty {f'{drained_after:.0f} s' if drained_after is not None else 'NOT'} after the end")
        print("memory (RSS, MiB), start → end:")
        for name, start in memory_start.items():
            print(f"  {name:28} {start:8.1f} → {memory_end.get(name, 0):8.1f}")

        failures = []
        if percentile(total, 0.95) >= TARGET_P95_MS:
            failures.append(f"p95 {percentile(total, 0.95):.0f} ms ≥ {TARGET_P95_MS} ms")
        if total.num_failures:
            failures.append(f"{total.num_failures} unintended errors")
        if drained_after is None or drained_after > TARGET_DRAIN_S:
            failures.append("the indexing queue did not drain within five minutes")
        for name, start in memory_start.items():
            if name.startswith("indexer") and memory_end.get(name, 0) > start * 1.5:
                failures.append(f"{name} memory grew from {start:.0f} to {memory_end[name]:.0f} MiB")
        print("targets: " + ("met" if not failures else "MISSED: " + "; ".join(failures)))
        return 1 if failures else 0
    finally:
        deployment.stop()


if __name__ == "__main__":
    sys.exit(main())
