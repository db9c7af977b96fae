"""The styringsdialog in the browser: the overview of every organisation, and one organisation's year."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from portal import access
from portal.access import load
from portal.errors import InvalidInput
from portal.models import Dialogue, DialogueStep, Party
from portal.services import dialogue as dialogue_service
from portal.services import documents as document_service
from portal.services import obligations as obligation_service
from portal.services import parties as party_service
from portal.services.documents import KIND_LABELS
from portal.uow import unit_of_work
from portal.web import current_actor

bp = Blueprint("dialogue", __name__)


def _year() -> int:
    raw = request.args.get("aar", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else date.today().year


def _context() -> dict[str, Any]:
    return {"step_labels": dialogue_service.STEP_LABELS, "kind_labels": KIND_LABELS, "steps": DialogueStep,
            "overview_steps": dialogue_service.OVERVIEW_STEPS, "step_reached": dialogue_service.step_reached,
            "status_labels": obligation_service.STATUS_LABELS}


@bp.route("/styringsdialog")
@login_required
def overview() -> Any:
    year = _year()
    rows = dialogue_service.overview(current_actor(), year)
    return render_template("dialogue/overview.html", rows=rows, year=year, today=date.today(), **_context())


@bp.route("/parter/<int:party_id>/styringsdialog/<int:year>")
@login_required
def for_party(party_id: int, year: int) -> Any:
    party = load(current_actor(), Party, party_id, "party:read")
    dialogue = dialogue_service.find_dialogue(party.id, year)
    if dialogue is not None:
        return redirect(url_for("dialogue.show", dialogue_id=dialogue.id))
    return render_template("dialogue/not_started.html", party=party, year=year, **_context())


@bp.route("/parter/<int:party_id>/styringsdialog/<int:year>/start", methods=["POST"])
@login_required
def start(party_id: int, year: int) -> Any:
    with unit_of_work():
        dialogue = dialogue_service.open_dialogue(current_actor(), party_id, year)
    return redirect(url_for("dialogue.show", dialogue_id=dialogue.id))


def _render(dialogue_id: int, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    actor = current_actor()
    dialogue = load(actor, Dialogue, dialogue_id, "dialogue:read")
    municipality = party_service.get_municipality()
    minutes = dialogue_service.meeting_minutes(actor, dialogue)
    return render_template(
        "dialogue/show.html", dialogue=dialogue, checklist=dialogue_service.checklist(actor, dialogue),
        agenda=dialogue_service.agenda(dialogue), referats=dialogue_service.referat_choices(actor, dialogue),
        minutes=minutes, unpublish_requests=document_service.unpublish_requests(minutes) if minutes else [],
        next_step=dialogue_service.next_step(dialogue),
        meeting_obligations=dialogue_service.meeting_obligations(dialogue), municipality=municipality,
        overdue=dialogue_service.overdue_steps(dialogue.step, dialogue.year, dialogue_service.deadlines(municipality),
                                               date.today()),
        errors=errors or {}, today=date.today(), **_context()), status


@bp.route("/styringsdialog/<int:dialogue_id>")
@login_required
def show(dialogue_id: int) -> Any:
    return _render(dialogue_id)


def _act(dialogue_id: int, action: Any, message: str) -> Any:
    try:
        with unit_of_work():
            action()
    except InvalidInput as exc:
        return _render(dialogue_id, exc.fields or {"form": exc.message}, 400)
    flash(message, "success")
    return redirect(url_for("dialogue.show", dialogue_id=dialogue_id))


@bp.route("/styringsdialog/<int:dialogue_id>/trin", methods=["POST"])
@login_required
def step(dialogue_id: int) -> Any:
    raw_on = request.form.get("on", "")
    try:
        on = date.fromisoformat(raw_on) if raw_on else date.today()
    except ValueError:
        return _render(dialogue_id, {"on": gettext("Skriv datoen som ÅÅÅÅ-MM-DD.")}, 400)
    return _act(dialogue_id, lambda: dialogue_service.take_step(
        current_actor(), dialogue_id, request.form.get("step", ""), on=on, note=request.form.get("note", "")),
        gettext("Trinnet er registreret."))


@bp.route("/styringsdialog/<int:dialogue_id>/moede", methods=["POST"])
@login_required
def meeting(dialogue_id: int) -> Any:
    data = {"starts_at": request.form.get("starts_at", "").replace("T", " "), "location": request.form.get("location", ""),
            "participants": request.form.get("participants", "")}
    return _act(dialogue_id, lambda: dialogue_service.plan_meeting(current_actor(), dialogue_id, data),
                gettext("Mødet er gemt."))


@bp.route("/styringsdialog/<int:dialogue_id>/dagsorden", methods=["POST"])
@login_required
def agenda(dialogue_id: int) -> Any:
    notes = {key[len("notes-"):]: value for key, value in request.form.items() if key.startswith("notes-")}
    return _act(dialogue_id, lambda: dialogue_service.update_agenda(current_actor(), dialogue_id, notes),
                gettext("Dagsordenen er gemt."))


@bp.route("/styringsdialog/<int:dialogue_id>/referat", methods=["POST"])
@login_required
def minutes(dialogue_id: int) -> Any:
    document_id = request.form.get("document", type=int) or -1
    return _act(dialogue_id, lambda: dialogue_service.attach_minutes(current_actor(), dialogue_id, document_id),
                gettext("Referatet er knyttet til mødet."))


@bp.route("/styringsdialog/<int:dialogue_id>/aftaler", methods=["POST"])
@login_required
def meeting_agreement(dialogue_id: int) -> Any:
    data = {name: request.form.get(name, "") for name in
            ("title", "description", "responsible_party", "first_due", "recurrence", "reminder_days")}
    return _act(dialogue_id, lambda: dialogue_service.add_meeting_agreement(current_actor(), dialogue_id, data),
                gettext("Aftalen er gemt som en forpligtelse."))


@bp.route("/styringsdialog/frister", methods=["GET", "POST"])
@login_required
def deadlines() -> Any:
    actor = current_actor()
    municipality = party_service.get_municipality()
    access.require(actor, "deadlines:manage", municipality)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            with unit_of_work():
                for step_value, month_day in request.form.items():
                    if step_value.startswith("deadline-") and month_day:
                        month, day = (int(x) for x in month_day.split("-")[-2:])
                        dialogue_service.set_deadline(actor, step_value[len("deadline-"):], month, day)
        except (InvalidInput, ValueError) as exc:
            errors = getattr(exc, "fields", {}) or {"form": gettext("Skriv fristerne som MM-DD.")}
        else:
            flash(gettext("Fristerne er gemt."), "success")
            return redirect(url_for("dialogue.deadlines"))
    return render_template("dialogue/deadlines.html", deadlines=dialogue_service.deadlines(municipality),
                           errors=errors, **_context()), 400 if errors else 200
