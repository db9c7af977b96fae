"""Key figures (nøgletal): import, thresholds, critical values and trends per organisation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext
from flask_login import login_required

from portal import access
from portal.access import load
from portal.errors import InvalidInput
from portal.models import Department, Party
from portal.services import keyfigures as keyfigure_service
from portal.services import parties as party_service
from portal.uow import unit_of_work
from portal.web import current_actor

bp = Blueprint("keyfigures", __name__)


@bp.app_template_filter("unit")
def _unit(unit: str) -> str:
    """A metric's unit in the interface language. Not through the templates' `_()`, which would
    read the "%" of a percentage as a format directive."""
    return gettext(unit) if unit != "%" else unit


_THRESHOLD_FIELDS = ("direction", "value", "unit")


@bp.app_template_filter("keyfigure")
def _format_keyfigure(value: Decimal | None) -> str:
    """A figure as the reader's locale writes it ("1.234,5" in Danish), without trailing zeros."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.####")


@bp.app_template_global()
def direction_label(direction: Any) -> str:
    """A threshold's direction as a word ("over", "under") in the interface language; the
    styringsdialog's agenda lists critical figures too, outside this blueprint's pages."""
    return gettext(keyfigure_service.DIRECTION_LABELS[direction])


@bp.app_context_processor
def _navigation_helper() -> dict[str, Any]:
    # The main menu (base.html) asks `can` about the municipality the user belongs to, taken from
    # the memberships loaded with the user: no query, so the menu costs nothing on every page and
    # still renders on the error page after a failed database transaction.
    def actor_municipality() -> Party | None:
        actor = current_actor()
        memberships = actor.memberships if actor is not None else []
        return next((m.party for m in memberships if m.party.is_municipality), None)

    return {"actor_municipality": actor_municipality}


def _year_arg() -> int | None:
    value = request.args.get("aar", "")
    return int(value) if value.isdigit() and keyfigure_service.MIN_YEAR <= int(value) <= keyfigure_service.MAX_YEAR \
        else None


def _labels() -> dict[str, Any]:
    return {"metrics": keyfigure_service.METRICS, "directions": keyfigure_service.DIRECTION_LABELS,
            "area_labels": keyfigure_service.AREA_STATUS_LABELS}


def _overview_page(year: int | None, *, errors: dict[str, str] | None = None, lines: list[str] | None = None) -> str:
    overview = keyfigure_service.organisation_overview(current_actor(), year)
    return render_template("keyfigures/overview.html", overview=overview, errors=errors or {}, lines=lines or [],
                           columns=keyfigure_service.CSV_COLUMNS, **_labels())


@bp.route("/noegletal")
@login_required
def overview() -> Any:
    return _overview_page(_year_arg())


@bp.route("/noegletal/import", methods=["POST"])
@login_required
def import_figures() -> Any:
    actor = current_actor()
    municipality = party_service.get_municipality()
    access.require(actor, "keyfigures:import", municipality)
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise InvalidInput(fields={"file": gettext("Vælg en CSV-fil.")})
        data = file.stream.read(keyfigure_service.MAX_CSV_BYTES + 1)
        with unit_of_work():
            result = keyfigure_service.import_csv(actor, municipality, data)
    except InvalidInput as exc:
        lines = exc.details.get("lines") or []
        errors = {} if lines else (exc.fields or {"form": exc.message})
        return _overview_page(_year_arg(), errors=errors, lines=lines), 400
    flash(gettext("Filen er indlæst: %(rows)s nøgletal, heraf %(created)s nye og %(updated)s ændrede; "
                  "%(unchanged)s var uændrede.", rows=result.rows, created=result.created, updated=result.updated,
                  unchanged=result.unchanged), "success")
    return redirect(url_for("keyfigures.overview", aar=max(result.years)))


@bp.route("/noegletal/graenser", methods=["GET", "POST"])
@login_required
def thresholds() -> Any:
    actor = current_actor()
    municipality = party_service.get_municipality()
    access.require(actor, "party:list", municipality)
    current = keyfigure_service.list_thresholds(municipality.id)
    if request.method == "GET":
        values = {f"{code.value}-{name}": _threshold_value(current.get(code), name)
                  for code in keyfigure_service.METRICS for name in _THRESHOLD_FIELDS}
        return render_template("keyfigures/thresholds.html", municipality=municipality, current=current,
                               values=values, errors={}, **_labels())
    data = {code.value: {name: request.form.get(f"{code.value}-{name}", "") for name in _THRESHOLD_FIELDS}
            for code in keyfigure_service.METRICS}
    try:
        with unit_of_work():
            keyfigure_service.update_thresholds(actor, municipality, data)
    except InvalidInput as exc:
        values = {f"{code}-{name}": value for code, fields in data.items() for name, value in fields.items()}
        return render_template("keyfigures/thresholds.html", municipality=municipality, current=current,
                               values=values, errors=exc.fields or {"form": exc.message}, **_labels()), 400
    flash(gettext("Grænserne er gemt."), "success")
    return redirect(url_for("keyfigures.thresholds"))


