"""Extraction in child processes with a time limit and a memory limit.

When to use it: for every document that came from a user. A PDF is a program for a
parser; a hostile or merely broken one can make pdfminer loop, recurse or inflate a
stream to gigabytes. Here that costs one child process, never the indexer.

- ``extract_in_sandbox(pdf_bytes, ...)`` reads one document in a fresh child and returns
  an ``ExtractionResult``. Simple, but pays for a new process every time.
- ``ExtractorPool`` keeps N worker processes (default: one per core) and feeds them
  page ranges of the documents submitted to it, so one large document keeps every core
  busy and many small ones queue up behind each other. Its results are the same, page for
  page, as ``indexer.extract.extract()`` on the same bytes. The indexer's job loop creates
  one pool and calls ``pool.extract(pdf_bytes)`` (or ``submit``) for each job; the pool is
  safe to use from several threads.

Limits, per document: ``timeout`` seconds of wall-clock time, counted from the moment a
worker starts on the document (time spent queued behind other documents does not count);
``memory_limit`` bytes of address space per worker process (``RLIMIT_AS``, which also
binds the Tesseract processes a worker starts); ``max_pages`` pages and
``max_chars_per_page`` characters per page (see ``indexer.extract``). A worker that
exceeds a limit or crashes is killed with its whole process group and replaced; the
document ends ``failed`` with a Danish reason, and the parent carries on.

What this module does not do: retries, and turning a result into a database row. The
indexer's worker owns both.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import resource
import signal
import threading
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, NoReturn

from indexer.extract import (
    DEFAULT_MAX_CHARS_PER_PAGE,
    DEFAULT_MAX_PAGES,
    OCR_PAGE_TIMEOUT,
    ExtractionError,
    ExtractionResult,
    PageText,
    PdfDocument,
    find_tesseract,
    pages_needing_ocr,
    quiet_pdfminer_debug_logging,
    summarise,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 600.0
DEFAULT_MEMORY_LIMIT = 1536 * 1024 * 1024
# Small ranges balance the cores well (a slow page holds up at most a few others) and cost
# little: a worker keeps the document open between ranges, so a range is one round trip.
DEFAULT_PAGES_PER_TASK = 4

REASON_START_FAILED = "Udtrækningen kunne ikke startes på serveren. Prøv igen senere."
REASON_CRASHED = "Udtrækningen stoppede uventet, fordi læseprogrammet gik ned under læsningen af PDF-filen."
REASON_INTERNAL = "Udtrækningen stoppede uventet på grund af en fejl i programmet."

# A worker that runs out of memory exits with this code if it cannot say so over the pipe.
_EXIT_MEMORY = 86
_PR_SET_PDEATHSIG = 1


def reason_timeout(timeout: float) -> str:
    return f"Udtrækningen tog for lang tid (mere end {timeout:g} sekunder) og blev stoppet."


def reason_memory(memory_limit: int) -> str:
    return (
        f"Udtrækningen brugte for meget hukommelse (mere end {memory_limit // (1024 * 1024)} MB) "
        "og blev stoppet. PDF-filen er muligvis beskadiget eller usædvanligt kompleks."
    )


class ExtractorPoolClosed(RuntimeError):
    """The pool was closed before the document was finished; the job should be retried."""


@dataclass(frozen=True)
class _Limits:
    timeout: float
    memory_limit: int
    max_pages: int
    max_chars_per_page: int
    ocr: bool
    ocr_page_timeout: float


# ---------------------------------------------------------------------------- public API


def extract_in_sandbox(
    pdf_bytes: bytes,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_chars_per_page: int = DEFAULT_MAX_CHARS_PER_PAGE,
    ocr: bool = True,
) -> ExtractionResult:
    """``indexer.extract.extract()`` in a fresh child process under the given limits.

    Never raises for anything the document does: a timeout, the memory limit or a crash
    of the child end as ``failed`` with a Danish reason.
    """
    with ExtractorPool(
        1,
        timeout=timeout,
        memory_limit=memory_limit,
        max_pages=max_pages,
        max_chars_per_page=max_chars_per_page,
        ocr=ocr,
    ) as pool:
        return pool.extract(pdf_bytes)


class ExtractorPool:
    """Worker processes, started once, that extract documents under limits.

    ``submit``/``extract``/``map`` are thread-safe. Each document is split into ranges of
    ``pages_per_task`` pages (and, for pages without text, one OCR task per page); ranges
    of documents submitted earlier run first, so a document's wall-clock limit is not
    eaten by documents behind it. Results equal ``indexer.extract.extract()``'s.

    ``start_method`` is ``forkserver`` (default) or ``spawn``: workers never inherit the
    parent's threads, locks or open connections. Close the pool (or use ``with``) to stop
    the workers; documents not finished by then fail with ``ExtractorPoolClosed``.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_chars_per_page: int = DEFAULT_MAX_CHARS_PER_PAGE,
        ocr: bool = True,
        ocr_page_timeout: float = OCR_PAGE_TIMEOUT,
        pages_per_task: int = DEFAULT_PAGES_PER_TASK,
        start_method: str = "forkserver",
    ) -> None:
        if pages_per_task < 1:
            raise ValueError("pages_per_task must be at least 1")
        self.workers = workers or _usable_cpus()
        self.limits = _Limits(timeout, memory_limit, max_pages, max_chars_per_page, ocr, ocr_page_timeout)
        self.pages_per_task = pages_per_task
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # The fork server imports pdfplumber once; every worker forked from it starts warm.
            self._context.set_forkserver_preload(["indexer.extract"])
        self._queue: queue.PriorityQueue[tuple[tuple[float, ...], int, _Task | None]] = queue.PriorityQueue()
        self._sequence = itertools.count()
        self._lock = threading.Lock()
        self._closed = False
        self._jobs: set[_DocumentJob] = set()
        self._slots = [_Slot(self, index) for index in range(self.workers)]
        for slot in self._slots:
            slot.start()

    def submit(self, pdf_bytes: bytes) -> Future[ExtractionResult]:
        """Queue one document; the future's result is its ``ExtractionResult``."""
        future: Future[ExtractionResult] = Future()
        tesseract = find_tesseract() if self.limits.ocr else None
        with self._lock:
            if self._closed:
                raise ExtractorPoolClosed("the extractor pool is closed")
            job = _DocumentJob(self, next(self._sequence), bytes(pdf_bytes), future, tesseract)
            self._jobs.add(job)
        job.start()
        return future

    def extract(self, pdf_bytes: bytes) -> ExtractionResult:
        """Extract one document, using every worker that is free; blocks until done."""
        return self.submit(pdf_bytes).result()

    def map(self, documents: Iterable[bytes]) -> list[ExtractionResult]:
        """Extract several documents in parallel; results in the order given."""
        futures = [self.submit(document) for document in documents]
        return [future.result() for future in futures]

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for monitoring and tests)."""
        return [pid for slot in self._slots if (pid := slot.worker_pid()) is not None]

    def close(self) -> None:
        """Stop the workers now. Unfinished documents fail with ``ExtractorPoolClosed``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            jobs = list(self._jobs)
        for job in jobs:
            job.abandon()
        for _ in self._slots:
            self._queue.put(((float("inf"),), next(self._sequence), None))
        for slot in self._slots:
            slot.kill_worker()
        for slot in self._slots:
            slot.join()

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- used by jobs and slots

    @property
    def closed(self) -> bool:
        return self._closed

    def _enqueue(self, task: _Task) -> None:
        self._queue.put(((task.job.key, task.first), next(self._sequence), task))

    def _forget(self, job: _DocumentJob) -> None:
        with self._lock:
            self._jobs.discard(job)


