"""Obligations: who promised what by when, proved how, verified by whom; reminders and calendars.

Occurrences (one per due date) are created ahead up to HORIZON_DAYS, on creation and by the
worker's upkeep; overdue is computed from the due date and the status, never stored.
Workflow of an occurrence: open → (in_progress) → reported_done → verified; the verifying
party may reject (with a reason; the responsible party reports again) or waive (with a reason).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError

from portal import access
from portal.access import Actor, load, require
from portal.access import actor_user_id as _user_id
from portal.csvexport import write_csv
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.i18n import N_
from portal.mail import queue_mail
from portal.models import (
    Agreement,
    AgreementStatus,
    CalendarFeed,
    Dialogue,
    Document,
    Evidence,
    Meeting,
    Membership,
    Obligation,
    Occurrence,
    OccurrenceStatus,
    Party,
    ReminderSent,
    User,
)
from portal.models.base import utcnow as _now
from portal.recurrence import MONTHS, occurrences
from portal.services.audit import record_event
from portal.services.jobs import INDEX_OBLIGATION, enqueue
from portal.services.revisions import get_revision

HORIZON_DAYS = 400
OPEN_STATES = (OccurrenceStatus.OPEN, OccurrenceStatus.IN_PROGRESS, OccurrenceStatus.REJECTED)
STATUS_LABELS = {
    OccurrenceStatus.OPEN: N_("Åben"),
    OccurrenceStatus.IN_PROGRESS: N_("I gang"),
    OccurrenceStatus.REPORTED_DONE: N_("Meldt udført"),
    OccurrenceStatus.VERIFIED: N_("Godkendt"),
    OccurrenceStatus.REJECTED: N_("Afvist – skal meldes igen"),
    OccurrenceStatus.WAIVED: N_("Frafaldet"),
}
RECURRENCE_LABELS = {"none": N_("Én gang"), "monthly": N_("Hver måned"), "quarterly": N_("Hvert kvartal"),
                     "yearly": N_("Hvert år")}




# --- creating ---------------------------------------------------------------------------------

def _parse(data: dict[str, Any], allowed_parties: set[int]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    title = str(data.get("title", "")).strip()
    if not title:
        errors["title"] = "Beskriv forpligtelsen kort."
    try:
        responsible = int(data.get("responsible_party", 0))
        if responsible not in allowed_parties:
            raise ValueError
    except (TypeError, ValueError):
        errors["responsible_party"] = "Vælg den ansvarlige part blandt aftalens parter."
        responsible = 0
    try:
        first_due = date.fromisoformat(str(data.get("first_due", "")))
    except ValueError:
        errors["first_due"] = "Skriv fristen som ÅÅÅÅ-MM-DD."
        first_due = date.today()
    recurrence = str(data.get("recurrence", "none") or "none")
    if recurrence != "none" and recurrence not in MONTHS:
        errors["recurrence"] = "Vælg én gang, måned, kvartal eller år."
    ends_on = None
    if data.get("ends_on"):
        try:
            ends_on = date.fromisoformat(str(data["ends_on"]))
        except ValueError:
            errors["ends_on"] = "Skriv slutdatoen som ÅÅÅÅ-MM-DD."
    reminders = data.get("reminder_days", [14, 3])
    if isinstance(reminders, str):
        reminders = [r.strip() for r in reminders.split(",") if r.strip()]
    try:
        reminder_days = sorted({int(r) for r in reminders if 0 < int(r) <= 365}, reverse=True)
    except (TypeError, ValueError):
        errors["reminder_days"] = "Skriv antal dage før fristen, adskilt af komma (fx 14, 3)."
        reminder_days = []
    if errors:
        raise InvalidInput(fields=errors)
    return {"title": title[:300], "description": str(data.get("description", "")).strip(), "responsible": responsible,
            "first_due": first_due, "recurrence": recurrence, "ends_on": ends_on, "reminder_days": reminder_days,
            "verifying": data.get("verifying_party")}


def create_obligation(actor: Actor, agreement_id: int, section_id: str | None, data: dict[str, Any]) -> Obligation:
    """An obligation created by an agreement's section; it comes into force when the agreement is active."""
    agreement = load(actor, Agreement, agreement_id, "obligation:create")
    if section_id is not None and section_id not in get_revision(agreement).content["sections"]:
        raise InvalidInput(fields={"section": "Afsnittet findes ikke."})
    values = _parse(data, agreement.party_ids)
    verifying = _verifying_party(agreement.party_ids, values["responsible"], values["verifying"])
    obligation = Obligation(
        title=values["title"], description=values["description"], responsible_party_id=values["responsible"],
        verifying_party_id=verifying, agreement_id=agreement.id, section_id=section_id, first_due=values["first_due"],
        recurrence=values["recurrence"], ends_on=values["ends_on"], reminder_days=values["reminder_days"],
        in_force=agreement.status is AgreementStatus.ACTIVE, created_by_id=_user_id(actor))
    db.session.add(obligation)
    db.session.flush()
    if obligation.in_force:
        ensure_occurrences(obligation)
    enqueue(INDEX_OBLIGATION, obligation.id)
    record_event(actor, "obligation.create", "obligation", obligation.id, party_id=obligation.responsible_party_id,
                 after={"title": obligation.title, "agreement": agreement.id, "section": section_id})
    return obligation


