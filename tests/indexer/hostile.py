"""PDFs made for the extraction tests: Danish text, scanned-looking pages and hostile files.

Every builder returns the bytes of one file and is deterministic. The PDFs are written by
hand (a PDF is a header, numbered objects, a cross-reference table and a trailer), so the
tests depend on no PDF-writing library and the hostile files can break the rules on
purpose. ``write_hostile_corpus(folder)`` writes every hostile file into a folder.
"""

from __future__ import annotations

import hashlib
import random
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

# ---------------------------------------------------------------------------- writing


def build_pdf(objects: Sequence[bytes], *, root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """A PDF whose object ``n`` has the body ``objects[n - 1]``, with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        trailer_extra,
        xref_at,
    )
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    """The body of a stream object holding ``data`` as is; ``extra`` adds dict entries."""
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def pdf_string(text: str) -> bytes:
    """``text`` as a PDF literal string in WinAnsiEncoding (cp1252: æ, ø, å and the rest)."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_page_content(lines: Sequence[str], *, font_size: int = 12) -> bytes:
    """A content stream writing ``lines`` top-down in Helvetica (font resource /F1)."""
    leading = round(font_size * 1.5)
    shown = b" T* ".join(pdf_string(line) + b" Tj" for line in lines)
    return b"BT /F1 %d Tf %d TL 72 760 Td %s ET" % (font_size, leading, shown)


class PdfBuilder:
    """Pages of text (Helvetica, WinAnsiEncoding) and pages of pictures, into one PDF."""

    def __init__(self) -> None:
        self._objects: list[bytes] = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"",  # the page tree, written last
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ]
        self._pages: list[int] = []

    def add_text_page(self, lines: Sequence[str], *, font_size: int = 12) -> PdfBuilder:
        return self.add_content_page(text_page_content(lines, font_size=font_size))

    def add_content_page(self, content: bytes) -> PdfBuilder:
        """A page drawn by ``content`` as given, with Helvetica as font /F1."""
        number = self._add(stream(content))
        self._add_page(b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R" % number)
        return self

    def add_image_page(self, image: Image.Image) -> PdfBuilder:
        """A page that is one greyscale picture filling an A4 page, as a scanner makes it."""
        grey = image.convert("L")
        picture = self._add(
            stream(
                zlib.compress(grey.tobytes(), 6),
                b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                b"/BitsPerComponent 8 /Filter /FlateDecode " % grey.size,
            )
        )
        content = self._add(stream(b"q 595 0 0 842 0 0 cm /Scan Do Q"))
        self._add_page(b"/Resources << /XObject << /Scan %d 0 R >> >> /Contents %d 0 R" % (picture, content))
        return self

    def build(self) -> bytes:
        kids = b" ".join(b"%d 0 R" % n for n in self._pages)
        self._objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self._pages))
        return build_pdf(self._objects)

    def _add(self, body: bytes) -> int:
        self._objects.append(body)
        return len(self._objects)

    def _add_page(self, entries: bytes) -> None:
        self._pages.append(self._add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] %s >>" % entries))


def text_pdf(pages: Sequence[Sequence[str]], *, font_size: int = 12) -> bytes:
    """An A4 PDF with one page per item of ``pages``, each a list of lines of text."""
    builder = PdfBuilder()
    for lines in pages:
        builder.add_text_page(lines, font_size=font_size)
    return builder.build()


def page_images(pdf_bytes: bytes, *, dpi: int = 200) -> list[Image.Image]:
    """Every page of ``pdf_bytes`` rendered to a greyscale picture (by PDFium)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf_bytes)
    try:
        images = []
        for index in range(len(document)):
            page = document[index]
            images.append(page.render(scale=dpi / 72, grayscale=True).to_pil())
            page.close()
        return images
    finally:
        document.close()


def scanned_pdf(pdf_bytes: bytes, *, dpi: int = 200) -> bytes:
    """The pages of ``pdf_bytes`` as pictures only, like a scanner makes them: no text layer."""
    builder = PdfBuilder()
    for image in page_images(pdf_bytes, dpi=dpi):
        builder.add_image_page(image)
    return builder.build()


# ---------------------------------------------------------------------------- documents


DANISH_PAGES = [
    [
        "Referat af styringsdialogmøde 2024",
        "Boligorganisationen Ærøskøbing Bolig",
        "Deltagere: Søren Ågård og Åse Bøgh",
        "æ ø å Æ Ø Å",
    ],
    ["Anden side: fleksibel udlejning og kombineret udlejning", "Blåbærgrød med fløde"],
    ["Tredje side: opfølgning på aftaler"],
]


def danish_text_pdf() -> bytes:
    """Three pages of Danish, with every Danish letter, in a standard font."""
    return text_pdf(DANISH_PAGES)


SCANNED_LINES = ["Styringsdialog med boligorganisationen", "Referat af mødet i kommunen"]


def scanned_danish_pdf() -> bytes:
    """One page of large Danish text as a picture only, for OCR."""
    return scanned_pdf(text_pdf([SCANNED_LINES], font_size=22), dpi=200)


def half_scanned_pdf() -> bytes:
    """Page 1 has a text layer, page 2 is a scanned picture of text."""
    picture = page_images(text_pdf([SCANNED_LINES], font_size=22))[0]
    return PdfBuilder().add_text_page(DANISH_PAGES[0]).add_image_page(picture).build()


def half_broken_pdf() -> bytes:
    """Page 1 is Danish text; page 2's content stream makes the text reader give up."""
    nested = b"[" * 100_000 + b"]" * 100_000
    broken = b"BT /F1 12 Tf 72 760 Td " + nested + b" TJ ET"
    return PdfBuilder().add_text_page(DANISH_PAGES[0]).add_content_page(broken).build()


