"""The styringsdialog year: each organisation's steps from documentation package to published
minutes, the package checklist, the meeting with its standard agenda, and the municipality's
overview of every organisation.

The checklist is computed from the documents uploaded for the organisation and year, so it
ticks itself and can never disagree with the archive. Steps move forward freely; going back
needs a note saying why. Deadlines are the municipality's (a day of the styringsår per step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from portal import access
from portal.access import Actor, load, require
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.i18n import N_
from portal.models import (
    STEP_ORDER,
    Dialogue,
    DialogueDeadline,
    DialogueEvent,
    DialogueStep,
    Document,
    DocumentKind,
    Meeting,
    Obligation,
    Occurrence,
    Party,
    PartyKind,
    User,
)
from portal.services import obligations as obligation_service
from portal.services.audit import record_event
from portal.services.documents import publish_document
from portal.services.jobs import INDEX_OBLIGATION, enqueue
from portal.services.parties import get_municipality

STEP_LABELS = {
    DialogueStep.NOT_STARTED: N_("Ikke begyndt"),
    DialogueStep.PACKAGE_RECEIVED: N_("Dokumentationspakke modtaget"),
    DialogueStep.PACKAGE_RETURNED: N_("Pakke sendt retur til rettelse"),
    DialogueStep.PACKAGE_ACCEPTED: N_("Pakke godkendt"),
    DialogueStep.MEETING_PLANNED: N_("Møde planlagt"),
    DialogueStep.MEETING_HELD: N_("Møde afholdt"),
    DialogueStep.MINUTES_DRAFTED: N_("Referat udarbejdet"),
    DialogueStep.MINUTES_APPROVED: N_("Referat godkendt af organisationen"),
    DialogueStep.MINUTES_PUBLISHED: N_("Referat offentliggjort"),
}
PACKAGE_KINDS = [DocumentKind.STYRINGSRAPPORT, DocumentKind.AFDELINGSSKEMA, DocumentKind.REGNSKAB,
                 DocumentKind.REGNSKABSSPOERGESKEMA, DocumentKind.AARSBERETNING, DocumentKind.REVISIONSPROTOKOL]
STANDARD_AGENDA = [
    ("regnskab", N_("Regnskab og nøgletal")),
    ("vedligehold", N_("Vedligeholdelse og fysisk tilstand")),
    ("beboere", N_("Beboersammensætning og boligsocial indsats")),
    ("administration", N_("Administration")),
    ("byggeri", N_("Renovering og nybyggeri")),
    ("opfoelgning", N_("Opfølgning på sidste års aftaler")),
    ("nye_aftaler", N_("Nye aftaler")),
]
# The overview's columns: the main path (returned for correction shows as a mark on "received").
OVERVIEW_STEPS = [s for s in STEP_ORDER if s not in (DialogueStep.NOT_STARTED, DialogueStep.PACKAGE_RETURNED)]


def _index(step: DialogueStep) -> int:
    return STEP_ORDER.index(step)


# --- loading and creating ------------------------------------------------------------------------

def find_dialogue(party_id: int, year: int) -> Dialogue | None:
    return db.session.scalar(select(Dialogue).where(Dialogue.party_id == party_id, Dialogue.year == year))


def open_dialogue(actor: Actor, party_id: int, year: int) -> Dialogue:
    """The organisation's dialogue for `year`, created by the municipality when it does not exist yet."""
    party = db.session.get(Party, party_id)
    if party is None or party.kind is not PartyKind.ORGANISATION:
        raise NotFound()
    require(actor, "party:read", party)
    existing = find_dialogue(party_id, year)
    if existing is not None:
        return existing
    require(actor, "dialogue:create", party)
    dialogue = Dialogue(party_id=party.id, year=year)
    db.session.add(dialogue)
    db.session.flush()
    _create_deadline_obligations(actor, dialogue)
    record_event(actor, "dialogue.create", "dialogue", dialogue.id, party_id=party.id, after={"year": year})
    return dialogue


# --- the checklist ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChecklistItem:
    kind: DocumentKind
    documents: list[Document]

    @property
    def done(self) -> bool:
        return bool(self.documents)


