"""Agreements in the browser: list, create, read, edit with conflict resolution, history, approvals.

Editing is optimistic. The edit form carries the revision it was filled from
(`base_revision`), and only the fields whose values differ from that revision are sent to
`update_agreement`, so a save never touches what the editor left alone. When the service
reports a conflict, the page answers 409 with base, mine and theirs side by side and a form
whose base is the head at the time of the conflict, prefilled with everything the editor
typed (the conflicting text and the changes that merged cleanly but were not saved either):
nothing typed is lost, and a further change by someone else gives a new conflict.

Form field names, per section id `sid`: `section` (one hidden field per section in the
form), `heading-<sid>`, `text-<sid>`, `share_percent-<sid>` / `quota_per_year-<sid>`
(allocation figures), `steps-<sid>` (marks a trappemodel table) with rows
`step-<sid>-<n>-<department|year|step|share_percent|criteria|remove>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required
from markdown_it import MarkdownIt
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from portal import access
from portal.access import load
from portal.errors import Conflict, Forbidden, InvalidInput
from portal.models import Agreement, AgreementComment, AgreementType, PartyKind, User
from portal.services import agreements as agreement_service
from portal.services import parties as party_service
from portal.services.section_data import readable_section_data
from portal.uow import unit_of_work
from portal.web import current_actor, settings

bp = Blueprint("agreements", __name__)

# Section text is Markdown written by users: raw HTML in it is shown as text, never as HTML.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})

ALLOCATION_KEYS = ("share_percent", "quota_per_year")
STEP_FIELDS = ("department", "year", "step", "share_percent", "criteria")
_STEP_NAME = re.compile(r"^step-(?P<sid>[^-]+)-(?P<index>\d+)-(?P<field>[a-z_]+)$")


def render_markdown(text: str | None) -> Markup:
    return Markup(_MARKDOWN.render(text or ""))


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"render_markdown": render_markdown, "type_labels": agreement_service.TYPE_LABELS,
            "status_labels": agreement_service.STATUS_LABELS}


# --- reading form input -------------------------------------------------------------------------

def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _number(raw: str, key: str, errors: dict[str, str], *, low: float, high: float, message: str,
            whole: bool = False) -> int | float | None:
    """A number typed by a person (a decimal comma is fine); records `message` under `key` if it is not one."""
    try:
        value = float(raw.strip().replace(",", ".").replace(" ", ""))
    except ValueError:
        value = float("nan")
    if not (low <= value <= high) or (whole and not value.is_integer()):
        errors[key] = message
        return None
    return int(value) if value.is_integer() else value


def form_values(section: Mapping[str, Any]) -> dict[str, Any]:
    """What the edit form shows for a section: every value as the string in its input."""
    data = readable_section_data(section.get("kind"), section.get("data"))
    values: dict[str, Any] = {"heading": _text(section.get("heading", "")), "text": _text(section.get("text") or "")}
    if section.get("kind") == "allocation":
        values["figures"] = {key: _text(data[key]) for key in ALLOCATION_KEYS if key in data} or {"share_percent": ""}
    elif section.get("kind") == "trappemodel":
        values["steps"] = [{"department": _text(row.get("department_id")), "year": _text(row.get("year")),
                            "step": _text(row.get("step")), "share_percent": _text(row.get("share_percent")),
                            "criteria": _text(row.get("criteria"))}
                           for row in data.get("steps") or [] if isinstance(row, dict)]
    return values


def _submitted_rows(form: MultiDict[str, str], sid: str) -> list[dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for name in form:
        match = _STEP_NAME.match(name)
        if match and match["sid"] == sid:
            rows.setdefault(int(match["index"]), {})[match["field"]] = form.get(name, "")
    result = []
    for index in sorted(rows):
        if rows[index].get("remove"):
            continue
        row = {name: rows[index].get(name, "").replace("\r\n", "\n").strip() for name in STEP_FIELDS}
        if any(row.values()):  # the blank row at the end of the table is for adding one
            result.append(row)
    return result


def _submitted(form: MultiDict[str, str], sid: str, kind: str) -> dict[str, Any]:
    """The values the posted form holds for one section: only the fields it has."""
    values: dict[str, Any] = {}
    if f"heading-{sid}" in form:
        values["heading"] = form.get(f"heading-{sid}", "").strip()
    if f"text-{sid}" in form:
        values["text"] = form.get(f"text-{sid}", "").replace("\r\n", "\n")
    if kind == "allocation":
        figures = {key: form.get(f"{key}-{sid}", "").strip() for key in ALLOCATION_KEYS if f"{key}-{sid}" in form}
        if figures:
            values["figures"] = figures
    if kind == "trappemodel" and f"steps-{sid}" in form:
        values["steps"] = _submitted_rows(form, sid)
    return values


def _figures_data(sid: str, figures: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, raw in figures.items():
        if key == "share_percent":
            data[key] = _number(raw, f"{key}-{sid}", errors, low=0, high=100,
                                message=gettext("Skriv andelen som et tal mellem 0 og 100."))
        else:
            data[key] = _number(raw, f"{key}-{sid}", errors, low=0, high=1_000_000, whole=True,
                                message=gettext("Skriv antallet af boliger som et helt tal."))
    return data


def _steps_data(sid: str, rows: list[dict[str, str]], labels: dict[str, str],
               errors: dict[str, str]) -> list[dict[str, Any]]:
    steps = []
    for position, row in enumerate(rows):
        key = f"step-{sid}-{position}-"
        if row["department"] not in labels:
            errors[key + "department"] = gettext("Vælg afdelingen i række %(n)s.", n=position + 1)
        steps.append({
            "department_id": int(row["department"]) if row["department"].isdigit() else None,
            "department": labels.get(row["department"], ""),
            "year": _number(row["year"], key + "year", errors, low=1900, high=2200, whole=True,
                            message=gettext("Skriv et årstal i række %(n)s, fx 2026.", n=position + 1)),
            "step": _number(row["step"], key + "step", errors, low=0, high=99, whole=True,
                            message=gettext("Skriv trinnets nummer i række %(n)s.", n=position + 1)),
            "share_percent": _number(row["share_percent"], key + "share_percent", errors, low=0, high=100,
                                     message=gettext("Skriv andelen i række %(n)s som et tal mellem 0 og 100.",
                                                     n=position + 1)),
            "criteria": row["criteria"],
        })
    return steps


def read_edit_form(form: MultiDict[str, str], base: dict[str, Any], labels: dict[str, str]
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, str]]:
    """(changes for update_agreement, the values to show again, field errors).

    A field is a change only when its value differs from what the base revision shows in the
    same input, so sections and fields the editor did not touch are never sent.
    """
    changes: dict[str, dict[str, Any]] = {}
    values: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for sid in dict.fromkeys(form.getlist("section")):
        section = base["sections"].get(sid)
        if section is None:
            continue
        shown, posted = form_values(section), _submitted(form, sid, section.get("kind", "text"))
        values[sid] = {**shown, **posted}
        fields: dict[str, Any] = {}
        if "heading" in posted and posted["heading"] != shown["heading"]:
            if not posted["heading"]:
                errors[f"heading-{sid}"] = gettext("Skriv en overskrift.")
            fields["heading"] = posted["heading"]
        if "text" in posted and posted["text"] != shown["text"]:
            fields["text"] = posted["text"]
        # Built on the well-formed part of the stored data, so saving the form repairs a section
        # that holds data stored before it was checked.
        stored = readable_section_data(section.get("kind"), section.get("data"))
        if "figures" in posted and posted["figures"] != shown.get("figures"):
            fields["data"] = {**stored, **_figures_data(sid, posted["figures"], errors)}
        if "steps" in posted and posted["steps"] != shown.get("steps"):
            known = {_text(row.get("department_id")): str(row.get("department", "")) for row in stored.get("steps", [])}
            fields["data"] = {**stored, "steps": _steps_data(sid, posted["steps"], {**known, **labels}, errors)}
        if fields:
            changes[sid] = fields
    return changes, values, errors


# --- loading and presenting -----------------------------------------------------------------------

def _department_groups(agreement: Agreement) -> list[tuple[str, list[tuple[str, str]]]]:
    """The departments a trappemodel row may name: those of the agreement's organisations."""
    groups = []
    for link in sorted(agreement.parties, key=lambda p: p.party.name):
        if link.party.kind is PartyKind.ORGANISATION:
            groups.append((link.party.name, [(str(d.id), f"{d.lbf_number} {d.name}")
                                             for d in sorted(link.party.departments, key=lambda d: d.lbf_number)]))
    return groups


