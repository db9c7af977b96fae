"""Key figures (nøgletal): the CSV import, the municipality's thresholds, which figures are
critical, one organisation's table and trends, and the departments' area status.

The import validates every row before it changes anything: one bad row and nothing is
imported, and the error names each bad line. Re-importing a file changes nothing.

`critical_figures`, `critical_for_party`, `list_thresholds` and `years_with_figures` take no
actor: they serve pages that have already checked permission (the overviews). Everything
else takes the actor first and checks it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import ScalarSelect, and_, select
from sqlalchemy.exc import IntegrityError

from portal.access import Actor, load, require
from portal.access import actor_user_id as _user_id
from portal.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from portal.extensions import db
from portal.i18n import N_
from portal.models import (
    AreaStatus,
    Department,
    DepartmentAreaStatus,
    KeyFigure,
    Metric,
    Party,
    PartyKind,
    Threshold,
    ThresholdDirection,
)
from portal.models.base import utcnow as _now
from portal.models.keyfigures import VALUE_PRECISION, VALUE_SCALE
from portal.services.audit import record_event
from portal.services.parties import (
    get_municipality,
    list_organisations,
    normalise_cvr,
)

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_LISTED_ERRORS = 100  # in the message; every one is in `details["lines"]`
_QUANTUM = Decimal(1).scaleb(-VALUE_SCALE)
_LIMIT = Decimal(10) ** (VALUE_PRECISION - VALUE_SCALE)


@dataclass(frozen=True)
class MetricInfo:
    code: Metric
    label: str  # Danish; also accepted in the CSV's metric column
    unit: str
    direction: ThresholdDirection  # the side on which a value usually becomes a concern


def _metric(code: Metric, label: str, unit: str, direction: ThresholdDirection) -> tuple[Metric, MetricInfo]:
    return code, MetricInfo(code, label, unit, direction)


_ABOVE, _BELOW = ThresholdDirection.ABOVE, ThresholdDirection.BELOW
METRICS: dict[Metric, MetricInfo] = dict([
    _metric(Metric.HENLAEGGELSER_PR_BOLIG, N_("Henlæggelser pr. bolig"), N_("kr."), _BELOW),
    _metric(Metric.HUSLEJE_PR_M2, N_("Husleje pr. m²"), N_("kr./m²/år"), _ABOVE),
    _metric(Metric.FRAFLYTNING, N_("Fraflytning"), "%", _ABOVE),
    _metric(Metric.TOMGANG, N_("Tomgang"), "%", _ABOVE),
    _metric(Metric.LEDIGE_LEJLIGHEDER, N_("Ledige lejligheder"), N_("antal"), _ABOVE),
    _metric(Metric.RESTANCER, N_("Restancer"), "%", _ABOVE),
    _metric(Metric.DRIFTSUDGIFTER_PR_M2, N_("Driftsudgifter pr. m²"), N_("kr./m²"), _ABOVE),
    _metric(Metric.EGENKAPITAL, N_("Egenkapital"), N_("kr."), _BELOW),
    _metric(Metric.ARBEJDSKAPITAL, N_("Arbejdskapital"), N_("kr."), _BELOW),
    _metric(Metric.DISPOSITIONSFOND, N_("Dispositionsfond"), N_("kr."), _BELOW),
    _metric(Metric.EFFEKTIVITETSTAL, N_("Effektivitetstal"), N_("tal"), _ABOVE),
])
DIRECTION_LABELS = {ThresholdDirection.ABOVE: N_("over"), ThresholdDirection.BELOW: N_("under")}
AREA_STATUS_LABELS = {
    AreaStatus.UDSAT_BOLIGOMRAADE: N_("Udsat boligområde"),
    AreaStatus.PARALLELSAMFUND: N_("Parallelsamfund"),
    AreaStatus.OMDANNELSESOMRAADE: N_("Omdannelsesområde"),
    AreaStatus.FOREBYGGELSESOMRAADE: N_("Forebyggelsesområde"),
}




def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


_METRIC_NAMES: dict[str, Metric] = {
    **{_fold(info.label): code for code, info in METRICS.items()},
    **{_fold(info.label.replace("²", "2")): code for code, info in METRICS.items()},
    **{code.value: code for code in METRICS},
}


def find_metric(name: str) -> Metric | None:
    """A metric by its code (`tomgang`) or its Danish label (`Husleje pr. m²`), ignoring case."""
    return _METRIC_NAMES.get(_fold(name or ""))


# --- numbers ---------------------------------------------------------------------------------
#
# Danish numbers group thousands with "." and mark decimals with ","; plain numbers mark decimals
# with ".". Only a lone dot followed by exactly three digits ("1.234") can be read both ways; the
# caller says how (`ambiguous`), and the import decides from the rest of the file.

_SPACES = re.compile(r"[\s\u00a0\u202f]")
_DANISH = re.compile(r"^(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)(?:,\d+)?$")
_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")
_AMBIGUOUS = re.compile(r"^[1-9]\d{0,2}\.\d{3}$")


def number_style(text: str) -> str:
    """`danish`, `plain`, `ambiguous`, `integer` or `invalid`: how `text` writes its number."""
    digits = _SPACES.sub("", text or "").lstrip("+-\u2212")
    if _AMBIGUOUS.match(digits):
        return "ambiguous"
    if digits.isdigit() and digits.isascii():
        return "integer"
    if _DANISH.match(digits):
        return "danish"
    if _PLAIN.match(digits):
        return "plain"
    return "invalid"


def parse_number(text: str, *, ambiguous: str = "thousands") -> Decimal:
    """The number in `text`, Danish ("1.234,5") or plain ("1234.5"), rounded to four decimals.

    `ambiguous` says how to read "1.234": `thousands` (1234, as a Danish form would mean it),
    `decimal` (1.234), or `error`. Raises ValueError when `text` is not a number it can read."""
    compact = _SPACES.sub("", text or "").replace("\u2212", "-")
    sign = ""
    if compact[:1] in "+-" and compact:
        sign, compact = compact[0], compact[1:]
    style = number_style(compact)
    if style == "ambiguous":
        if ambiguous == "error":
            raise ValueError("ambiguous")
        style = "danish" if ambiguous == "thousands" else "plain"
    if style == "danish":
        compact = compact.replace(".", "").replace(",", ".")
    elif style not in ("plain", "integer"):
        raise ValueError("not a number")
    try:
        value = Decimal(sign + compact).quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    if abs(value) >= _LIMIT:
        raise ValueError("too large")
    return value + 0  # no negative zero


# --- critical values -------------------------------------------------------------------------

class _Limit(Protocol):
    direction: ThresholdDirection
    value: Decimal


def is_critical(value: Decimal | None, threshold: _Limit | None) -> bool:
    """Strictly beyond the threshold: above → value > limit; below → value < limit. Equal is not critical."""
    if value is None or threshold is None:
        return False
    if threshold.direction is ThresholdDirection.ABOVE:
        return value > threshold.value
    if threshold.direction is ThresholdDirection.BELOW:
        return value < threshold.value
    return False


def _municipality_id() -> ScalarSelect[int]:
    return (select(Party.id).where(Party.kind == PartyKind.MUNICIPALITY).order_by(Party.id).limit(1)
            .scalar_subquery())


def list_thresholds(municipality_id: int | None = None) -> dict[Metric, Threshold]:
    """The municipality's thresholds by metric (the portal's municipality unless one is named)."""
    owner = _municipality_id() if municipality_id is None else municipality_id
    return {t.metric: t for t in db.session.scalars(select(Threshold).where(Threshold.municipality_id == owner))}


@dataclass(frozen=True)
class CriticalFigure:
    party_id: int
    department_id: int | None  # None: the organisation as a whole
    lbf_number: str | None
    department_name: str | None
    year: int
    metric: Metric
    value: Decimal
    threshold: Decimal
    direction: ThresholdDirection
    unit: str

    @property
    def info(self) -> MetricInfo:
        return METRICS[self.metric]


def critical_figures(party_ids: Iterable[int], year: int) -> dict[int, list[CriticalFigure]]:
    """The critical figures of each organisation for `year`: party id → figures (an empty list
    when none), organisation level first, then by department and the metric catalogue's order.

    One query whatever the number of organisations, so an overview of all of them stays cheap.
    Callers check permission first."""
    ids = sorted(set(party_ids))
    result: dict[int, list[CriticalFigure]] = {pid: [] for pid in ids}
    if not ids:
        return result
    stmt = (select(KeyFigure.party_id, KeyFigure.department_id, Department.lbf_number, Department.name,
                   KeyFigure.metric, KeyFigure.value, Threshold.value, Threshold.direction, Threshold.unit)
            .select_from(KeyFigure)
            .join(Threshold, and_(Threshold.metric == KeyFigure.metric, Threshold.municipality_id == _municipality_id()))
            .outerjoin(Department, Department.id == KeyFigure.department_id)
            .where(KeyFigure.party_id.in_(ids), KeyFigure.year == year))
    order = {code: index for index, code in enumerate(METRICS)}
    for party_id, department_id, lbf, name, metric, value, limit, direction, unit in db.session.execute(stmt):
        if is_critical(value, _Bound(direction, limit)):
            result[party_id].append(CriticalFigure(party_id, department_id, lbf, name, year, metric, value, limit,
                                                   direction, unit or METRICS[metric].unit))
    for figures in result.values():
        figures.sort(key=lambda f: (f.department_id is not None, _lbf_key(f.lbf_number), order[f.metric]))
    return result


@dataclass(frozen=True)
class _Bound:
    direction: ThresholdDirection
    value: Decimal


def _lbf_key(lbf: str | None) -> tuple[int, str]:
    lbf = lbf or ""
    return (int(lbf), "") if lbf.isdigit() else (1 << 62, lbf)


def critical_for_party(party_id: int, year: int) -> list[CriticalFigure]:
    """One organisation's critical figures for `year` (see `critical_figures`). Callers check permission."""
    return critical_figures([party_id], year)[party_id]


