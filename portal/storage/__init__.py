"""The object store: where document bytes live, addressed by their SHA-256.

Two implementations sit behind `ObjectStore`: `LocalObjectStore` (a folder,
the embedded default) and `S3ObjectStore` (MinIO or any S3 service, the
distributed one). `open_store(url)` picks one from `PORTAL_STORAGE_URL`.

Keys are produced by the store, never chosen by callers: `sha256/ab/cd/<hex>`.
Anything else handed back as a key is treated as absent (`ObjectMissing`), so
a key read from a request or a damaged database row can never reach a path or
an object outside the store's own layout. Vendor errors are translated into
the `StorageError` family at this boundary.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from portal.errors import ObjectMissing, PayloadTooLarge, StorageError

__all__ = [
    "CHUNK_SIZE",
    "ObjectInfo",
    "ObjectStore",
    "StoredObject",
    "open_store",
]

# Big enough that per-chunk overhead vanishes, small enough that memory stays
# flat however large the document is.
CHUNK_SIZE = 1024 * 1024

KEY_PREFIX = "sha256/"
_KEY_RE = re.compile(r"sha256/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
S3_SCHEMES = ("s3", "s3+http", "s3+https")


@dataclass(frozen=True)
class StoredObject:
    """What `put_stream` stored: its key, its size in bytes and its SHA-256 (hex)."""

    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object as `stat` and `iter_objects` see it; `modified` is aware UTC."""

    key: str
    size: int
    modified: datetime


@runtime_checkable
class ObjectStore(Protocol):
    """Content-addressed byte storage. Every method is safe to call from several threads."""

    def put_stream(
        self,
        stream: BinaryIO,
        *,
        max_size: int | None = None,
        content_type: str = "application/octet-stream",
    ) -> StoredObject:
        """Store everything `stream` yields and return where it went.

        Reads in chunks, so memory stays flat whatever the size. The key is
        derived from the SHA-256 of the bytes: the same bytes always get the
        same key, and storing them again succeeds (and refreshes `modified`).
        More than `max_size` bytes raises `PayloadTooLarge`; that, or any
        exception from the stream, leaves nothing stored. Errors raised by the
        stream itself propagate unchanged.
        """
        ...

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes `[start, end)` of the object in chunks of at most `CHUNK_SIZE`.

        `end=None` means to the end. Like a slice, bounds past the end are
        clamped (so `start >= size` yields nothing); a negative `start` or
        `end < start` is a `ValueError`. `ObjectMissing` is raised here, before
        iteration, for an absent or malformed key.
        """
        ...

    def stat(self, key: str) -> ObjectInfo:
        """Size and modification time; `ObjectMissing` for an absent or malformed key."""
        ...

    def exists(self, key: str) -> bool:
        """True if the object is stored; False for an absent or malformed key."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; an absent one is not an error, a malformed key is `ObjectMissing`."""
        ...

    def iter_objects(self) -> Iterator[ObjectInfo]:
        """Every stored object, in key order (for the orphan check)."""
        ...

    def check(self) -> None:
        """Return if the store answers and is usable; raise `StorageUnavailable` if not."""
        ...

    def describe(self) -> str:
        """Where the store is, for logs and health output; never contains a secret."""
        ...


def open_store(url: str) -> ObjectStore:
    """Open the store a `PORTAL_STORAGE_URL` names.

    - a plain path or `file:///abs/path` → `LocalObjectStore`
    - `s3://ACCESS_KEY:SECRET@host:port/bucket?secure=false&region=eu-north-1`
      (`s3+https://…` or `secure=true` for TLS) → `S3ObjectStore`

    Anything else is a `ValueError`. Messages never repeat the URL, which may
    hold a secret.
    """
    if not url or not url.strip():
        raise ValueError("storage URL is empty: give a folder path, file:///path or s3://…")
    scheme, separator, _ = url.partition("://")
    if not separator:
        from portal.storage.local import LocalObjectStore

        return LocalObjectStore(Path(url))
    scheme = scheme.lower()
    if scheme == "file":
        from portal.storage.local import LocalObjectStore

        return LocalObjectStore(_path_from_file_url(url))
    if scheme in S3_SCHEMES:
        from portal.storage.s3 import S3ObjectStore

        return S3ObjectStore.from_url(url)
    raise ValueError(
        f"unsupported storage URL scheme {scheme!r}: use a folder path, file:///path, s3:// or s3+https://"
    )


def _path_from_file_url(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValueError("file:// storage URL must be absolute, like file:///var/lib/portal/objects")
    path = unquote(parts.path)
    if not path:
        raise ValueError("file:// storage URL has no path")
    return Path(path)


# -- helpers shared by the implementations ---------------------------------


def key_for_digest(sha256_hex: str) -> str:
    """The key of the object whose SHA-256 is `sha256_hex`.

    Two levels of two hex digits keep folders (and S3 listings) small.
    """
    return f"{KEY_PREFIX}{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


def is_valid_key(key: object) -> bool:
    """True only for keys in the layout `key_for_digest` produces."""
    if not isinstance(key, str):
        return False
    match = _KEY_RE.fullmatch(key)
    return match is not None and match[1] + match[2] == match[3][:4]


def validate_key(key: object) -> str:
    """Return `key` if the store could have produced it; otherwise `ObjectMissing`."""
    if not is_valid_key(key):
        raise ObjectMissing()
    return key  # type: ignore[return-value]  # is_valid_key proved it is a str


def check_max_size(max_size: int | None) -> None:
    if max_size is not None and max_size < 0:
        raise ValueError("max_size must be None or >= 0")


def copy_hashed(stream: BinaryIO, sink: BinaryIO, max_size: int | None) -> tuple[int, str]:
    """Copy `stream` into `sink` chunk by chunk; return (size, SHA-256 hex).

    Raises `PayloadTooLarge` as soon as more than `max_size` bytes arrived,
    without reading the rest. Errors reading `stream` propagate unchanged
    (they are the caller's); errors writing `sink` become `StorageError`.
    """
    digest = hashlib.sha256()
    size = 0
    while True:
        # One byte past the limit is enough to know it was exceeded.
        want = CHUNK_SIZE if max_size is None else min(CHUNK_SIZE, max_size - size + 1)
        chunk = stream.read(want)
        if not chunk:
            return size, digest.hexdigest()
        size += len(chunk)
        if max_size is not None and size > max_size:
            raise PayloadTooLarge(max_size=max_size)
        digest.update(chunk)
        try:
            sink.write(chunk)
        except OSError as exc:
            raise StorageError() from exc


def resolve_range(size: int, start: int, end: int | None) -> tuple[int, int]:
    """Clamp `[start, end)` to an object of `size` bytes, slice-style."""
    if start < 0:
        raise ValueError("start must be >= 0")
    if end is not None and end < start:
        raise ValueError("end must be None or >= start")
    stop = size if end is None else min(end, size)
    return min(start, stop), stop
