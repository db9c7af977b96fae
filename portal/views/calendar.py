"""The secret iCal address: a calendar program subscribes without logging in, so the token is the key."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from portal.services import obligations as obligation_service
from portal.uow import unit_of_work
from portal.web import settings

bp = Blueprint("calendar", __name__)


@bp.route("/kalender/<token>.ics")
def feed(token: str) -> Any:
    with unit_of_work():
        user = obligation_service.user_for_calendar(token)
    body = obligation_service.calendar_ics(user, base_url=settings().base_url)
    return Response(body, mimetype="text/calendar",
                    headers={"Cache-Control": "private, max-age=300", "Content-Disposition": "inline; filename=aftaleportalen.ics"})
