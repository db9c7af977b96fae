"""Extraction as the people searching the portal meet it: the words of every page found
under the right page number, scanned minutes read by OCR, and broken or hostile uploads
ending with a Danish explanation instead of a stuck or dead indexer.

The shared corpus (../shared/corpus beside the checkout, or PORTAL_CORPUS_DIR) holds real
PDFs; tests that need it skip with a reason where it is absent. Everything else is made by
tests/indexer/hostile.py.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pdfplumber
import pytest

from indexer.extract import (
    STATUS_EXTRACTED,
    STATUS_FAILED,
    STATUS_NEEDS_OCR,
    TESSERACT_ENV,
    ExtractionResult,
    extract,
    extract_pages,
    find_tesseract,
)
from indexer.sandbox import ExtractorPool, extract_in_sandbox
from tests.indexer import hostile

STATUSES = {STATUS_EXTRACTED, STATUS_NEEDS_OCR, STATUS_FAILED}
HOSTILE_TIMEOUT = 20.0
# Low enough that a decompression bomb hits it within a second; the workers need ~110 MB.
TEST_MEMORY_LIMIT = 512 * 1024 * 1024
# Words every Danish reason uses at least one of; an English or technical message has none.
DANISH_WORDS = {"er", "og", "ikke", "kan", "blev", "tog", "brugte", "har", "ingen", "indeholder", "filen", "pdf-filen"}


def corpus_dir() -> Path:
    configured = os.environ.get("PORTAL_CORPUS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "corpus"


def corpus_file(name: str) -> Path:
    folder = corpus_dir()
    if not folder.is_dir():
        pytest.skip(f"corpus folder {folder} is absent (set PORTAL_CORPUS_DIR to use another)")
    matches = sorted(folder.rglob(name))
    if not matches:
        pytest.skip(f"{name} is not in the corpus at {folder}")
    return matches[0]


def plain_pdfplumber_pages(pdf_bytes: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
        return [page.extract_text() for page in pdf.pages]


def assert_danish_reason(result: ExtractionResult) -> None:
    """A failed or needs_ocr result explains itself to the user, in Danish."""
    assert result.reason, f"{result.status} without a reason"
    assert "Error" not in result.reason and "Traceback" not in result.reason, result.reason
    words = set(result.reason.lower().replace(",", " ").replace(".", " ").replace(":", " ").split())
    assert words & DANISH_WORDS, result.reason


requires_tesseract = pytest.mark.skipif(
    find_tesseract() is None, reason="tesseract with the Danish model (tesseract-ocr-dan) is not installed"
)


@pytest.fixture(scope="module")
def pool() -> Iterator[ExtractorPool]:
    with ExtractorPool(
        2, timeout=HOSTILE_TIMEOUT, memory_limit=TEST_MEMORY_LIMIT, ocr=False, pages_per_task=2
    ) as extractor_pool:
        yield extractor_pool


# ---------------------------------------------------------------------------- Danish text


def test_danish_letters_come_out_right_on_the_right_pages() -> None:
    result = extract(hostile.danish_text_pdf())

    assert result.status == STATUS_EXTRACTED
    assert result.reason is None
    assert result.page_count == 3 and len(result.pages) == 3
    assert result.pages[0].splitlines() == hostile.DANISH_PAGES[0]
    assert "æ ø å Æ Ø Å" in result.pages[0]
    assert "fleksibel udlejning" in result.pages[1]
    assert "Blåbærgrød med fløde" in result.pages[1]
    assert [page_number for page_number, text in enumerate(result.pages, 1) if "Tredje side" in text] == [3]
    assert result.ocr_pages == []


def test_text_is_exactly_what_pdfplumber_reads() -> None:
    pdf_bytes = hostile.danish_text_pdf()

    assert extract(pdf_bytes).pages == plain_pdfplumber_pages(pdf_bytes)
    assert extract_pages(pdf_bytes, 2, 3) == plain_pdfplumber_pages(pdf_bytes)[1:]


def test_overlong_page_is_truncated_and_the_user_told() -> None:
    pdf_bytes = hostile.text_pdf([["kort side"], ["x" * 400]])

    result = extract(pdf_bytes, max_chars_per_page=100)

    assert result.status == STATUS_EXTRACTED
    assert result.pages == ["kort side", "x" * 100]
    assert result.reason is not None and "side 2" in result.reason and "afkortet" in result.reason


def test_document_over_the_page_limit_fails_with_a_reason() -> None:
    result = extract(hostile.text_pdf([["side"]] * 4), max_pages=3)

    assert result.status == STATUS_FAILED
    assert result.reason is not None and "mere end 3 sider" in result.reason
    assert_danish_reason(result)


@pytest.mark.parametrize(
    ("pdf_bytes", "expected"),
    [
        (b"", "tom"),
        (b"Dette er en tekstfil, ikke en PDF.", "ikke en PDF"),
        (hostile.encrypted_pdf(), "krypteret"),
    ],
    ids=["empty", "not-a-pdf", "encrypted"],
)
def test_unreadable_upload_fails_with_a_reason(pdf_bytes: bytes, expected: str) -> None:
    result = extract(pdf_bytes)

    assert result.status == STATUS_FAILED
    assert result.reason is not None and expected in result.reason
    assert_danish_reason(result)


def test_unreadable_page_is_reported_and_the_others_kept() -> None:
    result = extract(hostile.half_broken_pdf(), ocr=False)

    assert result.status == STATUS_EXTRACTED
    assert "æ ø å Æ Ø Å" in result.pages[0]
    assert result.pages[1] == ""
    assert result.reason == "Side 2 kunne ikke læses."


# ---------------------------------------------------------------------------- OCR


@requires_tesseract
def test_scanned_page_is_read_by_ocr() -> None:
    result = extract(hostile.scanned_danish_pdf())

    assert result.status == STATUS_EXTRACTED
    assert result.ocr_pages == [1]
    text = result.pages[0].lower()
    assert "styringsdialog" in text
    assert "boligorganisationen" in text


@requires_tesseract
def test_only_pages_without_text_are_ocr_read() -> None:
    result = extract(hostile.half_scanned_pdf())

    assert result.status == STATUS_EXTRACTED
    assert result.ocr_pages == [2]
    assert "æ ø å Æ Ø Å" in result.pages[0]
    assert "styringsdialog" in result.pages[1].lower()


@requires_tesseract
def test_sandbox_ocr_reads_the_same_as_in_process() -> None:
    pdf_bytes = hostile.half_scanned_pdf()

    assert extract_in_sandbox(pdf_bytes, timeout=HOSTILE_TIMEOUT) == extract(pdf_bytes)


def test_scanned_document_needs_ocr_when_ocr_is_off() -> None:
    result = extract(hostile.scanned_danish_pdf(), ocr=False)

    assert result.status == STATUS_NEEDS_OCR
    assert result.page_count == 1
    assert result.ocr_pages == []
    assert result.reason is not None and "OCR" in result.reason
    assert_danish_reason(result)


def test_scanned_document_needs_ocr_when_tesseract_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TESSERACT_ENV, "/nonexistent/tesseract")

    result = extract(hostile.scanned_danish_pdf())

    assert result.status == STATUS_NEEDS_OCR
    assert result.reason is not None and "ikke tilgængelig" in result.reason


def test_document_with_some_text_keeps_it_without_ocr() -> None:
    result = extract(hostile.half_scanned_pdf(), ocr=False)

    assert result.status == STATUS_EXTRACTED
    assert "æ ø å Æ Ø Å" in result.pages[0]
    assert result.pages[1] == ""
    assert result.reason is not None and "side 2" in result.reason


# ---------------------------------------------------------------------------- the corpus


# The corpus files without text to find: a password, zero bytes, a page tree without pages,
# and Chinese in fonts without a Unicode mapping (needs OCR; OCR is off in the pool here).
CORPUS_NOT_EXTRACTABLE = {"password-example.pdf", "empty.pdf", "issue-297-example.pdf", "issue-203-decimalize.pdf"}


@pytest.mark.slow(reason="reads every page of the corpus: about 10 s on two idle cores")
def test_every_corpus_file_ends_in_a_known_state(pool: ExtractorPool) -> None:
    folder = corpus_dir()
    if not folder.is_dir():
        pytest.skip(f"corpus folder {folder} is absent (set PORTAL_CORPUS_DIR to use another)")
    paths = sorted(folder.rglob("*.pdf"))
    assert paths, f"no PDFs under {folder}"

    results = dict(zip((path.name for path in paths), pool.map(path.read_bytes() for path in paths)))

    for name, result in results.items():
        assert result.status in STATUSES, name
        assert len(result.pages) == (result.page_count if result.status != STATUS_FAILED else 0), name
        if result.status != STATUS_EXTRACTED:
            assert_danish_reason(result)
    if "password-example.pdf" in results:
        assert results["password-example.pdf"].status == STATUS_FAILED
        assert "krypteret" in (results["password-example.pdf"].reason or "")
    if "empty.pdf" in results:
        assert results["empty.pdf"].status in {STATUS_FAILED, STATUS_NEEDS_OCR}
    not_extracted = {name for name, result in results.items() if result.status != STATUS_EXTRACTED}
    assert not_extracted <= CORPUS_NOT_EXTRACTABLE, f"lost text: {sorted(not_extracted - CORPUS_NOT_EXTRACTABLE)}"


@pytest.mark.parametrize(
    "name",
    [
        "issue-33-lorem-ipsum.pdf",
        "nics-background-checks-2015-11-rotated.pdf",
        "pdffill-demo.pdf",
        "issue-71-duplicate-chars.pdf",
        "2023-06-20-PV.pdf",
        "mcid_example.pdf",
    ],
)
def test_corpus_text_equals_plain_pdfplumber(name: str) -> None:
    pdf_bytes = corpus_file(name).read_bytes()

    result = extract(pdf_bytes, ocr=False)

    assert result.status == STATUS_EXTRACTED
    assert result.pages == plain_pdfplumber_pages(pdf_bytes)


# ---------------------------------------------------------------------------- the pool


def test_pool_returns_the_same_pages_as_sequential_extraction(pool: ExtractorPool) -> None:
    eleven_pages = hostile.text_pdf([[f"Side {n}"] for n in range(1, 12)])
    documents = [hostile.danish_text_pdf(), hostile.half_scanned_pdf(), eleven_pages]
    if corpus_dir().is_dir():  # real documents of 7 and 8 pages, split into ranges of 2
        for name in ["issue-848.pdf", "pdffill-demo.pdf"]:
            documents.extend(path.read_bytes() for path in sorted(corpus_dir().rglob(name))[:1])

    parallel = pool.map(documents)

    assert parallel == [extract(document, ocr=False) for document in documents]
    assert parallel[2].pages == [f"Side {n}" for n in range(1, 12)]


def test_worker_stopped_by_the_time_limit_is_replaced() -> None:
    with ExtractorPool(1, timeout=1.0, memory_limit=TEST_MEMORY_LIMIT, ocr=False) as pool:
        [first_pid] = pool.worker_pids

        started = time.monotonic()
        result = pool.extract(hostile.slow_pdf())
        elapsed = time.monotonic() - started

        assert result.status == STATUS_FAILED
        assert result.reason is not None and "tog for lang tid" in result.reason
        assert elapsed < 10
        assert first_pid not in pool.worker_pids and len(pool.worker_pids) == 1
        assert not _running(first_pid), "the stopped worker is still running"
        assert pool.extract(hostile.danish_text_pdf()).status == STATUS_EXTRACTED


def test_worker_killed_from_outside_does_not_fail_the_next_document() -> None:
    with ExtractorPool(1, timeout=HOSTILE_TIMEOUT, memory_limit=TEST_MEMORY_LIMIT, ocr=False) as pool:
        [pid] = pool.worker_pids
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)

        result = pool.extract(hostile.danish_text_pdf())

        assert result.status == STATUS_EXTRACTED
        assert "æ ø å" in result.pages[0]


def test_closing_the_pool_stops_its_workers() -> None:
    pool = ExtractorPool(2, ocr=False)
    pids = pool.worker_pids
    assert len(pids) == 2

    pool.close()

    for pid in pids:
        assert not _running(pid), f"worker {pid} outlived the pool"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# ---------------------------------------------------------------------------- hostile


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return hostile.write_hostile_corpus(tmp_path_factory.mktemp("hostile"))


# What each hostile file must end as: failed with these words in the reason, or (None)
# any status, as long as it ends in time and a failed one explains itself.
HOSTILE_OUTCOMES: dict[str, str | None] = {
    "encrypted.pdf": "krypteret",
    "truncated.pdf": None,
    "junk.bin": "ikke en PDF",
    "junk-with-header.pdf": None,
    "decompression-bomb.pdf": "hukommelse",
    "page-count-bomb.pdf": "mere end 2.000 sider",
    "deeply-nested.pdf": None,
}


def test_every_hostile_file_has_an_expected_outcome() -> None:
    assert set(HOSTILE_OUTCOMES) == set(hostile.HOSTILE)


@pytest.mark.parametrize("name", sorted(HOSTILE_OUTCOMES))
def test_hostile_file_ends_with_a_status_in_time_and_the_pool_carries_on(
    name: str, hostile_files: dict[str, Path], pool: ExtractorPool
) -> None:
    started = time.monotonic()
    result = pool.extract(hostile_files[name].read_bytes())
    elapsed = time.monotonic() - started

    assert result.status in STATUSES
    assert elapsed < HOSTILE_TIMEOUT + 5
    if result.status != STATUS_EXTRACTED:
        assert_danish_reason(result)
    expected = HOSTILE_OUTCOMES[name]
    if expected is not None:
        assert result.status == STATUS_FAILED
        assert result.reason is not None and expected in result.reason
    after = pool.extract(hostile.danish_text_pdf())
    assert after.status == STATUS_EXTRACTED and "æ ø å" in after.pages[0]


def test_one_shot_sandbox_survives_a_decompression_bomb() -> None:
    result = extract_in_sandbox(
        hostile.decompression_bomb_pdf(), timeout=HOSTILE_TIMEOUT, memory_limit=TEST_MEMORY_LIMIT
    )

    assert result.status == STATUS_FAILED
    assert result.reason is not None and "hukommelse" in result.reason
    assert extract_in_sandbox(hostile.danish_text_pdf(), timeout=HOSTILE_TIMEOUT).status == STATUS_EXTRACTED