def _department_labels(groups: list[tuple[str, list[tuple[str, str]]]]) -> dict[str, str]:
    return {value: label for _, options in groups for value, label in options}


def _creating_parties(actor: User | None) -> list[Any]:
    """The actor's own parties on whose behalf it may start an agreement."""
    if actor is None:
        return []
    return [m.party for m in actor.memberships if access.can(actor, "agreement:create", m.party)]


Thread = list[AgreementComment]


def _threads(agreement: Agreement, sections: list[dict[str, Any]]) -> tuple[dict[str, list[Thread]], dict[int, Markup]]:
    """Comments per section as threads (a top-level comment and every reply under it, in order),
    and each suggestion as a word diff against the section's current text."""
    comments = agreement_service.comments_of(agreement)
    by_id = {c.id: c for c in comments}
    texts = {s["id"]: s.get("text") or "" for s in sections}
    threads: dict[str, list[Thread]] = {}
    roots: dict[int, list[AgreementComment]] = {}
    for comment in comments:
        root = comment
        while root.parent_id is not None and root.parent_id in by_id:
            root = by_id[root.parent_id]
        if root is comment:
            roots[comment.id] = [comment]
            threads.setdefault(comment.section_id, []).append(roots[comment.id])
        else:
            roots.setdefault(root.id, [root]).append(comment)
    diffs = {c.id: Markup(agreement_service.word_diff(texts.get(c.section_id, ""), c.suggestion))
             for c in comments if c.suggestion is not None}
    return threads, diffs


