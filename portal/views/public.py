"""The public archive of published minutes: no log-in, stable URLs, an Atom feed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, Response, render_template, url_for

from portal.downloads import send_version
from portal.models import Document
from portal.services import documents as document_service
from portal.services.parties import find_municipality

bp = Blueprint("public", __name__, url_prefix="/offentlig")

NEWEST = 10


@bp.route("/referater")
def minutes() -> Any:
    documents = document_service.public_minutes()
    newest, earlier = documents[:NEWEST], documents[NEWEST:]
    grouped: dict[str, dict[int, list[Document]]] = defaultdict(lambda: defaultdict(list))
    for doc in sorted(earlier, key=lambda d: (d.party.name, -d.year)):
        grouped[doc.party.name][doc.year].append(doc)
    return render_template("public/minutes.html", newest=newest, grouped=grouped, municipality=find_municipality())


@bp.route("/referater/<int:document_id>")
def minutes_file(document_id: int) -> Any:
    """The stable link a municipal website uses: always the version the municipality published last."""
    return send_version(document_service.published_version(document_service.get_public_minutes(document_id)))


@bp.route("/referater.atom")
def feed() -> Any:
    documents = document_service.public_minutes()[:50]
    body = render_template("public/feed.atom", documents=documents, municipality=find_municipality(),
                           feed_url=url_for("public.feed", _external=True),
                           archive_url=url_for("public.minutes", _external=True))
    return Response(body, mimetype="application/atom+xml")
