"""Key figures (nøgletal) per organisation or department and year, the municipality's
thresholds that mark a figure critical, and each department's area status per year."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow
from portal.models.parties import Department, Party, _values


class Metric(str, enum.Enum):
    """The key figures the supervision follows; labels, units and usual directions are in
    `portal.services.keyfigures.METRICS`."""

    HENLAEGGELSER_PR_BOLIG = "henlaeggelser_pr_bolig"
    HUSLEJE_PR_M2 = "husleje_pr_m2"
    FRAFLYTNING = "fraflytning"
    TOMGANG = "tomgang"
    LEDIGE_LEJLIGHEDER = "ledige_lejligheder"
    RESTANCER = "restancer"
    DRIFTSUDGIFTER_PR_M2 = "driftsudgifter_pr_m2"
    EGENKAPITAL = "egenkapital"
    ARBEJDSKAPITAL = "arbejdskapital"
    DISPOSITIONSFOND = "dispositionsfond"
    EFFEKTIVITETSTAL = "effektivitetstal"


class ThresholdDirection(str, enum.Enum):
    ABOVE = "above"  # critical when the value is strictly greater than the threshold
    BELOW = "below"  # critical when the value is strictly less than the threshold


class AreaStatus(str, enum.Enum):
    """The ministry's yearly classification of the area a department lies in."""

    UDSAT_BOLIGOMRAADE = "udsat_boligomraade"
    PARALLELSAMFUND = "parallelsamfund"
    OMDANNELSESOMRAADE = "omdannelsesomraade"
    FOREBYGGELSESOMRAADE = "forebyggelsesomraade"


def _enum(cls: type[enum.Enum], length: int = 30) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=_values, validate_strings=True)


# Kroner up to 14 digits (a large organisation's equity) and four decimals (percentages, ratios).
VALUE_PRECISION, VALUE_SCALE = 18, 4


def _value() -> Numeric[Decimal]:
    return Numeric(VALUE_PRECISION, VALUE_SCALE, asdecimal=True)


class KeyFigure(Base):
    """One figure: an organisation's (department_id NULL) or one of its departments', for a year."""

    __tablename__ = "key_figures"
    __table_args__ = (
        UniqueConstraint("party_id", "department_id", "year", "metric"),
        # NULLs are distinct in a unique constraint, so the organisation-level figures need one of their own.
        Index("uq_key_figures_organisation_level", "party_id", "year", "metric", unique=True,
              sqlite_where=text("department_id IS NULL"), postgresql_where=text("department_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), default=None,
                                                      index=True)
    year: Mapped[int] = mapped_column(Integer)
    metric: Mapped[Metric] = mapped_column(_enum(Metric, 40))
    value: Mapped[Decimal] = mapped_column(_value())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    party: Mapped[Party] = relationship()
    department: Mapped[Department | None] = relationship()


class Threshold(Base):
    """The municipality's limit for a metric: beyond it (strictly), a figure is critical."""

    __tablename__ = "key_figure_thresholds"
    __table_args__ = (UniqueConstraint("municipality_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    metric: Mapped[Metric] = mapped_column(_enum(Metric, 40))
    direction: Mapped[ThresholdDirection] = mapped_column(_enum(ThresholdDirection, 10))
    value: Mapped[Decimal] = mapped_column(_value())
    unit: Mapped[str] = mapped_column(String(30), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)


class DepartmentAreaStatus(Base):
    """A department's area status in one year; no row means no status that year."""

    __tablename__ = "department_area_statuses"
    __table_args__ = (UniqueConstraint("department_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[AreaStatus] = mapped_column(_enum(AreaStatus))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    department: Mapped[Department] = relationship()
