"""Agreements: co-editing without lost edits, conflicts shown, approvals bound to one revision."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from portal.extensions import db
from portal.models import Agreement, AgreementStatus
from portal.services import agreements as agreement_service
from portal.uow import unit_of_work
from tests.factories import ApiUser as Api
from tests.factories import DemoData

MUNI_EDITOR = "redaktoer@fjordby.dk"
ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"
MUNI_SIGNATORY = "underskriver@fjordby.dk"
ORG_SIGNATORY = "underskriver@fjordby-boligselskab.dk"
OUTSIDER = "admin@aabrinken.dk"


@pytest.fixture
def agreement(app: Flask, demo: DemoData) -> dict:
    """An individual agreement between the municipality and the first organisation, via the API."""
    response = Api(app, MUNI_EDITOR).post("/agreements", {
        "title": "Aftale om udlejning 2026-2029", "type": "individuel", "organisations": [demo.organisations[0].id],
        "term_start": "2026-01-01", "term_end": "2029-12-31"})
    assert response.status_code == 201, response.json
    assert response.json["pending_parties"] == [demo.organisations[0].id]
    accepted = Api(app, ORG_EDITOR).post(f"/agreements/{response.json['id']}/invitation", {"accept": True})
    assert accepted.status_code == 200, accepted.json
    return Api(app, MUNI_EDITOR).get(f"/agreements/{response.json['id']}").json


def _section(agreement: dict, heading_start: str) -> dict:
    return next(s for s in agreement["sections"] if s["heading"].startswith(heading_start))


def test_new_strategic_agreement_starts_from_the_template(agreement: dict) -> None:
    headings = [s["heading"] for s in agreement["sections"]]
    assert "Kommunal anvisning (LAB § 59, stk. 1)" in headings and "Trappemodel" in headings
    assert _section(agreement, "Kommunal anvisning")["data"] == {"share_percent": 25}
    assert agreement["revision"] == 1 and agreement["status"] == "draft" and len(agreement["parties"]) == 2


def test_changes_to_different_sections_of_the_same_base_are_both_kept(app: Flask, agreement: dict) -> None:
    muni, org = Api(app, MUNI_EDITOR), Api(app, ORG_EDITOR)
    fleks, target = _section(agreement, "Fleksibel"), _section(agreement, "Målgrupper")
    first = muni.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {
        fleks["id"]: {"text": "Fleksibel udlejning i Havnegården: beskæftigelse."}}})
    second = org.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {
        target["id"]: {"text": "Studerende og unge under uddannelse."}}})
    assert first.status_code == second.status_code == 200
    assert second.json["revision"] == 3
    head = org.get(f"/agreements/{agreement['id']}").json
    assert _section(head, "Fleksibel")["text"] == "Fleksibel udlejning i Havnegården: beskæftigelse."
    assert _section(head, "Målgrupper")["text"] == "Studerende og unge under uddannelse."


def test_non_overlapping_lines_of_one_section_are_merged(app: Flask, agreement: dict) -> None:
    muni, org = Api(app, MUNI_EDITOR), Api(app, ORG_EDITOR)
    sid = _section(agreement, "Balancerede")["id"]
    base_text = "Linje et\nLinje to\nLinje tre\nLinje fire\n"
    assert muni.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"text": base_text}}}).json["revision"] == 2
    muni.patch(f"/agreements/{agreement['id']}", {"base_revision": 2, "sections": {
        sid: {"text": "Linje ET (kommunen)\nLinje to\nLinje tre\nLinje fire\n"}}})
    merged = org.patch(f"/agreements/{agreement['id']}", {"base_revision": 2, "sections": {
        sid: {"text": "Linje et\nLinje to\nLinje tre\nLinje FIRE (boligselskabet)\n"}}})
    assert merged.status_code == 200 and merged.json["revision"] == 4
    text_now = _section(org.get(f"/agreements/{agreement['id']}").json, "Balancerede")["text"]
    assert text_now == "Linje ET (kommunen)\nLinje to\nLinje tre\nLinje FIRE (boligselskabet)\n"


def test_the_same_lines_give_a_conflict_and_neither_text_is_lost(app: Flask, agreement: dict) -> None:
    muni, org = Api(app, MUNI_EDITOR), Api(app, ORG_EDITOR)
    sid = _section(agreement, "Kommunal anvisning")["id"]
    base_text = _section(agreement, "Kommunal anvisning")["text"]
    mine, theirs = "Kommunen anviser 30 % af de ledige boliger.", "Kommunen anviser 20 % af de ledige boliger."
    assert muni.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"text": theirs}}}).status_code == 200
    clash = org.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"text": mine}}})
    assert clash.status_code == 409
    assert clash.json["head_revision"] == 2 and clash.json["error"]["code"] == "conflict"
    conflict = clash.json["conflicts"][0]
    assert conflict["section_id"] == sid and conflict["mine"] == mine and conflict["theirs"] == theirs
    assert conflict["base"] == base_text
    assert _section(org.get(f"/agreements/{agreement['id']}").json, "Kommunal anvisning")["text"] == theirs
    resolved = org.patch(f"/agreements/{agreement['id']}", {"base_revision": 2, "sections": {
        sid: {"text": "Kommunen anviser 25 % af de ledige boliger (kompromis)."}}})
    assert resolved.status_code == 200 and resolved.json["revision"] == 3


def test_typed_content_conflicts_too(app: Flask, agreement: dict) -> None:
    muni, org = Api(app, MUNI_EDITOR), Api(app, ORG_EDITOR)
    sid = _section(agreement, "Kommunal anvisning")["id"]
    muni.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"data": {"share_percent": 33}}}})
    clash = org.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"data": {"share_percent": 20}}}})
    assert clash.status_code == 409 and clash.json["conflicts"][0]["field"] == "data"


def test_an_edit_after_one_partys_approval_voids_it(app: Flask, agreement: dict) -> None:
    muni_signatory, editor = Api(app, MUNI_SIGNATORY), Api(app, ORG_EDITOR)
    approved = muni_signatory.post(f"/agreements/{agreement['id']}/approvals", {"revision": 1})
    assert approved.status_code == 201 and approved.json["status"] == "awaiting_approval"
    assert approved.json["approvals"][0]["revision_hash"] == agreement["revision_hash"]
    sid = _section(agreement, "Målgrupper")["id"]
    editor.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"text": "Ændret."}}})
    after = editor.get(f"/agreements/{agreement['id']}").json
    assert after["approvals"] == [] and after["status"] == "negotiation"


def test_both_parties_approving_the_same_revision_make_it_active(app: Flask, agreement: dict) -> None:
    Api(app, MUNI_SIGNATORY).post(f"/agreements/{agreement['id']}/approvals", {"revision": 1})
    done = Api(app, ORG_SIGNATORY).post(f"/agreements/{agreement['id']}/approvals", {"revision": 1})
    assert done.json["status"] == "active"
    assert {a["party"] for a in done.json["approvals"]} == set(agreement["parties"])
    assert all(a["revision"] == 1 and a["revision_hash"] == agreement["revision_hash"] for a in done.json["approvals"])


def test_approving_an_outdated_revision_is_refused(app: Flask, agreement: dict) -> None:
    sid = _section(agreement, "Målgrupper")["id"]
    Api(app, ORG_EDITOR).patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"text": "Ny"}}})
    stale = Api(app, MUNI_SIGNATORY).post(f"/agreements/{agreement['id']}/approvals", {"revision": 1})
    assert stale.status_code == 409


def test_editors_cannot_approve_and_outsiders_see_nothing(app: Flask, agreement: dict) -> None:
    assert Api(app, ORG_EDITOR).post(f"/agreements/{agreement['id']}/approvals", {"revision": 1}).status_code == 403
    outsider = Api(app, OUTSIDER)
    for response in (outsider.get(f"/agreements/{agreement['id']}"),
                     outsider.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {}}),
                     outsider.post(f"/agreements/{agreement['id']}/approvals", {"revision": 1}),
                     outsider.get("/agreements/999999")):
        assert response.status_code == 404


def test_term_end_expires_an_active_agreement(app: Flask, agreement: dict) -> None:
    Api(app, MUNI_SIGNATORY).post(f"/agreements/{agreement['id']}/approvals", {"revision": 1})
    Api(app, ORG_SIGNATORY).post(f"/agreements/{agreement['id']}/approvals", {"revision": 1})
    with unit_of_work():
        assert agreement_service.expire_agreements(date(2029, 12, 31)) == 0
        assert agreement_service.expire_agreements(date(2030, 1, 1)) == 1
    assert db.session.get(Agreement, agreement["id"]).status is AgreementStatus.EXPIRED
    sid = _section(agreement, "Målgrupper")["id"]
    closed = Api(app, ORG_EDITOR).patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"text": "x"}}})
    assert closed.status_code == 403


def test_revisions_are_immutable_in_the_database(app: Flask, agreement: dict) -> None:
    with pytest.raises(DatabaseError, match="immutable"):
        with unit_of_work() as session:
            session.execute(text(f"UPDATE agreement_revisions SET note = 'forfalsket' WHERE agreement_id = {agreement['id']}"))


def test_restoring_an_old_revision_adds_a_new_one(app: Flask, agreement: dict, demo: DemoData) -> None:
    sid = _section(agreement, "Målgrupper")["id"]
    Api(app, ORG_EDITOR).patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"text": "Midlertidig"}}})
    editor = demo.user(ORG_EDITOR)
    with unit_of_work():
        revision = agreement_service.restore_revision(editor, agreement["id"], 1)
    assert revision.number == 3 and revision.content_hash == agreement["revision_hash"]
    stored = db.session.get(Agreement, agreement["id"])
    diff = agreement_service.compare_revisions(stored, 1, 2)
    assert diff[0]["section_id"] == sid and "<ins>Midlertidig</ins>" in diff[0]["diff_html"]


def test_suggestion_is_accepted_only_by_the_other_party(app: Flask, agreement: dict, demo: DemoData) -> None:
    sid = _section(agreement, "Målgrupper")["id"]
    org_editor, muni_editor = demo.user(ORG_EDITOR), demo.user(MUNI_EDITOR)
    with unit_of_work():
        suggestion = agreement_service.add_comment(org_editor, agreement["id"], sid, "Forslag til målgrupper",
                                                   suggestion="Unge under 30 år i uddannelse.")
    with pytest.raises(Exception) as own_party:
        with unit_of_work():
            agreement_service.decide_suggestion(org_editor, suggestion.id, accept=True)
    assert own_party.value.__class__.__name__ == "Forbidden"
    with unit_of_work():
        revision = agreement_service.decide_suggestion(muni_editor, suggestion.id, accept=True)
    assert revision is not None and revision.content["sections"][sid]["text"] == "Unge under 30 år i uddannelse."


def test_word_diff_escapes_html() -> None:
    assert agreement_service.word_diff("<b>a</b> b", "<b>a</b> c") == "&lt;b&gt;a&lt;/b&gt; <del>b</del><ins>c</ins>"


def test_agreement_sections_are_searchable_by_their_parties_only(app: Flask, agreement: dict) -> None:
    from tests.indexing_helpers import drain

    sid = _section(agreement, "Målgrupper")["id"]
    Api(app, ORG_EDITOR).patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {
        sid: {"text": "Særlige boliger til hjemløse med støttebehov."}}})
    drain()
    party_user, outsider = Api(app, ORG_EDITOR), Api(app, OUTSIDER)
    found = party_user.get("/search?q=hjemløse").json
    assert found["total"] == 1 and found["hits"][0]["kind"] == "aftale"
    # The hit opens the agreement itself, not a document that happens to share its id.
    hit = found["hits"][0]
    assert hit["type"] == "agreement" and hit["id"] == agreement["id"] and hit["document_id"] is None
    assert hit["url"].endswith(f"/aftaler/{agreement['id']}") and hit["page"] is None
    assert outsider.get("/search?q=hjemløse").json["total"] == 0


def test_approved_agreement_exports_to_an_archived_searchable_pdf(app: Flask, agreement: dict, demo: DemoData) -> None:
    import io

    import pdfplumber

    from portal.backends import object_store
    from portal.models import Document
    from portal.services.agreements import export_pdf
    from tests.indexing_helpers import drain

    signatory = demo.user(MUNI_SIGNATORY)
    with pytest.raises(Exception, match="godkendt"):
        with unit_of_work():
            export_pdf(signatory, agreement["id"], max_size=10**7)
    Api(app, MUNI_SIGNATORY).post(f"/agreements/{agreement['id']}/approvals", {"revision": 1})
    Api(app, ORG_SIGNATORY).post(f"/agreements/{agreement['id']}/approvals", {"revision": 1})
    with unit_of_work():
        document = export_pdf(signatory, agreement["id"], max_size=10**7)
    stored = db.session.get(Document, document.id)
    assert stored.kind.value == "aftale" and stored.party_id == demo.organisations[0].id
    pdf = b"".join(object_store().open(stored.current.object_key))
    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        text = "\n".join(page.extract_text() or "" for page in opened.pages)
    assert agreement["revision_hash"] in text.replace("\n", "")
    assert "Birgitte Borgmester" in text and "Karen Formand" in text and "Kommunal anvisning" in text
    drain()
    assert Api(app, ORG_EDITOR).get("/search?q=anvisning&kind=aftale").json["total"] >= 1


# --- naming an organisation invites it; it takes part only once it accepts ----------------------------

ORG2_ADMIN = "admin@aabrinken.dk"  # the second organisation's admin
COMPANY_EDITOR = "sagsbehandler@fjordby-boligadministration.dk"  # edits for the fifth and sixth organisations


def _org_agreement(app: Flask, demo: DemoData) -> dict:
    """The first organisation's editor starts an agreement naming the second organisation as well."""
    response = Api(app, ORG_EDITOR).post("/agreements", {
        "title": "Fælles udlejningsaftale", "type": "strategisk",
        "organisations": [demo.organisations[0].id, demo.organisations[1].id]})
    assert response.status_code == 201, response.json
    return response.json


