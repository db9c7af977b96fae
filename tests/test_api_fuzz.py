"""The JSON API under fuzzing: schemathesis turns /api/v1/openapi.json into requests and checks
every answer against the document.

The schema is loaded from the app itself (WSGI, no network). Each run acts as an editor of one
organisation and aims the generated requests at another organisation's documents, agreements and
obligations: path ids, the upload's `organisation` and list filters are drawn mostly from the
other organisation's objects, mixed with the editor's own and whatever schemathesis generates.
Beside every check schemathesis has (no 5xx, documented status codes, content types and response
bodies, invalid input refused, authentication enforced, …) one check of ours fails the run when
another organisation's object answers 2xx or shows up in a list. Then the same the other way round.

Each operation gets schemathesis' coverage cases and 25 random examples with a fixed seed, so
`make test` stays quick and repeatable; `PORTAL_FUZZ_EXAMPLES=500 .venv/bin/python -m pytest
tests/test_api_fuzz.py` fuzzes harder, with a fresh random seed each run.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation

from portal.access import SYSTEM
from portal.models import Party, Role
from portal.services import agreements as agreement_service
from portal.services import auth as auth_service
from portal.services import dialogue as dialogue_service
from portal.services import documents as document_service
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf
from tests.factories import DemoData, member
from tests.indexing_helpers import drain

_DEEP_EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "0") or 0)
settings.register_profile("api-fuzz", max_examples=25, deadline=None, derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("api-fuzz-deep", max_examples=max(_DEEP_EXAMPLES, 1), deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
PROFILE = settings.get_profile("api-fuzz-deep" if _DEEP_EXAMPLES else "api-fuzz")

PRIVATE_VISIBILITIES = ("party", "dialogue")

# Valid by the schema yet refused by rules no schema can state: what the uploaded bytes are, which
# organisations and departments exist, the newest revision, the obligation's workflow state.
_REFUSED_BY_RULES = {
    ("POST", "/documents"): ["400", "413", "415"],
    ("POST", "/agreements"): ["400"],
    ("PATCH", "/agreements/{agreement_id}"): ["400"],
    ("POST", "/agreements/{agreement_id}/sections"): ["400"],
    ("POST", "/obligations/{occurrence_id}/report"): ["400"],
    ("POST", "/obligations/{occurrence_id}/verify"): ["400"],
    ("POST", "/obligations/{occurrence_id}/reject"): ["400"],
}
# schemathesis' own list for valid input (a 5xx fails `not_a_server_error` instead).
_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


@dataclass
class Organisation:
    """One side of the run: an organisation, its editor's token and the objects it owns."""

    party: Party
    token: str
    documents: list[int] = field(default_factory=list)  # `party` and `dialogue`: never another organisation's
    document_titles: set[str] = field(default_factory=set)
    shared_documents: list[int] = field(default_factory=list)  # `all_parties`: every logged-in user's
    agreements: list[int] = field(default_factory=list)
    shared_agreements: list[int] = field(default_factory=list)  # with every organisation
    occurrences: list[int] = field(default_factory=list)

    def private_ids(self) -> dict[str, set[str]]:
        """Path parameter → ids (as sent in a URL) that nobody outside this organisation may reach."""
        return {"document_id": {str(i) for i in self.documents}, "agreement_id": {str(i) for i in self.agreements},
                "occurrence_id": {str(i) for i in self.occurrences}}

    def references(self) -> set[str]:
        return {str(self.party.id), self.party.cvr}


