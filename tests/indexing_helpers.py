"""Running the real indexer in tests: the job loop with a one-process extractor pool."""

from __future__ import annotations

from typing import Any

from indexer.runner import make_handler
from indexer.worker import run_one


def drain(worker_id: str = "test-worker", limit: int = 100, **pool_options: Any) -> int:
    """Run every due job through the real handler (inside the caller's app context); returns how many ran."""
    ran = 0
    with make_handler(workers=1, **pool_options) as handle:
        while ran < limit and run_one(worker_id, handle) is not None:
            ran += 1
    return ran
