"""Organisations, their departments and their users (administration pages)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from portal import access
from portal.access import load
from portal.errors import InvalidInput
from portal.mail import send_invitation, send_membership_invitation
from portal.models import Department, HousingType, Party, PartyKind, Role
from portal.services import parties as party_service
from portal.services import users as user_service
from portal.services.audit import list_events
from portal.uow import unit_of_work
from portal.web import current_actor, form_data, settings

bp = Blueprint("parties", __name__)

_DEPARTMENT_FIELDS = ("lbf_number", "name", "address", "housing_type", "homes")


@bp.route("/organisationer")
@login_required
def index() -> Any:
    actor = current_actor()
    municipality = party_service.get_municipality()
    access.require(actor, "party:list", municipality)
    return render_template("parties/index.html", municipality=municipality,
                           organisations=party_service.list_organisations(actor))


@bp.route("/organisationer/ny", methods=["GET", "POST"])
@login_required
def create() -> Any:
    actor = current_actor()
    municipality = party_service.get_municipality()
    access.require(actor, "party:create", municipality)
    values = form_data("name", "cvr", "municipality_name")
    if request.method == "GET":
        values["municipality_name"] = municipality.municipality_name
        return render_template("parties/create.html", values=values, errors={})
    try:
        with unit_of_work():
            party = party_service.create_party(actor, kind=PartyKind.ORGANISATION, name=values["name"],
                                               cvr=values["cvr"], municipality_name=values["municipality_name"])
    except InvalidInput as exc:
        return render_template("parties/create.html", values=values, errors=exc.fields), 400
    flash(gettext("Organisationen er oprettet."), "success")
    return redirect(url_for("parties.show", party_id=party.id))


@bp.route("/parter/<int:party_id>")
@login_required
def show(party_id: int) -> Any:
    party = load(current_actor(), Party, party_id, "party:read")
    return render_template("parties/show.html", party=party)


@bp.route("/parter/<int:party_id>/rediger", methods=["GET", "POST"])
@login_required
def edit(party_id: int) -> Any:
    actor = current_actor()
    party = load(actor, Party, party_id, "party:update")
    if request.method == "GET":
        values = {"name": party.name, "municipality_name": party.municipality_name}
        return render_template("parties/edit.html", party=party, values=values, errors={})
    values = form_data("name", "municipality_name")
    try:
        with unit_of_work():
            party_service.update_party(actor, party_id, name=values["name"], municipality_name=values["municipality_name"])
    except InvalidInput as exc:
        return render_template("parties/edit.html", party=party, values=values, errors=exc.fields), 400
    flash(gettext("Ændringerne er gemt."), "success")
    return redirect(url_for("parties.show", party_id=party_id))


@bp.route("/parter/<int:party_id>/afdelinger/ny", methods=["GET", "POST"])
@login_required
def create_department(party_id: int) -> Any:
    actor = current_actor()
    party = load(actor, Party, party_id, "party:read")
    access.require(actor, "department:create", party)
    values = form_data(*_DEPARTMENT_FIELDS)
    if request.method == "GET":
        return render_template("parties/department_form.html", party=party, department=None, values=values,
                               errors={}, housing_types=HousingType)
    try:
        with unit_of_work():
            party_service.create_department(actor, party_id, values)
    except InvalidInput as exc:
        return render_template("parties/department_form.html", party=party, department=None, values=values,
                               errors=exc.fields, housing_types=HousingType), 400
    flash(gettext("Afdelingen er oprettet."), "success")
    return redirect(url_for("parties.show", party_id=party_id))


@bp.route("/afdelinger/<int:department_id>/rediger", methods=["GET", "POST"])
@login_required
def edit_department(department_id: int) -> Any:
    actor = current_actor()
    department = load(actor, Department, department_id, "department:update")
    if request.method == "GET":
        values = {f: str(getattr(department, f).value if f == "housing_type" else getattr(department, f))
                  for f in _DEPARTMENT_FIELDS}
        return render_template("parties/department_form.html", party=department.party, department=department,
                               values=values, errors={}, housing_types=HousingType)
    values = form_data(*_DEPARTMENT_FIELDS)
    try:
        with unit_of_work():
            party_service.update_department(actor, department_id, values)
    except InvalidInput as exc:
        return render_template("parties/department_form.html", party=department.party, department=department,
                               values=values, errors=exc.fields, housing_types=HousingType), 400
    flash(gettext("Afdelingen er gemt."), "success")
    return redirect(url_for("parties.show", party_id=department.party_id))


@bp.route("/parter/<int:party_id>/brugere")
@login_required
def members(party_id: int) -> Any:
    actor = current_actor()
    party = load(actor, Party, party_id, "members:read")
    pending = user_service.list_pending_invitations(actor, party) if access.can(actor, "members:manage", party) else []
    return render_template("parties/members.html", party=party, memberships=user_service.list_members(actor, party),
                           pending=pending, roles=Role)


@bp.route("/parter/<int:party_id>/brugere/ny", methods=["GET", "POST"])
@login_required
def invite(party_id: int) -> Any:
    actor = current_actor()
    party = load(actor, Party, party_id, "members:manage")
    values = form_data("email", "name", "role")
    if request.method == "GET":
        values["role"] = Role.READER.value
        return render_template("parties/invite.html", party=party, values=values, errors={}, roles=Role)
    try:
        with unit_of_work():
            result = user_service.invite_user(actor, party, email=values["email"], name=values["name"],
                                              role=values["role"],
                                              invitation_valid_hours=settings().invitation_valid_hours)
    except InvalidInput as exc:
        return render_template("parties/invite.html", party=party, values=values, errors=exc.fields, roles=Role), 400
    if result.invitation_token:
        link = url_for("auth.accept_invitation", token=result.invitation_token, _external=True)
        send_invitation(settings(), email=result.user.email, name=values["name"], link=link, party=party.name)
    else:
        send_membership_invitation(settings(), email=result.user.email, name=values["name"], party=party.name,
                                   link=url_for("main.index", _external=True))
    # The same answer whether the address had an account or not: the admin learns nothing about
    # the person until they accept.
    flash(gettext("Invitationen er sendt til %(email)s. Personen får adgang til %(party)s, når invitationen er accepteret.",
                  email=result.user.email, party=party.name), "success")
    return redirect(url_for("parties.members", party_id=party_id))


@bp.route("/invitationer/<int:invitation_id>/traek-tilbage", methods=["POST"])
@login_required
def withdraw_invitation(invitation_id: int) -> Any:
    with unit_of_work():
        invitation = user_service.withdraw_invitation(current_actor(), invitation_id)
    flash(gettext("Invitationen er trukket tilbage."), "success")
    return redirect(url_for("parties.members", party_id=invitation.party_id))


@bp.route("/medlemskaber/<int:membership_id>/rolle", methods=["POST"])
@login_required
def change_role(membership_id: int) -> Any:
    actor = current_actor()
    try:
        with unit_of_work():
            membership = user_service.change_role(actor, membership_id, request.form.get("role", ""))
    except InvalidInput as exc:
        flash(exc.message if not exc.fields else " ".join(exc.fields.values()), "error")
        return redirect(request.referrer or url_for("main.index"))
    flash(gettext("Rollen er ændret."), "success")
    return redirect(url_for("parties.members", party_id=membership.party_id))


@bp.route("/medlemskaber/<int:membership_id>/fjern", methods=["POST"])
@login_required
def remove_membership(membership_id: int) -> Any:
    actor = current_actor()
    party_id = request.form.get("party_id", type=int)
    try:
        with unit_of_work():
            user_service.remove_membership(actor, membership_id)
    except InvalidInput as exc:
        flash(exc.message, "error")
    else:
        flash(gettext("Brugeren er fjernet fra parten."), "success")
    return redirect(url_for("parties.members", party_id=party_id) if party_id else url_for("main.index"))


@bp.route("/parter/<int:party_id>/historik")
@login_required
def history(party_id: int) -> Any:
    party = load(current_actor(), Party, party_id, "audit:read")
    return render_template("parties/history.html", party=party, events=list_events(party_id=party.id, limit=200))