def _arrange(demo: DemoData, party: Party, editor_email: str, year: int) -> Organisation:
    """Documents of every visibility, a draft agreement and open obligations, all of `party`."""
    with unit_of_work():
        token = auth_service.create_api_token(SYSTEM, demo.user(editor_email))
    side = Organisation(party=party, token=token)
    with unit_of_work():
        for visibility in ("party", "dialogue", "all_parties"):
            document = document_service.upload_document(
                SYSTEM, party.id, {"kind": "styringsrapport", "year": str(year), "visibility": visibility,
                                   "title": f"Styringsrapport {year} ({visibility})"},
                io.BytesIO(make_pdf(f"Styringsrapport for {party.name} om udlejning")), "styringsrapport.pdf",
                max_size=10**7)
            if visibility == "all_parties":
                side.shared_documents.append(document.id)
            else:
                side.documents.append(document.id)
                side.document_titles.add(document.title)
        side.agreements.append(agreement_service.create_agreement(SYSTEM, {
            "title": f"Udlejningsaftale {party.name}", "type": "individuel", "organisations": [party.id]}).id)
        dialogue = dialogue_service.open_dialogue(SYSTEM, party.id, year)
        dialogue_service.plan_meeting(SYSTEM, dialogue.id, {"starts_at": f"{year}-10-01T10:00"})
        for title in ("Vedligeholdelsesplan", "Plan for nedbringelse af tomgang"):
            obligation = dialogue_service.add_meeting_agreement(SYSTEM, dialogue.id, {
                "title": title, "responsible_party": party.id, "first_due": f"{year}-12-01"})
            side.occurrences.extend(o.id for o in obligation.occurrences)
    return side


@pytest.fixture
def organisations(app: Flask, demo: DemoData) -> tuple[Organisation, Organisation]:
    """Fjordby Boligselskab's editor (A) and a new editor of Boligforeningen Åbrinken (B)."""
    a_party, b_party = demo.organisations[0], demo.organisations[1]
    b_editor = member(b_party, Role.EDITOR, email="redaktoer@aabrinken.dk")
    a = _arrange(demo, a_party, "redaktoer@fjordby-boligselskab.dk", 2030)
    b = _arrange(demo, b_party, b_editor.email, 2031)
    with unit_of_work():
        # A strategic agreement with every organisation: both sides may read it.
        joint = agreement_service.create_agreement(SYSTEM, {
            "title": "Strategisk aftale om udlejning", "type": "strategisk",
            "organisations": [o.id for o in demo.organisations]}).id
    a.shared_agreements = b.shared_agreements = [joint]
    drain()  # index it all, so searches find the documents of both
    return a, b