def years_with_figures(party_id: int | None = None) -> list[int]:
    """The years that have figures (for one organisation, or any), newest first."""
    stmt = select(KeyFigure.year).distinct().order_by(KeyFigure.year.desc())
    if party_id is not None:
        stmt = stmt.where(KeyFigure.party_id == party_id)
    return list(db.session.scalars(stmt))


# --- the CSV import ----------------------------------------------------------------------------

CSV_COLUMNS = ("cvr", "lbf", "year", "metric", "value")
_COLUMN_NAMES = {
    "cvr": "cvr", "cvr-nummer": "cvr", "cvrnr": "cvr",
    "lbf": "lbf", "lbf-nummer": "lbf", "lbfnr": "lbf", "afdeling": "lbf", "afdelingsnummer": "lbf",
    "year": "year", "år": "year", "aar": "year",
    "metric": "metric", "nøgletal": "metric", "noegletal": "metric",
    "value": "value", "værdi": "value", "vaerdi": "value",
}


@dataclass(frozen=True)
class ImportResult:
    rows: int  # figures in the file
    created: int
    updated: int
    unchanged: int
    organisations: int
    years: tuple[int, ...]

    @property
    def changed(self) -> int:
        return self.created + self.updated


@dataclass
class _Row:
    line: int
    cvr: str
    lbf: str
    year: int | None = None
    metric: Metric | None = None
    raw_value: str = ""
    value: Decimal | None = None
    party: Party | None = None
    department: Department | None = None
    problems: list[str] = field(default_factory=list)


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InvalidInput("Filen kan ikke læses som tekst. Gem den som CSV i UTF-8 eller Windows-1252 (ANSI).",
                           fields={"file": "Filen kan ikke læses som tekst."}) from exc


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        raise _file_error("Linje 1: overskriften skal være cvr;lbf;year;metric;value – adskilt af semikolon eller komma.")
    return best


