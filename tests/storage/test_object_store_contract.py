"""The `ObjectStore` contract, run against every implementation present.

The `store` fixture (conftest.py) yields a local folder store, an S3 store on
a moto server, and an S3 store on a real MinIO when `PORTAL_TEST_S3_URL` is
set. Tests after the contract section cover what only one kind can show.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.errors import ObjectMissing, PayloadTooLarge, StorageError, StorageUnavailable
from portal.storage import CHUNK_SIZE, ObjectStore, StoredObject, open_store
from portal.storage.local import TEMP_DIR, LocalObjectStore
from portal.storage.s3 import S3ObjectStore, parse_s3_url

MiB = 1024 * 1024


class ChunkStream(io.RawIOBase):
    """A readable binary stream fed by an iterator of chunks, so big inputs never exist whole."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = next(self._chunks, b"")  # b"" once exhausted: end of stream
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class SimulatedCrash(Exception):
    """What the client connection 'raises' halfway through an upload."""


def pseudo_random_chunks(total: int, *, seed: int, chunk: int = MiB) -> Iterator[bytes]:
    rng = random.Random(seed)
    remaining = total
    while remaining:
        n = min(chunk, remaining)
        yield rng.randbytes(n)
        remaining -= n


def crashing_chunks(before_crash: int) -> Iterator[bytes]:
    yield from pseudo_random_chunks(before_crash, seed=7)
    raise SimulatedCrash("connection reset by client")


def put(store: ObjectStore, data: bytes, **options) -> StoredObject:
    return store.put_stream(io.BytesIO(data), **options)


def read(store: ObjectStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(store.open(key, start, end))


def stored_keys(store: ObjectStore) -> list[str]:
    return [info.key for info in store.iter_objects()]


def temp_litter(store: ObjectStore) -> list[str]:
    """Files left in the local store's temp folder; S3 spools to anonymous files."""
    if isinstance(store, LocalObjectStore):
        return sorted(os.listdir(store.root / TEMP_DIR))
    return []


# Spans two chunk boundaries, so ranges exercise seams between chunks.
RANGE_DATA = random.Random(3).randbytes(2 * CHUNK_SIZE + 12345)
SIZE = len(RANGE_DATA)


# -- the contract ------------------------------------------------------------


def test_put_then_read_back_gives_the_same_bytes_size_and_sha256(store: ObjectStore) -> None:
    data = b"%PDF-1.7\n" + bytes(range(256)) * 100

    stored = put(store, data, content_type="application/pdf")

    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.sha256 in stored.key
    assert read(store, stored.key) == data


def test_empty_content_is_an_object_like_any_other(store: ObjectStore) -> None:
    stored = put(store, b"")

    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert read(store, stored.key) == b""
    assert store.stat(stored.key).size == 0


def test_same_content_twice_gets_the_same_key_and_one_object(store: ObjectStore) -> None:
    first = put(store, b"referat 2024")
    second = put(store, b"referat 2024")
    other = put(store, b"referat 2025")

    assert first == second
    assert other.key != first.key
    assert stored_keys(store) == sorted([first.key, other.key])
    assert read(store, first.key) == b"referat 2024"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(1000, None, id="start-only"),
        pytest.param(10, 20, id="start-and-end"),
        pytest.param(SIZE - 1, None, id="last-byte"),
        pytest.param(SIZE - 1, SIZE, id="last-byte-bounded"),
        pytest.param(SIZE, None, id="empty-at-end"),
        pytest.param(SIZE, SIZE, id="empty-at-end-bounded"),
        pytest.param(500, 500, id="empty-in-middle"),
        pytest.param(CHUNK_SIZE - 3, CHUNK_SIZE + 3, id="across-chunk-seam"),
        pytest.param(0, SIZE + 100, id="end-past-size-is-clamped"),
        pytest.param(SIZE + 5, None, id="start-past-size-is-empty"),
    ],
)
def test_range_reads_equal_the_slices(store: ObjectStore, start: int, end: int | None) -> None:
    stored = put(store, RANGE_DATA)

    assert read(store, stored.key, start, end) == RANGE_DATA[start:end]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_range_read_equals_the_slice(store: ObjectStore, data: st.DataObject) -> None:
    stored = put(store, RANGE_DATA)  # idempotent, so every example may repeat it
    start = data.draw(st.integers(min_value=0, max_value=SIZE + 2), label="start")
    end = data.draw(st.none() | st.integers(min_value=start, max_value=SIZE + 2), label="end")

    assert read(store, stored.key, start, end) == RANGE_DATA[start:end]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (10, 9)])
