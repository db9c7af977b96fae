"""The object store and the search index of the current app, opened on first use.

Opening lazily keeps start-up independent of servers that may be down: the portal
starts, /healthz says what is missing, and the first request that needs a backend
gets a clear error instead of the process refusing to boot.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from portal.search import SearchIndex
    from portal.storage import ObjectStore

_lock = threading.Lock()


def _cached(app: Flask, name: str, opener: Any) -> Any:
    backends = app.extensions.setdefault("backends", {})
    if name not in backends:
        with _lock:
            if name not in backends:
                backends[name] = opener()
    return backends[name]


def object_store(app: Flask | None = None) -> "ObjectStore":
    from portal.storage import open_store

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return _cached(app, "store", lambda: open_store(app.config["PORTAL"].storage_url))


def search_index(app: Flask | None = None) -> "SearchIndex":
    from portal.search import open_index

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return _cached(app, "search", lambda: open_index(app.config["PORTAL"].search_url, create=True))


def close_backends(app: Flask) -> None:
    for backend in app.extensions.pop("backends", {}).values():
        close = getattr(backend, "close", None)
        if close is not None:
            close()
