"""Document access seen from the pages and lists around a document: the styringsdialog page, the
year filter, the trash, search while the indexer is behind, published minutes and visibility edits.
Each test is a probe of a hostile organisation or an over-curious municipality user."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.access import SYSTEM, can
from portal.errors import Forbidden, InvalidInput
from portal.extensions import db
from portal.models import AuditEvent, Document, JobStatus, Visibility
from portal.services import dialogue as dialogue_service
from portal.services import documents as document_service
from portal.services import jobs as job_service
from portal.services import users as user_service
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf, make_pdf_pages
from tests.factories import ApiUser, DemoData, log_in
from tests.indexing_helpers import drain

MUNI_ADMIN = "administrator@fjordby.dk"
MUNI_EDITOR = "redaktoer@fjordby.dk"
MUNI_READER = "laeser@fjordby.dk"
ORG_ADMIN = "administrator@fjordby-boligselskab.dk"
ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"


def _upload(demo: DemoData, *, kind: str, year: int, visibility: str, title: str, text: str = "",
            by: str = ORG_EDITOR) -> Document:
    with unit_of_work():
        return document_service.upload_document(
            demo.user(by), demo.organisations[0].id,
            {"kind": kind, "year": str(year), "visibility": visibility, "title": title},
            io.BytesIO(make_pdf_pages([text or title])), "fil.pdf", max_size=10**7)


def _as(client: FlaskClient, demo: DemoData, email: str) -> FlaskClient:
    log_in(client, email, demo.password)
    return client


# --- the styringsdialog page --------------------------------------------------------------------

def test_dialogue_page_hides_owner_only_documents_from_the_municipality(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    _upload(demo, kind="styringsrapport", year=2031, visibility="party", title="Hemmelig styringsrapport")
    _upload(demo, kind="referat", year=2031, visibility="party", title="Hemmeligt referatudkast")
    _upload(demo, kind="regnskab", year=2031, visibility="dialogue", title="Delt regnskab")
    with unit_of_work():
        dialogue = dialogue_service.open_dialogue(SYSTEM, demo.organisations[0].id, 2031)
        dialogue_service.plan_meeting(SYSTEM, dialogue.id, {"starts_at": "2031-10-01T10:00"})
    page = _as(client, demo, MUNI_EDITOR).get(f"/styringsdialog/{dialogue.id}").get_data(as_text=True)
    assert "Delt regnskab" in page
    assert "Hemmelig styringsrapport" not in page  # the checklist
    assert "Hemmeligt referatudkast" not in page  # the referat drop-down
    municipality_editor = demo.user(MUNI_EDITOR)
    done = {item.kind.value for item in dialogue_service.checklist(municipality_editor, dialogue) if item.done}
    assert done == {"regnskab"}  # an owner-only report has not been handed in to the municipality


def test_dialogue_page_hides_minutes_narrowed_after_they_were_attached(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    minutes = _upload(demo, kind="referat", year=2032, visibility="dialogue", title="Referat der trækkes ind")
    with unit_of_work():
        dialogue = dialogue_service.open_dialogue(SYSTEM, demo.organisations[0].id, 2032)
        dialogue_service.plan_meeting(SYSTEM, dialogue.id, {"starts_at": "2032-10-01T10:00"})
        dialogue_service.attach_minutes(SYSTEM, dialogue.id, minutes.id)
    with unit_of_work():
        document_service.update_metadata(demo.user(ORG_EDITOR), minutes.id, {"visibility": "party"})
    page = _as(client, demo, MUNI_READER).get(f"/styringsdialog/{dialogue.id}").get_data(as_text=True)
    assert "Referat der trækkes ind" not in page


def test_indexing_queue_does_not_show_operators_the_titles_of_owner_only_documents(
        app: Flask, demo: DemoData) -> None:
    hidden = _upload(demo, kind="analyse", year=2030, visibility="party", title="Intern analyse af lejetab")
    shared = _upload(demo, kind="analyse", year=2030, visibility="dialogue", title="Delt analyse")
    titles = dict((job.object_id, title) for job, title in
                  job_service.list_jobs(demo.user(MUNI_ADMIN), demo.municipality, JobStatus.QUEUED))
    assert titles[shared.id] == "Delt analyse"
    assert titles[hidden.id] is None


# --- the year filter -----------------------------------------------------------------------------

def test_year_filter_lists_only_years_with_documents_the_user_may_read(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    _upload(demo, kind="analyse", year=2011, visibility="party", title="Kun ejeren")
    _upload(demo, kind="analyse", year=2012, visibility="dialogue", title="Ejeren og kommunen")
    page = _as(client, demo, MUNI_READER).get(f"/parter/{demo.organisations[0].id}/dokumenter").get_data(as_text=True)
    options = set(re.findall(r'<option value="(\d{4})"', page))
    assert "2012" in options
    assert "2011" not in options
    assert document_service.years_of(demo.user(MUNI_READER), demo.organisations[0].id).count(2011) == 0
    assert 2011 in document_service.years_of(demo.user(ORG_EDITOR), demo.organisations[0].id)


# --- deleted documents ---------------------------------------------------------------------------

def test_deleting_an_owner_only_document_does_not_open_it_to_the_municipality(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    document = _upload(demo, kind="analyse", year=2030, visibility="party", title="Fortrolig fraflytningsanalyse")
    with unit_of_work():
        document_service.delete_document(demo.user(ORG_ADMIN), document.id)
    municipality_admin = demo.user(MUNI_ADMIN)
    assert not can(municipality_admin, "document:read", document)
    assert not can(municipality_admin, "document:restore", document)
    api = ApiUser(app, MUNI_ADMIN)
    assert api.get(f"/documents/{document.id}").status_code == 404
    assert api.get(f"/documents/{document.id}/file").status_code == 404
    web = _as(client, demo, MUNI_ADMIN)
    assert web.get(f"/dokumenter/{document.id}").status_code == 404
    assert "Fortrolig fraflytningsanalyse" not in web.get(
        f"/parter/{demo.organisations[0].id}/papirkurv").get_data(as_text=True)
    assert web.post(f"/dokumenter/{document.id}/gendan").status_code == 404
    # Its own admin still finds it in the trash and may restore it.
    organisation_admin = demo.user(ORG_ADMIN)
    assert [d.id for d in document_service.list_deleted(organisation_admin, demo.organisations[0].id)] == [document.id]
    with unit_of_work():
        document_service.restore_document(organisation_admin, document.id)


def test_municipality_admin_still_restores_a_deleted_dialogue_document(app: Flask, demo: DemoData) -> None:
    document = _upload(demo, kind="analyse", year=2030, visibility="dialogue", title="Delt analyse")
    with unit_of_work():
        document_service.delete_document(demo.user(ORG_EDITOR), document.id)
    municipality_admin = demo.user(MUNI_ADMIN)
    assert [d.id for d in document_service.list_deleted(municipality_admin, demo.organisations[0].id)] == [document.id]
    with unit_of_work():
        document_service.restore_document(municipality_admin, document.id)


# --- published minutes are frozen ------------------------------------------------------------------

def _published_minutes(demo: DemoData) -> Document:
    minutes = _upload(demo, kind="referat", year=2030, visibility="dialogue", title="Referat 2030")
    with unit_of_work():
        document_service.publish_document(demo.user(MUNI_EDITOR), minutes.id)
    return minutes


def test_organisation_cannot_change_published_minutes(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    minutes = _published_minutes(demo)
    original = make_pdf_pages(["Referat 2030"])
    editor = demo.user(ORG_EDITOR)
    with pytest.raises(Forbidden), unit_of_work():
        document_service.add_version(editor, minutes.id, io.BytesIO(make_pdf("Omskrevet referat")), "nyt.pdf",
                                     max_size=10**7)
    with pytest.raises(Forbidden), unit_of_work():
        document_service.update_metadata(editor, minutes.id, {"title": "Et andet referat"})
    with pytest.raises(Forbidden), unit_of_work():
        document_service.delete_document(demo.user(ORG_ADMIN), minutes.id)
    web = _as(client, demo, ORG_EDITOR)
    assert web.post(f"/dokumenter/{minutes.id}/versioner", data={"file": (io.BytesIO(make_pdf("Omskrevet")), "x.pdf")},
                    content_type="multipart/form-data").status_code == 403
    assert web.post(f"/dokumenter/{minutes.id}/rediger", data={"title": "Nyt"}).status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(f"/offentlig/referater/{minutes.id}").data == original
    assert "Referat 2030" in anonymous.get("/offentlig/referater").get_data(as_text=True)


def test_organisation_asks_the_municipality_to_withdraw_published_minutes(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    minutes = _published_minutes(demo)
    web = _as(client, demo, ORG_EDITOR)
    assert web.post(f"/dokumenter/{minutes.id}/anmod-om-tilbagekald", data={"reason": ""}).status_code == 400
    response = web.post(f"/dokumenter/{minutes.id}/anmod-om-tilbagekald",
                        data={"reason": "En beboers navn står i punkt 4."})
    assert response.status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "document.unpublish_request"))
    assert event is not None and event.object_id == str(minutes.id) and event.actor_id == demo.user(ORG_EDITOR).id
    municipality = app.test_client()
    log_in(municipality, MUNI_EDITOR, demo.password)
    page = municipality.get(f"/dokumenter/{minutes.id}").get_data(as_text=True)
    assert "En beboers navn står i punkt 4." in page
    assert municipality.post(f"/dokumenter/{minutes.id}/tilbagekald").status_code == 302
    db.session.expire_all()
    assert db.session.get(Document, minutes.id).visibility is Visibility.DIALOGUE
    assert "En beboers navn står i punkt 4." not in municipality.get(f"/dokumenter/{minutes.id}").get_data(as_text=True)


def test_dialogue_page_tells_the_municipality_that_its_published_minutes_are_disputed(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    minutes = _upload(demo, kind="referat", year=2033, visibility="dialogue", title="Referat 2033")
    with unit_of_work():
        dialogue = dialogue_service.open_dialogue(SYSTEM, demo.organisations[0].id, 2033)
        dialogue_service.plan_meeting(SYSTEM, dialogue.id, {"starts_at": "2033-10-01T10:00"})
        dialogue_service.attach_minutes(SYSTEM, dialogue.id, minutes.id)
        document_service.publish_document(SYSTEM, minutes.id)
    with unit_of_work():
        document_service.request_unpublish(demo.user(ORG_EDITOR), minutes.id, "Forkert dato for mødet.")
    page = _as(client, demo, MUNI_EDITOR).get(f"/styringsdialog/{dialogue.id}").get_data(as_text=True)
    assert "Organisationen har bedt om at få referatet tilbagekaldt" in page


def test_municipality_may_publish_a_corrected_version_of_minutes(app: Flask, demo: DemoData) -> None:
    minutes = _published_minutes(demo)
    corrected = make_pdf("Rettet referat")
    with unit_of_work():
        document_service.add_version(demo.user(MUNI_EDITOR), minutes.id, io.BytesIO(corrected), "rettet.pdf",
                                     max_size=10**7)
    assert app.test_client().get(f"/offentlig/referater/{minutes.id}").data == corrected


# --- the municipality cannot widen an organisation's choice ----------------------------------------

def test_municipality_cannot_widen_an_organisations_dialogue_document(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    document = _upload(demo, kind="analyse", year=2030, visibility="dialogue", title="Analyse til kommunen")
    municipality_editor = demo.user(MUNI_EDITOR)
    with pytest.raises(InvalidInput) as refused, unit_of_work():
        document_service.update_metadata(municipality_editor, document.id, {"visibility": "all_parties"})
    assert "visibility" in refused.value.fields
    db.session.expire_all()
    assert db.session.get(Document, document.id).visibility is Visibility.DIALOGUE
    web = _as(client, demo, MUNI_EDITOR)
    form = web.get(f"/dokumenter/{document.id}/rediger").get_data(as_text=True)
    assert 'value="all_parties"' not in form and 'value="party"' not in form
    assert web.post(f"/dokumenter/{document.id}/rediger",
                    data={"kind": "analyse", "year": "2030", "visibility": "all_parties"}).status_code == 400


def test_municipality_may_narrow_a_shared_document_to_the_dialogue_but_not_to_the_owner(
        app: Flask, demo: DemoData) -> None:
    document = _upload(demo, kind="analyse", year=2030, visibility="all_parties", title="Bredt delt analyse")
    municipality_editor = demo.user(MUNI_EDITOR)
    with pytest.raises(InvalidInput), unit_of_work():
        document_service.update_metadata(municipality_editor, document.id, {"visibility": "party"})
    with unit_of_work():
        document_service.update_metadata(municipality_editor, document.id, {"visibility": "dialogue"})
    with unit_of_work():  # the organisation itself chooses freely
        document_service.update_metadata(demo.user(ORG_EDITOR), document.id, {"visibility": "all_parties"})
    db.session.expire_all()
    assert db.session.get(Document, document.id).visibility is Visibility.ALL_PARTIES


# --- search does not wait for the indexer -------------------------------------------------------------

def test_search_stops_showing_a_narrowed_document_before_the_indexer_runs(app: Flask, demo: DemoData) -> None:
    narrowed = _upload(demo, kind="analyse", year=2030, visibility="dialogue", title="Skimmelrapport A",
                       text="Skimmelsvamp i kælderen")
    _upload(demo, kind="regnskab", year=2029, visibility="dialogue", title="Skimmelrapport B",
            text="Skimmelsvamp på loftet")
    drain()
    reader = ApiUser(app, MUNI_READER)
    assert reader.search(q="skimmelsvamp")["total"] == 2
    with unit_of_work():
        document_service.update_metadata(demo.user(ORG_EDITOR), narrowed.id, {"visibility": "party"})
    result = reader.search(q="skimmelsvamp")  # the index job is still queued
    assert [hit["document_id"] for hit in result["hits"]] != [] and narrowed.id not in [
        hit["document_id"] for hit in result["hits"]]
    assert result["total"] == 1
    assert result["facets"]["year"] == {"2029": 1} and result["facets"]["kind"] == {"regnskab": 1}
    # A misspelling must not be corrected towards a word the user may no longer read either.
    assert ApiUser(app, MUNI_READER).search(q="kælderren")["suggestion"] is None
    owner = ApiUser(app, ORG_EDITOR)
    assert owner.search(q="skimmelsvamp")["total"] == 2  # the owner still finds it
    assert owner.search(q="kælderren")["suggestion"] is not None  # and is offered the correction


def test_search_stops_showing_a_deleted_document_before_the_indexer_runs(
        app: Flask, client: FlaskClient, demo: DemoData) -> None:
    document = _upload(demo, kind="analyse", year=2030, visibility="dialogue", title="Radonmåling Havnegården",
                       text="Radonmåling i stueetagen")
    drain()
    with unit_of_work():
        document_service.delete_document(demo.user(ORG_EDITOR), document.id)
    for email in (ORG_EDITOR, MUNI_ADMIN):
        result = ApiUser(app, email).search(q="radonmåling")
        assert result["hits"] == [] and result["total"] == 0, email
        assert all(not values for values in result["facets"].values()), email
    page = _as(client, demo, ORG_EDITOR).get("/soeg", query_string={"q": "radonmåling"}).get_data(as_text=True)
    assert "Radonmåling Havnegården" not in page


def test_search_stops_showing_documents_after_a_membership_is_removed(app: Flask, demo: DemoData) -> None:
    _upload(demo, kind="analyse", year=2030, visibility="party", title="Asbestsanering", text="Asbestsanering i blok 3")
    drain()
    editor = ApiUser(app, ORG_EDITOR)
    assert editor.search(q="asbestsanering")["total"] == 1
    user = demo.user(ORG_EDITOR)
    with unit_of_work():
        user_service.remove_membership(SYSTEM, user.memberships[0].id)
    assert editor.search(q="asbestsanering")["total"] == 0


# --- the list clauses say what `can` says ------------------------------------------------------------

def test_list_and_trash_clauses_agree_with_the_read_and_restore_rules(app: Flask, demo: DemoData) -> None:
    from portal import access
    from portal.models import User

    made = []
    for deleted in (False, True):
        for visibility in ("party", "dialogue", "all_parties"):
            made.append(_upload(demo, kind="analyse", year=2030, visibility=visibility, title=f"{visibility} {deleted}"))
        made.append(_published_minutes(demo))
        if deleted:
            with unit_of_work():
                for document in made[-4:]:
                    document_service.delete_document(SYSTEM, document.id)
    ids = [d.id for d in made]
    db.session.expire_all()
    documents = [db.session.get(Document, i) for i in ids]
    for actor in [None, *db.session.scalars(select(User).order_by(User.id))]:
        live = set(db.session.scalars(select(Document.id).where(Document.id.in_(ids),
                                                                access.document_live_clause(actor))))
        trash = set(db.session.scalars(select(Document.id).where(Document.id.in_(ids),
                                                                 access.document_trash_clause(actor))))
        assert live == {d.id for d in documents if not d.is_deleted and can(actor, "document:read", d)}, actor
        assert trash == {d.id for d in documents if can(actor, "document:restore", d)}, actor
        assert trash == {d.id for d in documents if d.is_deleted and can(actor, "document:read", d)}, actor
