"""Front-end packages installed by npm (node_modules/), served from the app: nothing vendored by hand."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, send_from_directory

from portal.config import PROJECT_ROOT

bp = Blueprint("vendor", __name__)

# Only the built files of the packages the pages use; never the rest of node_modules.
_PACKAGES = {
    "dkfds": PROJECT_ROOT / "node_modules" / "dkfds" / "dist",
}


@bp.route("/vendor/<package>/<path:filename>")
def asset(package: str, filename: str) -> Any:
    root = _PACKAGES.get(package)
    if root is None:
        abort(404)
    return send_from_directory(root, filename, max_age=86400)
