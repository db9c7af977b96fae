"""Full-text search for a user: the access filter goes into the query itself, so totals,
facets, snippets and suggestions never reveal a record the user may not read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import String, literal, null, select, union_all

from portal import access
from portal.access import Actor
from portal.backends import search_index
from portal.errors import InvalidInput
from portal.extensions import db
from portal.models import (
    Agreement,
    Document,
    DocumentKind,
    Obligation,
    Party,
    Visibility,
)
from portal.models.base import MAX_INT
from portal.search import DocumentHit, SearchQuery, SearchResults
from portal.search.agreements import RECORD_TYPE as AGREEMENT_RECORD
from portal.search.documents import RECORD_TYPE as DOCUMENT_RECORD
from portal.search.obligations import RECORD_TYPE as OBLIGATION_RECORD
from portal.services.parties import find_municipality, find_party_by_reference

SORT_NAMES = {"relevans": "relevance", "relevance": "relevance", "dato": "date", "date": "date"}


@dataclass(frozen=True)
class SearchForm:
    """What came from the search page or the API, as text."""

    q: str = ""
    organisation: str = ""
    department: str = ""
    kind: str = ""
    year_from: str = ""
    year_to: str = ""
    visibility: str = ""
    sort: str = "relevance"
    page: str = "1"
    per_page: str = "20"

    @classmethod
    def from_args(cls, args: Any) -> "SearchForm":
        return cls(**{name: (args.get(name) or "").strip() for name in cls.__dataclass_fields__ if args.get(name)})


def _int(value: str, field: str, errors: dict[str, str], message: str) -> int | None:
    """A whole number that fits an index field (the engines refuse larger ones), else an error for `field`."""
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        errors[field] = message
        return None
    if abs(number) > MAX_INT:
        errors[field] = message
        return None
    return number


def build_query(actor: Actor, form: SearchForm) -> SearchQuery:
    """Validate the form into a query carrying the actor's access tokens."""
    errors: dict[str, str] = {}
    organisation_ids = None
    if form.organisation:
        party = find_party_by_reference(form.organisation)
        # An organisation the user may not see filters to nothing rather than revealing it exists.
        organisation_ids = [party.id if party is not None and access.can(actor, "party:read", party) else -1]
    department = _int(form.department, "department", errors, "Afdelingen skal angives med sit id.")
    year_from = _int(form.year_from, "year_from", errors, "Skriv et årstal.")
    year_to = _int(form.year_to, "year_to", errors, "Skriv et årstal.")
    page = _int(form.page, "page", errors, "Siden skal være et tal.") or 1
    per_page = _int(form.per_page, "per_page", errors, "Antal pr. side skal være et tal.") or 20
    kinds = None
    if form.kind:
        kinds = [k for k in form.kind.split(",") if k in DocumentKind._value2member_map_]
        if not kinds:
            errors["kind"] = "Ukendt dokumenttype."
    visibilities = None
    if form.visibility:
        # Only the municipality filters on visibility; for others it would only narrow their own view.
        if form.visibility not in Visibility._value2member_map_:
            errors["visibility"] = "Ukendt synlighed."
        elif access.can(actor, "search:filter_visibility", find_municipality()):
            visibilities = [form.visibility]
    sort = SORT_NAMES.get(form.sort or "relevance")
    if sort is None:
        errors["sort"] = "Sortér efter relevans eller dato."
    if errors:
        raise InvalidInput(fields=errors)
    return SearchQuery(
        text=form.q[:500], readers=access.search_filter(actor), organisation_ids=organisation_ids,
        department_ids=[department] if department is not None else None, kinds=kinds, year_from=year_from,
        year_to=year_to, visibilities=visibilities, sort=sort or "relevance", page=max(page, 1),
        per_page=min(max(per_page, 1), 100))


def search(actor: Actor, form: SearchForm) -> SearchResults:
    """Run the search for `actor`. Raises SearchUnavailable when the index does not answer.

    The index filters by the reader tokens its records carried when they were last indexed, and
    the indexer may be behind (a backlog, a dead job). So the page of hits is re-checked against
    the database before it is returned: whatever `actor` may no longer read (see `readable_hits`)
    is dropped, and the total and facet counts are lowered by what was dropped."""
    query = build_query(actor, form)
    index = search_index()
    results = _rechecked(actor, index.search(query))
    if results.suggestion is not None and not _suggestion_has_readable_hits(actor, index, query, results.suggestion):
        # "Did you mean" must not offer a word found only in what the user may no longer read.
        results = replace(results, suggestion=None)
    return results