def test_impossible_ranges_are_refused(store: ObjectStore, start: int, end: int | None) -> None:
    stored = put(store, b"0123456789abcdef")

    with pytest.raises(ValueError):
        store.open(stored.key, start, end)


def test_stat_exists_and_delete(store: ObjectStore) -> None:
    before = datetime.now(UTC)
    stored = put(store, b"styringsrapport")

    info = store.stat(stored.key)
    assert info.key == stored.key
    assert info.size == len(b"styringsrapport")
    assert info.modified.utcoffset() == timedelta(0)
    assert before - timedelta(minutes=2) <= info.modified <= datetime.now(UTC) + timedelta(minutes=2)
    assert store.exists(stored.key)

    store.delete(stored.key)

    assert not store.exists(stored.key)
    assert stored_keys(store) == []
    with pytest.raises(ObjectMissing):
        store.open(stored.key)
    with pytest.raises(ObjectMissing):
        store.stat(stored.key)
    store.delete(stored.key)  # deleting what is absent is fine


def test_well_formed_key_never_stored_is_missing(store: ObjectStore) -> None:
    never_stored = "sha256/00/00/" + "0" * 64

    with pytest.raises(ObjectMissing):
        store.open(never_stored)
    with pytest.raises(ObjectMissing):
        store.stat(never_stored)
    assert not store.exists(never_stored)


def test_iter_objects_lists_exactly_what_was_stored(store: ObjectStore) -> None:
    assert list(store.iter_objects()) == []
    contents = [b"a" * n for n in (1, 10, 1000)] + [b"aftale"]

    stored = [put(store, content) for content in contents]

    listed = list(store.iter_objects())
    assert [info.key for info in listed] == sorted(s.key for s in stored)
    assert {info.key: info.size for info in listed} == {s.key: s.size for s in stored}


def test_large_object_round_trips_in_bounded_chunks(store: ObjectStore) -> None:
    total = 40 * MiB + 17  # not a whole number of chunks or multipart parts
    expected = hashlib.sha256()
    for chunk in pseudo_random_chunks(total, seed=42):
        expected.update(chunk)

    stored = store.put_stream(ChunkStream(pseudo_random_chunks(total, seed=42)))

    assert stored.size == total
    assert stored.sha256 == expected.hexdigest()
    assert store.stat(stored.key).size == total
    read_back = hashlib.sha256()
    received = 0
    largest = 0
    for chunk in store.open(stored.key):
        read_back.update(chunk)
        received += len(chunk)
        largest = max(largest, len(chunk))
    assert received == total
    assert read_back.hexdigest() == expected.hexdigest()
    assert largest <= CHUNK_SIZE


def test_more_than_max_size_is_refused_and_nothing_is_stored(store: ObjectStore) -> None:
    limit = 3 * MiB

    with pytest.raises(PayloadTooLarge):
        store.put_stream(ChunkStream(pseudo_random_chunks(limit + 1, seed=1)), max_size=limit)

    assert stored_keys(store) == []
    assert temp_litter(store) == []


def test_exactly_max_size_is_accepted(store: ObjectStore) -> None:
    limit = 2 * MiB + 1

    stored = store.put_stream(ChunkStream(pseudo_random_chunks(limit, seed=2)), max_size=limit)

    assert stored.size == limit
    assert stored_keys(store) == [stored.key]


def test_max_size_stops_reading_instead_of_draining_a_huge_upload(store: ObjectStore) -> None:
    pulled = 0

    def one_gib() -> Iterator[bytes]:
        nonlocal pulled
        block = b"x" * MiB
        for _ in range(1024):
            pulled += len(block)
            yield block

    with pytest.raises(PayloadTooLarge):
        store.put_stream(ChunkStream(one_gib()), max_size=MiB)

    assert pulled <= 4 * MiB


