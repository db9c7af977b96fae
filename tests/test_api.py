"""The JSON API's authentication and error format."""

from __future__ import annotations

import pytest
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


def _api_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(OpenAPI path, method) of every route under /api/v1, as the app routes them."""
    import re

    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule[len("/api/v1"):])
            routes.update((path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_openapi_document_describes_every_api_route(app, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").json
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    routes = _api_routes(app)
    assert routes - documented == set(), "API routes missing from the OpenAPI document"
    assert documented - routes == set(), "OpenAPI operations with no route (path or method differs)"


def test_openapi_document_describes_parameters_errors_and_the_token(client: FlaskClient) -> None:
    import re

    doc = client.get("/api/v1/openapi.json").json
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]["bearer"]["description"]}
    assert doc["security"] == [{"bearer": []}]
    error = {"$ref": "#/components/schemas/Error"}
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), f"{where}: path parameters"
            if operation.get("security") == []:
                continue
            assert "401" in operation["responses"], f"{where}: no 401"
            if "{" in path:
                assert "404" in operation["responses"], f"{where}: no 404"
            if "requestBody" in operation:
                assert {"400", "415"} <= set(operation["responses"]), f"{where}: no 400 or 415"
            for status, response in operation["responses"].items():
                if status.startswith("4") and status != "409" or status.startswith("5"):
                    assert response["content"]["application/json"]["schema"] == error, f"{where} {status}"
    upload = doc["paths"]["/documents"]["post"]
    assert {"400", "401", "403", "404", "413", "415"} <= set(upload["responses"])
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"]["format"] == "binary" and "organisation" in form["required"]
    conflict = doc["paths"]["/agreements/{agreement_id}"]["patch"]["responses"]["409"]["content"]["application/json"]
    assert set(conflict["schema"]["required"]) == {"error", "conflicts"}


@pytest.fixture
def editor(app, demo):  # type: ignore[no-untyped-def]
    """The API as Fjordby Boligselskab's editor, with an agreement and an open obligation of its own."""
    from portal.services import agreements as agreement_service
    from portal.services import dialogue as dialogue_service
    from tests.factories import ApiUser

    org = demo.organisations[0]
    with unit_of_work():
        agreement = agreement_service.create_agreement(SYSTEM, {"title": "Udlejningsaftale", "type": "individuel",
                                                                "organisations": [org.id]})
        dialogue = dialogue_service.open_dialogue(SYSTEM, org.id, 2030)
        dialogue_service.plan_meeting(SYSTEM, dialogue.id, {"starts_at": "2030-10-01T10:00"})
        obligation = dialogue_service.add_meeting_agreement(SYSTEM, dialogue.id, {
            "title": "Vedligeholdelsesplan", "responsible_party": org.id, "first_due": "2030-12-01"})
    api = ApiUser(app, "redaktoer@fjordby-boligselskab.dk")
    api.agreement, api.occurrence = agreement.id, obligation.occurrences[0].id
    return api


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), [
    ("GET", "/documents/99999999999999999999", None, 404, None),
    ("GET", "/agreements/2147483648", None, 404, None),
    ("GET", "/obligations?party=²", None, 404, None),
    ("GET", "/obligations?party=99999999999999999999", None, 404, None),
    ("GET", "/obligations?due_before=0001-01-01", None, 200, None),
    ("GET", "/search?department=99999999999999999999", None, 400, "department"),
    ("GET", "/search?year_from=-99999999999999999999", None, 400, "year_from"),
    ("POST", "/agreements", {"title": "Aftale", "type": "andet", "organisations": 5}, 400, "organisations"),
    ("POST", "/agreements", {"title": "Aftale", "type": "andet", "organisations": ["²"]}, 400, "organisations"),
    ("POST", "/agreements", {"title": "A" * 301, "type": "andet", "organisations": ["{org}"]}, 400, "title"),
    ("POST", "/agreements", {"title": "Aftale\x00", "type": "andet", "organisations": ["{org}"]}, 400, None),
    ("PATCH", "/agreements/{agreement}", {"base_revision": 1, "sections": {"x": {"data": "tekst"}}}, 400, "sections"),
    ("POST", "/agreements/{agreement}/sections", {"heading": "Nyt", "base_revision": 0}, 400, "base_revision"),
    ("POST", "/agreements/{agreement}/sections", {"heading": "Nyt", "base_revision": 10**20}, 400, "base_revision"),
    ("POST", "/agreements/{agreement}/approvals", {"revision": True}, 400, "revision"),
    ("POST", "/obligations/{occurrence}/report", {"evidence": [{"url": "https://[fjordby.dk"}]}, 400, "url"),
    ("POST", "/obligations/{occurrence}/report", {"evidence": [{"url": "https://fjordby.dk/" + "x" * 2000}]}, 400, "url"),
    ("POST", "/obligations/{occurrence}/report", {"evidence": [{"document_id": 10**20}]}, 400, "evidence"),
    ("POST", "/obligations/{occurrence}/reject", {"reason": 7}, 400, "reason"),
])
def test_api_answers_odd_input_with_a_client_error_not_a_crash(editor, demo, method: str, path: str, body, status: int,
                                                               field: str | None) -> None:  # type: ignore[no-untyped-def]
    import json

    org = demo.organisations[0]
    path = path.format(agreement=editor.agreement, occurrence=editor.occurrence)
    if body is not None:
        body = json.loads(json.dumps(body).replace('"{org}"', str(org.id)))
    response = editor.client.open(f"/api/v1{path}", method=method, json=body, headers=editor.headers)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if status >= 400:
        assert response.json["error"]["code"] and response.json["error"]["message"]
    if field:  # the field, or a member or item of it (`sections.x.data`, `organisations[0]`)
        named = response.json["error"]["details"]["fields"]
        assert any(name == field or name.startswith((f"{field}.", f"{field}[")) for name in named), named


def test_api_refuses_bodies_of_the_wrong_media_type_with_415(editor, demo) -> None:  # type: ignore[no-untyped-def]
    as_form = editor.client.post(f"/api/v1/agreements/{editor.agreement}/approvals", data={"revision": "1"},
                                 headers=editor.headers)
    assert as_form.status_code == 415 and as_form.json["error"]["code"] == "unsupported_media_type"
    upload_as_json = editor.client.post("/api/v1/documents", json={"organisation": demo.organisations[0].cvr},
                                        headers=editor.headers)
    assert upload_as_json.status_code == 415


def test_api_document_file_refuses_a_version_that_is_not_a_number(client: FlaskClient) -> None:
    import io

    from tests.documents_helpers import make_pdf

    org = PartyFactory()
    user = member(org, Role.EDITOR)
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, user)
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/documents", headers=headers, content_type="multipart/form-data", data={
        "file": (io.BytesIO(make_pdf()), "r.pdf"), "organisation": org.cvr, "kind": "referat", "year": "2025"}).json
    assert client.get(f"/api/v1/documents/{created['id']}/file?version=1", headers=headers).status_code == 200
    assert client.get(f"/api/v1/documents/{created['id']}/file?version=2", headers=headers).status_code == 404
    refused = client.get(f"/api/v1/documents/{created['id']}/file?version=nyeste", headers=headers)
    assert refused.status_code == 400 and "version" in refused.json["error"]["details"]["fields"]


def test_api_answers_json_nested_beyond_the_parser_with_400(editor) -> None:  # type: ignore[no-untyped-def]
    response = editor.client.post(f"/api/v1/agreements/{editor.agreement}/approvals", data="[" * 100_000,
                                  content_type="application/json", headers=editor.headers)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_input"
