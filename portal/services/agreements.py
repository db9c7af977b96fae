"""Agreements: both parties edit the same text, see every change, and approve the same revision.

Saving: the editor submits the revision it started from (`base_revision`) with the sections
it changed. When other revisions landed meanwhile, each changed section is merged against
the head: a section only one side changed takes that side; a section both changed is merged
line by line (three-way, merge3) when their changes do not overlap. Any overlap makes the
whole save a conflict: nothing is written, and the caller gets every conflicting section
with the base, its own and the other text, so no edit is ever lost or silently overwritten.
"""

from __future__ import annotations

import difflib
import hashlib
import html
import io
import json
import re
import uuid
from datetime import date, timedelta
from typing import Any

import merge3
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import access
from portal.access import Actor, load, require
from portal.errors import Conflict, Forbidden, InvalidInput, NotFound
from portal.extensions import db
from portal.i18n import N_
from portal.models import (
    Agreement,
    AgreementApproval,
    AgreementComment,
    AgreementDocument,
    AgreementParty,
    AgreementPresence,
    AgreementRevision,
    AgreementStatus,
    AgreementType,
    Department,
    Document,
    Party,
    PartyConsent,
    PartyKind,
    User,
)
from portal.models.base import MAX_INT
from portal.models.base import utcnow as _now
from portal.services.agreement_pdf import render_agreement
from portal.services.audit import record_event
from portal.services.documents import upload_document
from portal.services.jobs import INDEX_AGREEMENT, enqueue
from portal.services.obligations import activate_for_agreement
from portal.services.parties import find_municipality
from portal.services.revisions import get_revision
from portal.services.section_data import readable_section_data, validate_section_data

TYPE_LABELS = {
    AgreementType.STRATEGISK: N_("Strategisk aftale om udlejning og balancerede byer"),
    AgreementType.INDIVIDUEL: N_("Individuel aftale"),
    AgreementType.STYRINGSDIALOG: N_("Aftale fra styringsdialogen"),
    AgreementType.ANDET: N_("Anden aftale"),
}
STATUS_LABELS = {
    AgreementStatus.DRAFT: N_("Kladde"),
    AgreementStatus.NEGOTIATION: N_("Under forhandling"),
    AgreementStatus.AWAITING_APPROVAL: N_("Afventer godkendelse"),
    AgreementStatus.ACTIVE: N_("Gældende"),
    AgreementStatus.EXPIRED: N_("Udløbet"),
    AgreementStatus.TERMINATED: N_("Ophævet"),
}

# The sections a new strategic agreement starts from (LAB § 59 and the balanced-cities goals).
STRATEGIC_TEMPLATE: list[tuple[str, str, str, dict[str, Any]]] = [
    ("Formål og parter", "text",
     "Aftalen fastlægger kommunens og boligorganisationernes fælles mål for udlejning og balancerede byer.", {}),
    ("Kommunal anvisning (LAB § 59, stk. 1)", "allocation",
     "Kommunen råder over den aftalte andel af de ledige familieboliger til løsning af boligsociale opgaver.",
     {"share_percent": 25}),
    ("Supplerende anvisning (LAB § 59, stk. 2)", "allocation",
     "Ud over stk. 1 kan kommunen anvise det aftalte antal boliger om året.", {"quota_per_year": 0}),
    ("Fleksibel udlejning", "text", "Kriterier for fleksibel udlejning i de aftalte afdelinger:\n\n- ", {}),
    ("Kombineret udlejning", "text", "Afdelinger med kombineret udlejning og de gældende kriterier:\n\n- ", {}),
    ("Trappemodel", "trappemodel",
     "Hver afdeling placeres årligt på et trin med en tilhørende andel kommunal anvisning.", {"steps": []}),
    ("Målgrupper", "text", "Aftalen omfatter følgende målgrupper:\n\n- ", {}),
    ("Balancerede byer", "text", "Fælles mål for beboersammensætningen i udsatte og forebyggelsesområder:\n\n- ", {}),
    ("Opfølgning og evaluering", "text",
     "Parterne følger op på aftalen på de årlige styringsdialogmøder og evaluerer den ved periodens udløb.", {}),
]