def test_named_organisation_is_pending_and_sees_only_the_invitation(app: Flask, client, demo: DemoData) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import log_in

    first, second = demo.organisations[0], demo.organisations[1]
    created = _org_agreement(app, demo)
    assert created["parties"] == sorted([demo.municipality.id, first.id]) and created["pending_parties"] == [second.id]
    invited = Api(app, ORG2_ADMIN)
    assert invited.get(f"/agreements/{created['id']}").status_code == 404
    invitation = invited.get(f"/agreements/{created['id']}/invitation")
    assert invitation.status_code == 200 and invitation.json["title"] == "Fælles udlejningsaftale"
    assert invitation.json["invited"] == [{"party": second.id, "invited_by_party": first.id,
                                           "invited_by": demo.user(ORG_EDITOR).name}]
    assert "sections" not in invitation.json
    log_in(client, ORG2_ADMIN, demo.password)
    page = client.get(f"/aftaler/{created['id']}").get_data(as_text=True)
    assert "Fælles udlejningsaftale" in page and first.name in page and "Acceptér og bliv part" in page
    assert "Kommunal anvisning" not in page  # no section of the text
    assert "Fælles udlejningsaftale" in client.get("/aftaler").get_data(as_text=True)
    # Nor are the invited organisation's departments shown to the parties.
    inviting = app.test_client()
    log_in(inviting, ORG_EDITOR, demo.password)
    edit_page = inviting.get(f"/aftaler/{created['id']}/rediger").get_data(as_text=True)
    assert first.departments[0].name in edit_page
    assert all(d.name not in edit_page for d in second.departments)
    allocation_page = inviting.get(f"/aftaler/{created['id']}/anvisning").get_data(as_text=True)
    assert all(d.name not in allocation_page for d in second.departments)


