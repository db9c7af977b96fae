"""The OpenAPI 3.1 document of /api/v1: the contract external programs rely on.

Every route of the API blueprint is described here, with the inputs it accepts as narrowly as
the code checks them, every status it answers and the body of each; a test compares the paths
and methods with the app's routes, and the fuzz test holds the app to the rest.
"""

from __future__ import annotations

from typing import Any

from portal.models import (
    AgreementStatus,
    AgreementType,
    DocumentKind,
    ExtractionStatus,
    OccurrenceStatus,
    PartyKind,
    Role,
    Visibility,
)

# The largest id the database stores; larger ones are answered 404 like any other absent id.
MAX_ID = 2**31 - 1
MIN_YEAR, MAX_YEAR = 2000, 2100


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ERROR_TEXTS = {
    400: "Invalid input (`error.details.fields` names each field in error), or a step the object's state does not allow",
    401: "Missing, invalid, expired or revoked token",
    403: "Visible to the user, but the action is not allowed (role, or the object's state)",
    404: "Absent, or not visible to this user (the same answer for both)",
    409: "Conflict with the object's current state (a newer revision)",
    413: "The file is over the size limit",
    415: "The request body's media type, or the uploaded file's type, is not accepted",
    416: "The requested byte range lies outside the file",
    503: "A backend (object store, search index) does not answer; retry later",
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _json(_ref("Error"), _ERROR_TEXTS[status]) for status in statuses}


def _id_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 1}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An optional query parameter; given empty (`?name=`) it counts as not given."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}, "allowEmptyValue": True}