def _render_show(agreement: Agreement, *, errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None, status: int = 200) -> Any:
    actor = current_actor()
    revision = agreement_service.get_revision(agreement)
    sections = agreement_service.sections_of(revision)
    threads, suggestion_diffs = _threads(agreement, sections)
    approvals = agreement_service.current_approvals(agreement)
    return render_template(
        "agreements/show.html", agreement=agreement, revision=revision, sections=sections, threads=threads,
        suggestion_diffs=suggestion_diffs, approvals_by_party={a.party_id: a for a in approvals},
        presence=agreement_service.presence_by_section(agreement, actor), errors=errors or {},
        values=values or {}), status


def _render_edit(agreement: Agreement, base: Any, values: dict[str, dict[str, Any]] | None = None,
                 errors: dict[str, str] | None = None, note: str = "", status: int = 200) -> Any:
    sections = agreement_service.sections_of(base)
    shown = {s["id"]: form_values(s) for s in sections}
    for sid, posted in (values or {}).items():
        if sid in shown:
            shown[sid] = posted
    return render_template(
        "agreements/edit.html", agreement=agreement, base=base, sections=sections, values=shown,
        errors=errors or {}, note=note, departments=_department_groups(agreement),
        presence=agreement_service.presence_by_section(agreement, current_actor())), status


