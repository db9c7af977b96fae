"""PDF bytes in, pages of text out.

Pure: no database, no network, no Flask, no global state worth speaking of. The text of a
page is exactly what ``pdfplumber``'s ``page.extract_text()`` returns for it; pages without a
text layer are read with Tesseract's Danish model when the ``tesseract`` binary is present.

When to use what:

- ``extract()`` reads a whole document in the calling process. It has no time or memory
  limit, so the indexer never calls it on uploaded files directly: it goes through
  ``indexer.sandbox``, which runs the same code in child processes with limits.
- ``PdfDocument`` is the building block both use: open once, read page ranges, OCR single
  pages. The sandbox's workers keep one open across tasks so that a large document split
  into page ranges is parsed once per worker, not once per range.
- ``summarise()`` turns per-page outcomes into an ``ExtractionResult``; sequential and
  parallel extraction both end in it, so they cannot disagree on status or reason.

Every ``reason`` is Danish and written for the person who uploaded the file.
"""

from __future__ import annotations

import io
import logging
import math
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any
from unicodedata import normalize as normalize_unicode

import pdfplumber
from pdfminer.layout import LTChar, LTContainer, LTItem
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfinterp import PDFPageInterpreter
from pdfminer.pdfpage import PDFPage
from pdfminer.pdftypes import PDFStream
from pdfplumber.page import ALL_ATTRS, Page, PDFPageAggregatorWithMarkedContent, fix_fontname_bytes
from pdfplumber.utils.exceptions import PdfminerException
from pdfplumber.utils.pdfinternals import resolve_all, resolve_and_decode

log = logging.getLogger(__name__)

STATUS_EXTRACTED = "extracted"
STATUS_NEEDS_OCR = "needs_ocr"
STATUS_FAILED = "failed"

DEFAULT_MAX_PAGES = 2000
DEFAULT_MAX_CHARS_PER_PAGE = 100_000

OCR_LANGUAGE = "dan"
OCR_DPI = 300
# A4 at 300 dpi is 8.7 megapixels, A3 17; a page declaring itself a square kilometre must
# not make us allocate gigabytes, so larger pages are rendered at a lower resolution.
OCR_MAX_PIXELS = 40_000_000
OCR_PAGE_TIMEOUT = 180.0
# Where the tesseract binary is; read on every call so tests and operators can change it.
TESSERACT_ENV = "PORTAL_TESSERACT"

# Reasons shown to users.
REASON_EMPTY_FILE = "Filen er tom."
REASON_NOT_PDF = "Filen er ikke en PDF-fil."
REASON_ENCRYPTED = "PDF-filen er krypteret med en adgangskode og kan ikke læses."
REASON_ENCRYPTION_UNSUPPORTED = "PDF-filen er krypteret på en måde, som ikke kan læses."
REASON_BROKEN = "PDF-filen er beskadiget eller ufuldstændig og kan ikke læses."
REASON_NO_PAGES = "PDF-filen indeholder ingen sider."
REASON_ALL_PAGES_UNREADABLE = "PDF-filen er beskadiget: ingen af siderne kan læses."
REASON_OCR_DISABLED = (
    "Dokumentet har ingen tekst, der kan læses direkte (det er formentlig scannet), "
    "og skal OCR-læses."
)
REASON_OCR_UNAVAILABLE = (
    "Dokumentet har ingen tekst, der kan læses direkte (det er formentlig scannet), "
    "og OCR-læsning er ikke tilgængelig på serveren."
)
REASON_OCR_FAILED = (
    "Dokumentet har ingen tekst, der kan læses direkte (det er formentlig scannet), "
    "og OCR-læsningen mislykkedes."
)
REASON_NO_TEXT_AFTER_OCR = "Der blev ikke fundet nogen tekst i dokumentet, heller ikke ved OCR-læsning."


def reason_too_many_pages(max_pages: int) -> str:
    return f"PDF-filen har mere end {_danish_number(max_pages)} sider, som er det største antal, der kan læses."


# ---------------------------------------------------------------------------- results


