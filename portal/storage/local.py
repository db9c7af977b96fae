"""`LocalObjectStore`: objects as files in one folder (the embedded default).

Layout: `<root>/sha256/ab/cd/<hex>` for objects, `<root>/.tmp/` for uploads in
progress. An upload is written to `.tmp`, fsynced and then renamed into place
with `os.replace`, which is atomic: a reader, a concurrent writer of the same
bytes or a crash never sees a half-written file under a real key. Several
processes (web workers, indexers) may share the folder.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from portal.errors import ObjectMissing, StorageError, StorageUnavailable
from portal.storage import (
    CHUNK_SIZE,
    KEY_PREFIX,
    ObjectInfo,
    StoredObject,
    check_max_size,
    copy_hashed,
    is_valid_key,
    key_for_digest,
    resolve_range,
    validate_key,
)

logger = logging.getLogger(__name__)

TEMP_DIR = ".tmp"
# A temp file this old belongs to a process that died mid-upload; no upload
# of a 200 MB document takes a day, so removing it cannot hurt a live one.
STALE_TEMP_AGE = timedelta(days=1)


class LocalObjectStore:
    """Objects in a folder on a local (or mounted) file system."""

    def __init__(self, root: Path) -> None:
        """Create `root` if needed and sweep temp files left by crashed processes."""
        try:
            root.mkdir(parents=True, exist_ok=True)
            (root / TEMP_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable() from exc
        self._root = root.resolve()
        self._tmp = self._root / TEMP_DIR
        self.remove_stale_temp_files()

    @property
    def root(self) -> Path:
        return self._root

    def put_stream(
        self,
        stream: BinaryIO,
        *,
        max_size: int | None = None,
        content_type: str = "application/octet-stream",
    ) -> StoredObject:
        """See `ObjectStore.put_stream`. `content_type` is not kept by a folder."""
        check_max_size(max_size)
        temp = self._new_temp_file()
        try:
            with _open_for_writing(temp) as sink:
                size, digest = copy_hashed(stream, sink, max_size)
                _flush_to_disk(sink)
            key = key_for_digest(digest)
            final = self._path(key)
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                # Always replace, even if the object exists: it is the same
                # bytes, it repairs a damaged copy, and the fresh mtime keeps
                # the orphan check from sweeping an object that a new
                # document row is about to reference.
                os.replace(temp, final)
                _fsync_dir(final.parent)
            except OSError as exc:
                raise StorageError() from exc
        finally:
            temp.unlink(missing_ok=True)
        return StoredObject(key=key, size=size, sha256=digest)

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """See `ObjectStore.open`."""
        path = self._path(key)
        size = self._stat(path).st_size
        lo, hi = resolve_range(size, start, end)
        return self._read(path, lo, hi)

    def stat(self, key: str) -> ObjectInfo:
        """See `ObjectStore.stat`."""
        path = self._path(key)
        return _info(key, self._stat(path))

    def exists(self, key: str) -> bool:
        """See `ObjectStore.exists`."""
        try:
            self.stat(key)
        except ObjectMissing:
            return False
        return True

    def delete(self, key: str) -> None:
        """See `ObjectStore.delete`. Empty folders stay: a concurrent put may be about to use them."""
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError() from exc

    def iter_objects(self) -> Iterator[ObjectInfo]:
        """See `ObjectStore.iter_objects`. Skips `.tmp` and anything not in the key layout."""
        base = self._root / KEY_PREFIX.rstrip("/")
        for first in _sorted_entries(base):
            for second in _sorted_entries(Path(first.path)):
                for entry in _sorted_entries(Path(second.path)):
                    key = f"{KEY_PREFIX}{first.name}/{second.name}/{entry.name}"
                    if not is_valid_key(key) or not entry.is_file(follow_symlinks=False):
                        continue
                    try:
                        yield _info(key, entry.stat(follow_symlinks=False))
                    except FileNotFoundError:
                        continue  # deleted while we were listing

    def check(self) -> None:
        """See `ObjectStore.check`: proves the folder is there and writable."""
        probe = self._new_temp_file()
        try:
            probe.unlink()
        except OSError as exc:
            raise StorageUnavailable() from exc

    def describe(self) -> str:
        return f"local:{self._root}"

    def remove_stale_temp_files(self, older_than: timedelta = STALE_TEMP_AGE) -> int:
        """Delete temp files older than `older_than` (left by killed processes); return how many."""
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        for entry in _sorted_entries(self._tmp):
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
        if removed:
            logger.info("removed %d stale temp file(s) from %s", removed, self._tmp)
        return removed

    # -- internals ---------------------------------------------------------

    def _path(self, key: str) -> Path:
        path = self._root / validate_key(key)
        # The key layout already rules out `..`; resolving also catches a
        # symlink inside the folder that points out of it.
        if not path.resolve().is_relative_to(self._root):
            raise ObjectMissing()
        return path

    def _stat(self, path: Path) -> os.stat_result:
        try:
            return path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            if not self._root.is_dir():
                # The whole folder is gone (its volume unmounted): an outage to wait out,
                # not an object to report lost.
                raise StorageUnavailable() from exc
            raise ObjectMissing() from exc
        except OSError as exc:
            raise StorageError() from exc

    def _new_temp_file(self) -> Path:
        """Create an empty, uniquely named file in `.tmp`.

        `os.open` with mode 0o666 (not `mkstemp`'s 0o600) lets the umask
        decide, so another service account sharing the folder can read it.
        """
        path = self._tmp / f"{uuid.uuid4().hex}.part"
        try:
            # Recreate `.tmp` if someone cleaned it away, but never the root:
            # a missing root is an unmounted volume, not something to paper over.
            self._tmp.mkdir(exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except OSError as exc:
            raise StorageUnavailable() from exc
        return path

    @staticmethod
    def _read(path: Path, lo: int, hi: int) -> Iterator[bytes]:
        try:
            handle = open(path, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing() from exc
        with handle:
            handle.seek(lo)
            remaining = hi - lo
            while remaining > 0:
                chunk = handle.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    # Objects never shrink; a short file is damage, and
                    # returning fewer bytes would truncate a download silently.
                    raise StorageError()
                remaining -= len(chunk)
                yield chunk


def _info(key: str, st: os.stat_result) -> ObjectInfo:
    return ObjectInfo(key=key, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, tz=UTC))


def _sorted_entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _open_for_writing(path: Path) -> BinaryIO:
    try:
        return open(path, "wb")
    except OSError as exc:
        raise StorageError() from exc


def _flush_to_disk(handle: BinaryIO) -> None:
    try:
        handle.flush()
        os.fsync(handle.fileno())
    except OSError as exc:
        raise StorageError() from exc


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable, not just the file's contents."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