def test_pending_organisation_gets_no_obligations(app: Flask, demo: DemoData) -> None:
    from portal.errors import InvalidInput
    from portal.services import obligations as obligation_service

    created = _org_agreement(app, demo)
    with pytest.raises(InvalidInput) as refused:
        with unit_of_work():
            obligation_service.create_obligation(demo.user(ORG_EDITOR), created["id"], None, {
                "title": "Indberet tomgang", "responsible_party": demo.organisations[1].id, "first_due": "2027-06-30"})
    assert "responsible_party" in refused.value.fields


def test_accepting_makes_the_organisation_a_party(app: Flask, demo: DemoData) -> None:
    created = _org_agreement(app, demo)
    invited = Api(app, ORG2_ADMIN)
    accepted = invited.post(f"/agreements/{created['id']}/invitation", {"accept": True})
    assert accepted.status_code == 200 and accepted.json["accepted"] == [demo.organisations[1].id]
    now = invited.get(f"/agreements/{created['id']}")
    assert now.status_code == 200 and demo.organisations[1].id in now.json["parties"] and now.json["pending_parties"] == []
    # Answered once: there is nothing left to answer.
    assert invited.post(f"/agreements/{created['id']}/invitation", {"accept": False}).status_code == 403


def test_declining_leaves_the_agreement_to_the_others(app: Flask, client, demo: DemoData) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import log_in

    created = _org_agreement(app, demo)
    for email in (MUNI_SIGNATORY, ORG_SIGNATORY):
        approved = Api(app, email).post(f"/agreements/{created['id']}/approvals", {"revision": 1})
        assert approved.status_code == 201
    # An organisation still to answer keeps the agreement from coming into force.
    assert approved.json["status"] == "awaiting_approval"
    log_in(client, ORG2_ADMIN, demo.password)
    declined = client.post(f"/aftaler/{created['id']}/invitation", data={"answer": "decline"})
    assert declined.status_code == 302
    assert client.get(f"/aftaler/{created['id']}").status_code == 404
    assert "Fælles udlejningsaftale" not in client.get("/aftaler").get_data(as_text=True)
    after = Api(app, MUNI_EDITOR).get(f"/agreements/{created['id']}").json
    assert demo.organisations[1].id not in after["parties"] and after["pending_parties"] == []
    assert after["status"] == "active"


