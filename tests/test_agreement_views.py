"""The agreement pages over HTTP: create, read, edit, the two-editor conflict, history,
approvals, comments and suggestions, and who may see any of it.

Forms are filled the way a browser fills them: the test reads the page's form, changes the
fields a person would change, and posts every field back (see `FormPage`).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal.extensions import db
from portal.models import Agreement, AgreementComment, AgreementRevision
from portal.services import agreements as agreement_service
from portal.uow import unit_of_work
from tests.factories import DemoData, log_in

MUNI_EDITOR = "redaktoer@fjordby.dk"
MUNI_SIGNATORY = "underskriver@fjordby.dk"
MUNI_READER = "laeser@fjordby.dk"
ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"
ORG_SIGNATORY = "underskriver@fjordby-boligselskab.dk"
ORG_READER = "laeser@fjordby-boligselskab.dk"
OUTSIDER = "admin@aabrinken.dk"


# --- a browser's view of a form -------------------------------------------------------------------

class _Forms(HTMLParser):
    """Every form on a page with the fields a browser would send for it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._textarea: list[Any] | None = None
        self._select: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": []}
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self._form["fields"].append([a["name"], a.get("value", "")])
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]
            self._form["fields"].append(self._textarea)
        elif tag == "select" and a.get("name"):
            self._select = {"field": [a["name"], None], "first": None}
            self._form["fields"].append(self._select["field"])
        elif tag == "option" and self._select is not None:
            if self._select["first"] is None:
                self._select["first"] = a.get("value", "")
            if "selected" in a:
                self._select["field"][1] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            # Browsers drop one newline right after <textarea>.
            if self._textarea[1].startswith("\n"):
                self._textarea[1] = self._textarea[1][1:]
            self._textarea = None
        elif tag == "select" and self._select is not None:
            if self._select["field"][1] is None:
                self._select["field"][1] = self._select["first"] or ""
            self._select = None
        elif tag == "form":
            self._form = None


class FormPage:
    """The form posting to `action` on an HTML page, to change and send like a browser."""

    def __init__(self, html: str, action: str) -> None:
        parser = _Forms()
        parser.feed(html)
        matching = [f for f in parser.forms if f["action"] == action]
        assert matching, f"no form posting to {action}"
        self.fields: list[list[str]] = [list(f) for f in matching[0]["fields"]]

    def get(self, name: str) -> str:
        return next(value for key, value in self.fields if key == name)

    def set(self, name: str, value: str) -> None:
        field = next(f for f in self.fields if f[0] == name)
        field[1] = value

    def data(self) -> MultiDict[str, str]:
        return MultiDict([(k, v) for k, v in self.fields])


# --- arranging -------------------------------------------------------------------------------------

def client_for(app: Flask, demo: DemoData, email: str) -> FlaskClient:
    client = app.test_client()
    log_in(client, email, demo.password)
    return client


def html(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def agreement_id(app: Flask, demo: DemoData) -> int:
    """An individual agreement between the municipality and the first organisation (revision 1)."""
    with unit_of_work():
        agreement = agreement_service.create_agreement(demo.user(MUNI_EDITOR), {
            "title": "Aftale om udlejning 2026-2029", "type": "individuel",
            "organisations": [demo.organisations[0].id], "term_start": "2026-01-01", "term_end": "2029-12-31"})
        agreement_service.respond_to_invitation(demo.user(ORG_EDITOR), agreement.id, accept=True)
    return agreement.id


def sections(agreement_id: int) -> dict[str, dict[str, Any]]:
    """The newest revision's sections by heading (read fresh from the database)."""
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement_id)
    return {s["heading"]: s for s in agreement_service.sections_of(agreement_service.get_revision(agreement))}


def head(agreement_id: int) -> AgreementRevision:
    db.session.expire_all()
    return agreement_service.get_revision(db.session.get(Agreement, agreement_id))


def edit_form(client: FlaskClient, agreement_id: int) -> FormPage:
    page = client.get(f"/aftaler/{agreement_id}/rediger")
    assert page.status_code == 200
    return FormPage(html(page), f"/aftaler/{agreement_id}/rediger")


ANVISNING = "Kommunal anvisning (LAB § 59, stk. 1)"


# --- creating and reading ------------------------------------------------------------------------

