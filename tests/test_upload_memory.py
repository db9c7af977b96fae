"""A 512 MB upload streams through the portal: the server process's memory stays flat."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
SIZE = 512 * 1024 * 1024
CHUNK = 1024 * 1024
LIMIT_GROWTH = 64 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def _body(boundary: str, fields: dict[str, str]) -> tuple[list[bytes], bytes, int]:
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="stor.pdf"\r\n'
             "Content-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return [head], tail, len(head) + SIZE + len(tail)


def _content() -> Iterator[bytes]:
    first = b"%PDF-1.4\n%" + b"0" * (CHUNK - 10)
    yield first
    filler = bytes(range(256)) * (CHUNK // 256)
    for _ in range(SIZE // CHUNK - 1):
        yield filler


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, int, str]]:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the server's memory")
    env = dict(os.environ, PORTAL_INSTANCE_DIR=str(tmp_path), PORTAL_SECRET_KEY="memory-test",
               PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}", PORTAL_MAX_UPLOAD_BYTES=str(SIZE + CHUNK))
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run([str(BIN / "portal"), *args], env=env, check=True, capture_output=True, timeout=120)
    token = subprocess.run([str(BIN / "portal"), "tokens", "create", "--user", "redaktoer@fjordby-boligselskab.dk"],
                           env=env, check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    port = _free_port()
    process = subprocess.Popen([str(BIN / "portal"), "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, process.pid, token
    process.terminate()
    process.wait(timeout=10)


def test_512_mb_upload_keeps_server_memory_flat(server: tuple[int, int, str]) -> None:
    port, pid, token = server
    headers = {"Authorization": f"Bearer {token}"}
    # A small upload first, so one-time costs (imports, the store's first use) are not counted as growth.
    boundary = "aftaleportalen-memory-test"
    small = (f'--{boundary}\r\nContent-Disposition: form-data; name="organisation"\r\n\r\n29001111\r\n'
             f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nbilag\r\n'
             f'--{boundary}\r\nContent-Disposition: form-data; name="year"\r\n\r\n2025\r\n'
             f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="lille.pdf"\r\n\r\n'
             f'%PDF-1.4 lille\r\n--{boundary}--\r\n').encode()
    warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    warm.request("POST", "/api/v1/documents", body=small,
                 headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert warm.getresponse().status == 201
    warm.close()
    # Reset the peak to the current resident size, so the peak measured next is the big upload's alone.
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    baseline = _kib(pid, "VmRSS")

    org_cvr = "29001111"
    heads, tail, length = _body(boundary, {"organisation": org_cvr, "kind": "regnskab", "year": "2025",
                                           "visibility": "dialogue", "title": "Stort regnskab"})
    digest = hashlib.sha256()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.putrequest("POST", "/api/v1/documents")
    for name, value in {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}",
                        "Content-Length": str(length)}.items():
        connection.putheader(name, value)
    connection.endheaders()
    for part in heads:
        connection.send(part)
    for chunk in _content():
        digest.update(chunk)
        connection.send(chunk)
    connection.send(tail)
    response = connection.getresponse()
    body = json.loads(response.read())
    peak = _kib(pid, "VmHWM")
    growth = peak - baseline
    print(f"\nupload of {SIZE // 2**20} MB: server RSS before {baseline / 2**20:.1f} MB, "
          f"peak {peak / 2**20:.1f} MB, growth {growth / 2**20:.1f} MB")
    assert response.status == 201, body
    assert body["size"] == SIZE and body["sha256"] == digest.hexdigest()
    assert growth < LIMIT_GROWTH