def test_reader_of_the_invited_organisation_cannot_answer(app: Flask, demo: DemoData) -> None:
    response = Api(app, MUNI_EDITOR).post("/agreements", {
        "title": "Kommunens aftale", "type": "individuel", "organisations": [demo.organisations[0].id]})
    # The municipality names organisations as invitations too.
    assert response.json["pending_parties"] == [demo.organisations[0].id]
    reader = Api(app, "laeser@fjordby-boligselskab.dk")
    assert reader.get(f"/agreements/{response.json['id']}/invitation").status_code == 200
    assert reader.post(f"/agreements/{response.json['id']}/invitation", {"accept": True}).status_code == 403
    assert Api(app, MUNI_EDITOR).get(f"/agreements/{response.json['id']}").json["pending_parties"] == \
        [demo.organisations[0].id]


def test_creator_consents_for_the_organisations_they_edit_for(app: Flask, demo: DemoData) -> None:
    fifth, sixth = demo.organisations[4], demo.organisations[5]
    response = Api(app, COMPANY_EDITOR).post("/agreements", {
        "title": "Administrationsaftale", "type": "andet", "organisations": [fifth.id, sixth.id]})
    assert response.status_code == 201
    assert response.json["parties"] == sorted([demo.municipality.id, fifth.id, sixth.id])
    assert response.json["pending_parties"] == []


