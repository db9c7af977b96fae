"""The JSON API's authentication and error format."""

from __future__ import annotations

from flask.testing import FlaskClient

from portal.access import SYSTEM
from portal.models import Role
from portal.services import auth as auth_service
from portal.uow import unit_of_work
from tests.factories import PartyFactory, log_in, member


def test_api_without_token_answers_401_as_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthenticated"
    assert response.json["error"]["message"]


def test_api_ignores_the_browser_session_cookie(client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.EDITOR)
    log_in(client, user.email)
    assert client.get("/api/v1/me").status_code == 401


def test_api_token_identifies_the_user_until_deactivated(client: FlaskClient) -> None:
    from portal.services import users as user_service

    user = member(PartyFactory(), Role.EDITOR)
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, user)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).json["id"] == user.id
    with unit_of_work():
        user_service.set_user_active(SYSTEM, user.id, False)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_openapi_document_describes_the_api(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert "/me" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_unknown_api_path_is_a_json_404(client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.EDITOR)
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, user)
    response = client.get("/api/v1/findes-ikke", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_api_uploads_a_document_and_reports_its_status(client: FlaskClient) -> None:
    import io

    from tests.documents_helpers import make_pdf

    org = PartyFactory()
    user = member(org, Role.EDITOR)
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, user)
    headers = {"Authorization": f"Bearer {token}"}
    pdf = make_pdf("API-upload")
    response = client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data", data={
        "file": (io.BytesIO(pdf), "styringsrapport.pdf"), "organisation": org.cvr, "kind": "styringsrapport",
        "year": "2025", "title": "Styringsrapport 2025", "visibility": "dialogue"})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["version"] == 1 and body["status"] == "pending" and body["status_reason"] is None
    assert client.get(f"/api/v1/documents/{body['id']}", headers=headers).json["title"] == "Styringsrapport 2025"
    part = client.get(f"/api/v1/documents/{body['id']}/file", headers={**headers, "Range": "bytes=0-4"})
    assert part.status_code == 206 and part.data == b"%PDF-"


def test_api_upload_errors_name_the_field(client: FlaskClient) -> None:
    import io

    org = PartyFactory()
    user = member(org, Role.EDITOR)
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, user)
    response = client.post("/api/v1/documents", headers={"Authorization": f"Bearer {token}"},
                           content_type="multipart/form-data",
                           data={"file": (io.BytesIO(b"%PDF-1.4\n"), "x.pdf"), "organisation": org.cvr, "kind": "nej",
                                 "year": "1850"})
    assert response.status_code == 400
    fields = response.json["error"]["details"]["fields"]
    assert set(fields) == {"kind", "year"}


def test_api_hides_other_organisations_documents(client: FlaskClient) -> None:
    import io

    from tests.documents_helpers import make_pdf

    owner, stranger_org = PartyFactory(), PartyFactory()
    owner_user, stranger = member(owner, Role.EDITOR), member(stranger_org, Role.ADMIN)
    with unit_of_work():
        owner_token = auth_service.create_api_token(SYSTEM, owner_user)
        stranger_token = auth_service.create_api_token(SYSTEM, stranger)
    created = client.post("/api/v1/documents", headers={"Authorization": f"Bearer {owner_token}"},
                          content_type="multipart/form-data", data={
                              "file": (io.BytesIO(make_pdf()), "r.pdf"), "organisation": str(owner.id), "kind": "referat",
                              "year": "2025", "visibility": "party"}).json
    for path in (f"/api/v1/documents/{created['id']}", f"/api/v1/documents/{created['id']}/file",
                 "/api/v1/documents/999999"):
        response = client.get(path, headers={"Authorization": f"Bearer {stranger_token}"})
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    upload_elsewhere = client.post("/api/v1/documents", headers={"Authorization": f"Bearer {stranger_token}"},
                                   content_type="multipart/form-data", data={
                                       "file": (io.BytesIO(make_pdf()), "r.pdf"), "organisation": owner.cvr,
                                       "kind": "referat", "year": "2025"})
    assert upload_elsewhere.status_code == 404


def test_openapi_document_describes_every_api_route(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    import re

    documented = {(path, method) for path, item in client.get("/api/v1/openapi.json").json["paths"].items()
                  for method in item}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
        routes.update((path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"})
    assert routes - documented == set(), "API routes missing from the OpenAPI document"
    assert documented - routes == set(), "OpenAPI paths with no route"
