"""Obligations created by agreements and dialogue meetings, each occurrence tracked on its own,
with evidence, reminders that are sent exactly once, and the allocation log."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.parties import Department, Party, _values
from portal.models.users import User


class OccurrenceStatus(str, enum.Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    REPORTED_DONE = "reported_done"
    VERIFIED = "verified"
    REJECTED = "rejected"
    WAIVED = "waived"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=_values, validate_strings=True)


class Obligation(Base):
    __tablename__ = "obligations"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    responsible_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    # The party that verifies what the responsible party reports.
    verifying_party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    responsible_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), default=None,
                                                     index=True)
    section_id: Mapped[str | None] = mapped_column(String(40), default=None)
    meeting_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    # A deadline of the styringsdialog: settled when the dialogue reaches `dialogue_step`.
    dialogue_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    dialogue_step: Mapped[str | None] = mapped_column(String(30), default=None)
    first_due: Mapped[date] = mapped_column(Date)
    recurrence: Mapped[str] = mapped_column(String(20), default="none")  # none, monthly, quarterly, yearly
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    reminder_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [14, 3])
    # Obligations from an agreement come into force when the agreement becomes active.
    in_force: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    responsible_party: Mapped[Party] = relationship(foreign_keys=[responsible_party_id], lazy="joined")
    verifying_party: Mapped[Party] = relationship(foreign_keys=[verifying_party_id], lazy="joined")
    responsible_user: Mapped[User | None] = relationship(foreign_keys=[responsible_user_id])
    occurrences: Mapped[list["Occurrence"]] = relationship(back_populates="obligation", order_by="Occurrence.due_date",
                                                           cascade="all, delete-orphan")


class Occurrence(Base):
    """One due date of an obligation, with its own status and evidence. Overdue is computed, not stored."""

    __tablename__ = "obligation_occurrences"
    __table_args__ = (UniqueConstraint("obligation_id", "due_date"), Index("ix_occurrences_due_status", "due_date", "status"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligations.id", ondelete="CASCADE"))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[OccurrenceStatus] = mapped_column(_enum(OccurrenceStatus), default=OccurrenceStatus.OPEN)
    status_note: Mapped[str] = mapped_column(Text, default="")  # the report's comment, or why rejected/waived
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    obligation: Mapped[Obligation] = relationship(back_populates="occurrences", lazy="joined")
    evidence: Mapped[list["Evidence"]] = relationship(back_populates="occurrence", cascade="all, delete-orphan",
                                                      order_by="Evidence.id")

    def is_overdue(self, today: date) -> bool:
        return self.due_date < today and self.status in (OccurrenceStatus.OPEN, OccurrenceStatus.IN_PROGRESS,
                                                         OccurrenceStatus.REJECTED)


class Evidence(Base):
    """Proof of fulfilment: an uploaded or existing document (optionally at a page), or a link."""

    __tablename__ = "obligation_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("obligation_occurrences.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"), default=None)
    page: Mapped[int | None] = mapped_column(Integer, default=None)
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    comment: Mapped[str] = mapped_column(Text, default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    occurrence: Mapped[Occurrence] = relationship(back_populates="evidence")


class ReminderSent(Base):
    """One reminder step of one occurrence; the unique key is what makes a reminder go out once."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("occurrence_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(ForeignKey("obligation_occurrences.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(40))  # "before-14", "due", "overdue-2026-W47"
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)


class MailLog(Base):
    """Every message the portal sends; without SMTP configured this is where admins read them."""

    __tablename__ = "mail_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class CalendarFeed(Base):
    """A user's secret iCal address; only its hash is stored, and it can be revoked."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AllocationEntry(Base):
    """Homes offered to and taken by the municipality's allocation, per department and quarter."""

    __tablename__ = "allocation_log"
    __table_args__ = (UniqueConstraint("agreement_id", "department_id", "year", "quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    vacant: Mapped[int] = mapped_column(Integer, default=0)  # family homes that became vacant
    offered: Mapped[int] = mapped_column(Integer, default=0)  # offered to the municipality
    taken: Mapped[int] = mapped_column(Integer, default=0)  # let to the municipality's applicants
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department] = relationship()