def checklist(actor: Actor, dialogue: Dialogue) -> list[ChecklistItem]:
    """The package's documents for the organisation and year that `actor` may read, by kind; ticked
    when one exists (a document kept to the organisation itself has not been handed in)."""
    documents = list(db.session.scalars(select(Document).where(
        Document.party_id == dialogue.party_id, Document.year == dialogue.year, access.document_live_clause(actor),
        Document.kind.in_(PACKAGE_KINDS)).order_by(Document.id)))
    return [ChecklistItem(kind, [d for d in documents if d.kind is kind]) for kind in PACKAGE_KINDS]


def referat_choices(actor: Actor, dialogue: Dialogue) -> list[Document]:
    """The organisation's minutes for the year that `actor` may read: the options for the meeting's referat."""
    return list(db.session.scalars(select(Document).where(
        Document.party_id == dialogue.party_id, Document.kind == DocumentKind.REFERAT, Document.year == dialogue.year,
        access.document_live_clause(actor)).order_by(Document.id.desc())))


def meeting_minutes(actor: Actor, dialogue: Dialogue) -> Document | None:
    """The meeting's referat, if `actor` may read it (its owner may have narrowed it since)."""
    if dialogue.meeting is None or dialogue.meeting.minutes_document_id is None:
        return None
    document = db.session.get(Document, dialogue.meeting.minutes_document_id)
    return document if access.can(actor, "document:read", document) else None


# --- steps --------------------------------------------------------------------------------------

def take_step(actor: Actor, dialogue_id: int, step: DialogueStep | str, *, on: date | None = None,
              note: str = "") -> DialogueEvent:
    """Record that `step` was reached on `on`. Going back to an earlier step needs a note."""
    dialogue = load(actor, Dialogue, dialogue_id, "dialogue:read")
    try:
        step = DialogueStep(step)
    except ValueError as exc:
        raise InvalidInput(fields={"step": "Ukendt trin."}) from exc
    if step is DialogueStep.NOT_STARTED:
        raise InvalidInput(fields={"step": "Vælg et trin."})
    require(actor, f"dialogue:{step.value}", dialogue)
    note = note.strip()
    backwards = _index(step) < _index(dialogue.step) or (
        step is DialogueStep.PACKAGE_RETURNED and _index(dialogue.step) > _index(DialogueStep.PACKAGE_ACCEPTED))
    if backwards and not note:
        raise InvalidInput(fields={"note": "Skriv hvorfor dialogen går et trin tilbage."})
    meeting = dialogue.meeting
    if step in (DialogueStep.MEETING_PLANNED, DialogueStep.MEETING_HELD) and meeting is None:
        raise InvalidInput(fields={"step": "Planlæg mødet (dato og sted) først."})
    if _index(step) >= _index(DialogueStep.MINUTES_DRAFTED) and (meeting is None or meeting.minutes_document_id is None):
        raise InvalidInput(fields={"step": "Vedhæft referatet af mødet først."})
    if step is DialogueStep.MINUTES_PUBLISHED:
        assert meeting is not None and meeting.minutes_document_id is not None
        publish_document(actor, meeting.minutes_document_id)
    before = dialogue.step
    dialogue.step = step
    event = DialogueEvent(dialogue=dialogue, step=step, on=on or date.today(), note=note,
                          actor_id=actor.id if isinstance(actor, User) else None)
    db.session.add(event)
    _settle_deadline_obligations(actor, dialogue)
    record_event(actor, "dialogue.step", "dialogue", dialogue.id, party_id=dialogue.party_id,
                 before={"step": before.value}, after={"step": step.value, "on": event.on.isoformat(), "note": note})
    return event


def next_step(dialogue: Dialogue) -> DialogueStep | None:
    """The step most likely registered next: onwards along the main path; a returned package is
    received again."""
    if dialogue.step is DialogueStep.PACKAGE_RETURNED:
        return DialogueStep.PACKAGE_RECEIVED
    return next((s for s in OVERVIEW_STEPS if _index(s) > _index(dialogue.step)), None)


# --- the meeting ---------------------------------------------------------------------------------