def _conflict_items(base: dict[str, Any], head: dict[str, Any], changes: dict[str, dict[str, Any]],
                    exc: agreement_service.AgreementConflict) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """What the conflict page shows per section the editor changed, and the values its form holds.

    Conflicting fields get base / mine / theirs side by side with the editor's value in the input.
    Sections that merged cleanly keep the merged values (they differ from the head by exactly the
    editor's changes). A non-conflicting field of a conflicting section is shown side by side too
    when someone else also changed it, since only the service knows how the two would merge.
    """
    clashes: dict[tuple[str, str | None], dict[str, Any]] = {}
    for conflict in exc.conflicts:
        clashes[(conflict["section_id"], conflict.get("field"))] = conflict
    conflicting = {c["section_id"] for c in exc.conflicts}
    items: list[dict[str, Any]] = []
    form: dict[str, dict[str, Any]] = {}
    order = [sid for sid in head["order"] if sid in changes] + [sid for sid in changes if sid not in head["sections"]]
    for sid in order:
        fields = changes[sid]
        base_section = base["sections"].get(sid, {})
        head_section = head["sections"].get(sid)
        if head_section is None:
            removed = clashes.get((sid, None)) or {}
            items.append({"id": sid, "heading": base_section.get("heading", ""),
                          "kind": base_section.get("kind", "text"), "removed": True,
                          "reason": removed.get("reason", ""), "mine": fields.get("text", base_section.get("text", ""))})
            continue
        if sid in conflicting:
            mine_section = {**head_section, **fields}
            entry = {"id": sid, "heading": head_section["heading"], "kind": head_section.get("kind", "text"),
                     "removed": False, "merged": False, "fields": [], "names": list(fields)}
            for name in fields:
                clash = clashes.get((sid, name))
                theirs_changed = head_section.get(name) != base_section.get(name)
                if clash is not None or theirs_changed:
                    entry["fields"].append({"name": name, "base": base_section.get(name), "mine": fields[name],
                                            "theirs": head_section.get(name), "clash": clash is not None})
            items.append(entry)
            form[sid] = {**form_values(head_section), **_only(form_values(mine_section), fields)}
        elif sid in exc.unsaved:
            merged = exc.unsaved[sid]
            items.append({"id": sid, "heading": merged["heading"], "kind": merged.get("kind", "text"),
                          "removed": False, "merged": True, "fields": [], "names": list(fields)})
            form[sid] = {**form_values(head_section), **_only(form_values(merged), fields)}
        # Otherwise the editor's change equals the other one: nothing is left to save.
    return items, form


