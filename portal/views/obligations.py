"""Obligations in the browser: mine, everyone's for the municipality, one occurrence, the allocation log.

Each page parses its input, asks `portal.services.obligations` (or `allocation`) and renders;
who may see or do what is decided by the services through `portal.access`. An occurrence the
actor may not read answers 404 exactly like a missing one.

Reporting an occurrence done may carry a new file: it is stored as a `bilag` of the responsible
party (year of the due date, visible to the dialogue's parties) in the same unit of work as the
report, so a refused report leaves no stray document behind.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import login_required

from portal import access
from portal.access import load
from portal.errors import (
    InvalidInput,
    InvalidUpload,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from portal.i18n import N_
from portal.models import Agreement, Document, Occurrence, OccurrenceStatus, Party
from portal.services import agreements as agreement_service
from portal.services import allocation as allocation_service
from portal.services import documents as document_service
from portal.services import obligations as obligation_service
from portal.services import parties as party_service
from portal.services.audit import list_events
from portal.services.uploads import check_declared_size
from portal.uow import unit_of_work
from portal.web import current_actor, form_data, settings

bp = Blueprint("obligations", __name__)

HISTORY_LABELS = {
    "obligation.create": N_("Forpligtelsen er oprettet"),
    "obligation.in_progress": N_("Markeret som i gang"),
    "obligation.reported_done": N_("Meldt udført"),
    "obligation.verified": N_("Godkendt"),
    "obligation.rejected": N_("Afvist – skal meldes igen"),
    "obligation.waived": N_("Frafaldet"),
}
OBLIGATION_FIELDS = ("title", "description", "section", "responsible_party", "verifying_party", "first_due",
                     "recurrence", "ends_on", "reminder_days")
FILTER_ARGS = ("part", "aftale", "status", "fra", "til")
ALLOCATION_FIELDS = ("department", "year", "quarter", "vacant", "offered", "taken")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"status_labels": obligation_service.STATUS_LABELS,
            "recurrence_labels": obligation_service.RECURRENCE_LABELS, "history_labels": HISTORY_LABELS}


@bp.app_context_processor
def _calendar_helper() -> dict[str, Any]:
    # The profile page (another blueprint) includes obligations/_calendar.html, which asks this lazily.
    def has_calendar_feed() -> bool:
        actor = current_actor()
        return actor is not None and obligation_service.has_calendar_feed(actor)

    return {"has_calendar_feed": has_calendar_feed}


# --- reading input ----------------------------------------------------------------------------

def _date_arg(name: str, errors: dict[str, str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = gettext("Skriv datoen som ÅÅÅÅ-MM-DD.")
        return None


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


def _filters() -> tuple[obligation_service.ObligationFilter, dict[str, str]]:
    """The list filters from the query string, and field errors for what could not be read."""
    errors: dict[str, str] = {}
    status = request.args.get("status", "").strip()
    if status and status != "overdue" and status not in OccurrenceStatus._value2member_map_:
        errors["status"] = gettext("Vælg en status fra listen.")
        status = ""
    due_from, due_to = _date_arg("fra", errors), _date_arg("til", errors)
    if due_from and due_to and due_from > due_to:
        errors["til"] = gettext("Slutdatoen skal ligge efter startdatoen.")
    party_id = _int_arg("part")
    if party_id is not None:
        load(current_actor(), Party, party_id, "obligations:list")
    return obligation_service.ObligationFilter(
        party_id=party_id, agreement_id=_int_arg("aftale"), status=status or None,
        due_from=due_from, due_to=due_to), errors


def _positive_int(raw: str, field: str, message: str, errors: dict[str, str]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        errors[field] = message
        return None
    return int(raw)


def _evidence_from_form(values: dict[str, str]) -> tuple[list[dict[str, Any]], int | None]:
    """The existing document (at a page) and the link the report form names, and the page of an
    uploaded file; the service checks that the document is readable and the page exists."""
    errors: dict[str, str] = {}
    page_message = gettext("Skriv sidetallet som et helt tal, fx 4.")
    document_id = _positive_int(values["document_id"], "document_id", gettext("Vælg et dokument fra listen."), errors)
    page = _positive_int(values["page"], "page", page_message, errors)
    file_page = _positive_int(values["file_page"], "file_page", page_message, errors)
    if page is not None and document_id is None and not errors:
        errors["document_id"] = gettext("Vælg det dokument, siden hører til.")
    if errors:
        raise InvalidInput(fields=errors)
    evidence: list[dict[str, Any]] = []
    if document_id is not None:
        evidence.append({"document_id": document_id, "page": page})
    if values["url"].strip():
        evidence.append({"url": values["url"].strip()})
    return evidence, file_page


# --- presenting -------------------------------------------------------------------------------

def _source(occurrence: Occurrence) -> dict[str, Any]:
    """Where the obligation comes from: the agreement and its section, when the actor may read them."""
    obligation = occurrence.obligation
    if obligation.agreement_id is None:
        return {"meeting": obligation.meeting_id is not None}
    try:
        agreement = load(current_actor(), Agreement, obligation.agreement_id, "agreement:read")
    except NotFound:
        return {"agreement_id": obligation.agreement_id, "agreement": None}
    section = None
    if obligation.section_id:
        section = agreement_service.get_revision(agreement).content["sections"].get(obligation.section_id)
    return {"agreement_id": agreement.id, "agreement": agreement,
            "section_id": obligation.section_id, "section_heading": section["heading"] if section else None}


def _evidence_items(occurrence: Occurrence) -> list[dict[str, Any]]:
    """Each piece of evidence with the document it points to, if the actor may read that document."""
    items = []
    for evidence in occurrence.evidence:
        document = None
        if evidence.document_id is not None:
            try:
                document = load(current_actor(), Document, evidence.document_id, "document:read")
            except NotFound:
                document = None
        items.append({"evidence": evidence, "document": document})
    return items


def _available(occurrence: Occurrence) -> dict[str, bool]:
    """Which workflow forms fit the occurrence's status (the permission is asked in the template)."""
    status = occurrence.status
    return {"start": status in (OccurrenceStatus.OPEN, OccurrenceStatus.REJECTED),
            "report": status in obligation_service.OPEN_STATES,
            "verify": status is OccurrenceStatus.REPORTED_DONE,
            "waive": status in (*obligation_service.OPEN_STATES, OccurrenceStatus.REPORTED_DONE)}