def _threshold_value(threshold: Any, name: str) -> str:
    if threshold is None:
        return ""
    if name == "value":
        return _form_number(threshold.value)
    return threshold.direction.value if name == "direction" else threshold.unit


def _form_number(value: Decimal) -> str:
    """A value for an input the service reads back: no thousands separator and a decimal comma
    ("3000", "2,5"), whatever the interface language. The locale's "3,000" in English would be
    read back as the Danish 3,0 and quietly change the threshold on the next save."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


@bp.route("/parter/<int:party_id>/noegletal")
@login_required
def party(party_id: int) -> Any:
    table = keyfigure_service.figure_table(current_actor(), party_id, _year_arg())
    return render_template("keyfigures/party.html", table=table, party=table.party, **_labels())


@bp.route("/parter/<int:party_id>/noegletal/<metric>")
@login_required
def trend(party_id: int, metric: str) -> Any:
    trend = keyfigure_service.trend(current_actor(), party_id, metric, request.args.get("afdeling") or None)
    return render_template("keyfigures/trend.html", trend=trend, party=trend.party, chart=trend_chart(trend),
                           **_labels())


@bp.route("/afdelinger/<int:department_id>/omraadestatus", methods=["GET", "POST"])
@login_required
def area_status(department_id: int) -> Any:
    actor = current_actor()
    department = load(actor, Department, department_id, "department:read")
    values = {"year": request.form.get("year", request.args.get("aar", "")), "status": request.form.get("status", "")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            with unit_of_work():
                keyfigure_service.set_area_status(actor, department_id, values)
        except InvalidInput as exc:
            errors = exc.fields or {"form": exc.message}
        else:
            flash(gettext("Områdestatus er gemt."), "success")
            return redirect(url_for("keyfigures.area_status", department_id=department_id))
    statuses = keyfigure_service.list_area_statuses(actor, department_id)
    options = [(status.value, gettext(label)) for status, label in keyfigure_service.AREA_STATUS_LABELS.items()]
    return render_template("keyfigures/area_status.html", department=department, party=department.party,
                           statuses=statuses, values=values, errors=errors, area_options=options,
                           **_labels()), 400 if errors else 200


# --- the trend chart's geometry (the SVG itself is in templates/keyfigures/_chart.html) -----------

@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    year: int
    value: Decimal
    critical: bool
    marker: str  # a polygon's points for a critical value (a triangle); circles need only x, y


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    x_ticks: list[tuple[float, int]]
    y_ticks: list[tuple[float, Decimal]]
    lines: list[str]  # polyline points, one per run of consecutive years
    points: list[ChartPoint]
    threshold_y: float | None


def _nice_step(span: Decimal, count: int = 5) -> Decimal:
    raw = span / count
    magnitude = Decimal(10) ** math.floor(math.log10(raw))
    for factor in (1, 2, Decimal("2.5"), 5, 10):
        if magnitude * factor >= raw:
            return magnitude * factor
    return magnitude * 10


def trend_chart(trend: keyfigure_service.Trend, width: int = 720, height: int = 340) -> Chart | None:
    """Where everything goes in the trend's SVG: a y-axis spanning the values and the threshold
    in round steps, one x position per year, and a break in the line where a year is missing."""
    if not trend.points:
        return None
    left, right, top, bottom = 96.0, width - 24.0, 24.0, height - 64.0
    values = [p.value for p in trend.points] + ([trend.threshold.value] if trend.threshold else [])
    low, high = min(values), max(values)
    span = high - low or (abs(high) or Decimal(1))
    step = _nice_step(span)
    low = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    high = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
    if low == high:
        low, high = low - step, high + step
    first, last = trend.points[0].year, trend.points[-1].year

    def x_of(year: int) -> float:
        return round(left + (right - left) * ((year - first) / (last - first) if last > first else 0.5), 1)

    def y_of(value: Decimal) -> float:
        return round(bottom - float((value - low) / (high - low)) * (bottom - top), 1)

    points = []
    for p in trend.points:
        x, y = x_of(p.year), y_of(p.value)
        triangle = f"{x},{y - 8:.1f} {x + 7:.1f},{y + 5:.1f} {x - 7:.1f},{y + 5:.1f}"
        points.append(ChartPoint(x, y, p.year, p.value, p.critical, triangle))
    lines: list[str] = []
    run: list[ChartPoint] = []
    for point in points:
        if run and point.year != run[-1].year + 1:
            lines.append(" ".join(f"{q.x},{q.y}" for q in run))
            run = []
        run.append(point)
    lines.append(" ".join(f"{q.x},{q.y}" for q in run))
    years = list(range(first, last + 1))
    every = max(1, math.ceil(len(years) / 12))
    ticks = []
    value = low
    while value <= high:
        ticks.append((y_of(value), value))
        value += step
    return Chart(width=width, height=height, left=left, right=right, top=top, bottom=bottom,
                 x_ticks=[(x_of(year), year) for year in years[::every]], y_ticks=ticks,
                 lines=[line for line in lines if " " in line], points=points,
                 threshold_y=y_of(trend.threshold.value) if trend.threshold else None)