@dataclass
class ExtractionResult:
    """What extraction made of one document.

    ``status`` is ``extracted`` (``pages`` holds the text, one string per page, ``""`` for a
    page without text), ``needs_ocr`` (no page has a text layer and OCR was not possible)
    or ``failed`` (nothing could be read). ``reason`` says why in Danish for ``needs_ocr``
    and ``failed``; for ``extracted`` it is ``None`` or a note on what was left out
    (truncated pages, pages without text). ``ocr_pages`` lists the 1-based numbers of pages
    whose text came from OCR.
    """

    status: str
    pages: list[str]
    page_count: int
    reason: str | None
    ocr_pages: list[int] = field(default_factory=list)

    @classmethod
    def failed(cls, reason: str, page_count: int = 0) -> ExtractionResult:
        return cls(status=STATUS_FAILED, pages=[], page_count=page_count, reason=reason)


class ExtractionError(Exception):
    """The document as a whole cannot be read; ``reason`` is Danish, for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PageText:
    """The outcome of reading one page: its text, cut to the cap, and what went wrong.

    ``error`` means the page could not be read at all (its ``text`` is ``""``);
    ``truncated`` means ``text`` was cut at the per-page character cap.
    """

    text: str
    truncated: bool = False
    error: bool = False

    @property
    def has_text(self) -> bool:
        return bool(self.text.strip())


def _capped(text: str, max_chars: int) -> PageText:
    if len(text) > max_chars:
        return PageText(text[:max_chars], truncated=True)
    return PageText(text)


# ---------------------------------------------------------------------------- fast pages
#
# pdfplumber's Page builds a dict for every character, line, rectangle, curve and image on
# the page, resolving each attribute through a generic recursive resolver. extract_text()
# reads only the characters. _TextPage keeps pdfplumber's own text pipeline (its
# extract_text, word grouping and line clustering are untouched) and feeds it the same
# character dicts, built without the generic resolver, while telling pdfminer not to build
# path and image objects at all. Measured on the shared corpus this is ~1.3x faster per
# core; the tests and bench/extract.py check the text equals plain pdfplumber's.


class _TextOnlyAggregator(PDFPageAggregatorWithMarkedContent):
    """pdfplumber's device minus paths and images, which text extraction never reads."""

    def paint_path(self, *args: Any, **kwargs: Any) -> None:
        return None

    def render_image(self, *args: Any, **kwargs: Any) -> None:
        return None


_PLAIN_TYPES = frozenset((float, int, str, bool, type(None)))


@lru_cache(maxsize=256)
def _colorspace_name(name: str) -> Any:
    return resolve_and_decode(name)


class _TextPage(Page):
    """A pdfplumber Page whose objects are only its characters, built as Page builds them."""

    @property
    def layout(self) -> Any:
        if hasattr(self, "_layout"):
            return self._layout
        device = _TextOnlyAggregator(self.pdf.rsrcmgr, pageno=self.page_number, laparams=self.pdf.laparams)
        interpreter = PDFPageInterpreter(self.pdf.rsrcmgr, device)
        try:
            interpreter.process_page(self.page_obj)
        except MemoryError:
            raise
        except Exception as exc:
            raise PdfminerException(exc) from exc
        self._layout = device.get_result()
        return self._layout

    def parse_objects(self) -> dict[str, list[dict[str, Any]]]:
        chars: list[dict[str, Any]] = []
        self._collect_chars(self.layout._objs, chars)
        return {"char": chars} if chars else {}

    def _collect_chars(self, objs: Iterable[LTItem], out: list[dict[str, Any]]) -> None:
        for obj in objs:
            if isinstance(obj, LTContainer):
                self._collect_chars(obj._objs, out)
            elif obj.__class__ is LTChar:
                out.append(self._char_dict(obj))

    def _char_dict(self, obj: LTChar) -> dict[str, Any]:
        # Mirrors pdfplumber.page.Page.process_object for an LTChar, key for key.
        attr: dict[str, Any] = {}
        for key, value in obj.__dict__.items():
            if key in ALL_ATTRS:
                kind = type(value)
                if kind in _PLAIN_TYPES or (kind is tuple and all(type(v) in _PLAIN_TYPES for v in value)):
                    attr[key] = value
                else:
                    attr[key] = resolve_all(value)
        attr["object_type"] = "char"
        attr["page_number"] = self.page_number
        attr["ncs"] = _colorspace_name(obj.ncs.name)
        text = obj.get_text()
        unicode_norm = self.pdf.unicode_norm
        attr["text"] = normalize_unicode(unicode_norm, text) if unicode_norm is not None else text
        gs = obj.graphicstate
        attr["stroking_color"] = gs.scolor if isinstance(gs.scolor, tuple) else (gs.scolor,)
        attr["non_stroking_color"] = gs.ncolor if isinstance(gs.ncolor, tuple) else (gs.ncolor,)
        if isinstance(attr["fontname"], bytes):
            attr["fontname"] = fix_fontname_bytes(attr["fontname"])
        mb_x0, mb_top = self.mediabox[:2]
        height = self.height
        attr["top"] = (height - attr["y1"]) + mb_top
        attr["bottom"] = (height - attr["y0"]) + mb_top
        attr["doctop"] = self.initial_doctop + attr["top"]
        if mb_x0 != 0:
            attr["x0"] = attr["x0"] + mb_x0
            attr["x1"] = attr["x1"] + mb_x0
        return attr


