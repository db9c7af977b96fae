"""The JSON API, version 1: bearer tokens, JSON errors, an OpenAPI document.

Each view parses its input with a schema (portal/api/schemas.py), calls one service and answers
with a schema; the same schemas make the OpenAPI document at /api/v1/openapi.json."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app, g, jsonify, request, url_for

from portal.access import load
from portal.api import schemas as s
from portal.api.openapi import Blueprint, document
from portal.downloads import send_version
from portal.errors import InvalidInput, NotFound, Unauthenticated
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

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Aftaleportalen API")

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


_LOCATION = {"Location": {"description": "The new object", "schema": {"type": "string"}}}


@bp.route("/me")
@bp.response(200, s.MeSchema, description="The user")
@bp.errors(401)
def me() -> Any:
    """The user the token belongs to, with memberships"""
    return current_actor()


@bp.route("/documents", methods=["POST"])
@bp.arguments(s.UploadFormSchema, location="multipart")
@bp.response(201, s.DocumentSchema, description="Stored", headers=_LOCATION)
@bp.errors(400, 401, 403, 404, 413, 415, 503)
def create_document(form: dict[str, Any]) -> Any:
    """Upload a document (its first version); indexing happens in the background"""
    cfg = current_app.config["PORTAL"]
    file = form.pop("file")
    check_declared_size(file.content_length or None, cfg.max_upload_bytes)
    party = party_service.find_party_by_reference(form["organisation"])
    if party is None:
        raise InvalidInput(fields={"organisation": "Angiv organisationen med id eller CVR-nummer."})
    with unit_of_work():
        document = document_service.upload_document(current_actor(), party.id, {k: str(v) for k, v in form.items()},
                                                    file.stream, file.filename, max_size=cfg.max_upload_bytes)
    return document, {"Location": url_for("api.get_document", document_id=document.id)}


@bp.route("/documents/<int:document_id>")
@bp.response(200, s.DocumentSchema, description="The document")
@bp.errors(401, 404)
def get_document(document_id: int) -> Any:
    """A document's metadata and extraction status"""
    return load(current_actor(), Document, document_id, "document:read")


_FILE_TYPES = ("application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv", "text/plain")
_BYTES = {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in _FILE_TYPES}


@bp.route("/documents/<int:document_id>/file")
@bp.arguments(s.FileQuerySchema, location="query")
@bp.doc(responses={"200": {"description": "The file", "content": _BYTES},
                   "206": {"description": "The requested range", "content": _BYTES},
                   "304": {"description": "Not modified (the ETag matches)"}})
@bp.errors(400, 401, 404, 416, 503)
def document_file(query: dict[str, Any], document_id: int) -> Any:
    """The bytes of the newest (or `version`) version; Range and If-None-Match are honoured"""
    return send_version(document_service.get_version(current_actor(), document_id, query.get("version")))


@bp.route("/search")
@bp.arguments(s.SearchQuerySchema, location="query")
@bp.response(200, s.SearchResultSchema, description="Hits the user may read")
@bp.errors(400, 401, 503)
def search(query: dict[str, Any]) -> Any:
    """Full-text search in Danish; results grouped per document, best page first

    `page`/`snippet` are the best page's."""
    # The service reads the same parameters, checked above, as the search page's form sends them.
    results = search_service.search(current_actor(), search_service.SearchForm.from_args(request.args))
    q = query.get("q", "")
    targets = search_service.hit_targets(results, q)
    viewer_url = _viewer_urls(q)
    hits = []
    for hit, target in zip(results.hits, targets):
        best = hit.pages[0] if hit.pages else None
        document = target.type == "document"
        hits.append({
            "type": target.type, "id": hit.source_id,
            "document_id": hit.source_id if document else None, "title": hit.title,
            "organisation": hit.organisation_id, "organisation_name": hit.organisation_name, "kind": hit.kind,
            "year": hit.year, "page": best.page if best and document else None,
            "snippet": best.snippet_html if best else "", "score": hit.score,
            "pages": [{"page": p.page if document else None, "snippet": p.snippet_html, "score": p.score}
                      for p in hit.pages],
            "url": viewer_url(hit.source_id, best.page if best else 1) if document
            else url_for(target.endpoint, **target.values, _external=True),
        })
    return {"total": results.total, "hits": hits, "facets": results.facets, "suggestion": results.suggestion}


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


