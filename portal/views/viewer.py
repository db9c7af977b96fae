"""The PDF viewer: a document opened at a page, with the search words highlighted.

The page is pdf.js (pdfjs-dist, served from node_modules by the vendor blueprint) drawing
one page at a time with its text layer. `matches` tells the page's script which words the
search found on which pages. It reads the text stored for each page and marks it with the
search's own Highlighter, so the viewer shows the same stemmed, compound and prefix
matches as the result list, and `total` agrees with what the user is stepped through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask_login import login_required

from portal.models import DocumentVersion
from portal.search.query import parse
from portal.services import documents as document_service
from portal.web import current_actor

bp = Blueprint("viewer", __name__)

# The portal's policy plus what pdf.js needs, spelled out: its worker is a module script
# from 'self' and fetches the file (with Range), fonts and image decoders from 'self'.
# Pages are drawn on a canvas and fonts are handed to the FontFace API as bytes, so
# neither blob: nor inline styles are needed. No 'wasm-unsafe-eval': the page itself runs
# no WebAssembly, and the worker runs under the policy of its own response (the vendor
# route's), not this one; viewer.js uses pdf.js's JavaScript image decoders instead.
VIEWER_CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@dataclass(frozen=True)
class PageMatches:
    page: int  # 1-based
    words: list[str]  # as written on the page, each once, in order of first appearance
    count: int  # how many words on the page are marked

    def to_dict(self) -> dict[str, Any]:
        return {"page": self.page, "words": self.words, "count": self.count}


def page_matches(version: DocumentVersion, text: str) -> list[PageMatches]:
    """For each page of `version` whose stored text the search `text` matches, the words
    it marks there. Pages not extracted yet have no text and so no matches."""
    parsed = parse(text)
    if next(parsed.positive_clauses(), None) is None:
        return []  # nothing typed, only stop words, or only exclusions: nothing to mark
    highlighter = parsed.highlighter()
    found = []
    for page in version.pages:
        spans = highlighter.spans(page.text)
        if spans:
            words = list(dict.fromkeys(page.text[start:end] for start, end in spans))
            found.append(PageMatches(page.number, words, len(spans)))
    return found


def _version(document_id: int) -> DocumentVersion:
    """The version the `version` argument names (the current one without it); NotFound
    for a document or version the actor may not see, as on every other route."""
    return document_service.get_version(current_actor(), document_id, request.args.get("version", type=int))


@bp.route("/dokumenter/<int:document_id>/vis")
@login_required
def show(document_id: int) -> Any:
    version = _version(document_id)
    page = max(request.args.get("side", 1, type=int), 1)
    if version.page_count:
        page = min(page, version.page_count)
    query = request.args.get("q", "").strip()
    html = render_template("viewer/show.html", document=version.document, version=version, page=page, query=query)
    return html, 200, {"Content-Security-Policy": VIEWER_CSP}


@bp.route("/dokumenter/<int:document_id>/fund")
@login_required
def matches(document_id: int) -> Any:
    version = _version(document_id)
    found = page_matches(version, request.args.get("q", ""))
    return jsonify({"pages": [m.to_dict() for m in found], "total": sum(m.count for m in found)})
