"""Parties (the municipality and the housing organisations) and their departments."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, utcnow


class PartyKind(str, enum.Enum):
    MUNICIPALITY = "municipality"
    ORGANISATION = "organisation"


class HousingType(str, enum.Enum):
    FAMILY = "familie"
    YOUTH = "ungdom"
    ELDERLY = "aeldre"


def _values(enum_cls: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_cls]


class Party(Base):
    __tablename__ = "parties"
    __table_args__ = (CheckConstraint("length(cvr) = 8", name="cvr_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PartyKind] = mapped_column(
        Enum(PartyKind, native_enum=False, length=20, values_callable=_values, validate_strings=True)
    )
    name: Mapped[str] = mapped_column(String(200))
    cvr: Mapped[str] = mapped_column(String(8), unique=True)
    # The municipality where the organisation has its registered seat (hjemsted).
    municipality_name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    departments: Mapped[list["Department"]] = relationship(
        back_populates="party", order_by="Department.lbf_number", cascade="all, delete-orphan"
    )

    @property
    def is_municipality(self) -> bool:
        return self.kind is PartyKind.MUNICIPALITY

    def __repr__(self) -> str:
        return f"<Party {self.id} {self.kind.value} {self.name!r}>"


class Department(Base):
    """An afdeling of an organisation, identified by Landsbyggefonden's number (LBF)."""

    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("party_id", "lbf_number"),
        CheckConstraint("homes >= 0", name="homes_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"), index=True)
    lbf_number: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    housing_type: Mapped[HousingType] = mapped_column(
        Enum(HousingType, native_enum=False, length=20, values_callable=_values, validate_strings=True)
    )
    homes: Mapped[int] = mapped_column(Integer, default=0)

    party: Mapped[Party] = relationship(back_populates="departments")
