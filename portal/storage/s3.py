"""`S3ObjectStore`: objects in a MinIO or S3 bucket (the distributed store).

The key is the SHA-256 of the content, which is only known after the last
byte, so an upload is first spooled to an anonymous temp file while it is
hashed, then sent with its length known (minio switches to multipart for big
objects). Memory stays at a few parts whatever the size.

Timeouts are short and retries few on purpose: a store that is down must turn
into `StorageUnavailable` within seconds, not hang a request or /healthz.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

import certifi
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error, ServerError
from minio.helpers import check_bucket_name
from urllib3.util import Retry, Timeout

from portal.errors import ObjectMissing, StorageError, StorageUnavailable
from portal.storage import (
    CHUNK_SIZE,
    KEY_PREFIX,
    S3_SCHEMES,
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

# Data requests may wait a while for a busy server; the health probe may not.
DATA_TIMEOUT = Timeout(connect=2.0, read=20.0)
PROBE_TIMEOUT = Timeout(connect=2.0, read=3.0)
# Three attempts in all, about half a second of back-off: enough to ride out
# a dropped keep-alive connection, short enough to fail fast when it is down.
RETRY = Retry(total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504))
# Each part in flight costs about 12 MB (minio parts are 5 MiB up to ~50 GB,
# plus buffers); two keep an upload of any size near 25 MB of memory.
PARALLEL_UPLOADS = 2

_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchObject"})
_BUCKET_EXISTS_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class S3Settings:
    """Where the bucket is and how to reach it. `repr` leaves out the secret."""

    endpoint: str  # host or host:port
    bucket: str
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    secure: bool = False
    region: str | None = None


def parse_s3_url(url: str) -> S3Settings:
    """Parse `s3://ACCESS_KEY:SECRET@host:port/bucket?secure=false&region=eu-north-1`.

    `s3+https://` (or `secure=true`) means TLS; `s3://` and `s3+http://` mean
    plain HTTP. Credentials with `/`, `:` or `@` must be percent-encoded.
    Raises `ValueError` without echoing the URL (it may hold the secret).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in S3_SCHEMES:
        raise ValueError(f"not an S3 storage URL (scheme {scheme!r})")
    options = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - {"secure", "region"})
    if unknown:
        raise ValueError(f"unknown option(s) in S3 storage URL: {', '.join(unknown)} (known: secure, region)")
    secure = scheme == "s3+https"
    if "secure" in options:
        asked = _parse_bool(options["secure"][-1])
        if scheme != "s3" and asked != secure:
            raise ValueError(f"S3 storage URL: {scheme}:// contradicts secure={options['secure'][-1]}")
        secure = asked
    region = options["region"][-1] if options.get("region", [""])[-1] else None

    endpoint = parts.netloc.rpartition("@")[2]
    if not parts.hostname:
        raise ValueError("S3 storage URL has no host")
    _ = parts.port  # urlsplit validates the port only when it is read
    bucket = unquote(parts.path).strip("/")
    if not bucket or "/" in bucket:
        raise ValueError("S3 storage URL must name exactly one bucket: s3://…@host:port/bucket")
    check_bucket_name(bucket)

    access_key = unquote(parts.username) if parts.username else None
    secret_key = unquote(parts.password) if parts.password is not None else None
    if access_key and secret_key is None:
        raise ValueError("S3 storage URL has an access key but no secret")
    return S3Settings(
        endpoint=endpoint,
        bucket=bucket,
        access_key=access_key,
        secret_key=secret_key,
        secure=secure,
        region=region,
    )