class AgreementConflict(Conflict):
    """Someone else changed the same lines; carries both texts per section so the editor can resolve."""

    message = "Teksten er ændret af en anden, mens du redigerede. Se forskellene og løs dem, før du gemmer."

    def __init__(self, head: int, conflicts: list[dict[str, Any]], unsaved: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__(head_revision=head)
        self.head = head
        self.conflicts = conflicts
        # The caller's changes that did merge cleanly but were not saved either (a save is all or nothing).
        self.unsaved = unsaved or {}



def _new_section_id() -> str:
    return "s" + uuid.uuid4().hex[:10]


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 over the canonical text: what an approval binds to."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- loading ----------------------------------------------------------------------------

def sections_of(revision: AgreementRevision) -> list[dict[str, Any]]:
    """The sections in order, as pages and the API show them: typed data only where well-formed
    (a revision stored before the data was checked must not break a page)."""
    content = revision.content
    return [_readable_section(sid, content["sections"][sid]) for sid in content["order"]]


def _readable_section(sid: str, section: dict[str, Any]) -> dict[str, Any]:
    kind = section.get("kind") if isinstance(section.get("kind"), str) else "text"
    return {**section, "id": sid, "kind": kind, "heading": _as_text(section.get("heading")),
            "text": _as_text(section.get("text")), "data": readable_section_data(kind, section.get("data"))}


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def list_agreements(actor: Actor) -> list[Agreement]:
    stmt = (select(Agreement).where(access.agreement_read_clause(actor))
            .options(selectinload(Agreement.parties)).order_by(Agreement.id.desc()))
    return [a for a in db.session.scalars(stmt) if access.can(actor, "agreement:read", a)]


def list_invitations(actor: Actor) -> list[Agreement]:
    """Agreements that named one of the actor's parties, which has not answered yet."""
    stmt = select(Agreement).where(access.agreement_invitation_clause(actor)).order_by(Agreement.id.desc())
    return [a for a in db.session.scalars(stmt) if access.can(actor, "agreement:invitation", a)]


def invitation_of(actor: Actor, agreement: Agreement) -> list[AgreementParty]:
    """The actor's pending parties' invitations to `agreement` (who invited them, when)."""
    mine = access.invited_parties(actor, agreement)
    return [link for link in agreement.pending if link.party_id in mine]


# --- creating ---------------------------------------------------------------------------------

def _section(heading: str, kind: str = "text", text: str = "", data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"heading": heading, "kind": kind, "text": text, "data": data or {}}


def create_agreement(actor: Actor, data: dict[str, Any]) -> Agreement:
    """A new agreement between the municipality and the chosen organisations, as revision 1."""
    municipality = find_municipality()
    if municipality is None:
        raise InvalidInput("Portalen har ingen kommune.")
    errors: dict[str, str] = {}
    title = str(data.get("title", "")).strip()
    if not title:
        errors["title"] = "Skriv en titel."
    elif len(title) > 300:
        errors["title"] = "Titlen må højst være på 300 tegn."
    try:
        kind = AgreementType(str(data.get("type", "")))
    except ValueError:
        errors["type"] = "Vælg en aftaletype."
        kind = AgreementType.ANDET
    chosen = data.get("organisations")
    chosen = chosen if isinstance(chosen, (list, tuple, set)) else []
    organisation_ids = sorted({int(x) for x in map(str, chosen) if x.isascii() and x.isdigit()})
    # An id beyond the largest names no party (and the database would refuse to compare with it).
    organisations = list(db.session.scalars(select(Party).where(
        Party.id.in_([i for i in organisation_ids if i <= MAX_INT] or [-1]), Party.kind == PartyKind.ORGANISATION,
        Party.active.is_(True))))
    if not organisations or len(organisations) != len(organisation_ids):
        errors["organisations"] = "Vælg mindst én organisation."
    term_start, term_end = _date(data.get("term_start"), "term_start", errors), _date(data.get("term_end"), "term_end", errors)
    if term_start and term_end and term_end < term_start:
        errors["term_end"] = "Slutdatoen ligger før startdatoen."
    if errors:
        raise InvalidInput(fields=errors)
    # The initiating party is the municipality when the actor works there, else the actor's organisation.
    initiator = municipality if access.can(actor, "agreement:create", municipality) else next(
        (o for o in organisations if access.can(actor, "agreement:create", o)), None)
    if initiator is None:
        require(actor, "agreement:create", organisations[0])
        initiator = municipality  # only the system gets here (it may create for anyone)
    sections = STRATEGIC_TEMPLATE if kind in (AgreementType.STRATEGISK, AgreementType.INDIVIDUEL) else [
        ("Aftale", "text", "", {})]
    content = {"order": [], "sections": {}}
    for heading, section_kind, text, section_data in sections:
        sid = _new_section_id()
        content["order"].append(sid)
        content["sections"][sid] = _section(heading, section_kind, text, dict(section_data))
    agreement = Agreement(title=title, type=kind, term_start=term_start, term_end=term_end, head=1,
                          created_by_id=actor.id if isinstance(actor, User) else None)
    # The municipality is a party to every agreement (it already supervises every organisation, and
    # nothing binds it before its signatory approves). An organisation is only invited, whoever names
    # it, the municipality too: taking part shows its departments to the other parties and gives it
    # obligations, so it consents itself, unless the creator edits for it (and so consents here).
    invited_by = actor.id if isinstance(actor, User) else None
    agreement.invitations = [AgreementParty(party_id=municipality.id, consent=PartyConsent.ACCEPTED)] + [
        AgreementParty(party_id=o.id, invited_by_party_id=initiator.id, invited_by_id=invited_by,
                       consent=PartyConsent.ACCEPTED if access.consents_for(actor, o.id) else PartyConsent.PENDING)
        for o in organisations]
    db.session.add(agreement)
    db.session.flush()
    db.session.expire(agreement, ["parties"])
    db.session.add(AgreementRevision(agreement_id=agreement.id, number=1, content=content,
                                     changed_sections=list(content["order"]), content_hash=content_hash(content),
                                     created_by_id=agreement.created_by_id, note="Oprettet"))
    enqueue(INDEX_AGREEMENT, agreement.id)
    record_event(actor, "agreement.create", "agreement", agreement.id, party_id=municipality.id,
                 after={"title": title, "type": kind.value, "parties": sorted(agreement.party_ids),
                        "invited": sorted(p.party_id for p in agreement.pending)})
    return agreement


def respond_to_invitation(actor: Actor, agreement_id: int, *, accept: bool) -> list[int]:
    """Accept (the party joins: it sees the agreement and the others see its departments) or decline
    the invitation, for every pending party the actor answers for; returns those parties' ids.

    A declined party leaves the agreement; the parties that remain may then bring it into force.
    """
    agreement = load(actor, Agreement, agreement_id, "agreement:invitation")
    if not access.can(actor, "agreement:respond", agreement):
        raise Forbidden("Kun jeres redaktører, underskrivere og administratorer kan svare på invitationen.")
    party_ids = access.responding_parties(actor, agreement)
    consent = PartyConsent.ACCEPTED if accept else PartyConsent.DECLINED
    for link in agreement.pending:
        if link.party_id in party_ids:
            link.consent, link.decided_at = consent, _now()
            link.decided_by_id = actor.id if isinstance(actor, User) else None
            record_event(actor, "agreement." + ("accept" if accept else "decline"), "agreement", agreement.id,
                         party_id=link.party_id, after={"party": link.party_id})
    db.session.flush()
    db.session.expire(agreement, ["parties"])
    if not accept:
        _activate_if_approved(agreement)
    enqueue(INDEX_AGREEMENT, agreement.id)
    return party_ids

def _date(value: Any, field: str, errors: dict[str, str]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[field] = "Skriv datoen som ÅÅÅÅ-MM-DD."
        return None


# --- saving with merge ------------------------------------------------------------------------

_EDITABLE = ("heading", "text", "data")


def _merge_text(base: str, mine: str, theirs: str) -> str | None:
    """Three-way line merge; None when the two sides changed overlapping lines."""
    if mine == theirs or theirs == base:
        return mine
    if mine == base:
        return theirs
    base_lines, my_lines, their_lines = (t.splitlines(keepends=True) for t in (base, mine, theirs))
    merged: list[str] = []
    for group in merge3.Merge3(base_lines, my_lines, their_lines).merge_groups():
        if group[0] == "conflict":
            return None
        merged.extend(group[1])
    return "".join(merged)


def _merge_value(base: Any, mine: Any, theirs: Any) -> tuple[bool, Any]:
    if mine == theirs or theirs == base:
        return True, mine
    if mine == base:
        return True, theirs
    return False, None


def update_agreement(actor: Actor, agreement_id: int, changes: dict[str, dict[str, Any]], *, base_revision: int,
                     note: str = "") -> AgreementRevision | None:
    """Save the sections in `changes` (each {"heading"?, "text"?, "data"?}) as a new revision.

    Returns the new revision, or None when nothing changed. Raises AgreementConflict when
    another revision changed the same lines since `base_revision` (nothing is saved then).
    """
    agreement = load(actor, Agreement, agreement_id, "agreement:update")
    db.session.refresh(agreement, with_for_update=db.engine.dialect.name == "postgresql")
    if not 1 <= base_revision <= agreement.head:
        raise InvalidInput(fields={"base_revision": "Ukendt revision."})
    base = get_revision(agreement, base_revision).content
    head = get_revision(agreement, agreement.head).content
    changes = _validated(agreement, head, changes)
    new = json.loads(json.dumps(head))
    changed: list[str] = []
    conflicts: list[dict[str, Any]] = []
    for sid, fields in changes.items():
        if sid not in head["sections"]:
            if sid in base["sections"]:
                conflicts.append({"section_id": sid, "heading": base["sections"][sid]["heading"],
                                  "reason": "Afsnittet er fjernet af en anden.", "base": base["sections"][sid]["text"],
                                  "mine": str(fields.get("text", "")), "theirs": None})
                continue
            raise InvalidInput(fields={sid: "Afsnittet findes ikke."})
        base_section = base["sections"].get(sid, _section("", text=""))
        head_section = head["sections"][sid]
        for name in _EDITABLE:
            if name not in fields:
                continue
            mine = fields[name] if name == "data" else str(fields[name]).replace("\r\n", "\n")
            if name == "text":
                merged = _merge_text(base_section.get("text", ""), mine, head_section.get("text", ""))
                ok = merged is not None
            else:
                ok, merged = _merge_value(base_section.get(name), mine, head_section.get(name))
            if not ok:
                conflicts.append({"section_id": sid, "heading": head_section["heading"], "field": name,
                                  "base": base_section.get(name), "mine": mine, "theirs": head_section.get(name)})
                continue
            if merged != head_section.get(name):
                new["sections"][sid][name] = merged
                if sid not in changed:
                    changed.append(sid)
    if conflicts:
        conflicting = {c["section_id"] for c in conflicts}
        unsaved = {sid: new["sections"][sid] for sid in changed if sid not in conflicting}
        raise AgreementConflict(agreement.head, conflicts, unsaved)
    if not changed:
        return None
    return _write_revision(actor, agreement, new, changed, based_on=base_revision, note=note)


def _validated(agreement: Agreement, head: dict[str, Any], changes: dict[str, dict[str, Any]]
               ) -> dict[str, dict[str, Any]]:
    """The changes with their typed data checked against each section's kind; InvalidInput naming
    every bad field (`sections.<id>.data.<key>`) otherwise. Nothing is merged before this passes."""
    errors: dict[str, str] = {}
    result: dict[str, dict[str, Any]] = {}
    departments: dict[int, str] | None = None
    for sid, fields in changes.items():
        if not isinstance(fields, dict):
            errors[f"sections.{sid}"] = "Et objekt med text, heading og data."
            continue
        result[sid] = dict(fields)
        if "data" not in fields:
            continue
        section = head["sections"].get(sid)
        if section is None:
            continue  # the merge answers for sections that are gone
        if departments is None:
            departments = _department_ids(agreement)
        data, problems = validate_section_data(section.get("kind", "text"), fields["data"], f"sections.{sid}.data",
                                               departments)
        errors.update(problems)
        result[sid]["data"] = data
    if errors:
        first = next(iter(errors))
        raise InvalidInput(f"Afsnittets tal er ikke gyldige: {first}: {errors[first]}", fields=errors)
    return result


def _department_ids(agreement: Agreement) -> dict[int, str]:
    """id → label ("LBF name") of the departments of the agreement's organisations."""
    organisations = [p.party_id for p in agreement.parties if p.party.kind is PartyKind.ORGANISATION]
    return {d.id: f"{d.lbf_number} {d.name}" for d in db.session.scalars(
        select(Department).where(Department.party_id.in_(organisations or [-1])))}


def _write_revision(actor: Actor, agreement: Agreement, content: dict[str, Any], changed: list[str], *,
                    based_on: int, note: str) -> AgreementRevision:
    number = agreement.head + 1
    revision = AgreementRevision(agreement_id=agreement.id, number=number, based_on=based_on, content=content,
                                 changed_sections=changed, content_hash=content_hash(content), note=note[:300],
                                 created_by_id=actor.id if isinstance(actor, User) else None)
    db.session.add(revision)
    # The unique (agreement, number) row is the guard: a concurrent save of the same number fails here.
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise AgreementConflict(agreement.head, []) from exc
    agreement.head = number
    _void_approvals(agreement, number)
    if agreement.status in (AgreementStatus.AWAITING_APPROVAL, AgreementStatus.ACTIVE):
        _set_status(agreement, AgreementStatus.NEGOTIATION)
    enqueue(INDEX_AGREEMENT, agreement.id)
    record_event(actor, "agreement.revise", "agreement", agreement.id,
                 after={"revision": number, "based_on": based_on, "sections": changed})
    return revision


def _void_approvals(agreement: Agreement, revision: int) -> None:
    db.session.execute(update(AgreementApproval).where(
        AgreementApproval.agreement_id == agreement.id, AgreementApproval.voided_at.is_(None))
        .values(voided_at=_now(), voided_by_revision=revision))


def _set_status(agreement: Agreement, status: AgreementStatus) -> None:
    agreement.status = status
    agreement.status_changed_at = _now()


def add_section(actor: Actor, agreement_id: int, heading: str, *, base_revision: int, after: str | None = None) -> str:
    """Add an empty section (at the end, or after section `after`); returns its id."""
    agreement = load(actor, Agreement, agreement_id, "agreement:update")
    heading = heading.strip()
    if not heading:
        raise InvalidInput(fields={"heading": "Skriv en overskrift."})
    if not 1 <= base_revision <= agreement.head:
        raise InvalidInput(fields={"base_revision": "Ukendt revision."})
    head = get_revision(agreement).content
    new = json.loads(json.dumps(head))
    sid = _new_section_id()
    new["sections"][sid] = _section(heading)
    position = new["order"].index(after) + 1 if after in new["order"] else len(new["order"])
    new["order"].insert(position, sid)
    _write_revision(actor, agreement, new, [sid], based_on=base_revision, note=f"Nyt afsnit: {heading}")
    return sid


def start_negotiation(actor: Actor, agreement_id: int) -> Agreement:
    agreement = load(actor, Agreement, agreement_id, "agreement:update")
    if agreement.status is AgreementStatus.DRAFT:
        _set_status(agreement, AgreementStatus.NEGOTIATION)
        record_event(actor, "agreement.negotiate", "agreement", agreement.id)
    return agreement


def restore_revision(actor: Actor, agreement_id: int, number: int) -> AgreementRevision:
    """Make an old revision's text the newest, as a new revision (history is never rewritten)."""
    agreement = load(actor, Agreement, agreement_id, "agreement:update")
    old = get_revision(agreement, number)
    head = get_revision(agreement).content
    changed = [sid for sid in set(old.content["order"]) | set(head["order"])
               if old.content["sections"].get(sid) != head["sections"].get(sid)]
    return _write_revision(actor, agreement, json.loads(json.dumps(old.content)), sorted(changed),
                           based_on=agreement.head, note=f"Gendannet fra revision {number}")


# --- approvals --------------------------------------------------------------------------------

def approve(actor: Actor, agreement_id: int, revision: int) -> AgreementApproval:
    """Approve `revision` on behalf of the actor's party; active once every party approved the same one."""
    agreement = load(actor, Agreement, agreement_id, "agreement:approve")
    if revision != agreement.head:
        raise Conflict("Der er kommet en nyere revision. Læs den, før du godkender.", head_revision=agreement.head)
    party_ids = access.acting_parties(actor, agreement, "agreement:approve")
    target = get_revision(agreement, revision)
    approvals = []
    for party_id in party_ids:
        existing = db.session.scalar(select(AgreementApproval).where(
            AgreementApproval.agreement_id == agreement.id, AgreementApproval.party_id == party_id,
            AgreementApproval.revision == revision, AgreementApproval.voided_at.is_(None)))
        if existing is None:
            existing = AgreementApproval(agreement_id=agreement.id, party_id=party_id, revision=revision,
                                         revision_hash=target.content_hash,
                                         approved_by_id=actor.id if isinstance(actor, User) else None)
            db.session.add(existing)
            record_event(actor, "agreement.approve", "agreement", agreement.id, party_id=party_id,
                         after={"revision": revision, "hash": target.content_hash})
        approvals.append(existing)
    db.session.flush()
    if not _activate_if_approved(agreement):
        _set_status(agreement, AgreementStatus.AWAITING_APPROVAL)
    return approvals[0]


def _activate_if_approved(agreement: Agreement) -> bool:
    """Bring the agreement into force once every party approved its newest revision and no invited
    organisation is still to answer (it would otherwise join an agreement it never saw approved)."""
    if agreement.status is AgreementStatus.ACTIVE:
        return True
    if agreement.status not in (AgreementStatus.NEGOTIATION, AgreementStatus.AWAITING_APPROVAL, AgreementStatus.DRAFT) \
            or agreement.pending:
        return False
    approved_parties = set(db.session.scalars(select(AgreementApproval.party_id).where(
        AgreementApproval.agreement_id == agreement.id, AgreementApproval.revision == agreement.head,
        AgreementApproval.voided_at.is_(None))))
    if not approved_parties or not approved_parties >= agreement.party_ids:
        return False
    _set_status(agreement, AgreementStatus.ACTIVE)
    activate_for_agreement(agreement)
    enqueue(INDEX_AGREEMENT, agreement.id)
    return True


def current_approvals(agreement: Agreement) -> list[AgreementApproval]:
    return list(db.session.scalars(select(AgreementApproval).where(
        AgreementApproval.agreement_id == agreement.id, AgreementApproval.voided_at.is_(None))
        .order_by(AgreementApproval.approved_at)))


def all_approvals(agreement: Agreement) -> list[AgreementApproval]:
    return list(db.session.scalars(select(AgreementApproval).where(AgreementApproval.agreement_id == agreement.id)
                                   .order_by(AgreementApproval.approved_at.desc())))


def expire_agreements(today: date | None = None) -> int:
    """Active agreements whose term has ended become expired (daily, and `portal agreements expire`)."""
    today = today or date.today()
    expired = list(db.session.scalars(select(Agreement).where(
        Agreement.status == AgreementStatus.ACTIVE, Agreement.term_end.is_not(None), Agreement.term_end < today)))
    for agreement in expired:
        _set_status(agreement, AgreementStatus.EXPIRED)
        enqueue(INDEX_AGREEMENT, agreement.id)
        record_event(access.SYSTEM, "agreement.expire", "agreement", agreement.id)
    return len(expired)


# --- history ------------------------------------------------------------------------------------

_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> str:
    """HTML of `new` against `old` word by word: removed words in <del>, added in <ins>, all escaped."""
    a, b = _WORDS.findall(old or ""), _WORDS.findall(new or "")
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(html.escape("".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            out.append(f"<del>{html.escape(''.join(a[i1:i2]))}</del>")
        if tag in ("insert", "replace"):
            out.append(f"<ins>{html.escape(''.join(b[j1:j2]))}</ins>")
    return "".join(out)


def compare_revisions(agreement: Agreement, old_number: int, new_number: int) -> list[dict[str, Any]]:
    old, new = get_revision(agreement, old_number).content, get_revision(agreement, new_number).content
    result = []
    for sid in list(dict.fromkeys(new["order"] + old["order"])):
        before, after = old["sections"].get(sid), new["sections"].get(sid)
        if before == after:
            continue
        result.append({"section_id": sid, "heading": _as_text((after or before).get("heading")),
                       "added": before is None, "removed": after is None,
                       "diff_html": word_diff(_as_text((before or {}).get("text")), _as_text((after or {}).get("text"))),
                       "data_before": readable_section_data((before or {}).get("kind"), (before or {}).get("data")),
                       "data_after": readable_section_data((after or {}).get("kind"), (after or {}).get("data"))})
    return result


# --- comments and suggestions ----------------------------------------------------------------------

def _acting_party(actor: Actor, agreement: Agreement) -> int:
    candidates = access.acting_parties(actor, agreement, "agreement:comment")
    if not candidates:
        raise NotFound()
    return candidates[0]


def add_comment(actor: Actor, agreement_id: int, section_id: str, body: str, *, parent_id: int | None = None,
                suggestion: str | None = None) -> AgreementComment:
    agreement = load(actor, Agreement, agreement_id, "agreement:comment")
    head = get_revision(agreement).content
    if section_id not in head["sections"]:
        raise InvalidInput(fields={"section": "Afsnittet findes ikke."})
    body = body.strip()
    if not body and not suggestion:
        raise InvalidInput(fields={"body": "Skriv en kommentar."})
    if parent_id is not None:
        parent = db.session.get(AgreementComment, parent_id)
        if parent is None or parent.agreement_id != agreement.id:
            raise InvalidInput(fields={"parent": "Kommentaren findes ikke."})
    comment = AgreementComment(
        agreement_id=agreement.id, section_id=section_id, parent_id=parent_id, body=body,
        author_id=actor.id if isinstance(actor, User) else None, author_party_id=_acting_party(actor, agreement),
        revision=agreement.head, suggestion=suggestion.replace("\r\n", "\n") if suggestion is not None else None,
        suggestion_state="open" if suggestion is not None else None)
    db.session.add(comment)
    db.session.flush()
    record_event(actor, "agreement.suggest" if suggestion is not None else "agreement.comment", "agreement",
                 agreement.id, after={"comment": comment.id, "section": section_id})
    return comment


def comments_of(agreement: Agreement) -> list[AgreementComment]:
    return list(db.session.scalars(select(AgreementComment).where(AgreementComment.agreement_id == agreement.id)
                                   .order_by(AgreementComment.id)))


def _comment(actor: Actor, comment_id: int, action: str) -> AgreementComment:
    comment = db.session.get(AgreementComment, comment_id)
    if comment is None:
        raise NotFound()
    require(actor, action, comment)
    return comment


def resolve_comment(actor: Actor, comment_id: int) -> AgreementComment:
    comment = _comment(actor, comment_id, "comment:resolve")
    if comment.resolved_at is None:
        comment.resolved_at = _now()
        comment.resolved_by_id = actor.id if isinstance(actor, User) else None
        record_event(actor, "agreement.comment_resolve", "agreement", comment.agreement_id, after={"comment": comment.id})
    return comment


def decide_suggestion(actor: Actor, comment_id: int, *, accept: bool) -> AgreementRevision | None:
    """Accept (the suggested text becomes a new revision, merged like any save) or reject a suggestion."""
    comment = _comment(actor, comment_id, "suggestion:decide")
    if comment.suggestion_state != "open":
        raise InvalidInput("Forslaget er allerede afgjort.")
    revision = None
    if accept:
        revision = update_agreement(actor, comment.agreement_id, {comment.section_id: {"text": comment.suggestion}},
                                    base_revision=comment.revision, note="Forslag accepteret")
    comment.suggestion_state = "accepted" if accept else "rejected"
    comment.decided_by_id = actor.id if isinstance(actor, User) else None
    comment.decided_at = comment.resolved_at = _now()
    record_event(actor, "agreement.suggestion_" + comment.suggestion_state, "agreement", comment.agreement_id,
                 after={"comment": comment.id})
    return revision


# --- presence -----------------------------------------------------------------------------------

PRESENCE_WINDOW = timedelta(seconds=30)


def touch_presence(actor: Actor, agreement_id: int, section_id: str) -> list[str]:
    """Record that the actor edits `section_id` now; returns the names of the others editing it."""
    agreement = load(actor, Agreement, agreement_id, "agreement:update")
    assert isinstance(actor, User)
    row = db.session.scalar(select(AgreementPresence).where(
        AgreementPresence.agreement_id == agreement.id, AgreementPresence.section_id == section_id,
        AgreementPresence.user_id == actor.id))
    if row is None:
        db.session.add(AgreementPresence(agreement_id=agreement.id, section_id=section_id, user_id=actor.id))
    else:
        row.seen_at = _now()
    return others_editing(agreement, section_id, actor)


def others_editing(agreement: Agreement, section_id: str | None, actor: Actor) -> list[str]:
    since = _now() - PRESENCE_WINDOW
    stmt = select(User.name).join(AgreementPresence, AgreementPresence.user_id == User.id).where(
        AgreementPresence.agreement_id == agreement.id, AgreementPresence.seen_at >= since)
    if section_id is not None:
        stmt = stmt.where(AgreementPresence.section_id == section_id)
    if isinstance(actor, User):
        stmt = stmt.where(User.id != actor.id)
    return sorted(set(db.session.scalars(stmt)))


def presence_by_section(agreement: Agreement, actor: Actor) -> dict[str, list[str]]:
    since = _now() - PRESENCE_WINDOW
    rows = db.session.execute(select(AgreementPresence.section_id, User.name).join(User).where(
        AgreementPresence.agreement_id == agreement.id, AgreementPresence.seen_at >= since,
        User.id != (actor.id if isinstance(actor, User) else -1)))
    result: dict[str, list[str]] = {}
    for section_id, name in rows:
        result.setdefault(section_id, []).append(name)
    return result

# --- export -------------------------------------------------------------------------------------

def export_pdf(actor: Actor, agreement_id: int, *, max_size: int) -> Document:
    """Render the approved agreement to a PDF, archived (and indexed) as a document of kind `aftale`.

    A single-organisation agreement belongs to that organisation, shared with the municipality;
    otherwise to the municipality, shared with every party when every organisation is one.
    """
    agreement = load(actor, Agreement, agreement_id, "agreement:export")
    if agreement.status not in (AgreementStatus.ACTIVE, AgreementStatus.EXPIRED):
        raise InvalidInput("Kun en godkendt aftale kan eksporteres.")
    revision = get_revision(agreement)
    approvals = [a for a in current_approvals(agreement) if a.revision == revision.number]
    names = {p.party_id: p.party.name for p in agreement.parties}
    pdf = render_agreement(agreement, revision, approvals, names, TYPE_LABELS[agreement.type])
    municipality = find_municipality()
    organisations = [p.party for p in agreement.parties if p.party.kind is PartyKind.ORGANISATION]
    all_organisations = set(db.session.scalars(select(Party.id).where(
        Party.kind == PartyKind.ORGANISATION, Party.active.is_(True))))
    if len(organisations) == 1:
        owner, visibility = organisations[0].id, "dialogue"
    else:
        owner = municipality.id if municipality else organisations[0].id
        visibility = "all_parties" if all_organisations <= agreement.party_ids else "party"
    year = (agreement.term_start or agreement.created_at).year
    document = upload_document(access.SYSTEM, owner, {
        "kind": "aftale", "year": str(year), "visibility": visibility,
        "title": f"{agreement.title} (revision {revision.number})"},
        io.BytesIO(pdf), f"aftale-{agreement.id}-revision-{revision.number}.pdf", max_size=max_size)
    db.session.add(AgreementDocument(agreement_id=agreement.id, document_id=document.id))
    record_event(actor, "agreement.export", "agreement", agreement.id,
                 after={"document": document.id, "revision": revision.number, "hash": revision.content_hash})
    return document
