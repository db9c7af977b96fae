"""The portal's error hierarchy and how each error maps to HTTP.

Services raise these; views and the API turn them into pages or JSON
(`{"error": {"code", "message"}}`). Vendor exceptions (SQLAlchemy, minio,
opensearch-py, tantivy) are translated into these at the backend boundary so
callers never depend on a vendor's exception types. Messages are Danish: they
are shown to users as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Denial:
    """What a permission check refused on an existing object. `access.require` puts it on the
    error it raises, so the web layer can write the refusal to the audit trail; it is never
    shown to the user."""

    action: str
    object_type: str
    object_id: str


class PortalError(Exception):
    """Base class. `code` is stable and machine-readable; `message` is for people."""

    status = 500
    code = "internal_error"
    message = "Der opstod en uventet fejl."
    denial: Denial | None = None

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.message
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(PortalError):
    status = 400
    code = "invalid_input"
    message = "Oplysningerne er ikke gyldige."

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None, **details: Any) -> None:
        self.fields = fields or {}
        if self.fields:
            details.setdefault("fields", self.fields)
        super().__init__(message, **details)


class Unauthenticated(PortalError):
    status = 401
    code = "unauthenticated"
    message = "Du skal logge ind."


class Forbidden(PortalError):
    status = 403
    code = "forbidden"
    message = "Du har ikke adgang til at gøre dette."


class NotFound(PortalError):
    """Also what a user gets for an object that exists but is not theirs to see."""

    status = 404
    code = "not_found"
    message = "Siden eller objektet findes ikke."


class Conflict(PortalError):
    status = 409
    code = "conflict"
    message = "Ændringen er i konflikt med en anden ændring."


class PayloadTooLarge(PortalError):
    status = 413
    code = "payload_too_large"
    message = "Filen er for stor."


class UnsupportedMediaType(PortalError):
    status = 415
    code = "unsupported_media_type"
    message = "Filtypen understøttes ikke."


class InvalidUpload(InvalidInput):
    code = "invalid_upload"
    message = "Filen kan ikke modtages."


class TooManyAttempts(PortalError):
    status = 429
    code = "too_many_attempts"
    message = "For mange forsøg. Prøv igen senere."

    def __init__(self, message: str | None = None, *, retry_after: int = 60, **details: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **details)


class BackendUnavailable(PortalError):
    """A server the portal depends on did not answer; the user may retry (sent as Retry-After)."""

    status = 503
    code = "backend_unavailable"
    message = "En underliggende tjeneste svarer ikke lige nu. Prøv igen om lidt."
    retry_after = 10  # seconds; a restarted server is usually back within that


class DatabaseUnavailable(BackendUnavailable):
    """The database dropped the connection or refused a new one (a restart, a failover)."""

    code = "database_unavailable"
    message = "Databasen svarer ikke lige nu. Prøv igen om lidt."


class StorageError(PortalError):
    """The object store failed in a way that is not a simple outage."""

    code = "storage_error"
    message = "Filen kunne ikke gemmes eller hentes."


class StorageUnavailable(BackendUnavailable, StorageError):
    code = "storage_unavailable"
    message = "Fillageret svarer ikke lige nu. Intet er gemt; prøv igen om lidt."


class ObjectMissing(NotFound, StorageError):
    code = "object_missing"
    message = "Filen findes ikke i fillageret."


class SearchError(PortalError):
    code = "search_error"
    message = "Søgningen kunne ikke gennemføres."


class SearchUnavailable(BackendUnavailable, SearchError):
    code = "search_unavailable"
    message = "Søgningen er ikke tilgængelig lige nu. Prøv igen om lidt."


class InvalidQuery(InvalidInput, SearchError):
    code = "invalid_query"
    message = "Søgningen kunne ikke forstås."
