"""The styringsdialog year of an organisation: its steps, the deadlines, the meeting and its agenda."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.parties import Party, _values
from portal.models.users import User


class DialogueStep(str, enum.Enum):
    """In order. The package is either returned for correction or accepted."""

    NOT_STARTED = "not_started"
    PACKAGE_RECEIVED = "package_received"
    PACKAGE_RETURNED = "package_returned"
    PACKAGE_ACCEPTED = "package_accepted"
    MEETING_PLANNED = "meeting_planned"
    MEETING_HELD = "meeting_held"
    MINUTES_DRAFTED = "minutes_drafted"
    MINUTES_APPROVED = "minutes_approved"
    MINUTES_PUBLISHED = "minutes_published"


STEP_ORDER: list[DialogueStep] = list(DialogueStep)


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=30, values_callable=_values, validate_strings=True)


class Dialogue(Base):
    __tablename__ = "dialogues"
    __table_args__ = (UniqueConstraint("party_id", "year"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)  # styringsår (the accounts are of the year before)
    step: Mapped[DialogueStep] = mapped_column(_enum(DialogueStep), default=DialogueStep.NOT_STARTED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    party: Mapped[Party] = relationship(lazy="joined")
    events: Mapped[list["DialogueEvent"]] = relationship(back_populates="dialogue", order_by="DialogueEvent.id",
                                                         cascade="all, delete-orphan")
    meeting: Mapped["Meeting | None"] = relationship(back_populates="dialogue", uselist=False,
                                                     cascade="all, delete-orphan")


class DialogueEvent(Base):
    """One step taken (or taken back), with its date, who and a note."""

    __tablename__ = "dialogue_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id", ondelete="CASCADE"), index=True)
    step: Mapped[DialogueStep] = mapped_column(_enum(DialogueStep))
    on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dialogue: Mapped[Dialogue] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class DialogueDeadline(Base):
    """The municipality's deadline for a step, as a day of the styringsår (e.g. package by 1 July)."""

    __tablename__ = "dialogue_deadlines"
    __table_args__ = (UniqueConstraint("municipality_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    step: Mapped[DialogueStep] = mapped_column(_enum(DialogueStep))
    month: Mapped[int] = mapped_column(Integer)
    day: Mapped[int] = mapped_column(Integer)


class Meeting(Base):
    """The styringsdialog meeting: when, who, the agenda with its notes, and the minutes document."""

    __tablename__ = "meetings"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id", ondelete="CASCADE"), unique=True)
    starts_at: Mapped[datetime] = mapped_column()
    location: Mapped[str] = mapped_column(String(300), default="")
    participants: Mapped[str] = mapped_column(Text, default="")
    # [{"key": "regnskab", "heading": "...", "notes": "..."}] in the standard order
    agenda: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    minutes_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"), default=None)

    dialogue: Mapped[Dialogue] = relationship(back_populates="meeting")
