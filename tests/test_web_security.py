"""Web security as a browser, an attacker and an auditor meet it: headers on every page, files
that never render as pages, log-in throttling shared by every web worker, the password policy,
and the audit trail of log-ins, refusals and downloads with its search per person."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select, update

from portal import create_app
from portal.access import SYSTEM
from portal.config import PROJECT_ROOT
from portal.errors import InvalidInput
from portal.extensions import db
from portal.models import AuditEvent, Document, DocumentVersion, Role
from portal.services import audit as audit_service
from portal.services import documents as document_service
from portal.services.auth import MAX_PASSWORD_LENGTH, validate_password
from portal.uow import unit_of_work
from tests.conftest import IsolatedClient
from tests.documents_helpers import make_pdf, upload
from tests.factories import PASSWORD, ApiUser, DemoData, PartyFactory, log_in, member
from tests.test_permission_matrix import EMAILS, MATRIX, Ctx

MUNI_ADMIN, MUNI_READER = EMAILS["muni_admin"], EMAILS["muni_reader"]
ORG_ADMIN, ORG_EDITOR, ORG_READER = EMAILS["org_admin"], EMAILS["org_editor"], EMAILS["org_reader"]
WRONG = "gaet-gaet-gaet-gaet"


# --- headers ------------------------------------------------------------------------------------

def _directives(csp: str) -> dict[str, list[str]]:
    parts = (p.strip().split() for p in csp.split(";") if p.strip())
    return {p[0].lower(): p[1:] for p in parts}


class _InlineCode(HTMLParser):
    """Collects what a strict CSP would block: script bodies, on* handlers, javascript: links."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.problems.append("<script> without src")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            target = (value or "").strip().lower()
            if name.lower() in ("href", "src", "action", "formaction") and target.startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script body {data.strip()[:40]!r}")


def _inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    parser.close()
    return parser.problems


def _assert_strict_page(response, where: str) -> None:  # type: ignore[no-untyped-def]
    csp = _directives(response.headers.get("Content-Security-Policy", ""))
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts, f"{where}: no script policy"
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(scripts), f"{where}: {scripts}"
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("object-src") == ["'none'"], where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    problems = _inline_code(response.get_data(as_text=True))
    assert not problems, f"{where}: {problems}"


def _jinja_free(source: str) -> str:
    """The template with its Jinja tags blanked, so the HTML parser sees only markup."""
    return re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.S)


def test_templates_contain_no_inline_scripts_or_event_handlers() -> None:
    templates = sorted((PROJECT_ROOT / "templates").rglob("*.html"))
    assert len(templates) > 20
    problems = {str(t.relative_to(PROJECT_ROOT)): found for t in templates
                if (found := _inline_code(_jinja_free(t.read_text(encoding="utf-8"))))}
    assert not problems


def _get_cases() -> Iterator[tuple[str, object]]:
    for endpoint, cases in MATRIX.items():
        for case in cases:
            if case.method == "GET" and not case.api and endpoint not in ("static", "vendor.asset"):
                yield endpoint, case


@pytest.mark.slow
def test_every_page_has_a_strict_policy_and_no_inline_code(app: Flask, demo: DemoData) -> None:
    ctx = Ctx(demo)
    anonymous = app.test_client()
    staff = {}
    for email in (MUNI_ADMIN, ORG_ADMIN):
        staff[email] = app.test_client()
        log_in(staff[email], email, demo.password)
    seen_html = 0
    for endpoint, case in _get_cases():
        url = case.url(ctx)  # type: ignore[attr-defined]
        for who, client in (("anonymous", anonymous), *staff.items()):
            response = client.get(url)
            if response.mimetype != "text/html":
                continue
            seen_html += 1
            _assert_strict_page(response, f"{endpoint} {url} as {who}")
            if who != "anonymous":
                assert response.headers.get("Cache-Control") == "no-store", f"{url} as {who}"
    assert seen_html > 100


def test_error_pages_and_the_login_page_are_strict_too(client: FlaskClient) -> None:
    for url in ("/log-ind", "/findes-ikke", "/offentlig/referater"):
        _assert_strict_page(client.get(url), url)
    assert client.get("/dokumenter/1").status_code == 302


