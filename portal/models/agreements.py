"""Agreements co-written by the municipality and organisations: sections, immutable
revisions, comments and suggestions, approvals bound to one revision per party."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.parties import Party, _values
from portal.models.users import User


class AgreementType(str, enum.Enum):
    STRATEGISK = "strategisk"  # the municipality-wide framework on allocation and balanced cities
    INDIVIDUEL = "individuel"  # per organisation, under a framework
    STYRINGSDIALOG = "styringsdialog"  # made at a dialogue meeting
    ANDET = "andet"


class AgreementStatus(str, enum.Enum):
    DRAFT = "draft"
    NEGOTIATION = "negotiation"
    AWAITING_APPROVAL = "awaiting_approval"
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"


def _enum(cls: type[enum.Enum], length: int = 30) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=_values, validate_strings=True)


class PartyConsent(str, enum.Enum):
    """Whether a named party has agreed to take part. Naming an organisation only invites it:
    until it accepts, it is not a party (it sees no data, owes nothing, approves nothing)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Agreement(Base):
    __tablename__ = "agreements"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    type: Mapped[AgreementType] = mapped_column(_enum(AgreementType))
    status: Mapped[AgreementStatus] = mapped_column(_enum(AgreementStatus), default=AgreementStatus.DRAFT)
    framework_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id", ondelete="SET NULL"), default=None)
    term_start: Mapped[date | None] = mapped_column(Date, default=None)
    term_end: Mapped[date | None] = mapped_column(Date, default=None)
    head: Mapped[int] = mapped_column(Integer, default=0)  # the newest revision's number
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Every party named, with its consent; write through this one.
    invitations: Mapped[list["AgreementParty"]] = relationship(back_populates="agreement", cascade="all, delete-orphan",
                                                               lazy="selectin")
    # The parties that accepted: the only ones anything else may treat as parties (read, obligations,
    # approvals, departments, search readers). Read-only; expire it after a consent changes.
    parties: Mapped[list["AgreementParty"]] = relationship(
        primaryjoin="and_(Agreement.id == AgreementParty.agreement_id, AgreementParty.consent == 'accepted')",
        viewonly=True, lazy="selectin")
    revisions: Mapped[list["AgreementRevision"]] = relationship(
        back_populates="agreement", order_by="AgreementRevision.number", cascade="all, delete-orphan",
        passive_deletes=True)

    @property
    def party_ids(self) -> set[int]:
        """The accepted parties' ids."""
        return {p.party_id for p in self.parties}

    @property
    def pending(self) -> list["AgreementParty"]:
        return [p for p in self.invitations if p.consent is PartyConsent.PENDING]


class AgreementParty(Base):
    __tablename__ = "agreement_parties"
    __table_args__ = (UniqueConstraint("agreement_id", "party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    consent: Mapped[PartyConsent] = mapped_column(_enum(PartyConsent, 20), default=PartyConsent.ACCEPTED)
    invited_by_party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), default=None)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)

    agreement: Mapped[Agreement] = relationship(back_populates="invitations")
    party: Mapped[Party] = relationship(lazy="joined", foreign_keys=[party_id])
    invited_by_party: Mapped[Party | None] = relationship(foreign_keys=[invited_by_party_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])


class AgreementRevision(Base):
    """One saved state of the whole text. Never changed after it is written (a trigger refuses it)."""

    __tablename__ = "agreement_revisions"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    based_on: Mapped[int | None] = mapped_column(Integer, default=None)  # the revision the editor started from
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    # {"order": [section ids], "sections": {id: {"heading", "text", "kind", "data"}}}
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(300), default="")

    agreement: Mapped[Agreement] = relationship(back_populates="revisions")
    created_by: Mapped[User | None] = relationship()


class AgreementComment(Base):
    """A comment on a section, threaded and resolvable; with `suggestion` set it proposes new text."""

    __tablename__ = "agreement_comments"
    __table_args__ = (Index("ix_agreement_comments_agreement_section", "agreement_id", "section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    section_id: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agreement_comments.id", ondelete="CASCADE"), default=None)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    body: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)  # the revision it was written against
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    suggestion: Mapped[str | None] = mapped_column(Text, default=None)
    suggestion_state: Mapped[str | None] = mapped_column(String(20), default=None)  # open, accepted, rejected
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    author_party: Mapped[Party] = relationship()
    agreement: Mapped[Agreement] = relationship()


class AgreementApproval(Base):
    """A party's approval of one revision, with that revision's hash. Voided, never deleted, by a later change."""

    __tablename__ = "agreement_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    revision: Mapped[int] = mapped_column(Integer)
    revision_hash: Mapped[str] = mapped_column(String(64))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(default=None)
    voided_by_revision: Mapped[int | None] = mapped_column(Integer, default=None)

    party: Mapped[Party] = relationship()
    approved_by: Mapped[User | None] = relationship()


class AgreementDocument(Base):
    __tablename__ = "agreement_documents"
    __table_args__ = (UniqueConstraint("agreement_id", "document_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))


class AgreementPresence(Base):
    """Who has a section open in the editor right now (refreshed by the page every few seconds)."""

    __tablename__ = "agreement_presence"
    __table_args__ = (UniqueConstraint("agreement_id", "section_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    section_id: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
