"""Extraction throughput: plain pdfplumber in one process against the indexer's pool.

    python bench/extract.py [--corpus DIR] [--workers N] [--pages-per-task N] [--repeat N] [--sequential]

Reads every PDF under the corpus folder (default ``../shared/corpus`` beside the checkout,
or ``PORTAL_CORPUS_DIR``) that plain pdfplumber can open, then:

1. baseline: one process, ``pdfplumber.open`` and ``page.extract_text()`` for every page;
2. with ``--sequential``: ``indexer.extract.extract()`` in this process (one core), to
   show what the page reader gains before any parallelism;
3. pipeline: ``ExtractorPool`` with N workers (default 2), documents split into page
   ranges, OCR off (the baseline does none).

It checks the pipeline's text equals the baseline's page for page, prints pages, seconds
and pages per second for each, and the pipeline/baseline ratio. Exits 1 on any difference.
The pool's start-up (once per indexer process) is printed but not counted. On a shared
machine the figures wander; ``--repeat N`` runs each measurement N times and keeps the
fastest of each.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pdfplumber  # noqa: E402

from indexer.extract import extract  # noqa: E402
from indexer.sandbox import ExtractorPool  # noqa: E402

TARGET_RATIO = 1.8
T = TypeVar("T")


def default_corpus() -> Path:
    configured = os.environ.get("PORTAL_CORPUS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "corpus"


def plain_pdfplumber(data: dict[str, bytes]) -> dict[str, list[str]]:
    """Every page's extract_text(), the way a script using pdfplumber would do it."""
    texts = {}
    for name, pdf_bytes in data.items():
        with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
            pages = []
            for page in pdf.pages:
                pages.append(page.extract_text())
                page.close()
            texts[name] = pages
    return texts


def load_extractable(corpus: Path) -> dict[str, bytes]:
    """The corpus files plain pdfplumber can read (not the encrypted or empty ones)."""
    data = {}
    for path in sorted(corpus.rglob("*.pdf")):
        pdf_bytes = path.read_bytes()
        try:
            with pdfplumber.open(io.BytesIO(pdf_bytes)) as pdf:
                if not pdf.pages:
                    continue
        except Exception:  # noqa: BLE001 - unreadable files are not part of a throughput figure
            continue
        data[str(path.relative_to(corpus))] = pdf_bytes
    return data


def best_of(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``repeat`` runs, in seconds, and that run's result."""
    best: tuple[float, T] | None = None
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
        if best is None or seconds < best[0]:
            best = (seconds, result)
    assert best is not None
    return best


def report(label: str, pages: int, seconds: float) -> None:
    print(f"{label:<34} {pages:5d} pages {seconds:8.2f} s {pages / seconds:8.1f} pages/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pages-per-task", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="run each measurement N times, keep the fastest")
    parser.add_argument("--sequential", action="store_true", help="also time extract() in this process")
    args = parser.parse_args()

    if not args.corpus.is_dir():
        print(f"corpus folder not found: {args.corpus}", file=sys.stderr)
        return 2
    data = load_extractable(args.corpus)
    print(f"corpus: {args.corpus} ({len(data)} extractable PDFs)")

    baseline_seconds, baseline = best_of(args.repeat, lambda: plain_pdfplumber(data))
    pages = sum(len(texts) for texts in baseline.values())
    report("baseline: pdfplumber, 1 process", pages, baseline_seconds)

    if args.sequential:
        seconds, _ = best_of(args.repeat, lambda: [extract(pdf_bytes, ocr=False) for pdf_bytes in data.values()])
        report("extract(), 1 process", pages, seconds)

    options = {} if args.pages_per_task is None else {"pages_per_task": args.pages_per_task}
    started = time.perf_counter()
    with ExtractorPool(args.workers, ocr=False, **options) as pool:
        print(f"pool start-up: {time.perf_counter() - started:.2f} s (once per indexer; not counted)")
        pipeline_seconds, results = best_of(args.repeat, lambda: pool.map(data.values()))
    report(f"pipeline: pool, {args.workers} workers", pages, pipeline_seconds)

    different = [
        name for name, result in zip(data, results) if result.pages != baseline[name]
    ]
    for name in different:
        print(f"DIFFERENT TEXT: {name}", file=sys.stderr)
    ratio = baseline_seconds / pipeline_seconds
    verdict = "meets" if ratio >= TARGET_RATIO else "below"
    print(f"text identical page for page: {'yes' if not different else 'NO'}")
    print(f"ratio pipeline/baseline: {ratio:.2f}x ({verdict} the {TARGET_RATIO}x target on {args.workers} workers)")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