def create_meeting_obligation(actor: Actor, meeting_id: int, party_ids: set[int], data: dict[str, Any]) -> Obligation:
    """An obligation agreed at a dialogue meeting (in force at once); the caller checked the meeting's permission."""
    values = _parse(data, party_ids)
    obligation = Obligation(
        title=values["title"], description=values["description"], responsible_party_id=values["responsible"],
        verifying_party_id=_verifying_party(party_ids, values["responsible"], values["verifying"]), meeting_id=meeting_id,
        first_due=values["first_due"], recurrence=values["recurrence"], ends_on=values["ends_on"],
        reminder_days=values["reminder_days"], in_force=True, created_by_id=_user_id(actor))
    db.session.add(obligation)
    db.session.flush()
    ensure_occurrences(obligation)
    enqueue(INDEX_OBLIGATION, obligation.id)
    record_event(actor, "obligation.create", "obligation", obligation.id, party_id=obligation.responsible_party_id,
                 after={"title": obligation.title, "meeting": meeting_id})
    return obligation


def _verifying_party(parties: set[int], responsible: int, chosen: Any) -> int:
    others = sorted(parties - {responsible})
    if chosen not in (None, ""):
        try:
            chosen_id = int(chosen)
        except (TypeError, ValueError):
            chosen_id = -1
        if chosen_id not in others:
            raise InvalidInput(fields={"verifying_party": "Vælg den part, der godkender, blandt de andre parter."})
        return chosen_id
    municipality = next((pid for pid in others if db.session.get(Party, pid).is_municipality), None)
    if municipality is not None:
        return municipality
    if len(others) == 1:
        return others[0]
    raise InvalidInput(fields={"verifying_party": "Vælg den part, der godkender opfyldelsen."})


def activate_for_agreement(agreement: Agreement) -> int:
    """Put the obligations of a newly active agreement in force; returns how many."""
    pending = list(db.session.scalars(select(Obligation).where(Obligation.agreement_id == agreement.id,
                                                               Obligation.in_force.is_(False))))
    for obligation in pending:
        obligation.in_force = True
        ensure_occurrences(obligation)
        enqueue(INDEX_OBLIGATION, obligation.id)
    return len(pending)


def ensure_occurrences(obligation: Obligation, today: date | None = None) -> int:
    """Create the occurrences due up to the horizon that do not exist yet; returns how many were added.
    The first occurrence always exists, however far ahead it falls due."""
    until = max((today or date.today()) + timedelta(days=HORIZON_DAYS), obligation.first_due)
    existing = {o.due_date for o in obligation.occurrences}
    added = 0
    for due in occurrences(obligation.first_due, obligation.recurrence, until=until, end=obligation.ends_on):
        if due not in existing:
            obligation.occurrences.append(Occurrence(due_date=due))
            added += 1
    return added


