"""Key figures (nøgletal): the CSV import, the municipality's thresholds and the critical values
they flag on every page that shows them, the trend chart, area status, who may see what, and
the living demo's figures."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.demo import ORGANISATIONS, load_demo
from portal.errors import InvalidInput
from portal.extensions import db
from portal.models import AuditEvent, Department, DepartmentAreaStatus, KeyFigure, Metric, Party, PartyKind
from portal.services import dialogue as dialogue_service
from portal.services import keyfigures as keyfigure_service
from portal.uow import unit_of_work
from tests.factories import DemoData, log_in
from tests.test_agreement_views import FormPage

MUNI_EDITOR = "redaktoer@fjordby.dk"
MUNI_READER = "laeser@fjordby.dk"
ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"
OUTSIDER = "admin@aabrinken.dk"  # an administrator of the second organisation only
YEAR = 2026
HEADER = "cvr;lbf;year;metric;value"


# --- arranging ---------------------------------------------------------------------------------------

def _as(client: FlaskClient, demo: DemoData, email: str) -> FlaskClient:
    """A new client of the same app, logged in as `email`."""
    fresh = client.application.test_client()
    log_in(fresh, email, demo.password)
    return fresh


def _import(demo: DemoData, text: str | bytes) -> keyfigure_service.ImportResult:
    with unit_of_work():
        return keyfigure_service.import_csv(demo.user(MUNI_EDITOR), demo.municipality, text)


def _upload(client: FlaskClient, content: str | bytes, year: int = YEAR):  # type: ignore[no-untyped-def]
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(f"/noegletal/import?aar={year}", data={"file": (io.BytesIO(data), "noegletal.csv")},
                       content_type="multipart/form-data")


def _threshold(demo: DemoData, metric: str, direction: str, value: str) -> None:
    with unit_of_work():
        keyfigure_service.set_threshold(demo.user(MUNI_EDITOR), demo.municipality, metric, direction=direction,
                                        value=value)


def _figures() -> list[tuple[Any, ...]]:
    """Every stored figure, as the database holds it now."""
    db.session.expire_all()
    return sorted((f.id, f.party_id, f.department_id or 0, f.year, f.metric.value, f.value, f.updated_at)
                  for f in db.session.scalars(select(KeyFigure)))


def _department(party: Party, lbf: str) -> Department:
    department = db.session.scalar(select(Department).where(Department.party_id == party.id,
                                                            Department.lbf_number == lbf))
    assert department is not None
    return department


# --- reading pages as a user does --------------------------------------------------------------------

def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _text(response) -> str:  # type: ignore[no-untyped-def]
    """The page's text without tags and with whitespace collapsed, as a reader meets it."""
    return _squash(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


class _Tables(HTMLParser):
    """Every table on a page: its caption, id and rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict[str, Any]] = []
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append({"id": dict(attrs).get("id") or "", "caption": [], "rows": []})
        elif not self.tables:
            return
        elif tag == "caption":
            self._text = self.tables[-1]["caption"]
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._text = []
            self.tables[-1]["rows"][-1].append(self._text)

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "caption"):
            self._text = None


def _table(response, caption: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The rows (cell texts) of the table whose caption starts with `caption`, or whose id is it."""
    parser = _Tables()
    parser.feed(response.get_data(as_text=True))
    for table in parser.tables:
        if table["id"] == caption or _squash(" ".join(table["caption"])).startswith(caption):
            return [[_squash("".join(cell)) for cell in row] for row in table["rows"]]
    raise AssertionError(f"no table {caption!r}")


def _critical_cells(response, year: int) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(metric, column) of every cell the organisation's table marks »Kritisk«."""
    header, *rows = _table(response, f"Nøgletal for organisationen og dens afdelinger, {year}")
    return {(row[0].split(" (")[0], header[index]) for row in rows for index, cell in enumerate(row)
            if index > 1 and "Kritisk" in cell}


def _row(rows: list[list[str]], first_cell: str) -> list[str]:
    return next(row for row in rows if row[0] == first_cell)


# --- the import ----------------------------------------------------------------------------------

BAD_ROWS = {
    "unknown department": (lambda cvr: f"{cvr};199;2026;tomgang;1,5", "ukendt afdeling 199 hos CVR {cvr}"),
    "unknown metric": (lambda cvr: f"{cvr};101;2026;tomgangsprocent;1,5", "ukendt nøgletal »tomgangsprocent«"),
    "not a number": (lambda cvr: f"{cvr};101;2026;tomgang;1,5%", "værdien »1,5%« er ikke et tal"),
    "not a year": (lambda cvr: f"{cvr};101;26;tomgang;1,5", "året »26« skal være et årstal mellem 2000 og 2100"),
    "unknown organisation": (lambda cvr: "12345678;101;2026;tomgang;1,5", "ukendt CVR 12345678"),
    "the same figure twice": (lambda cvr: f"{cvr};;2026;Tomgang;1,3",
                              "samme nøgletal som linje 2, men med en anden værdi"),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_one_bad_row_imports_nothing_and_the_error_names_its_line(app: Flask, demo: DemoData, case: str) -> None:
    cvr = demo.organisations[0].cvr
    bad_row, problem = BAD_ROWS[case]
    # Line 3 is blank: the numbers are the file's own lines, as an editor shows them.
    text = "\n".join([HEADER, f"{cvr};;2026;tomgang;1,2", "", f"{cvr};101;2026;fraflytning;8,5", bad_row(cvr),
                      f"{cvr};102;2026;restancer;0,9"]) + "\n"
    with pytest.raises(InvalidInput) as refused:
        _import(demo, text)
    expected = "Linje 5: " + problem.format(cvr=cvr)
    assert refused.value.details["lines"] == [expected]
    assert "Intet er indlæst" in refused.value.message and expected in refused.value.message
    assert _figures() == []
    assert not db.session.scalar(select(func.count()).where(AuditEvent.action == "keyfigures.import"))


def test_the_upload_form_shows_the_bad_line_and_changes_nothing(client: FlaskClient, demo: DemoData) -> None:
    cvr = demo.organisations[0].cvr
    _import(demo, f"{HEADER}\n{cvr};;2026;tomgang;1,2\n")
    before = _figures()
    muni = _as(client, demo, MUNI_EDITOR)
    refused = _upload(muni, f"{HEADER}\n{cvr};;2026;tomgang;3,4\n{cvr};;2026;tomgangsprocent;2\n"
                            f"{cvr};101;2026;tomgang;0,5\n")
    assert refused.status_code == 400
    page = _text(refused)
    assert "Intet er indlæst" in page and "Linje 3: ukendt nøgletal »tomgangsprocent«" in page
    assert "Linje 2" not in page and "Linje 4" not in page
    assert _figures() == before
    rows = _table(muni.get(f"/parter/{demo.organisations[0].id}/noegletal?aar={YEAR}"),
                  f"Nøgletal for organisationen og dens afdelinger, {YEAR}")
    assert _row(rows, "Tomgang (%)")[2].startswith("1,2 ")


def test_a_good_file_imports_and_importing_it_again_changes_nothing(client: FlaskClient, demo: DemoData) -> None:
    org = demo.organisations[0]
    # A spreadsheet's export: a byte order mark, Danish column names and metric names, Danish numbers.
    content = ("\ufeffCVR-nummer;Afdeling;År;Nøgletal;Værdi\n"
               f"{org.cvr};;2026;Henlæggelser pr. bolig;4.250,50\n"
               f"{org.cvr};0102;2026;tomgang;1,75\n"
               f"{org.cvr};;2026;Egenkapital;12.345.678,90\n").encode()
    muni = _as(client, demo, MUNI_EDITOR)
    response = _upload(muni, content)
    assert response.status_code == 302 and response.headers["Location"] == "/noegletal?aar=2026"
    assert "Filen er indlæst: 3 nøgletal, heraf 3 nye og 0 ændrede; 0 var uændrede." in _text(muni.get("/noegletal"))
    imported = _figures()
    kildeparken = _department(org, "102")
    assert [(f[2], f[4], f[5]) for f in imported] == [
        (0, "henlaeggelser_pr_bolig", Decimal("4250.5")), (kildeparken.id, "tomgang", Decimal("1.75")),
        (0, "egenkapital", Decimal("12345678.9"))]

    again = _upload(muni, content)
    assert again.status_code == 302
    assert "heraf 0 nye og 0 ændrede; 3 var uændrede." in _text(muni.get("/noegletal"))
    assert _figures() == imported  # same rows, same values, not even touched


@pytest.mark.parametrize(("text", "expected"), [
    ("1.234,5", "1234.5"), ("1234,5", "1234.5"), ("1234.5", "1234.5"), ("1 234,5", "1234.5"),
    ("1\u00a0234,5", "1234.5"), ("-0,75", "-0.75"), ("\u22123,5", "-3.5"), ("1.234.567", "1234567"),
    ("12", "12"), ("2,71828", "2.7183"), ("1.234", "1234"),
])
def test_danish_and_plain_numbers_are_read(text: str, expected: str) -> None:
    assert keyfigure_service.parse_number(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "1,2,3", "1.23,4", "12,5%", "1e5", "--5"])
def test_what_is_not_a_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        keyfigure_service.parse_number(text)


def test_a_lone_thousands_dot_is_read_the_way_the_rest_of_the_file_writes_numbers(app: Flask,
                                                                                 demo: DemoData) -> None:
    cvr = demo.organisations[0].cvr

    def imported(text: str) -> Decimal:
        _import(demo, text)
        db.session.expire_all()
        return db.session.scalar(select(KeyFigure.value).where(KeyFigure.metric == Metric.EFFEKTIVITETSTAL,
                                                               KeyFigure.year == 2026))

    # Semicolons and Danish decimals: "1.234" is a thousand and more.
    assert imported(f"{HEADER}\n{cvr};;2026;effektivitetstal;1.234\n{cvr};;2026;tomgang;0,5\n") == 1234
    # Commas and plain decimals: "1.234" is a little more than one.
    assert imported(f"cvr,lbf,year,metric,value\n{cvr},,2026,effektivitetstal,1.234\n{cvr},,2026,tomgang,0.5\n") \
        == Decimal("1.234")
    # A Danish decimal in a comma-separated file must be quoted; unquoted it reads as an extra column.
    assert imported(f'cvr,lbf,year,metric,value\n{cvr},,2026,effektivitetstal,"98,5"\n') == Decimal("98.5")
    with pytest.raises(InvalidInput) as unquoted:
        _import(demo, f"cvr,lbf,year,metric,value\n{cvr},,2026,effektivitetstal,98,5\n")
    assert unquoted.value.details["lines"] == [
        "Linje 2: har 6 felter, men overskriften har 5 (står der et decimaltal med komma uden anførselstegn?)"]
    # Both styles in one file: a lone "1.234" could be either, so the line is refused.
    with pytest.raises(InvalidInput) as mixed:
        _import(demo, f"{HEADER}\n{cvr};;2026;tomgang;0,5\n{cvr};;2026;restancer;1.5\n"
                      f"{cvr};;2026;effektivitetstal;1.234\n")
    assert [line.split(" – ")[0] for line in mixed.value.details["lines"]] == [
        "Linje 4: værdien »1.234« kan læses både som tusinder og som decimaltal"]


# --- thresholds and critical values ------------------------------------------------------------------

def _figures_around_the_limits(demo: DemoData) -> None:
    """Below 3.000 kr. henlæggelser and above 2 % tomgang are critical; values just inside, on and
    beyond each limit, for the first organisation, and one for the second."""
    _threshold(demo, "henlaeggelser_pr_bolig", "below", "3000")
    _threshold(demo, "tomgang", "above", "2")
    first, second = demo.organisations[0].cvr, demo.organisations[1].cvr
    _import(demo, "\n".join([
        HEADER,
        f"{first};101;2026;henlaeggelser_pr_bolig;2.999,99",  # beyond: critical
        f"{first};102;2026;henlaeggelser_pr_bolig;3.000",  # on the limit: not critical
        f"{first};103;2026;henlaeggelser_pr_bolig;3.000,01",
        f"{first};;2026;tomgang;2",  # on the limit: not critical
        f"{first};101;2026;tomgang;2,01",  # beyond: critical
        f"{first};102;2026;tomgang;1,99",
        f"{first};;2025;tomgang;5",  # critical, but in another year
        f"{second};201;2026;tomgang;1,5",
    ]) + "\n")


def test_thresholds_flag_exactly_the_values_beyond_them_and_not_the_limit_itself(app: Flask,
                                                                                 demo: DemoData) -> None:
    _figures_around_the_limits(demo)
    first, second = demo.organisations[0], demo.organisations[1]
    critical = [(f.lbf_number, f.metric.value, f.value) for f in keyfigure_service.critical_for_party(first.id, YEAR)]
    assert critical == [("101", "henlaeggelser_pr_bolig", Decimal("2999.99")), ("101", "tomgang", Decimal("2.01"))]
    assert [(f.lbf_number, f.value) for f in keyfigure_service.critical_for_party(first.id, 2025)] == \
        [(None, Decimal("5"))]
    assert keyfigure_service.critical_for_party(second.id, YEAR) == []


def test_critical_values_show_on_the_organisation_page(client: FlaskClient, demo: DemoData) -> None:
    _figures_around_the_limits(demo)
    org = _as(client, demo, ORG_EDITOR)
    page = org.get(f"/parter/{demo.organisations[0].id}/noegletal?aar={YEAR}")
    assert page.status_code == 200
    assert "2 nøgletal er kritiske" in _text(page)
    assert _critical_cells(page, YEAR) == {("Henlæggelser pr. bolig", "101 Havnegården"),
                                           ("Tomgang", "101 Havnegården")}
    header, *rows = _table(page, f"Nøgletal for organisationen og dens afdelinger, {YEAR}")
    limit_row = _row(rows, "Henlæggelser pr. bolig (kr.)")
    assert limit_row[1] == "under 3.000 kr."
    assert limit_row[header.index("102 Kildeparken")].startswith("3.000 ")  # the limit itself, not marked
    assert _row(rows, "Tomgang (%)")[header.index("Hele organisationen")].startswith("2 ")
    # The year before has its own critical figure.
    older = org.get(f"/parter/{demo.organisations[0].id}/noegletal?aar=2025")
    assert _critical_cells(older, 2025) == {("Tomgang", "Hele organisationen")}


def test_critical_values_show_in_the_municipality_overview(client: FlaskClient, demo: DemoData) -> None:
    _figures_around_the_limits(demo)
    muni = _as(client, demo, MUNI_READER)
    page = muni.get(f"/noegletal?aar={YEAR}")
    assert page.status_code == 200
    rows = _table(page, f"Kritiske nøgletal pr. organisation, {YEAR}")
    first = _row(rows, demo.organisations[0].name)
    assert first[1] == "Kritisk 2"
    assert "Henlæggelser pr. bolig, 101 Havnegården: 2.999,99 kr. (grænse: under 3.000 kr.)" in first[2]
    assert "Tomgang, 101 Havnegården: 2,01 % (grænse: over 2 %)" in first[2]
    assert "3.000 kr." not in first[2].replace("under 3.000 kr.", "") and "1,99" not in first[2]
    assert _row(rows, demo.organisations[1].name)[1:] == ["0", "Ingen"]
    assert rows[1][0] == demo.organisations[0].name  # the most critical first


def test_critical_values_are_on_the_dialogue_agenda_and_overview(client: FlaskClient, demo: DemoData) -> None:
    _figures_around_the_limits(demo)
    with unit_of_work():
        dialogue = dialogue_service.open_dialogue(demo.user(MUNI_EDITOR), demo.organisations[0].id, YEAR)
        dialogue_service.plan_meeting(demo.user(MUNI_EDITOR), dialogue.id, {"starts_at": f"{YEAR}-10-15 10:00"})
    for email in (MUNI_EDITOR, ORG_EDITOR):
        html = _as(client, demo, email).get(f"/styringsdialog/{dialogue.id}").get_data(as_text=True)
        item = html.split('id="punkt-regnskab"', 1)[1].split('id="punkt-', 1)[0]
        assert "Kritiske nøgletal:" in item
        assert [_squash(re.sub(r"<[^>]+>", "", li)) for li in re.findall(r"<li>(.*?)</li>", item, re.S)] == [
            "Henlæggelser pr. bolig, 101 Havnegården: 2.999,99 kr. (grænse: under 3.000 kr.)",
            "Tomgang, 101 Havnegården: 2,01 % (grænse: over 2 %)"]
    rows = _table(_as(client, demo, MUNI_READER).get(f"/styringsdialog?aar={YEAR}"),
                  "Organisationer og trin i styringsdialogen")
    assert _row(rows, demo.organisations[0].name)[-1] == "2 kritiske"
    assert _row(rows, demo.organisations[1].name)[-1] == "0"


def test_the_threshold_form_sets_which_side_of_the_limit_is_critical(client: FlaskClient, demo: DemoData) -> None:
    _figures_around_the_limits(demo)
    muni = _as(client, demo, MUNI_EDITOR)
    form = FormPage(muni.get("/noegletal/graenser").get_data(as_text=True), "")
    assert (form.get("tomgang-direction"), form.get("tomgang-value")) == ("above", "2")
    form.set("tomgang-direction", "below")
    assert muni.post("/noegletal/graenser", data=form.data()).status_code == 302
    critical = {(f.lbf_number, f.metric.value) for f in keyfigure_service.critical_for_party(
        demo.organisations[0].id, YEAR)}
    assert critical == {("101", "henlaeggelser_pr_bolig"), ("102", "tomgang")}  # 1,99 now, no longer 2,01

    form.set("tomgang-value", "to procent")
    refused = muni.post("/noegletal/graenser", data=form.data())
    assert refused.status_code == 400 and "Tomgang: grænseværdien »to procent« er ikke et tal." in _text(refused)
    assert keyfigure_service.list_thresholds()[Metric.TOMGANG].value == 2


def test_saving_the_threshold_form_in_english_keeps_the_limits(client: FlaskClient, demo: DemoData) -> None:
    _threshold(demo, "henlaeggelser_pr_bolig", "below", "3000")
    _threshold(demo, "tomgang", "above", "2,5")
    muni = _as(client, demo, MUNI_EDITOR)
    muni.get("/sprog/en")
    form = FormPage(muni.get("/noegletal/graenser").get_data(as_text=True), "")
    assert muni.post("/noegletal/graenser", data=form.data()).status_code == 302
    db.session.expire_all()
    limits = {m.value: t.value for m, t in keyfigure_service.list_thresholds().items()}
    assert limits == {"henlaeggelser_pr_bolig": 3000, "tomgang": Decimal("2.5")}


# --- the trend chart ---------------------------------------------------------------------------------

def _trend(client: FlaskClient, demo: DemoData, values: dict[int, str]):  # type: ignore[no-untyped-def]
    _threshold(demo, "henlaeggelser_pr_bolig", "below", "3000")
    cvr = demo.organisations[0].cvr
    _import(demo, HEADER + "\n" + "".join(f"{cvr};102;{year};henlaeggelser_pr_bolig;{value}\n"
                                          for year, value in values.items()))
    page = _as(client, demo, ORG_EDITOR).get(
        f"/parter/{demo.organisations[0].id}/noegletal/henlaeggelser_pr_bolig?afdeling=102")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    svg = html.split('<svg xmlns="http://www.w3.org/2000/svg"', 1)[1].split("</svg>", 1)[0]
    return page, svg, svg.split('class="kf-series"', 1)[1]


def test_trend_chart_has_a_point_per_year_critical_ones_as_triangles_and_a_table(client: FlaskClient,
                                                                                demo: DemoData) -> None:
    page, svg, series = _trend(client, demo, {2022: "3.500", 2023: "3.100", 2024: "2.900", 2025: "2.800",
                                              2026: "3.200"})
    assert "Henlæggelser pr. bolig, 102 Kildeparken, 2022–2026" in svg  # the chart's title
    # One marker per year, in year order; the critical years are triangles, not just another colour.
    markers = re.findall(r"<(circle|polygon)\b([^>]*)>", series)
    assert [shape for shape, _ in markers] == ["circle", "circle", "polygon", "polygon", "circle"]
    assert re.findall(r'class="kf-point-label">([^<]+)<', series) == ["3.500", "3.100", "2.900", "2.800", "3.200"]
    xs = [float(re.search(r'(?:cx="|points=")([\d.]+)', attrs).group(1)) for _, attrs in markers]
    assert xs == sorted(xs) and len(set(xs)) == 5
    # The dashed limit lies between the values inside it and the critical ones below it.
    limit_y = float(re.search(r'y1="([\d.]+)"[^>]*stroke-dasharray[^>]*data-threshold="3.000"', svg).group(1))
    ys = [float(re.search(r'cy="([\d.]+)"', attrs).group(1)) for shape, attrs in markers if shape == "circle"]
    tips = [float(re.search(r'points="[\d.]+,([\d.]+)', attrs).group(1)) for shape, attrs in markers
            if shape == "polygon"]
    assert max(ys) < limit_y < min(tips)
    legend = _text(page)
    assert "Kritisk værdi (trekant)" in legend and "Grænse (stiplet linje)" in legend
    # The numbers behind it, readable without the chart or its colours.
    assert _table(page, "trend-data") == [
        ["År", "Værdi", "Grænse", "Vurdering"],
        ["2022", "3.500 kr.", "under 3.000 kr.", "Inden for grænsen"],
        ["2023", "3.100 kr.", "under 3.000 kr.", "Inden for grænsen"],
        ["2024", "2.900 kr.", "under 3.000 kr.", "Kritisk"],
        ["2025", "2.800 kr.", "under 3.000 kr.", "Kritisk"],
        ["2026", "3.200 kr.", "under 3.000 kr.", "Inden for grænsen"],
    ]


def test_a_missing_year_breaks_the_trend_line(client: FlaskClient, demo: DemoData) -> None:
    page, svg, series = _trend(client, demo, {2021: "3.500", 2022: "3.400", 2024: "3.300"})
    assert len(re.findall(r"<(?:circle|polygon)\b", series)) == 3
    lines = re.findall(r'<polyline points="([^"]+)"', series)
    assert len(lines) == 1 and len(lines[0].split()) == 2  # 2021–2022 joined; nothing drawn across 2023
    assert [row[0] for row in _table(page, "trend-data")[1:]] == ["2021", "2022", "2024"]


# --- area status -------------------------------------------------------------------------------------

def test_a_municipality_editor_sets_the_area_status_and_it_is_shown(client: FlaskClient, demo: DemoData) -> None:
    org1 = demo.organisations[0]
    kildeparken = _department(org1, "102")
    _import(demo, f"{HEADER}\n{org1.cvr};102;2026;tomgang;0,8\n")
    url = f"/afdelinger/{kildeparken.id}/omraadestatus"
    muni = _as(client, demo, MUNI_EDITOR)
    assert muni.post(url, data={"year": "2026", "status": "udsat_boligomraade"}).status_code == 302
    assert ["2026", "Udsat boligområde"] in _table(muni.get(url), "Områdestatus pr. år")
    organisation = _as(client, demo, ORG_EDITOR)
    header = _table(organisation.get(f"/parter/{org1.id}/noegletal?aar=2026"),
                    "Nøgletal for organisationen og dens afdelinger, 2026")[0]
    assert "102 Kildeparken Udsat boligområde" in header and "101 Havnegården" in header

    # The organisation reads its status but does not set it.
    own_page = organisation.get(url)
    assert own_page.status_code == 200 and "Registrér områdestatus" not in _text(own_page)
    assert organisation.post(url, data={"year": "2026", "status": "parallelsamfund"}).status_code == 403
    refused = muni.post(url, data={"year": "26", "status": "parallelsamfund"})
    assert refused.status_code == 400 and "Skriv året som et årstal mellem 2000 og 2100." in _text(refused)
    db.session.expire_all()
    assert [(s.year, s.status.value) for s in db.session.scalars(select(DepartmentAreaStatus))] == [
        (2026, "udsat_boligomraade")]

    assert muni.post(url, data={"year": "2026", "status": ""}).status_code == 302  # removed again
    assert "Ingen områdestatus registreret." in _text(muni.get(url))


# --- who sees what, and how they get there -----------------------------------------------------------

def test_another_organisation_gets_404_for_foreign_key_figures(client: FlaskClient, demo: DemoData) -> None:
    org1, own = demo.organisations[0], demo.organisations[1]
    _import(demo, f"{HEADER}\n{org1.cvr};;2026;tomgang;2,5\n{own.cvr};;2026;tomgang;0,5\n")
    outsider = _as(client, demo, OUTSIDER)
    hidden = outsider.get(f"/parter/{org1.id}/noegletal")
    assert hidden.status_code == 404 and "2,5" not in hidden.get_data(as_text=True)
    assert outsider.get(f"/parter/{org1.id}/noegletal/tomgang").status_code == 404
    assert outsider.get(f"/afdelinger/{org1.departments[0].id}/omraadestatus").status_code == 404
    assert outsider.get("/parter/999999/noegletal").status_code == 404
    assert outsider.get("/noegletal").status_code == 403  # the overview of every organisation is the municipality's
    own_page = outsider.get(f"/parter/{own.id}/noegletal")
    assert own_page.status_code == 200 and "0,5" in _text(own_page)


def test_the_menu_and_the_organisation_page_lead_to_the_key_figures(client: FlaskClient, demo: DemoData) -> None:
    def menu(viewer: FlaskClient) -> str:
        return viewer.get("/").get_data(as_text=True).split('aria-label="Hovedmenu"', 1)[1].split("</nav>", 1)[0]

    assert 'href="/noegletal"' in menu(_as(client, demo, MUNI_READER))
    organisation = _as(client, demo, ORG_EDITOR)
    assert "/noegletal" not in menu(organisation)
    party_page = organisation.get(f"/parter/{demo.organisations[0].id}").get_data(as_text=True)
    assert f'href="/parter/{demo.organisations[0].id}/noegletal"' in party_page
    assert organisation.get(f"/parter/{demo.organisations[0].id}/noegletal").status_code == 200


# --- the living demo ---------------------------------------------------------------------------------

def test_the_living_demo_has_key_figures_with_critical_values(app: Flask, client: FlaskClient) -> None:
    with unit_of_work():
        load_demo(living=True)
    years = (date.today().year - 1, date.today().year)
    organisations = list(db.session.scalars(select(Party).where(Party.kind == PartyKind.ORGANISATION)))
    assert len(organisations) == len(ORGANISATIONS)
    for org in organisations:
        for year in years:
            levels = set(db.session.scalars(select(KeyFigure.department_id.is_(None)).where(
                KeyFigure.party_id == org.id, KeyFigure.year == year)))
            assert levels == {True, False}, (org.name, year)  # the organisation as a whole and departments
    assert keyfigure_service.list_thresholds()
    first = next(o for o in organisations if o.name == ORGANISATIONS[0][0])
    # The low henlæggelser in Kildeparken that the demo minutes discuss.
    assert ("102", Metric.HENLAEGGELSER_PR_BOLIG) in {
        (f.lbf_number, f.metric) for f in keyfigure_service.critical_for_party(first.id, years[0])}

    muni = client.application.test_client()
    log_in(muni, MUNI_EDITOR, "demo-adgangskode-2026")
    overview = _table(muni.get(f"/noegletal?aar={years[0]}"), f"Kritiske nøgletal pr. organisation, {years[0]}")
    assert "Henlæggelser pr. bolig, 102 Kildeparken" in _row(overview, first.name)[2]
    assert ("Henlæggelser pr. bolig", "102 Kildeparken Forebyggelsesområde") in _critical_cells(
        muni.get(f"/parter/{first.id}/noegletal?aar={years[0]}"), years[0])
    dialogues = _table(muni.get(f"/styringsdialog?aar={years[1]}"), "Organisationer og trin i styringsdialogen")
    assert re.fullmatch(r"[1-9]\d* kritiske?", _row(dialogues, first.name)[-1])
