"""A claimed job, and the handler that does it: one extractor pool shared by every job of the worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from indexer.jobs import HANDLERS
from indexer.sandbox import ExtractorPool
from portal.models.base import utcnow


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    object_id: int
    payload: dict[str, Any]
    attempts: int
    claimed_at: datetime = field(default_factory=utcnow)


Handler = Callable[[Claimed], None]


@contextmanager
def make_handler(*, workers: int | None = None, **pool_options: Any) -> Iterator[Handler]:
    """A job handler backed by one extractor pool; `pool_options` are ExtractorPool's limits."""
    with ExtractorPool(workers, **pool_options) as pool:
        def handle(job: Claimed) -> None:
            handler = HANDLERS.get(job.kind)
            if handler is None:
                raise ValueError(f"unknown job kind {job.kind!r}")
            handler(job.object_id, pool.extract, force_extract=bool(job.payload.get("extract")))

        yield handle
