"""Documents and their versions: metadata in the database, bytes in the object store."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.parties import Department, Party, _values


class DocumentKind(str, enum.Enum):
    REFERAT = "referat"
    STYRINGSRAPPORT = "styringsrapport"
    AFDELINGSSKEMA = "afdelingsskema"
    REGNSKAB = "regnskab"
    REGNSKABSSPOERGESKEMA = "regnskabsspoergeskema"
    AARSBERETNING = "aarsberetning"
    ANALYSE = "analyse"
    REVISIONSPROTOKOL = "revisionsprotokol"
    REDEGOERELSE = "redegoerelse"
    AFTALE = "aftale"
    BILAG = "bilag"
    ANDET = "andet"


class Visibility(str, enum.Enum):
    PARTY = "party"  # the owning party only
    DIALOGUE = "dialogue"  # the owner and the municipality
    ALL_PARTIES = "all_parties"  # every logged-in user
    PUBLIC = "public"  # anyone, without logging in


class ExtractionStatus(str, enum.Enum):
    PENDING = "pending"
    EXTRACTED = "extracted"
    NEEDS_OCR = "needs_ocr"
    FAILED = "failed"
    UNSUPPORTED = "unsupported"  # stored, but no extractor exists for the type: not searchable


class Document(Base):
    __tablename__ = "documents"
    # AUTOINCREMENT on SQLite: a document's id is part of stable public URLs and is never reused.
    __table_args__ = (
        Index("ix_documents_party_year_kind", "party_id", "year", "kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"), default=None)
    kind: Mapped[DocumentKind] = mapped_column(
        Enum(DocumentKind, native_enum=False, length=30, values_callable=_values, validate_strings=True))
    year: Mapped[int] = mapped_column(Integer)  # styringsår
    title: Mapped[str] = mapped_column(String(300))
    visibility: Mapped[Visibility] = mapped_column(
        Enum(Visibility, native_enum=False, length=20, values_callable=_values, validate_strings=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    party: Mapped[Party] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship()
    versions: Mapped[list["DocumentVersion"]] = relationship(
        back_populates="document", order_by="DocumentVersion.number", cascade="all, delete-orphan")

    @property
    def current(self) -> "DocumentVersion":
        return self.versions[-1]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(200), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[ExtractionStatus] = mapped_column(
        Enum(ExtractionStatus, native_enum=False, length=20, values_callable=_values, validate_strings=True),
        default=ExtractionStatus.PENDING)
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    page_count: Mapped[int | None] = mapped_column(Integer, default=None)

    document: Mapped[Document] = relationship(back_populates="versions")
    pages: Mapped[list["DocumentPage"]] = relationship(
        back_populates="version", order_by="DocumentPage.number", cascade="all, delete-orphan", passive_deletes=True)


class DocumentPage(Base):
    """A page's extracted text, kept so the index can be rebuilt without extracting again."""

    __tablename__ = "document_pages"
    __table_args__ = (UniqueConstraint("version_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1-based
    text: Mapped[str] = mapped_column(Text)
    ocr: Mapped[bool] = mapped_column(default=False)

    version: Mapped[DocumentVersion] = relationship(back_populates="pages")
