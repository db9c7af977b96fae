"""Parties and departments: the municipality manages organisations; organisations their departments."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import access
from portal.access import SYSTEM, Actor, load, require
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.models import Department, HousingType, Party, PartyKind
from portal.models.base import MAX_INT
from portal.services.audit import record_event

_CVR = re.compile(r"^\d{8}$")
_CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def normalise_cvr(cvr: str) -> str:
    return re.sub(r"[\s-]", "", cvr or "")


def validate_cvr(cvr: str) -> str:
    """Eight digits passing the modulus-11 check of the Central Business Register."""
    cvr = normalise_cvr(cvr)
    if not _CVR.match(cvr):
        raise InvalidInput(fields={"cvr": "CVR-nummeret skal være 8 cifre."})
    if sum(int(d) * w for d, w in zip(cvr, _CVR_WEIGHTS)) % 11 != 0:
        raise InvalidInput(fields={"cvr": "CVR-nummeret er ikke gyldigt (kontrolcifferet passer ikke)."})
    return cvr


def _snapshot(party: Party) -> dict[str, Any]:
    return {"name": party.name, "cvr": party.cvr, "municipality_name": party.municipality_name, "active": party.active}


def get_municipality() -> Party:
    party = db.session.scalar(select(Party).where(Party.kind == PartyKind.MUNICIPALITY).order_by(Party.id).limit(1))
    if party is None:
        raise NotFound("Portalen har endnu ingen kommune. Kør `portal demo` eller opret kommunen.")
    return party


def find_municipality() -> Party | None:
    return db.session.scalar(select(Party).where(Party.kind == PartyKind.MUNICIPALITY).order_by(Party.id).limit(1))


def find_party_by_reference(reference: str) -> Party | None:
    """A party by id, CVR, or the word `municipality`."""
    reference = reference.strip()
    if reference.lower() in {"municipality", "kommune", "kommunen"}:
        return find_municipality()
    cvr = normalise_cvr(reference)
    if len(cvr) == 8 and cvr.isdigit():
        party = db.session.scalar(select(Party).where(Party.cvr == cvr))
        if party is not None:
            return party
    # Only ASCII digits make an id ("²" is a digit to str.isdigit, not to int), and none beyond the largest.
    if reference.isascii() and reference.isdigit() and int(reference) <= MAX_INT:
        return db.session.get(Party, int(reference))
    return None


def list_organisations(actor: Actor) -> list[Party]:
    """Organisations the actor may see: all of them for the municipality, its own otherwise."""
    stmt = (select(Party).where(Party.kind == PartyKind.ORGANISATION).order_by(Party.name)
            .options(selectinload(Party.departments)))
    return list(db.session.scalars(stmt.where(access.party_read_clause(actor))))


def create_party(actor: Actor, *, kind: PartyKind, name: str, cvr: str, municipality_name: str = "") -> Party:
    """Create the municipality (only when none exists, by the operator) or an organisation."""
    municipality = find_municipality()
    if kind is PartyKind.MUNICIPALITY:
        if municipality is not None:
            raise InvalidInput("Portalen har allerede en kommune.")
        if actor is not SYSTEM:  # only the operator founds the municipality
            raise NotFound()
    else:
        if municipality is None:
            raise InvalidInput("Opret kommunen før organisationerne.")
        require(actor, "party:create", municipality)
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Navnet skal udfyldes."
    try:
        cvr = validate_cvr(cvr)
    except InvalidInput as exc:
        errors.update(exc.fields)
    if errors:
        raise InvalidInput(fields=errors)
    if db.session.scalar(select(func.count()).where(Party.cvr == cvr)):
        raise InvalidInput(fields={"cvr": "Der findes allerede en part med dette CVR-nummer."})
    party = Party(
        kind=kind,
        name=name,
        cvr=cvr,
        municipality_name=(municipality_name or (municipality.municipality_name if municipality else name)).strip(),
    )
    db.session.add(party)
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise InvalidInput(fields={"cvr": "Der findes allerede en part med dette CVR-nummer."}) from exc
    record_event(actor, "party.create", "party", party.id, party_id=party.id, after=_snapshot(party))
    return party


def update_party(actor: Actor, party_id: int, *, name: str, municipality_name: str, active: bool | None = None) -> Party:
    party = load(actor, Party, party_id, "party:update")
    before = _snapshot(party)
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": "Navnet skal udfyldes."})
    party.name = name
    party.municipality_name = (municipality_name or party.municipality_name).strip()
    if active is not None and not party.is_municipality:
        party.active = active
    record_event(actor, "party.update", "party", party.id, party_id=party.id, before=before, after=_snapshot(party))
    return party


def _department_snapshot(d: Department) -> dict[str, Any]:
    return {"lbf_number": d.lbf_number, "name": d.name, "address": d.address,
            "housing_type": d.housing_type.value, "homes": d.homes}


def _validate_department(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    lbf = str(data.get("lbf_number", "")).strip()
    name = str(data.get("name", "")).strip()
    if not lbf:
        errors["lbf_number"] = "Afdelingsnummeret skal udfyldes."
    if not name:
        errors["name"] = "Navnet skal udfyldes."
    try:
        housing_type = HousingType(str(data.get("housing_type", "")))
    except ValueError:
        errors["housing_type"] = "Vælg en boligtype: familie, ungdom eller ældre."
        housing_type = HousingType.FAMILY
    try:
        homes = int(str(data.get("homes", "0")).strip() or 0)
        if homes < 0:
            raise ValueError
    except ValueError:
        errors["homes"] = "Antal boliger skal være et helt tal, 0 eller derover."
        homes = 0
    if errors:
        raise InvalidInput(fields=errors)
    return {"lbf_number": lbf, "name": name, "address": str(data.get("address", "")).strip(),
            "housing_type": housing_type, "homes": homes}


def create_department(actor: Actor, party_id: int, data: dict[str, Any]) -> Department:
    party = load(actor, Party, party_id, "party:read")
    require(actor, "department:create", party)
    values = _validate_department(data)
    if any(d.lbf_number == values["lbf_number"] for d in party.departments):
        raise InvalidInput(fields={"lbf_number": "Organisationen har allerede en afdeling med dette nummer."})
    department = Department(party_id=party.id, **values)
    db.session.add(department)
    db.session.flush()
    record_event(actor, "department.create", "department", department.id, party_id=party.id,
                 after=_department_snapshot(department))
    return department


def update_department(actor: Actor, department_id: int, data: dict[str, Any]) -> Department:
    department = load(actor, Department, department_id, "department:update")
    values = _validate_department(data)
    clash = db.session.scalar(select(Department).where(
        Department.party_id == department.party_id, Department.lbf_number == values["lbf_number"],
        Department.id != department.id))
    if clash is not None:
        raise InvalidInput(fields={"lbf_number": "Organisationen har allerede en afdeling med dette nummer."})
    before = _department_snapshot(department)
    for key, value in values.items():
        setattr(department, key, value)
    record_event(actor, "department.update", "department", department.id, party_id=department.party_id,
                 before=before, after=_department_snapshot(department))
    return department