# ---------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class _Task:
    job: _DocumentJob
    kind: str  # "read": text layer of pages first..last; "ocr": OCR of page first
    first: int
    last: int

    def message(self, with_bytes: bool) -> tuple[Any, ...]:
        limits = self.job.pool.limits
        document = (self.job.key, self.job.pdf_bytes if with_bytes else None, limits.max_pages)
        if self.kind == "read":
            return ("read", *document, self.first, self.last, limits.max_chars_per_page)
        return ("ocr", *document, self.first, limits.max_chars_per_page, self.job.tesseract, limits.ocr_page_timeout)


class _DocumentJob:
    """One submitted document: its tasks, their results so far, and its deadline."""

    def __init__(
        self, pool: ExtractorPool, key: int, pdf_bytes: bytes, future: Future[ExtractionResult], tesseract: str | None
    ) -> None:
        self.pool = pool
        self.key = key
        self.pdf_bytes = pdf_bytes
        self.future = future
        self.tesseract = tesseract
        self._lock = threading.Lock()
        self._layer: list[PageText | None] | None = None
        self._ocr: dict[int, PageText] = {}
        self._outstanding = 0
        self._deadline: float | None = None
        self._finished = False

    @property
    def finished(self) -> bool:
        return self._finished

    def start(self) -> None:
        # The first range also tells us the page count; the rest are queued once it is known.
        self._add_tasks([_Task(self, "read", 1, self.pool.pages_per_task)])

    def time_left(self) -> float:
        """Seconds left of the document's limit; the clock starts at the first call."""
        with self._lock:
            now = time.monotonic()
            if self._deadline is None:
                self._deadline = now + self.pool.limits.timeout
            return self._deadline - now

    def task_done(self, task: _Task, value: Any) -> None:
        """Record a task's result and queue whatever the document needs next."""
        with self._lock:
            if self._finished:
                return
            if task.kind == "read":
                page_count, pages = value
                if self._layer is None:
                    self._layer = [None] * page_count
                    self._queue_remaining_ranges(page_count)
                self._layer[task.first - 1 : task.first - 1 + len(pages)] = pages
            else:
                self._ocr[task.first] = value
            self._outstanding -= 1
            if self._outstanding:
                return
            if task.kind == "read" and self.tesseract is not None:
                assert self._layer is not None
                ocr_tasks = [_Task(self, "ocr", n, n) for n in pages_needing_ocr(self._complete_layer())]
                if ocr_tasks:
                    self._add_tasks_locked(ocr_tasks)
                    return
            result = self._summary()
        self._finish(result)

    def task_skipped(self) -> None:
        with self._lock:
            self._outstanding -= 1

    def fail(self, reason: str) -> None:
        with self._lock:
            if self._finished:
                return
            page_count = len(self._layer) if self._layer is not None else 0
        self._finish(ExtractionResult.failed(reason, page_count))

    def abandon(self) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self.pool._forget(self)
        self.future.set_exception(ExtractorPoolClosed("the extractor pool was closed before the document was read"))

    # -- internals

    def _queue_remaining_ranges(self, page_count: int) -> None:
        size = self.pool.pages_per_task
        ranges = [(first, min(first + size - 1, page_count)) for first in range(size + 1, page_count + 1, size)]
        self._add_tasks_locked([_Task(self, "read", first, last) for first, last in ranges])

    def _add_tasks(self, tasks: list[_Task]) -> None:
        with self._lock:
            self._add_tasks_locked(tasks)

    def _add_tasks_locked(self, tasks: list[_Task]) -> None:
        self._outstanding += len(tasks)
        for task in tasks:
            self.pool._enqueue(task)

    def _complete_layer(self) -> list[PageText]:
        assert self._layer is not None
        # Every range has reported, so no page is missing; a None here would be a bug.
        return [page if page is not None else PageText("", error=True) for page in self._layer]

    def _summary(self) -> ExtractionResult:
        limits = self.pool.limits
        ocr_state = "done" if self.tesseract is not None else ("unavailable" if limits.ocr else "disabled")
        layer = self._complete_layer() if self._layer is not None else []
        return summarise(layer, self._ocr, ocr_state=ocr_state, max_chars_per_page=limits.max_chars_per_page)

    def _finish(self, result: ExtractionResult) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self.pool._forget(self)
        self.pdf_bytes = b""
        self.future.set_result(result)


