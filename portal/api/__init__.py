"""The JSON API, version 1: bearer tokens, JSON errors, an OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for

from portal.access import load
from portal.downloads import send_version
from portal.errors import InvalidInput, NotFound, Unauthenticated, UnsupportedMediaType
from portal.models import Agreement, Document, Party
from portal.models.base import MAX_INT
from portal.services import agreements as agreement_service
from portal.services import documents as document_service
from portal.services import obligations as obligation_service
from portal.services import parties as party_service
from portal.services import search as search_service
from portal.services.auth import user_for_token
from portal.services.uploads import check_declared_size
from portal.uow import unit_of_work
from portal.web import current_actor

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = {"api.openapi"}


@bp.before_request
def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    g.api_user = None
    if scheme.lower() == "bearer" and token.strip():
        with unit_of_work():
            g.api_user = user_for_token(token.strip())
        if g.api_user is None:
            raise Unauthenticated("Ugyldigt eller tilbagekaldt API-token.")
    elif request.endpoint not in PUBLIC_ENDPOINTS:
        raise Unauthenticated("Angiv et API-token: Authorization: Bearer TOKEN.")


@bp.before_request
def _absent_beyond_largest_id() -> None:
    """An id no row can have is absent: answered 404 before it reaches a query the database refuses."""
    if any(isinstance(value, int) and value > MAX_INT for value in (request.view_args or {}).values()):
        raise NotFound()


@bp.before_request
def _refuse_nul_characters() -> None:
    """No text the portal stores or looks up may hold a NUL character (PostgreSQL refuses them)."""
    fields = [*request.args.items(multi=True)]
    if request.mimetype == "multipart/form-data":
        fields += request.form.items(multi=True)
    if any("\x00" in (name or "") or "\x00" in (value or "") for name, value in fields):
        raise InvalidInput("Teksten må ikke indeholde NUL-tegn.")


def _has_nul(value: Any) -> bool:
    """Whether any text in a parsed JSON value holds a NUL character (walked without recursion, as JSON nests deep)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _integer(value: Any) -> int | None:
    """A JSON number that is whole (2 and 2.0 alike) and fits the database, else None; true and false are not numbers."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INT:
        return None
    return value


def _membership_json(m: Any) -> dict[str, Any]:
    return {"party_id": m.party_id, "party_name": m.party.name, "party_kind": m.party.kind.value,
            "cvr": m.party.cvr, "role": m.role.value}


@bp.route("/me")
def me() -> Any:
    user = current_actor()
    assert user is not None
    return jsonify({"id": user.id, "email": user.email, "name": user.name,
                    "memberships": [_membership_json(m) for m in user.memberships]})


def _document_json(doc: Any) -> dict[str, Any]:
    current = doc.current
    return {
        "id": doc.id, "title": doc.title, "organisation": doc.party_id, "organisation_name": doc.party.name,
        "department": doc.department_id, "kind": doc.kind.value, "year": doc.year, "visibility": doc.visibility.value,
        "version": current.number, "status": current.status.value, "status_reason": current.status_reason,
        "filename": current.filename, "size": current.size, "sha256": current.sha256, "media_type": current.media_type,
        "page_count": current.page_count, "created_at": doc.created_at.isoformat(),
        "published_at": doc.published_at.isoformat() if doc.published_at else None,
        "versions": [{"version": v.number, "filename": v.filename, "size": v.size, "sha256": v.sha256,
                      "status": v.status.value, "uploaded_at": v.uploaded_at.isoformat()} for v in doc.versions],
        "url": url_for("documents.show", document_id=doc.id, _external=True),
        "file_url": url_for("api.document_file", document_id=doc.id, _external=True),
    }


@bp.route("/documents", methods=["POST"])
def create_document() -> Any:
    """Multipart upload: `file`, `organisation` (id or CVR), `kind`, `year`, `title`, `visibility`, `department`."""
    actor = current_actor()
    cfg = current_app.config["PORTAL"]
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Send dokumentet som multipart/form-data med filen i feltet 'file'.")
    file = request.files.get("file")
    if file is None or not file.filename:
        raise InvalidInput(fields={"file": "Send filen i feltet 'file'."})
    check_declared_size(file.content_length or None, cfg.max_upload_bytes)
    party = party_service.find_party_by_reference(request.form.get("organisation", ""))
    if party is None:
        raise InvalidInput(fields={"organisation": "Angiv organisationen med id eller CVR-nummer."})
    with unit_of_work():
        document = document_service.upload_document(actor, party.id, request.form.to_dict(), file.stream, file.filename,
                                                    max_size=cfg.max_upload_bytes)
    return jsonify(_document_json(document)), 201, {"Location": url_for("api.get_document", document_id=document.id)}


@bp.route("/documents/<int:document_id>")
def get_document(document_id: int) -> Any:
    return jsonify(_document_json(load(current_actor(), Document, document_id, "document:read")))


@bp.route("/documents/<int:document_id>/file")
def document_file(document_id: int) -> Any:
    raw = request.args.get("version", "")
    version = int(raw) if raw.isascii() and raw.isdigit() else None
    if raw and (version is None or version < 1):
        raise InvalidInput(fields={"version": "Versionens nummer: et heltal fra 1."})
    return send_version(document_service.get_version(current_actor(), document_id, version))


@bp.route("/search")
def search() -> Any:
    """Hits grouped per document, best page first; `page`/`snippet` are the best page's."""
    results = search_service.search(current_actor(), search_service.SearchForm.from_args(request.args))
    targets = search_service.hit_targets(results, request.args.get("q", ""))
    viewer_url = _viewer_urls(request.args.get("q", ""))
    hits = []
    for hit, target in zip(results.hits, targets):
        best = hit.pages[0] if hit.pages else None
        document = target.type == "document"
        hits.append({
            "type": target.type, "id": hit.document_id,
            "document_id": hit.document_id if document else None, "title": hit.title,
            "organisation": hit.organisation_id, "organisation_name": hit.organisation_name, "kind": hit.kind,
            "year": hit.year, "page": best.page if best and document else None,
            "snippet": best.snippet_html if best else "", "score": hit.score,
            "pages": [{"page": p.page if document else None, "snippet": p.snippet_html, "score": p.score}
                      for p in hit.pages],
            "url": viewer_url(hit.document_id, best.page if best else 1) if document
            else url_for(target.endpoint, **target.values, _external=True),
        })
    return jsonify({"total": results.total, "hits": hits, "facets": results.facets, "suggestion": results.suggestion})