def _only(values: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The form values of the changed fields (`data` is shown as figures or steps)."""
    keep = set(fields) - {"data"} | ({"figures", "steps"} if "data" in fields else set())
    return {key: value for key, value in values.items() if key in keep}


def _render_conflict(agreement: Agreement, base: Any, changes: dict[str, dict[str, Any]],
                     values: dict[str, dict[str, Any]], note: str, exc: agreement_service.AgreementConflict) -> Any:
    if not exc.conflicts and not exc.unsaved:
        # Another save took the same revision number at the same moment: keep everything the
        # editor typed, on the same base, and let them save again (which then merges).
        return _render_edit(agreement, base, values, {"form": gettext(
            "En anden gemte aftalen i samme øjeblik. Dine ændringer er bevaret herunder; gem igen.")}, note, 409)
    head = agreement_service.get_revision(agreement, exc.head)
    items, form = _conflict_items(base.content, head.content, changes, exc)
    return render_template(
        "agreements/conflict.html", agreement=agreement, base=base, head=head, items=items, values=form,
        message=exc.message, note=note, errors={}, departments=_department_groups(agreement),
        presence=agreement_service.presence_by_section(agreement, current_actor())), 409


# --- pages ----------------------------------------------------------------------------------------

@bp.route("/aftaler")
@login_required
def index() -> Any:
    actor = current_actor()
    return render_template("agreements/index.html", agreements=agreement_service.list_agreements(actor),
                           invitations=agreement_service.list_invitations(actor),
                           creating_parties=_creating_parties(actor))


def _organisation_choices() -> list[Any]:
    return [p for p in party_service.list_organisations(current_actor()) if p.active]


@bp.route("/aftaler/ny", methods=["GET", "POST"])
@login_required
def create() -> Any:
    actor = current_actor()
    if not _creating_parties(actor):
        raise Forbidden()
    organisations = _organisation_choices()
    if request.method == "GET":
        chosen = [str(organisations[0].id)] if len(organisations) == 1 else []
        values = {"title": "", "type": AgreementType.STRATEGISK.value, "organisations": chosen,
                  "term_start": "", "term_end": ""}
        return render_template("agreements/new.html", values=values, errors={}, organisations=organisations)
    values = {name: request.form.get(name, "") for name in ("title", "type", "term_start", "term_end")}
    values["organisations"] = request.form.getlist("organisations")
    try:
        with unit_of_work():
            agreement = agreement_service.create_agreement(actor, values)
    except InvalidInput as exc:
        return render_template("agreements/new.html", values=values, errors=exc.fields or {"form": exc.message},
                               organisations=organisations), 400
    flash(gettext("Aftalen er oprettet som kladde. Skriv afsnittene, og start forhandlingen, når udkastet er klar."),
          "success")
    return redirect(url_for("agreements.show", agreement_id=agreement.id))


@bp.route("/aftaler/<int:agreement_id>")
@login_required
def show(agreement_id: int) -> Any:
    actor = current_actor()
    agreement = load(actor, Agreement, agreement_id, "agreement:open")
    if not access.can(actor, "agreement:read", agreement):
        return render_template("agreements/invitation.html", agreement=agreement,
                               invitations=agreement_service.invitation_of(actor, agreement))
    return _render_show(agreement)


@bp.route("/aftaler/<int:agreement_id>/invitation", methods=["POST"])
@login_required
def respond(agreement_id: int) -> Any:
    """Accept or decline taking part, for the actor's invited parties."""
    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        raise InvalidInput(gettext("Vælg at acceptere eller afslå."))
    accept = answer == "accept"
    with unit_of_work():
        agreement_service.respond_to_invitation(current_actor(), agreement_id, accept=accept)
    if accept:
        flash(gettext("I er nu part i aftalen."), "success")
        return redirect(url_for("agreements.show", agreement_id=agreement_id))
    flash(gettext("I har afslået at være part i aftalen."), "success")
    return redirect(url_for("agreements.index"))


@bp.route("/aftaler/<int:agreement_id>/rediger", methods=["GET", "POST"])
@login_required
def edit(agreement_id: int) -> Any:
    actor = current_actor()
    agreement = load(actor, Agreement, agreement_id, "agreement:update")
    if request.method == "GET":
        return _render_edit(agreement, agreement_service.get_revision(agreement))
    base_number = _int(request.form.get("base_revision"))
    if base_number is None or not 1 <= base_number <= agreement.head:
        raise InvalidInput(gettext("Formularen mangler den revision, du redigerede ud fra. Genindlæs siden."))
    base = agreement_service.get_revision(agreement, base_number)
    note = request.form.get("note", "").strip()
    labels = _department_labels(_department_groups(agreement))
    changes, values, errors = read_edit_form(request.form, base.content, labels)
    if errors:
        return _render_edit(agreement, base, values, errors, note, 400)
    if not changes:
        flash(gettext("Du havde ikke ændret noget, så der er ikke gemt en ny revision."), "info")
        return redirect(url_for("agreements.show", agreement_id=agreement_id))
    try:
        with unit_of_work():
            revision = agreement_service.update_agreement(actor, agreement_id, changes, base_revision=base_number,
                                                          note=note)
    except agreement_service.AgreementConflict as exc:
        return _render_conflict(agreement, base, changes, values, note, exc)
    except InvalidInput as exc:
        return _render_edit(agreement, base, values, exc.fields or {"form": exc.message}, note, 400)
    if revision is None:
        flash(gettext("Ændringerne var allerede gemt af en anden, så der er ikke gemt en ny revision."), "info")
    else:
        flash(gettext("Revision %(n)s er gemt.", n=revision.number), "success")
    return redirect(url_for("agreements.show", agreement_id=agreement_id))


@bp.route("/aftaler/<int:agreement_id>/tilstede", methods=["POST"])
@login_required
def presence(agreement_id: int) -> Any:
    """Heartbeat from the edit page: the actor has `section_id` open; answers who else has."""
    actor = current_actor()
    agreement = load(actor, Agreement, agreement_id, "agreement:update")
    section_id = request.form.get("section_id", "").strip()
    if not section_id or len(section_id) > 40:
        raise InvalidInput(fields={"section_id": gettext("Angiv afsnittet.")})
    with unit_of_work():
        others = agreement_service.touch_presence(actor, agreement_id, section_id)
    return jsonify({"section_id": section_id, "editing": others,
                    "sections": agreement_service.presence_by_section(agreement, actor)})


@bp.route("/aftaler/<int:agreement_id>/historik")
@login_required
def history(agreement_id: int) -> Any:
    agreement = load(current_actor(), Agreement, agreement_id, "agreement:read")
    revisions = list(reversed(agreement.revisions))
    changed = {r.number: [r.content["sections"][sid]["heading"] if sid in r.content["sections"] else None
                          for sid in r.changed_sections] for r in revisions}
    return render_template("agreements/history.html", agreement=agreement, revisions=revisions, changed=changed,
                           approvals=agreement_service.all_approvals(agreement))


@bp.route("/aftaler/<int:agreement_id>/sammenlign")
@login_required
def compare(agreement_id: int) -> Any:
    agreement = load(current_actor(), Agreement, agreement_id, "agreement:read")
    new = request.args.get("til", type=int) or agreement.head
    old = request.args.get("fra", type=int) or max(new - 1, 1)
    differences = agreement_service.compare_revisions(agreement, old, new)
    kinds = {sid: section.get("kind", "text") for number in (old, new)
             for sid, section in agreement_service.get_revision(agreement, number).content["sections"].items()}
    return render_template("agreements/compare.html", agreement=agreement, old=old, new=new,
                           differences=differences, kinds=kinds)


@bp.route("/aftaler/<int:agreement_id>/revisioner/<int:number>/gendan", methods=["POST"])
@login_required
def restore(agreement_id: int, number: int) -> Any:
    with unit_of_work():
        revision = agreement_service.restore_revision(current_actor(), agreement_id, number)
    flash(gettext("Teksten fra revision %(old)s er gemt som revision %(new)s.", old=number, new=revision.number),
          "success")
    return redirect(url_for("agreements.show", agreement_id=agreement_id))


@bp.route("/aftaler/<int:agreement_id>/godkend", methods=["POST"])
@login_required
def approve(agreement_id: int) -> Any:
    actor = current_actor()
    agreement = load(actor, Agreement, agreement_id, "agreement:approve")
    number = _int(request.form.get("revision"))
    if number is None:
        return _render_show(agreement, errors={"form": gettext("Angiv revisionen, du godkender.")}, status=400)
    try:
        with unit_of_work():
            agreement_service.approve(actor, agreement_id, number)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(gettext("Du har godkendt revision %(n)s på din parts vegne.", n=number), "success")
    return redirect(url_for("agreements.show", agreement_id=agreement_id, _anchor="godkendelser"))


@bp.route("/aftaler/<int:agreement_id>/forhandling", methods=["POST"])
@login_required
def negotiate(agreement_id: int) -> Any:
    with unit_of_work():
        agreement_service.start_negotiation(current_actor(), agreement_id)
    flash(gettext("Aftalen er nu under forhandling."), "success")
    return redirect(url_for("agreements.show", agreement_id=agreement_id))


@bp.route("/aftaler/<int:agreement_id>/afsnit", methods=["POST"])
@login_required
def add_section(agreement_id: int) -> Any:
    actor = current_actor()
    agreement = load(actor, Agreement, agreement_id, "agreement:update")
    heading = request.form.get("heading", "")
    base_number = _int(request.form.get("base_revision")) or agreement.head
    try:
        with unit_of_work():
            section_id = agreement_service.add_section(actor, agreement_id, heading, base_revision=base_number)
    except InvalidInput as exc:
        errors = {"new-section-heading": exc.fields.get("heading", exc.message)}
        return _render_show(agreement, errors=errors, values={"new-section-heading": heading}, status=400)
    flash(gettext("Afsnittet er tilføjet. Skriv teksten her."), "success")
    return redirect(url_for("agreements.edit", agreement_id=agreement_id, _anchor=f"afsnit-{section_id}"))


@bp.route("/aftaler/<int:agreement_id>/kommentarer", methods=["POST"])
@login_required
def add_comment(agreement_id: int) -> Any:
    actor = current_actor()
    agreement = load(actor, Agreement, agreement_id, "agreement:comment")
    section_id = request.form.get("section_id", "")
    body = request.form.get("body", "")
    parent_id = _int(request.form.get("parent_id"))
    suggestion = request.form.get("suggestion") if "suggestion" in request.form else None
    # Errors are shown beside the form that was sent: a reply, a suggestion or a new comment.
    key = f"reply-{parent_id}" if parent_id else (f"suggestion-{section_id}" if suggestion is not None
                                                  else f"comment-{section_id}")
    try:
        with unit_of_work():
            comment = agreement_service.add_comment(actor, agreement_id, section_id, body, parent_id=parent_id,
                                                    suggestion=suggestion)
    except InvalidInput as exc:
        values = {key: body, **({f"suggestion-text-{section_id}": suggestion} if suggestion is not None else {})}
        return _render_show(agreement, errors={key: next(iter(exc.fields.values()), exc.message)}, values=values,
                            status=400)
    flash(gettext("Forslaget er sendt til den anden part.") if suggestion is not None
          else gettext("Kommentaren er gemt."), "success")
    return redirect(url_for("agreements.show", agreement_id=agreement_id, _anchor=f"kommentar-{comment.id}"))


@bp.route("/kommentarer/<int:comment_id>/loes", methods=["POST"])
@login_required
def resolve_comment(comment_id: int) -> Any:
    with unit_of_work():
        comment = agreement_service.resolve_comment(current_actor(), comment_id)
    flash(gettext("Kommentaren er markeret som løst."), "success")
    return redirect(url_for("agreements.show", agreement_id=comment.agreement_id, _anchor=f"kommentar-{comment.id}"))


def _decide(comment_id: int, *, accept: bool) -> Any:
    try:
        with unit_of_work():
            revision = agreement_service.decide_suggestion(current_actor(), comment_id, accept=accept)
    except agreement_service.AgreementConflict:
        flash(gettext("Forslaget kan ikke indarbejdes, fordi de samme linjer er ændret, siden det blev skrevet. "
                      "Forslaget er stadig åbent: redigér afsnittet, eller afvis forslaget."), "error")
    except InvalidInput as exc:
        flash(exc.message, "error")
    else:
        if not accept:
            flash(gettext("Forslaget er afvist."), "success")
        elif revision is None:
            flash(gettext("Forslaget er accepteret; teksten var allerede den foreslåede."), "success")
        else:
            flash(gettext("Forslaget er accepteret og gemt som revision %(n)s.", n=revision.number), "success")
    return redirect(url_for("agreements.show", agreement_id=load(current_actor(), AgreementComment, comment_id, "comment:read").agreement_id,
                            _anchor=f"kommentar-{comment_id}"))


@bp.route("/kommentarer/<int:comment_id>/accepter", methods=["POST"])
@login_required
def accept_suggestion(comment_id: int) -> Any:
    return _decide(comment_id, accept=True)


@bp.route("/kommentarer/<int:comment_id>/afvis", methods=["POST"])
@login_required
def reject_suggestion(comment_id: int) -> Any:
    return _decide(comment_id, accept=False)


@bp.route("/aftaler/<int:agreement_id>/eksport", methods=["POST"])
@login_required
def export(agreement_id: int) -> Any:
    """Render the approved agreement as a PDF, archived as a document of kind `aftale`."""
    try:
        with unit_of_work():
            document = agreement_service.export_pdf(current_actor(), agreement_id,
                                                    max_size=settings().max_upload_bytes)
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("agreements.show", agreement_id=agreement_id))
    flash(gettext("Aftalen er gemt som PDF i dokumentarkivet."), "success")
    return redirect(url_for("documents.show", document_id=document.id))