def test_editor_creates_an_agreement_through_the_form(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    log_in(client, MUNI_EDITOR, demo.password)
    assert 'href="/aftaler/ny"' in html(client.get("/aftaler"))
    form = FormPage(html(client.get("/aftaler/ny")), "")
    form.set("title", "Strategisk aftale om udlejning 2026-2029")
    form.set("type", "strategisk")
    form.set("term_start", "2026-01-01")
    form.set("term_end", "2029-12-31")
    data = form.data()
    data.add("organisations", str(demo.organisations[0].id))
    data.add("organisations", str(demo.organisations[1].id))
    created = client.post("/aftaler/ny", data=data)
    assert created.status_code == 302
    page = html(client.get(created.headers["Location"]))
    assert "Strategisk aftale om udlejning 2026-2029" in page
    assert "Fjordby Boligselskab" in page and "Boligforeningen Åbrinken" in page
    assert "Kommunal anvisning (LAB § 59, stk. 1)" in page and "Trappemodel" in page
    assert "25 %" in page  # the allocation share shown as a figure
    assert "01-01-2026 – 31-12-2029" in page
    assert "Strategisk aftale om udlejning 2026-2029" in html(client.get("/aftaler"))


def test_create_form_shows_errors_beside_the_fields(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, MUNI_EDITOR, demo.password)
    response = client.post("/aftaler/ny", data={"title": "", "type": "strategisk", "term_start": "2029-01-01",
                                                "term_end": "2026-01-01"})
    assert response.status_code == 400
    page = html(response)
    assert 'class="alert alert-error error-summary"' in page
    assert 'href="#field-title"' in page and 'href="#field-organisations"' in page and 'id="field-organisations"' in page
    assert "Slutdatoen ligger før startdatoen." in page


def test_readers_get_no_create_link_and_may_not_create(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, ORG_READER, demo.password)
    assert 'href="/aftaler/ny"' not in html(client.get("/aftaler"))
    assert client.get("/aftaler/ny").status_code == 403
    assert client.post("/aftaler/ny", data={"title": "x"}).status_code == 403


def test_organisation_editor_lists_only_own_agreements(app: Flask, demo: DemoData, agreement_id: int) -> None:
    with unit_of_work():
        other = agreement_service.create_agreement(demo.user(MUNI_EDITOR), {
            "title": "Aftale med Søhøj", "type": "andet", "organisations": [demo.organisations[2].id]})
    page = html(client_for(app, demo, ORG_EDITOR).get("/aftaler"))
    assert "Aftale om udlejning 2026-2029" in page and "Aftale med Søhøj" not in page
    assert "Aftale med Søhøj" in html(client_for(app, demo, MUNI_READER).get("/aftaler"))
    assert other.id != agreement_id


# --- editing ----------------------------------------------------------------------------------------

def test_edit_a_section_and_see_it_saving_only_what_changed(app: Flask, demo: DemoData, agreement_id: int) -> None:
    editor = client_for(app, demo, ORG_EDITOR)
    target = sections(agreement_id)["Målgrupper"]
    form = edit_form(editor, agreement_id)
    assert form.get("base_revision") == "1"
    form.set(f"text-{target['id']}", "Unge under 30 år i uddannelse.\r\nHjemløse med støttebehov.")
    form.set("note", "Målgrupper efter mødet")
    saved = editor.post(f"/aftaler/{agreement_id}/rediger", data=form.data())
    assert saved.status_code == 302 and saved.headers["Location"] == f"/aftaler/{agreement_id}"
    revision = head(agreement_id)
    assert revision.number == 2 and revision.changed_sections == [target["id"]] and revision.note == "Målgrupper efter mødet"
    assert revision.content["sections"][target["id"]]["text"] == "Unge under 30 år i uddannelse.\nHjemløse med støttebehov."
    page = html(editor.get(f"/aftaler/{agreement_id}"))
    assert "Unge under 30 år i uddannelse." in page and "Revision 2 er gemt." in page


def test_saving_an_untouched_form_makes_no_revision(app: Flask, demo: DemoData, agreement_id: int) -> None:
    editor = client_for(app, demo, MUNI_EDITOR)
    response = editor.post(f"/aftaler/{agreement_id}/rediger", data=edit_form(editor, agreement_id).data())
    assert response.status_code == 302 and head(agreement_id).number == 1


def test_typed_data_is_edited_and_shown_as_figures(app: Flask, demo: DemoData, agreement_id: int) -> None:
    editor = client_for(app, demo, MUNI_EDITOR)
    by_heading = sections(agreement_id)
    allocation, trappe = by_heading[ANVISNING], by_heading["Trappemodel"]
    havnegaarden = next(d for d in demo.organisations[0].departments if d.name == "Havnegården")
    form = edit_form(editor, agreement_id)
    assert form.get(f"share_percent-{allocation['id']}") == "25"
    form.set(f"share_percent-{allocation['id']}", "30")
    form.set(f"step-{trappe['id']}-0-department", str(havnegaarden.id))
    form.set(f"step-{trappe['id']}-0-year", "2026")
    form.set(f"step-{trappe['id']}-0-step", "2")
    form.set(f"step-{trappe['id']}-0-share_percent", "12,5")
    form.set(f"step-{trappe['id']}-0-criteria", "Beskæftigelse eller uddannelse")
    assert editor.post(f"/aftaler/{agreement_id}/rediger", data=form.data()).status_code == 302
    after = sections(agreement_id)
    assert after[ANVISNING]["data"] == {"share_percent": 30}
    assert after["Trappemodel"]["data"]["steps"] == [{
        "department_id": havnegaarden.id, "department": "101 Havnegården", "year": 2026, "step": 2,
        "share_percent": 12.5, "criteria": "Beskæftigelse eller uddannelse"}]
    page = html(editor.get(f"/aftaler/{agreement_id}"))
    assert "30 %" in page and "101 Havnegården" in page and "12.5" in page and "Beskæftigelse eller uddannelse" in page
    # The saved row is in the form again, with a new empty row after it; an untouched form changes nothing.
    form = edit_form(editor, agreement_id)
    assert form.get(f"step-{trappe['id']}-0-share_percent") == "12.5" and form.get(f"step-{trappe['id']}-1-year") == ""
    editor.post(f"/aftaler/{agreement_id}/rediger", data=form.data())
    assert head(agreement_id).number == 2
    # Removing the row.
    form.fields.append([f"step-{trappe['id']}-0-remove", "1"])
    editor.post(f"/aftaler/{agreement_id}/rediger", data=form.data())
    assert sections(agreement_id)["Trappemodel"]["data"]["steps"] == []


def test_invalid_figures_are_shown_again_with_errors(app: Flask, demo: DemoData, agreement_id: int) -> None:
    editor = client_for(app, demo, MUNI_EDITOR)
    by_heading = sections(agreement_id)
    allocation, trappe, target = by_heading[ANVISNING], by_heading["Trappemodel"], by_heading["Målgrupper"]
    form = edit_form(editor, agreement_id)
    form.set(f"share_percent-{allocation['id']}", "140")
    form.set(f"step-{trappe['id']}-0-year", "næste år")
    form.set(f"text-{target['id']}", "Tekst, der ikke må gå tabt")
    response = editor.post(f"/aftaler/{agreement_id}/rediger", data=form.data())
    assert response.status_code == 400
    page = html(response)
    assert f'href="#field-share_percent-{allocation["id"]}"' in page and "mellem 0 og 100" in page
    assert f'href="#field-step-{trappe["id"]}-0-year"' in page and f'href="#field-step-{trappe["id"]}-0-department"' in page
    again = FormPage(page, f"/aftaler/{agreement_id}/rediger")
    assert again.get(f"text-{target['id']}") == "Tekst, der ikke må gå tabt" and again.get(f"share_percent-{allocation['id']}") == "140"
    assert head(agreement_id).number == 1


def test_second_saver_gets_a_conflict_page_with_both_texts_and_resolves_it(app: Flask, demo: DemoData,
                                                                            agreement_id: int) -> None:
    muni, org = client_for(app, demo, MUNI_EDITOR), client_for(app, demo, ORG_EDITOR)
    by_heading = sections(agreement_id)
    sid, other = by_heading[ANVISNING]["id"], by_heading["Målgrupper"]["id"]
    base_text = by_heading[ANVISNING]["text"]
    muni_form, org_form = edit_form(muni, agreement_id), edit_form(org, agreement_id)
    theirs, mine = "Kommunen anviser hver fjerde ledige familiebolig.", "Kommunen anviser hver femte ledige familiebolig."
    muni_form.set(f"text-{sid}", theirs)
    assert muni.post(f"/aftaler/{agreement_id}/rediger", data=muni_form.data()).status_code == 302

    org_form.set(f"text-{sid}", mine)
    org_form.set(f"text-{other}", "Studerende.")  # merges cleanly, but a save is all or nothing
    clash = org.post(f"/aftaler/{agreement_id}/rediger", data=org_form.data())
    assert clash.status_code == 409
    page = html(clash)
    assert "Løs konflikten" in page and base_text in page and theirs in page and mine in page
    assert "Lars Tilsyn" in page  # who saved the other text
    assert head(agreement_id).number == 2 and sections(agreement_id)[ANVISNING]["text"] == theirs
    resolve = FormPage(page, f"/aftaler/{agreement_id}/rediger")
    assert resolve.get("base_revision") == "2"
    assert resolve.get(f"text-{sid}") == mine  # prefilled with my text
    assert resolve.get(f"text-{other}") == "Studerende."  # the clean change is kept, not lost
    resolved = "Kommunen anviser hver fjerde ledige familiebolig; fra 2027 hver femte."
    resolve.set(f"text-{sid}", resolved)
    saved = org.post(f"/aftaler/{agreement_id}/rediger", data=resolve.data())
    assert saved.status_code == 302
    after = sections(agreement_id)
    assert after[ANVISNING]["text"] == resolved and after["Målgrupper"]["text"] == "Studerende."
    assert head(agreement_id).number == 3 and head(agreement_id).based_on == 2
    assert resolved in html(org.get(f"/aftaler/{agreement_id}"))
    # The first editor's text is in the history.
    diff = html(org.get(f"/aftaler/{agreement_id}/sammenlign?fra=1&til=2"))
    assert "<ins>" in diff and "fjerde" in diff


def test_resolving_against_yet_another_change_conflicts_again(app: Flask, demo: DemoData, agreement_id: int) -> None:
    muni, org = client_for(app, demo, MUNI_EDITOR), client_for(app, demo, ORG_EDITOR)
    sid = sections(agreement_id)["Opfølgning og evaluering"]["id"]
    muni_form, org_form = edit_form(muni, agreement_id), edit_form(org, agreement_id)
    muni_form.set(f"text-{sid}", "Kommunens tekst.")
    muni.post(f"/aftaler/{agreement_id}/rediger", data=muni_form.data())
    org_form.set(f"text-{sid}", "Boligselskabets tekst.")
    resolve = FormPage(html(org.post(f"/aftaler/{agreement_id}/rediger", data=org_form.data())),
                       f"/aftaler/{agreement_id}/rediger")
    # Meanwhile the municipality changes the section once more.
    muni_form = edit_form(muni, agreement_id)
    muni_form.set(f"text-{sid}", "Kommunens anden tekst.")
    muni.post(f"/aftaler/{agreement_id}/rediger", data=muni_form.data())
    resolve.set(f"text-{sid}", "Fælles tekst.")
    again = org.post(f"/aftaler/{agreement_id}/rediger", data=resolve.data())
    assert again.status_code == 409
    page = html(again)
    assert "Kommunens anden tekst." in page and "Fælles tekst." in page
    assert FormPage(page, f"/aftaler/{agreement_id}/rediger").get("base_revision") == "3"
    assert sections(agreement_id)["Opfølgning og evaluering"]["text"] == "Kommunens anden tekst."


def test_changes_to_other_lines_merge_without_a_conflict_page(app: Flask, demo: DemoData, agreement_id: int) -> None:
    muni, org = client_for(app, demo, MUNI_EDITOR), client_for(app, demo, ORG_EDITOR)
    sid = sections(agreement_id)["Balancerede byer"]["id"]
    form = edit_form(muni, agreement_id)
    form.set(f"text-{sid}", "Linje et\nLinje to\nLinje tre\n")
    muni.post(f"/aftaler/{agreement_id}/rediger", data=form.data())
    muni_form, org_form = edit_form(muni, agreement_id), edit_form(org, agreement_id)
    muni_form.set(f"text-{sid}", "Linje ET\nLinje to\nLinje tre\n")
    org_form.set(f"text-{sid}", "Linje et\nLinje to\nLinje TRE\n")
    assert muni.post(f"/aftaler/{agreement_id}/rediger", data=muni_form.data()).status_code == 302
    assert org.post(f"/aftaler/{agreement_id}/rediger", data=org_form.data()).status_code == 302
    assert sections(agreement_id)["Balancerede byer"]["text"] == "Linje ET\nLinje to\nLinje TRE\n"


def test_a_figure_conflict_shows_both_figures(app: Flask, demo: DemoData, agreement_id: int) -> None:
    muni, org = client_for(app, demo, MUNI_EDITOR), client_for(app, demo, ORG_EDITOR)
    sid = sections(agreement_id)[ANVISNING]["id"]
    muni_form, org_form = edit_form(muni, agreement_id), edit_form(org, agreement_id)
    muni_form.set(f"share_percent-{sid}", "33")
    muni.post(f"/aftaler/{agreement_id}/rediger", data=muni_form.data())
    org_form.set(f"share_percent-{sid}", "20")
    clash = org.post(f"/aftaler/{agreement_id}/rediger", data=org_form.data())
    assert clash.status_code == 409
    page = html(clash)
    assert "33 %" in page and "20 %" in page and "25 %" in page
    resolve = FormPage(page, f"/aftaler/{agreement_id}/rediger")
    assert resolve.get(f"share_percent-{sid}") == "20"
    resolve.set(f"share_percent-{sid}", "27")
    assert org.post(f"/aftaler/{agreement_id}/rediger", data=resolve.data()).status_code == 302
    assert sections(agreement_id)[ANVISNING]["data"] == {"share_percent": 27}


# --- Markdown -------------------------------------------------------------------------------------

def test_markdown_is_rendered_and_raw_html_is_escaped(app: Flask, demo: DemoData, agreement_id: int) -> None:
    editor = client_for(app, demo, MUNI_EDITOR)
    sid = sections(agreement_id)["Målgrupper"]["id"]
    form = edit_form(editor, agreement_id)
    form.set(f"text-{sid}", "**Unge** i uddannelse:\n\n- studerende\n- elever\n\n<script>alert('x')</script>\n\n"
                            "[link](javascript:alert(1))")
    editor.post(f"/aftaler/{agreement_id}/rediger", data=form.data())
    page = html(editor.get(f"/aftaler/{agreement_id}"))
    assert "<strong>Unge</strong>" in page and "<li>studerende</li>" in page
    assert "<script>alert('x')</script>" not in page and "&lt;script&gt;alert(" in page
    assert 'href="javascript:' not in page
    editor.post(f"/aftaler/{agreement_id}/kommentarer", data={"section_id": sid, "body": "<img src=x onerror=alert(1)>"})
    page = html(editor.get(f"/aftaler/{agreement_id}"))
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


# --- approvals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("email, may_approve", [
    (MUNI_SIGNATORY, True), (ORG_SIGNATORY, True), (MUNI_EDITOR, False), (ORG_EDITOR, False), (ORG_READER, False)])
