"""The OpenAPI 3.1 document of /api/v1: the contract external programs rely on."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"],
                             "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                            "details": {"type": "object"}}}},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {400: "Invalid input, per field in error.details.fields", 401: "Missing, invalid or revoked token",
             403: "Visible, but the action is not allowed", 404: "Absent, or not visible to this user",
             409: "Conflict with a newer revision", 413: "File over the size limit", 415: "Unsupported file type",
             503: "A backend (object store, search index) does not answer; retry"}
    return {str(s): _json(_ref("Error"), texts[s]) for s in statuses}


def _id_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


DOCUMENT = {
    "type": "object",
    "required": ["id", "version", "status", "status_reason", "title", "kind", "year", "visibility", "organisation"],
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "organisation": {"type": "integer"},
        "organisation_name": {"type": "string"}, "department": {"type": ["integer", "null"]},
        "kind": {"type": "string"}, "year": {"type": "integer"},
        "visibility": {"type": "string", "enum": ["party", "dialogue", "all_parties", "public"]},
        "version": {"type": "integer"},
        "status": {"type": "string", "enum": ["pending", "extracted", "needs_ocr", "failed", "unsupported"]},
        "status_reason": {"type": ["string", "null"]}, "filename": {"type": "string"}, "size": {"type": "integer"},
        "sha256": {"type": "string"}, "media_type": {"type": "string"}, "page_count": {"type": ["integer", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "published_at": {"type": ["string", "null"], "format": "date-time"},
        "versions": {"type": "array", "items": {"type": "object"}},
        "url": {"type": "string"}, "file_url": {"type": "string"},
    },
}

SECTION = {"type": "object", "required": ["id", "heading", "text"],
           "properties": {"id": {"type": "string"}, "heading": {"type": "string"}, "text": {"type": "string"},
                          "kind": {"type": "string", "enum": ["text", "allocation", "trappemodel"]},
                          "data": {"type": "object"}}}

AGREEMENT = {
    "type": "object",
    "required": ["id", "revision", "status", "sections", "approvals"],
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"},
        "type": {"type": "string", "enum": ["strategisk", "individuel", "styringsdialog", "andet"]},
        "status": {"type": "string", "enum": ["draft", "negotiation", "awaiting_approval", "active", "expired",
                                              "terminated"]},
        "revision": {"type": "integer"}, "revision_hash": {"type": "string"},
        "parties": {"type": "array", "items": {"type": "integer"}},
        "term_start": {"type": ["string", "null"], "format": "date"},
        "term_end": {"type": ["string", "null"], "format": "date"},
        "sections": {"type": "array", "items": _ref("Section")},
        "approvals": {"type": "array", "items": {"type": "object", "properties": {
            "party": {"type": "integer"}, "revision": {"type": "integer"}, "revision_hash": {"type": "string"},
            "approved_by": {"type": ["string", "null"]}, "approved_at": {"type": "string", "format": "date-time"}}}},
    },
}

SEARCH_RESULT = {
    "type": "object",
    "required": ["total", "hits", "facets"],
    "properties": {
        "total": {"type": "integer", "description": "Matching documents (groups), not pages"},
        "hits": {"type": "array", "items": {"type": "object", "required": [
            "document_id", "title", "organisation", "kind", "year", "page", "snippet", "score"], "properties": {
            "document_id": {"type": "integer"}, "title": {"type": "string"},
            "organisation": {"type": ["integer", "null"]}, "organisation_name": {"type": "string"},
            "kind": {"type": "string"}, "year": {"type": "integer"}, "page": {"type": ["integer", "null"]},
            "snippet": {"type": "string", "description": "HTML-escaped text with <mark> around matches"},
            "score": {"type": "number"}, "pages": {"type": "array", "items": {"type": "object"}},
            "url": {"type": "string", "description": "Opens the document at the page in the viewer"}}}},
        "facets": {"type": "object", "additionalProperties": {"type": "object",
                                                                "additionalProperties": {"type": "integer"}},
                   "description": "Matching pages per organisation id, kind and year"},
        "suggestion": {"type": ["string", "null"]},
    },
}


def document() -> dict[str, Any]:
    upload_form = {"type": "object", "required": ["file", "organisation", "kind", "year"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "organisation": {"type": "string", "description": "Party id or CVR number"},
        "kind": {"type": "string", "enum": ["referat", "styringsrapport", "afdelingsskema", "regnskab",
                                           "regnskabsspoergeskema", "aarsberetning", "analyse", "revisionsprotokol",
                                           "redegoerelse", "aftale", "bilag", "andet"]},
        "year": {"type": "integer", "description": "Styringsår"}, "title": {"type": "string"},
        "visibility": {"type": "string", "enum": ["party", "dialogue", "all_parties"]},
        "department": {"type": "string", "description": "Department id or LBF number"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Aftaleportalen API", "version": "1",
                 "description": "Documents, search, agreements and obligations of the styringsdialog."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from `portal tokens create --user EMAIL`."}},
            "schemas": {
                "Error": _ERROR, "Document": DOCUMENT, "Section": SECTION, "Agreement": AGREEMENT,
                "SearchResult": SEARCH_RESULT,
                "Membership": {"type": "object", "properties": {
                    "party_id": {"type": "integer"}, "party_name": {"type": "string"},
                    "party_kind": {"type": "string", "enum": ["municipality", "organisation"]},
                    "cvr": {"type": "string"}, "role": {"type": "string", "enum": ["reader", "editor", "signatory", "admin"]}}},
            },
        },
        "paths": {
            "/me": {"get": {
                "summary": "The user the token belongs to, with memberships",
                "responses": {"200": _json({"type": "object", "required": ["id", "email", "name", "memberships"],
                                            "properties": {"id": {"type": "integer"}, "email": {"type": "string"},
                                                           "name": {"type": "string"},
                                                           "memberships": {"type": "array", "items": _ref("Membership")}}},
                                           "The user"), **_errors(401)}}},
            "/documents": {"post": {
                "summary": "Upload a document (its first version); indexing happens in the background",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": upload_form}}},
                "responses": {"201": _json(_ref("Document"), "Stored"), **_errors(400, 401, 403, 404, 413, 415, 503)}}},
            "/documents/{document_id}": {"get": {
                "summary": "A document's metadata and extraction status",
                "parameters": [_id_param("document_id")],
                "responses": {"200": _json(_ref("Document"), "The document"), **_errors(401, 404)}}},
            "/documents/{document_id}/file": {"get": {
                "summary": "The bytes of the newest (or `version`) version; Range requests are honoured",
                "parameters": [_id_param("document_id"), _query("version", "Version number", {"type": "integer"})],
                "responses": {"200": {"description": "The file"}, "206": {"description": "The requested range"},
                              "304": {"description": "Not modified (ETag)"},
                              "416": {"description": "Range not satisfiable"}, **_errors(401, 404, 503)}}},
            "/search": {"get": {
                "summary": "Full-text search in Danish; results grouped per document, best page first",
                "parameters": [
                    _query("q", 'Words, "phrases", OR, -exclusion, prefix*'),
                    _query("organisation", "Party id or CVR"), _query("department", "Department id", {"type": "integer"}),
                    _query("kind", "Document kind(s), comma separated"),
                    _query("year_from", "Styringsår from", {"type": "integer"}),
                    _query("year_to", "Styringsår to", {"type": "integer"}),
                    _query("visibility", "Municipality users only"),
                    _query("sort", "relevance or date", {"type": "string", "enum": ["relevance", "date"]}),
                    _query("page", "1-based", {"type": "integer", "minimum": 1}),
                    _query("per_page", "1-100", {"type": "integer", "minimum": 1, "maximum": 100})],
                "responses": {"200": _json(_ref("SearchResult"), "Hits the user may read"), **_errors(400, 401, 503)}}},
            "/agreements": {"post": {
                "summary": "Create an agreement between the municipality and organisations (revision 1)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["title", "type", "organisations"], "properties": {
                        "title": {"type": "string"}, "type": {"type": "string"},
                        "organisations": {"type": "array", "items": {"type": "integer"}},
                        "term_start": {"type": "string", "format": "date"},
                        "term_end": {"type": "string", "format": "date"}}}}}},
                "responses": {"201": _json(_ref("Agreement"), "Created"), **_errors(400, 401, 403, 404)}}},
            "/agreements/{agreement_id}": {
                "get": {"summary": "The agreement at its newest revision", "parameters": [_id_param("agreement_id")],
                        "responses": {"200": _json(_ref("Agreement"), "The agreement"), **_errors(401, 404)}},
                "patch": {
                    "summary": "Save changed sections against the revision the editor started from",
                    "parameters": [_id_param("agreement_id")],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["base_revision", "sections"], "properties": {
                            "base_revision": {"type": "integer"},
                            "sections": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                                "text": {"type": "string"}, "heading": {"type": "string"}, "data": {"type": "object"}}}}}}}}},
                    "responses": {
                        "200": _json({"type": "object", "required": ["revision"], "properties": {
                            "revision": {"type": "integer"}, "changed": {"type": "boolean"},
                            "revision_hash": {"type": "string"}}}, "Saved (merged where others changed other lines)"),
                        "409": _json({"type": "object", "required": ["error", "conflicts"], "properties": {
                            "error": _ERROR["properties"]["error"], "head_revision": {"type": "integer"},
                            "conflicts": {"type": "array", "items": {"type": "object", "properties": {
                                "section_id": {"type": "string"}, "heading": {"type": "string"},
                                "base": {}, "mine": {}, "theirs": {}}}},
                            "unsaved": {"type": "object"}}}, "Overlapping changes: nothing saved, both texts returned"),
                        **_errors(400, 401, 403, 404)}}},
            "/agreements/{agreement_id}/sections": {"post": {
                "summary": "Add an empty section", "parameters": [_id_param("agreement_id")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["heading", "base_revision"], "properties": {
                        "heading": {"type": "string"}, "base_revision": {"type": "integer"}, "after": {"type": "string"}}}}}},
                "responses": {"201": _json({"type": "object", "properties": {"section_id": {"type": "string"},
                                                                              "revision": {"type": "integer"}}}, "Added"),
                              **_errors(400, 401, 403, 404)}}},
            "/agreements/{agreement_id}/approvals": {"post": {
                "summary": "Approve a revision on behalf of the signatory's party",
                "parameters": [_id_param("agreement_id")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["revision"], "properties": {"revision": {"type": "integer"}}}}}},
                "responses": {"201": _json(_ref("Agreement"), "Approved"), **_errors(400, 401, 403, 404, 409)}}},
        },
    }
