"""All models, imported here so Alembic and the app see one complete metadata."""

from portal.models.agreements import (
    Agreement,
    AgreementApproval,
    AgreementComment,
    AgreementDocument,
    AgreementParty,
    AgreementPresence,
    AgreementRevision,
    AgreementStatus,
    AgreementType,
    PartyConsent,
)
from portal.models.audit import AuditEvent
from portal.models.base import Base
from portal.models.dialogue import STEP_ORDER, Dialogue, DialogueDeadline, DialogueEvent, DialogueStep, Meeting
from portal.models.documents import (
    Document,
    DocumentKind,
    DocumentPage,
    DocumentVersion,
    ExtractionStatus,
    Visibility,
)
from portal.models.jobs import Job, JobStatus
from portal.models.keyfigures import AreaStatus, DepartmentAreaStatus, KeyFigure, Metric, Threshold, ThresholdDirection
from portal.models.obligations import (
    AllocationEntry,
    CalendarFeed,
    Evidence,
    MailLog,
    Obligation,
    Occurrence,
    OccurrenceStatus,
    ReminderSent,
)
from portal.models.parties import Department, HousingType, Party, PartyKind
from portal.models.users import ApiToken, Invitation, LoginFailure, Membership, Role, User, UserSession

__all__ = [
    "AreaStatus",
    "DepartmentAreaStatus",
    "KeyFigure",
    "Metric",
    "Threshold",
    "ThresholdDirection",
    "AllocationEntry",
    "CalendarFeed",
    "Evidence",
    "MailLog",
    "Meeting",
    "Obligation",
    "Occurrence",
    "OccurrenceStatus",
    "ReminderSent",
    "Agreement",
    "AgreementApproval",
    "AgreementComment",
    "AgreementDocument",
    "AgreementParty",
    "AgreementPresence",
    "AgreementRevision",
    "AgreementStatus",
    "AgreementType",
    "PartyConsent",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Department",
    "Dialogue",
    "DialogueDeadline",
    "DialogueEvent",
    "DialogueStep",
    "Document",
    "DocumentKind",
    "DocumentPage",
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
    "STEP_ORDER",
    "User",
    "UserSession",
    "Visibility",
]