@dataclass(frozen=True)
class AgreementView:
    """An agreement with its newest revision, that revision's sections and the approvals of it."""

    agreement: Any
    revision: Any
    sections: list[dict[str, Any]]
    approvals: list[Any]


def _agreement_view(agreement: Any) -> AgreementView:
    revision = agreement_service.get_revision(agreement)
    return AgreementView(agreement, revision, agreement_service.sections_of(revision),
                         agreement_service.current_approvals(agreement))


@bp.route("/agreements", methods=["POST"])
@bp.arguments(s.AgreementCreateSchema)
@bp.response(201, s.AgreementSchema, description="Created", headers=_LOCATION)
@bp.errors(400, 401, 403, 404, 415)
def create_agreement(body: dict[str, Any]) -> Any:
    """Create an agreement between the municipality and organisations (revision 1)"""
    with unit_of_work():
        agreement = agreement_service.create_agreement(current_actor(), body)
    return _agreement_view(agreement), {"Location": url_for("api.get_agreement", agreement_id=agreement.id)}


@bp.route("/agreements/<int:agreement_id>")
@bp.response(200, s.AgreementSchema, description="The agreement")
@bp.errors(401, 404)
def get_agreement(agreement_id: int) -> Any:
    """The agreement at its newest revision"""
    return _agreement_view(load(current_actor(), Agreement, agreement_id, "agreement:read"))


@bp.route("/agreements/<int:agreement_id>", methods=["PATCH"])
@bp.arguments(s.AgreementPatchSchema)
@bp.response(200, s.SavedSchema, description="Saved (merged where others changed other lines)")
@bp.alt_response(409, schema=s.ConflictSchema, description="Overlapping changes: nothing saved, both texts returned")
@bp.errors(400, 401, 403, 404, 415)
def patch_agreement(body: dict[str, Any], agreement_id: int) -> Any:
    """Save changed sections against the revision the editor started from"""
    try:
        with unit_of_work():
            revision = agreement_service.update_agreement(current_actor(), agreement_id, body["sections"],
                                                          base_revision=body["base_revision"])
    except agreement_service.AgreementConflict as exc:
        return jsonify(s.ConflictSchema().dump({
            "error": {"code": exc.code, "message": exc.message}, "head_revision": exc.head,
            "conflicts": exc.conflicts, "unsaved": exc.unsaved})), 409
    agreement = load(current_actor(), Agreement, agreement_id, "agreement:read")
    return {"revision": revision.number if revision else agreement.head, "changed": revision is not None,
            "revision_hash": agreement_service.get_revision(agreement).content_hash}


@bp.route("/agreements/<int:agreement_id>/sections", methods=["POST"])
@bp.arguments(s.SectionAddSchema)
@bp.response(201, s.SectionAddedSchema, description="Added")
@bp.errors(400, 401, 403, 404, 409, 415)
def add_agreement_section(body: dict[str, Any], agreement_id: int) -> Any:
    """Add an empty section"""
    with unit_of_work():
        section_id = agreement_service.add_section(current_actor(), agreement_id, body["heading"],
                                                   base_revision=body["base_revision"], after=body.get("after"))
    agreement = load(current_actor(), Agreement, agreement_id, "agreement:read")
    return {"section_id": section_id, "revision": agreement.head}


@dataclass(frozen=True)
class InvitationView:
    agreement: Any
    invited: list[Any]


@bp.route("/agreements/<int:agreement_id>/invitation", operation_id="get_agreement_invitation")
@bp.response(200, s.InvitationSchema, description="The invitation")
@bp.errors(401, 404)
def get_invitation(agreement_id: int) -> Any:
    """What an invited organisation sees before it accepts: title, type, term, who invited it"""
    agreement = load(current_actor(), Agreement, agreement_id, "agreement:open")
    return InvitationView(agreement, agreement_service.invitation_of(current_actor(), agreement))