class _IsolatedWsgi:
    """Runs each request in an app context of its own, as production does, while the test holds one."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self.app.app_context():
            return self.app.wsgi_app(environ, start_response)


def _id_parameter(case: schemathesis.Case) -> str | None:
    names = ("document_id", "agreement_id", "occurrence_id")
    return next((name for name in names if name in (case.path_parameters or {})), None)


def _aim_at(me: Organisation, other: Organisation, rewritten_uploads: set[int]) -> Callable[..., Any]:
    """A `flatmap_case` hook: ids, organisations and filters drawn mostly from the other organisation.

    Uploads it rewrites (a real PDF, a drawn organisation) are noted by case id in `rewritten_uploads`:
    schemathesis cannot judge a multipart body holding generated bytes again after an edit and
    takes it for invalid, so the check that invalid input is refused must skip those."""
    pdf = make_pdf("Fuzzet upload")
    mine = {"document_id": me.documents + me.shared_documents + other.shared_documents,
            "agreement_id": me.agreements + me.shared_agreements,
            "occurrence_id": me.occurrences}
    theirs = {"document_id": other.documents, "agreement_id": other.agreements, "occurrence_id": other.occurrences}
    their_refs, my_refs = sorted(other.references()), sorted(me.references())

    def either(generated: Any, foreign: list[Any], own: list[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(st.sampled_from(foreign), st.sampled_from(foreign + own), st.just(generated))

    def flatmap_case(context: schemathesis.HookContext, case: schemathesis.Case) -> st.SearchStrategy[Any]:
        meta = case.meta
        if meta is not None and meta.is_negative_at(ParameterLocation.HEADER):
            # A missing or broken token, which the configured one replaces: left as schemathesis made it.
            return st.just(case)
        name = _id_parameter(case)
        if name is not None and not (meta is not None and meta.is_negative_at(ParameterLocation.PATH)):
            return either(case.path_parameters[name], theirs[name], mine[name]).map(
                lambda value: _with_path(case, name, value))
        # Bodies and queries only of valid cases: which part of an invalid one is the invalid part is
        # schemathesis' own bookkeeping, and a drawn value must not hide it.
        valid = meta is None or meta.generation.mode.is_positive
        label = f"{case.method.upper()} {case.operation.path}"
        if label == "POST /documents" and isinstance(case.body, dict) and valid:
            generated_file = case.body.get("file")
            # The same wrapper schemathesis puts around generated bytes, so the case still counts as valid.
            real_pdf = type(generated_file)(pdf) if generated_file is not None else None
            return st.tuples(either(case.body.get("organisation"), their_refs, my_refs),
                             st.sampled_from([generated_file, real_pdf])).map(
                lambda drawn: _noted(rewritten_uploads, _with_body(case, organisation=drawn[0], file=drawn[1])))
        if label == "POST /agreements" and isinstance(case.body, dict) and valid:
            choices = [[other.party.id], [me.party.id], [me.party.id, other.party.id]]
            return either(case.body.get("organisations"), choices, choices).map(
                lambda value: _with_body(case, organisations=value))
        if label == "GET /obligations" and valid:
            return either((case.query or {}).get("party"), their_refs, my_refs).map(
                lambda value: _with_query(case, "party", value))
        if label == "GET /search" and valid:
            query = case.query or {}
            words = ["styringsrapport", "udlejning", "styringsrapport OR aftale"]
            return st.tuples(either(query.get("organisation"), their_refs, my_refs),
                             st.sampled_from([query.get("q"), *words])).map(
                lambda drawn: _within_search_window(
                    _with_query(_with_query(case, "organisation", drawn[0]), "q", drawn[1])))
        return st.just(case)

    return flatmap_case


def _noted(cases: set[int], case: schemathesis.Case) -> schemathesis.Case:
    cases.add(id(case))
    return case


def _with_path(case: schemathesis.Case, name: str, value: Any) -> schemathesis.Case:
    case.path_parameters = {**case.path_parameters, name: value}
    return case


def _with_body(case: schemathesis.Case, **values: Any) -> schemathesis.Case:
    case.body = {**case.body, **{k: v for k, v in values.items() if v is not None}}
    return case


def _with_query(case: schemathesis.Case, name: str, value: Any) -> schemathesis.Case:
    case.query = {**(case.query or {}), **({name: value} if value is not None else {})}
    return case


def _within_search_window(case: schemathesis.Case) -> schemathesis.Case:
    """Search pages reach the first 10 000 hits, a limit on page × per_page that the schema cannot state."""
    query = case.query or {}
    page, per_page = query.get("page"), query.get("per_page")
    if case.operation.path == "/search" and isinstance(page, int) and page > 1:
        size = min(max(per_page or 20, 1), 100) if isinstance(per_page, int) else 20
        case.query = {**query, "page": min(page, 10_000 // size)}
    return case


def _no_access_to(me: Organisation, other: Organisation) -> Callable[..., Any]:
    """A schemathesis check: the other organisation's private objects never answer 2xx nor show in a list."""
    private = other.private_ids()
    their_occurrences = set(other.occurrences)

    def other_organisations_objects_stay_hidden(ctx: Any, response: Any, case: schemathesis.Case) -> None:
        if not 200 <= response.status_code < 300:
            return
        for name, value in (case.path_parameters or {}).items():
            assert str(value) not in private.get(name, set()), (
                f"{case.method} {case.formatted_path} answered {response.status_code} for another organisation's object")
        if "json" not in response.headers.get("content-type", [""])[0]:
            return
        body = response.json()
        label = f"{case.method.upper()} {case.operation.path}"
        if label == "POST /documents":
            assert body["organisation"] != other.party.id, "POST /documents stored a document for another organisation"
        if label == "GET /documents/{document_id}":
            assert not (body["organisation"] == other.party.id and body["visibility"] in PRIVATE_VISIBILITIES), (
                f"{label} gave access to another organisation's document")
        if "parties" in body:
            assert me.party.id in body["parties"], f"{label} gave access to an agreement between others"
        if "responsible_party" in body:
            assert me.party.id in (body["responsible_party"], body["verifying_party"]), (
                f"{label} gave access to another organisation's obligation")
        if label == "GET /obligations":
            leaked = {o["id"] for o in body["obligations"]} & their_occurrences
            assert not leaked, f"GET /obligations listed another organisation's obligations {sorted(leaked)}"
        if label == "GET /search":
            leaked = {hit["title"] for hit in body["hits"]} & other.document_titles
            assert not leaked, f"GET /search found another organisation's documents {sorted(leaked)}"

    return other_organisations_objects_stay_hidden


