"""All models, imported here so Alembic and the app see one complete metadata."""

from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.documents import Document, DocumentKind, DocumentVersion, ExtractionStatus, Visibility
from portal.models.jobs import Job, JobStatus
from portal.models.parties import Department, HousingType, Party, PartyKind
from portal.models.users import ApiToken, Invitation, LoginFailure, Membership, Role, User, UserSession

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "Department",
    "Document",
    "DocumentKind",
    "DocumentVersion",
    "ExtractionStatus",
    "HousingType",
    "Invitation",
    "Job",
    "JobStatus",
    "LoginFailure",
    "Membership",
    "Party",
    "PartyKind",
    "Role",
    "User",
    "UserSession",
    "Visibility",
]
