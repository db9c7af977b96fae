"""Sending a stored version to the client: streamed, with Range, ETag and a safe filename.

Downloads never render as a page of the portal's origin: every response carries a
sandboxing CSP and nosniff, only PDFs are shown inline (the viewer needs that), and a type
the upload check does not accept (HTML, SVG, …) is never sent as itself.

Every time a logged-in user is sent a document's bytes, the audit trail records it.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from portal.backends import object_store
from portal.models import DocumentVersion
from portal.services.audit import record_document_read
from portal.services.uploads import CSV, DOCX, PDF, TXT, XLSX
from portal.uow import unit_of_work
from portal.web import client_address, current_actor

_SENT_AS_IS = frozenset(t.media_type for t in (PDF, DOCX, XLSX, CSV, TXT))


def ascii_filename(filename: str) -> str:
    """A plain-ASCII stand-in for old clients: accents dropped, anything odd replaced."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    folded = re.sub(r'[^A-Za-z0-9._ -]', "_", folded).strip(" .") or "dokument"
    return folded[:150]


def content_disposition(filename: str, *, inline: bool) -> str:
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_filename(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _record_read(version: DocumentVersion) -> None:
    actor = current_actor()
    if actor is None:
        return  # the public archive read anonymously: no person to record
    with unit_of_work():
        record_document_read(actor, version, address=client_address())


def send_version(version: DocumentVersion, *, inline: bool | None = None) -> Response:
    """Stream `version` honouring a single byte Range; 304 when the client has this version."""
    store = object_store()
    size = version.size
    etag = f'"{version.sha256}"'
    show_inline = version.media_type == "application/pdf" if inline is None else inline
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(version.filename, inline=show_inline),
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
    }
    if request.if_none_match.contains_weak(version.sha256):
        _record_read(version)
        return Response(status=304, headers=headers)
    start, end, status = 0, size, 200
    # If-Range: only serve the part when the client's copy is this very version.
    if_range_ok = "If-Range" not in request.headers or request.if_range.etag == version.sha256
    if request.range is not None and if_range_ok:
        span = request.range.range_for_length(size)
        if span is None:
            raise RequestedRangeNotSatisfiable(length=size)
        start, end = span
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    chunks = store.open(version.object_key, start, end)  # raises before any header is sent
    if start == 0:
        _record_read(version)  # once per opening, not once per part the viewer fetches
    headers["Content-Length"] = str(end - start)
    media_type = version.media_type if version.media_type in _SENT_AS_IS else "application/octet-stream"
    return Response(chunks, status=status, headers=headers, mimetype=media_type, direct_passthrough=True)
