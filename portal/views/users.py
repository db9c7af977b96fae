"""A user's page (for admins) and "Min profil" (for the user)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from portal.errors import InvalidInput
from portal.mail import send_invitation
from portal.services import auth as auth_service
from portal.services import users as user_service
from portal.services.audit import list_events
from portal.uow import unit_of_work
from portal.web import current_actor, current_session_id, form_data, settings

bp = Blueprint("users", __name__)


@bp.route("/brugere/<int:user_id>")
@login_required
def show(user_id: int) -> Any:
    user = user_service.get_user(current_actor(), user_id)
    return render_template("users/show.html", user=user, events=list_events(object_type="user", object_id=user.id, limit=50))


@bp.route("/brugere/<int:user_id>/deaktiver", methods=["POST"])
@login_required
def deactivate(user_id: int) -> Any:
    return _set_active(user_id, False)


@bp.route("/brugere/<int:user_id>/aktiver", methods=["POST"])
@login_required
def activate(user_id: int) -> Any:
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool) -> Any:
    try:
        with unit_of_work():
            user_service.set_user_active(current_actor(), user_id, active)
    except InvalidInput as exc:
        flash(exc.message, "error")
    else:
        flash(gettext("Brugeren er aktiveret.") if active else gettext("Brugeren er deaktiveret og logget ud overalt."),
              "success")
    return redirect(url_for("users.show", user_id=user_id))


@bp.route("/brugere/<int:user_id>/invitation", methods=["POST"])
@login_required
def reinvite(user_id: int) -> Any:
    with unit_of_work():
        token = user_service.reissue_invitation(current_actor(), user_id, valid_hours=settings().invitation_valid_hours)
        user = user_service.get_user(current_actor(), user_id)
    link = url_for("auth.accept_invitation", token=token, _external=True)
    send_invitation(settings(), email=user.email, name=user.name, link=link)
    return render_template("users/reinvited.html", user=user, link=link, hours=settings().invitation_valid_hours)


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def profile() -> Any:
    actor = current_actor()
    assert actor is not None
    if request.method == "GET":
        return render_template("users/profile.html", values={"name": actor.name, "locale": actor.locale}, errors={})
    values = form_data("name", "locale")
    try:
        with unit_of_work():
            user_service.update_profile(actor, actor, values)
    except InvalidInput as exc:
        return render_template("users/profile.html", values=values, errors=exc.fields), 400
    flash(gettext("Din profil er gemt."), "success")
    return redirect(url_for("users.profile"))


@bp.route("/profil/adgangskode", methods=["POST"])
@login_required
def change_password() -> Any:
    actor = current_actor()
    assert actor is not None
    new, repeat = request.form.get("new_password", ""), request.form.get("new_password_repeat", "")
    values = {"name": actor.name, "locale": actor.locale}
    if new != repeat:
        return render_template("users/profile.html", values=values,
                               errors={"new_password_repeat": gettext("De to adgangskoder er ikke ens.")}), 400
    try:
        with unit_of_work():
            auth_service.change_password(actor, actor, current=request.form.get("current_password", ""), new=new,
                                         keep_session_id=current_session_id())
    except InvalidInput as exc:
        errors = {("new_password" if k == "password" else k): v for k, v in exc.fields.items()}
        return render_template("users/profile.html", values=values, errors=errors), 400
    flash(gettext("Din adgangskode er ændret. Du er logget ud på andre enheder."), "success")
    return redirect(url_for("users.profile"))