def test_approve_button_appears_only_for_signatories(app: Flask, demo: DemoData, agreement_id: int, email: str,
                                                     may_approve: bool) -> None:
    page = html(client_for(app, demo, email).get(f"/aftaler/{agreement_id}"))
    assert ("Godkend revision 1" in page) is may_approve
    assert (f'action="/aftaler/{agreement_id}/godkend"' in page) is may_approve


def test_signatories_approve_and_the_agreement_becomes_active(app: Flask, demo: DemoData, agreement_id: int) -> None:
    muni_signatory, org_signatory = client_for(app, demo, MUNI_SIGNATORY), client_for(app, demo, ORG_SIGNATORY)
    assert client_for(app, demo, MUNI_EDITOR).post(f"/aftaler/{agreement_id}/godkend", data={"revision": "1"}).status_code == 403
    done = muni_signatory.post(f"/aftaler/{agreement_id}/godkend", data={"revision": "1"})
    assert done.status_code == 302
    page = html(muni_signatory.get(f"/aftaler/{agreement_id}"))
    assert "Birgitte Borgmester" in page and head(agreement_id).content_hash[:12] in page
    assert "Afventer godkendelse" in page
    org_signatory.post(f"/aftaler/{agreement_id}/godkend", data={"revision": "1"})
    page = html(org_signatory.get(f"/aftaler/{agreement_id}"))
    assert "Karen Formand" in page and "Gældende" in page