def plan_meeting(actor: Actor, dialogue_id: int, data: dict[str, Any]) -> Meeting:
    dialogue = load(actor, Dialogue, dialogue_id, "dialogue:manage")
    try:
        starts_at = datetime.fromisoformat(str(data.get("starts_at", "")))
    except ValueError as exc:
        raise InvalidInput(fields={"starts_at": "Skriv mødetidspunktet som ÅÅÅÅ-MM-DD TT:MM."}) from exc
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=UTC)
    meeting = dialogue.meeting
    if meeting is None:
        meeting = Meeting(dialogue=dialogue, starts_at=starts_at,
                          agenda=[{"key": key, "heading": heading, "notes": ""} for key, heading in STANDARD_AGENDA])
        db.session.add(meeting)
    meeting.starts_at = starts_at
    meeting.location = str(data.get("location", "")).strip()[:300]
    meeting.participants = str(data.get("participants", "")).strip()
    db.session.flush()
    if _index(dialogue.step) < _index(DialogueStep.MEETING_PLANNED):
        take_step(actor, dialogue.id, DialogueStep.MEETING_PLANNED, on=date.today())
    record_event(actor, "meeting.plan", "dialogue", dialogue.id, party_id=dialogue.party_id,
                 after={"starts_at": starts_at.isoformat(), "location": meeting.location})
    return meeting


def update_agenda(actor: Actor, dialogue_id: int, notes: dict[str, str]) -> Meeting:
    dialogue = load(actor, Dialogue, dialogue_id, "dialogue:manage")
    if dialogue.meeting is None:
        raise InvalidInput("Planlæg mødet først.")
    agenda = [dict(item, notes=str(notes.get(item["key"], item["notes"]))) for item in dialogue.meeting.agenda]
    dialogue.meeting.agenda = agenda
    record_event(actor, "meeting.agenda", "dialogue", dialogue.id, party_id=dialogue.party_id)
    return dialogue.meeting


def attach_minutes(actor: Actor, dialogue_id: int, document_id: int) -> Meeting:
    """Attach the organisation's referat for the year as the meeting's minutes."""
    dialogue = load(actor, Dialogue, dialogue_id, "dialogue:manage")
    if dialogue.meeting is None:
        raise InvalidInput("Planlæg mødet først.")
    document = db.session.get(Document, document_id)
    if (document is None or not access.can(actor, "document:read", document) or document.party_id != dialogue.party_id
            or document.kind is not DocumentKind.REFERAT or document.deleted_at is not None):
        raise InvalidInput(fields={"document": "Vælg et referat, der tilhører organisationen."})
    # The public archive files minutes under the document's year, so another year's referat
    # would be published as the wrong year's minutes.
    if document.year != dialogue.year:
        raise InvalidInput(fields={"document": f"Vælg et referat fra styringsår {dialogue.year}."})
    dialogue.meeting.minutes_document_id = document.id
    record_event(actor, "meeting.minutes", "dialogue", dialogue.id, party_id=dialogue.party_id,
                 after={"document": document.id})
    return dialogue.meeting


def add_meeting_agreement(actor: Actor, dialogue_id: int, data: dict[str, Any]) -> Obligation:
    """An agreement made at the meeting becomes an obligation of the organisation or the municipality."""
    dialogue = load(actor, Dialogue, dialogue_id, "dialogue:manage")
    if dialogue.meeting is None:
        raise InvalidInput("Planlæg mødet først.")
    municipality = get_municipality()
    return obligation_service.create_meeting_obligation(actor, dialogue.meeting.id, {dialogue.party_id, municipality.id},
                                                        data)


def meeting_obligations(dialogue: Dialogue) -> list[Obligation]:
    if dialogue.meeting is None:
        return []
    return list(db.session.scalars(select(Obligation).where(Obligation.meeting_id == dialogue.meeting.id)
                                   .order_by(Obligation.id)))


@dataclass
class AgendaItem:
    key: str
    heading: str
    notes: str
    follow_up: list[Occurrence] = field(default_factory=list)
    critical: list[Any] = field(default_factory=list)


