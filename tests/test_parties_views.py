"""Administration pages: organisations, departments and users, as an admin uses them."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEvent, Department, Party
from tests.factories import DemoData, log_in


def test_municipality_admin_creates_an_organisation(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, "administrator@fjordby.dk", demo.password)
    response = client.post("/organisationer/ny", data={"name": "Nye Boliger", "cvr": "2989 3608", "municipality_name": "Fjordby"})
    assert response.status_code == 302
    party = db.session.scalar(select(Party).where(Party.cvr == "29893608"))
    assert party is not None and party.name == "Nye Boliger"
    assert "Nye Boliger" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "party.create",
                                                      AuditEvent.object_id == str(party.id))) is not None


def test_invalid_cvr_is_explained_next_to_the_field_and_nothing_is_stored(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, "administrator@fjordby.dk", demo.password)
    before = db.session.scalar(select(func.count()).select_from(Party))
    response = client.post("/organisationer/ny", data={"name": "", "cvr": "12345678"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="field-cvr-error"' in page and "kontrolcifferet" in page
    assert 'aria-describedby="field-cvr-hint field-cvr-error"' in page and 'aria-invalid="true"' in page
    assert 'href="#field-name"' in page  # the error summary links to each field
    assert db.session.scalar(select(func.count()).select_from(Party)) == before


def test_organisation_editor_adds_a_department(client: FlaskClient, demo: DemoData) -> None:
    org = demo.organisations[0]
    log_in(client, "redaktoer@fjordby-boligselskab.dk", demo.password)
    response = client.post(f"/parter/{org.id}/afdelinger/ny",
                           data={"lbf_number": "104", "name": "Engparken", "address": "Engvej 1", "housing_type": "aeldre",
                                 "homes": "24"})
    assert response.status_code == 302
    page = client.get(f"/parter/{org.id}").get_data(as_text=True)
    assert "Engparken" in page and "Ældrebolig" in page
    duplicate = client.post(f"/parter/{org.id}/afdelinger/ny",
                            data={"lbf_number": "104", "name": "Igen", "housing_type": "familie", "homes": "1"})
    assert duplicate.status_code == 400 and "allerede en afdeling med dette nummer" in duplicate.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(Department.lbf_number == "104")) == 1


def test_english_is_available_as_second_language(client: FlaskClient, demo: DemoData) -> None:
    assert "<h1>Log ind</h1>" in client.get("/log-ind").get_data(as_text=True)
    client.get("/sprog/en")
    page = client.get("/log-ind").get_data(as_text=True)
    assert '<html lang="en">' in page and "<h1>Log in</h1>" in page
