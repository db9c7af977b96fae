"""The JSON API's requests are parsed by the same schemas its OpenAPI document shows: a body of the
wrong shape is refused with 400 naming the exact field, in the document's words and in Danish."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.access import SYSTEM
from portal.services import agreements as agreement_service
from portal.uow import unit_of_work
from tests.factories import ApiUser, DemoData

MUNI_EDITOR = "redaktoer@fjordby.dk"


@pytest.fixture
def agreement(app: Flask, demo: DemoData) -> int:
    with unit_of_work():
        return agreement_service.create_agreement(SYSTEM, {
            "title": "Udlejningsaftale", "type": "individuel", "organisations": [demo.organisations[0].id]}).id


def _fields(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.json["error"]["code"] == "invalid_input"
    return response.json["error"]["details"]["fields"]


def test_a_section_change_of_the_wrong_shape_is_refused_naming_the_section_and_member(
        app: Flask, demo: DemoData, agreement: int) -> None:
    editor = ApiUser(app, MUNI_EDITOR)
    response = editor.patch(f"/agreements/{agreement}", {"base_revision": 1, "sections": {
        "s1": {"data": "25 procent"}, "s2": {"text": 7}}})
    fields = _fields(response)
    assert set(fields) == {"sections.s1.data", "sections.s2.text"}
    assert fields["sections.s1.data"] == "Skal være et objekt."
    assert "sections.s1.data" in response.json["error"]["message"]
    assert editor.get(f"/agreements/{agreement}").json["revision"] == 1


def test_list_items_are_named_by_position(app: Flask, demo: DemoData) -> None:
    editor = ApiUser(app, MUNI_EDITOR)
    response = editor.post("/agreements", {"title": "Aftale", "type": "andet",
                                           "organisations": [demo.organisations[0].id, "to"]})
    assert set(_fields(response)) == {"organisations[1]"}


def test_numbers_that_are_whole_count_and_look_alikes_do_not(app: Flask, demo: DemoData, agreement: int) -> None:
    editor = ApiUser(app, MUNI_EDITOR)
    # 1.0 is the number 1 in JSON; "1", true and 1.5 are not whole numbers.
    assert editor.post(f"/agreements/{agreement}/sections",
                       {"heading": "Nyt afsnit", "base_revision": 1.0}).status_code == 201
    for revision in ("1", True, 1.5):
        response = editor.post(f"/agreements/{agreement}/sections", {"heading": "Nyt", "base_revision": revision})
        assert set(_fields(response)) == {"base_revision"}, revision


def test_an_invitation_answer_must_be_true_or_false(app: Flask, demo: DemoData, agreement: int) -> None:
    editor = ApiUser(app, MUNI_EDITOR)
    for answer in ("true", 1, None):
        response = editor.post(f"/agreements/{agreement}/invitation", {"accept": answer})
        assert set(_fields(response)) == {"accept"}, answer


def test_missing_members_are_named_and_unknown_ones_ignored(app: Flask, demo: DemoData, agreement: int) -> None:
    editor = ApiUser(app, MUNI_EDITOR)
    assert set(_fields(editor.post(f"/agreements/{agreement}/sections", {"after": None}))) == {
        "heading", "base_revision"}
    added = editor.post(f"/agreements/{agreement}/sections", {"heading": "Nyt", "base_revision": 1, "farve": "rød"})
    assert added.status_code == 201


def test_query_parameters_of_the_wrong_type_are_refused_and_empty_ones_ignored(app: Flask, demo: DemoData) -> None:
    editor = ApiUser(app, MUNI_EDITOR)
    assert set(_fields(editor.get("/search?q=aftale&year_from=i+fjor&kind=aftale,roman"))) == {"year_from", "kind[1]"}
    assert editor.get("/search?q=aftale&year_from=&kind=&page=&visibility=").status_code == 200
    assert editor.get("/obligations?status=&due_before=").status_code == 200
    doc = editor.client.get("/api/v1/openapi.json").json
    query = [p for item in doc["paths"].values() for op in item.values() for p in op.get("parameters", [])
             if p["in"] == "query"]
    assert query and all(p["allowEmptyValue"] for p in query), "the document must say an empty value is allowed"
    assert set(_fields(editor.get("/obligations?due_before=31-12-2030"))) == {"due_before"}


def test_every_documented_request_body_is_the_schema_the_view_parses(client: FlaskClient) -> None:
    """The document is made from the parsing schemas: each JSON body names the members the views read."""
    doc = client.get("/api/v1/openapi.json").json
    bodies = {f"{method.upper()} {path}": operation["requestBody"]["content"]
              for path, item in doc["paths"].items() for method, operation in item.items() if "requestBody" in operation}
    assert set(bodies) == {
        "POST /documents", "POST /agreements", "PATCH /agreements/{agreement_id}",
        "POST /agreements/{agreement_id}/sections", "POST /agreements/{agreement_id}/invitation",
        "POST /agreements/{agreement_id}/approvals", "POST /obligations/{occurrence_id}/report",
        "POST /obligations/{occurrence_id}/reject"}
    patch = bodies["PATCH /agreements/{agreement_id}"]["application/json"]["schema"]
    change = patch["properties"]["sections"]["additionalProperties"]
    assert change["properties"]["data"]["type"] == "object"
    assert set(change["properties"]) == {"text", "heading", "data"}
    upload = bodies["POST /documents"]["multipart/form-data"]["schema"]
    assert set(upload["required"]) == {"file", "organisation", "kind", "year"}


def test_web_pages_keep_their_own_error_pages(client: FlaskClient) -> None:
    """The API library answers nothing outside /api/v1: a missing page is still the portal's HTML page."""
    response = client.get("/findes-ikke")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