@bp.route("/agreements/<int:agreement_id>/invitation", methods=["POST"], operation_id="answer_agreement_invitation")
@bp.arguments(s.InvitationAnswerSchema)
@bp.response(200, s.InvitationAnsweredSchema, description="Answered")
@bp.errors(400, 401, 403, 404, 415)
def answer_invitation(body: dict[str, Any], agreement_id: int) -> Any:
    """Accept (become a party) or decline, for the caller's invited parties"""
    with unit_of_work():
        party_ids = agreement_service.respond_to_invitation(current_actor(), agreement_id, accept=body["accept"])
    return {"id": agreement_id, "accepted" if body["accept"] else "declined": party_ids}


@bp.route("/agreements/<int:agreement_id>/approvals", methods=["POST"])
@bp.arguments(s.ApprovalRequestSchema)
@bp.response(201, s.AgreementSchema, description="Approved")
@bp.errors(400, 401, 403, 404, 409, 415)
def approve_agreement(body: dict[str, Any], agreement_id: int) -> Any:
    """Approve a revision on behalf of the signatory's party"""
    with unit_of_work():
        agreement_service.approve(current_actor(), agreement_id, body["revision"])
    return _agreement_view(load(current_actor(), Agreement, agreement_id, "agreement:read"))


@bp.route("/obligations")
@bp.arguments(s.ObligationQuerySchema, location="query")
@bp.response(200, s.ObligationListSchema, description="The occurrences")
@bp.errors(400, 401, 404)
def list_obligations(query: dict[str, Any]) -> Any:
    """Obligation occurrences the user may see, by due date"""
    actor = current_actor()
    party_id = None
    if query.get("party", "").strip():
        party = party_service.find_party_by_reference(query["party"])
        if party is None:
            raise NotFound()
        party_id = load(actor, Party, party.id, "party:read").id
    due_before = query.get("due_before")
    if due_before == date.min:  # nothing falls due before the first day there is
        return {"total": 0, "obligations": []}
    filters = obligation_service.ObligationFilter(
        party_id=party_id, status=query.get("status"), due_to=due_before - timedelta(days=1) if due_before else None)
    occurrences = obligation_service.list_occurrences(actor, filters)
    return {"total": len(occurrences), "obligations": occurrences}


@bp.route("/obligations/<int:occurrence_id>/report", methods=["POST"])
@bp.arguments(s.ReportSchema)
@bp.response(200, s.ObligationSchema, description="Reported done")
@bp.errors(400, 401, 403, 404, 415)
def report_obligation(body: dict[str, Any], occurrence_id: int) -> Any:
    """Report an occurrence done, with evidence (the responsible party's editors)"""
    evidence = [{"document_id": item.get("document_id"), "page": item.get("page"), "url": item.get("url")}
                for item in body["evidence"]]
    with unit_of_work():
        return obligation_service.report_done(current_actor(), occurrence_id, comment=body["comment"],
                                              evidence=evidence)


@bp.route("/obligations/<int:occurrence_id>/verify", methods=["POST"])
@bp.response(200, s.ObligationSchema, description="Verified")
@bp.errors(400, 401, 403, 404)
def verify_obligation(occurrence_id: int) -> Any:
    """Verify a reported occurrence (the verifying party's editors)"""
    with unit_of_work():
        return obligation_service.verify(current_actor(), occurrence_id)


@bp.route("/obligations/<int:occurrence_id>/reject", methods=["POST"])
@bp.arguments(s.RejectSchema)
@bp.response(200, s.ObligationSchema, description="Rejected")
@bp.errors(400, 401, 403, 404, 415)
def reject_obligation(body: dict[str, Any], occurrence_id: int) -> Any:
    """Reject a report with a reason; the responsible party must report again"""
    with unit_of_work():
        return obligation_service.reject(current_actor(), occurrence_id, body["reason"])


@bp.route("/openapi.json")
@bp.doc(security=[])
@bp.response(200, s.DocumentDescriptionSchema, description="The OpenAPI document")
def openapi() -> Any:
    """This document; no token needed"""
    return jsonify(document())