def _document_choices(occurrence: Occurrence) -> list[tuple[int, list[Any]]]:
    """The responsible party's documents the actor reads, by year, for pointing at one as evidence."""
    actor = current_actor()
    if not access.can(actor, "obligation:report", occurrence.obligation):
        return []
    documents = document_service.list_documents(actor, occurrence.obligation.responsible_party_id,
                                                document_service.DocumentFilter())
    by_year: dict[int, list[Any]] = {}
    for document in documents:
        by_year.setdefault(document.year, []).append(document)
    return list(by_year.items())


def _render_show(occurrence: Occurrence, *, errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None, status: int = 200) -> Any:
    obligation = occurrence.obligation
    events = list_events(object_type="obligation", object_id=obligation.id, limit=200)
    due_dates = {o.id: o.due_date for o in obligation.occurrences}
    return render_template(
        "obligations/show.html", occurrence=occurrence, obligation=obligation, today=date.today(),
        source=_source(occurrence), evidence=_evidence_items(occurrence), events=events, due_dates=due_dates,
        available=_available(occurrence), documents=_document_choices(occurrence), errors=errors or {},
        values=values or {}), status


# --- my obligations and everyone's --------------------------------------------------------------

@bp.route("/forpligtelser")
@login_required
def mine() -> Any:
    actor = current_actor()
    return render_template("obligations/mine.html", overview=obligation_service.my_overview(actor),
                           today=date.today(), has_parties=access.belongs_to_a_party(actor),
                           may_see_all=access.can(actor, "party:list", party_service.find_municipality()))


