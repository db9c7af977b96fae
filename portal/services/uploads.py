"""Checking an uploaded file before anything is stored: its name, its size and its type.

The type is decided by the file's first bytes, never by its name or the browser's word;
the name's extension must agree with what the bytes are.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from portal.errors import InvalidUpload, PayloadTooLarge, UnsupportedMediaType

SNIFF_BYTES = 8192
MAX_FILENAME_LENGTH = 255


@dataclass(frozen=True)
class FileType:
    media_type: str
    extensions: tuple[str, ...]
    searchable: bool


PDF = FileType("application/pdf", (".pdf",), True)
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",), False)
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",), False)
CSV = FileType("text/csv", (".csv",), False)
TXT = FileType("text/plain", (".txt",), False)

_BINARY_SIGNATURES = (b"%PDF-", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"MZ", b"\x7fELF", b"\xd0\xcf\x11\xe0")
_FORBIDDEN_CHARACTERS = {"/", "\\"}
ALLOWED_EXTENSIONS = ".pdf, .docx, .xlsx, .csv, .txt"


def check_filename(filename: str | None) -> str:
    """The filename as given, when it is safe to keep and show; a clear error otherwise."""
    name = (filename or "").strip()
    if not name:
        raise InvalidUpload("Filen har intet navn.")
    if len(name) > MAX_FILENAME_LENGTH:
        raise InvalidUpload(f"Filnavnet er for langt ({len(name)} tegn); højst {MAX_FILENAME_LENGTH} tegn er tilladt.")
    if any(ch in _FORBIDDEN_CHARACTERS for ch in name) or name in {".", ".."}:
        raise InvalidUpload("Filnavnet må ikke indeholde mapper eller skråstreger.")
    for ch in name:
        category = unicodedata.category(ch)
        if category == "Cc":
            raise InvalidUpload("Filnavnet indeholder usynlige styretegn (fx linjeskift). Omdøb filen og prøv igen.")
        if category == "Cf":
            # Bidi overrides can disguise "rapport‮fdp.exe" as "rapportexe.pdf".
            raise InvalidUpload("Filnavnet indeholder skjulte retnings- eller formateringstegn. Omdøb filen og prøv igen.")
    return unicodedata.normalize("NFC", name)


def _extension(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot > 0 else ""


def sniff_type(head: bytes, filename: str) -> FileType:
    """What the bytes are, checked against the name's extension."""
    if not head:
        raise InvalidUpload("Filen er tom.")
    extension = _extension(filename)
    if head.startswith(b"%PDF-"):
        detected = PDF
    elif head.startswith(b"PK\x03\x04") and extension in (DOCX.extensions + XLSX.extensions):
        detected = DOCX if extension == ".docx" else XLSX
    elif b"\x00" not in head and not head.startswith(_BINARY_SIGNATURES) and extension in (CSV.extensions + TXT.extensions):
        detected = CSV if extension == ".csv" else TXT
    else:
        if extension == ".pdf":
            raise UnsupportedMediaType(
                "Filen hedder .pdf, men er ikke en PDF-fil (en PDF begynder med %PDF-). Gem den som PDF igen og prøv på ny.")
        raise UnsupportedMediaType(f"Filtypen understøttes ikke. Tilladte filtyper: {ALLOWED_EXTENSIONS}.")
    if extension not in detected.extensions:
        raise UnsupportedMediaType(
            f"Filens indhold ({detected.extensions[0]}) passer ikke til filnavnets endelse ({extension or 'ingen'}).")
    return detected


def check_declared_size(content_length: int | None, max_size: int) -> None:
    """Refuse before reading a byte when the client announces too much."""
    if content_length is not None and content_length > max_size:
        raise PayloadTooLarge(_too_large(max_size))


def _too_large(max_size: int) -> str:
    return f"Filen er for stor. Den største tilladte størrelse er {max_size // (1024 * 1024)} MB."


class PrefixedStream:
    """A stream that yields already-read first bytes before the rest, so sniffing costs no copy."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)