# --- suggestions are decided by the other side ------------------------------------------------------------

def test_person_editing_for_two_parties_cannot_accept_their_own_suggestion(app: Flask, demo: DemoData) -> None:
    from portal.access import SYSTEM
    from portal.errors import Forbidden

    fifth, sixth = demo.organisations[4], demo.organisations[5]
    with unit_of_work():
        agreement = agreement_service.create_agreement(SYSTEM, {
            "title": "Tre parter", "type": "andet", "organisations": [fifth.id, sixth.id]})
    sid = agreement_service.get_revision(agreement).content["order"][0]
    author = demo.user(COMPANY_EDITOR)
    with unit_of_work():
        suggestion = agreement_service.add_comment(author, agreement.id, sid, "Forslag", suggestion="Ny tekst.")
    for accept in (True, False):
        with pytest.raises(Forbidden):
            with unit_of_work():
                agreement_service.decide_suggestion(author, suggestion.id, accept=accept)
    with unit_of_work():
        agreement_service.decide_suggestion(demo.user(MUNI_EDITOR), suggestion.id, accept=True)
    db.session.expire_all()
    assert db.session.get(type(suggestion), suggestion.id).suggestion_state == "accepted"


def test_the_living_demos_agreements_have_every_named_party_accepted(app: Flask) -> None:
    from portal.demo import load_demo
    from portal.models import AgreementParty, PartyConsent, PartyKind

    with unit_of_work():
        load_demo(living=True)
    links = list(db.session.scalars(select(AgreementParty)))
    assert links and all(link.consent is PartyConsent.ACCEPTED for link in links)
    strategic = db.session.scalar(select(Agreement).where(Agreement.type == "strategisk"))
    assert sum(1 for p in strategic.parties if p.party.kind is PartyKind.ORGANISATION) == 6