def extend_all(today: date | None = None) -> int:
    """The worker's upkeep: keep every recurring obligation's occurrences a horizon ahead."""
    added = 0
    for obligation in db.session.scalars(select(Obligation).where(Obligation.in_force.is_(True),
                                                                  Obligation.recurrence != "none")):
        added += ensure_occurrences(obligation, today)
    return added


# --- reading ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ObligationFilter:
    party_id: int | None = None
    agreement_id: int | None = None
    status: str | None = None  # an OccurrenceStatus value, or "overdue"
    due_from: date | None = None
    due_to: date | None = None


def list_occurrences(actor: Actor, filters: ObligationFilter, *, today: date | None = None,
                     limit: int = 1000) -> list[Occurrence]:
    today = today or date.today()
    stmt: Select[tuple[Occurrence]] = (select(Occurrence).join(Occurrence.obligation)
                                       .where(Obligation.in_force.is_(True), access.obligation_read_clause(actor))
                                       .order_by(Occurrence.due_date, Occurrence.id).limit(limit))
    if filters.party_id is not None:
        stmt = stmt.where(or_(Obligation.responsible_party_id == filters.party_id,
                              Obligation.verifying_party_id == filters.party_id))
    if filters.agreement_id is not None:
        stmt = stmt.where(Obligation.agreement_id == filters.agreement_id)
    if filters.status == "overdue":
        stmt = stmt.where(Occurrence.status.in_(OPEN_STATES), Occurrence.due_date < today)
    elif filters.status:
        stmt = stmt.where(Occurrence.status == OccurrenceStatus(filters.status))
    if filters.due_from is not None:
        stmt = stmt.where(Occurrence.due_date >= filters.due_from)
    if filters.due_to is not None:
        stmt = stmt.where(Occurrence.due_date <= filters.due_to)
    return list(db.session.scalars(stmt))


def my_overview(actor: Actor, *, today: date | None = None, soon_days: int = 30) -> dict[str, list[Occurrence]]:
    """"Mine forpligtelser": what the actor's parties must do soon, what is overdue, what awaits
    verification by them, and what was done lately."""
    today = today or date.today()
    base = (select(Occurrence).join(Occurrence.obligation).where(Obligation.in_force.is_(True))
            .order_by(Occurrence.due_date))
    mine = base.where(access.own_party_clause(actor, Obligation.responsible_party_id))
    return {
        "overdue": list(db.session.scalars(mine.where(Occurrence.status.in_(OPEN_STATES), Occurrence.due_date < today))),
        "due_soon": list(db.session.scalars(mine.where(Occurrence.status.in_(OPEN_STATES), Occurrence.due_date >= today,
                                                       Occurrence.due_date <= today + timedelta(days=soon_days)))),
        "later": list(db.session.scalars(mine.where(Occurrence.status.in_(OPEN_STATES),
                                                    Occurrence.due_date > today + timedelta(days=soon_days))
                                         .limit(200))),
        "awaiting_verification": list(db.session.scalars(base.where(
            access.own_party_clause(actor, Obligation.verifying_party_id), Occurrence.status == OccurrenceStatus.REPORTED_DONE))),
        "reported": list(db.session.scalars(mine.where(Occurrence.status == OccurrenceStatus.REPORTED_DONE))),
        "done": list(db.session.scalars(mine.where(Occurrence.status.in_([OccurrenceStatus.VERIFIED, OccurrenceStatus.WAIVED]),
                                                   Occurrence.changed_at >= _now() - timedelta(days=90)))),
    }


def open_for_party(party_id: int, *, today: date | None = None) -> list[Occurrence]:
    """Open and overdue occurrences of a party (the dialogue meeting's follow-up item)."""
    today = today or date.today()
    return list(db.session.scalars(select(Occurrence).join(Occurrence.obligation).where(
        Obligation.in_force.is_(True), Obligation.responsible_party_id == party_id,
        Occurrence.status.in_(OPEN_STATES), Occurrence.due_date <= today + timedelta(days=365))
        .order_by(Occurrence.due_date)))