def test_approving_an_outdated_revision_is_refused_with_a_message(app: Flask, demo: DemoData, agreement_id: int) -> None:
    editor, signatory = client_for(app, demo, ORG_EDITOR), client_for(app, demo, MUNI_SIGNATORY)
    sid = sections(agreement_id)["Målgrupper"]["id"]
    form = edit_form(editor, agreement_id)
    form.set(f"text-{sid}", "Ny tekst")
    editor.post(f"/aftaler/{agreement_id}/rediger", data=form.data())
    response = signatory.post(f"/aftaler/{agreement_id}/godkend", data={"revision": "1"}, follow_redirects=True)
    assert "Der er kommet en nyere revision" in html(response)
    assert agreement_service.current_approvals(db.session.get(Agreement, agreement_id)) == []


# --- negotiation, sections, history ------------------------------------------------------------------

def test_start_negotiation_and_add_a_section(app: Flask, demo: DemoData, agreement_id: int) -> None:
    editor = client_for(app, demo, ORG_EDITOR)
    assert "Start forhandlingen" in html(editor.get(f"/aftaler/{agreement_id}"))
    editor.post(f"/aftaler/{agreement_id}/forhandling")
    page = html(editor.get(f"/aftaler/{agreement_id}"))
    assert "Under forhandling" in page and "Start forhandlingen" not in page
    assert editor.post(f"/aftaler/{agreement_id}/afsnit", data={"heading": "", "base_revision": "1"}).status_code == 400
    added = editor.post(f"/aftaler/{agreement_id}/afsnit", data={"heading": "Boligsocial indsats", "base_revision": "1"})
    assert added.status_code == 302 and "/rediger#afsnit-s" in added.headers["Location"]
    assert "Boligsocial indsats" in sections(agreement_id)


