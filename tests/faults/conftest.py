"""Fixtures for the fault tests: servers the tests may take down and bring back.

- `private_postgres`: a PostgreSQL server of our own (initdb into a temporary folder, a
  free loopback port, trust authentication), which the tests may stop and restart. The
  shared server of the other tests is never stopped. The PostgreSQL variants of every
  test in this folder run on it (`postgres_migrated` is overridden here), so they need
  no PORTAL_TEST_DATABASE_URL. Where no server can be started (no binaries, or no
  unprivileged user to run them as root) the restart test is skipped with the reason,
  and the others use PORTAL_TEST_DATABASE_URL like the rest of the suite.
- `s3_server`: moto's S3 server on a fixed loopback port, stopped and started again by
  the test; its objects survive a restart, as a real store's would.
- `start_worker`: the real `indexer run` as a process; `indexer_check`: the real
  `indexer check` command; both pointed at the test's database, store and index.
- `make_portal`: an app with the demo loaded and an editor logged in.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from portal.extensions import make_engine
from portal.migrate import upgrade
from tests.servers import missing

BIN = Path(sys.executable).parent
POSTGRES_USER = "postgres"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- a PostgreSQL server of our own -------------------------------------------------------


class PrivatePostgres:
    """One PostgreSQL cluster in a temporary folder, listening on 127.0.0.1:`port` only."""

    def __init__(self, bindir: Path, folder: Path, run_as: str | None) -> None:
        self.bindir = bindir
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.port = free_port()
        self._prefix = ["runuser", "-u", run_as, "--"] if run_as else []

    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._prefix, str(self.bindir / program), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=self.folder)

    def _options(self) -> str:
        # fsync off only matters if the machine itself crashes; an acknowledged commit still
        # survives the server's own stop, restart or crash (synchronous_commit stays on).
        return (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} "
                "-c fsync=off -c full_page_writes=off")

    def init(self) -> str | None:
        """Create the cluster; returns why it could not be, or None."""
        done = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", POSTGRES_USER, "-E", "UTF8",
                         "--no-sync", "--no-instructions")
        if done.returncode != 0:
            return f"initdb failed: {(done.stderr or done.stdout).strip()[-500:]}"
        return None

    def start(self) -> None:
        done = self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log), "-w", "-t", "60",
                         "start")
        assert done.returncode == 0, f"pg_ctl start failed: {done.stdout}{done.stderr}\n{self.server_log()}"

    def stop(self, mode: str = "fast") -> None:
        done = self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        assert done.returncode == 0, f"pg_ctl stop failed: {done.stdout}{done.stderr}"

    def restart(self, mode: str = "fast") -> None:
        done = self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-o", self._options(), "-l", str(self.log),
                         "-w", "-t", "60", "restart")
        assert done.returncode == 0, f"pg_ctl restart failed: {done.stdout}{done.stderr}\n{self.server_log()}"

    def is_running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status").returncode == 0

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def url(self, database: str) -> str:
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, migrated database on this server; returns its URL."""
        engine = create_engine(self.url("postgres").replace("postgresql://", "postgresql+psycopg://", 1),
                               isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        url = self.url(name)
        migrated = make_engine(url)
        upgrade(migrated)
        migrated.dispose()
        return url


def _postgres_bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
                        if p.parent.name.isdigit() else 0)
    for candidate in reversed(candidates):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    bindir = _postgres_bindir()
    if bindir is None:
        missing("private PostgreSQL skipped: no initdb/pg_ctl under /usr/lib/postgresql/*/bin or on PATH")
    run_as = None
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root; run it as the distribution's postgres user.
        try:
            pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            missing("private PostgreSQL skipped: running as root and there is no 'postgres' user to run it as")
        if shutil.which("runuser") is None:
            missing("private PostgreSQL skipped: running as root and runuser is missing")
        run_as = POSTGRES_USER
    # Not under pytest's tmp_path: its folders are private to root, and the server's user must reach this one.
    folder = Path(tempfile.mkdtemp(prefix="portal-faults-pg-"))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PrivatePostgres(bindir, folder, run_as)
    problem = server.init()
    if problem:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"private PostgreSQL skipped: {problem}")
        missing(f"private PostgreSQL skipped: {problem}")
    server.start()
    try:
        yield server
    finally:
        if server.is_running():
            server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_migrated(request: pytest.FixtureRequest) -> str:
    """The PostgreSQL variants in this folder run on the private server. Where none can be
    started, the tests that leave the database server alone fall back to the shared one
    (PORTAL_TEST_DATABASE_URL), as the rest of the suite uses it."""
    try:
        server: PrivatePostgres = request.getfixturevalue("private_postgres")
    except pytest.skip.Exception as no_private_server:
        return _shared_postgres(str(no_private_server))
    return server.create_database("faults")