# --- typed section data is checked on the way in, and read robustly ----------------------------------------

@pytest.mark.parametrize("data, field", [
    ({"share_percent": {"x": 1}}, "share_percent"),
    ({"share_percent": "25"}, "share_percent"),
    ({"share_percent": 150}, "share_percent"),
    ({"share_percent": True}, "share_percent"),
    ({"share_percent": 25, "colour": "red"}, "colour"),
])
def test_malformed_allocation_data_is_refused_naming_the_field(app: Flask, agreement: dict, data: dict,
                                                               field: str) -> None:
    editor = Api(app, MUNI_EDITOR)
    sid = _section(agreement, "Kommunal anvisning")["id"]
    response = editor.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"data": data}}})
    assert response.status_code == 400, response.json
    assert f"sections.{sid}.data.{field}" in response.json["error"]["details"]["fields"]
    assert field in response.json["error"]["message"]
    assert editor.get(f"/agreements/{agreement['id']}").json["revision"] == 1


def test_malformed_trappemodel_rows_are_refused_naming_the_field(app: Flask, agreement: dict, demo: DemoData) -> None:
    editor = Api(app, MUNI_EDITOR)
    sid = _section(agreement, "Trappemodel")["id"]
    other_department = demo.organisations[1].departments[0].id  # not a party's
    for steps, field in (("alle", "steps"), ([{"department_id": demo.organisations[0].departments[0].id,
                                                "year": "2026", "step": 1}], "steps[0].year"),
                         ([{"department_id": other_department, "year": 2026, "step": 1}], "steps[0].department_id")):
        response = editor.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {
            sid: {"data": {"steps": steps}}}})
        assert response.status_code == 400 and f"sections.{sid}.data.{field}" in response.json["error"]["details"]["fields"]
    good = editor.patch(f"/agreements/{agreement['id']}", {"base_revision": 1, "sections": {sid: {"data": {"steps": [
        {"department_id": demo.organisations[0].departments[0].id, "year": 2026, "step": 2, "share_percent": 40}]}}}})
    assert good.status_code == 200 and good.json["changed"]


def test_agreement_list_clauses_agree_with_the_rules(app: Flask, demo: DemoData) -> None:
    """The SQL clauses for lists give exactly the agreements `can` allows, pending and declined parties included."""
    from portal import access
    from portal.models import User

    first, second, third = demo.organisations[:3]
    with unit_of_work():
        created = [agreement_service.create_agreement(demo.user(MUNI_EDITOR), {
            "title": f"Aftale {n}", "type": "andet", "organisations": orgs})
            for n, orgs in enumerate(([first.id], [first.id, second.id], [second.id, third.id]))]
        created.append(agreement_service.create_agreement(demo.user(ORG_EDITOR), {
            "title": "Organisationens aftale", "type": "andet", "organisations": [first.id, third.id]}))
        agreement_service.respond_to_invitation(demo.user(ORG2_ADMIN), created[1].id, accept=True)
        agreement_service.respond_to_invitation(demo.user(ORG2_ADMIN), created[2].id, accept=False)
    agreements = list(db.session.scalars(select(Agreement)))
    for user in db.session.scalars(select(User)):
        for action, clause in (("agreement:read", access.agreement_read_clause(user)),
                               ("agreement:read", access.searchable_agreement_clause(user)),
                               ("agreement:invitation", access.agreement_invitation_clause(user))):
            listed = set(db.session.scalars(select(Agreement.id).where(clause)))
            assert listed == {a.id for a in agreements if access.can(user, action, a)}, (user.email, action)


def test_pending_organisation_finds_the_agreement_in_search_only_after_accepting(app: Flask, demo: DemoData) -> None:
    from tests.indexing_helpers import drain

    created = _org_agreement(app, demo)
    sid = _section(created, "Målgrupper")["id"]
    assert Api(app, ORG_EDITOR).patch(f"/agreements/{created['id']}", {"base_revision": 1, "sections": {
        sid: {"text": "Særlige boliger til hjemløse med støttebehov."}}}).status_code == 200
    drain()
    invited = Api(app, ORG2_ADMIN)
    assert invited.search(q="hjemløse")["total"] == 0
    assert invited.post(f"/agreements/{created['id']}/invitation", {"accept": True}).status_code == 200
    drain()
    assert invited.search(q="hjemløse")["total"] == 1