def test_history_compares_and_restores(app: Flask, demo: DemoData, agreement_id: int) -> None:
    editor = client_for(app, demo, MUNI_EDITOR)
    sid = sections(agreement_id)["Målgrupper"]["id"]
    original = sections(agreement_id)["Målgrupper"]["text"]
    form = edit_form(editor, agreement_id)
    form.set(f"text-{sid}", "Midlertidig <b>tekst</b>")
    form.set("note", "Prøve")
    editor.post(f"/aftaler/{agreement_id}/rediger", data=form.data())
    page = html(editor.get(f"/aftaler/{agreement_id}/historik"))
    assert "Prøve" in page and "Lars Tilsyn" in page and "Målgrupper" in page
    diff = html(editor.get(f"/aftaler/{agreement_id}/sammenlign?fra=1&til=2"))
    assert "<ins>Midlertidig</ins>" in diff and "<ins>&lt;b&gt;tekst&lt;/b&gt;</ins>" in diff and "<b>tekst</b>" not in diff
    assert editor.get(f"/aftaler/{agreement_id}/sammenlign?fra=1&til=9").status_code == 404
    restored = editor.post(f"/aftaler/{agreement_id}/revisioner/1/gendan")
    assert restored.status_code == 302
    assert head(agreement_id).number == 3 and sections(agreement_id)["Målgrupper"]["text"] == original


# --- comments and suggestions ----------------------------------------------------------------------