# Text that must say something: not empty and not only spaces.
_NOT_BLANK = r"\S"
# A party by id or CVR number (spaces and hyphens allowed), or the word for the municipality.
_PARTY_REFERENCE = {"type": "string", "pattern": r"^\s*([0-9][0-9 -]*|municipality|kommune|kommunen)\s*$",
                    "description": "Party id, CVR number, or `municipality`"}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "Stable and machine-readable, e.g. `invalid_input`, `not_found`"},
            "message": {"type": "string", "description": "For people, in Danish"},
            "details": {"type": "object", "properties": {
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Field name → what is wrong with it"}}}}}},
}

VERSION = {
    "type": "object", "required": ["version", "filename", "size", "sha256", "status", "uploaded_at"],
    "properties": {
        "version": {"type": "integer"}, "filename": {"type": "string"}, "size": {"type": "integer"},
        "sha256": {"type": "string"}, "status": {"type": "string", "enum": _values(ExtractionStatus)},
        "uploaded_at": {"type": "string", "format": "date-time"}},
}

DOCUMENT = {
    "type": "object",
    "required": ["id", "title", "organisation", "organisation_name", "department", "kind", "year", "visibility",
                 "version", "status", "status_reason", "filename", "size", "sha256", "media_type", "page_count",
                 "created_at", "published_at", "versions", "url", "file_url"],
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"},
        "organisation": {"type": "integer", "description": "The owning party's id"},
        "organisation_name": {"type": "string"}, "department": {"type": ["integer", "null"]},
        "kind": {"type": "string", "enum": _values(DocumentKind)}, "year": {"type": "integer"},
        "visibility": {"type": "string", "enum": _values(Visibility)},
        "version": {"type": "integer", "description": "The newest version's number"},
        "status": {"type": "string", "enum": _values(ExtractionStatus),
                   "description": "Extraction status of the newest version"},
        "status_reason": {"type": ["string", "null"], "description": "Why extraction failed or is not possible"},
        "filename": {"type": "string"}, "size": {"type": "integer"}, "sha256": {"type": "string"},
        "media_type": {"type": "string"}, "page_count": {"type": ["integer", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "published_at": {"type": ["string", "null"], "format": "date-time"},
        "versions": {"type": "array", "items": _ref("DocumentVersion")},
        "url": {"type": "string", "description": "The document's page in the portal"},
        "file_url": {"type": "string", "description": "The newest version's bytes"},
    },
}

SECTION = {
    "type": "object", "required": ["id", "heading", "text", "kind", "data"],
    "properties": {"id": {"type": "string"}, "heading": {"type": "string"}, "text": {"type": "string"},
                   "kind": {"type": "string", "enum": ["text", "allocation", "trappemodel"]},
                   "data": {"type": "object", "description": "Structured content of allocation and trappemodel sections"}},
}

APPROVAL = {
    "type": "object", "required": ["party", "revision", "revision_hash", "approved_by", "approved_at"],
    "properties": {"party": {"type": "integer"}, "revision": {"type": "integer"}, "revision_hash": {"type": "string"},
                   "approved_by": {"type": ["string", "null"], "description": "The signatory's e-mail address"},
                   "approved_at": {"type": "string", "format": "date-time"}},
}

AGREEMENT = {
    "type": "object",
    "required": ["id", "title", "type", "status", "revision", "revision_hash", "parties", "term_start", "term_end",
                 "sections", "approvals"],
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"},
        "type": {"type": "string", "enum": _values(AgreementType)},
        "status": {"type": "string", "enum": _values(AgreementStatus)},
        "revision": {"type": "integer", "description": "The newest revision's number"},
        "revision_hash": {"type": "string", "description": "SHA-256 of the newest revision: what an approval binds to"},
        "parties": {"type": "array", "items": {"type": "integer"},
                    "description": "The municipality and the organisations that accepted"},
        "pending_parties": {"type": "array", "items": {"type": "integer"},
                            "description": "Organisations named but yet to accept (not parties until they do)"},
        "term_start": {"type": ["string", "null"], "format": "date"},
        "term_end": {"type": ["string", "null"], "format": "date"},
        "sections": {"type": "array", "items": _ref("Section")},
        "approvals": {"type": "array", "items": _ref("Approval"), "description": "Approvals of the newest revision"},
    },
}

SEARCH_HIT = {
    "type": "object",
    "required": ["type", "id", "document_id", "title", "organisation", "organisation_name", "kind", "year", "page",
                 "snippet", "score", "pages", "url"],
    "properties": {
        "type": {"type": "string", "enum": ["document", "agreement", "obligation"],
                 "description": "A document's pages, an agreement's sections, or an obligation"},
        "id": {"type": "integer", "description": "The document's, agreement's or obligation's id"},
        "document_id": {"type": ["integer", "null"], "description": "The document's id; null for other types"},
        "title": {"type": "string"},
        "organisation": {"type": ["integer", "null"]}, "organisation_name": {"type": ["string", "null"]},
        "kind": {"type": "string"}, "year": {"type": ["integer", "null"]}, "page": {"type": ["integer", "null"]},
        "snippet": {"type": "string", "description": "HTML-escaped text with <mark> around matches"},
        "score": {"type": "number"},
        "pages": {"type": "array", "items": {"type": "object", "required": ["page", "snippet", "score"], "properties": {
            "page": {"type": ["integer", "null"]}, "snippet": {"type": "string"}, "score": {"type": "number"}}}},
        "url": {"type": "string", "description": "Opens the hit: a document at the page in the viewer, an agreement, or the obligation"}},
}

SEARCH_RESULT = {
    "type": "object",
    "required": ["total", "hits", "facets", "suggestion"],
    "properties": {
        "total": {"type": "integer", "description": "Matching documents (groups), not pages"},
        "hits": {"type": "array", "items": _ref("SearchHit")},
        "facets": {"type": "object", "additionalProperties": {"type": "object",
                                                                "additionalProperties": {"type": "integer"}},
                   "description": "Matching pages per organisation id, kind and year"},
        "suggestion": {"type": ["string", "null"], "description": "A spelling that finds more, if any"},
    },
}

OBLIGATION = {
    "type": "object",
    "required": ["id", "obligation_id", "title", "description", "responsible_party", "responsible_party_name",
                 "verifying_party", "verifying_party_name", "agreement", "section", "meeting", "due_date", "status",
                 "status_note", "overdue", "recurrence", "evidence", "url"],
    "properties": {
        "id": {"type": "integer", "description": "The occurrence (one due date of the obligation)"},
        "obligation_id": {"type": "integer"}, "title": {"type": "string"}, "description": {"type": "string"},
        "responsible_party": {"type": "integer"}, "responsible_party_name": {"type": "string"},
        "verifying_party": {"type": "integer"}, "verifying_party_name": {"type": "string"},
        "agreement": {"type": ["integer", "null"]}, "section": {"type": ["string", "null"]},
        "meeting": {"type": ["integer", "null"]}, "due_date": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": _values(OccurrenceStatus)},
        "status_note": {"type": "string", "description": "The report's comment, or why it was rejected or waived"},
        "overdue": {"type": "boolean"},
        "recurrence": {"type": "string", "enum": ["none", "monthly", "quarterly", "yearly"]},
        "evidence": {"type": "array", "items": {
            "type": "object", "required": ["document_id", "page", "url", "comment"], "properties": {
                "document_id": {"type": ["integer", "null"]}, "page": {"type": ["integer", "null"]},
                "url": {"type": ["string", "null"]}, "comment": {"type": "string"}}}},
        "url": {"type": "string", "description": "The occurrence's page in the portal"},
    },
}

MEMBERSHIP = {
    "type": "object", "required": ["party_id", "party_name", "party_kind", "cvr", "role"],
    "properties": {"party_id": {"type": "integer"}, "party_name": {"type": "string"},
                   "party_kind": {"type": "string", "enum": _values(PartyKind)},
                   "cvr": {"type": "string"}, "role": {"type": "string", "enum": _values(Role)}},
}

UPLOAD_FORM = {
    "type": "object", "required": ["file", "organisation", "kind", "year"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "PDF (searchable), DOCX, XLSX, CSV or TXT; the type is read from the bytes"},
        "organisation": _PARTY_REFERENCE,
        "kind": {"type": "string", "enum": _values(DocumentKind)},
        "year": {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR, "description": "Styringsår"},
        "title": {"type": "string", "maxLength": 300, "description": "Defaults to the file name"},
        "visibility": {"type": "string", "enum": [v.value for v in Visibility if v is not Visibility.PUBLIC],
                       "description": "Defaults to `dialogue`; minutes become `public` only by publishing them"},
        "department": {"type": "string", "description": "Department id or LBF number, of the same organisation"}},
}