@pytest.mark.parametrize(("debug", "secure", "expected"), [(False, True, True), (True, True, False), (False, False, False)])
def test_hsts_is_sent_outside_debug_when_cookies_are_secure(app_config: dict[str, object], debug: bool, secure: bool,
                                                            expected: bool) -> None:
    other = create_app({**app_config, "debug": debug, "session_cookie_secure": secure})
    try:
        response = other.test_client().get("/log-ind", base_url="https://localhost")
        hsts = response.headers.get("Strict-Transport-Security", "")
        assert hsts.startswith("max-age=31536000") if expected else hsts == ""
    finally:
        other.extensions["database"].dispose()


def test_private_pages_are_never_stored_and_the_public_archive_may_be(app: Flask, client: FlaskClient,
                                                                      demo: DemoData) -> None:
    anonymous = app.test_client()
    # Pages of an anonymous visitor that still show something personal or a form's token.
    ctx = Ctx(demo)
    invitation = anonymous.get(f"/invitation/{ctx.invitation_token()}")
    assert invitation.status_code == 200 and "@example.dk" in invitation.get_data(as_text=True)
    assert invitation.headers["Cache-Control"] == "no-store"
    assert anonymous.get("/log-ind").headers["Cache-Control"] == "no-store"
    for url in ("/offentlig/referater", "/offentlig/referater.atom"):
        assert "no-store" not in anonymous.get(url).headers.get("Cache-Control", ""), url

    log_in(client, ORG_EDITOR, demo.password)
    for url in ("/", "/profil", "/offentlig/referater", f"/parter/{demo.organisations[0].id}/dokumenter"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    api = ApiUser(app, ORG_EDITOR)
    assert api.get("/me").headers["Cache-Control"] == "no-store"
    assert api.get("/documents/999999").headers["Cache-Control"] == "no-store"
    # Stylesheets and scripts are the same for everyone.
    assert "no-store" not in client.get("/static/portal.css").headers.get("Cache-Control", "")


# --- downloads ----------------------------------------------------------------------------------

HOSTILE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def _assert_inert(response, expected_type: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response.mimetype == expected_type and "html" not in response.headers["Content-Type"]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert _directives(response.headers["Content-Security-Policy"]).get("sandbox") == []
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("filename", "media_type"), [("side.txt", "text/plain"), ("tabel.csv", "text/csv")])
def test_uploaded_html_is_never_served_as_a_page(app: Flask, client: FlaskClient, demo: DemoData, filename: str,
                                                 media_type: str) -> None:
    log_in(client, EMAILS["muni_editor"], demo.password)
    assert upload(client, demo.organisations[0].id, HOSTILE, filename, kind="referat").status_code == 302
    document_id = db.session.scalar(select(Document.id).order_by(Document.id.desc()))
    _assert_inert(client.get(f"/dokumenter/{document_id}/fil"), media_type)
    _assert_inert(client.get(f"/dokumenter/{document_id}/versioner/1/fil"), media_type)
    _assert_inert(ApiUser(app, ORG_EDITOR).get(f"/documents/{document_id}/file"), media_type)
    assert client.post(f"/dokumenter/{document_id}/offentliggoer").status_code == 302
    _assert_inert(app.test_client().get(f"/offentlig/referater/{document_id}"), media_type)


def test_an_html_file_is_refused_and_a_stored_html_type_is_sent_as_plain_bytes(client: FlaskClient,
                                                                               demo: DemoData) -> None:
    log_in(client, ORG_EDITOR, demo.password)
    org_id = demo.organisations[0].id
    assert upload(client, org_id, HOSTILE, "side.html").status_code == 415
    assert upload(client, org_id, b"plain words", "noter.txt").status_code == 302
    document_id = db.session.scalar(select(Document.id).order_by(Document.id.desc()))
    with unit_of_work() as session:
        session.execute(update(DocumentVersion).where(DocumentVersion.document_id == document_id)
                        .values(media_type="text/html"))
    _assert_inert(client.get(f"/dokumenter/{document_id}/fil"), "application/octet-stream")


# --- log-in throttling across web workers --------------------------------------------------------

_OTHER_WORKER = """
import json, sys
from pathlib import Path
from portal import create_app

config, email, attempts = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
config["instance_dir"] = Path(config["instance_dir"])
client = create_app(config).test_client()
print(json.dumps([client.post("/log-ind", data={"email": email, "password": "gaet-gaet-gaet-gaet"}).status_code
                  for _ in range(attempts)]))
"""


def _other_worker(app_config: dict[str, object], email: str, attempts: int) -> list[int]:
    """Failed log-ins made by another process with its own app, as a second gunicorn worker would."""
    config = {k: str(v) if isinstance(v, Path) else v for k, v in app_config.items()}
    result = subprocess.run([sys.executable, "-c", _OTHER_WORKER, json.dumps(config), email, str(attempts)],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_failed_log_ins_in_another_worker_process_count_here(app: Flask, app_config: dict[str, object],
                                                             client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    limit = app.config["PORTAL"].login_max_failures_per_account
    assert client.post("/log-ind", data={"email": user.email, "password": WRONG}).status_code == 401
    assert _other_worker(app_config, user.email, limit - 1) == [401] * (limit - 1)
    blocked = client.post("/log-ind", data={"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429 and "For mange mislykkede forsøg" in blocked.get_data(as_text=True)
    # And the other way round: what this worker counted stops the other one too.
    assert _other_worker(app_config, user.email, 1) == [429]


def test_two_apps_on_one_database_share_the_address_count(app: Flask, app_config: dict[str, object]) -> None:
    app.config["PORTAL"].login_max_failures_per_address = 4
    other = create_app({**app_config, "login_max_failures_per_address": 4})
    other.test_client_class = IsolatedClient
    try:
        party = PartyFactory()
        first, second = app.test_client(), other.test_client()
        for n in range(4):
            victim = member(party, Role.READER)
            worker = first if n % 2 else second
            assert worker.post("/log-ind", data={"email": victim.email, "password": WRONG}).status_code == 401
        fresh = member(party, Role.READER)
        for worker in (first, second):
            assert worker.post("/log-ind", data={"email": fresh.email, "password": PASSWORD}).status_code == 429
    finally:
        other.extensions["database"].dispose()


def test_an_absurd_e_mail_address_is_a_plain_failed_log_in(client: FlaskClient) -> None:
    response = client.post("/log-ind", data={"email": "x" * 400 + "@example.dk", "password": "y" * 5000})
    assert response.status_code == 401


# --- the password policy --------------------------------------------------------------------------

GOOD_PASSWORDS = [
    "solsikke hav",  # exactly 12 characters, two plain words
    "rødgrød med fløde på en åben bænk",  # spaces and æøå
    "ALLE BOGSTAVER STORE OG INGEN TAL",  # no composition rules
    "x" * 60 + "abcd",  # 64 characters
    "ordene bliver ved og ved " * 10,  # 250 characters
    "en 🐘 i porcelænsbutikken",  # any character at all
    PASSWORD,
]


@pytest.mark.parametrize("password", GOOD_PASSWORDS)
def test_long_passwords_of_any_characters_are_accepted(password: str) -> None:
    validate_password(password, email="nina.hansen@example.dk", name="Nina Hansen")


def test_the_demo_and_test_passwords_pass_the_policy() -> None:
    from portal.demo import DEMO_PASSWORD

    validate_password(DEMO_PASSWORD, email="administrator@fjordby.dk", name="Mette Kommunesen")
    validate_password(PASSWORD, email="bruger1@example.dk", name="Bruger 1")


REFUSED = [
    ("elleve tegn", "mindst 12 tegn"),
    ("a" * (MAX_PASSWORD_LENGTH + 1) + "bcdef", f"højst være på {MAX_PASSWORD_LENGTH} tegn"),
    ("qwerty123456", "for almindelig"),
    ("1Qaz2Wsx3Edc", "for almindelig"),  # the list is compared without regard to case
    ("zzzzzzzzzzzzzzzz", "for let at gætte"),
    ("123456789012345", "for let at gætte"),
    ("abcdefghijklmn", "for let at gætte"),
    ("nina.hansen@example.dk", "din e-mailadresse"),
    ("NinaHansen2024", "din e-mailadresse"),
    ("aftaleportalen!!", "din e-mailadresse"),
    ("adgangskode2026", "din e-mailadresse"),
]


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_guessable_passwords_are_refused_with_a_danish_reason(password: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_password(password, email="nina.hansen@example.dk", name="Nina Hansen")
    assert message in refused.value.fields["password"]


def _invitation_link(app: Flask, *, email: str, name: str) -> str:
    from portal.services import users as user_service

    party = PartyFactory()
    with unit_of_work():
        result = user_service.invite_user(SYSTEM, party, email=email, name=name, role="reader")
    return f"/invitation/{result.invitation_token}"


def test_invitation_refuses_a_common_password_and_the_own_name(app: Flask) -> None:
    link = _invitation_link(app, email="nina.hansen@example.dk", name="Nina Hansen")
    invited = app.test_client()
    common = invited.post(link, data={"password": "qwerty123456", "password_repeat": "qwerty123456"})
    assert common.status_code == 400 and "for almindelig" in common.get_data(as_text=True)
    own = invited.post(link, data={"password": "Nina Hansen 1990", "password_repeat": "Nina Hansen 1990"})
    assert own.status_code == 400 and "dit navn" in own.get_data(as_text=True)
    chosen = "nina går tur ved åen"
    assert invited.post(link, data={"password": chosen, "password_repeat": chosen}).status_code == 302
    log_in(invited, "nina.hansen@example.dk", chosen)


def test_a_password_typed_with_decomposed_letters_is_the_same_password(app: Flask) -> None:
    link = _invitation_link(app, email="aase@example.dk", name="Åse Ø")
    composed = "blåbærgrød på ærøskøbing"
    done = app.test_client().post(link, data={"password": composed, "password_repeat": composed})
    assert done.status_code == 302
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    log_in(app.test_client(), "aase@example.dk", decomposed)


def test_changing_to_a_common_password_is_refused(client: FlaskClient) -> None:
    user = member(PartyFactory(), Role.READER)
    log_in(client, user.email)
    response = client.post("/profil/adgangskode", data={"current_password": PASSWORD, "new_password": "qwertyqwerty",
                                                       "new_password_repeat": "qwertyqwerty"})
    assert response.status_code == 400 and "for almindelig" in response.get_data(as_text=True)
    log_in(client.application.test_client(), user.email, PASSWORD)  # the old password still works


# --- the audit trail ------------------------------------------------------------------------------

def _events(action: str, **where: object) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    for column, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, column) == value)
    return list(db.session.scalars(stmt))


def _party_document(client: FlaskClient, demo: DemoData, visibility: str = "party", kind: str = "analyse") -> int:
    response = upload(client, demo.organisations[0].id, make_pdf("Intern"), "intern.pdf", kind=kind,
                      visibility=visibility)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _trail_csv(client: FlaskClient, email: str) -> list[dict[str, str]]:
    response = client.get("/revision.csv", query_string={"bruger": email})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))


def test_log_ins_and_failures_are_found_by_searching_the_person(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    person = app.test_client()
    assert person.post("/log-ind", data={"email": ORG_READER, "password": WRONG}).status_code == 401
    log_in(person, ORG_READER, demo.password)

    log_in(client, MUNI_ADMIN, demo.password)
    page = client.get("/revision", query_string={"bruger": ORG_READER.upper()})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "login.failed" in text and ">login<" in text
    rows = _trail_csv(client, ORG_READER)
    assert [r["handling"] for r in rows if r["handling"].startswith("login")] == ["login", "login.failed"]
    assert all(r["adresse"] == "127.0.0.1" for r in rows if r["handling"].startswith("login"))
    # Looking someone up is itself on record.
    searches = _events(audit_service.AUDIT_SEARCH, actor_id=demo.user(MUNI_ADMIN).id)
    assert [e.after["email"] for e in searches] == [ORG_READER, ORG_READER]


def test_an_address_without_an_account_can_be_searched_and_exported_safely(client: FlaskClient, demo: DemoData) -> None:
    attacker = client.application.test_client()
    assert attacker.post("/log-ind", data={"email": "=HYPERLINK(1)@x.dk", "password": WRONG}).status_code == 401
    log_in(client, MUNI_ADMIN, demo.password)
    assert "Der er ingen bruger" in client.get("/revision?bruger==hyperlink(1)@x.dk").get_data(as_text=True)
    rows = _trail_csv(client, "=hyperlink(1)@x.dk")
    # Newest first: the page's search (the person's data was looked at), then the attempt itself.
    assert [(r["handling"], r["objekt_id"]) for r in rows] == [
        ("audit.search", "'=hyperlink(1)@x.dk"), ("login.failed", "'=hyperlink(1)@x.dk")]


def test_a_search_needs_an_address(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, MUNI_ADMIN, demo.password)
    assert client.get("/revision").status_code == 200
    refused = client.get("/revision?bruger=ikke-en-adresse")
    assert refused.status_code == 400 and "e-mailadresse" in refused.get_data(as_text=True)


def test_only_municipality_admins_search_the_trail(client: FlaskClient, demo: DemoData) -> None:
    admin = client.application.test_client()
    log_in(admin, MUNI_ADMIN, demo.password)
    assert 'href="/revision"' in admin.get("/").get_data(as_text=True)
    for email in (ORG_ADMIN, EMAILS["muni_editor"]):
        other = client.application.test_client()
        log_in(other, email, demo.password)
        assert 'href="/revision"' not in other.get("/").get_data(as_text=True)
        assert other.get(f"/revision?bruger={ORG_READER}").status_code == 403
        assert other.get(f"/revision.csv?bruger={ORG_READER}").status_code == 403
    assert client.get(f"/revision?bruger={ORG_READER}").status_code == 302  # anonymous: log in first


def test_refused_access_to_an_existing_object_is_recorded(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    log_in(client, ORG_EDITOR, demo.password)
    hidden = _party_document(client, demo)
    municipality = app.test_client()
    log_in(municipality, MUNI_READER, demo.password)
    assert municipality.get(f"/dokumenter/{hidden}").status_code == 404
    assert municipality.get("/dokumenter/999999").status_code == 404  # nothing there: nothing to record
    reader = app.test_client()
    log_in(reader, ORG_READER, demo.password)
    assert reader.post(f"/dokumenter/{hidden}/slet").status_code == 403
    assert ApiUser(app, MUNI_READER).get(f"/documents/{hidden}").status_code == 404

    denied = _events(audit_service.ACCESS_DENIED)
    assert [(e.actor_label, e.object_type, e.object_id, e.after["action"]) for e in denied] == [
        (MUNI_READER, "document", str(hidden), "document:read"),
        (ORG_READER, "document", str(hidden), "document:delete"),
        (MUNI_READER, "document", str(hidden), "document:read"),
    ]
    # The refusals are the municipality's business, not something the document's readers see.
    assert "access.denied" not in client.get(f"/dokumenter/{hidden}").get_data(as_text=True)
    admin = app.test_client()
    log_in(admin, MUNI_ADMIN, demo.password)
    assert [r["handling"] for r in _trail_csv(admin, MUNI_READER)].count("access.denied") == 2


def test_a_user_hammering_refused_pages_cannot_flood_the_trail(app: Flask, client: FlaskClient, demo: DemoData,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_service, "DENIALS_PER_WINDOW", 5)
    log_in(client, ORG_EDITOR, demo.password)
    hidden = _party_document(client, demo)
    prober = app.test_client()
    log_in(prober, MUNI_READER, demo.password)
    for _ in range(12):
        assert prober.get(f"/dokumenter/{hidden}").status_code == 404
    assert len(_events(audit_service.ACCESS_DENIED)) == 5


def test_the_trail_is_indexed_by_actor_and_time(app: Flask) -> None:
    indexes = inspect(db.session.get_bind()).get_indexes("audit_events")
    assert ["actor_id", "at"] in [index["column_names"] for index in indexes]


def test_every_download_is_recorded_once_per_opening(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    log_in(client, ORG_EDITOR, demo.password)
    document_id = _party_document(client, demo, visibility="dialogue")
    editor = demo.user(ORG_EDITOR)

    def reads() -> int:
        return len(_events(audit_service.DOCUMENT_READ, object_id=str(document_id)))

    assert client.get(f"/dokumenter/{document_id}/fil").status_code == 200
    assert reads() == 1
    assert client.get(f"/dokumenter/{document_id}/fil", headers={"Range": "bytes=10-19"}).status_code == 206
    assert reads() == 1  # the viewer fetching the rest of an opened file
    assert client.get(f"/dokumenter/{document_id}/versioner/1/fil", headers={"Range": "bytes=0-99"}).status_code == 206
    assert ApiUser(app, MUNI_READER).get(f"/documents/{document_id}/file").status_code == 200
    events = _events(audit_service.DOCUMENT_READ, object_id=str(document_id))
    assert [(e.actor_label, e.after["version"]) for e in events] == [
        (editor.email, 1), (editor.email, 1), (MUNI_READER, 1)]
    # Who read what is not shown on the document's own history.
    assert "document.download" not in client.get(f"/dokumenter/{document_id}").get_data(as_text=True)


def test_anonymous_reads_of_the_public_archive_add_nothing(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    log_in(client, EMAILS["muni_editor"], demo.password)
    document_id = _party_document(client, demo, visibility="dialogue", kind="referat")
    with unit_of_work():
        document_service.publish_document(SYSTEM, document_id)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for _ in range(3):
        assert app.test_client().get(f"/offentlig/referater/{document_id}").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
