"""A real OpenSearch node for the tests (a pytest plugin, registered in tests/conftest.py).

The node is OpenSearch (the version in tests/opensearch/pom.xml) run from Maven Central's
jars by the launcher in tests/opensearch/: one node, loopback only, data and logs in a
temporary folder, small heap. `make install` builds the launcher when `java` and `mvn`
exist; otherwise the first run that needs the node builds it (`mvn -q -B package`, cached
in tests/opensearch/target/ until the pom or the launcher changes).

When PORTAL_TEST_OPENSEARCH_URL is set, that cluster is used and no node is started.
Otherwise, with Java and Maven present, pytest_configure picks a free loopback port and
exports the node's URL at once (so module-level code sees it), but the JVM is only
started when the collected tests include an OpenSearch one, and in the background, so
embedded-engine tests run while it boots; `opensearch_url()` waits for it. A run that
selects no OpenSearch test never starts it. The node stops in pytest_unconfigure (also
after a failure or Ctrl-C), and by itself when its standard input closes, i.e. when the
test process dies.

Without Java or Maven the OpenSearch tests skip with the reason, except when the CI
variable is set: there a missing node fails those tests.

Tests that stop or kill a node (tests/faults) start a private one with `OpenSearchNode`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "PORTAL_TEST_OPENSEARCH_URL"
LAUNCHER_DIR = Path(__file__).resolve().parent / "opensearch"
TARGET = LAUNCHER_DIR / "target"
MAIN_CLASS = "dk.aftaleportalen.testnode.TestNode"
HEAP = "768m"
START_TIMEOUT_SECONDS = 180.0
BUILD_TIMEOUT_SECONDS = 900.0


class NodeUnavailable(RuntimeError):
    """The node cannot be had here (no Java/Maven, build or start failed)."""


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted([LAUNCHER_DIR / "pom.xml", *(LAUNCHER_DIR / "src").rglob("*")]):
        if path.is_file():
            digest.update(str(path.relative_to(LAUNCHER_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


_build_lock = threading.Lock()


def ensure_launcher() -> None:
    """Build the launcher unless target/ already holds a build of these sources."""
    with _build_lock:
        missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
        if missing:
            raise NodeUnavailable(f"OpenSearch test node unavailable: {' and '.join(missing)} not found on PATH")
        stamp = TARGET / ".built"
        digest = _sources_digest()
        if stamp.is_file() and stamp.read_text() == digest and (TARGET / "lib").is_dir():
            return
        started = time.monotonic()
        result = subprocess.run(
            ["mvn", "-q", "-B", "package"],
            cwd=LAUNCHER_DIR,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
            raise NodeUnavailable(f"building the OpenSearch test node failed (mvn exit {result.returncode}):\n{tail}")
        stamp.write_text(digest)
        print(f"\nOpenSearch test node built in {time.monotonic() - started:.0f} s")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OpenSearchNode:
    """One launcher process. `home` keeps data and logs; starting again on the same home
    (and port) brings back the same indices, as a restarted server would."""

    def __init__(self, home: Path, port: int | None = None) -> None:
        self.home = Path(home)
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in: float | None = None
        self._started_at = 0.0

    def start(self) -> OpenSearchNode:
        """Start the JVM and return at once; `wait_ready` waits for it."""
        ensure_launcher()
        self.home.mkdir(parents=True, exist_ok=True)
        logs = self.home / "logs"
        logs.mkdir(exist_ok=True)
        classpath = f"{TARGET / 'classes'}{os.pathsep}{TARGET / 'lib' / '*'}"
        command = [
            "java", f"-Xms{HEAP}", f"-Xmx{HEAP}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            "-Dfile.encoding=UTF-8", f"-Dtest.node.logs={logs}", "-Dlog4j2.disable.jmx=true",
            "-cp", classpath, MAIN_CLASS, str(self.home), str(self.port),
        ]
        self._started_at = time.monotonic()
        with open(logs / "launcher.out", "ab") as out:
            # stdin stays open for as long as we live: its end tells the node to stop.
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> str:
        """Wait until the node answers with a green or yellow cluster; return its URL."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise NodeUnavailable(f"OpenSearch test node exited during start-up; log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=3) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise NodeUnavailable(f"OpenSearch test node did not answer within {timeout:.0f} s; log:\n{self.log_tail()}")
            time.sleep(0.2)
        if self.started_in is None:
            self.started_in = time.monotonic() - self._started_at
        return self.url

    def log_tail(self, lines: int = 40) -> str:
        texts = []
        for name in ("launcher.out", "node.log"):
            path = self.home / "logs" / name
            if path.is_file():
                texts.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(texts) or "(no log)"

    def kill(self) -> None:
        """SIGKILL: the node dies without closing anything, as on a crash or power loss."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self._close_pipe()

    def stop(self, timeout: float = 30.0) -> None:
        """Close its standard input (the node then shuts down cleanly); kill it if slow."""
        if self.process is None:
            return
        self._close_pipe()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def _close_pipe(self) -> None:
        if self.process is not None and self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass


# --- the shared node of a test run ------------------------------------------------------


class _SharedNode:
    def __init__(self) -> None:
        self.node: OpenSearchNode | None = None
        self.home: Path | None = None
        self.problem: str | None = None
        self.external = False
        self.ready_url: str | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def configure(self) -> None:
        if os.environ.get(ENV):
            self.external = True
            return
        missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
        if missing:
            self.problem = (
                f"no OpenSearch node for the tests: {' and '.join(missing)} not found, and {ENV} is not set "
                "(e.g. http://localhost:9200)."
            )
            return
        self.home = Path(tempfile.mkdtemp(prefix="aftaleportalen-opensearch-"))
        self.node = OpenSearchNode(self.home / "node")
        os.environ[ENV] = self.node.url

    def start_in_background(self) -> None:
        """Build (if needed) and start the JVM without waiting for it."""
        with self._lock:
            if self.node is None or self._thread is not None:
                return
            self._thread = threading.Thread(target=self._start, name="opensearch-node-start", daemon=True)
            self._thread.start()

    def _start(self) -> None:
        assert self.node is not None
        try:
            self.node.start()
        except (NodeUnavailable, OSError, subprocess.SubprocessError) as exc:
            self.problem = str(exc)

    def url(self) -> str:
        if self.external:
            return os.environ[ENV].rstrip("/")
        if self.problem is None and self.node is not None:
            self.start_in_background()
            assert self._thread is not None
            self._thread.join()
            if self.problem is None and self.ready_url is None:
                try:
                    self.ready_url = self.node.wait_ready()
                    print(f"\nOpenSearch test node ready at {self.ready_url} ({self.node.started_in:.1f} s after launch)")
                except NodeUnavailable as exc:
                    self.problem = str(exc)
        if self.problem is not None:
            raise NodeUnavailable(self.problem)
        assert self.ready_url is not None
        return self.ready_url

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=BUILD_TIMEOUT_SECONDS)
        if self.node is not None:
            self.node.stop()
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
        if not self.external and self.node is not None and os.environ.get(ENV) == self.node.url:
            del os.environ[ENV]


_shared = _SharedNode()


def opensearch_url() -> str:
    """The shared node's URL, waiting for it to start; skips the test when no node can be
    had here, and fails it instead under CI."""
    try:
        return _shared.url()
    except NodeUnavailable as exc:
        _unavailable(exc)
        raise  # not reached: skip and fail raise


def uses_opensearch(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return item.get_closest_marker("opensearch") is not None or (
        callspec is not None and callspec.params.get("engine") == "opensearch"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "opensearch: needs an OpenSearch node (the shared test node unless one is given)")
    _shared.configure()


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(uses_opensearch(item) for item in session.items):
        _shared.start_in_background()


def pytest_unconfigure(config: pytest.Config) -> None:
    _shared.stop()


def pytest_report_header(config: pytest.Config) -> str:
    if _shared.external:
        return f"opensearch: {os.environ[ENV]} (given)"
    if _shared.node is not None:
        return f"opensearch: test node at {_shared.node.url}, started when a test needs it"
    return f"opensearch: none ({_shared.problem})"


def with_prefix(url: str, prefix: str) -> str:
    """`url` (a cluster, perhaps with credentials and options) with its path set to the
    index prefix `prefix`: http://u:p@h:9200/x?ca=F → http://u:p@h:9200/PREFIX?ca=F."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{prefix}", parts.query, ""))


def _unavailable(exc: Exception) -> None:
    if _in_ci():
        pytest.fail(f"CI needs a real OpenSearch node: {exc}", pytrace=False)
    pytest.skip(str(exc))


@pytest.fixture
def private_opensearch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSearchNode]:
    """A node of the test's own (not the shared one), started and answering; the test may
    kill it and start it again on the same folder and port. Skips (fails under CI) where
    no node can be started."""
    node = OpenSearchNode(tmp_path_factory.mktemp("opensearch-private"))
    try:
        node.start().wait_ready()
    except NodeUnavailable as exc:
        node.stop()
        _unavailable(exc)
    try:
        yield node
    finally:
        node.stop()