# Stand-ins for the two numbers of a hit's viewer URL (see _viewer_urls); no document or page has them.
_DOCUMENT_STAND_IN, _PAGE_STAND_IN = 987_654_321_012_345, 987_654_321_067_890


def _viewer_urls(q: str) -> Callable[[int, int], str]:
    """`url_for("viewer.show", document_id=…, side=…, q=q, _external=True)` for every hit of
    a search, routed once: the URL is built with stand-ins for the two numbers, which are
    then put in per hit (routing twenty URLs cost as much as encoding the whole answer)."""
    template = url_for("viewer.show", document_id=_DOCUMENT_STAND_IN, side=_PAGE_STAND_IN, q=q, _external=True)
    document_mark, page_mark = str(_DOCUMENT_STAND_IN), str(_PAGE_STAND_IN)
    head, _, tail = template.partition(document_mark)
    middle, _, end = tail.partition(page_mark)
    if template.count(document_mark) != 1 or template.count(page_mark) != 1 or page_mark not in tail:
        # The query text (or the host) holds a stand-in: route each URL after all.
        return lambda document_id, page: url_for("viewer.show", document_id=document_id, side=page, q=q, _external=True)
    return lambda document_id, page: f"{head}{int(document_id)}{middle}{int(page)}{end}"


def _agreement_json(agreement: Any) -> dict[str, Any]:
    revision = agreement_service.get_revision(agreement)
    return {
        "id": agreement.id, "title": agreement.title, "type": agreement.type.value, "status": agreement.status.value,
        "revision": agreement.head, "revision_hash": revision.content_hash,
        "parties": sorted(agreement.party_ids),
        "pending_parties": sorted(p.party_id for p in agreement.pending),
        "term_start": agreement.term_start.isoformat() if agreement.term_start else None,
        "term_end": agreement.term_end.isoformat() if agreement.term_end else None,
        "sections": [{"id": s["id"], "heading": s["heading"], "text": s["text"], "kind": s["kind"], "data": s["data"]}
                     for s in agreement_service.sections_of(revision)],
        "approvals": [{"party": a.party_id, "revision": a.revision, "revision_hash": a.revision_hash,
                       "approved_by": a.approved_by.email if a.approved_by else None,
                       "approved_at": a.approved_at.isoformat()} for a in agreement_service.current_approvals(agreement)],
    }


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise UnsupportedMediaType("Send et JSON-objekt med Content-Type: application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes
        body = None
    if not isinstance(body, dict):
        raise InvalidInput("Send et JSON-objekt.")
    if _has_nul(body):
        raise InvalidInput("Teksten må ikke indeholde NUL-tegn.")
    return body


@bp.route("/agreements", methods=["POST"])
def create_agreement() -> Any:
    body = _json_body()
    errors = {name: "Tekst." for name in ("title", "type") if not isinstance(body.get(name), str)}
    errors.update({name: "En dato, ÅÅÅÅ-MM-DD." for name in ("term_start", "term_end")
                   if body.get(name) is not None and not isinstance(body[name], str)})
    organisations = body.get("organisations")
    if not isinstance(organisations, list) or not organisations or any(_integer(o) is None for o in organisations):
        errors["organisations"] = "En liste med organisationernes id'er."
    if errors:
        raise InvalidInput(fields=errors)
    with unit_of_work():
        agreement = agreement_service.create_agreement(current_actor(), {
            **body, "organisations": [_integer(o) for o in organisations]})
    return jsonify(_agreement_json(agreement)), 201, {"Location": url_for("api.get_agreement", agreement_id=agreement.id)}


@bp.route("/agreements/<int:agreement_id>")
def get_agreement(agreement_id: int) -> Any:
    return jsonify(_agreement_json(load(current_actor(), Agreement, agreement_id, "agreement:read")))


def _is_section_change(change: Any) -> bool:
    return isinstance(change, dict) and all(isinstance(change[name], str) for name in ("text", "heading") if name in change) \
        and isinstance(change.get("data", {}), dict)


@bp.route("/agreements/<int:agreement_id>", methods=["PATCH"])
def patch_agreement(agreement_id: int) -> Any:
    """`{"base_revision", "sections": {"<id>": {"text"?, "heading"?, "data"?}}}` → 200 {"revision"} or 409 with conflicts."""
    body = _json_body()
    sections = body.get("sections")
    base = _integer(body.get("base_revision"))
    errors = {} if base is not None else {"base_revision": "Et heltal."}
    if not isinstance(sections, dict) or not all(_is_section_change(v) for v in sections.values()):
        errors["sections"] = "Et objekt med afsnit-id → {text, heading: tekst; data: objekt}."
    if errors:
        raise InvalidInput(fields=errors)
    try:
        with unit_of_work():
            revision = agreement_service.update_agreement(current_actor(), agreement_id, sections, base_revision=base)
    except agreement_service.AgreementConflict as exc:
        return jsonify({"error": {"code": exc.code, "message": exc.message}, "head_revision": exc.head,
                        "conflicts": exc.conflicts, "unsaved": exc.unsaved}), 409
    agreement = load(current_actor(), Agreement, agreement_id, "agreement:read")
    return jsonify({"revision": revision.number if revision else agreement.head, "changed": revision is not None,
                    "revision_hash": agreement_service.get_revision(agreement).content_hash})


@bp.route("/agreements/<int:agreement_id>/sections", methods=["POST"])
def add_agreement_section(agreement_id: int) -> Any:
    """`{"heading", "base_revision", "after"?}` → 201 {"section_id", "revision"}."""
    body = _json_body()
    base = _integer(body.get("base_revision"))
    errors = {} if base is not None else {"base_revision": "Et heltal."}
    if not isinstance(body.get("heading"), str):
        errors["heading"] = "Skriv en overskrift."
    if body.get("after") is not None and not isinstance(body["after"], str):
        errors["after"] = "Et afsnits id."
    if errors:
        raise InvalidInput(fields=errors)
    with unit_of_work():
        section_id = agreement_service.add_section(current_actor(), agreement_id, body["heading"], base_revision=base,
                                                   after=body.get("after"))
    agreement = load(current_actor(), Agreement, agreement_id, "agreement:read")
    return jsonify({"section_id": section_id, "revision": agreement.head}), 201


def _invitation_json(agreement: Any) -> dict[str, Any]:
    """What an invited party sees before it accepts: the agreement's name and who invited it."""
    invitations = agreement_service.invitation_of(current_actor(), agreement)
    return {"id": agreement.id, "title": agreement.title, "type": agreement.type.value, "status": agreement.status.value,
            "term_start": agreement.term_start.isoformat() if agreement.term_start else None,
            "term_end": agreement.term_end.isoformat() if agreement.term_end else None,
            "invited": [{"party": link.party_id, "invited_by_party": link.invited_by_party_id,
                         "invited_by": link.invited_by.name if link.invited_by else None} for link in invitations]}


@bp.route("/agreements/<int:agreement_id>/invitation")
def get_invitation(agreement_id: int) -> Any:
    return jsonify(_invitation_json(load(current_actor(), Agreement, agreement_id, "agreement:open")))


@bp.route("/agreements/<int:agreement_id>/invitation", methods=["POST"])
def answer_invitation(agreement_id: int) -> Any:
    """`{"accept": true|false}` → 200 {"id", "accepted"|"declined": [party ids]}."""
    accept = _json_body().get("accept")
    if not isinstance(accept, bool):
        raise InvalidInput(fields={"accept": "true for at acceptere, false for at afslå."})
    with unit_of_work():
        party_ids = agreement_service.respond_to_invitation(current_actor(), agreement_id, accept=accept)
    return jsonify({"id": agreement_id, "accepted" if accept else "declined": party_ids})


@bp.route("/agreements/<int:agreement_id>/approvals", methods=["POST"])
def approve_agreement(agreement_id: int) -> Any:
    revision = _integer(_json_body().get("revision"))
    if revision is None:
        raise InvalidInput(fields={"revision": "Angiv revisionen, der godkendes."})
    with unit_of_work():
        agreement_service.approve(current_actor(), agreement_id, revision)
    agreement = load(current_actor(), Agreement, agreement_id, "agreement:read")
    return jsonify(_agreement_json(agreement)), 201


def _occurrence_json(occurrence: Any) -> dict[str, Any]:
    """One occurrence of an obligation: what is due when, and where it stands."""
    obligation = occurrence.obligation
    return {
        "id": occurrence.id, "obligation_id": obligation.id, "title": obligation.title,
        "description": obligation.description, "responsible_party": obligation.responsible_party_id,
        "responsible_party_name": obligation.responsible_party.name, "verifying_party": obligation.verifying_party_id,
        "verifying_party_name": obligation.verifying_party.name, "agreement": obligation.agreement_id,
        "section": obligation.section_id, "meeting": obligation.meeting_id, "due_date": occurrence.due_date.isoformat(),
        "status": occurrence.status.value, "status_note": occurrence.status_note,
        "overdue": occurrence.is_overdue(date.today()), "recurrence": obligation.recurrence,
        "evidence": [{"document_id": e.document_id, "page": e.page, "url": e.url, "comment": e.comment}
                     for e in occurrence.evidence],
        "url": url_for("obligations.show", occurrence_id=occurrence.id, _external=True),
    }


def _date_param(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(fields={name: "Skriv datoen som ÅÅÅÅ-MM-DD."}) from exc


@bp.route("/obligations")
def list_obligations() -> Any:
    """The occurrences the caller may see, by due date: `party` (id or CVR; responsible or verifying),
    `status` (an occurrence status or `overdue`), `due_before` (a date, exclusive)."""
    actor = current_actor()
    party_id = None
    if request.args.get("party", "").strip():
        party = party_service.find_party_by_reference(request.args["party"])
        if party is None:
            raise NotFound()
        party_id = load(actor, Party, party.id, "party:read").id
    status = request.args.get("status", "").strip() or None
    if status is not None and status != "overdue" and status not in {s.value for s in obligation_service.OccurrenceStatus}:
        raise InvalidInput(fields={"status": "Ukendt status."})
    due_before = _date_param("due_before")
    if due_before == date.min:  # nothing falls due before the first day there is
        return jsonify({"total": 0, "obligations": []})
    filters = obligation_service.ObligationFilter(
        party_id=party_id, status=status, due_to=due_before - timedelta(days=1) if due_before else None)
    occurrences = obligation_service.list_occurrences(actor, filters)
    return jsonify({"total": len(occurrences), "obligations": [_occurrence_json(o) for o in occurrences]})


@bp.route("/obligations/<int:occurrence_id>/report", methods=["POST"])
def report_obligation(occurrence_id: int) -> Any:
    """`{"comment", "evidence": [{"document_id", "page"?} | {"url"}]}` → the occurrence, reported done."""
    body = _json_body()
    evidence = body.get("evidence", [])
    if not isinstance(evidence, list) or not all(isinstance(item, dict) for item in evidence):
        raise InvalidInput(fields={"evidence": "En liste af {document_id, page} eller {url}."})
    items = []
    for item in evidence:
        document_id, page, url = (item.get(name) for name in ("document_id", "page", "url"))
        if any(value is not None and _integer(value) is None for value in (document_id, page)) \
                or url is not None and not isinstance(url, str):
            raise InvalidInput(fields={"evidence": "document_id og page er heltal; url er tekst."})
        items.append({"document_id": _integer(document_id), "page": _integer(page), "url": url})
    comment = body.get("comment", "")
    if not isinstance(comment, str):
        raise InvalidInput(fields={"comment": "Tekst."})
    with unit_of_work():
        occurrence = obligation_service.report_done(current_actor(), occurrence_id, comment=comment, evidence=items)
    return jsonify(_occurrence_json(occurrence))


@bp.route("/obligations/<int:occurrence_id>/verify", methods=["POST"])
def verify_obligation(occurrence_id: int) -> Any:
    with unit_of_work():
        occurrence = obligation_service.verify(current_actor(), occurrence_id)
    return jsonify(_occurrence_json(occurrence))


@bp.route("/obligations/<int:occurrence_id>/reject", methods=["POST"])
def reject_obligation(occurrence_id: int) -> Any:
    """`{"reason"}` → the occurrence, back with the responsible party."""
    reason = _json_body().get("reason")
    if not isinstance(reason, str):
        raise InvalidInput(fields={"reason": "Skriv hvorfor opfyldelsen ikke godkendes."})
    with unit_of_work():
        occurrence = obligation_service.reject(current_actor(), occurrence_id, reason)
    return jsonify(_occurrence_json(occurrence))


@bp.route("/openapi.json")
def openapi() -> Any:
    from portal.api.openapi import document

    return jsonify(document())
