"""The audit trail searched per person: what the portal holds on one user, for a GDPR access
request, on a page and as a CSV file. Municipality admins only (see `audit:search`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_login import login_required

from portal import access
from portal.errors import InvalidInput
from portal.services import audit as audit_service
from portal.services.parties import get_municipality
from portal.uow import unit_of_work
from portal.web import current_actor

bp = Blueprint("audit", __name__)

PAGE_LIMIT = 500
EXPORT_LIMIT = 100_000


@bp.route("/revision")
@login_required
def search() -> Any:
    actor, municipality = current_actor(), get_municipality()
    email = request.args.get("bruger", "").strip()
    if not email:
        access.require(actor, "audit:search", municipality)
        return render_template("audit/search.html", email="", trail=None, errors={})
    try:
        with unit_of_work():
            trail = audit_service.user_trail(actor, municipality, email, limit=PAGE_LIMIT)
    except InvalidInput as exc:
        return render_template("audit/search.html", email=email, trail=None, errors=exc.fields), 400
    return render_template("audit/search.html", email=email, trail=trail, errors={})


@bp.route("/revision.csv")
@login_required
def export() -> Any:
    with unit_of_work():
        trail = audit_service.user_trail(current_actor(), get_municipality(), request.args.get("bruger", ""),
                                         limit=EXPORT_LIMIT, export=True)
    # The byte order mark makes spreadsheet programs read the Danish letters as UTF-8.
    body = "\ufeff" + audit_service.export_csv(trail.events)
    filename = f"revisionsspor-{date.today().isoformat()}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={filename}"})
