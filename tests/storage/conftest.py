"""Every object store that can run here, for the contract tests.

- `local`: a folder in `tmp_path`, always.
- `s3-moto`: moto's S3 server on loopback (one per session), a fresh bucket per test.
- `s3-minio`: the MinIO (or any S3) that `PORTAL_TEST_S3_URL` names (same format as
  `open_store`), a fresh bucket per test, removed afterwards; a run of its own only where
  that variable is set. The S3 path is always tested through moto's server.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from minio import Minio

from portal.storage import ObjectStore, open_store
from portal.storage.local import LocalObjectStore
from portal.storage.s3 import S3ObjectStore, parse_s3_url

S3_URL = os.environ.get("PORTAL_TEST_S3_URL")
STORE_KINDS = ("local", "s3-moto", *(("s3-minio",) if S3_URL else ()))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """host:port of an S3-speaking moto server on 127.0.0.1 and a free port."""
    from moto.server import ThreadedMotoServer  # imported late: slow, and only S3 tests need it

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def serial_moto_endpoint() -> Iterator[str]:
    """host:port of a moto S3 server that handles one request at a time (see its one user)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def serial_moto_store(serial_moto_endpoint: str) -> ObjectStore:
    return open_store(f"s3://test-key:test-secret@{serial_moto_endpoint}/{_fresh_bucket('portal-test')}?secure=false")


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on, so connections to it are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[ObjectStore]:
    """One empty store of each kind."""
    kind = request.param
    if kind == "local":
        yield LocalObjectStore(tmp_path / "objects")
    elif kind == "s3-moto":
        endpoint = request.getfixturevalue("moto_endpoint")
        yield open_store(f"s3://test-key:test-secret@{endpoint}/{_fresh_bucket('portal-test')}?secure=false")
    else:
        yield from _minio_store()


def _minio_store() -> Iterator[ObjectStore]:
    assert S3_URL, "s3-minio runs only where PORTAL_TEST_S3_URL is set"
    settings = parse_s3_url(S3_URL)
    settings = replace(settings, bucket=_fresh_bucket(settings.bucket))
    store = S3ObjectStore(settings)
    yield store
    for info in list(store.iter_objects()):
        store.delete(info.key)
    admin = Minio(
        settings.endpoint,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        secure=settings.secure,
        region=settings.region,
    )
    admin.remove_bucket(settings.bucket)


def _fresh_bucket(base: str) -> str:
    # S3 bucket names: at most 63 characters, lowercase.
    return f"{base[:50]}-{uuid.uuid4().hex[:12]}"