def agenda(dialogue: Dialogue, *, today: date | None = None) -> list[AgendaItem]:
    """The agenda with what the portal knows: open obligations under follow-up, critical key
    figures under the accounts."""
    from portal.services.keyfigures import critical_for_party

    if dialogue.meeting is None:
        return []
    items = [AgendaItem(i["key"], i["heading"], i.get("notes", "")) for i in dialogue.meeting.agenda]
    for item in items:
        if item.key == "opfoelgning":
            item.follow_up = obligation_service.open_for_party(dialogue.party_id, today=today)
        if item.key == "regnskab":
            item.critical = critical_for_party(dialogue.party_id, dialogue.year)
    return items


# --- deadlines ----------------------------------------------------------------------------------

DEFAULT_DEADLINES = {DialogueStep.PACKAGE_RECEIVED: (7, 1), DialogueStep.PACKAGE_ACCEPTED: (9, 1),
                     DialogueStep.MEETING_HELD: (11, 30), DialogueStep.MINUTES_PUBLISHED: (12, 31)}


def deadlines(municipality: Party) -> dict[DialogueStep, tuple[int, int]]:
    rows = db.session.scalars(select(DialogueDeadline).where(DialogueDeadline.municipality_id == municipality.id))
    configured = {row.step: (row.month, row.day) for row in rows}
    return configured or dict(DEFAULT_DEADLINES)


def set_deadline(actor: Actor, step: DialogueStep | str, month: int, day: int) -> DialogueDeadline:
    municipality = get_municipality()
    require(actor, "deadlines:manage", municipality)
    step = DialogueStep(step)
    try:
        date(2024, month, day)  # a leap year accepts 29 February
    except (TypeError, ValueError) as exc:
        raise InvalidInput(fields={"deadline": "Ugyldig dato."}) from exc
    if not db.session.scalar(select(func.count()).where(DialogueDeadline.municipality_id == municipality.id)):
        for default_step, (m, d) in DEFAULT_DEADLINES.items():  # the first change keeps the other defaults
            db.session.add(DialogueDeadline(municipality_id=municipality.id, step=default_step, month=m, day=d))
        db.session.flush()
    row = db.session.scalar(select(DialogueDeadline).where(DialogueDeadline.municipality_id == municipality.id,
                                                           DialogueDeadline.step == step))
    if row is None:
        row = DialogueDeadline(municipality_id=municipality.id, step=step, month=month, day=day)
        db.session.add(row)
    row.month, row.day = month, day
    record_event(actor, "dialogue.deadline", "party", municipality.id, after={"step": step.value, "month": month, "day": day})
    return row


def _deadline_date(year: int, month_day: tuple[int, int]) -> date:
    month, day = month_day
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, month, 28)


def overdue_steps(dialogue_step: DialogueStep, year: int, deadline_map: dict[DialogueStep, tuple[int, int]],
                  today: date) -> list[DialogueStep]:
    return [step for step, month_day in deadline_map.items()
            if _index(dialogue_step) < _index(step) and today > _deadline_date(year, month_day)]


DEADLINE_TITLES = {
    DialogueStep.PACKAGE_RECEIVED: "Dokumentationspakken for styringsår {year} indsendes",
    DialogueStep.PACKAGE_ACCEPTED: "Dokumentationspakken for styringsår {year} gennemgås",
    DialogueStep.MEETING_HELD: "Styringsdialogmødet for styringsår {year} holdes",
    DialogueStep.MINUTES_PUBLISHED: "Referatet af styringsdialogen {year} offentliggøres",
}


def _create_deadline_obligations(actor: Actor, dialogue: Dialogue) -> None:
    """Each deadline becomes an obligation, so reminders, calendars and overdue flags come with it:
    the organisation's for the package, the municipality's for the rest."""
    municipality = get_municipality()
    for step, month_day in deadlines(municipality).items():
        organisation_step = step in (DialogueStep.PACKAGE_RECEIVED,)
        responsible, verifying = ((dialogue.party_id, municipality.id) if organisation_step
                                  else (municipality.id, dialogue.party_id))
        obligation = Obligation(
            title=DEADLINE_TITLES.get(step, STEP_LABELS[step]).format(year=dialogue.year),
            responsible_party_id=responsible, verifying_party_id=verifying, first_due=_deadline_date(dialogue.year, month_day),
            dialogue_id=dialogue.id, dialogue_step=step.value, in_force=True, recurrence="none",
            reminder_days=[14, 3], created_by_id=actor.id if isinstance(actor, User) else None)
        db.session.add(obligation)
        obligation_service.ensure_occurrences(obligation)
        db.session.flush()
        enqueue(INDEX_OBLIGATION, obligation.id)  # searchable by both parties, like every obligation in force