def slow_pdf(chars: int = 200_000) -> bytes:
    """A valid one-page PDF whose text takes pdfplumber many seconds (about 20k chars/s)."""
    row = b"(Langsom tekst til test af tidsgr\xe6nsen) Tj T* "
    content = b"BT /F1 2 Tf 2 TL 10 830 Td " + row * (chars // 40) + b"ET"
    compressed = zlib.compress(content, 9)
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
            stream(compressed, b"/Filter /FlateDecode "),
        ]
    )


# ---------------------------------------------------------------------------- hostile

USER_PASSWORD = "hemmelig"
_PASSWORD_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def _padded(password: str) -> bytes:
    return (password.encode("latin-1") + _PASSWORD_PAD)[:32]


def encrypted_pdf(user_password: str = USER_PASSWORD, owner_password: str = "ejer") -> bytes:
    """A Danish text page encrypted with the standard security handler, revision 2 (RC4,
    40 bits): it opens only with ``user_password``."""
    file_id = hashlib.md5(b"aftaleportalen-test").digest()
    permissions = -44
    owner_entry = _rc4(hashlib.md5(_padded(owner_password)).digest()[:5], _padded(user_password))
    file_key = hashlib.md5(_padded(user_password) + owner_entry + struct.pack("<i", permissions) + file_id).digest()[:5]
    user_entry = _rc4(file_key, _PASSWORD_PAD)

    content_number = 5
    object_key = hashlib.md5(file_key + content_number.to_bytes(3, "little") + (0).to_bytes(2, "little")).digest()[:10]
    content = _rc4(object_key, text_page_content(["Fortroligt referat: æ ø å"]))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        stream(content),
        b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
        % (owner_entry.hex().encode(), user_entry.hex().encode(), permissions),
    ]
    trailer = b"/Encrypt 6 0 R /ID [<%s> <%s>] " % (file_id.hex().encode(), file_id.hex().encode())
    return build_pdf(objects, trailer_extra=trailer)


def truncated_pdf() -> bytes:
    """The first half of a valid PDF, as a broken upload leaves it."""
    whole = danish_text_pdf()
    return whole[: len(whole) // 2]


def junk_bytes(size: int = 200_000) -> bytes:
    """Random bytes, no PDF at all."""
    return random.Random(1).randbytes(size)


def junk_with_pdf_header(size: int = 200_000) -> bytes:
    """Random bytes behind a PDF header, so a reader has to try parsing them."""
    return b"%PDF-1.7\n" + random.Random(2).randbytes(size)


def decompression_bomb_pdf(inflated_size: int = 4 * 1024**3) -> bytes:
    """A page whose content stream is a few megabytes of Flate data inflating to
    ``inflated_size`` bytes of zeros (4 GiB by default)."""
    chunk = 16 * 1024 * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # After a full flush the compressor starts afresh, so every further chunk of zeros
    # compresses to the same bytes: compress one, repeat it, and the bomb costs nothing.
    block = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = inflated_size // chunk
    tail = compressor.flush(zlib.Z_FINISH)
    # Adler-32 of n zero bytes: A stays 1, B grows by 1 per byte.
    adler = ((count * chunk) % 65521) << 16 | 1
    data = b"\x78\xda" + block * count + tail + struct.pack(">I", adler)
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            stream(data, b"/Filter /FlateDecode "),
        ]
    )


def page_count_bomb_pdf(pages: int = 100_000) -> bytes:
    """A page tree with ``pages`` leaves (each a real page showing a little text)."""
    first_page = 5
    kids = b" ".join(b"%d 0 R" % n for n in range(first_page, first_page + pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        stream(text_page_content(["Side i en sidebombe"])),
    ]
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    )
    objects.extend([page] * pages)
    return build_pdf(objects)


def deeply_nested_pdf(depth: int = 100_000) -> bytes:
    """Arrays nested ``depth`` deep, in the page dictionary and in the content stream."""
    nested = b"[" * depth + b"]" * depth
    content = b"BT /F1 12 Tf 72 760 Td " + nested + b" TJ (Dybt indlejret) Tj ET"
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Nested %s "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>" % nested,
            stream(content),
        ]
    )


HOSTILE: dict[str, Callable[[], bytes]] = {
    "encrypted.pdf": encrypted_pdf,
    "truncated.pdf": truncated_pdf,
    "junk.bin": junk_bytes,
    "junk-with-header.pdf": junk_with_pdf_header,
    "decompression-bomb.pdf": decompression_bomb_pdf,
    "page-count-bomb.pdf": page_count_bomb_pdf,
    "deeply-nested.pdf": deeply_nested_pdf,
}


def write_hostile_corpus(folder: Path) -> dict[str, Path]:
    """Write every hostile file into ``folder``; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, build in HOSTILE.items():
        path = folder / name
        path.write_bytes(build())
        paths[name] = path
    return paths
