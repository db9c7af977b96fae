"""A user's page (for admins), "Min profil" (for the user, with their API tokens) and the
answers to invitations to a party."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from portal.access import load
from portal.errors import InvalidInput
from portal.mail import send_invitation
from portal.models import User
from portal.services import auth as auth_service
from portal.services import users as user_service
from portal.uow import unit_of_work
from portal.web import current_actor, current_session_id, form_data, settings

bp = Blueprint("users", __name__)


@bp.route("/brugere/<int:user_id>")
@login_required
def show(user_id: int) -> Any:
    actor = current_actor()
    user = load(actor, User, user_id, "user:read")
    return render_template("users/show.html", user=user, events=user_service.user_history(actor, user))


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
        user = load(current_actor(), User, user_id, "user:read")
    link = url_for("auth.accept_invitation", token=token, _external=True)
    send_invitation(settings(), email=user.email, name=user.name, link=link)
    return render_template("users/reinvited.html", user=user, link=link, hours=settings().invitation_valid_hours)


@bp.app_context_processor
def _invitation_helper() -> dict[str, Any]:
    # The front pages (another blueprint) include users/_invitations.html, which asks this lazily.
    def my_invitations() -> list[Any]:
        return user_service.my_invitations(current_actor())

    return {"my_invitations": my_invitations}


def _profile_page(actor: Any, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                  new_token: str | None = None, status: int = 200) -> Any:
    values = values if values is not None else {"name": actor.name, "locale": actor.locale}
    return render_template("users/profile.html", values=values, errors=errors or {}, new_token=new_token,
                           tokens=auth_service.list_api_tokens(actor, actor), token_expired=auth_service.token_expired), status


@bp.route("/profil", methods=["GET", "POST"])
@login_required
def profile() -> Any:
    actor = current_actor()
    assert actor is not None
    if request.method == "GET":
        return _profile_page(actor)
    values = form_data("name", "locale")
    try:
        with unit_of_work():
            user_service.update_profile(actor, actor, values)
    except InvalidInput as exc:
        return _profile_page(actor, values=values, errors=exc.fields, status=400)
    flash(gettext("Din profil er gemt."), "success")
    return redirect(url_for("users.profile"))


@bp.route("/profil/api-noegler", methods=["POST"])
@login_required
def create_token() -> Any:
    actor = current_actor()
    assert actor is not None
    raw_days = request.form.get("expires_days", "").strip()
    try:
        if raw_days and not raw_days.isdigit():
            raise InvalidInput(fields={"expires_days": gettext("Skriv et helt antal dage, eller lad feltet stå tomt.")})
        with unit_of_work():
            token = auth_service.create_api_token(actor, actor, label=request.form.get("label", ""),
                                                  expires_days=int(raw_days) if raw_days else None)
    except InvalidInput as exc:
        return _profile_page(actor, errors=exc.fields, status=400)
    # Shown on this page only, never again (only its hash is stored); not put in a redirect's flash.
    return _profile_page(actor, new_token=token)


@bp.route("/profil/api-noegler/<int:token_id>/tilbagekald", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> Any:
    with unit_of_work():
        auth_service.revoke_api_token(current_actor(), token_id)
    flash(gettext("API-nøglen er tilbagekaldt og virker ikke længere."), "success")
    return redirect(url_for("users.profile") + "#api-noegler")


@bp.route("/invitationer/<int:invitation_id>/accepter", methods=["POST"])
@login_required
def accept_invitation(invitation_id: int) -> Any:
    with unit_of_work():
        invitation = user_service.answer_invitation(current_actor(), invitation_id, accept=True)
    flash(gettext("Du er nu tilknyttet %(party)s.", party=invitation.party.name), "success")
    return redirect(url_for("main.index"))


@bp.route("/invitationer/<int:invitation_id>/afvis", methods=["POST"])
@login_required
def decline_invitation(invitation_id: int) -> Any:
    with unit_of_work():
        invitation = user_service.answer_invitation(current_actor(), invitation_id, accept=False)
    flash(gettext("Du har afvist invitationen fra %(party)s.", party=invitation.party.name), "success")
    return redirect(url_for("main.index"))


@bp.route("/profil/adgangskode", methods=["POST"])
@login_required
def change_password() -> Any:
    actor = current_actor()
    assert actor is not None
    new, repeat = request.form.get("new_password", ""), request.form.get("new_password_repeat", "")
    if new != repeat:
        return _profile_page(actor, errors={"new_password_repeat": gettext("De to adgangskoder er ikke ens.")}, status=400)
    try:
        with unit_of_work():
            auth_service.change_password(actor, actor, current=request.form.get("current_password", ""), new=new,
                                         keep_session_id=current_session_id())
    except InvalidInput as exc:
        errors = {("new_password" if k == "password" else k): v for k, v in exc.fields.items()}
        return _profile_page(actor, errors=errors, status=400)
    flash(gettext("Din adgangskode er ændret. Du er logget ud på andre enheder, og dine API-nøgler er tilbagekaldt."),
          "success")
    return redirect(url_for("users.profile"))