def quiet_pdfminer_debug_logging() -> None:
    """Make pdfminer's debug calls free in this process.

    pdfminer calls ``log.debug`` for every token it parses (about 20,000 times per page);
    even when debug logging is off each call costs a method lookup and a level check,
    about 10 % of extraction time. Only worker processes that do nothing else call this.
    """
    for name in list(logging.root.manager.loggerDict):
        if name == "pdfminer" or name.startswith("pdfminer."):
            logger = logging.getLogger(name)
            logger.debug = _ignore  # type: ignore[method-assign]


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


# ---------------------------------------------------------------------------- documents


class PdfDocument:
    """One PDF, opened once and read page by page.

    Opening checks that the bytes are a PDF, that no password is needed and that the page
    count is at most ``max_pages``; it raises ``ExtractionError`` with a Danish reason
    otherwise. ``read_pages`` and ``ocr_page`` may then be called in any order; each page's
    parse results are dropped once read, so memory stays near the size of the file however
    many pages are read. Not thread-safe. Use as a context manager or call ``close()``.
    """

    def __init__(self, pdf_bytes: bytes, *, max_pages: int = DEFAULT_MAX_PAGES) -> None:
        _check_header(pdf_bytes)
        self._bytes = pdf_bytes
        self._pdfium: Any = None
        self._pdf = _open_pdfplumber(pdf_bytes)
        try:
            self._pages: list[_TextPage | None] = self._walk_pages(max_pages)
        except BaseException:
            self._close_pdfplumber()
            raise

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def read_pages(
        self, first: int, last: int, *, max_chars_per_page: int = DEFAULT_MAX_CHARS_PER_PAGE
    ) -> list[PageText]:
        """The text layer of pages ``first``..``last`` (1-based, inclusive, clamped to the
        document). A page pdfminer cannot read comes back with ``error=True``; MemoryError
        propagates so the sandbox can report it."""
        last = min(last, self.page_count)
        return [self._read_page(number, max_chars_per_page) for number in range(max(first, 1), last + 1)]

    def ocr_page(
        self,
        number: int,
        *,
        max_chars_per_page: int = DEFAULT_MAX_CHARS_PER_PAGE,
        tesseract: str | None = None,
        timeout: float = OCR_PAGE_TIMEOUT,
    ) -> PageText:
        """Page ``number`` (1-based) rendered at ~300 dpi and read by Tesseract in Danish.

        ``tesseract`` is the binary to run (default: ``find_tesseract()``). A page that
        cannot be rendered, or on which Tesseract fails or exceeds ``timeout`` seconds,
        comes back with ``error=True``.
        """
        command = tesseract or find_tesseract()
        if command is None:
            return PageText("", error=True)
        try:
            image, dpi = self._render_for_ocr(number)
        except MemoryError:
            raise
        except Exception:
            log.warning("could not render page %d for OCR", number, exc_info=True)
            return PageText("", error=True)
        text = run_tesseract(command, image, dpi=dpi, timeout=timeout)
        if text is None:
            return PageText("", error=True)
        return _capped(text, max_chars_per_page)

    def close(self) -> None:
        self._pages = []
        if self._pdfium is not None:
            self._pdfium.close()
            self._pdfium = None
        self._close_pdfplumber()

    def __enter__(self) -> PdfDocument:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals

    def _close_pdfplumber(self) -> None:
        # Not PDF.close(): it builds a Page for every page in the tree in order to close
        # them, all hundred thousand of them in a page-count bomb. Our pages are closed
        # as they are read, and the stream is a BytesIO nobody else holds.
        self._pdf.flush_cache()

    def _walk_pages(self, max_pages: int) -> list[_TextPage | None]:
        # Built the way pdfplumber's PDF.pages builds its list (same numbering, same
        # running doctop), but stopping one page past the cap so a page tree with a
        # hundred thousand leaves costs no more than max_pages + 1 of them.
        pages: list[_TextPage | None] = []
        doctop: float = 0
        try:
            for index, page_obj in enumerate(islice(PDFPage.create_pages(self._pdf.doc), max_pages + 1)):
                if index == max_pages:
                    raise ExtractionError(reason_too_many_pages(max_pages))
                page = _TextPage(self._pdf, page_obj, page_number=index + 1, initial_doctop=doctop)
                pages.append(page)
                doctop += page.height
        except (ExtractionError, MemoryError):
            raise
        except Exception as exc:
            log.info("page tree unreadable: %r", exc)
            raise ExtractionError(REASON_BROKEN) from exc
        return pages

    def _read_page(self, number: int, max_chars: int) -> PageText:
        page = self._pages[number - 1]
        if page is None:  # read before: rebuild it, the cheap part of a page
            page = self._rebuild_page(number)
        try:
            text = page.extract_text()
        except MemoryError:
            raise
        except Exception as exc:
            log.info("page %d unreadable: %r", number, exc)
            return PageText("", error=True)
        finally:
            self._release_page(number, page)
        return _capped(text, max_chars)

    def _rebuild_page(self, number: int) -> _TextPage:
        page_obj = next(islice(PDFPage.create_pages(self._pdf.doc), number - 1, None))
        doctop = self._doctop_before(number)
        return _TextPage(self._pdf, page_obj, page_number=number, initial_doctop=doctop)

    def _doctop_before(self, number: int) -> float:
        doctop: float = 0
        for index, page_obj in enumerate(islice(PDFPage.create_pages(self._pdf.doc), number - 1)):
            doctop += _TextPage(self._pdf, page_obj, page_number=index + 1).height
        return doctop

    def _release_page(self, number: int, page: _TextPage) -> None:
        # Page.close() drops pdfplumber's caches; pdfminer also keeps every object it has
        # parsed, including the page's decoded content streams, for the life of the
        # document, so those are evicted too (a later read parses them again).
        page.close()
        cached = getattr(self._pdf.doc, "_cached_objs", None)
        if isinstance(cached, dict):
            for stream in page.page_obj.contents:
                if isinstance(stream, PDFStream) and stream.objid is not None:
                    cached.pop(stream.objid, None)
        self._pages[number - 1] = None

    def _render_for_ocr(self, number: int) -> tuple[bytes, int]:
        import pypdfium2  # imported here: only OCR needs it

        if self._pdfium is None:
            self._pdfium = pypdfium2.PdfDocument(self._bytes)
        page = self._pdfium[number - 1]
        try:
            width, height = page.get_size()
            scale = OCR_DPI / 72
            if width * height * scale * scale > OCR_MAX_PIXELS:
                scale = math.sqrt(OCR_MAX_PIXELS / (width * height))
            bitmap = page.render(scale=scale, grayscale=True)
            try:
                image = bitmap.to_pil()
                buffer = io.BytesIO()
                # PGM: uncompressed, so no time is spent compressing what Tesseract decodes.
                image.save(buffer, format="PPM")
            finally:
                bitmap.close()
        finally:
            page.close()
        return buffer.getvalue(), max(1, round(scale * 72))


