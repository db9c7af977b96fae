"""Publishing minutes and the public archive, as the municipality and the public use them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.extensions import db
from portal.models import Document
from tests.documents_helpers import make_pdf, upload
from tests.factories import DemoData, log_in

MUNI_EDITOR = "redaktoer@fjordby.dk"


def _upload_minutes(client: FlaskClient, org_id: int, title: str, year: str = "2025", kind: str = "referat") -> int:
    response = upload(client, org_id, make_pdf(title), f"{title}.pdf", kind=kind, year=year, title=title)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_municipality_publishes_minutes_to_the_public_archive(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    log_in(client, MUNI_EDITOR, demo.password)
    org = demo.organisations[0]
    published = _upload_minutes(client, org.id, "Referat styringsdialog 2025")
    draft = _upload_minutes(client, org.id, "Udkast til referat 2025")
    report = _upload_minutes(client, org.id, "Styringsrapport 2025", kind="styringsrapport")
    assert client.post(f"/dokumenter/{published}/offentliggoer").status_code == 302
    document = db.session.get(Document, published)
    db.session.refresh(document)
    assert document.visibility.value == "public" and document.published_at is not None
    assert document.published_by_id == demo.user(MUNI_EDITOR).id

    public = app.test_client()
    archive = public.get("/offentlig/referater").get_data(as_text=True)
    assert "Referat styringsdialog 2025" in archive and org.name in archive
    assert "Udkast" not in archive and "Styringsrapport" not in archive
    pdf = public.get(f"/offentlig/referater/{published}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    for hidden in (draft, report, 999999):
        assert public.get(f"/offentlig/referater/{hidden}").status_code == 404
    assert public.get(f"/dokumenter/{draft}/fil").status_code == 302  # asked to log in, nothing shown


def test_only_the_municipality_publishes_and_only_minutes(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    log_in(client, "redaktoer@fjordby-boligselskab.dk", demo.password)
    minutes = _upload_minutes(client, demo.organisations[0].id, "Referat 2024", year="2024")
    assert client.post(f"/dokumenter/{minutes}/offentliggoer").status_code == 403
    municipality = app.test_client()
    log_in(municipality, MUNI_EDITOR, demo.password)
    report = _upload_minutes(municipality, demo.organisations[0].id, "Analyse", kind="analyse")
    assert municipality.post(f"/dokumenter/{report}/offentliggoer").status_code == 403
    assert db.session.scalar(select(Document.visibility).where(Document.id == report)).value == "dialogue"


def test_unpublishing_takes_minutes_out_of_the_archive(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    log_in(client, MUNI_EDITOR, demo.password)
    minutes = _upload_minutes(client, demo.organisations[1].id, "Referat Åbrinken")
    client.post(f"/dokumenter/{minutes}/offentliggoer")
    assert app.test_client().get(f"/offentlig/referater/{minutes}").status_code == 200
    client.post(f"/dokumenter/{minutes}/tilbagekald")
    assert app.test_client().get(f"/offentlig/referater/{minutes}").status_code == 404
    assert "Referat Åbrinken" not in app.test_client().get("/offentlig/referater").get_data(as_text=True)


def test_atom_feed_lists_published_minutes_newest_first(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    log_in(client, MUNI_EDITOR, demo.password)
    first = _upload_minutes(client, demo.organisations[0].id, "Referat A")
    second = _upload_minutes(client, demo.organisations[1].id, "Referat B")
    client.post(f"/dokumenter/{first}/offentliggoer")
    client.post(f"/dokumenter/{second}/offentliggoer")
    response = app.test_client().get("/offentlig/referater.atom")
    assert response.mimetype == "application/atom+xml"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = ET.fromstring(response.data).findall("a:entry", ns)
    titles = [e.find("a:title", ns).text for e in entries]
    assert titles[0].startswith("Referat B") and titles[1].startswith("Referat A")
    assert entries[0].find("a:link", ns).get("href").endswith(f"/offentlig/referater/{second}")


def test_archive_groups_older_minutes_by_organisation_and_year(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    log_in(client, MUNI_EDITOR, demo.password)
    for year in range(2014, 2026):
        document_id = _upload_minutes(client, demo.organisations[0].id, f"Referat {year}", year=str(year))
        client.post(f"/dokumenter/{document_id}/offentliggoer")
    page = app.test_client().get("/offentlig/referater").get_data(as_text=True)
    newest, earlier = page.split("Tidligere referater")
    assert "Referat 2025" in newest and "Referat 2014" not in newest
    assert f"<h3>{demo.organisations[0].name}</h3>" in earlier and "2014:" in earlier
