"""The allocation log of an agreement's kommunal anvisning: per department and quarter, the
family homes that became vacant, how many were offered to the municipality and how many it
let; compared with the agreed share (the department's trappemodel step for the year, else
the agreement's LAB § 59 stk. 1 share), flagging shortfalls."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from portal import access
from portal.access import Actor, load
from portal.errors import InvalidInput
from portal.extensions import db
from portal.models import Agreement, AllocationEntry, Department, PartyKind, User
from portal.services.agreements import get_revision
from portal.services.audit import record_event
from portal.services.section_data import readable_section_data


@dataclass(frozen=True)
class AllocationRow:
    department: Department
    year: int
    quarter: int
    vacant: int
    offered: int
    taken: int
    share_percent: float | None
    step: Any
    expected: int | None

    @property
    def shortfall(self) -> bool:
        return self.expected is not None and self.offered < self.expected


def agreed_share(content: dict[str, Any], department_id: int, year: int) -> tuple[float | None, Any]:
    """The anvisning share for a department and year: its trappemodel step if placed, else the general share.

    Reads only the well-formed part of each section's data, so data stored before it was checked
    leaves a figure out rather than breaking the page."""
    general = None
    sections = content.get("sections") if isinstance(content.get("sections"), dict) else {}
    for sid in content.get("order") or []:
        section = sections.get(sid)
        if not isinstance(section, dict):
            continue
        data = readable_section_data(section.get("kind"), section.get("data"))
        if section.get("kind") == "trappemodel":
            for step in data.get("steps", []):
                if step.get("department_id") == department_id and step.get("year") == year and \
                        step.get("share_percent") is not None:
                    return float(step["share_percent"]), step.get("step")
        if section.get("kind") == "allocation" and data.get("share_percent") is not None and general is None:
            general = float(data["share_percent"])
    return general, None


def _departments(agreement: Any) -> list[Department]:
    organisations = [p.party_id for p in agreement.parties if p.party.kind is PartyKind.ORGANISATION]
    return list(db.session.scalars(select(Department).where(Department.party_id.in_(organisations))
                                   .order_by(Department.party_id, Department.lbf_number)))


def record(actor: Actor, agreement_id: int, data: dict[str, Any]) -> AllocationEntry:
    agreement = load(actor, Agreement, agreement_id, "allocation:record")
    errors: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for field, label in (("department", "afdeling"), ("year", "år"), ("quarter", "kvartal"), ("vacant", "ledige"),
                         ("offered", "tilbudt"), ("taken", "anvist")):
        try:
            numbers[field] = int(str(data.get(field, "")).strip())
            if numbers[field] < 0:
                raise ValueError
        except ValueError:
            errors[field] = f"Skriv {label} som et helt tal."
    if not errors:
        if not 1 <= numbers["quarter"] <= 4:
            errors["quarter"] = "Kvartalet er 1-4."
        if numbers["offered"] > numbers["vacant"]:
            errors["offered"] = "Der kan ikke tilbydes flere boliger, end der blev ledige."
        if numbers["taken"] > numbers["offered"]:
            errors["taken"] = "Der kan ikke være anvist flere, end der blev tilbudt."
        department = db.session.get(Department, numbers["department"])
        if department is None or department not in _departments(agreement) or \
                not access.can(actor, "allocation:department", department):
            errors["department"] = "Vælg en af jeres afdelinger under aftalen."
    if errors:
        raise InvalidInput(fields=errors)
    entry = db.session.scalar(select(AllocationEntry).where(
        AllocationEntry.agreement_id == agreement.id, AllocationEntry.department_id == numbers["department"],
        AllocationEntry.year == numbers["year"], AllocationEntry.quarter == numbers["quarter"]))
    before = None
    if entry is None:
        entry = AllocationEntry(agreement_id=agreement.id, department_id=numbers["department"], year=numbers["year"],
                                quarter=numbers["quarter"])
        db.session.add(entry)
    else:
        before = {"vacant": entry.vacant, "offered": entry.offered, "taken": entry.taken}
    entry.vacant, entry.offered, entry.taken = numbers["vacant"], numbers["offered"], numbers["taken"]
    entry.recorded_by_id = actor.id if isinstance(actor, User) else None
    db.session.flush()
    record_event(actor, "allocation.record", "agreement", agreement.id, party_id=department.party_id, before=before,
                 after={"department": department.id, "year": entry.year, "quarter": entry.quarter,
                        "vacant": entry.vacant, "offered": entry.offered, "taken": entry.taken})
    return entry


def overview(actor: Actor, agreement_id: int, year: int) -> list[AllocationRow]:
    """Every department under the agreement, quarter by quarter for `year`, with agreed share and shortfall."""
    agreement = load(actor, Agreement, agreement_id, "allocation:read")
    content = get_revision(agreement).content
    entries = {(e.department_id, e.quarter): e for e in db.session.scalars(select(AllocationEntry).where(
        AllocationEntry.agreement_id == agreement.id, AllocationEntry.year == year))}
    rows = []
    for department in _departments(agreement):
        share, step = agreed_share(content, department.id, year)
        for quarter in range(1, 5):
            entry = entries.get((department.id, quarter))
            vacant = entry.vacant if entry else 0
            expected = math.ceil(vacant * share / 100) if (share is not None and entry) else None
            rows.append(AllocationRow(department=department, year=year, quarter=quarter, vacant=vacant,
                                      offered=entry.offered if entry else 0, taken=entry.taken if entry else 0,
                                      share_percent=share, step=step, expected=expected))
    return rows
