"""The front page (one per role) and the language switch."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import login_required

from portal import access
from portal.services import parties as party_service
from portal.web import current_actor, safe_next

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def index() -> Any:
    actor = current_actor()
    municipality = party_service.find_municipality()
    if access.can(actor, "dialogues:overview", municipality):
        organisations = party_service.list_organisations(actor)
        return render_template("main/municipality.html", municipality=municipality, organisations=organisations)
    organisations = party_service.list_organisations(actor)
    return render_template("main/organisation.html", organisations=organisations)


@bp.route("/sprog/<code>")
def set_language(code: str) -> Any:
    if code in ("da", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("main.index")))