def test_comments_thread_and_resolve(app: Flask, demo: DemoData, agreement_id: int) -> None:
    muni, org = client_for(app, demo, MUNI_EDITOR), client_for(app, demo, ORG_EDITOR)
    sid = sections(agreement_id)["Målgrupper"]["id"]
    assert org.post(f"/aftaler/{agreement_id}/kommentarer", data={"section_id": sid, "body": ""}).status_code == 400
    org.post(f"/aftaler/{agreement_id}/kommentarer", data={"section_id": sid, "body": "Skal ældre med?"})
    comment = db.session.scalar(select(AgreementComment).where(AgreementComment.agreement_id == agreement_id))
    muni.post(f"/aftaler/{agreement_id}/kommentarer", data={"section_id": sid, "body": "Ja, over 65.",
                                                             "parent_id": str(comment.id)})
    page = html(muni.get(f"/aftaler/{agreement_id}"))
    assert "Skal ældre med?" in page and "Ja, over 65." in page and "Peter Afdeling" in page
    assert client_for(app, demo, ORG_READER).post(f"/kommentarer/{comment.id}/loes").status_code == 403
    assert muni.post(f"/kommentarer/{comment.id}/loes").status_code == 302
    db.session.expire_all()
    assert db.session.get(AgreementComment, comment.id).resolved_at is not None


def test_suggestion_is_accepted_by_the_other_party_only(app: Flask, demo: DemoData, agreement_id: int) -> None:
    muni, org = client_for(app, demo, MUNI_EDITOR), client_for(app, demo, ORG_EDITOR)
    sid = sections(agreement_id)["Målgrupper"]["id"]
    response = org.post(f"/aftaler/{agreement_id}/kommentarer", data={
        "section_id": sid, "body": "Forslag efter bestyrelsesmødet", "suggestion": "Unge under 30 år i uddannelse."})
    assert response.status_code == 302
    suggestion = db.session.scalar(select(AgreementComment).where(AgreementComment.agreement_id == agreement_id))
    own_page, other_page = html(org.get(f"/aftaler/{agreement_id}")), html(muni.get(f"/aftaler/{agreement_id}"))
    accept = f'action="/kommentarer/{suggestion.id}/accepter"'
    assert accept not in own_page and accept in other_page
    assert "<ins>" in other_page  # the suggestion as a diff against the current text
    assert org.post(f"/kommentarer/{suggestion.id}/accepter").status_code == 403
    assert head(agreement_id).number == 1
    accepted = muni.post(f"/kommentarer/{suggestion.id}/accepter")
    assert accepted.status_code == 302
    assert sections(agreement_id)["Målgrupper"]["text"] == "Unge under 30 år i uddannelse."
    assert "accepteret" in html(muni.get(f"/aftaler/{agreement_id}"))


def test_suggestion_can_be_rejected(app: Flask, demo: DemoData, agreement_id: int) -> None:
    muni, org = client_for(app, demo, MUNI_EDITOR), client_for(app, demo, ORG_EDITOR)
    sid = sections(agreement_id)["Målgrupper"]["id"]
    muni.post(f"/aftaler/{agreement_id}/kommentarer", data={"section_id": sid, "body": "", "suggestion": "Alle."})
    suggestion = db.session.scalar(select(AgreementComment).where(AgreementComment.agreement_id == agreement_id))
    assert org.post(f"/kommentarer/{suggestion.id}/afvis").status_code == 302
    db.session.expire_all()
    assert db.session.get(AgreementComment, suggestion.id).suggestion_state == "rejected"
    assert head(agreement_id).number == 1


# --- presence -------------------------------------------------------------------------------------

def test_presence_heartbeat_answers_who_else_edits_the_section(app: Flask, demo: DemoData, agreement_id: int) -> None:
    muni, org = client_for(app, demo, MUNI_EDITOR), client_for(app, demo, ORG_EDITOR)
    sid = sections(agreement_id)["Målgrupper"]["id"]
    first = muni.post(f"/aftaler/{agreement_id}/tilstede", data={"section_id": sid}, headers={"Accept": "application/json"})
    assert first.status_code == 200 and first.json["editing"] == []
    second = org.post(f"/aftaler/{agreement_id}/tilstede", data={"section_id": sid}, headers={"Accept": "application/json"})
    assert second.json["editing"] == ["Lars Tilsyn"] and second.json["sections"][sid] == ["Lars Tilsyn"]
    page = html(org.get(f"/aftaler/{agreement_id}/rediger"))
    assert re.search(rf'data-presence-for="{sid}" aria-live="polite">Også i gang: Lars Tilsyn<', page)
    assert "Redigeres nu af: Lars Tilsyn" in html(org.get(f"/aftaler/{agreement_id}"))
    reader = client_for(app, demo, ORG_READER)
    assert reader.post(f"/aftaler/{agreement_id}/tilstede", data={"section_id": sid},
                       headers={"Accept": "application/json"}).status_code == 403
    bad = muni.post(f"/aftaler/{agreement_id}/tilstede", data={}, headers={"Accept": "application/json"})
    assert bad.status_code == 400 and json.loads(bad.data)["error"]["code"] == "invalid_input"


