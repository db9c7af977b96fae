"""Front-end packages installed by npm (node_modules/), served from the app: nothing vendored by hand."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, send_from_directory

from portal.config import PROJECT_ROOT

bp = Blueprint("vendor", __name__)

# Only the built files of the packages the pages use; never the rest of node_modules.
_PACKAGES = {
    "dkfds": PROJECT_ROOT / "node_modules" / "dkfds" / "dist",
    # pdf.js for the document viewer: the legacy build (polyfilled for browsers a year or
    # two old), its viewer CSS (text layer), and the data its worker fetches: fonts not
    # embedded in a PDF, character maps, colour profiles and the image decoders
    # (JPEG 2000, JBIG2 as WebAssembly, each with a JavaScript fallback).
    "pdfjs-dist": PROJECT_ROOT / "node_modules" / "pdfjs-dist" / "legacy" / "build",
    "pdfjs-dist-web": PROJECT_ROOT / "node_modules" / "pdfjs-dist" / "legacy" / "web",
    "pdfjs-dist-fonts": PROJECT_ROOT / "node_modules" / "pdfjs-dist" / "standard_fonts",
    "pdfjs-dist-cmaps": PROJECT_ROOT / "node_modules" / "pdfjs-dist" / "cmaps",
    "pdfjs-dist-iccs": PROJECT_ROOT / "node_modules" / "pdfjs-dist" / "iccs",
    "pdfjs-dist-wasm": PROJECT_ROOT / "node_modules" / "pdfjs-dist" / "wasm",
}


@bp.route("/vendor/<package>/<path:filename>")
def asset(package: str, filename: str) -> Any:
    root = _PACKAGES.get(package)
    if root is None:
        abort(404)
    return send_from_directory(root, filename, max_age=86400)