# ---------------------------------------------------------------------------- parent side


class _WorkerLost(Exception):
    """The worker process is gone; ``reason`` says why, for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _WorkerUnavailable(_WorkerLost):
    """The worker was gone before it received the task."""


class _WorkerProcess:
    """One child process running ``_worker_main`` and the pipe to it."""

    def __init__(self, context: BaseContext, limits: _Limits) -> None:
        self.limits = limits
        parent_end, child_end = context.Pipe(duplex=True)
        self.process = context.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child_end, limits.memory_limit), name="pdf-extractor", daemon=True
        )
        self.process.start()
        child_end.close()
        self.conn: multiprocessing.connection.Connection = parent_end
        self.loaded_key: int | None = None
        self._killed = False

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def call(self, message: tuple[Any, ...], timeout: float) -> tuple[Any, ...]:
        """Send one task and wait at most ``timeout`` seconds for the reply."""
        try:
            self.conn.send(message)
        except OSError as exc:
            raise _WorkerUnavailable(self._cause_of_death()) from exc
        try:
            if not self.conn.poll(max(timeout, 0)):
                self.kill()
                raise _WorkerLost(reason_timeout(self.limits.timeout))
            reply: tuple[Any, ...] = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise _WorkerLost(self._cause_of_death()) from exc
        return reply

    def kill(self) -> None:
        """Kill the worker and any Tesseract it started (its process group)."""
        self._killed = True
        pid = self.process.pid
        if pid is not None and self.process.exitcode is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        # The pipe is left to the slot thread, which may be blocked reading it right now;
        # it sees EOF and lets go of this object, and the pipe is closed with it.
        self.process.join(5)

    def _cause_of_death(self) -> str:
        self.process.join(5)
        code = self.process.exitcode
        if not self._killed:
            self.kill()
        if code == _EXIT_MEMORY:
            return reason_memory(self.limits.memory_limit)
        # SIGKILL we did not send comes from the kernel's OOM killer; SIGABRT from C++
        # code whose allocation failed under RLIMIT_AS.
        if code in (-signal.SIGKILL, -signal.SIGABRT):
            return reason_memory(self.limits.memory_limit)
        log.warning("extraction worker died with exit code %s", code)
        return REASON_CRASHED


class _Slot:
    """One worker process and the thread that feeds it tasks from the pool's queue."""

    def __init__(self, pool: ExtractorPool, index: int) -> None:
        self.pool = pool
        self.worker: _WorkerProcess | None = None
        self._worker_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"pdf-extractor-{index}", daemon=True)

    def start(self) -> None:
        self._spawn()  # started now, not at the first job, so the first job is not slower
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        self.kill_worker()

    def worker_pid(self) -> int | None:
        worker = self.worker
        if worker is None or worker.process.exitcode is not None:
            return None
        return worker.pid

    def kill_worker(self) -> None:
        with self._worker_lock:
            worker, self.worker = self.worker, None
        if worker is not None:
            worker.kill()

    def replace_worker(self) -> None:
        """Kill the worker and start a fresh one now, so the next task finds it ready."""
        self.kill_worker()
        self._spawn()

    def _spawn(self) -> _WorkerProcess | None:
        with self._worker_lock:
            if self.worker is None and not self.pool.closed:
                try:
                    self.worker = _WorkerProcess(self.pool._context, self.pool.limits)
                except Exception:
                    log.exception("could not start an extraction worker")
            return self.worker

    def _run(self) -> None:
        while True:
            _, _, task = self.pool._queue.get()
            if task is None:
                return
            try:
                self._run_task(task)
            except Exception:
                # A bug here must not stop the slot: the pool would stall silently.
                log.exception("extraction task failed unexpectedly")
                self.replace_worker()
                task.job.fail(REASON_INTERNAL)

    def _run_task(self, task: _Task) -> None:
        job = task.job
        if job.finished:
            job.task_skipped()
            return
        time_left = job.time_left()
        if time_left <= 0:
            job.fail(reason_timeout(self.pool.limits.timeout))
            return
        reply, worker = self._call_worker(task, time_left)
        if reply is None or worker is None:
            return
        kind, value = reply
        if kind == "ok":
            worker.loaded_key = job.key
            job.task_done(task, value)
        elif kind == "refused":
            worker.loaded_key = None
            job.fail(value)
        elif kind == "memory":
            self.replace_worker()
            job.fail(reason_memory(self.pool.limits.memory_limit))
        else:
            log.error("extraction worker error: %s", value)
            self.replace_worker()
            job.fail(REASON_INTERNAL)

    def _call_worker(self, task: _Task, time_left: float) -> tuple[tuple[Any, ...] | None, _WorkerProcess | None]:
        """Run ``task`` on this slot's worker; on a limit or crash, fail the job, replace
        the worker and return ``(None, None)``."""
        job = task.job
        # A worker found dead before it even took the task (killed by an operator, say)
        # is not the document's fault: the task gets one more worker before it fails.
        for attempt in (1, 2):
            worker = self.worker or self._spawn()
            if worker is None:
                if not self.pool.closed:
                    time.sleep(1)  # starting processes fails when the machine has none left; pause
                    job.fail(REASON_START_FAILED)
                return None, None
            try:
                reply = worker.call(task.message(with_bytes=worker.loaded_key != job.key), time_left)
                if reply[0] == "resend":
                    reply = worker.call(task.message(with_bytes=True), job.time_left())
                return reply, worker
            except _WorkerLost as lost:
                self.replace_worker()
                if self.pool.closed:
                    return None, None
                if isinstance(lost, _WorkerUnavailable) and attempt == 1:
                    continue
                job.fail(lost.reason)
                return None, None
        return None, None


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------- child side