# --- who may see it -------------------------------------------------------------------------------------

def test_outsider_organisation_gets_404_on_every_agreement_page(app: Flask, demo: DemoData, agreement_id: int) -> None:
    sid = sections(agreement_id)["Målgrupper"]["id"]
    with unit_of_work():
        comment = agreement_service.add_comment(demo.user(ORG_EDITOR), agreement_id, sid, "Hej", suggestion="Ny")
    outsider = client_for(app, demo, OUTSIDER)
    a = f"/aftaler/{agreement_id}"
    requests = [("GET", a, {}), ("GET", f"{a}/rediger", {}), ("POST", f"{a}/rediger", {"base_revision": "1"}),
                ("GET", f"{a}/historik", {}), ("GET", f"{a}/sammenlign?fra=1&til=1", {}),
                ("POST", f"{a}/godkend", {"revision": "1"}), ("POST", f"{a}/forhandling", {}),
                ("POST", f"{a}/afsnit", {"heading": "x", "base_revision": "1"}),
                ("POST", f"{a}/kommentarer", {"section_id": sid, "body": "x"}),
                ("POST", f"{a}/revisioner/1/gendan", {}), ("POST", f"{a}/tilstede", {"section_id": sid}),
                ("POST", f"/kommentarer/{comment.id}/loes", {}), ("POST", f"/kommentarer/{comment.id}/accepter", {}),
                ("POST", f"/kommentarer/{comment.id}/afvis", {})]
    for method, url, data in requests:
        assert outsider.open(url, method=method, data=data).status_code == 404, (method, url)
        absent = re.sub(r"/(aftaler|kommentarer)/\d+", r"/\1/999999", url)
        assert outsider.open(absent, method=method, data=data).status_code == 404, (method, absent)
    assert "Aftale om udlejning" not in html(outsider.get("/aftaler"))
    assert head(agreement_id).number == 1


