"""Small PDFs and upload helpers for the document tests."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient


def make_pdf(text: str = "Referat af styringsdialogmødet", pages: int = 1) -> bytes:
    """A valid PDF with `text` on each page (Helvetica, WinAnsi: Danish letters included)."""
    return make_pdf_pages([f"{text} side {i + 1}" for i in range(pages)])


def make_pdf_pages(texts: list[str]) -> bytes:
    """A valid PDF whose page n shows texts[n-1] (one line each)."""
    pages = len(texts)
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(pages)]
    font_id = 3 + 2 * pages
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids) + b"] /Count %d >>" % pages)
    for i in range(pages):
        line = texts[i].encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        stream = b"BT /F1 14 Tf 72 720 Td (" + line + b") Tj ET"
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> "
                       b"/Contents %d 0 R >>" % (font_id, page_ids[i] + 1))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe6\xf8\xe5\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def upload(client: FlaskClient, party_id: int, content: bytes, filename: str = "referat.pdf", **fields: Any):  # type: ignore[no-untyped-def]
    data = {"kind": "referat", "year": "2025", "title": "", "visibility": "dialogue", **fields,
            "files": (io.BytesIO(content), filename)}
    return client.post(f"/parter/{party_id}/dokumenter/ny", data=data, content_type="multipart/form-data")