def export_csv(occurrences_: list[Occurrence], today: date | None = None) -> str:
    today = today or date.today()
    return write_csv(
        ["forpligtelse", "ansvarlig", "godkender", "frist", "status", "overskredet", "aftale", "bemærkning"],
        ((occ.obligation.title, occ.obligation.responsible_party.name, occ.obligation.verifying_party.name,
          occ.due_date.isoformat(), occ.status.value, "ja" if occ.is_overdue(today) else "nej",
          occ.obligation.agreement_id or "", occ.status_note) for occ in occurrences_))


# --- workflow ----------------------------------------------------------------------------------

def _transition(actor: Actor, occurrence: Occurrence, to: OccurrenceStatus, note: str, allowed_from: tuple) -> None:
    if occurrence.status not in allowed_from:
        raise InvalidInput(f"Forpligtelsen kan ikke ændres fra »{occurrence.status.value}« til »{to.value}«.")
    before = occurrence.status.value
    occurrence.status, occurrence.status_note = to, note
    occurrence.changed_at, occurrence.changed_by_id = _now(), _user_id(actor)
    record_event(actor, f"obligation.{to.value}", "obligation", occurrence.obligation_id,
                 party_id=occurrence.obligation.responsible_party_id,
                 before={"occurrence": occurrence.id, "status": before},
                 after={"occurrence": occurrence.id, "status": to.value, "note": note})


def start(actor: Actor, occurrence_id: int) -> Occurrence:
    occurrence = load(actor, Occurrence, occurrence_id, "obligation:report")
    _transition(actor, occurrence, OccurrenceStatus.IN_PROGRESS, occurrence.status_note, OPEN_STATES)
    return occurrence