@dataclass
class Fuzzing:
    schema: schemathesis.BaseSchema
    check: Callable[..., Any]
    rewritten_uploads: set[int]


@pytest.fixture(params=["a_aims_at_b", "b_aims_at_a"])
def fuzzing(request: pytest.FixtureRequest, app: Flask, organisations: tuple[Organisation, Organisation]) -> Fuzzing:
    """The schema as loaded from the app, authenticated as one organisation's editor and aimed at the other's objects."""
    me, other = organisations if request.param == "a_aims_at_b" else organisations[::-1]
    config = schemathesis.Config.from_dict({
        "auth": {"openapi": {"bearer": {"bearer": me.token}}},
        # Text with NUL characters is refused by design (400); test_api.py covers that.
        "generation": {"allow-x00": False},
        "operations": [{"include-method": method, "include-path": path,
                        "checks": {"positive_data_acceptance": {"expected-statuses": _ACCEPTED + statuses}}}
                       for (method, path), statuses in _REFUSED_BY_RULES.items()]})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _IsolatedWsgi(app), config=config)
    rewritten_uploads: set[int] = set()
    schema.hook(_aim_at(me, other, rewritten_uploads))
    return Fuzzing(schema=schema, check=_no_access_to(me, other), rewritten_uploads=rewritten_uploads)


def _exercise(operation: schemathesis.APIOperation, fuzzing: Fuzzing) -> None:
    """The coverage cases (edges and near misses of every parameter), then random valid and invalid ones."""
    schema = operation.schema
    modes = list(schemathesis.GenerationMode)

    def call(case: schemathesis.Case) -> None:
        rewritten = id(case) in fuzzing.rewritten_uploads
        fuzzing.rewritten_uploads.discard(id(case))
        case.call_and_validate(additional_checks=[fuzzing.check],
                               excluded_checks=[schemathesis.checks.negative_data_rejection] if rewritten else [])

    for case in schema.iter_coverage_cases(operation, generation_modes=modes,
                                           generation_config=schema.config.generation_for(operation=operation)):
        call(case)
    given(case=st.one_of(*(operation.as_strategy(mode) for mode in modes)))(settings(PROFILE)(call))()


def test_api_answers_every_generated_request_as_documented(fuzzing: Fuzzing, subtests: pytest.Subtests) -> None:
    operations = [result.ok() for result in fuzzing.schema.get_all_operations()]
    documented = {f"{method.upper()} {path}" for path, item in fuzzing.schema.raw_schema["paths"].items() for method in item}
    # Every operation but the document itself, which schemathesis leaves out.
    assert {operation.label for operation in operations} == documented - {"GET /openapi.json"}
    for operation in operations:
        with subtests.test(msg=operation.label):
            _exercise(operation, fuzzing)