def _file_error(message: str) -> InvalidInput:
    return InvalidInput(message, fields={"file": message}, lines=[message])


def _header(names: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        column = _COLUMN_NAMES.get(_fold(name.strip().strip('"')))
        if column is None:
            continue  # extra columns (a name for people to read, say) are allowed and ignored
        if column in columns:
            raise _file_error(f"Linje 1: kolonnen »{column}« står der to gange.")
        columns[column] = index
    missing = [c for c in CSV_COLUMNS if c not in columns]
    if missing:
        raise _file_error("Linje 1: overskriften mangler " + ", ".join(f"»{c}«" for c in missing)
                          + ". Den skal være cvr;lbf;year;metric;value.")
    return columns


def _read_rows(text: str) -> tuple[list[_Row], str]:
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise _file_error("Filen er tom.")
    delimiter = _delimiter(lines[first])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: dict[str, int] | None = None
    rows: list[_Row] = []
    try:
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            if columns is None:
                columns = _header(fields)
                width = len(fields)
                continue
            row = _Row(line=reader.line_num, cvr=_cell(fields, columns["cvr"]), lbf=_cell(fields, columns["lbf"]),
                       raw_value=_cell(fields, columns["value"]))
            extra = [f for f in fields[width:] if f.strip()]
            if len(fields) < width or extra:
                hint = " (står der et decimaltal med komma uden anførselstegn?)" if delimiter == "," and extra else ""
                row.problems.append(f"har {len(fields)} felter, men overskriften har {width}{hint}")
            _parse_year(row, _cell(fields, columns["year"]))
            _parse_metric(row, _cell(fields, columns["metric"]))
            rows.append(row)
    except csv.Error as exc:
        raise _file_error(f"Linje {reader.line_num}: filen kan ikke læses som CSV ({exc}).") from exc
    if not rows:
        raise _file_error("Filen indeholder ingen nøgletal – kun overskriften.")
    return rows, delimiter


def _cell(fields: list[str], index: int) -> str:
    return fields[index].strip() if index < len(fields) else ""


def _parse_year(row: _Row, raw: str) -> None:
    try:
        year = int(raw)
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError
        row.year = year
    except ValueError:
        row.problems.append(f"året »{raw}« skal være et årstal mellem {MIN_YEAR} og {MAX_YEAR}")


def _parse_metric(row: _Row, raw: str) -> None:
    row.metric = find_metric(raw)
    if row.metric is None:
        row.problems.append(f"ukendt nøgletal »{raw}«" if raw else "nøgletallet mangler")


def _file_number_style(rows: list[_Row], delimiter: str) -> str:
    """How this file means "1.234": as Danish thousands or a plain decimal, judged by its other
    values, else by its separator (Danish spreadsheets write ";"); `error` when they disagree."""
    styles = {number_style(row.raw_value) for row in rows}
    if "danish" in styles and "plain" in styles:
        return "error"
    if "danish" in styles or ("plain" not in styles and delimiter == ";"):
        return "thousands"
    if "plain" in styles or delimiter == ",":
        return "decimal"
    return "error"


def _parse_values(rows: list[_Row], delimiter: str) -> None:
    ambiguous = _file_number_style(rows, delimiter)
    for row in rows:
        if not row.raw_value:
            row.problems.append("værdien mangler")
            continue
        try:
            row.value = parse_number(row.raw_value, ambiguous=ambiguous)
        except ValueError as exc:
            if str(exc) == "ambiguous":
                row.problems.append(f"værdien »{row.raw_value}« kan læses både som tusinder og som decimaltal "
                                    "– skriv den uden tusindtalspunktum eller med decimalkomma")
            elif str(exc) == "too large":
                row.problems.append(f"værdien »{row.raw_value}« er for stor")
            else:
                row.problems.append(f"værdien »{row.raw_value}« er ikke et tal")


def _resolve_parties(rows: list[_Row]) -> None:
    cvrs = {normalise_cvr(row.cvr) for row in rows}
    parties = {p.cvr: p for p in db.session.scalars(select(Party).where(Party.cvr.in_(cvrs or {""})))}
    organisation_ids = [p.id for p in parties.values() if p.kind is PartyKind.ORGANISATION]
    departments: dict[tuple[int, str], Department] = {}
    for department in db.session.scalars(select(Department).where(Department.party_id.in_(organisation_ids or [-1]))):
        departments[(department.party_id, department.lbf_number)] = department
        if department.lbf_number.isdigit():  # "0101" in a spreadsheet is department 101
            departments.setdefault((department.party_id, str(int(department.lbf_number))), department)
    for row in rows:
        cvr = normalise_cvr(row.cvr)
        party = parties.get(cvr)
        if not cvr:
            row.problems.append("CVR-nummeret mangler")
        elif party is None:
            row.problems.append(f"ukendt CVR {row.cvr}" if len(cvr) == 8 and cvr.isdigit()
                                else f"CVR-nummeret »{row.cvr}« skal være 8 cifre")
        elif party.kind is not PartyKind.ORGANISATION:
            row.problems.append(f"CVR {cvr} er kommunens; nøgletal hører til boligorganisationerne")
        else:
            row.party = party
            if row.lbf:
                lbf = str(int(row.lbf)) if row.lbf.isdigit() else row.lbf
                row.department = departments.get((party.id, row.lbf)) or departments.get((party.id, lbf))
                if row.department is None:
                    row.problems.append(f"ukendt afdeling {row.lbf} hos CVR {cvr}")


def _check_duplicates(rows: list[_Row]) -> None:
    seen: dict[tuple[Any, ...], _Row] = {}
    for row in rows:
        if row.problems or row.party is None:
            continue
        key = _key(row)
        earlier = seen.setdefault(key, row)
        if earlier is not row and earlier.value != row.value:
            row.problems.append(f"samme nøgletal som linje {earlier.line}, men med en anden værdi")


def _key(row: _Row) -> tuple[int, int | None, int, Metric]:
    assert row.party is not None and row.year is not None and row.metric is not None
    return row.party.id, row.department.id if row.department else None, row.year, row.metric


def _import_error(rows: list[_Row]) -> InvalidInput:
    lines = [f"Linje {row.line}: " + "; ".join(row.problems) for row in rows if row.problems]
    shown = lines[:MAX_LISTED_ERRORS]
    more = len(lines) - len(shown)
    heading = ("Intet er indlæst, fordi 1 linje har fejl:" if len(lines) == 1
               else f"Intet er indlæst, fordi {len(lines)} linjer har fejl:")
    message = "\n".join([heading, *shown] + ([f"… og {more} linjer mere med fejl."] if more else []))
    return InvalidInput(message, lines=lines)


def import_csv(actor: Actor, municipality: Party, data: str | bytes) -> ImportResult:
    """Import key figures from a CSV file (layout in the README, "Key figures CSV").

    Every row is validated first; if any is wrong nothing is imported, and InvalidInput lists
    each bad line ("Linje 7: ukendt afdeling 104 hos CVR 29001111"; all of them also in
    `details["lines"]`). Otherwise each figure is inserted or updated in the caller's unit of
    work; figures whose value is unchanged are left alone, so a re-import changes nothing."""
    require(actor, "keyfigures:import", municipality)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_CSV_BYTES:
        raise PayloadTooLarge(f"Filen er for stor; højst {MAX_CSV_BYTES // (1024 * 1024)} MB.")
    rows, delimiter = _read_rows(_decode(data))
    _parse_values(rows, delimiter)
    _resolve_parties(rows)
    _check_duplicates(rows)
    if any(row.problems for row in rows):
        raise _import_error(rows)

    unique = {_key(row): row for row in rows}
    party_ids = sorted({key[0] for key in unique})
    years = sorted({key[2] for key in unique})
    existing = {(f.party_id, f.department_id, f.year, f.metric): f for f in db.session.scalars(
        select(KeyFigure).where(KeyFigure.party_id.in_(party_ids), KeyFigure.year.in_(years)))}
    created = updated = 0
    now, user_id = _now(), _user_id(actor)
    for key, row in unique.items():
        assert row.value is not None
        figure = existing.get(key)
        if figure is None:
            db.session.add(KeyFigure(party_id=key[0], department_id=key[1], year=key[2], metric=key[3],
                                     value=row.value, created_at=now, updated_at=now, imported_by_id=user_id))
            created += 1
        elif figure.value.quantize(_QUANTUM) != row.value:
            figure.value, figure.updated_at, figure.imported_by_id = row.value, now, user_id
            updated += 1
    try:
        db.session.flush()
    except IntegrityError as exc:  # another import of the same figures won the race
        raise Conflict("Nøgletallene blev ændret samtidig af en anden import. Prøv igen.") from exc
    result = ImportResult(rows=len(unique), created=created, updated=updated,
                          unchanged=len(unique) - created - updated, organisations=len(party_ids),
                          years=tuple(sorted(years)))
    record_event(actor, "keyfigures.import", "keyfigure_import", hashlib.sha256(raw).hexdigest(),
                 party_id=municipality.id,
                 after={"rows": result.rows, "created": created, "updated": updated, "unchanged": result.unchanged,
                        "organisations": result.organisations, "years": list(result.years)})
    return result


# --- thresholds ----------------------------------------------------------------------------------

def _threshold_snapshot(threshold: Threshold | None) -> dict[str, str] | None:
    if threshold is None:
        return None
    return {"direction": threshold.direction.value, "value": str(threshold.value.normalize()), "unit": threshold.unit}


def update_thresholds(actor: Actor, municipality: Party,
                      data: Mapping[str, Mapping[str, str]]) -> dict[Metric, Threshold]:
    """Set the municipality's thresholds from a form: per metric code, `direction` (above/below),
    `value` (Danish or plain number; empty removes the threshold) and `unit` (a label; the
    metric's unit when empty). Metrics not in `data` stay as they are. Errors are per field,
    named `<code>-value`, `<code>-direction`, `<code>-unit`. Returns every threshold by metric."""
    require(actor, "thresholds:manage", municipality)
    wanted: dict[Metric, tuple[ThresholdDirection, Decimal, str] | None] = {}
    errors: dict[str, str] = {}
    for code, fields in data.items():
        metric = _metric_code(code)
        label = METRICS[metric].label
        raw_value = (fields.get("value") or "").strip()
        unit = (fields.get("unit") or "").strip() or METRICS[metric].unit
        if len(unit) > 30:
            errors[f"{code}-unit"] = f"{label}: enheden må højst være på 30 tegn."
        try:
            direction = ThresholdDirection(fields.get("direction") or METRICS[metric].direction.value)
        except ValueError:
            errors[f"{code}-direction"] = f"{label}: vælg over eller under."
            continue
        if not raw_value:
            wanted[metric] = None
            continue
        try:
            wanted[metric] = (direction, parse_number(raw_value), unit)
        except ValueError:
            errors[f"{code}-value"] = f"{label}: grænseværdien »{raw_value}« er ikke et tal."
    if errors:
        raise InvalidInput(fields=errors)
    return _apply_thresholds(actor, municipality, wanted)


def set_threshold(actor: Actor, municipality: Party, metric: Metric | str, *,
                  direction: ThresholdDirection | str | None = None, value: Decimal | int | str | None,
                  unit: str = "") -> Threshold | None:
    """Set one threshold (`direction` defaults to the metric's usual one), or remove it with
    `value` None. A string `value` is read like the form's; returns the threshold or None."""
    require(actor, "thresholds:manage", municipality)
    code = _metric_code(metric.value if isinstance(metric, Metric) else str(metric))
    info = METRICS[code]
    try:
        chosen = ThresholdDirection(direction or info.direction)
    except ValueError as exc:
        raise InvalidInput(fields={f"{code.value}-direction": f"{info.label}: vælg over eller under."}) from exc
    if value is None:
        return _apply_thresholds(actor, municipality, {code: None}).get(code)
    try:
        number = parse_number(value) if isinstance(value, str) else parse_number(format(Decimal(value), "f"),
                                                                                 ambiguous="decimal")
    except (ValueError, InvalidOperation) as exc:
        raise InvalidInput(fields={f"{code.value}-value": f"{info.label}: grænseværdien er ikke et tal."}) from exc
    return _apply_thresholds(actor, municipality, {code: (chosen, number, unit.strip() or info.unit)}).get(code)


def _metric_code(code: str) -> Metric:
    try:
        return Metric(code)
    except ValueError:
        raise InvalidInput(f"Ukendt nøgletal: {code}") from None


def _apply_thresholds(actor: Actor, municipality: Party,
                      wanted: Mapping[Metric, tuple[ThresholdDirection, Decimal, str] | None]) -> dict[Metric, Threshold]:
    current = list_thresholds(municipality.id)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for metric, target in wanted.items():
        threshold = current.get(metric)
        old = _threshold_snapshot(threshold)
        if target is None:
            if threshold is not None:
                db.session.delete(threshold)
                del current[metric]
        else:
            direction, value, unit = target
            if threshold is None:
                current[metric] = Threshold(municipality_id=municipality.id, metric=metric, direction=direction,
                                            value=value, unit=unit, updated_at=_now(), updated_by_id=_user_id(actor))
                db.session.add(current[metric])
            elif (threshold.direction, threshold.value.quantize(_QUANTUM), threshold.unit) != (direction, value, unit):
                threshold.direction, threshold.value, threshold.unit = direction, value, unit
                threshold.updated_at, threshold.updated_by_id = _now(), _user_id(actor)
        new = _threshold_snapshot(current.get(metric))
        if old != new:
            before[metric.value], after[metric.value] = old, new
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise Conflict("Grænserne blev ændret samtidig. Prøv igen.") from exc
    if after:
        record_event(actor, "thresholds.update", "party", municipality.id, party_id=municipality.id,
                     before=before, after=after)
    return current


# --- one organisation: the table for a year, and a trend ------------------------------------------

@dataclass(frozen=True)
class Cell:
    value: Decimal | None
    critical: bool


@dataclass(frozen=True)
class FigureRow:
    info: MetricInfo
    threshold: Threshold | None
    organisation: Cell
    departments: list[Cell]  # in the order of `FigureTable.departments`

    @property
    def critical_count(self) -> int:
        return sum(c.critical for c in (self.organisation, *self.departments))


@dataclass(frozen=True)
class FigureTable:
    party: Party
    year: int
    years: list[int]
    departments: list[Department]
    area_statuses: dict[int, AreaStatus]  # department id → status this year
    rows: list[FigureRow]

    @property
    def has_figures(self) -> bool:
        return any(c.value is not None for r in self.rows for c in (r.organisation, *r.departments))

    @property
    def critical_count(self) -> int:
        return sum(r.critical_count for r in self.rows)


def default_year(years: list[int]) -> int:
    return years[0] if years else _now().year - 1


def figure_table(actor: Actor, party_id: int, year: int | None = None) -> FigureTable:
    """An organisation's figures for `year` (its newest year when None): every metric × the
    organisation and each department, each value marked critical or not."""
    party = load(actor, Party, party_id, "keyfigures:read")
    years = years_with_figures(party.id)
    year = year or default_year(years)
    departments = sorted(db.session.scalars(select(Department).where(Department.party_id == party.id)),
                         key=lambda d: _lbf_key(d.lbf_number))
    figures = {(f.department_id, f.metric): f.value for f in db.session.scalars(
        select(KeyFigure).where(KeyFigure.party_id == party.id, KeyFigure.year == year))}
    thresholds = list_thresholds()
    statuses = {s.department_id: s.status for s in db.session.scalars(
        select(DepartmentAreaStatus).where(DepartmentAreaStatus.department_id.in_([d.id for d in departments] or [-1]),
                                           DepartmentAreaStatus.year == year))}

    def cell(department_id: int | None, metric: Metric) -> Cell:
        value = figures.get((department_id, metric))
        return Cell(value, is_critical(value, thresholds.get(metric)))

    rows = [FigureRow(info, thresholds.get(code), cell(None, code), [cell(d.id, code) for d in departments])
            for code, info in METRICS.items()]
    return FigureTable(party=party, year=year, years=years, departments=departments, area_statuses=statuses, rows=rows)


@dataclass(frozen=True)
class TrendPoint:
    year: int
    value: Decimal
    critical: bool


@dataclass(frozen=True)
class Trend:
    party: Party
    department: Department | None  # None: the organisation as a whole
    info: MetricInfo
    threshold: Threshold | None
    points: list[TrendPoint]  # oldest first; only years with a figure


def trend(actor: Actor, party_id: int, metric: str, lbf_number: str | None = None) -> Trend:
    """One metric over the years, for the organisation or (by LBF number) one of its departments.
    An unknown metric or department is NotFound."""
    party = load(actor, Party, party_id, "keyfigures:read")
    code = find_metric(metric)
    if code is None or code.value != metric:
        raise NotFound()
    department = None
    if lbf_number:
        department = db.session.scalar(select(Department).where(Department.party_id == party.id,
                                                                Department.lbf_number == lbf_number))
        if department is None:
            raise NotFound()
    threshold = list_thresholds().get(code)
    stmt = (select(KeyFigure.year, KeyFigure.value)
            .where(KeyFigure.party_id == party.id, KeyFigure.metric == code,
                   KeyFigure.department_id == department.id if department else KeyFigure.department_id.is_(None))
            .order_by(KeyFigure.year))
    points = [TrendPoint(year, value, is_critical(value, threshold)) for year, value in db.session.execute(stmt)]
    return Trend(party=party, department=department, info=METRICS[code], threshold=threshold, points=points)


# --- the municipality's overview ----------------------------------------------------------------

@dataclass(frozen=True)
class OverviewRow:
    party: Party
    critical: list[CriticalFigure]


@dataclass(frozen=True)
class Overview:
    municipality: Party
    year: int
    years: list[int]
    rows: list[OverviewRow]  # most critical figures first


def organisation_overview(actor: Actor, year: int | None = None) -> Overview:
    """Every organisation with its critical figures for `year` (the newest year with figures when None)."""
    municipality = get_municipality()
    require(actor, "party:list", municipality)
    years = years_with_figures()
    year = year or default_year(years)
    organisations = list_organisations(actor)
    critical = critical_figures([o.id for o in organisations], year)
    rows = sorted((OverviewRow(o, critical[o.id]) for o in organisations), key=lambda r: -len(r.critical))
    return Overview(municipality=municipality, year=year, years=years, rows=rows)


# --- area status ---------------------------------------------------------------------------------

def list_area_statuses(actor: Actor, department_id: int) -> list[DepartmentAreaStatus]:
    """A department's area status per year, newest first."""
    department = load(actor, Department, department_id, "department:read")
    return list(db.session.scalars(select(DepartmentAreaStatus).where(DepartmentAreaStatus.department_id == department.id)
                                   .order_by(DepartmentAreaStatus.year.desc())))


def set_area_status(actor: Actor, department_id: int, data: Mapping[str, str]) -> DepartmentAreaStatus | None:
    """Record a department's area status for a year from `year` and `status` (empty `status`
    removes that year's status). Returns the status row, or None when removed."""
    department = load(actor, Department, department_id, "areastatus:update")
    errors: dict[str, str] = {}
    raw_year, raw_status = str(data.get("year", "")).strip(), str(data.get("status", "") or "").strip()
    year = 0
    try:
        year = int(raw_year)
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError
    except ValueError:
        errors["year"] = f"Skriv året som et årstal mellem {MIN_YEAR} og {MAX_YEAR}."
    status = None
    if raw_status:
        try:
            status = AreaStatus(raw_status)
        except ValueError:
            errors["status"] = "Vælg en områdestatus."
    if errors:
        raise InvalidInput(fields=errors)
    row = db.session.scalar(select(DepartmentAreaStatus).where(DepartmentAreaStatus.department_id == department.id,
                                                              DepartmentAreaStatus.year == year))
    before = {"year": year, "status": row.status.value} if row else None
    if status is None:
        if row is not None:
            db.session.delete(row)
        row = None
    elif row is None:
        row = DepartmentAreaStatus(department_id=department.id, year=year, status=status, set_at=_now(),
                                   set_by_id=_user_id(actor))
        db.session.add(row)
    elif row.status is not status:
        row.status, row.set_at, row.set_by_id = status, _now(), _user_id(actor)
    after = {"year": year, "status": row.status.value} if row else None
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise Conflict("Områdestatus for året blev ændret samtidig. Prøv igen.") from exc
    if before != after:
        record_event(actor, "department.area_status", "department", department.id, party_id=department.party_id,
                     before=before, after=after)
    return row
