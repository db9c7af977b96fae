"""The obligations API: list what is due, report done with evidence, verify or reject."""

from __future__ import annotations

import io
from datetime import date, timedelta

from flask.testing import FlaskClient

from portal.access import SYSTEM
from portal.models import OccurrenceStatus
from portal.services import auth as auth_service
from portal.services import documents as document_service
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf_pages
from tests.factories import DemoData
from tests.test_obligation_views import _in_force
from tests.test_obligations import MUNI_EDITOR, ORG_EDITOR, OUTSIDER

ORG_READER = "laeser@fjordby-boligselskab.dk"


def _headers(demo: DemoData, email: str) -> dict[str, str]:
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, demo.user(email))
    return {"Authorization": f"Bearer {token}"}


def test_api_lists_the_callers_obligations_with_filters(client: FlaskClient, demo: DemoData) -> None:
    overdue = _in_force(demo, date.today() - timedelta(days=3), title="Indsend helhedsplan")
    later = _in_force(demo, date.today() + timedelta(days=60), title="Beboerundersøgelse")
    org = _headers(demo, ORG_EDITOR)

    listed = client.get("/api/v1/obligations", headers=org).get_json()
    ids = [o["id"] for o in listed["obligations"]]
    assert overdue.id in ids and later.id in ids and listed["total"] == len(ids)
    first = next(o for o in listed["obligations"] if o["id"] == overdue.id)
    assert first["overdue"] is True and first["title"] == "Indsend helhedsplan" and first["status"] == "open"
    assert first["due_date"] == overdue.due_date.isoformat()

    only_overdue = client.get("/api/v1/obligations?status=overdue", headers=org).get_json()
    assert [o["id"] for o in only_overdue["obligations"]] == [overdue.id]
    soon = client.get(f"/api/v1/obligations?due_before={(date.today() + timedelta(days=30)).isoformat()}",
                      headers=org).get_json()
    assert later.id not in [o["id"] for o in soon["obligations"]]
    by_cvr = client.get(f"/api/v1/obligations?party={demo.organisations[0].cvr}", headers=org).get_json()
    assert {o["id"] for o in by_cvr["obligations"]} >= {overdue.id, later.id}

    bad = client.get("/api/v1/obligations?due_before=i-morgen", headers=org)
    assert bad.status_code == 400 and "due_before" in bad.get_json()["error"]["details"]["fields"]

    # Another organisation sees none of them, and naming this organisation is a 404.
    outsider = _headers(demo, OUTSIDER)
    assert overdue.id not in [o["id"] for o in client.get("/api/v1/obligations", headers=outsider).get_json()["obligations"]]
    assert client.get(f"/api/v1/obligations?party={demo.organisations[0].id}", headers=outsider).status_code == 404


def test_api_report_with_evidence_then_verify_and_reject(client: FlaskClient, demo: DemoData) -> None:
    first = _in_force(demo, date.today() + timedelta(days=5), title="Vedligeholdelsesplan")
    second = _in_force(demo, date.today() + timedelta(days=6), title="Udlejningsstatistik")
    with unit_of_work():
        plan = document_service.upload_document(demo.user(ORG_EDITOR), demo.organisations[0].id,
                                                {"kind": "bilag", "year": "2026", "title": "Plan"},
                                                io.BytesIO(make_pdf_pages(["Forside", "Planen"])), "plan.pdf",
                                                max_size=10**7)
    org, muni = _headers(demo, ORG_EDITOR), _headers(demo, MUNI_EDITOR)

    # Readers and the other party may not report; a stranger does not see it at all.
    body = {"comment": "Planen er vedtaget", "evidence": [{"document_id": plan.id, "page": 2}]}
    assert client.post(f"/api/v1/obligations/{first.id}/report", json=body,
                       headers=_headers(demo, ORG_READER)).status_code == 403
    assert client.post(f"/api/v1/obligations/{first.id}/report", json=body, headers=muni).status_code == 403
    assert client.post(f"/api/v1/obligations/{first.id}/report", json=body,
                       headers=_headers(demo, OUTSIDER)).status_code == 404
    # Without evidence the report is refused and names the field.
    refused = client.post(f"/api/v1/obligations/{first.id}/report", json={"comment": "x"}, headers=org)
    assert refused.status_code == 400 and "evidence" in refused.get_json()["error"]["details"]["fields"]

    reported = client.post(f"/api/v1/obligations/{first.id}/report", json=body, headers=org)
    assert reported.status_code == 200
    assert reported.get_json()["status"] == "reported_done"
    assert reported.get_json()["evidence"] == [{"document_id": plan.id, "page": 2, "url": None, "comment": ""}]
    # Only the verifying party verifies.
    assert client.post(f"/api/v1/obligations/{first.id}/verify", headers=org).status_code == 403
    verified = client.post(f"/api/v1/obligations/{first.id}/verify", headers=muni)
    assert verified.status_code == 200 and verified.get_json()["status"] == OccurrenceStatus.VERIFIED.value

    client.post(f"/api/v1/obligations/{second.id}/report",
                json={"evidence": [{"url": "https://fjordby-boligselskab.dk/statistik"}]}, headers=org)
    no_reason = client.post(f"/api/v1/obligations/{second.id}/reject", json={}, headers=muni)
    assert no_reason.status_code == 400
    rejected = client.post(f"/api/v1/obligations/{second.id}/reject", json={"reason": "Tallene mangler"}, headers=muni)
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "rejected" and rejected.get_json()["status_note"] == "Tallene mangler"