def test_stream_failing_mid_read_leaves_nothing_behind(store: ObjectStore) -> None:
    with pytest.raises(SimulatedCrash):
        store.put_stream(ChunkStream(crashing_chunks(before_crash=3 * MiB + 5)))

    assert stored_keys(store) == []
    assert temp_litter(store) == []


def put_concurrently(store: ObjectStore, contents: list[bytes]) -> list[StoredObject]:
    """Put each content from its own thread, all released at the same moment."""
    start_together = threading.Barrier(len(contents))
    results: list[StoredObject | None] = [None] * len(contents)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        start_together.wait()
        try:
            results[index] = put(store, contents[index])
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(contents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert None not in results
    return results  # type: ignore[return-value]


def test_concurrent_writers_of_the_same_content_all_succeed(request: pytest.FixtureRequest, store: ObjectStore) -> None:
    if request.node.callspec.params["store"] == "s3-moto":
        # moto's threaded server closes the buffer of the object being replaced while the request
        # that stored it still reads it for its ETag, and answers 500. Real S3 and MinIO take
        # concurrent PUTs of one key; here the store's eight writers still run at once, against a
        # moto server that answers one request at a time.
        store = request.getfixturevalue("serial_moto_store")
    data = random.Random(9).randbytes(3 * MiB + 99)

    results = put_concurrently(store, [data] * 8)

    assert {result.key for result in results} == {results[0].key}
    assert stored_keys(store) == [results[0].key]
    assert hashlib.sha256(read(store, results[0].key)).digest() == hashlib.sha256(data).digest()
    assert temp_litter(store) == []


def test_concurrent_writers_of_different_content_all_succeed(store: ObjectStore) -> None:
    contents = [random.Random(seed).randbytes(MiB + seed) for seed in range(8)]

    results = put_concurrently(store, contents)

    assert [result.sha256 for result in results] == [hashlib.sha256(c).hexdigest() for c in contents]
    assert stored_keys(store) == sorted(result.key for result in results)
    for result, content in zip(results, contents, strict=True):
        assert read(store, result.key) == content
    assert temp_litter(store) == []


HOSTILE_KEYS = [
    "../etc/passwd",
    "/etc/passwd",
    "sha256/../../x",
    "a\x00b",
    "",
    "sha256/ab/cd/" + "0" * 64,  # layout right, but the folders do not match the hash
    "sha256/AB/CD/" + "AB" * 32,  # upper-case hex is not what the store writes
    "sha256/00/00/" + "0" * 64 + "\n",
    "sha256/00/00/" + "0" * 64 + "/../../../../etc/passwd",
    ".tmp/anything",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=repr)
def test_hostile_keys_are_missing(store: ObjectStore, key: str) -> None:
    put(store, b"something real")

    with pytest.raises(ObjectMissing):
        store.open(key)
    with pytest.raises(ObjectMissing):
        store.stat(key)
    with pytest.raises(ObjectMissing):
        store.delete(key)
    assert store.exists(key) is False


def test_check_passes_on_a_working_store(store: ObjectStore) -> None:
    store.check()

    assert isinstance(store, ObjectStore)
    assert "secret" not in store.describe()


# -- a store that does not answer ---------------------------------------------


def test_s3_store_that_refuses_connections_fails_fast_with_storage_unavailable(closed_port: int) -> None:
    began = time.monotonic()
    store = open_store(f"s3://portal:very-secret-pw@127.0.0.1:{closed_port}/documents?secure=false")

    with pytest.raises(StorageUnavailable) as on_check:
        store.check()
    with pytest.raises(StorageUnavailable) as on_put:
        put(store, b"upload while the store is down")
    with pytest.raises(StorageUnavailable):
        store.stat("sha256/00/00/" + "0" * 64)  # down is not the same as missing

    assert time.monotonic() - began < 5
    for raised in (on_check.value, on_put.value):
        assert "very-secret-pw" not in str(raised)
        assert "very-secret-pw" not in repr(raised.__cause__)
    assert store.describe() == f"s3://127.0.0.1:{closed_port}/documents"


# -- the local folder store ----------------------------------------------------


def test_local_keys_cannot_escape_the_folder_through_a_symlink(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    hexdigest = "ab" * 32
    key = f"sha256/ab/ab/{hexdigest}"
    outside = tmp_path / "outside"
    (outside / "ab").mkdir(parents=True)
    (outside / "ab" / hexdigest).write_bytes(b"not the store's")
    (store.root / "sha256").mkdir()
    (store.root / "sha256" / "ab").symlink_to(outside)

    with pytest.raises(ObjectMissing):
        store.open(key)
    assert not store.exists(key)


def test_local_check_fails_when_the_folder_is_gone(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    store.check()

    (tmp_path / "objects" / TEMP_DIR).rmdir()
    (tmp_path / "objects").rmdir()

    with pytest.raises(StorageUnavailable):
        store.check()
    with pytest.raises(StorageError):
        put(store, b"nowhere to go")
    assert not (tmp_path / "objects").exists()  # an unmounted volume is not recreated


def test_local_temp_files_of_crashed_processes_are_swept_on_start(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    LocalObjectStore(root)
    stale = root / TEMP_DIR / "left-by-a-killed-process.part"
    fresh = root / TEMP_DIR / "upload-in-progress.part"
    stale.write_bytes(b"half a pdf")
    fresh.write_bytes(b"a third of a pdf")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(stale, (two_days_ago, two_days_ago))

    LocalObjectStore(root)

    assert not stale.exists()
    assert fresh.exists()


def test_local_objects_do_not_include_temp_files_or_strangers(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    stored = put(store, b"bilag")
    (store.root / TEMP_DIR / "partial.part").write_bytes(b"half")
    (store.root / "sha256" / "README").write_text("not an object")

    assert stored_keys(store) == [stored.key]


# -- open_store ------------------------------------------------------------------


def test_open_store_takes_a_plain_path_or_a_file_url(tmp_path: Path) -> None:
    by_path = open_store(str(tmp_path / "a"))
    by_url = open_store(f"file://{tmp_path / 'b'}")

    assert isinstance(by_path, LocalObjectStore)
    assert isinstance(by_url, LocalObjectStore)
    assert by_path.describe() == f"local:{(tmp_path / 'a').resolve()}"
    assert (tmp_path / "b").is_dir()


def test_open_store_takes_an_s3_url(closed_port: int) -> None:
    store = open_store(f"s3://key:pw@127.0.0.1:{closed_port}/documents?secure=false&region=eu-north-1")

    assert isinstance(store, S3ObjectStore)
    assert store.settings.region == "eu-north-1"
    assert store.settings.secure is False


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("s3://k:s@minio:9000/docs", False),
        ("s3://k:s@minio:9000/docs?secure=true", True),
        ("s3+https://k:s@minio/docs", True),
        ("s3+http://k:s@minio:9000/docs", False),
    ],
)
def test_s3_url_chooses_tls(url: str, secure: bool) -> None:
    assert parse_s3_url(url).secure is secure


def test_s3_url_credentials_are_percent_decoded_and_never_shown() -> None:
    parsed = parse_s3_url("s3://AKIA1:se%2Fcr%40et@minio:9000/docs")

    assert (parsed.access_key, parsed.secret_key) == ("AKIA1", "se/cr@et")
    assert (parsed.endpoint, parsed.bucket) == ("minio:9000", "docs")
    assert "se/cr@et" not in repr(parsed)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://k:topsecret@host/docs",
        "gs://topsecret/docs",
        "s3://k:topsecret@minio:9000/",
        "s3://k:topsecret@minio:9000/docs/sub",
        "s3://k:topsecret@minio:9000/docs?secur=false",
        "s3+https://k:topsecret@minio:9000/docs?secure=false",
        "s3://k:topsecret@minio:9000/docs?secure=maybe",
        "file://relative/objects",
        "",
    ],
)
def test_bad_storage_urls_are_refused_without_showing_the_secret(url: str) -> None:
    with pytest.raises(ValueError) as raised:
        open_store(url)

    assert "topsecret" not in str(raised.value)
