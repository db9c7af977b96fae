"""The shapes of /api/v1: one marshmallow schema per request and per answer.

The same schema parses a request (refusing wrong types with 400, naming the field) and is what
the OpenAPI document at /api/v1/openapi.json shows. Schemas check shapes and types only; what a
value means (an organisation that exists, a newest revision, an allocation's figures) stays with
the services, which answer 400 with the field named as well.
"""

from __future__ import annotations

import numbers
from datetime import date
from enum import Enum
from typing import Any

from flask import url_for
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, fields, validate
from webargs import fields as webargs_fields

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
from portal.models.base import MAX_INT
from portal.services.documents import MAX_YEAR, MIN_YEAR

# Messages of every field, in Danish like the rest of the API's answers.
_MESSAGES = {
    "required": "Feltet skal udfyldes.",
    "null": "Feltet må ikke være null.",
    "validator_failed": "Ugyldig værdi.",
    "invalid": "Ugyldig værdi.",
}


def _values(enum: type[Enum]) -> list[str]:
    return [member.value for member in enum]


class Text(fields.String):
    default_error_messages = {**_MESSAGES, "invalid": "Skal være tekst.", "invalid_utf8": "Skal være gyldig UTF-8-tekst."}


class Choice(Text):
    """One of a fixed set of words (an enum's values); dumps enum members as their value."""

    def __init__(self, choices: type[Enum] | list[str], **kwargs: Any) -> None:
        self.choices = _values(choices) if isinstance(choices, type) else list(choices)
        super().__init__(validate=validate.OneOf(self.choices, error="Vælg en af: {choices}."), **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(value.value if isinstance(value, Enum) else value, attr, obj, **kwargs)


class Whole(fields.Integer):
    """A JSON number that is whole (2 and 2.0 alike) and fits the database; true, false and text are not numbers."""

    default_error_messages = {**_MESSAGES, "invalid": "Skal være et heltal.", "too_large": "Tallet er for stort."}

    def __init__(self, minimum: int = -MAX_INT, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(minimum, MAX_INT, error=f"Et heltal fra {minimum} til {MAX_INT}."),
                         **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        return super()._validated(value)


class QueryInteger(fields.Integer):
    """A whole number written as text (a query or form value) that fits the database."""

    default_error_messages = {**_MESSAGES, "invalid": "Skal være et heltal.", "too_large": "Tallet er for stort."}

    def __init__(self, minimum: int = -MAX_INT, maximum: int = MAX_INT, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(minimum, maximum, error=f"Et heltal fra {minimum} til {maximum}."),
                         **kwargs)


class StrictBoolean(fields.Boolean):
    """true or false, nothing that merely looks like one ("1", "yes")."""

    default_error_messages = {**_MESSAGES, "invalid": "Skal være true eller false."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Date(fields.Date):
    default_error_messages = {**_MESSAGES, "invalid": "Skriv datoen som ÅÅÅÅ-MM-DD.",
                              "format": "Skriv datoen som ÅÅÅÅ-MM-DD."}


class DateTime(fields.DateTime):
    default_error_messages = {**_MESSAGES}


class Object(fields.Dict):
    default_error_messages = {**_MESSAGES, "invalid": "Skal være et objekt."}


class List(fields.List):
    default_error_messages = {**_MESSAGES, "invalid": "Skal være en liste."}


class Nested(fields.Nested):
    default_error_messages = {**_MESSAGES, "type": "Skal være et objekt."}


class DelimitedList(webargs_fields.DelimitedList):
    """Values separated by commas in one query parameter (`kind=a,b`)."""

    default_error_messages = {**_MESSAGES, "invalid": "Skal være kommaseparerede værdier."}


class Base(Schema):
    """Unknown members are left out, as they always were; a body that is no object is refused."""

    error_messages = {"type": "Skal være et objekt.", "unknown": "Ukendt felt."}

    class Meta:
        unknown = EXCLUDE


# --- errors -----------------------------------------------------------------------------------------------

class ErrorDetailsSchema(Base):
    fields_ = Object(data_key="fields", keys=fields.String(), values=fields.String(),
                     metadata={"description": "Field → what is wrong with it; nested fields as `a.b[0].c`"})


class ErrorBodySchema(Base):
    code = Text(required=True, metadata={"description": "Stable and machine-readable, e.g. `invalid_input`"})
    message = Text(required=True, metadata={"description": "For people, in Danish; names the fields in error"})
    details = Nested(ErrorDetailsSchema)


class ErrorSchema(Base):
    error = Nested(ErrorBodySchema, required=True)


# --- who is asking ------------------------------------------------------------------------------------------

class MembershipSchema(Base):
    party_id = fields.Integer(required=True)
    party_name = fields.String(required=True, attribute="party.name")
    party_kind = Choice(PartyKind, required=True, attribute="party.kind")
    cvr = fields.String(required=True, attribute="party.cvr")
    role = Choice(Role, required=True)


class MeSchema(Base):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    memberships = fields.List(fields.Nested(MembershipSchema), required=True)


# --- documents ---------------------------------------------------------------------------------------------

class DocumentVersionSchema(Base):
    version = fields.Integer(required=True, attribute="number")
    filename = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    status = Choice(ExtractionStatus, required=True)
    uploaded_at = DateTime(required=True)


class DocumentSchema(Base):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    organisation = fields.Integer(required=True, attribute="party_id", metadata={"description": "The owning party's id"})
    organisation_name = fields.String(required=True, attribute="party.name")
    department = fields.Integer(required=True, allow_none=True, attribute="department_id")
    kind = Choice(DocumentKind, required=True)
    year = fields.Integer(required=True)
    visibility = Choice(Visibility, required=True)
    version = fields.Integer(required=True, attribute="current.number",
                             metadata={"description": "The newest version's number"})
    status = Choice(ExtractionStatus, required=True, attribute="current.status",
                    metadata={"description": "Extraction status of the newest version"})
    status_reason = fields.String(required=True, allow_none=True, attribute="current.status_reason",
                                  metadata={"description": "Why extraction failed or is not possible"})
    filename = fields.String(required=True, attribute="current.filename")
    size = fields.Integer(required=True, attribute="current.size")
    sha256 = fields.String(required=True, attribute="current.sha256")
    media_type = fields.String(required=True, attribute="current.media_type")
    page_count = fields.Integer(required=True, allow_none=True, attribute="current.page_count")
    created_at = DateTime(required=True)
    published_at = DateTime(required=True, allow_none=True)
    versions = fields.List(fields.Nested(DocumentVersionSchema), required=True)
    url = fields.Function(lambda doc: url_for("documents.show", document_id=doc.id, _external=True),
                          required=True, metadata={"type": "string", "description": "The document's page in the portal"})
    file_url = fields.Function(lambda doc: url_for("api.document_file", document_id=doc.id, _external=True),
                               required=True, metadata={"type": "string", "description": "The newest version's bytes"})


class UploadFormSchema(Base):
    """`POST /documents` as multipart/form-data: the file and what it is."""

    file = Upload(required=True, validate=validate.Predicate("__bool__", error="Send filen i feltet 'file'."),
                  metadata={"description": "PDF (searchable), DOCX, XLSX, CSV or TXT; the type is read from the bytes"})
    organisation = Text(required=True, metadata={"description": "Party id, CVR number, or `municipality`"})
    kind = Choice(DocumentKind, required=True)
    year = QueryInteger(MIN_YEAR, MAX_YEAR, required=True, metadata={"description": "Styringsår"})
    title = Text(metadata={"description": "Defaults to the file name"})
    visibility = Choice([v.value for v in Visibility if v is not Visibility.PUBLIC],
                        metadata={"description": "Defaults to `dialogue`; minutes become `public` only by publishing"})
    department = Text(metadata={"description": "Department id or LBF number, of the same organisation"})


class FileQuerySchema(Base):
    version = QueryInteger(1, metadata={"description": "Version number; the newest without"})


# --- search ------------------------------------------------------------------------------------------------

class SearchQuerySchema(Base):
    q = Text(metadata={"description": 'Words, "phrases", OR, -exclusion, prefix*; the first 500 characters count'})
    organisation = Text(metadata={"description": "Party id or CVR; one the user may not see matches nothing"})
    department = QueryInteger(metadata={"description": "Department id"})
    kind = DelimitedList(Choice(DocumentKind), metadata={"description": "Document kind(s), comma separated"})
    year_from = QueryInteger(metadata={"description": "Styringsår from"})
    year_to = QueryInteger(metadata={"description": "Styringsår to"})
    visibility = Choice(Visibility, metadata={
        "description": "Only the municipality's users filter on it; for others it changes nothing"})
    sort = Choice(["relevance", "date", "relevans", "dato"], metadata={
        "description": "By relevance (default) or newest first"})
    page = QueryInteger(metadata={"description": "1-based; lower numbers give the first page. Paging reaches the"
                                                 " first 10 000 hits: beyond that (page × per_page) is answered 400"})
    per_page = QueryInteger(metadata={"description": "Hits per page, 1-100 (default 20); others are brought within"})


class SearchPageSchema(Base):
    page = fields.Integer(required=True, allow_none=True)
    snippet = fields.String(required=True)
    score = fields.Float(required=True)


class SearchHitSchema(Base):
    type = Choice(["document", "agreement", "obligation"], required=True,
                  metadata={"description": "A document's pages, an agreement's sections, or an obligation"})
    id = fields.Integer(required=True, metadata={"description": "The document's, agreement's or obligation's id"})
    document_id = fields.Integer(required=True, allow_none=True,
                                 metadata={"description": "The document's id; null for other types"})
    title = fields.String(required=True)
    organisation = fields.Integer(required=True, allow_none=True)
    organisation_name = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True)
    year = fields.Integer(required=True, allow_none=True)
    page = fields.Integer(required=True, allow_none=True)
    snippet = fields.String(required=True, metadata={"description": "HTML-escaped text with <mark> around matches"})
    score = fields.Float(required=True)
    pages = fields.List(fields.Nested(SearchPageSchema), required=True)
    url = fields.String(required=True, metadata={
        "description": "Opens the hit: a document at the page in the viewer, an agreement, or the obligation"})


class SearchResultSchema(Base):
    total = fields.Integer(required=True, metadata={"description": "Matching documents (groups), not pages"})
    hits = fields.List(fields.Nested(SearchHitSchema), required=True)
    facets = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                         required=True, metadata={"description": "Matching pages per organisation id, kind and year"})
    suggestion = fields.String(required=True, allow_none=True,
                               metadata={"description": "A spelling that finds more, if any"})


# --- agreements --------------------------------------------------------------------------------------------

_SECTION_DATA = ("The section's figures, by its kind. allocation: share_percent (0-100), quota_per_year (whole,"
                 " 0-1000000). trappemodel: steps, a list of {department_id (a department of a party), year"
                 " (1900-2200), step (0-99), share_percent (0-100), criteria}. Other kinds: {}. Anything else is"
                 " answered 400, naming the field as sections.<id>.data.<key>")


class SectionSchema(Base):
    id = fields.String(required=True)
    heading = fields.String(required=True)
    text = fields.String(required=True)
    kind = Choice(["text", "allocation", "trappemodel"], required=True)
    data = fields.Dict(required=True, metadata={"description": "Structured content of allocation and trappemodel sections"})


class ApprovalSchema(Base):
    party = fields.Integer(required=True, attribute="party_id")
    revision = fields.Integer(required=True)
    revision_hash = fields.String(required=True)
    approved_by = fields.Function(lambda a: a.approved_by.email if a.approved_by else None, required=True,
                                  allow_none=True, metadata={"type": "string",
                                                             "description": "The signatory's e-mail address"})
    approved_at = DateTime(required=True)


class AgreementSchema(Base):
    """Dumps an `AgreementView`: the agreement with its newest revision's sections and approvals."""

    id = fields.Integer(required=True, attribute="agreement.id")
    title = fields.String(required=True, attribute="agreement.title")
    type = Choice(AgreementType, required=True, attribute="agreement.type")
    status = Choice(AgreementStatus, required=True, attribute="agreement.status")
    revision = fields.Integer(required=True, attribute="agreement.head",
                              metadata={"description": "The newest revision's number"})
    revision_hash = fields.String(required=True, attribute="revision.content_hash",
                                  metadata={"description": "SHA-256 of the newest revision: what an approval binds to"})
    parties = fields.Function(lambda view: sorted(view.agreement.party_ids), required=True,
                              metadata={"type": "array", "items": {"type": "integer"},
                                        "description": "The municipality and the organisations that accepted"})
    pending_parties = fields.Function(lambda view: sorted(p.party_id for p in view.agreement.pending),
                                      metadata={"type": "array", "items": {"type": "integer"}, "description":
                                                "Organisations named but yet to accept (not parties until they do)"})
    term_start = Date(required=True, allow_none=True, attribute="agreement.term_start")
    term_end = Date(required=True, allow_none=True, attribute="agreement.term_end")
    sections = fields.List(fields.Nested(SectionSchema), required=True)
    approvals = fields.List(fields.Nested(ApprovalSchema), required=True,
                            metadata={"description": "Approvals of the newest revision"})


class AgreementCreateSchema(Base):
    title = Text(required=True)
    type = Choice(AgreementType, required=True)
    organisations = List(Whole(1), required=True, validate=validate.Length(min=1, error="Mindst én organisation."),
                         metadata={"description": "Ids of active organisations"})
    term_start = Date(allow_none=True)
    term_end = Date(allow_none=True, metadata={"description": "Not before term_start"})


class SectionChangeSchema(Base):
    text = Text()
    heading = Text()
    data = Object(metadata={"description": _SECTION_DATA})


class AgreementPatchSchema(Base):
    base_revision = Whole(1, required=True, metadata={"description": "The revision the changes were made to"})
    sections = Object(keys=Text(), values=Nested(SectionChangeSchema), required=True,
                      metadata={"description": "Section id → the changed fields"})


class SavedSchema(Base):
    revision = fields.Integer(required=True)
    changed = fields.Boolean(required=True)
    revision_hash = fields.String(required=True)


class ConflictItemSchema(Base):
    section_id = fields.String()
    heading = fields.String()
    field = fields.String()
    reason = fields.String()
    base = fields.Raw()
    mine = fields.Raw()
    theirs = fields.Raw()


class ConflictSchema(Base):
    error = fields.Nested(ErrorBodySchema, required=True)
    conflicts = fields.List(fields.Nested(ConflictItemSchema), required=True)
    head_revision = fields.Integer()
    unsaved = fields.Dict(metadata={"description": "Changes that merged but were not saved either"})


class SectionAddSchema(Base):
    heading = Text(required=True)
    base_revision = Whole(1, required=True, metadata={"description": "At most the newest revision"})
    after = Text(allow_none=True, metadata={"description": "The section to add it after; at the end without"})


class SectionAddedSchema(Base):
    section_id = fields.String(required=True)
    revision = fields.Integer(required=True)


class InvitedSchema(Base):
    party = fields.Integer(attribute="party_id")
    invited_by_party = fields.Integer(allow_none=True, attribute="invited_by_party_id")
    invited_by = fields.Function(lambda link: link.invited_by.name if link.invited_by else None, allow_none=True,
                                 metadata={"type": "string"})


class InvitationSchema(Base):
    """Dumps an `InvitationView`: what an invited party sees before it accepts."""

    id = fields.Integer(required=True, attribute="agreement.id")
    title = fields.String(required=True, attribute="agreement.title")
    type = Choice(AgreementType, required=True, attribute="agreement.type")
    status = Choice(AgreementStatus, required=True, attribute="agreement.status")
    term_start = Date(required=True, allow_none=True, attribute="agreement.term_start")
    term_end = Date(required=True, allow_none=True, attribute="agreement.term_end")
    invited = fields.List(fields.Nested(InvitedSchema), required=True,
                          metadata={"description": "The caller's parties still to answer"})


class InvitationAnswerSchema(Base):
    accept = StrictBoolean(required=True, metadata={"description": "true accepts, false declines"})


class InvitationAnsweredSchema(Base):
    id = fields.Integer(required=True)
    accepted = fields.List(fields.Integer())
    declined = fields.List(fields.Integer())


class ApprovalRequestSchema(Base):
    revision = Whole(required=True, metadata={"description": "The newest revision, as read"})


# --- obligations -------------------------------------------------------------------------------------------

class EvidenceSchema(Base):
    document_id = fields.Integer(required=True, allow_none=True)
    page = fields.Integer(required=True, allow_none=True)
    url = fields.String(required=True, allow_none=True)
    comment = fields.String(required=True)


class ObligationSchema(Base):
    """Dumps an occurrence: one due date of an obligation, and where it stands."""

    id = fields.Integer(required=True, metadata={"description": "The occurrence (one due date of the obligation)"})
    obligation_id = fields.Integer(required=True, attribute="obligation.id")
    title = fields.String(required=True, attribute="obligation.title")
    description = fields.String(required=True, attribute="obligation.description")
    responsible_party = fields.Integer(required=True, attribute="obligation.responsible_party_id")
    responsible_party_name = fields.String(required=True, attribute="obligation.responsible_party.name")
    verifying_party = fields.Integer(required=True, attribute="obligation.verifying_party_id")
    verifying_party_name = fields.String(required=True, attribute="obligation.verifying_party.name")
    agreement = fields.Integer(required=True, allow_none=True, attribute="obligation.agreement_id")
    section = fields.String(required=True, allow_none=True, attribute="obligation.section_id")
    meeting = fields.Integer(required=True, allow_none=True, attribute="obligation.meeting_id")
    due_date = Date(required=True)
    status = Choice(OccurrenceStatus, required=True)
    status_note = fields.String(required=True, metadata={
        "description": "The report's comment, or why it was rejected or waived"})
    overdue = fields.Function(lambda o: o.is_overdue(date.today()), required=True, metadata={"type": "boolean"})
    recurrence = Choice(["none", "monthly", "quarterly", "yearly"], required=True, attribute="obligation.recurrence")
    evidence = fields.List(fields.Nested(EvidenceSchema), required=True)
    url = fields.Function(lambda o: url_for("obligations.show", occurrence_id=o.id, _external=True), required=True,
                          metadata={"type": "string", "description": "The occurrence's page in the portal"})


class ObligationListSchema(Base):
    total = fields.Integer(required=True)
    obligations = fields.List(fields.Nested(ObligationSchema), required=True)


class ObligationQuerySchema(Base):
    party = Text(metadata={"description": "Party id or CVR (responsible or verifying)"})
    status = Choice([*_values(OccurrenceStatus), "overdue"], metadata={"description": "An occurrence status, or overdue"})
    due_before = Date(metadata={"description": "Due before this date (exclusive)"})


class EvidenceInSchema(Base):
    """A document the reporter may read (at a page), or a link."""

    document_id = Whole(1, allow_none=True)
    page = Whole(1, allow_none=True, metadata={"description": "A page of the document"})
    url = Text(allow_none=True, metadata={"description": "Used when no document_id is given"})


class ReportSchema(Base):
    comment = Text(load_default="")
    evidence = List(Nested(EvidenceInSchema), load_default=list,
                    metadata={"description": "Needed unless evidence was added before"})


class RejectSchema(Base):
    reason = Text(required=True)


class DocumentDescriptionSchema(Base):
    openapi = fields.String(required=True)
    info = fields.Dict(required=True)
    paths = fields.Dict(required=True)


def flatten_messages(messages: Any, path: str = "") -> dict[str, str]:
    """marshmallow's nested messages as field path → message: `sections.<id>.data`, `evidence[0].url`
    (the way the services name nested fields too)."""
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                child = path
            elif key == "value" and path and isinstance(value, dict | list):  # a Dict field's value: its key names it
                child = path
            elif key == "key" and path:
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            for name, message in flatten_messages(value, child).items():
                flat[name] = f"{flat[name]} {message}" if name in flat else message
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[path or "body"] = " ".join(messages)
    elif isinstance(messages, list):
        for item in messages:
            flat.update(flatten_messages(item, path))
    else:
        flat[path or "body"] = str(messages)
    return flat