def _require_overview() -> Any:
    """Everyone's obligations are the municipality's overview of the parties it supervises."""
    actor = current_actor()
    access.require(actor, "party:list", party_service.get_municipality())
    return actor


@bp.route("/forpligtelser/alle")
@login_required
def overview() -> Any:
    actor = _require_overview()
    filters, errors = _filters()
    occurrences = [] if errors else obligation_service.list_occurrences(actor, filters)
    parties = [party_service.get_municipality(), *party_service.list_organisations(actor)]
    return render_template(
        "obligations/overview.html", occurrences=occurrences, filters=filters, errors=errors, today=date.today(),
        party_options=[("", gettext("Alle parter")), *((str(p.id), p.name) for p in parties)],
        agreement_options=[("", gettext("Alle aftaler")),
                           *((str(a.id), a.title) for a in agreement_service.list_agreements(actor))],
        status_options=[("", gettext("Alle")), ("overdue", gettext("Overskredet")),
                        *((s.value, gettext(label)) for s, label in obligation_service.STATUS_LABELS.items())],
        csv_url=url_for("obligations.export", **{k: v for k, v in request.args.items() if k in FILTER_ARGS})), \
        400 if errors else 200


@bp.route("/forpligtelser/alle.csv")
@login_required
def export() -> Any:
    actor = _require_overview()
    filters, errors = _filters()
    if errors:
        raise InvalidInput(" ".join(errors.values()), fields=errors)
    body = obligation_service.export_csv(obligation_service.list_occurrences(actor, filters))
    # The byte order mark makes spreadsheet programs read the Danish letters as UTF-8.
    filename = f"forpligtelser-{date.today().isoformat()}.csv"
    return Response("\ufeff" + body, mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


# --- one occurrence and its workflow ------------------------------------------------------------

@bp.route("/forpligtelser/<int:occurrence_id>")
@login_required
def show(occurrence_id: int) -> Any:
    return _render_show(load(current_actor(), Occurrence, occurrence_id, "obligation:read"))


@bp.route("/forpligtelser/<int:occurrence_id>/meld-udfoert", methods=["POST"])
@login_required
def report(occurrence_id: int) -> Any:
    actor = current_actor()
    # Refuse before a byte of an attached file is stored.
    occurrence = load(actor, Occurrence, occurrence_id, "obligation:report")
    values = form_data("comment", "document_id", "page", "file_page", "url")
    file = request.files.get("file")
    try:
        evidence, file_page = _evidence_from_form(values)
        with unit_of_work():
            if file is not None and file.filename:
                check_declared_size(file.content_length or None, settings().max_upload_bytes)
                document = _store_evidence_file(occurrence, file)
                evidence.insert(0, {"document_id": document.id, "page": file_page})
            obligation_service.report_done(actor, occurrence_id, comment=values["comment"], evidence=evidence)
    except (InvalidUpload, PayloadTooLarge, UnsupportedMediaType) as exc:
        return _render_show(occurrence, errors={"file": exc.message}, values=values, status=exc.status)
    except NotFound:
        # The occurrence was readable above, so what is missing is the chosen document.
        return _render_show(occurrence, errors={"document_id": gettext(
            "Dokumentet findes ikke, eller du har ikke adgang til det.")}, values=values, status=400)
    except InvalidInput as exc:
        return _render_show(occurrence, errors=exc.fields or {"form": exc.message}, values=values, status=400)
    flash(gettext("Forpligtelsen er meldt udført. %(party)s får den til godkendelse.",
                  party=occurrence.obligation.verifying_party.name), "success")
    return redirect(url_for("obligations.show", occurrence_id=occurrence_id))


def _store_evidence_file(occurrence: Occurrence, file: Any) -> Any:
    obligation = occurrence.obligation
    # Stored data, so Danish whatever the reporter's interface language.
    title = f"Dokumentation: {obligation.title} (frist {occurrence.due_date.strftime('%d-%m-%Y')})"
    return document_service.upload_document(
        current_actor(), obligation.responsible_party_id,
        {"kind": "bilag", "year": str(occurrence.due_date.year), "visibility": "dialogue", "title": title[:300]},
        file.stream, file.filename or "", max_size=settings().max_upload_bytes)


def _transition(occurrence_id: int, required: str, action: Any, message: str, *args: Any,
                error_field: str | None = None) -> Any:
    """One workflow step: 404/403 before the form is looked at, then the service's own checks."""
    actor = current_actor()
    occurrence = load(actor, Occurrence, occurrence_id, required)
    try:
        with unit_of_work():
            action(actor, occurrence_id, *args)
    except InvalidInput as exc:
        if error_field and "reason" in exc.fields:
            errors = {error_field: exc.fields["reason"]}
        else:
            errors = {"form": exc.message}
        values = {error_field: args[0]} if error_field and args else {}
        return _render_show(occurrence, errors=errors, values=values, status=400)
    flash(message, "success")
    return redirect(url_for("obligations.show", occurrence_id=occurrence_id))


@bp.route("/forpligtelser/<int:occurrence_id>/paabegynd", methods=["POST"])
@login_required
def start(occurrence_id: int) -> Any:
    return _transition(occurrence_id, "obligation:report", obligation_service.start,
                       gettext("Forpligtelsen er markeret som i gang."))


@bp.route("/forpligtelser/<int:occurrence_id>/godkend", methods=["POST"])
@login_required
def verify(occurrence_id: int) -> Any:
    return _transition(occurrence_id, "obligation:verify", obligation_service.verify,
                       gettext("Opfyldelsen er godkendt."))


@bp.route("/forpligtelser/<int:occurrence_id>/afvis", methods=["POST"])
@login_required
def reject(occurrence_id: int) -> Any:
    return _transition(occurrence_id, "obligation:verify", obligation_service.reject,
                       gettext("Opfyldelsen er afvist. Den ansvarlige part skal melde den udført igen."),
                       request.form.get("reason", ""), error_field="reject_reason")


@bp.route("/forpligtelser/<int:occurrence_id>/frafald", methods=["POST"])
@login_required
def waive(occurrence_id: int) -> Any:
    return _transition(occurrence_id, "obligation:verify", obligation_service.waive,
                       gettext("Forpligtelsen er frafaldet for denne frist."),
                       request.form.get("reason", ""), error_field="waive_reason")


# --- an agreement's obligations and allocation log ------------------------------------------------

def _section_choices(agreement: Any) -> list[tuple[str, str]]:
    return [(s["id"], s["heading"]) for s in agreement_service.sections_of(agreement_service.get_revision(agreement))]


def _render_new(agreement: Any, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    parties = sorted((link.party for link in agreement.parties), key=lambda p: (not p.is_municipality, p.name))
    return render_template(
        "obligations/new.html", agreement=agreement, sections=_section_choices(agreement),
        party_options=[(str(p.id), p.name) for p in parties],
        recurrence_options=[(key, gettext(label)) for key, label in obligation_service.RECURRENCE_LABELS.items()],
        values=values, errors=errors), status


@bp.route("/aftaler/<int:agreement_id>/forpligtelser/ny", methods=["GET", "POST"])
@login_required
def new(agreement_id: int) -> Any:
    actor = current_actor()
    agreement = load(actor, Agreement, agreement_id, "obligation:create")
    if request.method == "GET":
        organisations = [link.party_id for link in agreement.parties if not link.party.is_municipality]
        values = {"section": request.args.get("afsnit", ""), "recurrence": "none", "reminder_days": "14, 3",
                  "responsible_party": str(organisations[0]) if len(organisations) == 1 else ""}
        return _render_new(agreement, values, {})
    values = form_data(*OBLIGATION_FIELDS)
    try:
        with unit_of_work():
            obligation = obligation_service.create_obligation(actor, agreement_id, values["section"] or None, values)
    except InvalidInput as exc:
        return _render_new(agreement, values, exc.fields or {"form": exc.message}, 400)
    if obligation.in_force:
        flash(gettext("Forpligtelsen er oprettet."), "success")
    else:
        flash(gettext("Forpligtelsen er oprettet. Den træder i kraft, når aftalen er gældende."), "success")
    return redirect(url_for("obligations.for_agreement", agreement_id=agreement_id))


@bp.route("/aftaler/<int:agreement_id>/forpligtelser")
@login_required
def for_agreement(agreement_id: int) -> Any:
    actor = current_actor()
    agreement = load(actor, Agreement, agreement_id, "agreement:read")
    occurrences = obligation_service.list_occurrences(
        actor, obligation_service.ObligationFilter(agreement_id=agreement.id))
    grouped: dict[int, dict[str, Any]] = {}
    for occurrence in sorted(occurrences, key=lambda o: (o.obligation.title, o.obligation_id, o.due_date)):
        grouped.setdefault(occurrence.obligation_id, {"obligation": occurrence.obligation, "occurrences": []})
        grouped[occurrence.obligation_id]["occurrences"].append(occurrence)
    headings = dict(_section_choices(agreement))
    return render_template("obligations/agreement.html", agreement=agreement, groups=list(grouped.values()),
                           headings=headings, today=date.today())


def _year() -> int:
    year = request.args.get("aar", type=int)
    return year if year is not None and 1900 <= year <= 2200 else date.today().year


def _render_allocation(agreement: Any, year: int, values: dict[str, str], errors: dict[str, str],
                       status: int = 200) -> Any:
    rows = allocation_service.overview(current_actor(), agreement.id, year)
    by_department: dict[int, dict[str, Any]] = {}
    for row in rows:
        by_department.setdefault(row.department.id, {"department": row.department, "rows": []})["rows"].append(row)
    # The organisation's editors record the figures of their own departments.
    recordable = [(str(d.id), f"{d.lbf_number} {d.name}") for d in (g["department"] for g in by_department.values())
                  if access.can(current_actor(), "allocation:department", d)]
    return render_template("obligations/allocation.html", agreement=agreement, year=year,
                           departments=list(by_department.values()), department_options=recordable, values=values,
                           errors=errors, shortfalls=sum(1 for row in rows if row.shortfall)), status


@bp.route("/aftaler/<int:agreement_id>/anvisning", methods=["GET", "POST"])
@login_required
def allocation(agreement_id: int) -> Any:
    actor = current_actor()
    year = _year()
    if request.method == "GET":
        agreement = load(actor, Agreement, agreement_id, "allocation:read")
        return _render_allocation(agreement, year, {"year": str(year), "quarter": ""}, {})
    values = form_data(*ALLOCATION_FIELDS)
    try:
        with unit_of_work():
            entry = allocation_service.record(actor, agreement_id, values)
    except InvalidInput as exc:
        agreement = load(actor, Agreement, agreement_id, "allocation:read")
        shown = int(values["year"]) if values["year"].strip().isdigit() else year
        return _render_allocation(agreement, shown, values, exc.fields or {"form": exc.message}, 400)
    flash(gettext("Tallene for %(quarter)s. kvartal %(year)s er gemt.", quarter=entry.quarter, year=entry.year),
          "success")
    return redirect(url_for("obligations.allocation", agreement_id=agreement_id, aar=entry.year))


# --- the calendar address on "Min profil" -----------------------------------------------------------

@bp.route("/profil/kalender", methods=["POST"])
@login_required
def create_calendar() -> Any:
    actor = current_actor()
    assert actor is not None
    with unit_of_work():
        token = obligation_service.create_calendar_feed(actor, actor)
    # Only the token's hash is stored: this page is the one time the address can be shown.
    return render_template("obligations/calendar_created.html",
                           feed_url=url_for("calendar.feed", token=token, _external=True))


@bp.route("/profil/kalender/tilbagekald", methods=["POST"])
@login_required
def revoke_calendar() -> Any:
    actor = current_actor()
    assert actor is not None
    with unit_of_work():
        obligation_service.revoke_calendar_feeds(actor, actor)
    flash(gettext("Kalenderadressen er tilbagekaldt og virker ikke længere."), "success")
    return redirect(url_for("users.profile"))