def _check_header(pdf_bytes: bytes) -> None:
    if not pdf_bytes:
        raise ExtractionError(REASON_EMPTY_FILE)
    # Readers accept the header anywhere in the first kilobyte (PDF 1.7, annex H).
    if b"%PDF-" not in pdf_bytes[:1024]:
        raise ExtractionError(REASON_NOT_PDF)


def _open_pdfplumber(pdf_bytes: bytes) -> pdfplumber.PDF:
    try:
        return pdfplumber.open(io.BytesIO(pdf_bytes))
    except MemoryError:
        raise
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc.__cause__
        if isinstance(cause, MemoryError):
            raise cause from None
        if isinstance(cause, PDFPasswordIncorrect):
            raise ExtractionError(REASON_ENCRYPTED) from exc
        if isinstance(cause, PDFEncryptionError):
            raise ExtractionError(REASON_ENCRYPTION_UNSUPPORTED) from exc
        log.info("unreadable PDF: %r", cause)
        raise ExtractionError(REASON_BROKEN) from exc
    except Exception as exc:
        log.info("unreadable PDF: %r", exc)
        raise ExtractionError(REASON_BROKEN) from exc


# ---------------------------------------------------------------------------- OCR


def find_tesseract() -> str | None:
    """The tesseract command to run, or None if it is absent or lacks the Danish model.

    ``PORTAL_TESSERACT`` names the binary (default ``tesseract`` on PATH); set it to an
    empty string to turn OCR off.
    """
    configured = os.environ.get(TESSERACT_ENV, "tesseract")
    if not configured:
        return None
    command = shutil.which(configured)
    if command is None or not _has_language(command, OCR_LANGUAGE):
        return None
    return command