def _settle_deadline_obligations(actor: Actor, dialogue: Dialogue) -> None:
    """A reached step settles its deadline's occurrence. Planning the meeting settles nothing before
    it: a meeting is often planned before the documentation package arrives."""
    reached = _index(dialogue.step)
    if dialogue.step is DialogueStep.MEETING_PLANNED:
        reached = max((_index(e.step) for e in dialogue.events if e.step is not DialogueStep.MEETING_PLANNED),
                      default=0)
    for obligation in db.session.scalars(select(Obligation).where(Obligation.dialogue_id == dialogue.id)):
        step = DialogueStep(obligation.dialogue_step)
        if reached >= _index(step):
            for occurrence in obligation.occurrences:
                if occurrence.status in obligation_service.OPEN_STATES:
                    occurrence.status = obligation_service.OccurrenceStatus.VERIFIED
                    occurrence.status_note = "Trinnet er nået i styringsdialogen."


# --- the overview -------------------------------------------------------------------------------

@dataclass
class OverviewRow:
    party: Party
    dialogue: Dialogue | None
    step: DialogueStep
    overdue: list[DialogueStep]
    open_obligations: int
    overdue_obligations: int
    critical_figures: int
    returned: bool


def overview(actor: Actor, year: int, *, today: date | None = None) -> list[OverviewRow]:
    """One row per organisation the actor may see, in a constant number of queries."""
    from portal.services.keyfigures import critical_figures
    from portal.services.parties import list_organisations

    today = today or date.today()
    municipality = get_municipality()
    organisations = list_organisations(actor)
    ids = [o.id for o in organisations] or [-1]
    dialogues = {d.party_id: d for d in db.session.scalars(select(Dialogue).where(
        Dialogue.year == year, Dialogue.party_id.in_(ids)))}
    returned = set(db.session.scalars(select(Dialogue.party_id).join(DialogueEvent).where(
        Dialogue.year == year, Dialogue.party_id.in_(ids), DialogueEvent.step == DialogueStep.PACKAGE_RETURNED)))
    open_counts = dict(db.session.execute(select(Obligation.responsible_party_id, func.count(Occurrence.id))
                                          .join(Occurrence).where(Obligation.in_force.is_(True),
                                                                  Obligation.responsible_party_id.in_(ids),
                                                                  Occurrence.status.in_(obligation_service.OPEN_STATES))
                                          .group_by(Obligation.responsible_party_id)).all())
    overdue_counts = dict(db.session.execute(select(Obligation.responsible_party_id, func.count(Occurrence.id))
                                             .join(Occurrence).where(Obligation.in_force.is_(True),
                                                                     Obligation.responsible_party_id.in_(ids),
                                                                     Occurrence.status.in_(obligation_service.OPEN_STATES),
                                                                     Occurrence.due_date < today)
                                             .group_by(Obligation.responsible_party_id)).all())
    critical = critical_figures(ids, year)
    deadline_map = deadlines(municipality)
    rows = []
    for organisation in organisations:
        dialogue = dialogues.get(organisation.id)
        step = dialogue.step if dialogue else DialogueStep.NOT_STARTED
        rows.append(OverviewRow(party=organisation, dialogue=dialogue, step=step,
                                overdue=overdue_steps(step, year, deadline_map, today),
                                open_obligations=open_counts.get(organisation.id, 0),
                                overdue_obligations=overdue_counts.get(organisation.id, 0),
                                critical_figures=len(critical.get(organisation.id, [])),
                                returned=organisation.id in returned))
    return rows


def step_reached(row: OverviewRow, step: DialogueStep) -> bool:
    return _index(row.step) >= _index(step)
