"""Obligations: occurrences, the report → verify workflow, access, reminders once, the calendar feed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.access import SYSTEM, load
from portal.errors import Forbidden
from portal.extensions import db
from portal.models import Agreement, MailLog, Occurrence, OccurrenceStatus, ReminderSent
from portal.services import agreements as agreement_service
from portal.services import obligations as obligation_service
from portal.uow import unit_of_work
from tests.factories import DemoData

MUNI_EDITOR = "redaktoer@fjordby.dk"
ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"
OUTSIDER = "admin@aabrinken.dk"


def _active_agreement(demo: DemoData) -> int:
    with unit_of_work():
        agreement = agreement_service.create_agreement(SYSTEM, {"title": "Udlejningsaftale", "type": "individuel",
                                                                "organisations": [demo.organisations[0].id]})
    return agreement.id


def _approve_all(agreement_id: int, demo: DemoData) -> None:
    for email in ("underskriver@fjordby.dk", "underskriver@fjordby-boligselskab.dk"):
        with unit_of_work():
            agreement_service.approve(demo.user(email), agreement_id, 1)


def _quarterly(demo: DemoData, agreement_id: int, first_due: date):  # type: ignore[no-untyped-def]
    with unit_of_work():
        return obligation_service.create_obligation(demo.user(MUNI_EDITOR), agreement_id, None, {
            "title": "Indberet boliger tilbudt kommunal anvisning", "responsible_party": demo.organisations[0].id,
            "first_due": first_due.isoformat(), "recurrence": "quarterly", "reminder_days": "14, 3"})


def test_agreement_obligations_come_into_force_when_the_agreement_is_active(app: Flask, demo: DemoData) -> None:
    agreement_id = _active_agreement(demo)
    obligation = _quarterly(demo, agreement_id, date.today() + timedelta(days=10))
    assert not obligation.in_force and obligation.occurrences == []
    assert obligation.verifying_party_id == demo.municipality.id
    _approve_all(agreement_id, demo)
    db.session.refresh(obligation)
    assert obligation.in_force and len(obligation.occurrences) >= 4  # a year and more of quarters ahead


def test_report_with_evidence_then_verify_or_reject(app: Flask, demo: DemoData) -> None:
    agreement_id = _active_agreement(demo)
    _approve_all(agreement_id, demo)
    obligation = _quarterly(demo, agreement_id, date.today() - timedelta(days=1))
    occurrence = obligation.occurrences[0]
    assert occurrence.is_overdue(date.today())
    org, muni = demo.user(ORG_EDITOR), demo.user(MUNI_EDITOR)
    with pytest.raises(Exception, match="dokumentation|Oplysningerne"):
        with unit_of_work():
            obligation_service.report_done(org, occurrence.id, comment="Klaret", evidence=[])
    with pytest.raises(Exception) as wrong_party:
        with unit_of_work():
            obligation_service.report_done(muni, occurrence.id, comment="", evidence=[{"url": "https://x.dk/a"}])
    assert wrong_party.value.__class__.__name__ == "Forbidden"
    with unit_of_work():
        obligation_service.report_done(org, occurrence.id, comment="Indberetning for kvartalet",
                                       evidence=[{"url": "https://fjordby.dk/indberetning.pdf"}])
    assert occurrence.status is OccurrenceStatus.REPORTED_DONE and not occurrence.is_overdue(date.today())
    with unit_of_work():
        obligation_service.reject(muni, occurrence.id, "Tallene for afdeling 102 mangler.")
    assert occurrence.status is OccurrenceStatus.REJECTED and occurrence.is_overdue(date.today())
    with unit_of_work():
        obligation_service.report_done(org, occurrence.id, comment="Nu med afdeling 102", evidence=[
            {"url": "https://fjordby.dk/indberetning-v2.pdf"}])
        obligation_service.verify(muni, occurrence.id)
    assert occurrence.status is OccurrenceStatus.VERIFIED and len(occurrence.evidence) == 2
    from portal.services.audit import list_events

    history = [e.action for e in reversed(list_events(object_type="obligation", object_id=obligation.id))]
    assert history == ["obligation.create", "obligation.reported_done", "obligation.rejected",
                       "obligation.reported_done", "obligation.verified"]


def test_another_organisation_cannot_see_or_change_an_obligation(app: Flask, demo: DemoData) -> None:
    agreement_id = _active_agreement(demo)
    _approve_all(agreement_id, demo)
    occurrence = _quarterly(demo, agreement_id, date.today()).occurrences[0]
    outsider = demo.user(OUTSIDER)
    for action in (lambda: load(outsider, Occurrence, occurrence.id, "obligation:read"),
                   lambda: obligation_service.report_done(outsider, occurrence.id, comment="", evidence=[{"url": "https://a.dk"}]),
                   lambda: obligation_service.verify(outsider, occurrence.id)):
        with pytest.raises(Exception) as refused:
            with unit_of_work():
                action()
        assert refused.value.__class__.__name__ == "NotFound"
    assert obligation_service.list_occurrences(outsider, obligation_service.ObligationFilter()) == []
    assert len(obligation_service.list_occurrences(demo.user("laeser@fjordby.dk"), obligation_service.ObligationFilter())) > 0


def test_evidence_at_a_page_of_a_document_the_reporter_can_read(app: Flask, demo: DemoData) -> None:
    import io

    from portal.services import documents as document_service
    from tests.documents_helpers import make_pdf

    agreement_id = _active_agreement(demo)
    _approve_all(agreement_id, demo)
    occurrence = _quarterly(demo, agreement_id, date.today()).occurrences[0]
    org = demo.user(ORG_EDITOR)
    with unit_of_work():
        document = document_service.upload_document(org, demo.organisations[0].id, {"kind": "bilag", "year": "2025"},
                                                    io.BytesIO(make_pdf("Bilag", pages=3)), "bilag.pdf", max_size=10**7)
        obligation_service.report_done(org, occurrence.id, comment="", evidence=[{"document_id": document.id, "page": 2}])
    evidence = occurrence.evidence[0]
    assert (evidence.document_id, evidence.page) == (document.id, 2)


# --- reminders against a real SMTP server --------------------------------------------------------

@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list = []

    class Collect(Message):
        def handle_message(self, message) -> None:  # type: ignore[no-untyped-def]
            received.append(message)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", received
    controller.stop()


def test_reminders_go_out_once_per_step_also_across_a_restart(app: Flask, demo: DemoData, smtp_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    smtp_url, received = smtp_server
    settings = app.config["PORTAL"]
    settings.smtp_url = smtp_url
    agreement_id = _active_agreement(demo)
    _approve_all(agreement_id, demo)
    due = date(2026, 3, 31)
    with unit_of_work():
        obligation_service.create_obligation(demo.user(MUNI_EDITOR), agreement_id, None, {
            "title": "Vedligeholdelsesplan for afdeling 102", "responsible_party": demo.organisations[0].id,
            "first_due": due.isoformat(), "recurrence": "none", "reminder_days": "14, 3"})
    from portal.mail import deliver_pending

    def run(day: date) -> int:
        queued = obligation_service.queue_reminders(day, base_url=settings.base_url)
        deliver_pending(settings)
        return queued

    editors = 3  # admin, editor, signatory of the organisation
    assert run(due - timedelta(days=20)) == 0
    assert run(due - timedelta(days=14)) == 1 and len(received) == editors
    assert run(due - timedelta(days=14)) == 0 and run(due - timedelta(days=10)) == 0  # same step: never twice
    assert run(due - timedelta(days=3)) == 1
    assert run(due) == 1
    assert run(due + timedelta(days=1)) == 1 and run(due + timedelta(days=2)) == 0  # overdue: weekly
    assert run(due + timedelta(days=8)) == 1
    assert len(received) == 5 * editors
    from email.header import decode_header, make_header

    subject = str(make_header(decode_header(received[0]["Subject"])))
    assert subject.startswith("Påmindelse: Vedligeholdelsesplan") and "(frist 31-03-2026)" in subject

    # A restart: a new process on the same database sends nothing already sent, and the next step once.
    env = dict(os.environ, PORTAL_DATABASE_URL=settings.database_url, PORTAL_INSTANCE_DIR=str(tmp_path),
               PORTAL_SECRET_KEY="x", PORTAL_SMTP_URL=smtp_url)
    portal = Path(sys.executable).parent / "portal"
    for day, expected in (((due + timedelta(days=8)).isoformat(), "0 reminder"), ((due + timedelta(days=15)).isoformat(), "1 reminder")):
        result = subprocess.run([str(portal), "reminders", "send", "--today", day], env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0 and expected in result.stdout, result.stdout + result.stderr
    assert len(received) == 6 * editors
    assert db.session.scalar(select(func.count()).select_from(ReminderSent)) == 6
    assert db.session.scalar(select(func.count()).where(MailLog.delivered.is_(False))) == 0


def test_without_smtp_reminders_are_kept_in_the_mail_log(app: Flask, demo: DemoData) -> None:
    agreement_id = _active_agreement(demo)
    _approve_all(agreement_id, demo)
    _quarterly(demo, agreement_id, date.today())
    assert obligation_service.queue_reminders(date.today(), base_url="http://x") == 1
    messages = list(db.session.scalars(select(MailLog)))
    assert messages and not any(m.delivered for m in messages)
    assert "Frist i dag" in messages[0].subject


# --- calendar ---------------------------------------------------------------------------------

def test_calendar_feed_parses_and_a_revoked_address_answers_404(app: Flask, demo: DemoData) -> None:
    from icalendar import Calendar

    agreement_id = _active_agreement(demo)
    _approve_all(agreement_id, demo)
    obligation = _quarterly(demo, agreement_id, date.today() + timedelta(days=5))
    editor = demo.user(ORG_EDITOR)
    with unit_of_work():
        token = obligation_service.create_calendar_feed(editor, editor)
    client = app.test_client()
    response = client.get(f"/kalender/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    todos = Calendar.from_ical(response.data).walk("VTODO")
    assert len(todos) == len(obligation.occurrences)
    first = todos[0]
    assert str(first["uid"]) == f"forpligtelse-{obligation.occurrences[0].id}@127.0.0.1"
    assert first.decoded("due") == obligation.occurrences[0].due_date and str(first["status"]) == "NEEDS-ACTION"
    assert len(first.walk("VALARM")) == 2
    assert client.get(f"/kalender/{token}.ics").data == response.data  # stable
    with unit_of_work():
        obligation_service.revoke_calendar_feeds(editor, editor)
    assert client.get(f"/kalender/{token}.ics").status_code == 404
    assert client.get("/kalender/gaet-et-token.ics").status_code == 404


def test_allocation_log_compares_offers_with_the_agreed_share_and_flags_shortfalls(app: Flask, demo: DemoData) -> None:
    from portal.services import allocation as allocation_service

    agreement_id = _active_agreement(demo)
    org = demo.organisations[0]
    first, second = org.departments[0], org.departments[1]
    agreement = load(SYSTEM, Agreement, agreement_id, "agreement:read")
    revision = agreement_service.get_revision(agreement)
    trappe = next(sid for sid in revision.content["order"] if revision.content["sections"][sid]["kind"] == "trappemodel")
    with unit_of_work():  # department 2 is on a higher step in 2026: 50 % instead of the general 25 %
        agreement_service.update_agreement(demo.user(MUNI_EDITOR), agreement_id, {trappe: {"data": {"steps": [
            {"department": second.id, "year": 2026, "step": 3, "share_percent": 50, "criteria": "Beskæftigelse"}]}}},
            base_revision=1)
    editor = demo.user(ORG_EDITOR)
    with unit_of_work():
        allocation_service.record(editor, agreement_id, {"department": first.id, "year": 2026, "quarter": 1,
                                                         "vacant": 8, "offered": 2, "taken": 2})
        allocation_service.record(editor, agreement_id, {"department": second.id, "year": 2026, "quarter": 1,
                                                         "vacant": 8, "offered": 3, "taken": 1})
    rows = {(r.department.id, r.quarter): r for r in allocation_service.overview(editor, agreement_id, 2026)}
    assert rows[(first.id, 1)].share_percent == 25 and rows[(first.id, 1)].expected == 2 and not rows[(first.id, 1)].shortfall
    assert rows[(second.id, 1)].share_percent == 50 and rows[(second.id, 1)].step == 3
    assert rows[(second.id, 1)].expected == 4 and rows[(second.id, 1)].shortfall
    with pytest.raises(Exception, match="Oplysningerne"):
        with unit_of_work():
            allocation_service.record(editor, agreement_id, {"department": first.id, "year": 2026, "quarter": 2,
                                                             "vacant": 1, "offered": 3, "taken": 0})
    with pytest.raises(Forbidden):
        with unit_of_work():  # the municipality does not report the organisation's figures
            allocation_service.record(demo.user(MUNI_EDITOR), agreement_id, {
                "department": first.id, "year": 2026, "quarter": 2, "vacant": 1, "offered": 1, "taken": 0})


def test_obligations_are_searchable_by_their_parties_only(app: Flask, demo: DemoData) -> None:
    from indexer.maintenance import compare
    from portal import access
    from portal.backends import search_index
    from portal.search import SearchQuery
    from tests.indexing_helpers import drain

    agreement_id = _active_agreement(demo)
    _approve_all(agreement_id, demo)
    with unit_of_work():
        obligation_service.create_obligation(demo.user(MUNI_EDITOR), agreement_id, None, {
            "title": "Helhedsplan for Kildeparken", "responsible_party": demo.organisations[0].id,
            "first_due": "2026-06-01"})
    drain()

    def hits(email: str) -> int:
        return search_index().search(SearchQuery(text="helhedsplan", readers=access.search_filter(demo.user(email)))).total

    assert hits(ORG_EDITOR) == 1 and hits("laeser@fjordby.dk") == 1 and hits(OUTSIDER) == 0
    assert not compare().any


def test_an_obligation_due_years_ahead_has_its_occurrence(app: Flask, demo: DemoData) -> None:
    agreement_id = _active_agreement(demo)
    _approve_all(agreement_id, demo)
    far = date.today() + timedelta(days=3 * 365)
    with unit_of_work():
        obligation = obligation_service.create_obligation(demo.user(MUNI_EDITOR), agreement_id, None, {
            "title": "Helhedsplan evalueres", "responsible_party": demo.organisations[0].id,
            "first_due": far.isoformat()})
    assert [o.due_date for o in obligation.occurrences] == [far]
