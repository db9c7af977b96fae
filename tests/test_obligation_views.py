"""The obligation pages over HTTP: my overview, one occurrence's report → verify workflow with
evidence, the municipality's list and CSV, the allocation log and the calendar address."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.access import SYSTEM
from portal.extensions import db
from portal.models import Document, DocumentKind, Occurrence, OccurrenceStatus, Visibility
from portal.services import agreements as agreement_service
from portal.services import documents as document_service
from portal.services import obligations as obligation_service
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf
from tests.factories import DemoData, log_in
from tests.test_obligations import MUNI_EDITOR, ORG_EDITOR, OUTSIDER, _active_agreement, _approve_all, _quarterly

MUNI_READER = "laeser@fjordby.dk"
ORG_READER = "laeser@fjordby-boligselskab.dk"


def _in_force(demo: DemoData, first_due: date, **fields: str) -> Occurrence:
    """The first occurrence of an obligation of org1, verified by the municipality, in an active agreement."""
    agreement_id = _active_agreement(demo)
    _approve_all(agreement_id, demo)
    if not fields:
        return _quarterly(demo, agreement_id, first_due).occurrences[0]
    with unit_of_work():
        obligation = obligation_service.create_obligation(demo.user(MUNI_EDITOR), agreement_id, None, {
            "responsible_party": demo.organisations[0].id, "first_due": first_due.isoformat(), **fields})
    return obligation.occurrences[0]


def _text(response) -> str:  # type: ignore[no-untyped-def]
    """The page's text without tags and with whitespace collapsed, as a reader meets it."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _part(response, heading_id: str) -> str:  # type: ignore[no-untyped-def]
    """The text of the overview's part under the heading with `heading_id`, up to the next heading."""
    html = response.get_data(as_text=True)
    part = html.split(f'id="{heading_id}"', 1)[1].split("<h2", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part))


def _as(client: FlaskClient, demo: DemoData, email: str) -> FlaskClient:
    """A new client of the same app, logged in as `email` (a logged-in client cannot log in again)."""
    fresh = client.application.test_client()
    log_in(fresh, email, demo.password)
    return fresh


def test_my_overview_shows_overdue_and_due_soon_items(client: FlaskClient, demo: DemoData) -> None:
    overdue = _in_force(demo, date.today() - timedelta(days=5), title="Indsend helhedsplan")
    soon = _in_force(demo, date.today() + timedelta(days=10), title="Indberet ventelister")
    client = _as(client, demo, ORG_EDITOR)
    page = client.get("/forpligtelser")
    assert page.status_code == 200
    overdue_part, soon_part = _part(page, "overskredet"), _part(page, "snart")
    assert "Indsend helhedsplan" in overdue_part and "5 dage over fristen" in overdue_part
    assert "Indberet ventelister" in soon_part and "over fristen" not in soon_part
    later = _in_force(demo, date.today() + timedelta(days=120), title="Evaluer udlejningsaftalen")
    later_part = _part(client.get("/forpligtelser"), "senere")
    assert "Evaluer udlejningsaftalen" in later_part and "Indberet ventelister" not in later_part
    assert f'href="/forpligtelser/{later.id}"' in client.get("/forpligtelser").get_data(as_text=True)
    html = page.get_data(as_text=True)
    assert f'href="/forpligtelser/{overdue.id}"' in html and f'href="/forpligtelser/{soon.id}"' in html
    assert "Mine forpligtelser" in html  # the menu link

    # The verifying party sees nothing to do for it yet, and the outsider nothing at all.
    client = _as(client, demo, MUNI_EDITOR)
    assert "Indsend helhedsplan" not in _part(client.get("/forpligtelser"), "til-godkendelse")
    client = _as(client, demo, OUTSIDER)
    assert "Indsend helhedsplan" not in client.get("/forpligtelser").get_data(as_text=True)


