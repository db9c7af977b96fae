"""The indexer's main loop.

Run it as `indexer run` (make run starts one). It stops cleanly on SIGTERM or SIGINT,
finishing what it is doing first. The job table it works is introduced with the
document pipeline; until then the loop only keeps its database connection alive.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from sqlalchemy import text

from portal import create_app
from portal.extensions import db

log = logging.getLogger("indexer")


class _Stop:
    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current step", signum)
        self.event.set()


def run_worker(*, once: bool = False, poll_seconds: float = 2.0) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    app = create_app()
    log.info("indexer started")
    while not stop.event.is_set():
        with app.app_context():
            try:
                db.session.execute(text("SELECT 1"))
            except Exception as exc:  # the database may be restarting; keep trying
                log.warning("database not answering: %s", exc.__class__.__name__)
        if once:
            break
        stop.event.wait(poll_seconds)
    log.info("indexer stopped")