class S3ObjectStore:
    """Objects in one S3 bucket, reached through the `minio` client."""

    def __init__(self, settings: S3Settings, *, spool_dir: Path | None = None) -> None:
        """Make the clients and create the bucket if it is missing.

        A store that does not answer yet is not an error here: the app must
        start and report 503 on /healthz; the bucket is made on first use.
        """
        self._settings = settings
        self._bucket = settings.bucket
        self._spool_dir = spool_dir
        self._client = _client(settings, DATA_TIMEOUT)
        self._probe = _client(settings, PROBE_TIMEOUT)
        self._bucket_ready = False
        try:
            self._ensure_bucket()
        except StorageUnavailable:
            logger.warning("object store %s does not answer; will create the bucket on first use", self.describe())

    @classmethod
    def from_url(cls, url: str) -> S3ObjectStore:
        """See `parse_s3_url` for the URL format."""
        return cls(parse_s3_url(url))

    @property
    def settings(self) -> S3Settings:
        return self._settings

    def put_stream(
        self,
        stream: BinaryIO,
        *,
        max_size: int | None = None,
        content_type: str = "application/octet-stream",
    ) -> StoredObject:
        """See `ObjectStore.put_stream`.

        Always uploads, even when the key exists: the fresh modification time
        keeps the orphan check from sweeping an object a new row is about to use.
        """
        check_max_size(max_size)
        # Fail before reading a large upload from the client, not after.
        self._ensure_bucket()
        try:
            # Anonymous: the OS removes it even if this process is killed.
            spool = tempfile.TemporaryFile(dir=self._spool_dir, prefix="portal-upload-")
        except OSError as exc:
            raise StorageError() from exc
        with spool:
            size, digest = copy_hashed(stream, spool, max_size)
            key = key_for_digest(digest)
            try:
                spool.seek(0)
            except OSError as exc:
                raise StorageError() from exc
            with _vendor_errors():
                self._client.put_object(
                    self._bucket,
                    key,
                    spool,
                    size,
                    content_type=content_type,
                    num_parallel_uploads=PARALLEL_UPLOADS,
                )
        return StoredObject(key=key, size=size, sha256=digest)

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """See `ObjectStore.open`. One HEAD up front so a missing key fails before streaming."""
        size = self.stat(key).size
        lo, hi = resolve_range(size, start, end)
        return self._read(key, lo, hi)

    def stat(self, key: str) -> ObjectInfo:
        """See `ObjectStore.stat`."""
        validate_key(key)
        with _vendor_errors():
            found = self._client.stat_object(self._bucket, key)
        return ObjectInfo(key=key, size=found.size or 0, modified=_utc(found.last_modified))

    def exists(self, key: str) -> bool:
        """See `ObjectStore.exists`."""
        try:
            self.stat(key)
        except ObjectMissing:
            return False
        return True

    def delete(self, key: str) -> None:
        """See `ObjectStore.delete`."""
        validate_key(key)
        with _vendor_errors():
            self._client.remove_object(self._bucket, key)

    def iter_objects(self) -> Iterator[ObjectInfo]:
        """See `ObjectStore.iter_objects`. S3 lists in key order already."""
        with _vendor_errors():
            for found in self._client.list_objects(self._bucket, prefix=KEY_PREFIX, recursive=True):
                if is_valid_key(found.object_name):
                    yield ObjectInfo(
                        key=found.object_name,
                        size=found.size or 0,
                        modified=_utc(found.last_modified),
                    )

    def check(self) -> None:
        """See `ObjectStore.check`: one HEAD on the bucket with a short timeout."""
        with _vendor_errors():
            exists = self._probe.bucket_exists(self._bucket)
        if exists:
            return
        if self._bucket_ready:
            # It was there and is gone: every document with it. Recreating
            # it silently would hide that, so report it.
            logger.error("bucket %s has disappeared from %s", self._bucket, self.describe())
            raise StorageError(bucket=self._bucket)
        self._ensure_bucket()

    def describe(self) -> str:
        scheme = "s3+https" if self._settings.secure else "s3"
        return f"{scheme}://{self._settings.endpoint}/{self._bucket}"

    # -- internals ---------------------------------------------------------

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with _vendor_errors():
            if not self._client.bucket_exists(self._bucket):
                try:
                    self._client.make_bucket(self._bucket, location=self._settings.region)
                    logger.info("created bucket %s", self.describe())
                except S3Error as exc:
                    # Another process won the race to create it.
                    if exc.code not in _BUCKET_EXISTS_CODES:
                        raise
        self._bucket_ready = True

    def _read(self, key: str, lo: int, hi: int) -> Iterator[bytes]:
        if hi <= lo:
            return  # length 0 would mean "to the end" to minio
        response = None
        with _vendor_errors():
            try:
                response = self._client.get_object(self._bucket, key, offset=lo, length=hi - lo)
                received = 0
                for chunk in response.stream(CHUNK_SIZE):
                    received += len(chunk)
                    yield chunk
                if received != hi - lo:
                    raise StorageError()
            finally:
                if response is not None:
                    response.close()
                    response.release_conn()


def _client(settings: S3Settings, timeout: Timeout) -> Minio:
    # Our own pool replaces minio's default (5-minute timeouts, 5 retries), so
    # the TLS settings minio would have applied are repeated here.
    http = urllib3.PoolManager(
        timeout=timeout,
        retries=RETRY,
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
    )
    return Minio(
        settings.endpoint,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        secure=settings.secure,
        region=settings.region,
        http_client=http,
    )


@contextmanager
def _vendor_errors() -> Iterator[None]:
    """Translate minio and urllib3 errors into the portal's storage errors."""
    try:
        yield
    except S3Error as exc:
        if exc.code in _MISSING_CODES:
            raise ObjectMissing() from exc
        raise StorageError() from exc
    except ServerError as exc:
        if exc.status_code >= 500:
            raise StorageUnavailable() from exc
        raise StorageError() from exc
    except MinioException as exc:  # InvalidResponseError: something that is not S3 answered
        raise StorageError() from exc
    except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
        raise StorageUnavailable() from exc


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        # Some S3 implementations omit it; "now" keeps the orphan check's
        # grace period on the safe side.
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"S3 storage URL: secure must be true or false, not {value!r}")
