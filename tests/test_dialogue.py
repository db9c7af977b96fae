"""The styringsdialog year: checklist, steps, meeting agenda, overview, and who sees what."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from portal.access import SYSTEM
from portal.errors import InvalidInput
from portal.extensions import db
from portal.models import DialogueStep, OccurrenceStatus
from portal.services import dialogue as dialogue_service
from portal.services import documents as document_service
from portal.services import obligations as obligation_service
from portal.uow import unit_of_work
from tests.documents_helpers import make_pdf
from tests.factories import DemoData, PartyFactory, log_in

MUNI_EDITOR = "redaktoer@fjordby.dk"
ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"
YEAR = 2026


def _dialogue(demo: DemoData):  # type: ignore[no-untyped-def]
    with unit_of_work():
        return dialogue_service.open_dialogue(demo.user(MUNI_EDITOR), demo.organisations[0].id, YEAR)


def _upload(demo: DemoData, kind: str, email: str = ORG_EDITOR, title: str = ""):  # type: ignore[no-untyped-def]
    with unit_of_work():
        return document_service.upload_document(demo.user(email), demo.organisations[0].id,
                                                {"kind": kind, "year": str(YEAR), "title": title},
                                                io.BytesIO(make_pdf(kind)), f"{kind}.pdf", max_size=10**7)


def test_checklist_ticks_itself_when_a_package_document_is_uploaded(app: Flask, demo: DemoData) -> None:
    dialogue = _dialogue(demo)
    assert not any(item.done for item in dialogue_service.checklist(SYSTEM, dialogue))
    _upload(demo, "styringsrapport")
    _upload(demo, "regnskab")
    done = {item.kind.value for item in dialogue_service.checklist(SYSTEM, dialogue) if item.done}
    assert done == {"styringsrapport", "regnskab"}


def test_a_step_back_needs_a_note(app: Flask, demo: DemoData) -> None:
    dialogue = _dialogue(demo)
    org, muni = demo.user(ORG_EDITOR), demo.user(MUNI_EDITOR)
    with unit_of_work():
        dialogue_service.take_step(org, dialogue.id, DialogueStep.PACKAGE_RECEIVED)
        dialogue_service.take_step(muni, dialogue.id, DialogueStep.PACKAGE_ACCEPTED)
    with pytest.raises(InvalidInput) as refused:
        with unit_of_work():
            dialogue_service.take_step(muni, dialogue.id, DialogueStep.PACKAGE_RETURNED)
    assert "note" in refused.value.fields
    with unit_of_work():
        dialogue_service.take_step(muni, dialogue.id, DialogueStep.PACKAGE_RETURNED, note="Afdelingsskema 102 mangler")
    assert dialogue.step is DialogueStep.PACKAGE_RETURNED
    assert [e.step for e in dialogue.events][-1] is DialogueStep.PACKAGE_RETURNED
    with pytest.raises(Exception) as not_theirs:  # the organisation does not accept its own package
        with unit_of_work():
            dialogue_service.take_step(org, dialogue.id, DialogueStep.PACKAGE_ACCEPTED)
    assert not_theirs.value.__class__.__name__ == "Forbidden"


def test_follow_up_item_lists_exactly_the_open_obligations(app: Flask, demo: DemoData) -> None:
    dialogue = _dialogue(demo)
    muni, org = demo.user(MUNI_EDITOR), demo.user(ORG_EDITOR)
    with unit_of_work():
        dialogue_service.plan_meeting(muni, dialogue.id, {"starts_at": f"{YEAR}-10-15 10:00", "location": "Rådhuset"})
        overdue = dialogue_service.add_meeting_agreement(muni, dialogue.id, {
            "title": "Plan for tomgang i Kildeparken", "responsible_party": demo.organisations[0].id,
            "first_due": (date.today() - timedelta(days=10)).isoformat()})
        upcoming = dialogue_service.add_meeting_agreement(muni, dialogue.id, {
            "title": "Beboerundersøgelse", "responsible_party": demo.organisations[0].id,
            "first_due": (date.today() + timedelta(days=30)).isoformat()})
        done = dialogue_service.add_meeting_agreement(muni, dialogue.id, {
            "title": "Vedligeholdelsesplan", "responsible_party": demo.organisations[0].id,
            "first_due": date.today().isoformat()})
    with unit_of_work():
        obligation_service.report_done(org, done.occurrences[0].id, comment="", evidence=[{"url": "https://a.dk/plan"}])
        obligation_service.verify(muni, done.occurrences[0].id)
    with unit_of_work():  # another organisation's obligation never shows here
        other = dialogue_service.open_dialogue(muni, demo.organisations[1].id, YEAR)
        dialogue_service.plan_meeting(muni, other.id, {"starts_at": f"{YEAR}-10-16 10:00"})
        dialogue_service.add_meeting_agreement(muni, other.id, {
            "title": "Andet selskabs aftale", "responsible_party": demo.organisations[1].id,
            "first_due": date.today().isoformat()})
    follow_up = next(i for i in dialogue_service.agenda(dialogue) if i.key == "opfoelgning").follow_up
    titles = [o.obligation.title for o in follow_up]
    deadline = "Dokumentationspakken for styringsår 2026 indsendes"
    assert sorted(titles) == sorted(["Plan for tomgang i Kildeparken", "Beboerundersøgelse", deadline])
    assert next(o for o in follow_up if o.obligation.id == overdue.id).is_overdue(date.today())
    assert done.occurrences[0].status is OccurrenceStatus.VERIFIED and upcoming.in_force


def test_overview_query_count_stays_constant_as_organisations_grow(app: Flask, demo: DemoData) -> None:
    muni = demo.user("laeser@fjordby.dk")

    def queries() -> int:
        count = 0
        db.session.expire_all()  # every measurement starts from a cold session

        def count_query(*_args: object) -> None:
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", count_query)
        try:
            rows = dialogue_service.overview(muni, YEAR)
        finally:
            event.remove(db.engine, "before_cursor_execute", count_query)
        assert len(rows) >= 6
        return count

    _dialogue(demo)
    before = queries()
    for _ in range(5):
        PartyFactory()
    assert queries() == before


def test_another_organisation_cannot_see_a_dialogue(app: Flask, client: FlaskClient, demo: DemoData) -> None:
    dialogue = _dialogue(demo)
    log_in(client, "admin@aabrinken.dk", demo.password)
    assert client.get(f"/styringsdialog/{dialogue.id}").status_code == 404
    assert client.post(f"/styringsdialog/{dialogue.id}/trin", data={"step": "package_received"}).status_code == 404
    overview = client.get(f"/styringsdialog?aar={YEAR}").get_data(as_text=True)
    assert demo.organisations[0].name not in overview and demo.organisations[1].name in overview


def test_publishing_step_publishes_the_minutes(app: Flask, demo: DemoData) -> None:
    dialogue = _dialogue(demo)
    muni, org = demo.user(MUNI_EDITOR), demo.user(ORG_EDITOR)
    with unit_of_work():
        dialogue_service.plan_meeting(muni, dialogue.id, {"starts_at": f"{YEAR}-10-15 10:00"})
        dialogue_service.take_step(muni, dialogue.id, DialogueStep.MEETING_HELD)
    with pytest.raises(InvalidInput):
        with unit_of_work():
            dialogue_service.take_step(muni, dialogue.id, DialogueStep.MINUTES_DRAFTED)
    minutes = _upload(demo, "referat", MUNI_EDITOR, title="Referat af styringsdialogen 2026")
    with unit_of_work():
        dialogue_service.attach_minutes(muni, dialogue.id, minutes.id)
        dialogue_service.take_step(muni, dialogue.id, DialogueStep.MINUTES_DRAFTED)
        dialogue_service.take_step(org, dialogue.id, DialogueStep.MINUTES_APPROVED)
        dialogue_service.take_step(muni, dialogue.id, DialogueStep.MINUTES_PUBLISHED)
    db.session.refresh(minutes)
    assert minutes.visibility.value == "public"
    assert "Referat af styringsdialogen 2026" in app.test_client().get("/offentlig/referater").get_data(as_text=True)


def test_meetings_appear_in_the_calendar_feed(app: Flask, demo: DemoData) -> None:
    from icalendar import Calendar

    dialogue = _dialogue(demo)
    with unit_of_work():
        dialogue_service.plan_meeting(demo.user(MUNI_EDITOR), dialogue.id, {"starts_at": f"{YEAR}-10-15 10:00",
                                                                            "location": "Rådhuset, mødelokale 2"})
        token = obligation_service.create_calendar_feed(demo.user(ORG_EDITOR), demo.user(ORG_EDITOR))
    events = Calendar.from_ical(app.test_client().get(f"/kalender/{token}.ics").data).walk("VEVENT")
    assert [str(e["location"]) for e in events] == ["Rådhuset, mødelokale 2"]
    assert str(events[0]["uid"]).startswith(f"styringsdialog-{dialogue.meeting.id}@")


def test_minutes_of_another_year_are_neither_offered_nor_attached(app: Flask, client: FlaskClient,
                                                                  demo: DemoData) -> None:
    dialogue = _dialogue(demo)
    muni = demo.user(MUNI_EDITOR)
    with unit_of_work():
        dialogue_service.plan_meeting(muni, dialogue.id, {"starts_at": f"{YEAR}-10-15 10:00"})
        last_year = document_service.upload_document(
            muni, demo.organisations[0].id,
            {"kind": "referat", "year": str(YEAR - 1), "title": "Referat af mødet i fjor"},
            io.BytesIO(make_pdf("Referat")), "referat.pdf", max_size=10**7)
    this_year = _upload(demo, "referat", MUNI_EDITOR, title="Referat af årets møde")
    log_in(client, MUNI_EDITOR, demo.password)
    page = client.get(f"/styringsdialog/{dialogue.id}").get_data(as_text=True)
    assert f"Referat af årets møde ({YEAR})" in page and "Referat af mødet i fjor" not in page

    refused = client.post(f"/styringsdialog/{dialogue.id}/referat", data={"document": str(last_year.id)})
    assert refused.status_code == 400
    assert f"Vælg et referat fra styringsår {YEAR}." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert dialogue.meeting.minutes_document_id is None

    attached = client.post(f"/styringsdialog/{dialogue.id}/referat", data={"document": str(this_year.id)})
    assert attached.status_code == 302
    db.session.expire_all()
    assert dialogue.meeting.minutes_document_id == this_year.id