def add_evidence(actor: Actor, occurrence: Occurrence, *, document_id: int | None = None, page: int | None = None,
                 url: str | None = None, comment: str = "") -> Evidence:
    if document_id is not None:
        document = load(actor, Document, document_id, "document:read")  # the reporter must be able to read it
        if page is not None and (page < 1 or (document.current.page_count and page > document.current.page_count)):
            raise InvalidInput(fields={"page": "Siden findes ikke i dokumentet."})
    elif url:
        url = url.strip()
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. an unclosed [ where an IPv6 address would be
            parts = urlsplit("")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(fields={"url": "Linket skal begynde med https:// eller http://."})
        if len(url) > 2000:
            raise InvalidInput(fields={"url": "Linket må højst være på 2000 tegn."})
    else:
        raise InvalidInput(fields={"evidence": "Vedlæg et dokument eller et link som dokumentation."})
    evidence = Evidence(occurrence_id=occurrence.id, document_id=document_id, page=page, url=url or None,
                        comment=comment.strip(), added_by_id=_user_id(actor))
    occurrence.evidence.append(evidence)
    return evidence


def report_done(actor: Actor, occurrence_id: int, *, comment: str, evidence: list[dict[str, Any]]) -> Occurrence:
    """The responsible party reports the occurrence fulfilled, with at least one piece of evidence."""
    occurrence = load(actor, Occurrence, occurrence_id, "obligation:report")
    if not evidence and not occurrence.evidence:
        raise InvalidInput(fields={"evidence": "Vedlæg et dokument eller et link som dokumentation."})
    for item in evidence:
        add_evidence(actor, occurrence, **item)
    _transition(actor, occurrence, OccurrenceStatus.REPORTED_DONE, comment.strip(), OPEN_STATES)
    return occurrence


def verify(actor: Actor, occurrence_id: int) -> Occurrence:
    occurrence = load(actor, Occurrence, occurrence_id, "obligation:verify")
    _transition(actor, occurrence, OccurrenceStatus.VERIFIED, occurrence.status_note, (OccurrenceStatus.REPORTED_DONE,))
    return occurrence


def reject(actor: Actor, occurrence_id: int, reason: str) -> Occurrence:
    """Send a report back: the responsible party must report again."""
    if not reason.strip():
        raise InvalidInput(fields={"reason": "Skriv hvorfor opfyldelsen ikke godkendes."})
    occurrence = load(actor, Occurrence, occurrence_id, "obligation:verify")
    _transition(actor, occurrence, OccurrenceStatus.REJECTED, reason.strip(), (OccurrenceStatus.REPORTED_DONE,))
    return occurrence


def waive(actor: Actor, occurrence_id: int, reason: str) -> Occurrence:
    if not reason.strip():
        raise InvalidInput(fields={"reason": "Skriv hvorfor forpligtelsen frafaldes."})
    occurrence = load(actor, Occurrence, occurrence_id, "obligation:verify")
    _transition(actor, occurrence, OccurrenceStatus.WAIVED, reason.strip(), (*OPEN_STATES, OccurrenceStatus.REPORTED_DONE))
    return occurrence


# --- reminders ----------------------------------------------------------------------------------

def reminder_step(occurrence: Occurrence, today: date) -> str | None:
    """Which reminder is due today: N days before (the nearest configured step already reached),
    on the due date, and weekly while overdue. None when nothing is due."""
    if occurrence.status not in OPEN_STATES or not occurrence.obligation.in_force:
        return None
    due = occurrence.due_date
    if today > due:
        year, week, _ = today.isocalendar()
        return f"overdue-{year}-W{week:02d}"
    if today == due:
        return "due"
    reached = [n for n in occurrence.obligation.reminder_days if due - timedelta(days=n) <= today]
    return f"before-{min(reached)}" if reached else None


def _recipients(obligation: Obligation) -> list[str]:
    editors = db.session.scalars(select(User.email).join(Membership).where(
        access.members_who_may_clause(obligation.responsible_party_id, "obligation:report"), User.active.is_(True)))
    emails = set(editors)
    if obligation.responsible_user is not None and obligation.responsible_user.active:
        emails.add(obligation.responsible_user.email)
    return sorted(emails)


def _reminder_text(occurrence: Occurrence, step: str, base_url: str) -> tuple[str, str]:
    ob = occurrence.obligation
    when = occurrence.due_date.strftime("%d-%m-%Y")
    if step.startswith("overdue"):
        subject = f"Overskredet frist: {ob.title}"
        lead = f"Fristen {when} er overskredet, og forpligtelsen er endnu ikke meldt udført."
    elif step == "due":
        subject = f"Frist i dag: {ob.title}"
        lead = f"Fristen for forpligtelsen er i dag, {when}."
    else:
        subject = f"Påmindelse: {ob.title} (frist {when})"
        lead = f"Fristen for forpligtelsen er {when}."
    body = (f"{lead}\n\nForpligtelse: {ob.title}\nAnsvarlig: {ob.responsible_party.name}\n"
            f"Godkendes af: {ob.verifying_party.name}\n\n"
            f"Meld den udført med dokumentation her:\n{base_url}/forpligtelser/{occurrence.id}\n")
    return subject, body


def queue_reminders(today: date, *, base_url: str) -> int:
    """Queue today's reminders; each (occurrence, step) at most once, ever, whatever restarts.

    The reminder row and its messages are written in one savepoint; a unique key on
    (occurrence, step) makes a second run, or a second worker, skip what was queued.
    """
    from portal.uow import unit_of_work

    candidates = db.session.scalars(select(Occurrence).join(Occurrence.obligation).where(
        Obligation.in_force.is_(True), Occurrence.status.in_(OPEN_STATES),
        Occurrence.due_date <= today + timedelta(days=366)))
    queued = 0
    for occurrence in list(candidates):
        step = reminder_step(occurrence, today)
        if step is None:
            continue
        if db.session.scalar(select(ReminderSent.id).where(ReminderSent.occurrence_id == occurrence.id,
                                                           ReminderSent.step == step)) is not None:
            continue
        recipients = _recipients(occurrence.obligation)
        subject, body = _reminder_text(occurrence, step, base_url)
        try:
            with unit_of_work(), db.session.begin_nested():
                db.session.add(ReminderSent(occurrence_id=occurrence.id, step=step, recipients=recipients))
                for email in recipients:
                    queue_mail(to=email, subject=subject, body=body)
                db.session.flush()
        except IntegrityError:
            continue  # another worker queued this step first
        queued += 1
    return queued


# --- calendar -----------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_calendar_feed(actor: Actor, user: User) -> str:
    """A new secret iCal address token for `user`; earlier ones stop working."""
    require(actor, "profile:update", user)
    revoke_calendar_feeds(actor, user)
    token = secrets.token_urlsafe(32)
    db.session.add(CalendarFeed(user_id=user.id, token_hash=_token_hash(token)))
    record_event(actor, "calendar.create", "user", user.id)
    return token


def revoke_calendar_feeds(actor: Actor, user: User) -> None:
    require(actor, "profile:update", user)
    for feed in db.session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == user.id,
                                                              CalendarFeed.revoked_at.is_(None))):
        feed.revoked_at = _now()