def _rechecked(actor: Actor, results: SearchResults) -> SearchResults:
    """`results` without the hits `actor` may no longer read, with the counts adjusted.

    The counts are corrected for the hits of this page only: a stale record further down the
    list is still counted until its page is shown or the indexer catches up (which it does
    within seconds without a backlog). A dropped hit takes away one document from the total
    and, from each facet, the matching pages the engine returned for it (its best pages, all of
    them unless more than `pages_per_document` matched)."""
    if not results.hits:
        return results
    readable = readable_hits(actor, results.hits)
    dropped = [hit for hit in results.hits if (hit.record_type, hit.source_id) not in readable]
    kept = []
    for hit in results.hits:
        if (hit.record_type, hit.source_id) in readable:
            current = readable[(hit.record_type, hit.source_id)]
            # A copy (the engine may keep its results), with a document's title and visibility as they are now.
            kept.append(hit if current is None else replace(hit, title=current[0], visibility=current[1]))
    if not dropped:
        return SearchResults(total=results.total, hits=kept, facets=results.facets, suggestion=results.suggestion)
    facets = {name: dict(values) for name, values in results.facets.items()}
    for hit in dropped:
        pages = max(len(hit.pages), 1)
        for name, value in (("organisation", hit.organisation_id), ("kind", hit.kind), ("year", hit.year)):
            if value is None or name not in facets:
                continue
            key = str(value)
            left = facets[name].get(key, 0) - pages
            if left > 0:
                facets[name][key] = left
            else:
                facets[name].pop(key, None)
    return SearchResults(total=max(results.total - len(dropped), len(kept)), hits=kept, facets=facets,
                         suggestion=results.suggestion)


def readable_hits(actor: Actor, hits: list[DocumentHit]) -> dict[tuple[str, int], tuple[str, str] | None]:
    """Which of `hits` `actor` may read now, by (record type, id), in one query: documents by the
    document read clause (and not deleted), agreements by membership of their parties, obligations
    by the obligation read clause (and in force). A document's value is its current title and
    visibility; others have None."""
    by_type: dict[str, set[int]] = {}
    for hit in hits:
        by_type.setdefault(hit.record_type, set()).add(hit.source_id)
    selects = []
    if by_type.get(DOCUMENT_RECORD):
        selects.append(select(literal(DOCUMENT_RECORD, String).label("type"), Document.id.label("id"),
                              Document.title.label("title"), Document.visibility.label("visibility"))
                       .where(Document.id.in_(by_type[DOCUMENT_RECORD]), access.searchable_document_clause(actor)))
    if by_type.get(AGREEMENT_RECORD):
        selects.append(select(literal(AGREEMENT_RECORD, String), Agreement.id, null(), null())
                       .where(Agreement.id.in_(by_type[AGREEMENT_RECORD]), access.searchable_agreement_clause(actor)))
    if by_type.get(OBLIGATION_RECORD):
        selects.append(select(literal(OBLIGATION_RECORD, String), Obligation.id, null(), null())
                       .where(Obligation.id.in_(by_type[OBLIGATION_RECORD]),
                              access.searchable_obligation_clause(actor)))
    if not selects:
        return {}  # a record type this portal does not know: nothing to show
    statement = selects[0] if len(selects) == 1 else union_all(*selects)
    readable: dict[tuple[str, int], tuple[str, str] | None] = {}
    for record_type, object_id, title, visibility in db.session.execute(statement):
        readable[(record_type, object_id)] = (
            (title, Visibility(visibility).value) if record_type == DOCUMENT_RECORD else None)
    return readable


def _suggestion_has_readable_hits(actor: Actor, index: Any, query: SearchQuery, suggestion: str) -> bool:
    suggested = index.search(replace(query, text=suggestion, page=1))
    return bool(readable_hits(actor, suggested.hits))


HIT_TYPES = {DOCUMENT_RECORD: "document", AGREEMENT_RECORD: "agreement", OBLIGATION_RECORD: "obligation"}


@dataclass(frozen=True)
class HitTarget:
    """What a hit is and where it opens: a document at a page, an agreement, or an obligation's
    current due date."""

    type: str  # "document", "agreement" or "obligation"
    endpoint: str
    values: dict[str, Any]


def hit_targets(results: SearchResults, q: str = "") -> list[HitTarget]:
    """One target per hit, in order. An obligation opens at its first due date still open (or its
    latest one), found for all of the page's obligation hits in one query."""
    from portal.models import Occurrence
    from portal.services.obligations import OPEN_STATES

    obligation_ids = [h.source_id for h in results.hits if h.record_type == "obligation"]
    occurrences: dict[int, list[tuple[int, Any]]] = {}
    if obligation_ids:
        rows = db.session.execute(select(Occurrence.obligation_id, Occurrence.id, Occurrence.status)
                                  .where(Occurrence.obligation_id.in_(obligation_ids))
                                  .order_by(Occurrence.due_date, Occurrence.id))
        for obligation_id, occurrence_id, status in rows:
            occurrences.setdefault(obligation_id, []).append((occurrence_id, status))
    targets = []
    for hit in results.hits:
        kind = HIT_TYPES.get(hit.record_type, "document")
        if kind == "agreement":
            targets.append(HitTarget(kind, "agreements.show", {"agreement_id": hit.source_id}))
        elif kind == "obligation":
            found = occurrences.get(hit.source_id, [])
            current = next((oid for oid, status in found if status in OPEN_STATES), found[-1][0] if found else None)
            targets.append(HitTarget(kind, "obligations.show", {"occurrence_id": current}) if current is not None
                           else HitTarget(kind, "obligations.mine", {}))
        else:
            targets.append(HitTarget(kind, "viewer.show", {"document_id": hit.source_id,
                                                           "side": hit.pages[0].page if hit.pages else 1, "q": q}))
    return targets


def organisation_names(ids: list[str]) -> dict[str, str]:
    """Names for the organisation facet's ids (every id there is readable by the user already)."""
    numbers = [int(i) for i in ids if i.isdigit()]
    if not numbers:
        return {}
    return {str(pid): name for pid, name in db.session.execute(select(Party.id, Party.name).where(Party.id.in_(numbers)))}