def _worker_main(conn: multiprocessing.connection.Connection, memory_limit: int) -> None:
    """A worker's whole life: confine itself, then answer tasks until told to stop.

    Replies: ``("ok", value)``, ``("refused", danish_reason)`` for documents that cannot be
    read, ``("resend", None)`` when the task assumed bytes this worker no longer has,
    ``("memory", None)`` before exiting on MemoryError, ``("error", traceback)`` for bugs.
    """
    _confine(memory_limit)
    quiet_pdfminer_debug_logging()
    cached: tuple[int, PdfDocument] | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        except MemoryError:  # the document alone is larger than the limit
            _report_memory_and_exit(conn)
        if message[0] == "stop":
            return
        kind, key, pdf_bytes, max_pages, *args = message
        try:
            if cached is None or cached[0] != key:
                if cached is not None:
                    cached[1].close()
                    cached = None
                if pdf_bytes is None:
                    conn.send(("resend", None))
                    continue
                cached = (key, PdfDocument(pdf_bytes, max_pages=max_pages))
            document = cached[1]
            if kind == "read":
                first, last, max_chars = args
                value: Any = (document.page_count, document.read_pages(first, last, max_chars_per_page=max_chars))
            else:
                page, max_chars, tesseract, ocr_timeout = args
                value = document.ocr_page(page, max_chars_per_page=max_chars, tesseract=tesseract, timeout=ocr_timeout)
            reply: tuple[str, Any] = ("ok", value)
        except ExtractionError as exc:
            reply = ("refused", exc.reason)
        except MemoryError:
            cached = None
            _report_memory_and_exit(conn)
        except Exception:
            reply = ("error", traceback.format_exc())
        conn.send(reply)


def _report_memory_and_exit(conn: multiprocessing.connection.Connection) -> NoReturn:
    try:
        conn.send(("memory", None))
    finally:
        os._exit(_EXIT_MEMORY)


def _confine(memory_limit: int) -> None:
    # Own process group: killing the group on a timeout also kills a running Tesseract.
    os.setpgrp()
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory_limit = min(memory_limit, hard)  # an unprivileged process cannot raise it
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    # A crash on hostile input is expected here; core files of it are not wanted.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _die_with_parent()


def _die_with_parent() -> None:
    # If the indexer (or the fork server, our parent) dies, so do we, instead of finishing
    # a long document nobody will collect.
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols, libc's among them
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: no prctl, and no need to fail over it
        pass
