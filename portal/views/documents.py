"""Documents: browse a party's documents, upload, new versions, metadata, delete/restore, publish."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import login_required

from portal import access
from portal.access import load
from portal.downloads import send_version
from portal.errors import InvalidInput, PortalError
from portal.models import Document, DocumentKind, Party
from portal.services import documents as document_service
from portal.services import jobs as job_service
from portal.services.audit import list_events
from portal.services.uploads import check_declared_size
from portal.uow import unit_of_work
from portal.web import current_actor, settings

bp = Blueprint("documents", __name__)

_METADATA_FIELDS = ("kind", "year", "title", "visibility", "department")


def _form_metadata() -> dict[str, str]:
    return {name: request.form.get(name, "") for name in _METADATA_FIELDS}


def _choices() -> dict[str, Any]:
    return {"kinds": document_service.KIND_LABELS, "visibilities": document_service.VISIBILITY_LABELS}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


@bp.route("/parter/<int:party_id>/dokumenter")
@login_required
def index(party_id: int) -> Any:
    actor = current_actor()
    party = load(actor, Party, party_id, "party:read")
    kind_arg = request.args.get("kind", "")
    filters = document_service.DocumentFilter(
        year=_int_arg("year"), kind=DocumentKind(kind_arg) if kind_arg in DocumentKind._value2member_map_ else None,
        department_id=_int_arg("department"), sort=request.args.get("sort", "nyeste"))
    documents = document_service.list_documents(actor, party_id, filters)
    return render_template("documents/index.html", party=party, documents=documents, filters=filters,
                           years=document_service.years_of(actor, party_id), sorts=document_service.SORTS, **_choices())


@bp.route("/parter/<int:party_id>/dokumenter/ny", methods=["GET", "POST"])
@login_required
def upload(party_id: int) -> Any:
    actor = current_actor()
    party = load(actor, Party, party_id, "party:read")
    access.require(actor, "document:create", party)
    if request.method == "GET":
        values = {"year": request.args.get("year", ""), "kind": request.args.get("kind", ""), "visibility": "dialogue"}
        return render_template("documents/upload.html", party=party, values=values, errors={}, **_choices())
    values = _form_metadata()
    files = [f for f in request.files.getlist("files") if f and f.filename]
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        if not files:
            raise InvalidInput(fields={"files": gettext("Vælg mindst én fil.")})
        created = []
        for file in files:
            check_declared_size(file.content_length or None, settings().max_upload_bytes)
            with unit_of_work():
                data = dict(values, title=values["title"] if len(files) == 1 else "")
                created.append(document_service.upload_document(actor, party_id, data, file.stream, file.filename or "",
                                                                max_size=settings().max_upload_bytes))
    except PortalError as exc:
        if wants_json or not isinstance(exc, InvalidInput):
            raise
        return render_template("documents/upload.html", party=party, values=values, errors=exc.fields or {"form": exc.message},
                               **_choices()), 400
    if wants_json:
        return jsonify({"documents": [{"id": d.id, "title": d.title, "url": url_for("documents.show", document_id=d.id)}
                                      for d in created]}), 201
    flash(gettext("%(count)s dokument(er) er gemt. Teksten gøres søgbar i baggrunden.", count=len(created)), "success")
    if len(created) == 1:
        return redirect(url_for("documents.show", document_id=created[0].id))
    return redirect(url_for("documents.index", party_id=party_id))


@bp.route("/dokumenter/<int:document_id>")
@login_required
def show(document_id: int) -> Any:
    document = load(current_actor(), Document, document_id, "document:read")
    return _render_show(document)


def _render_show(document: Any, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    events = list_events(object_type="document", object_id=document.id, limit=100)
    return render_template("documents/show.html", document=document, events=events, errors=errors or {},
                           unpublish_requests=document_service.unpublish_requests(document), **_choices()), status


@bp.route("/dokumenter/<int:document_id>/status")
@login_required
def status(document_id: int) -> Any:
    """Extraction and indexing progress, polled by the document page while it runs."""
    document = load(current_actor(), Document, document_id, "document:read")
    version = document.current
    return jsonify({"version": version.number, "status": version.status.value, "reason": version.status_reason,
                    "page_count": version.page_count, "job": job_service.document_job_state(document.id)})


@bp.route("/dokumenter/<int:document_id>/rediger", methods=["GET", "POST"])
@login_required
def edit(document_id: int) -> Any:
    actor = current_actor()
    document = load(actor, Document, document_id, "document:update")
    # Only the visibilities this user may give the document are offered.
    choices = {**_choices(), "visibilities": {v: document_service.VISIBILITY_LABELS[v]
                                              for v in access.visibility_choices(actor, document)}}
    if request.method == "GET":
        values = {"kind": document.kind.value, "year": str(document.year), "title": document.title,
                  "visibility": document.visibility.value, "department": str(document.department_id or "")}
        return render_template("documents/edit.html", document=document, values=values, errors={}, **choices)
    values = _form_metadata()
    try:
        with unit_of_work():
            document_service.update_metadata(actor, document_id, values)
    except InvalidInput as exc:
        return render_template("documents/edit.html", document=document, values=values, errors=exc.fields, **choices), 400
    flash(gettext("Oplysningerne er gemt."), "success")
    return redirect(url_for("documents.show", document_id=document_id))


@bp.route("/dokumenter/<int:document_id>/versioner", methods=["POST"])
@login_required
def add_version(document_id: int) -> Any:
    actor = current_actor()
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise InvalidInput(fields={"file": gettext("Vælg en fil.")})
        check_declared_size(file.content_length or None, settings().max_upload_bytes)
        with unit_of_work():
            version = document_service.add_version(actor, document_id, file.stream, file.filename,
                                                   max_size=settings().max_upload_bytes)
    except InvalidInput as exc:
        return _render_show(load(actor, Document, document_id, "document:read"), exc.fields or {"file": exc.message}, 400)
    flash(gettext("Version %(number)s er gemt.", number=version.number), "success")
    return redirect(url_for("documents.show", document_id=document_id))


@bp.route("/dokumenter/<int:document_id>/fil")
@login_required
def download(document_id: int) -> Any:
    return send_version(document_service.get_version(current_actor(), document_id))


@bp.route("/dokumenter/<int:document_id>/versioner/<int:number>/fil")
@login_required
def download_version(document_id: int, number: int) -> Any:
    return send_version(document_service.get_version(current_actor(), document_id, number))


def _act(document_id: int, action: Any, message: str) -> Any:
    with unit_of_work():
        action(current_actor(), document_id)
    flash(message, "success")
    return redirect(url_for("documents.show", document_id=document_id))


@bp.route("/dokumenter/<int:document_id>/slet", methods=["POST"])
@login_required
def delete(document_id: int) -> Any:
    with unit_of_work():
        document = document_service.delete_document(current_actor(), document_id)
    flash(gettext("Dokumentet er slettet. En administrator kan gendanne det i %(days)s dage.",
                  days=document_service.RESTORE_DAYS), "success")
    return redirect(url_for("documents.index", party_id=document.party_id))


@bp.route("/dokumenter/<int:document_id>/gendan", methods=["POST"])
@login_required
def restore(document_id: int) -> Any:
    try:
        return _act(document_id, document_service.restore_document, gettext("Dokumentet er gendannet."))
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("main.index"))


@bp.route("/dokumenter/<int:document_id>/offentliggoer", methods=["POST"])
@login_required
def publish(document_id: int) -> Any:
    return _act(document_id, document_service.publish_document,
                gettext("Referatet er offentliggjort og vises i det offentlige arkiv."))


@bp.route("/dokumenter/<int:document_id>/tilbagekald", methods=["POST"])
@login_required
def unpublish(document_id: int) -> Any:
    return _act(document_id, document_service.unpublish_document,
                gettext("Referatet er ikke længere offentligt."))


@bp.route("/dokumenter/<int:document_id>/anmod-om-tilbagekald", methods=["POST"])
@login_required
def request_unpublish(document_id: int) -> Any:
    actor = current_actor()
    try:
        with unit_of_work():
            document_service.request_unpublish(actor, document_id, request.form.get("reason", ""))
    except InvalidInput as exc:
        return _render_show(load(actor, Document, document_id, "document:read"), exc.fields, 400)
    flash(gettext("Anmodningen er sendt til kommunen."), "success")
    return redirect(url_for("documents.show", document_id=document_id))


@bp.route("/parter/<int:party_id>/papirkurv")
@login_required
def trash(party_id: int) -> Any:
    actor = current_actor()
    party = load(actor, Party, party_id, "party:update")
    return render_template("documents/trash.html", party=party, documents=document_service.list_deleted(actor, party_id),
                           days=document_service.RESTORE_DAYS, **_choices())


