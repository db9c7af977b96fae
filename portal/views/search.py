"""The search page: words, phrases, filters, facets, and hits that open at the right page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required

from portal.errors import InvalidInput, SearchUnavailable
from portal.services import documents as document_service
from portal.services import parties as party_service
from portal.services import search as search_service
from portal.web import current_actor

bp = Blueprint("search", __name__)


def _link(**changes: Any) -> str:
    """This search with some parameters changed (facets, suggestion, paging)."""
    return url_for("search.index", **{**request.args.to_dict(), **changes})


@bp.route("/soeg")
@login_required
def index() -> Any:
    actor = current_actor()
    form = search_service.SearchForm.from_args(request.args)
    context: dict[str, Any] = {"form": form, "results": None, "errors": {}, "unavailable": None, "link": _link,
                               "organisations": party_service.list_organisations(actor),
                               "kinds": document_service.KIND_LABELS, "names": {}}
    status = 200
    if request.args:
        try:
            results = search_service.search(actor, form)
        except InvalidInput as exc:
            context["errors"], status = exc.fields, 400
        except SearchUnavailable as exc:
            context["unavailable"], status = exc.message, 503
        else:
            context["results"] = results
            context["targets"] = search_service.hit_targets(results, form.q)
            context["names"] = search_service.organisation_names(list(results.facets.get("organisation", {})))
    return render_template("search/index.html", **context), status