def test_readers_see_but_may_not_change(app: Flask, demo: DemoData, agreement_id: int) -> None:
    reader = client_for(app, demo, ORG_READER)
    page = html(reader.get(f"/aftaler/{agreement_id}"))
    assert "Aftale om udlejning 2026-2029" in page
    assert f'href="/aftaler/{agreement_id}/rediger"' not in page and "Skriv en kommentar" not in page
    assert reader.get(f"/aftaler/{agreement_id}/historik").status_code == 200
    assert reader.get(f"/aftaler/{agreement_id}/rediger").status_code == 403
    assert reader.post(f"/aftaler/{agreement_id}/rediger", data={"base_revision": "1"}).status_code == 403
    assert reader.post(f"/aftaler/{agreement_id}/kommentarer", data={"section_id": "x", "body": "x"}).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client: FlaskClient, agreement_id: int) -> None:
    for url in ("/aftaler", "/aftaler/ny", f"/aftaler/{agreement_id}", f"/aftaler/{agreement_id}/historik"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/log-ind")


# --- no edit is lost in the corners ----------------------------------------------------------------

def test_a_heading_changed_with_a_conflicting_text_is_kept(app: Flask, demo: DemoData, agreement_id: int) -> None:
    muni, org = client_for(app, demo, MUNI_EDITOR), client_for(app, demo, ORG_EDITOR)
    sid = sections(agreement_id)["Målgrupper"]["id"]
    muni_form, org_form = edit_form(muni, agreement_id), edit_form(org, agreement_id)
    muni_form.set(f"text-{sid}", "Kommunens målgrupper.")
    muni.post(f"/aftaler/{agreement_id}/rediger", data=muni_form.data())
    org_form.set(f"heading-{sid}", "Målgrupper for anvisningen")
    org_form.set(f"text-{sid}", "Boligselskabets målgrupper.")
    clash = org.post(f"/aftaler/{agreement_id}/rediger", data=org_form.data())
    assert clash.status_code == 409
    resolve = FormPage(html(clash), f"/aftaler/{agreement_id}/rediger")
    assert resolve.get(f"heading-{sid}") == "Målgrupper for anvisningen"
    assert org.post(f"/aftaler/{agreement_id}/rediger", data=resolve.data()).status_code == 302
    assert sections(agreement_id)["Målgrupper for anvisningen"]["text"] == "Boligselskabets målgrupper."


def test_a_simultaneous_save_keeps_everything_typed(app: Flask, demo: DemoData, agreement_id: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Two saves racing for the same revision number: the loser keeps its text on the same base."""
    editor = client_for(app, demo, ORG_EDITOR)
    sid = sections(agreement_id)["Målgrupper"]["id"]
    form = edit_form(editor, agreement_id)
    form.set(f"text-{sid}", "Skrevet under kapløbet.")

    def raced(*args: Any, **kwargs: Any) -> None:
        raise agreement_service.AgreementConflict(1, [])

    monkeypatch.setattr(agreement_service, "update_agreement", raced)
    response = editor.post(f"/aftaler/{agreement_id}/rediger", data=form.data())
    assert response.status_code == 409
    again = FormPage(html(response), f"/aftaler/{agreement_id}/rediger")
    assert again.get(f"text-{sid}") == "Skrevet under kapløbet." and again.get("base_revision") == "1"
    assert "gem igen" in html(response)


def test_the_list_page_makes_the_same_queries_for_many_agreements(app: Flask, demo: DemoData, agreement_id: int) -> None:
    from sqlalchemy import event

    reader = client_for(app, demo, MUNI_READER)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def queries() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert reader.get("/aftaler").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    one = queries()
    with unit_of_work():
        for index in range(4):
            agreement_service.create_agreement(demo.user(MUNI_EDITOR), {
                "title": f"Aftale {index}", "type": "andet",
                "organisations": [demo.organisations[index % 3].id, demo.organisations[3].id]})
    assert queries() == one


def _active_agreement(demo: DemoData, title: str) -> int:
    from portal.access import SYSTEM

    with unit_of_work():
        agreement = agreement_service.create_agreement(SYSTEM, {"title": title, "type": "andet",
                                                                "organisations": [demo.organisations[0].id]})
    for email in (MUNI_SIGNATORY, ORG_SIGNATORY):
        with unit_of_work():
            agreement_service.approve(demo.user(email), agreement.id, 1)
    return agreement.id


def test_approved_agreement_is_saved_as_pdf_from_its_page(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    from portal.access import SYSTEM

    with unit_of_work():
        draft = agreement_service.create_agreement(SYSTEM, {"title": "Kladde", "type": "andet",
                                                            "organisations": [demo.organisations[0].id]})
    log_in(client, ORG_EDITOR, demo.password)
    assert "Gem som PDF" not in client.get(f"/aftaler/{draft.id}").get_data(as_text=True)
    refused = client.post(f"/aftaler/{draft.id}/eksport")
    assert refused.status_code == 302 and refused.headers["Location"].endswith(f"/aftaler/{draft.id}")
    agreement_id = _active_agreement(demo, "Eksportaftale")
    assert "Gem som PDF" in client.get(f"/aftaler/{agreement_id}").get_data(as_text=True)
    saved = client.post(f"/aftaler/{agreement_id}/eksport")
    assert saved.status_code == 302 and "/dokumenter/" in saved.headers["Location"]
    assert client.get(saved.headers["Location"] + "/fil").data.startswith(b"%PDF-")


def test_reader_cannot_export_an_agreement_into_the_archive(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    from portal.models import AgreementDocument, Document

    agreement_id = _active_agreement(demo, "Læseraftale")
    documents_before = db.session.scalar(select(func.count()).select_from(Document))
    log_in(client, ORG_READER, demo.password)
    assert "Gem som PDF" not in client.get(f"/aftaler/{agreement_id}").get_data(as_text=True)
    assert client.post(f"/aftaler/{agreement_id}/eksport").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Document)) == documents_before
    assert db.session.scalar(select(func.count()).select_from(AgreementDocument).where(
        AgreementDocument.agreement_id == agreement_id)) == 0


# --- data stored before it was checked does not break a page --------------------------------------

@pytest.mark.parametrize("bad", [{"share_percent": {"x": 1}}, {"share_percent": "femogtyve"}, ["not", "an", "object"],
                                 {"steps": "alle"}, {"steps": [{"department": "102 Kildeparken", "year": "x"}, 7]}])
def test_pages_render_even_with_malformed_section_data_in_the_database(app: Flask, demo: DemoData, agreement_id: int,
                                                                       bad: Any) -> None:
    """Revisions are immutable, so data written before the service checked it stays: it is written
    here straight into the database, as a new head revision, past the service."""
    from portal.services.agreements import content_hash

    agreement = db.session.get(Agreement, agreement_id)
    content = json.loads(json.dumps(agreement_service.get_revision(agreement).content))
    for section in content["sections"].values():
        if section["kind"] in ("allocation", "trappemodel"):
            section["data"] = bad
    with unit_of_work() as session:
        session.add(AgreementRevision(agreement_id=agreement_id, number=2, based_on=1, content=content,
                                      changed_sections=[], content_hash=content_hash(content), note="Gamle data"))
        session.get(Agreement, agreement_id).head = 2
    for email in (MUNI_EDITOR, MUNI_READER, ORG_EDITOR, ORG_READER):
        client = client_for(app, demo, email)
        for path in ("/anvisning", "", "/historik", "/sammenlign?fra=1&til=2"):
            response = client.get(f"/aftaler/{agreement_id}{path}")
            assert response.status_code == 200, (email, path, response.status_code)
    editor = client_for(app, demo, ORG_EDITOR)
    assert editor.get(f"/aftaler/{agreement_id}/rediger").status_code == 200
    from tests.factories import ApiUser

    assert ApiUser(app, ORG_EDITOR).get(f"/agreements/{agreement_id}").status_code == 200