@lru_cache(maxsize=8)
def _has_language(command: str, language: str) -> bool:
    try:
        listing = subprocess.run(
            [command, "--list-langs"], capture_output=True, timeout=30, check=False, env=_tesseract_env()
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return language in listing.stdout.decode("utf-8", "replace").split()


def _tesseract_env() -> dict[str, str]:
    # Tesseract starts one thread per core by default; our workers already use every core,
    # and oversubscribed OpenMP threads make it several times slower.
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def run_tesseract(command: str, image: bytes, *, dpi: int, timeout: float) -> str | None:
    """Danish text Tesseract reads in ``image`` (any format Leptonica reads), or None if it
    fails or runs longer than ``timeout`` seconds (it is killed then)."""
    try:
        completed = subprocess.run(
            [command, "stdin", "stdout", "-l", OCR_LANGUAGE, "--dpi", str(dpi)],
            input=image,
            capture_output=True,
            timeout=timeout,
            check=False,
            env=_tesseract_env(),
        )
    except subprocess.TimeoutExpired:
        log.warning("tesseract exceeded %.0f s", timeout)
        return None
    except OSError:
        log.warning("tesseract could not be started", exc_info=True)
        return None
    if completed.returncode != 0:
        log.warning("tesseract failed (%d): %s", completed.returncode, completed.stderr[-500:])
        return None
    # Tesseract ends each page with blank lines and a form feed; page boundaries are ours.
    return completed.stdout.decode("utf-8", "replace").replace("\f", "").rstrip()


# ---------------------------------------------------------------------------- the whole


def extract(
    pdf_bytes: bytes,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_chars_per_page: int = DEFAULT_MAX_CHARS_PER_PAGE,
    ocr: bool = True,
) -> ExtractionResult:
    """Read every page of ``pdf_bytes``, OCR'ing pages without a text layer if ``ocr`` and
    Tesseract with Danish is installed.

    Never raises for bad input: encrypted, broken, non-PDF and over-long documents end as
    ``failed`` with a Danish reason. MemoryError does propagate; there is no time limit.
    Run untrusted input through ``indexer.sandbox`` instead.
    """
    tesseract = find_tesseract() if ocr else None
    ocr_results: dict[int, PageText] = {}
    try:
        with PdfDocument(pdf_bytes, max_pages=max_pages) as document:
            layer = document.read_pages(1, document.page_count, max_chars_per_page=max_chars_per_page)
            if tesseract is not None:
                for number in pages_needing_ocr(layer):
                    ocr_results[number] = document.ocr_page(
                        number, max_chars_per_page=max_chars_per_page, tesseract=tesseract
                    )
    except ExtractionError as exc:
        return ExtractionResult.failed(exc.reason)
    ocr_state = "done" if tesseract is not None else ("unavailable" if ocr else "disabled")
    return summarise(layer, ocr_results, ocr_state=ocr_state, max_chars_per_page=max_chars_per_page)


def extract_pages(
    pdf_bytes: bytes,
    first: int,
    last: int,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_chars_per_page: int = DEFAULT_MAX_CHARS_PER_PAGE,
) -> list[str]:
    """The text layer of pages ``first``..``last`` (1-based, inclusive), no OCR.

    Raises ``ExtractionError`` if the document cannot be opened. Opens the document for
    this one range; to read many ranges of one document, keep a ``PdfDocument`` open.
    """
    with PdfDocument(pdf_bytes, max_pages=max_pages) as document:
        return [page.text for page in document.read_pages(first, last, max_chars_per_page=max_chars_per_page)]


def pages_needing_ocr(layer: Sequence[PageText]) -> list[int]:
    """1-based numbers of the pages whose text layer is empty, blank or unreadable."""
    return [number for number, page in enumerate(layer, start=1) if not page.has_text]


def summarise(
    layer: Sequence[PageText],
    ocr_results: dict[int, PageText],
    *,
    ocr_state: str,
    max_chars_per_page: int = DEFAULT_MAX_CHARS_PER_PAGE,
) -> ExtractionResult:
    """Combine the text layer of every page with the OCR results for some of them.

    ``ocr_state`` is ``done`` (OCR was run on ``pages_needing_ocr(layer)``), ``disabled``
    (the caller asked for none) or ``unavailable`` (no Tesseract with Danish).
    """
    page_count = len(layer)
    if page_count == 0:
        return ExtractionResult.failed(REASON_NO_PAGES)

    texts: list[str] = []
    ocr_pages: list[int] = []
    truncated: list[int] = []
    without_text: list[int] = []
    for number, page in enumerate(layer, start=1):
        chosen = page
        ocr_page = ocr_results.get(number)
        if not page.has_text and ocr_page is not None and ocr_page.has_text:
            chosen = ocr_page
            ocr_pages.append(number)
        if not chosen.has_text:
            without_text.append(number)
        if chosen.truncated:
            truncated.append(number)
        texts.append(chosen.text)

    if len(without_text) < page_count:
        notes = []
        if truncated:
            notes.append(
                f"Teksten på {_page_list(truncated)} var længere end "
                f"{_danish_number(max_chars_per_page)} tegn og er afkortet."
            )
        unreadable = [number for number in without_text if layer[number - 1].error]
        blank = [number for number in without_text if not layer[number - 1].error]
        if blank:
            notes.append(f"Der blev ikke fundet tekst på {_page_list(blank)}.")
        if unreadable:
            notes.append(f"{_page_list(unreadable).capitalize()} kunne ikke læses.")
        return ExtractionResult(
            status=STATUS_EXTRACTED,
            pages=texts,
            page_count=page_count,
            reason=" ".join(notes) or None,
            ocr_pages=ocr_pages,
        )

    if all(page.error for page in layer) and not ocr_results:
        return ExtractionResult.failed(REASON_ALL_PAGES_UNREADABLE, page_count)
    if ocr_state == "disabled":
        return _needs_ocr(REASON_OCR_DISABLED, texts)
    if ocr_state == "unavailable":
        return _needs_ocr(REASON_OCR_UNAVAILABLE, texts)
    if any(result.error for result in ocr_results.values()):
        return _needs_ocr(REASON_OCR_FAILED, texts)
    return ExtractionResult.failed(REASON_NO_TEXT_AFTER_OCR, page_count)


def _needs_ocr(reason: str, texts: list[str]) -> ExtractionResult:
    # The pages are blank, but kept as read so the result still lines up page for page.
    return ExtractionResult(status=STATUS_NEEDS_OCR, pages=texts, page_count=len(texts), reason=reason)


def _page_list(numbers: Sequence[int]) -> str:
    if len(numbers) == 1:
        return f"side {numbers[0]}"
    if len(numbers) > 10:
        return f"{len(numbers)} sider"
    return "side " + ", ".join(str(n) for n in numbers[:-1]) + f" og {numbers[-1]}"


def _danish_number(value: int) -> str:
    return f"{value:,}".replace(",", ".")
