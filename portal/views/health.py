"""GET /healthz: is the database, the object store and the search index answering?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify

from portal.backends import object_store, search_index
from portal.services.health import check_database

bp = Blueprint("health", __name__)


def _probe(check: Callable[[], object]) -> dict[str, Any]:
    try:
        check()
    except Exception as exc:  # any failure is the answer here, reported, never raised
        return {"ok": False, "error": getattr(exc, "message", None) or exc.__class__.__name__}
    return {"ok": True}


@bp.route("/healthz")
def healthz() -> Any:
    checks = {
        "database": _probe(check_database),
        "object_store": _probe(lambda: object_store().check()),
        "search_index": _probe(lambda: search_index().check()),
    }
    healthy = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if healthy else "unavailable", "checks": checks}), 200 if healthy else 503
