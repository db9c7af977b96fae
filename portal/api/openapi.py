"""The OpenAPI 3.1 document of /api/v1: the contract external programs rely on."""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"],
                             "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def document() -> dict[str, Any]:
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
                "Error": _ERROR,
                "Membership": {"type": "object", "properties": {
                    "party_id": {"type": "integer"}, "party_name": {"type": "string"},
                    "party_kind": {"type": "string", "enum": ["municipality", "organisation"]},
                    "cvr": {"type": "string"}, "role": {"type": "string", "enum": ["reader", "editor", "signatory", "admin"]}}},
            },
        },
        "paths": {
            "/me": {"get": {
                "summary": "The user the token belongs to, with memberships",
                "responses": {
                    "200": {"description": "The user", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["id", "email", "name", "memberships"],
                        "properties": {"id": {"type": "integer"}, "email": {"type": "string"}, "name": {"type": "string"},
                                       "memberships": {"type": "array", "items": {"$ref": "#/components/schemas/Membership"}}}}}}},
                    "401": _error_response("Missing, invalid or revoked token"),
                }}},
        },
    }