def test_report_with_an_uploaded_file_then_the_municipality_verifies(client: FlaskClient, demo: DemoData) -> None:
    occurrence = _in_force(demo, date.today() - timedelta(days=2))
    client = _as(client, demo, ORG_EDITOR)
    page = client.get(f"/forpligtelser/{occurrence.id}")
    assert page.status_code == 200
    assert "Meld udført" in page.get_data(as_text=True) and "2 dage over fristen" in _text(page)

    # Without any evidence the report is refused beside the evidence fields.
    refused = client.post(f"/forpligtelser/{occurrence.id}/meld-udfoert", data={"comment": "Klaret"},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and 'href="#field-evidence"' in refused.get_data(as_text=True)
    assert "Klaret" in refused.get_data(as_text=True)  # what was typed is kept

    response = client.post(f"/forpligtelser/{occurrence.id}/meld-udfoert", data={
        "comment": "Indberetning for kvartalet",
        "file": (io.BytesIO(make_pdf("Indberetning", pages=2)), "indberetning.pdf"),
        "file_page": "2"}, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"] == f"/forpligtelser/{occurrence.id}"
    db.session.expire_all()
    occurrence = db.session.get(Occurrence, occurrence.id)
    assert occurrence.status is OccurrenceStatus.REPORTED_DONE
    evidence = occurrence.evidence[0]
    document = db.session.get(Document, evidence.document_id)
    assert document is not None and document.kind is DocumentKind.BILAG and document.visibility is Visibility.DIALOGUE
    assert document.party_id == demo.organisations[0].id and document.year == occurrence.due_date.year
    assert evidence.page == 2 and document.current.filename == "indberetning.pdf"

    # The municipality sees "Meldt udført" with the evidence, at its page, and approves.
    client = _as(client, demo, MUNI_EDITOR)
    page = client.get(f"/forpligtelser/{occurrence.id}")
    html = page.get_data(as_text=True)
    assert "Meldt udført" in _text(page) and "Indberetning for kvartalet" in html
    assert f'href="/dokumenter/{document.id}/vis?side=2"' in html
    assert "Godkend opfyldelsen" in html and "Meld udført</button>" not in html
    assert "Meldt udført" in _part(client.get("/forpligtelser"), "til-godkendelse")
    assert client.post(f"/forpligtelser/{occurrence.id}/godkend").status_code == 302
    db.session.expire_all()
    assert db.session.get(Occurrence, occurrence.id).status is OccurrenceStatus.VERIFIED
    page = _text(client.get(f"/forpligtelser/{occurrence.id}"))
    assert "Status Godkendt" in page
    history = page.split("Historik")[-1]
    assert "Meldt udført" in history and "Godkendt" in history and ORG_EDITOR in history


def test_reject_requires_a_reason_and_sends_it_back(client: FlaskClient, demo: DemoData) -> None:
    occurrence = _in_force(demo, date.today() + timedelta(days=3))
    with unit_of_work():
        obligation_service.report_done(demo.user(ORG_EDITOR), occurrence.id, comment="",
                                       evidence=[{"url": "https://fjordby.dk/indberetning.pdf"}])
    client = _as(client, demo, MUNI_EDITOR)
    refused = client.post(f"/forpligtelser/{occurrence.id}/afvis", data={"reason": "  "})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'href="#field-reject_reason"' in html and "Skriv hvorfor opfyldelsen ikke godkendes." in html
    db.session.expire_all()
    assert db.session.get(Occurrence, occurrence.id).status is OccurrenceStatus.REPORTED_DONE

    rejected = client.post(f"/forpligtelser/{occurrence.id}/afvis", data={"reason": "Afdeling 102 mangler."})
    assert rejected.status_code == 302
    client = _as(client, demo, ORG_EDITOR)
    page = client.get(f"/forpligtelser/{occurrence.id}")
    assert "Afvist – skal meldes igen" in _text(page) and "Afdeling 102 mangler." in page.get_data(as_text=True)
    assert "Meld udført</button>" in page.get_data(as_text=True)


def test_waive_start_and_a_link_as_evidence(client: FlaskClient, demo: DemoData) -> None:
    occurrence = _in_force(demo, date.today() + timedelta(days=20))
    client = _as(client, demo, ORG_EDITOR)
    assert client.post(f"/forpligtelser/{occurrence.id}/paabegynd").status_code == 302
    db.session.expire_all()
    assert db.session.get(Occurrence, occurrence.id).status is OccurrenceStatus.IN_PROGRESS
    bad = client.post(f"/forpligtelser/{occurrence.id}/meld-udfoert", data={"url": "javascript:alert(1)"},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "Linket skal begynde med https://" in bad.get_data(as_text=True)
    assert client.post(f"/forpligtelser/{occurrence.id}/meld-udfoert", data={"url": "https://fjordby.dk/plan.pdf"},
                       content_type="multipart/form-data").status_code == 302
    html = client.get(f"/forpligtelser/{occurrence.id}").get_data(as_text=True)
    assert re.search(r'<a href="https://fjordby.dk/plan.pdf" rel="noopener noreferrer" target="_blank">', html)

    client = _as(client, demo, MUNI_EDITOR)
    assert client.post(f"/forpligtelser/{occurrence.id}/frafald", data={"reason": ""}).status_code == 400
    assert client.post(f"/forpligtelser/{occurrence.id}/frafald", data={"reason": "Aftalt på mødet"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Occurrence, occurrence.id).status is OccurrenceStatus.WAIVED


def test_the_reporter_cannot_verify_and_a_reader_cannot_report(client: FlaskClient, demo: DemoData) -> None:
    occurrence = _in_force(demo, date.today())
    client = _as(client, demo, ORG_EDITOR)
    assert client.post(f"/forpligtelser/{occurrence.id}/godkend").status_code == 403
    client = _as(client, demo, ORG_READER)
    page = client.get(f"/forpligtelser/{occurrence.id}")
    assert page.status_code == 200 and "Meld udført</button>" not in page.get_data(as_text=True)
    assert client.post(f"/forpligtelser/{occurrence.id}/meld-udfoert", data={"url": "https://a.dk/x"},
                       content_type="multipart/form-data").status_code == 403
    client = _as(client, demo, MUNI_READER)
    assert client.post(f"/forpligtelser/{occurrence.id}/afvis", data={"reason": ""}).status_code == 403


def test_an_outsider_organisation_gets_404_on_occurrence_pages_and_actions(client: FlaskClient, demo: DemoData) -> None:
    occurrence = _in_force(demo, date.today())
    client = _as(client, demo, OUTSIDER)
    missing = client.get("/forpligtelser/999999")
    hidden = client.get(f"/forpligtelser/{occurrence.id}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_data(as_text=True).replace(f"/forpligtelser/{occurrence.id}", "/forpligtelser/ID") == \
        missing.get_data(as_text=True).replace("/forpligtelser/999999", "/forpligtelser/ID")
    for action, data in (("meld-udfoert", {"url": "https://a.dk/x"}), ("godkend", {}), ("afvis", {"reason": "x"}),
                         ("frafald", {"reason": "x"}), ("paabegynd", {})):
        response = client.post(f"/forpligtelser/{occurrence.id}/{action}", data=data)
        assert response.status_code == 404, action
    assert client.get("/forpligtelser/alle").status_code == 403
    assert client.get("/forpligtelser/alle.csv").status_code == 403
    db.session.expire_all()
    assert db.session.get(Occurrence, occurrence.id).status is OccurrenceStatus.OPEN


def test_an_upload_with_a_refused_report_leaves_no_document(client: FlaskClient, demo: DemoData) -> None:
    occurrence = _in_force(demo, date.today())
    client = _as(client, demo, ORG_EDITOR)
    response = client.post(f"/forpligtelser/{occurrence.id}/meld-udfoert", data={
        "file": (io.BytesIO(make_pdf("Bilag")), "bilag.pdf"), "url": "ftp://ikke-et-link"},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Linket skal begynde med https://" in response.get_data(as_text=True)
    assert list(db.session.scalars(select(Document).where(Document.kind == DocumentKind.BILAG))) == []


def test_evidence_at_a_page_of_an_existing_document_links_to_the_viewer(client: FlaskClient, demo: DemoData) -> None:
    occurrence = _in_force(demo, date.today())
    with unit_of_work():
        document = document_service.upload_document(SYSTEM, demo.organisations[0].id, {"kind": "aarsberetning",
                                                    "year": "2025"}, io.BytesIO(make_pdf("Årsberetning", pages=5)),
                                                    "aarsberetning.pdf", max_size=10**7)
    client = _as(client, demo, ORG_EDITOR)
    form = client.get(f"/forpligtelser/{occurrence.id}").get_data(as_text=True)
    assert f'<option value="{document.id}">' in form  # the party's documents can be picked
    unpaired = client.post(f"/forpligtelser/{occurrence.id}/meld-udfoert", data={"page": "4"},
                           content_type="multipart/form-data")
    assert unpaired.status_code == 400 and "Vælg det dokument, siden hører til." in unpaired.get_data(as_text=True)
    assert client.post(f"/forpligtelser/{occurrence.id}/meld-udfoert", data={
        "document_id": str(document.id), "page": "4"}, content_type="multipart/form-data").status_code == 302
    html = client.get(f"/forpligtelser/{occurrence.id}").get_data(as_text=True)
    assert f'href="/dokumenter/{document.id}/vis?side=4"' in html and "side 4" in html

    # A document the reporter cannot read is refused like a missing one, beside the field.
    other = _in_force(demo, date.today())
    with unit_of_work():
        hidden = document_service.upload_document(SYSTEM, demo.organisations[1].id, {"kind": "bilag", "year": "2025"},
                                                  io.BytesIO(make_pdf("Andet")), "andet.pdf", max_size=10**7)
    refused = client.post(f"/forpligtelser/{other.id}/meld-udfoert", data={"document_id": str(hidden.id)},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and 'href="#field-document_id"' in refused.get_data(as_text=True)


def test_municipality_list_filters_and_csv_export(client: FlaskClient, demo: DemoData) -> None:
    overdue = _in_force(demo, date.today() - timedelta(days=3), title="Forsinket helhedsplan")
    coming = _in_force(demo, date.today() + timedelta(days=40), title="Kommende indberetning")
    client = _as(client, demo, MUNI_READER)
    everything = _text(client.get("/forpligtelser/alle"))
    assert "Forsinket helhedsplan" in everything and "Kommende indberetning" in everything

    only_overdue = client.get("/forpligtelser/alle?status=overdue")
    assert only_overdue.status_code == 200
    text = _text(only_overdue)
    assert "Forsinket helhedsplan" in text and "Kommende indberetning" not in text and "3 dage over fristen" in text
    assert 'href="/forpligtelser/alle.csv?status=overdue"' in only_overdue.get_data(as_text=True)

    def export_rows(query: str) -> list[list[str]]:
        response = client.get(f"/forpligtelser/alle.csv?{query}")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith("attachment; filename=forpligtelser-")
        return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))

    rows = export_rows("status=overdue")
    assert rows[0][:4] == ["forpligtelse", "ansvarlig", "godkender", "frist"]
    assert "Forsinket helhedsplan" in [r[0] for r in rows[1:]] and "Kommende indberetning" not in [r[0] for r in rows]
    assert all(r[5] == "ja" for r in rows[1:])
    # Filtered to one agreement, the export holds exactly its overdue occurrence.
    rows = export_rows(f"status=overdue&aftale={overdue.obligation.agreement_id}")
    assert [(r[0], r[3], r[5]) for r in rows[1:]] == [("Forsinket helhedsplan", overdue.due_date.isoformat(), "ja")]
    rows = export_rows(f"aftale={coming.obligation.agreement_id}&fra={(date.today() + timedelta(days=41)).isoformat()}")
    assert [r[0] for r in rows[1:]] == ["Kommende indberetning"] * (len(coming.obligation.occurrences) - 1)
    other_party = [r[0] for r in export_rows(f"part={demo.organisations[1].id}")]
    assert "Forsinket helhedsplan" not in other_party and "Kommende indberetning" not in other_party

    bad = client.get("/forpligtelser/alle?fra=i-morgen")
    assert bad.status_code == 400 and "Skriv datoen som ÅÅÅÅ-MM-DD." in bad.get_data(as_text=True)
    assert client.get("/forpligtelser/alle.csv?part=999999").status_code == 404
    client = _as(client, demo, ORG_EDITOR)
    assert client.get("/forpligtelser/alle").status_code == 403


def test_create_an_obligation_from_a_section_of_an_agreement(client: FlaskClient, demo: DemoData) -> None:
    with unit_of_work():
        agreement = agreement_service.create_agreement(SYSTEM, {"title": "Strategisk aftale", "type": "strategisk",
                                                                "organisations": [demo.organisations[0].id]})
    revision = agreement_service.get_revision(agreement)
    section = next(sid for sid in revision.content["order"]
                   if revision.content["sections"][sid]["heading"].startswith("Kommunal anvisning"))
    client = _as(client, demo, MUNI_EDITOR)
    form = client.get(f"/aftaler/{agreement.id}/forpligtelser/ny?afsnit={section}")
    assert form.status_code == 200 and f'<option value="{section}" selected>' in form.get_data(as_text=True)
    refused = client.post(f"/aftaler/{agreement.id}/forpligtelser/ny", data={
        "title": "", "section": section, "responsible_party": "", "first_due": "31-03-2026", "recurrence": "quarterly",
        "reminder_days": "14, 3"})
    assert refused.status_code == 400
    for name in ("title", "responsible_party", "first_due"):
        assert f'href="#field-{name}"' in refused.get_data(as_text=True)
    created = client.post(f"/aftaler/{agreement.id}/forpligtelser/ny", data={
        "title": "Indberet boliger tilbudt kommunal anvisning", "description": "Pr. afdeling.", "section": section,
        "responsible_party": str(demo.organisations[0].id), "verifying_party": "",
        "first_due": (date.today() + timedelta(days=30)).isoformat(), "recurrence": "quarterly", "ends_on": "",
        "reminder_days": "14, 3"})
    assert created.status_code == 302 and created.headers["Location"] == f"/aftaler/{agreement.id}/forpligtelser"
    listing = _text(client.get(f"/aftaler/{agreement.id}/forpligtelser"))
    assert "træder i kraft, når aftalen er gældende" in listing
    _approve_all(agreement.id, demo)
    listing = client.get(f"/aftaler/{agreement.id}/forpligtelser")
    text = _text(listing)
    assert "Indberet boliger tilbudt kommunal anvisning" in text and "Hvert kvartal" in text
    assert f'href="/aftaler/{agreement.id}#afsnit-{section}"' in listing.get_data(as_text=True)
    occurrence_id = int(re.search(r'href="/forpligtelser/(\d+)"', listing.get_data(as_text=True)).group(1))
    page = client.get(f"/forpligtelser/{occurrence_id}").get_data(as_text=True)
    assert f'href="/aftaler/{agreement.id}#afsnit-{section}"' in page and "Strategisk aftale" in page
    client = _as(client, demo, OUTSIDER)
    assert client.get(f"/aftaler/{agreement.id}/forpligtelser").status_code == 404
    assert client.get(f"/aftaler/{agreement.id}/forpligtelser/ny").status_code == 404


def test_allocation_page_flags_a_shortfall_in_words(client: FlaskClient, demo: DemoData) -> None:
    with unit_of_work():
        agreement = agreement_service.create_agreement(SYSTEM, {"title": "Strategisk aftale", "type": "strategisk",
                                                                "organisations": [demo.organisations[0].id]})
    first, second = demo.organisations[0].departments[0], demo.organisations[0].departments[1]
    client = _as(client, demo, ORG_EDITOR)
    page = client.get(f"/aftaler/{agreement.id}/anvisning?aar=2026")
    assert page.status_code == 200 and "Indberet et kvartal" in page.get_data(as_text=True)
    for department, offered in ((first, "2"), (second, "1")):
        response = client.post(f"/aftaler/{agreement.id}/anvisning?aar=2026", data={
            "department": str(department.id), "year": "2026", "quarter": "1", "vacant": "8", "offered": offered,
            "taken": "1"})
        assert response.status_code == 302 and response.headers["Location"].endswith("/anvisning?aar=2026")
    refused = client.post(f"/aftaler/{agreement.id}/anvisning", data={
        "department": str(first.id), "year": "2026", "quarter": "2", "vacant": "1", "offered": "3", "taken": "0"})
    assert refused.status_code == 400 and "Der kan ikke tilbydes flere boliger" in refused.get_data(as_text=True)

    client = _as(client, demo, MUNI_READER)
    page = client.get(f"/aftaler/{agreement.id}/anvisning?aar=2026")
    text = _text(page)
    first_table = text.split(f"{first.lbf_number} {first.name}")[1].split(f"{second.lbf_number} {second.name}")[0]
    second_table = text.split(f"{second.lbf_number} {second.name}")[1]
    # 25 % of 8 vacant homes is 2: the first department offered 2, the second only 1.
    assert "1. kvartal 8 2 1 25 % 2 Som aftalt" in first_table
    assert "1. kvartal 8 1 1 25 % 2 Under det aftalte" in second_table
    assert "1 kvartal ligger under det aftalte." in text
    assert "Indberet et kvartal" not in page.get_data(as_text=True)  # the municipality does not record
    assert client.post(f"/aftaler/{agreement.id}/anvisning", data={"department": str(first.id)}).status_code == 403
    client = _as(client, demo, OUTSIDER)
    assert client.get(f"/aftaler/{agreement.id}/anvisning").status_code == 404


def test_calendar_address_from_the_profile_works_until_revoked(client: FlaskClient, demo: DemoData, app: Flask) -> None:
    _in_force(demo, date.today() + timedelta(days=7), title="Vedligeholdelsesplan")
    client = _as(client, demo, ORG_EDITOR)
    profile = client.get("/profil").get_data(as_text=True)
    assert "Opret kalenderadresse" in profile and "Tilbagekald kalenderadressen" not in profile
    created = client.post("/profil/kalender")
    assert created.status_code == 200
    url = re.search(r'id="calendar-url">([^<]+)<', created.get_data(as_text=True)).group(1)
    assert url.startswith("http://localhost/kalender/") and url.endswith(".ics")
    path = url.removeprefix("http://localhost")
    anonymous = app.test_client()
    feed = anonymous.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar" and b"Vedligeholdelsesplan" in feed.data
    profile = client.get("/profil").get_data(as_text=True)
    assert "Tilbagekald kalenderadressen" in profile and path not in profile  # shown once only
    revoked = client.post("/profil/kalender/tilbagekald")
    assert revoked.status_code == 302 and revoked.headers["Location"] == "/profil"
    assert anonymous.get(path).status_code == 404
    assert "Opret kalenderadresse" in client.get("/profil").get_data(as_text=True)


def test_list_pages_make_the_same_queries_for_more_obligations(client: FlaskClient, demo: DemoData) -> None:
    from sqlalchemy import event

    _in_force(demo, date.today() - timedelta(days=1), title="Første")
    municipality = _as(client, demo, MUNI_EDITOR)
    organisation = _as(client, demo, ORG_EDITOR)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def queries(viewer: FlaskClient, path: str) -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert viewer.get(path).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    pages = [(municipality, "/forpligtelser/alle"), (organisation, "/forpligtelser"), (municipality, "/forpligtelser")]
    before = [queries(viewer, path) for viewer, path in pages]
    for index in range(3):
        _in_force(demo, date.today() + timedelta(days=index), title=f"Flere {index}")
    assert [queries(viewer, path) for viewer, path in pages] == before


def test_an_obligation_found_by_search_opens_its_open_due_date(client: FlaskClient, demo: DemoData) -> None:
    from tests.indexing_helpers import drain

    occurrence = _in_force(demo, date.today() + timedelta(days=12), title="Renovering af tagene i Kildeparken")
    drain()
    client = _as(client, demo, ORG_EDITOR)
    page = client.get("/soeg?q=tagene")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/forpligtelser/{occurrence.id}"' in html and "Renovering af tagene" in html
    assert "/dokumenter/" not in html.split('class="hit-list', 1)[1]


def test_obligations_csv_writes_typed_text_as_text_not_formulas(client: FlaskClient, demo: DemoData) -> None:
    occurrence = _in_force(demo, date.today() + timedelta(days=20), title="@SUM(1+1)*cmd|' /C calc'!A0")
    with unit_of_work():
        obligation_service.report_done(demo.user(ORG_EDITOR), occurrence.id, comment='=HYPERLINK("http://x.dk","Se")',
                                       evidence=[{"url": "https://fjordby.dk/rapport"}])
    response = _as(client, demo, MUNI_READER).get(f"/forpligtelser/alle.csv?aftale={occurrence.obligation.agreement_id}")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    row = next(r for r in rows[1:] if r[3] == occurrence.due_date.isoformat())
    assert row[0] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert row[7] == "'=HYPERLINK(\"http://x.dk\",\"Se\")"
