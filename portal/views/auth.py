"""Log in, log out, and accepting an invitation."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import login_user, logout_user

from portal.errors import InvalidInput, TooManyAttempts
from portal.services import auth as auth_service
from portal.uow import unit_of_work
from portal.web import LoggedIn, client_address, current_actor, current_session_id, safe_next, settings

bp = Blueprint("auth", __name__)


@bp.route("/log-ind", methods=["GET", "POST"])
def login() -> Any:
    next_url = safe_next(request.values.get("next"))
    if current_actor() is not None:
        return redirect(next_url)
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url, errors={})
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    cfg = settings()
    try:
        with unit_of_work():
            user = auth_service.authenticate(
                email, password, address=client_address(),
                max_per_account=cfg.login_max_failures_per_account,
                max_per_address=cfg.login_max_failures_per_address,
                window_seconds=cfg.login_window_seconds,
            )
            session_id = auth_service.start_session(user, address=client_address()) if user else None
    except TooManyAttempts as exc:
        return render_template("auth/login.html", next=next_url, email=email,
                               errors={"form": exc.message}), 429, {"Retry-After": str(exc.retry_after)}
    if user is None or session_id is None:
        return render_template("auth/login.html", next=next_url, email=email,
                               errors={"form": gettext("E-mailadressen eller adgangskoden er forkert.")}), 401
    # A fresh cookie session at log-in, so nothing from before survives (session fixation).
    session.clear()
    login_user(LoggedIn(user, session_id))
    return redirect(next_url)


@bp.route("/log-ud", methods=["POST"])
def logout() -> Any:
    session_id = current_session_id()
    if session_id is not None:
        with unit_of_work():
            auth_service.end_session(session_id)
    logout_user()
    session.clear()
    flash(gettext("Du er logget ud."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Any:
    invitation = auth_service.find_invitation(token)
    if request.method == "GET":
        return render_template("auth/invitation.html", invitation=invitation, errors={})
    password, repeat = request.form.get("password", ""), request.form.get("password_repeat", "")
    if password != repeat:
        return render_template("auth/invitation.html", invitation=invitation,
                               errors={"password_repeat": gettext("De to adgangskoder er ikke ens.")}), 400
    try:
        with unit_of_work():
            auth_service.accept_invitation(token, password)
    except InvalidInput as exc:
        return render_template("auth/invitation.html", invitation=invitation, errors=exc.fields), 400
    flash(gettext("Din adgangskode er gemt. Log ind for at fortsætte."), "success")
    return redirect(url_for("auth.login"))