def _shared_postgres(why_not_private: str) -> str:
    from tests.conftest import POSTGRES_URL, _postgres_reachable, migrate_afresh

    if not POSTGRES_URL:
        missing(f"{why_not_private}; PORTAL_TEST_DATABASE_URL is not set either")
    problem = _postgres_reachable(POSTGRES_URL)
    if problem:
        missing(f"{why_not_private}; {POSTGRES_URL} is not reachable either ({problem})")
    return migrate_afresh(POSTGRES_URL)


# --- an S3 server that can be taken down ------------------------------------------------


class S3Server:
    """moto's S3 server in this process; `stop()` refuses connections until `start()`."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: Any = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer  # imported late: slow, and only these tests need it

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        wait_for(self._answers, timeout=20, what="the S3 server to answer")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        wait_for(lambda: not self._answers(), timeout=20, what="the S3 server to stop")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def url(self, bucket: str) -> str:
        return f"s3://test-key:test-secret@127.0.0.1:{self.port}/{bucket}?secure=false"


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    yield server
    if server._server is not None:
        server.stop()


# --- the real indexer commands ------------------------------------------------------------


def portal_env(app: Flask) -> dict[str, str]:
    """The environment that points the `portal` and `indexer` commands at `app`'s backends."""
    settings = app.config["PORTAL"]
    return dict(os.environ, PORTAL_INSTANCE_DIR=str(settings.instance_dir), PORTAL_SECRET_KEY=settings.secret_key,
                PORTAL_DATABASE_URL=settings.database_url, PORTAL_STORAGE_URL=settings.storage_url,
                PORTAL_SEARCH_URL=settings.search_url)


class Worker:
    """`indexer run` as a process of its own."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([str(BIN / "indexer"), "run", "--poll", "0.2"], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self.output = ""

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.output, _ = self.process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.output, _ = self.process.communicate(timeout=30)
        return self.output


@pytest.fixture
def start_worker() -> Iterator[Callable[[Flask], Worker]]:
    started: list[Worker] = []

    def start(app: Flask) -> Worker:
        worker = Worker(portal_env(app))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def indexer_check(app: Flask) -> Any:
    """The `indexer check` command against `app`'s database and index (its exit code and output)."""
    from click.testing import CliRunner

    from indexer.cli import main

    settings = app.config["PORTAL"]
    env = {"PORTAL_INSTANCE_DIR": str(settings.instance_dir), "PORTAL_SECRET_KEY": settings.secret_key,
           "PORTAL_DATABASE_URL": settings.database_url, "PORTAL_STORAGE_URL": settings.storage_url,
           "PORTAL_SEARCH_URL": settings.search_url}
    return CliRunner().invoke(main, ["check", "--show", "50"], env=env)


# --- a portal with demo data -------------------------------------------------------------


@dataclass
class Portal:
    app: Flask
    client: FlaskClient  # logged in as EDITOR
    demo: Any


EDITOR = "redaktoer@fjordby-boligselskab.dk"


@pytest.fixture
def make_portal(app_config: dict[str, object]) -> Iterator[Callable[..., Portal]]:
    """`make_portal(storage_url=...)`: an app on the test's database with some settings overridden,
    the demo loaded, EDITOR logged in, and its app context pushed for the rest of the test."""
    from portal import create_app
    from portal.backends import close_backends
    from tests.conftest import IsolatedClient
    from tests.factories import DemoData, log_in

    with ExitStack() as stack:
        def make(**overrides: object) -> Portal:
            app = create_app({**app_config, **overrides})
            app.test_client_class = IsolatedClient
            stack.callback(app.extensions["database"].dispose)
            stack.callback(close_backends, app)
            stack.enter_context(app.app_context())
            demo = DemoData.load()
            client = app.test_client()
            log_in(client, EDITOR, demo.password)
            return Portal(app, client, demo)

        yield make
