"""`make run` as a newcomer uses it: it serves the portal, and Ctrl-C or SIGTERM stops every
process it started (the web server and the indexer), leaving none behind."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _start(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PORT": str(port),
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "PORTAL_STORAGE_URL": str(tmp_path / "objects"),
        "PORTAL_SEARCH_URL": str(tmp_path / "search"),
        "PORTAL_INSTANCE_DIR": str(tmp_path / "instance"),
    }
    log = (tmp_path / f"make-run-{port}.log").open("wb")
    # A session of its own, like a terminal: Ctrl-C reaches its whole foreground process group.
    return subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_until_served(process: subprocess.Popen[bytes], port: int, timeout: float = 240) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run ended before serving"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/log-ind", timeout=5) as response:
                if response.status == 200:
                    return _descendants(process.pid)
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError("the portal did not answer within the time")


def _stop(process: subprocess.Popen[bytes], how: str) -> None:
    if how == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_make_run_serves_and_every_process_stops(tmp_path: Path, how: str) -> None:
    port = _free_port()
    process = _start(tmp_path, port)
    try:
        started = _wait_until_served(process, port)
        commands = {Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") for pid in _alive(started)}
        assert any(b"portal run" in c for c in commands) and any(b"indexer run" in c for c in commands)

        _stop(process, how)

        deadline = time.monotonic() + 20
        while _alive(started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _alive(started) == set()
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, "the web server still listens"
        log = (tmp_path / f"make-run-{port}.log").read_text()
        assert "web.1 stopped" in log and "indexer.1 stopped" in log
        assert "Segmentation fault" not in log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for pid in _alive(_descendants(process.pid)):
            os.kill(pid, signal.SIGKILL)