def has_calendar_feed(user: User) -> bool:
    return db.session.scalar(select(CalendarFeed.id).where(CalendarFeed.user_id == user.id,
                                                           CalendarFeed.revoked_at.is_(None))) is not None


def user_for_calendar(token: str) -> User:
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _token_hash(token),
                                                        CalendarFeed.revoked_at.is_(None)))
    if feed is None:
        raise NotFound()
    user = db.session.get(User, feed.user_id)
    if user is None or not user.active:
        raise NotFound()
    return user


def calendar_ics(user: User, *, base_url: str, today: date | None = None) -> bytes:
    """The user's obligations as VTODOs (stable UIDs, DUE, STATUS, alarms at the reminder offsets)
    and the dialogue meetings of the user's parties as VEVENTs."""
    from icalendar import Alarm, Calendar, Event, Todo

    today = today or date.today()
    calendar = Calendar()
    calendar.add("prodid", "-//Aftaleportalen//DA")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Aftaleportalen – forpligtelser")
    status_map = {OccurrenceStatus.VERIFIED: "COMPLETED", OccurrenceStatus.WAIVED: "CANCELLED",
                  OccurrenceStatus.REPORTED_DONE: "IN-PROCESS", OccurrenceStatus.IN_PROGRESS: "IN-PROCESS"}
    items = list_occurrences(user, ObligationFilter(due_from=today - timedelta(days=365)), today=today)
    host = urlsplit(base_url).hostname or "aftaleportalen"
    for occ in items:
        ob = occ.obligation
        todo = Todo()
        todo.add("uid", f"forpligtelse-{occ.id}@{host}")
        todo.add("summary", ob.title)
        todo.add("description", f"Ansvarlig: {ob.responsible_party.name}. Godkendes af: {ob.verifying_party.name}.")
        todo.add("due", occ.due_date)
        todo.add("dtstamp", occ.changed_at)
        todo.add("status", status_map.get(occ.status, "NEEDS-ACTION"))
        todo.add("url", f"{base_url}/forpligtelser/{occ.id}")
        for days in ob.reminder_days:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", ob.title)
            alarm.add("trigger", timedelta(days=-days))
            todo.add_component(alarm)
        calendar.add_component(todo)
    for meeting, dialogue in _visible_meetings(user):
        event = Event()
        event.add("uid", f"styringsdialog-{meeting.id}@{host}")
        event.add("summary", f"Styringsdialogmøde {dialogue.year}: {dialogue.party.name}")
        event.add("dtstart", meeting.starts_at)
        event.add("dtend", meeting.starts_at + timedelta(hours=2))
        event.add("dtstamp", dialogue.created_at)
        if meeting.location:
            event.add("location", meeting.location)
        event.add("url", f"{base_url}/styringsdialog/{dialogue.id}")
        calendar.add_component(event)
    return calendar.to_ical()


def _visible_meetings(user: User) -> list[tuple[Meeting, Dialogue]]:
    stmt = (select(Meeting, Dialogue).join(Dialogue, Meeting.dialogue_id == Dialogue.id)
            .where(access.dialogue_read_clause(user)).order_by(Meeting.starts_at))
    return [(meeting, dialogue) for meeting, dialogue in db.session.execute(stmt)]