_FILE_TYPES = ("application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/csv", "text/plain")
_BYTES = {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in _FILE_TYPES}


def _paths() -> dict[str, Any]:
    document_id = _id_param("document_id", "A document's id")
    agreement_id = _id_param("agreement_id", "An agreement's id")
    occurrence_id = _id_param("occurrence_id", "An obligation occurrence's id")
    revision = {"type": "integer", "minimum": 1}
    return {
        "/me": {"get": {
            "operationId": "me", "summary": "The user the token belongs to, with memberships",
            "responses": {"200": _json({"type": "object", "required": ["id", "email", "name", "memberships"],
                                        "properties": {"id": {"type": "integer"}, "email": {"type": "string"},
                                                       "name": {"type": "string"},
                                                       "memberships": {"type": "array", "items": _ref("Membership")}}},
                                       "The user"), **_errors(401)}}},
        "/documents": {"post": {
            "operationId": "create_document",
            "summary": "Upload a document (its first version); indexing happens in the background",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": UPLOAD_FORM}}},
            "responses": {"201": {**_json(_ref("Document"), "Stored"), "headers": {
                "Location": {"description": "The new document", "schema": {"type": "string"}}}},
                **_errors(400, 401, 403, 404, 413, 415, 503)}}},
        "/documents/{document_id}": {"get": {
            "operationId": "get_document", "summary": "A document's metadata and extraction status",
            "parameters": [document_id],
            "responses": {"200": _json(_ref("Document"), "The document"), **_errors(401, 404)}}},
        "/documents/{document_id}/file": {"get": {
            "operationId": "document_file",
            "summary": "The bytes of the newest (or `version`) version; Range and If-None-Match are honoured",
            "parameters": [document_id, _query("version", "Version number", {"type": "integer", "minimum": 1})],
            "responses": {"200": {"description": "The file", "content": _BYTES},
                          "206": {"description": "The requested range", "content": _BYTES},
                          "304": {"description": "Not modified (the ETag matches)"},
                          **_errors(400, 401, 404, 416, 503)}}},
        "/search": {"get": {
            "operationId": "search",
            "summary": "Full-text search in Danish; results grouped per document, best page first",
            "parameters": [
                _query("q", 'Words, "phrases", OR, -exclusion, prefix*; the first 500 characters count'),
                _query("organisation", "Party id or CVR; one the user may not see matches nothing"),
                _query("department", "Department id", {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID}),
                _query("kind", "Document kind(s), comma separated",
                       {"type": "array", "items": {"type": "string", "enum": _values(DocumentKind)}})
                | {"style": "form", "explode": False},
                _query("year_from", "Styringsår from", {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID}),
                _query("year_to", "Styringsår to", {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID}),
                _query("visibility", "Only the municipality's users filter on it; for others it changes nothing",
                       {"type": "string", "enum": _values(Visibility)}),
                _query("sort", "By relevance (default) or newest first",
                       {"type": "string", "enum": ["relevance", "date", "relevans", "dato"]}),
                _query("page", "1-based; lower numbers give the first page. Paging reaches the first 10 000 hits:"
                               " beyond that (page × per_page) is answered 400",
                       {"type": "integer", "minimum": -MAX_ID, "maximum": 10_000}),
                _query("per_page", "Hits per page, 1-100 (default 20); others are brought within",
                       {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID})],
            "responses": {"200": _json(_ref("SearchResult"), "Hits the user may read"), **_errors(400, 401, 503)}}},
        "/agreements": {"post": {
            "operationId": "create_agreement",
            "summary": "Create an agreement between the municipality and organisations (revision 1)",
            "requestBody": _json_body({
                "type": "object", "required": ["title", "type", "organisations"], "properties": {
                    "title": {"type": "string", "pattern": _NOT_BLANK, "maxLength": 300},
                    "type": {"type": "string", "enum": _values(AgreementType)},
                    "organisations": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1,
                                      "description": "Ids of active organisations"},
                    "term_start": {"type": ["string", "null"], "format": "date"},
                    "term_end": {"type": ["string", "null"], "format": "date", "description": "Not before term_start"}}}),
            "responses": {"201": {**_json(_ref("Agreement"), "Created"), "headers": {
                "Location": {"description": "The new agreement", "schema": {"type": "string"}}}},
                **_errors(400, 401, 403, 404, 415)}}},
        "/agreements/{agreement_id}": {
            "get": {"operationId": "get_agreement", "summary": "The agreement at its newest revision",
                    "parameters": [agreement_id],
                    "responses": {"200": _json(_ref("Agreement"), "The agreement"), **_errors(401, 404)}},
            "patch": {
                "operationId": "patch_agreement",
                "summary": "Save changed sections against the revision the editor started from",
                "parameters": [agreement_id],
                "requestBody": _json_body({
                    "type": "object", "required": ["base_revision", "sections"], "properties": {
                        "base_revision": revision | {"description": "The revision the changes were made to"},
                        "sections": {"type": "object", "description": "Section id → the changed fields",
                                     "additionalProperties": {"type": "object", "properties": {
                                         "text": {"type": "string"}, "heading": {"type": "string"},
                                         "data": {"type": "object", "description": (
                                             "The section's figures, by its kind. allocation: share_percent"
                                             " (0-100), quota_per_year (whole, 0-1000000). trappemodel: steps,"
                                             " a list of {department_id (a department of a party), year"
                                             " (1900-2200), step (0-99), share_percent (0-100), criteria}."
                                             " Other kinds: {}. Anything else is answered 400, naming the field"
                                             " as sections.<id>.data.<key>")}}}}}}),
                "responses": {
                    "200": _json({"type": "object", "required": ["revision", "changed", "revision_hash"], "properties": {
                        "revision": {"type": "integer"}, "changed": {"type": "boolean"},
                        "revision_hash": {"type": "string"}}}, "Saved (merged where others changed other lines)"),
                    "409": _json({"type": "object", "required": ["error", "conflicts"], "properties": {
                        "error": ERROR["properties"]["error"], "head_revision": {"type": "integer"},
                        "conflicts": {"type": "array", "items": {"type": "object", "properties": {
                            "section_id": {"type": "string"}, "heading": {"type": "string"},
                            "field": {"type": "string"}, "reason": {"type": "string"},
                            "base": {}, "mine": {}, "theirs": {}}}},
                        "unsaved": {"type": "object", "description": "Changes that merged but were not saved either"}}},
                        "Overlapping changes: nothing saved, both texts returned"),
                    **_errors(400, 401, 403, 404, 415)}}},
        "/agreements/{agreement_id}/sections": {"post": {
            "operationId": "add_agreement_section", "summary": "Add an empty section",
            "parameters": [agreement_id],
            "requestBody": _json_body({
                "type": "object", "required": ["heading", "base_revision"], "properties": {
                    "heading": {"type": "string", "pattern": _NOT_BLANK},
                    "base_revision": revision | {"description": "At most the newest revision"},
                    "after": {"type": "string", "description": "The section to add it after; at the end without"}}}),
            "responses": {"201": _json({"type": "object", "required": ["section_id", "revision"], "properties": {
                "section_id": {"type": "string"}, "revision": {"type": "integer"}}}, "Added"),
                **_errors(400, 401, 403, 404, 409, 415)}}},
        "/agreements/{agreement_id}/invitation": {
            "get": {"operationId": "get_agreement_invitation",
                    "summary": "What an invited organisation sees before it accepts: title, type, term, who invited it",
                    "parameters": [agreement_id],
                    "responses": {"200": _json({"type": "object", "required": ["id", "title", "type", "status",
                                                                                "term_start", "term_end", "invited"],
                                                "properties": {
                        "id": {"type": "integer"}, "title": {"type": "string"},
                        "type": {"type": "string", "enum": _values(AgreementType)},
                        "status": {"type": "string", "enum": _values(AgreementStatus)},
                        "term_start": {"type": ["string", "null"], "format": "date"},
                        "term_end": {"type": ["string", "null"], "format": "date"},
                        "invited": {"type": "array", "description": "The caller's parties still to answer", "items": {
                            "type": "object", "properties": {
                                "party": {"type": "integer"}, "invited_by_party": {"type": ["integer", "null"]},
                                "invited_by": {"type": ["string", "null"]}}}}}}, "The invitation"),
                        **_errors(401, 404)}},
            "post": {"operationId": "answer_agreement_invitation",
                     "summary": "Accept (become a party) or decline, for the caller's invited parties",
                     "parameters": [agreement_id],
                     "requestBody": _json_body({"type": "object", "required": ["accept"], "properties": {
                         "accept": {"type": "boolean", "description": "true accepts, false declines"}}}),
                     "responses": {"200": _json({"type": "object", "required": ["id"], "properties": {
                         "id": {"type": "integer"},
                         "accepted": {"type": "array", "items": {"type": "integer"}},
                         "declined": {"type": "array", "items": {"type": "integer"}}}}, "Answered"),
                         **_errors(400, 401, 403, 404, 415)}}},
        "/agreements/{agreement_id}/approvals": {"post": {
            "operationId": "approve_agreement", "summary": "Approve a revision on behalf of the signatory's party",
            "parameters": [agreement_id],
            "requestBody": _json_body({"type": "object", "required": ["revision"], "properties": {
                "revision": {"type": "integer", "description": "The newest revision, as read"}}}),
            "responses": {"201": _json(_ref("Agreement"), "Approved"), **_errors(400, 401, 403, 404, 409, 415)}}},
        "/obligations": {"get": {
            "operationId": "list_obligations", "summary": "Obligation occurrences the user may see, by due date",
            "parameters": [
                _query("party", "Party id or CVR (responsible or verifying)"),
                _query("status", "An occurrence status, or overdue",
                       {"type": "string", "enum": [*_values(OccurrenceStatus), "overdue"]}),
                _query("due_before", "Due before this date (exclusive)", {"type": "string", "format": "date"})],
            "responses": {"200": _json({"type": "object", "required": ["total", "obligations"], "properties": {
                "total": {"type": "integer"}, "obligations": {"type": "array", "items": _ref("Obligation")}}},
                "The occurrences"), **_errors(400, 401, 404)}}},
        "/obligations/{occurrence_id}/report": {"post": {
            "operationId": "report_obligation",
            "summary": "Report an occurrence done, with evidence (the responsible party's editors)",
            "parameters": [occurrence_id],
            "requestBody": _json_body({
                "type": "object", "properties": {
                    "comment": {"type": "string"},
                    "evidence": {"type": "array", "description": "Needed unless evidence was added before",
                                 "items": {
                                     "type": "object", "description": "A document the reporter may read, or a link",
                                     "properties": {
                                         "document_id": {"type": ["integer", "null"], "minimum": 1},
                                         "page": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID,
                                                  "description": "A page of the document"},
                                         "url": {"type": ["string", "null"],
                                                 "pattern": r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s]", "maxLength": 2000,
                                                 "description": "Used when no document_id is given"}},
                                     "anyOf": [{"required": ["document_id"], "properties": {"document_id": {
                                                   "type": "integer", "minimum": 1, "maximum": MAX_ID}}},
                                               {"required": ["url"], "properties": {"url": {"type": "string"}},
                                                "not": {"required": ["document_id"], "properties": {
                                                    "document_id": {"type": "integer"}}}}]}}}}),
            "responses": {"200": _json(_ref("Obligation"), "Reported done"), **_errors(400, 401, 403, 404, 415)}}},
        "/obligations/{occurrence_id}/verify": {"post": {
            "operationId": "verify_obligation", "summary": "Verify a reported occurrence (the verifying party's editors)",
            "parameters": [occurrence_id],
            "responses": {"200": _json(_ref("Obligation"), "Verified"), **_errors(400, 401, 403, 404)}}},
        "/obligations/{occurrence_id}/reject": {"post": {
            "operationId": "reject_obligation",
            "summary": "Reject a report with a reason; the responsible party must report again",
            "parameters": [occurrence_id],
            "requestBody": _json_body({"type": "object", "required": ["reason"], "properties": {
                "reason": {"type": "string", "pattern": _NOT_BLANK}}}),
            "responses": {"200": _json(_ref("Obligation"), "Rejected"), **_errors(400, 401, 403, 404, 415)}}},
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document; no token needed", "security": [],
            "responses": {"200": _json({"type": "object", "required": ["openapi", "info", "paths"]},
                                       "The OpenAPI document")}}},
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Aftaleportalen API", "version": "1",
                 "description": "Documents, search, agreements and obligations of the styringsdialog. Errors are "
                                "`{\"error\": {\"code\", \"message\"}}` with the status that fits. Text may not "
                                "contain NUL characters (400)."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A token from Min profil or `portal tokens create --user EMAIL`."}},
            "schemas": {
                "Error": ERROR, "Document": DOCUMENT, "DocumentVersion": VERSION, "Section": SECTION,
                "Approval": APPROVAL, "Agreement": AGREEMENT, "SearchHit": SEARCH_HIT, "SearchResult": SEARCH_RESULT,
                "Obligation": OBLIGATION, "Membership": MEMBERSHIP,
            },
        },
        "paths": _paths(),
    }
