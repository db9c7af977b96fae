"""The JSON API, version 1: bearer tokens, JSON errors, an OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for

from portal.downloads import send_version
from portal.errors import InvalidInput, Unauthenticated
from portal.services import agreements as agreement_service
from portal.services import documents as document_service
from portal.services import parties as party_service
from portal.services import search as search_service
from portal.services.uploads import check_declared_size
from portal.services.auth import user_for_token
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
    return jsonify(_document_json(document_service.get_document(current_actor(), document_id)))


@bp.route("/documents/<int:document_id>/file")
def document_file(document_id: int) -> Any:
    version = request.args.get("version", type=int)
    return send_version(document_service.get_version(current_actor(), document_id, version))


@bp.route("/search")
def search() -> Any:
    """Hits grouped per document, best page first; `page`/`snippet` are the best page's."""
    results = search_service.search(current_actor(), search_service.SearchForm.from_args(request.args))
    hits = []
    for hit in results.hits:
        best = hit.pages[0] if hit.pages else None
        hits.append({
            "document_id": hit.document_id, "title": hit.title, "organisation": hit.organisation_id,
            "organisation_name": hit.organisation_name, "kind": hit.kind, "year": hit.year,
            "page": best.page if best else None, "snippet": best.snippet_html if best else "", "score": hit.score,
            "pages": [{"page": p.page, "snippet": p.snippet_html, "score": p.score} for p in hit.pages],
            "url": url_for("viewer.show", document_id=hit.document_id, side=best.page if best else 1,
                           q=request.args.get("q", ""), _external=True),
        })
    return jsonify({"total": results.total, "hits": hits, "facets": results.facets, "suggestion": results.suggestion})


def _agreement_json(agreement: Any) -> dict[str, Any]:
    revision = agreement_service.get_revision(agreement)
    return {
        "id": agreement.id, "title": agreement.title, "type": agreement.type.value, "status": agreement.status.value,
        "revision": agreement.head, "revision_hash": revision.content_hash,
        "parties": sorted(agreement.party_ids),
        "term_start": agreement.term_start.isoformat() if agreement.term_start else None,
        "term_end": agreement.term_end.isoformat() if agreement.term_end else None,
        "sections": [{"id": s["id"], "heading": s["heading"], "text": s["text"], "kind": s["kind"], "data": s["data"]}
                     for s in agreement_service.sections_of(revision)],
        "approvals": [{"party": a.party_id, "revision": a.revision, "revision_hash": a.revision_hash,
                       "approved_by": a.approved_by.email if a.approved_by else None,
                       "approved_at": a.approved_at.isoformat()} for a in agreement_service.current_approvals(agreement)],
    }


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("Send et JSON-objekt.")
    return body


@bp.route("/agreements", methods=["POST"])
def create_agreement() -> Any:
    with unit_of_work():
        agreement = agreement_service.create_agreement(current_actor(), _json_body())
    return jsonify(_agreement_json(agreement)), 201, {"Location": url_for("api.get_agreement", agreement_id=agreement.id)}


@bp.route("/agreements/<int:agreement_id>")
def get_agreement(agreement_id: int) -> Any:
    return jsonify(_agreement_json(agreement_service.get_agreement(current_actor(), agreement_id)))


@bp.route("/agreements/<int:agreement_id>", methods=["PATCH"])
def patch_agreement(agreement_id: int) -> Any:
    """`{"base_revision", "sections": {"<id>": {"text"?, "heading"?, "data"?}}}` → 200 {"revision"} or 409 with conflicts."""
    body = _json_body()
    sections = body.get("sections")
    base = body.get("base_revision")
    if not isinstance(sections, dict) or not isinstance(base, int) or not all(isinstance(v, dict) for v in sections.values()):
        raise InvalidInput(fields={"sections": "Et objekt med afsnit-id → {text}.", "base_revision": "Et heltal."})
    try:
        with unit_of_work():
            revision = agreement_service.update_agreement(current_actor(), agreement_id, sections, base_revision=base)
    except agreement_service.AgreementConflict as exc:
        return jsonify({"error": {"code": exc.code, "message": exc.message}, "head_revision": exc.head,
                        "conflicts": exc.conflicts, "unsaved": exc.unsaved}), 409
    agreement = agreement_service.get_agreement(current_actor(), agreement_id)
    return jsonify({"revision": revision.number if revision else agreement.head, "changed": revision is not None,
                    "revision_hash": agreement_service.get_revision(agreement).content_hash})


@bp.route("/agreements/<int:agreement_id>/sections", methods=["POST"])
def add_agreement_section(agreement_id: int) -> Any:
    """`{"heading", "base_revision", "after"?}` → 201 {"section_id", "revision"}."""
    body = _json_body()
    if not isinstance(body.get("base_revision"), int):
        raise InvalidInput(fields={"base_revision": "Et heltal."})
    with unit_of_work():
        section_id = agreement_service.add_section(current_actor(), agreement_id, str(body.get("heading", "")),
                                                   base_revision=body["base_revision"], after=body.get("after"))
    agreement = agreement_service.get_agreement(current_actor(), agreement_id)
    return jsonify({"section_id": section_id, "revision": agreement.head}), 201


@bp.route("/agreements/<int:agreement_id>/approvals", methods=["POST"])
def approve_agreement(agreement_id: int) -> Any:
    body = _json_body()
    if not isinstance(body.get("revision"), int):
        raise InvalidInput(fields={"revision": "Angiv revisionen, der godkendes."})
    with unit_of_work():
        agreement_service.approve(current_actor(), agreement_id, body["revision"])
    agreement = agreement_service.get_agreement(current_actor(), agreement_id)
    return jsonify(_agreement_json(agreement)), 201


@bp.route("/openapi.json")
def openapi() -> Any:
    from portal.api.openapi import document

    return jsonify(document())
