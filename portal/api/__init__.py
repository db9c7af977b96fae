"""The JSON API, version 1: bearer tokens, JSON errors, an OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for

from portal.downloads import send_version
from portal.errors import InvalidInput, Unauthenticated
from portal.services import documents as document_service
from portal.services import parties as party_service
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


@bp.route("/openapi.json")
def openapi() -> Any:
    from portal.api.openapi import document

    return jsonify(document())
