"""The isolation invariant: whatever happens to parties, memberships, documents, agreements and
obligations, every user sees through the API exactly what the access rules allow, no more and
no less: each document, file, agreement, search hit, total, facet count and snippet.

A Hypothesis state machine changes a small portal through the services and the API (new
organisations and users, memberships added, changed and removed, users deactivated, documents
of every visibility uploaded, their visibility changed, minutes published and withdrawn,
documents deleted and restored, agreements approved, obligations made), runs the index queue
through the real indexer after every step, and then asks the API as each user. Some stretches
run with the indexer paused (jobs left in the queue): visibility changes, deletions, membership
removals and deactivations must take effect at once all the same, as search re-checks its hits
against the database; the model then expects a search to find what the user may read both as
the index last saw it and as it is now. It also reads the HTML pages one user per step can
reach (document lists and their year filter, dialogue pages, the search page, the trash) and
checks that they show only the titles, counts and options the rules allow. What a user
should see comes from `Portal`, the rules of DESIGN.md restated here apart from portal/access.py,
and `access.can` must agree with them as well; so a rule broken in access.py, in the reader
tokens of the search records, or in a query or a route shows up as a difference.

Every searchable text carries a word found nowhere else, so each search has one exact answer
and any response that names a word of something the user may not read is a leak.

By default a few short runs keep `make test` fast; PORTAL_HYPOTHESIS_PROFILE=thorough runs many
longer ones.
"""

from __future__ import annotations

import copy
import hashlib
import io
import itertools
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select, text
from werkzeug.test import TestResponse

from indexer.runner import make_handler
from indexer.worker import Handler, run_one
from portal import access, create_app
from portal.access import SYSTEM
from portal.backends import close_backends
from portal.demo import demo_cvr
from portal.errors import Forbidden, InvalidInput, NotFound
from portal.extensions import db, make_engine
from portal.models import (
    Agreement,
    Base,
    Document,
    DocumentKind,
    Job,
    JobStatus,
    Membership,
    Obligation,
    Party,
    PartyKind,
    Role,
    User,
    Visibility,
)
from portal.search import analysis
from portal.services import agreements as agreement_service
from portal.services import dialogue as dialogue_service
from portal.services import documents as document_service
from portal.services import obligations as obligation_service
from portal.services import parties as party_service
from portal.services import users as user_service
from portal.services.auth import create_api_token
from portal.storage import key_for_digest
from portal.uow import unit_of_work
from tests.conftest import IsolatedClient
from tests.documents_helpers import make_pdf_pages
from tests.factories import PASSWORD, log_in

PROFILES = {
    # Each step is checked as every user over HTTP, which costs about half a second.
    "default": settings(max_examples=5, stateful_step_count=10),
    "thorough": settings(max_examples=150, stateful_step_count=40),
}
SETTINGS = settings(
    PROFILES.get(os.environ.get("PORTAL_HYPOTHESIS_PROFILE", "default"), PROFILES["default"]),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MAX_ORGANISATIONS = 3
MAX_USERS = 5
MAX_DOCUMENTS = 8
MAX_AGREEMENTS = 3
MAX_OBLIGATIONS = 4

EDIT_ROLES = {Role.EDITOR, Role.SIGNATORY, Role.ADMIN}
DOCUMENT_KINDS = [DocumentKind.REFERAT, DocumentKind.STYRINGSRAPPORT, DocumentKind.AFTALE, DocumentKind.BILAG]
UPLOAD_VISIBILITIES = [Visibility.PARTY, Visibility.DIALOGUE, Visibility.ALL_PARTIES]
YEARS = [2024, 2025]

# Made of consonants only: no Danish stem, stop word or compound part can be cut from them,
# so the analysis chain indexes each exactly as written and a search for one finds only it.
_CONSONANTS = "bcdfghjklmnprstvz"
COMMON_WORD = "xqxqxq"  # on every page, section and obligation: one search shows all a user may find


def unique_word(number: int) -> str:
    letters = "".join(_CONSONANTS[(number // len(_CONSONANTS) ** i) % len(_CONSONANTS)] for i in range(3))
    return f"qw{letters}xk"


# --- the model: what exists, and who may see it -------------------------------------------------

@dataclass(repr=False)
class UserModel:
    id: int
    email: str
    token: str
    roles: dict[int, Role] = field(default_factory=dict)
    active: bool = True

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how Hypothesis shows a drawn user
        printer.text(repr(self))

    def __repr__(self) -> str:
        roles = ", ".join(f"{pid}:{role.value}" for pid, role in sorted(self.roles.items())) or "no memberships"
        return f"<{self.email} ({roles}){'' if self.active else ' deactivated'}>"


@dataclass(repr=False)
class DocumentModel:
    id: int
    owner: int
    kind: DocumentKind
    visibility: Visibility
    year: int
    pages: int
    word: str
    content: bytes
    deleted: bool = False

    key = property(lambda self: ("document", self.id))

    _repr_pretty_ = UserModel._repr_pretty_

    def __repr__(self) -> str:
        state = " deleted" if self.deleted else ""
        return f"<document {self.id} of party {self.owner}, {self.kind.value}, {self.visibility.value}{state}>"


@dataclass(repr=False)
class AgreementModel:
    id: int
    parties: frozenset[int]
    organisations: frozenset[int]
    year: int
    word: str
    approved: set[int] = field(default_factory=set)

    key = property(lambda self: ("agreement", self.id))

    @property
    def active(self) -> bool:
        return self.approved >= self.parties

    _repr_pretty_ = UserModel._repr_pretty_

    def __repr__(self) -> str:
        return f"<agreement {self.id} between {sorted(self.parties)}{' active' if self.active else ''}>"


@dataclass(repr=False)
class ObligationModel:
    id: int
    responsible: int
    verifying: int
    organisation: int | None
    year: int
    word: str | None  # None for a dialogue's deadlines, whose titles are the same for every organisation
    agreement_id: int | None
    in_force: bool

    key = property(lambda self: ("obligation", self.id))

    _repr_pretty_ = UserModel._repr_pretty_

    def __repr__(self) -> str:
        kind = "obligation" if self.word else "deadline"
        pending = "" if self.in_force else ", pending"
        return f"<{kind} {self.id}: {self.responsible} reports to {self.verifying}{pending}>"


Item = DocumentModel | AgreementModel | ObligationModel


@dataclass
class Portal:
    """The state the machine built, and the rules of DESIGN.md for it, written out apart from
    portal/access.py so that a change there is measured against something else."""

    municipality: int
    organisations: list[int] = field(default_factory=list)
    users: list[UserModel] = field(default_factory=list)
    documents: list[DocumentModel] = field(default_factory=list)
    agreements: list[AgreementModel] = field(default_factory=list)
    obligations: list[ObligationModel] = field(default_factory=list)

    @property
    def parties(self) -> list[int]:
        return [self.municipality, *self.organisations]

    def items(self) -> list[Item]:
        return [*self.documents, *self.agreements, *self.obligations]

    def made_obligations(self) -> int:
        return sum(1 for o in self.obligations if o.word)

    def live_documents(self, kind: DocumentKind | None = None) -> list[DocumentModel]:
        return [d for d in self.documents if not d.deleted and kind in (None, d.kind)]

    # who reads what

    def reads(self, user: UserModel | None, item: Item) -> bool:
        if isinstance(item, DocumentModel):
            return self.reads_document(user, item)
        if user is None or not user.active:
            return False
        if isinstance(item, AgreementModel):
            return bool(item.parties & user.roles.keys())  # the users of its parties
        # the responsible and the verifying party, and the municipality, which follows every organisation
        return bool({item.responsible, item.verifying, self.municipality} & user.roles.keys())

    def reads_document(self, user: UserModel | None, doc: DocumentModel) -> bool:
        roles = user.roles if user is not None and user.active else {}
        if doc.deleted:  # only those who may restore it (the owner's admins and the municipality's) and saw it before
            return Role.ADMIN in (roles.get(doc.owner), roles.get(self.municipality)) and self.sees(user, doc)
        return self.sees(user, doc)

    def sees(self, user: UserModel | None, doc: DocumentModel) -> bool:
        """Whether the document's visibility lets `user` see it (deleted or not)."""
        logged_in = user is not None and user.active
        roles = user.roles if user is not None and user.active else {}
        if doc.visibility is Visibility.PUBLIC:
            return True
        if doc.visibility is Visibility.ALL_PARTIES:
            return logged_in
        if doc.visibility is Visibility.DIALOGUE:
            return doc.owner in roles or self.municipality in roles
        return doc.owner in roles

    def finds(self, user: UserModel | None, item: Item) -> bool:
        """Search shows what the user may read, except deleted documents and obligations not yet in force."""
        if isinstance(item, DocumentModel) and item.deleted:
            return False
        if isinstance(item, ObligationModel) and not item.in_force:
            return False
        return self.reads(user, item)

    def public_minutes(self, doc: DocumentModel) -> bool:
        return doc.kind is DocumentKind.REFERAT and doc.visibility is Visibility.PUBLIC and not doc.deleted

    # who does what

    def reads_party(self, user: UserModel, party_id: int) -> bool:
        if party_id == self.municipality:
            return user.active
        return user.active and (party_id in user.roles or self.municipality in user.roles)

    def may_upload(self, user: UserModel, party_id: int) -> bool:
        if not user.active:
            return False
        if user.roles.get(party_id) in EDIT_ROLES:
            return True
        return party_id != self.municipality and user.roles.get(self.municipality) in EDIT_ROLES

    def may_publish(self, user: UserModel, doc: DocumentModel) -> bool:
        """The municipality's editors publish minutes of the dialogue."""
        return (user.active and user.roles.get(self.municipality) in EDIT_ROLES and not doc.deleted
                and doc.kind is DocumentKind.REFERAT and doc.visibility is not Visibility.PARTY)

    def may_update(self, user: UserModel, doc: DocumentModel) -> bool:
        """The owner's editors, and the municipality's for an organisation's shared documents; published
        minutes are frozen: only the municipality's editors change them."""
        if not user.active or doc.deleted or not self.reads(user, doc):
            return False
        municipality_editor = user.roles.get(self.municipality) in EDIT_ROLES
        if doc.kind is DocumentKind.REFERAT and doc.visibility is Visibility.PUBLIC:
            return municipality_editor
        return user.roles.get(doc.owner) in EDIT_ROLES or (
            municipality_editor and doc.owner != self.municipality and doc.visibility is not Visibility.PARTY)

    def may_set_visibility(self, user: UserModel, doc: DocumentModel, visibility: Visibility) -> bool:
        """The owner chooses freely; the municipality may only narrow an organisation's choice to the dialogue."""
        if visibility is doc.visibility or user.roles.get(doc.owner) in EDIT_ROLES:
            return True
        order = [Visibility.PARTY, Visibility.DIALOGUE, Visibility.ALL_PARTIES, Visibility.PUBLIC]
        return visibility is Visibility.DIALOGUE and order.index(doc.visibility) > order.index(Visibility.DIALOGUE)

    def keeps_an_admin(self, user: UserModel, party_id: int) -> bool:
        """Whether `user` may stop being an admin of `party_id`: another active admin remains."""
        return user.roles.get(party_id) is not Role.ADMIN or any(
            other is not user and other.active and other.roles.get(party_id) is Role.ADMIN for other in self.users)

    # what a search finds

    def records(self, item: Item) -> tuple[int, int | None, str, int]:
        """How many search records `item` has, and the organisation, kind and year each carries."""
        if isinstance(item, DocumentModel):
            return item.pages, item.owner, item.kind.value, item.year
        if isinstance(item, AgreementModel):
            single = next(iter(item.organisations)) if len(item.organisations) == 1 else None
            return 1, single, "aftale", item.year
        return 1, item.organisation, "forpligtelse", item.year

    def facets(self, items: list[Item]) -> dict[str, dict[str, int]]:
        organisation: Counter[str] = Counter()
        kind: Counter[str] = Counter()
        year: Counter[str] = Counter()
        for item in items:
            pages, org, kind_value, year_value = self.records(item)
            if org is not None:
                organisation[str(org)] += pages
            kind[kind_value] += pages
            year[str(year_value)] += pages
        return {"organisation": dict(organisation), "kind": dict(kind), "year": dict(year)}


def hit_key(hit: dict[str, Any]) -> tuple[str, int]:
    return hit["type"], hit["id"]


# --- a fresh portal per example ---------------------------------------------------------------

@dataclass
class PortalFactory:
    """Makes an app on an empty database, store and index for each example, and tears it down."""

    app_config: dict[str, object]
    sqlite_template: Path
    root: Path
    handle: Handler
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def new_app(self) -> tuple[Flask, Path]:
        folder = self.root / f"example-{next(self._numbers)}"
        folder.mkdir(parents=True)
        url = str(self.app_config["database_url"])
        if url.startswith("sqlite"):
            shutil.copy(self.sqlite_template, folder / "portal.sqlite3")
            url = f"sqlite:///{folder / 'portal.sqlite3'}"
        else:
            _empty_postgres(url)
        app = create_app({**self.app_config, "database_url": url, "storage_url": str(folder / "objects"),
                          "search_url": str(folder / "search"), "instance_dir": folder / "instance"})
        app.test_client_class = IsolatedClient
        return app, folder

    @staticmethod
    def discard(app: Flask, folder: Path) -> None:
        close_backends(app)
        app.extensions["database"].dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


# --- the state machine ----------------------------------------------------------------------------

class IsolationMachine(RuleBasedStateMachine):
    factory: PortalFactory  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.app, self.folder = self.factory.new_app()
        self.context = self.app.app_context()
        self.context.push()
        self.client: FlaskClient = self.app.test_client()
        self.portal: Portal | None = None
        self.numbers = itertools.count(1)
        self.max_size = self.app.config["PORTAL"].max_upload_bytes
        self.guessed: set[tuple[int, Visibility, bool]] = set()
        self.last_checked: dict[tuple[str, int], str] = {}
        # While paused, index jobs stay queued; `indexed` is each item as the index last saw it.
        self.paused = False
        self.indexed: dict[tuple[str, int], Item] = {}
        self.dialogues: dict[int, int] = {}  # organisation → its 2025 dialogue
        self.checks = itertools.count()

    def teardown(self) -> None:
        db.session.rollback()
        self.context.pop()
        self.factory.discard(self.app, self.folder)

    @property
    def model(self) -> Portal:
        assert self.portal is not None
        return self.portal

    # --- arranging ---------------------------------------------------------------------------

    @initialize(data=st.data(), municipality_role=st.sampled_from(Role), organisation_role=st.sampled_from(Role),
                company_roles=st.tuples(st.sampled_from(Role), st.sampled_from(Role)))
    def found_the_portal(self, data: st.DataObject, municipality_role: Role, organisation_role: Role,
                         company_roles: tuple[Role, Role]) -> None:
        """The municipality and two organisations, a user of each and an administration company's
        employee who serves both; a document of each visibility, published minutes, a deleted document,
        an agreement with an obligation, and a dialogue meeting's obligation, so that every check has
        something to look at from the first step."""
        with unit_of_work():
            municipality = party_service.create_party(SYSTEM, kind=PartyKind.MUNICIPALITY, name="Fjordby Kommune",
                                                      cvr=demo_cvr(900), municipality_name="Fjordby")
        self.portal = Portal(municipality=municipality.id)
        self._new_organisation()
        self._new_organisation()
        first, second = self.model.organisations
        self._new_user({municipality.id: municipality_role})
        self._new_user({first: organisation_role})
        self._new_user({first: company_roles[0], second: company_roles[1]})
        for visibility in UPLOAD_VISIBILITIES:
            owner = data.draw(st.sampled_from(self.model.parties), label=f"owner of a {visibility.value} document")
            self._upload(owner, data.draw(st.sampled_from(DOCUMENT_KINDS), label="kind"), visibility, 2025, 1)
        minutes = self._upload(data.draw(st.sampled_from(self.model.organisations), label="owner of the minutes"),
                               DocumentKind.REFERAT, Visibility.DIALOGUE, 2024, 2)
        with unit_of_work():
            document_service.publish_document(SYSTEM, minutes.id)
        minutes.visibility = Visibility.PUBLIC
        deleted = self._upload(data.draw(st.sampled_from(self.model.parties), label="owner of a deleted document"),
                               DocumentKind.BILAG, data.draw(st.sampled_from(UPLOAD_VISIBILITIES), label="visibility"),
                               2025, 1)
        with unit_of_work():
            document_service.delete_document(SYSTEM, deleted.id)
        deleted.deleted = True
        self._new_agreement(data.draw(st.sets(st.sampled_from(self.model.organisations), min_size=1),
                                      label="organisations of the agreement"), 2025)
        self._new_agreement_obligation(data, self.model.agreements[0], 2025)
        self._new_meeting_obligation(first, organisation_responsible=data.draw(st.booleans(), label="organisation's"))

    @precondition(lambda self: len(self.model.organisations) < MAX_ORGANISATIONS)
    @rule()
    def add_organisation(self) -> None:
        self._new_organisation()

    def _new_organisation(self) -> None:
        number = next(self.numbers)
        with unit_of_work():
            party = party_service.create_party(SYSTEM, kind=PartyKind.ORGANISATION, name=f"Boligselskab {number}",
                                               cvr=demo_cvr(900 + number))
        self.model.organisations.append(party.id)

    @precondition(lambda self: len(self.model.users) < MAX_USERS)
    @rule(data=st.data())
    def add_user(self, data: st.DataObject) -> None:
        roles = data.draw(st.dictionaries(st.sampled_from(self.model.parties), st.sampled_from(Role), min_size=1,
                                          max_size=2), label="memberships")
        self._new_user(roles)

    def _new_user(self, roles: dict[int, Role]) -> None:
        email = f"bruger{next(self.numbers)}@example.dk"
        with unit_of_work():
            for party_id, role in roles.items():
                created = user_service.invite_user(SYSTEM, db.session.get(Party, party_id), email=email,
                                                   name=email.split("@")[0], role=role, password=PASSWORD)
            token = create_api_token(SYSTEM, created.user)
        self.model.users.append(UserModel(id=created.user.id, email=email, token=token, roles=dict(roles)))

    @precondition(lambda self: any(len(u.roles) < len(self.model.parties) for u in self.model.users))
    @rule(data=st.data(), role=st.sampled_from(Role))
    def add_membership(self, data: st.DataObject, role: Role) -> None:
        user = data.draw(st.sampled_from([u for u in self.model.users if len(u.roles) < len(self.model.parties)]),
                         label="user")
        party_id = data.draw(st.sampled_from([p for p in self.model.parties if p not in user.roles]), label="party")
        with unit_of_work():
            user_service.invite_user(SYSTEM, db.session.get(Party, party_id), email=user.email, name="", role=role)
        user.roles[party_id] = role

    @precondition(lambda self: any(u.roles for u in self.model.users))
    @rule(data=st.data(), role=st.sampled_from(Role))
    def change_role(self, data: st.DataObject, role: Role) -> None:
        user, party_id = self._draw_membership(data)
        allowed = role is Role.ADMIN or self.model.keeps_an_admin(user, party_id)
        self._expect(allowed, lambda: user_service.change_role(SYSTEM, self._membership_id(user, party_id), role))
        if allowed:
            user.roles[party_id] = role

    @precondition(lambda self: any(u.roles for u in self.model.users))
    @rule(data=st.data(), with_indexer_paused=st.booleans())
    def remove_membership(self, data: st.DataObject, with_indexer_paused: bool) -> None:
        self.paused |= with_indexer_paused
        user, party_id = self._draw_membership(data)
        allowed = self.model.keeps_an_admin(user, party_id)
        self._expect(allowed, lambda: user_service.remove_membership(SYSTEM, self._membership_id(user, party_id)))
        if allowed:
            del user.roles[party_id]

    @precondition(lambda self: any(u.active for u in self.model.users))
    @rule(data=st.data(), with_indexer_paused=st.booleans())
    def deactivate_user(self, data: st.DataObject, with_indexer_paused: bool) -> None:
        self.paused |= with_indexer_paused
        user = data.draw(st.sampled_from([u for u in self.model.users if u.active]), label="user")
        allowed = all(self.model.keeps_an_admin(user, pid) for pid in user.roles)
        self._expect(allowed, lambda: user_service.set_user_active(SYSTEM, user.id, False))
        if allowed:
            user.active = False

    @precondition(lambda self: any(not u.active for u in self.model.users))
    @rule(data=st.data())
    def reactivate_user(self, data: st.DataObject) -> None:
        user = data.draw(st.sampled_from([u for u in self.model.users if not u.active]), label="user")
        with unit_of_work():
            reactivated = user_service.set_user_active(SYSTEM, user.id, True)
            # Deactivation revoked the old token; a reactivated user makes a new one.
            user.token = create_api_token(SYSTEM, reactivated)
        user.active = True

    def _draw_membership(self, data: st.DataObject) -> tuple[UserModel, int]:
        user = data.draw(st.sampled_from([u for u in self.model.users if u.roles]), label="user")
        return user, data.draw(st.sampled_from(sorted(user.roles)), label="party")

    def _membership_id(self, user: UserModel, party_id: int) -> int:
        membership_id = db.session.scalar(select(Membership.id).where(Membership.user_id == user.id,
                                                                      Membership.party_id == party_id))
        assert membership_id is not None
        return membership_id

    @staticmethod
    def _expect(allowed: bool, change: Callable[[], object]) -> None:
        """Run `change`; it must succeed when `allowed`, else be refused as keeping a party without an admin."""
        if allowed:
            with unit_of_work():
                change()
            return
        with pytest.raises(InvalidInput):
            with unit_of_work():
                change()

    # --- documents ---------------------------------------------------------------------------

    def _new_document(self, kind: DocumentKind, visibility: Visibility, year: int,
                      pages: int) -> tuple[str, dict[str, str], bytes]:
        """A unique word, the upload's fields, and a PDF with the word on every page."""
        number = next(self.numbers)
        word = unique_word(number)
        content = make_pdf_pages([f"{COMMON_WORD} {word} side {page}" for page in range(1, pages + 1)])
        # The title carries the word too, so a page that shows a title the user may not see names the word.
        fields = {"kind": kind.value, "year": str(year), "title": f"Dokument {word}", "visibility": visibility.value}
        return word, fields, content

    @precondition(lambda self: len(self.model.documents) < MAX_DOCUMENTS)
    @rule(data=st.data(), kind=st.sampled_from(DOCUMENT_KINDS), visibility=st.sampled_from(UPLOAD_VISIBILITIES),
          year=st.sampled_from(YEARS), pages=st.integers(1, 2))
    def upload_document(self, data: st.DataObject, kind: DocumentKind, visibility: Visibility, year: int,
                        pages: int) -> None:
        self._upload(data.draw(st.sampled_from(self.model.parties), label="owner"), kind, visibility, year, pages)

    def _upload(self, owner: int, kind: DocumentKind, visibility: Visibility, year: int, pages: int) -> DocumentModel:
        word, fields, content = self._new_document(kind, visibility, year, pages)
        with unit_of_work():
            document = document_service.upload_document(SYSTEM, owner, fields, io.BytesIO(content), "dokument.pdf",
                                                        max_size=self.max_size)
        doc = DocumentModel(document.id, owner, kind, visibility, year, pages, word, content)
        self.model.documents.append(doc)
        return doc

    @precondition(lambda self: len(self.model.documents) < MAX_DOCUMENTS)
    @rule(data=st.data(), kind=st.sampled_from(DOCUMENT_KINDS), visibility=st.sampled_from(UPLOAD_VISIBILITIES),
          year=st.sampled_from(YEARS), pages=st.integers(1, 2))
    def upload_document_through_the_api(self, data: st.DataObject, kind: DocumentKind, visibility: Visibility,
                                        year: int, pages: int) -> None:
        user = data.draw(st.sampled_from(self.model.users), label="uploader")
        owner = data.draw(st.sampled_from(self.model.parties), label="owner")
        word, fields, content = self._new_document(kind, visibility, year, pages)
        response = self.client.post("/api/v1/documents", headers=self._auth(user), content_type="multipart/form-data",
                                    data={**fields, "organisation": str(owner),
                                          "file": (io.BytesIO(content), "dokument.pdf")})
        if not user.active:
            expected = 401
        elif not self.model.reads_party(user, owner):
            expected = 404
        else:
            expected = 201 if self.model.may_upload(user, owner) else 403
        assert response.status_code == expected, (user, owner, response.get_data(as_text=True)[:300])
        if expected == 201:
            self.model.documents.append(DocumentModel(response.json["id"], owner, kind, visibility, year, pages, word,
                                                      content))

    @precondition(lambda self: self.model.live_documents())
    @rule(data=st.data(), visibility=st.sampled_from(UPLOAD_VISIBILITIES), with_indexer_paused=st.booleans())
    def change_visibility(self, data: st.DataObject, visibility: Visibility, with_indexer_paused: bool) -> None:
        self.paused |= with_indexer_paused
        doc = data.draw(st.sampled_from(self.model.live_documents()), label="document")
        with unit_of_work():
            document_service.update_metadata(SYSTEM, doc.id, {"visibility": visibility.value})
        doc.visibility = visibility

    @precondition(lambda self: self.model.live_documents())
    @rule(data=st.data(), visibility=st.sampled_from(UPLOAD_VISIBILITIES), with_indexer_paused=st.booleans())
    def change_visibility_as_a_user(self, data: st.DataObject, visibility: Visibility,
                                    with_indexer_paused: bool) -> None:
        """A drawn user edits a document's visibility: refused unless they may change the document at all
        (published minutes only by the municipality) and, if they are not the owner, only narrowing it."""
        self.paused |= with_indexer_paused
        doc = data.draw(st.sampled_from(self.model.live_documents()), label="document")
        user = data.draw(st.sampled_from(self.model.users), label="editor")
        db.session.expire_all()
        actor = db.session.get(User, user.id)
        change = {"visibility": visibility.value}
        if not self.model.may_update(user, doc):
            with pytest.raises(NotFound if not self.model.reads(user, doc) else Forbidden):
                with unit_of_work():
                    document_service.update_metadata(actor, doc.id, change)
            return
        if not self.model.may_set_visibility(user, doc, visibility):
            with pytest.raises(InvalidInput):
                with unit_of_work():
                    document_service.update_metadata(actor, doc.id, change)
            return
        with unit_of_work():
            document_service.update_metadata(actor, doc.id, change)
        doc.visibility = visibility

    @precondition(lambda self: self.model.live_documents(DocumentKind.REFERAT))
    @rule(data=st.data(), as_municipality_editor=st.booleans())
    def publish_minutes(self, data: st.DataObject, as_municipality_editor: bool) -> None:
        """Publishing is the municipality editors' (when a user is drawn who may not, it must be refused)."""
        doc = data.draw(st.sampled_from(self.model.live_documents(DocumentKind.REFERAT)), label="minutes")
        editors = [u for u in self.model.users if self.model.may_publish(u, doc)]
        user = data.draw(st.sampled_from(editors if as_municipality_editor and editors else self.model.users),
                         label="publisher")
        db.session.expire_all()
        actor = db.session.get(User, user.id)
        if not self.model.may_publish(user, doc):
            with pytest.raises((NotFound, Forbidden)):
                with unit_of_work():
                    document_service.publish_document(actor, doc.id)
            return
        with unit_of_work():
            document_service.publish_document(actor, doc.id)
        doc.visibility = Visibility.PUBLIC

    @precondition(lambda self: any(d.visibility is Visibility.PUBLIC for d in self.model.live_documents()))
    @rule(data=st.data())
    def unpublish_minutes(self, data: st.DataObject) -> None:
        published = [d for d in self.model.live_documents() if d.visibility is Visibility.PUBLIC]
        doc = data.draw(st.sampled_from(published), label="minutes")
        with unit_of_work():
            document_service.unpublish_document(SYSTEM, doc.id)
        doc.visibility = Visibility.DIALOGUE

    @precondition(lambda self: self.model.live_documents())
    @rule(data=st.data(), with_indexer_paused=st.booleans())
    def delete_document(self, data: st.DataObject, with_indexer_paused: bool) -> None:
        self.paused |= with_indexer_paused
        doc = data.draw(st.sampled_from(self.model.live_documents()), label="document")
        with unit_of_work():
            document_service.delete_document(SYSTEM, doc.id)
        doc.deleted = True

    @precondition(lambda self: any(d.deleted for d in self.model.documents))
    @rule(data=st.data())
    def restore_document(self, data: st.DataObject) -> None:
        doc = data.draw(st.sampled_from([d for d in self.model.documents if d.deleted]), label="document")
        with unit_of_work():
            document_service.restore_document(SYSTEM, doc.id)
        doc.deleted = False

    # --- agreements and obligations -------------------------------------------------------------

    @precondition(lambda self: len(self.model.agreements) < MAX_AGREEMENTS)
    @rule(data=st.data(), year=st.sampled_from(YEARS))
    def make_agreement(self, data: st.DataObject, year: int) -> None:
        self._new_agreement(data.draw(st.sets(st.sampled_from(self.model.organisations), min_size=1),
                                      label="organisations"), year)

    def _new_agreement(self, organisations: set[int], year: int) -> None:
        number = next(self.numbers)
        word = unique_word(number)
        with unit_of_work():
            agreement = agreement_service.create_agreement(SYSTEM, {
                "title": f"Aftale {number}", "type": "andet", "organisations": sorted(organisations),
                "term_start": f"{year}-01-01"})
            section = agreement_service.get_revision(agreement).content["order"][0]
            agreement_service.update_agreement(SYSTEM, agreement.id, {section: {"text": f"{COMMON_WORD} {word}"}},
                                               base_revision=1)
        self.model.agreements.append(AgreementModel(agreement.id, frozenset({self.model.municipality, *organisations}),
                                                    frozenset(organisations), year, word))

    @precondition(lambda self: any(not a.active for a in self.model.agreements))
    @rule(data=st.data())
    def approve_agreement(self, data: st.DataObject) -> None:
        """Each party's signatory approves through the API (a drawn user is made one where a party has
        none); once every party has, the agreement's obligations come into force."""
        agreement = data.draw(st.sampled_from([a for a in self.model.agreements if not a.active]), label="agreement")
        head = db.session.get(Agreement, agreement.id).head
        for party_id in sorted(agreement.parties - agreement.approved):
            signatory = self._signatory(data, party_id)
            if signatory is None:
                continue
            response = self.client.post(f"/api/v1/agreements/{agreement.id}/approvals", json={"revision": head},
                                        headers=self._auth(signatory))
            assert response.status_code == 201, (signatory, agreement, response.get_data(as_text=True)[:300])
            signs_for = {pid for pid, role in signatory.roles.items() if role is Role.SIGNATORY}
            agreement.approved |= signs_for & agreement.parties
        if agreement.active:
            for obligation in self.model.obligations:
                obligation.in_force = obligation.in_force or obligation.agreement_id == agreement.id

    def _signatory(self, data: st.DataObject, party_id: int) -> UserModel | None:
        found = next((u for u in self.model.users if u.active and u.roles.get(party_id) is Role.SIGNATORY), None)
        if found is not None:
            return found
        user = data.draw(st.sampled_from([u for u in self.model.users if u.active] or [None]), label="new signatory")
        if user is None or not self.model.keeps_an_admin(user, party_id):
            return None
        with unit_of_work():
            if party_id in user.roles:
                user_service.change_role(SYSTEM, self._membership_id(user, party_id), Role.SIGNATORY)
            else:
                user_service.invite_user(SYSTEM, db.session.get(Party, party_id), email=user.email, name="",
                                         role=Role.SIGNATORY)
        user.roles[party_id] = Role.SIGNATORY
        return user

    @precondition(lambda self: self.model.agreements and self.model.made_obligations() < MAX_OBLIGATIONS)
    @rule(data=st.data(), year=st.sampled_from(YEARS))
    def make_agreement_obligation(self, data: st.DataObject, year: int) -> None:
        self._new_agreement_obligation(data, data.draw(st.sampled_from(self.model.agreements), label="agreement"), year)

    def _new_agreement_obligation(self, data: st.DataObject, agreement: AgreementModel, year: int) -> None:
        """An obligation between two of the agreement's parties; in force once the agreement is active."""
        responsible = data.draw(st.sampled_from(sorted(agreement.parties)), label="responsible")
        verifying = data.draw(st.sampled_from(sorted(agreement.parties - {responsible})), label="verifying")
        word = unique_word(next(self.numbers))
        with unit_of_work():
            obligation = obligation_service.create_obligation(SYSTEM, agreement.id, None, {
                "title": f"Forpligtelse {word}", "description": COMMON_WORD, "responsible_party": responsible,
                "verifying_party": verifying, "first_due": f"{year}-06-30"})
        self._add_obligation(obligation.id, responsible, verifying, year, word, agreement.id, agreement.active)

    @precondition(lambda self: self.model.made_obligations() < MAX_OBLIGATIONS)
    @rule(data=st.data(), organisation_responsible=st.booleans())
    def make_meeting_obligation(self, data: st.DataObject, organisation_responsible: bool) -> None:
        self._new_meeting_obligation(data.draw(st.sampled_from(self.model.organisations), label="organisation"),
                                     organisation_responsible=organisation_responsible)

    def _new_meeting_obligation(self, organisation: int, *, organisation_responsible: bool) -> None:
        """An agreement made at an organisation's dialogue meeting, in force at once."""
        responsible, verifying = ((organisation, self.model.municipality) if organisation_responsible
                                  else (self.model.municipality, organisation))
        word = unique_word(next(self.numbers))
        with unit_of_work():
            opened = dialogue_service.find_dialogue(organisation, 2025) is None
            dialogue = dialogue_service.open_dialogue(SYSTEM, organisation, 2025)
            self.dialogues[organisation] = dialogue.id
            if dialogue.meeting is None:
                dialogue_service.plan_meeting(SYSTEM, dialogue.id, {"starts_at": "2025-05-01T10:00"})
            obligation = dialogue_service.add_meeting_agreement(SYSTEM, dialogue.id, {
                "title": f"Forpligtelse {word}", "description": COMMON_WORD, "responsible_party": responsible,
                "first_due": "2025-12-31"})
        if opened:  # the dialogue's deadlines are obligations of the organisation and the municipality too
            for deadline in db.session.scalars(select(Obligation).where(Obligation.dialogue_id == dialogue.id)):
                self._add_obligation(deadline.id, deadline.responsible_party_id, deadline.verifying_party_id,
                                     deadline.first_due.year, None, None, True)
        self._add_obligation(obligation.id, responsible, verifying, 2025, word, None, True)

    def _add_obligation(self, obligation_id: int, responsible: int, verifying: int, year: int, word: str | None,
                        agreement_id: int | None, in_force: bool) -> None:
        organisation = None if responsible == self.model.municipality else responsible
        self.model.obligations.append(ObligationModel(obligation_id, responsible, verifying, organisation, year, word,
                                                      agreement_id, in_force))

    # --- the indexer ------------------------------------------------------------------------------

    # Each rule with `with_indexer_paused` may pause the indexer before its change: from then on index
    # jobs stay in the queue, as under a backlog or with the workers down, until this rule runs.

    @precondition(lambda self: self.paused)
    @rule()
    def resume_indexer(self) -> None:
        self.paused = False

    def found(self, user: UserModel, item: Item) -> bool:
        """What a search shows: readable as the index last saw the item (its reader tokens; the user's
        own tokens are always current) and readable now (the re-check against the database)."""
        seen = self.indexed.get(item.key)
        return seen is not None and self.model.finds(user, seen) and self.model.finds(user, item)

    # --- the invariant ---------------------------------------------------------------------------

    @invariant()
    def everyone_sees_exactly_what_the_rules_allow(self) -> None:
        if self.portal is None:
            return
        if not self.paused:
            self._drain()
            self.indexed = {item.key: copy.deepcopy(item) for item in self.model.items()}
        db.session.rollback()  # forget what this session read before the requests and the worker changed it
        self._policy_agrees_with_the_rules()
        changed = [item for item in self.model.items() if self.last_checked.get(item.key) != repr(item)]
        for user in self.model.users:
            if user.active:
                self._sees_exactly(user, changed)
            else:
                self._is_shut_out(user)
        self._anonymous_sees_only_published_minutes()
        active = [user for user in self.model.users if user.active]
        if active:  # one user's pages per step, in turn, for time's sake
            self._pages_show_only_what_the_rules_allow(active[next(self.checks) % len(active)])
        self.last_checked.update((item.key, repr(item)) for item in changed)

    def _drain(self) -> None:
        while run_one("isolation-test", self.factory.handle) is not None:
            pass
        unfinished = db.session.execute(select(Job.kind, Job.object_id, Job.last_error)
                                        .where(Job.status != JobStatus.DONE)).all()
        assert not unfinished, unfinished

    def _policy_agrees_with_the_rules(self) -> None:
        actors: list[tuple[UserModel | None, User | None]] = [(None, None)]
        actors += [(user, db.session.get(User, user.id)) for user in self.model.users]
        objects = {item.key: self._row(item) for item in self.model.items()}
        for user, actor in actors:
            for item in self.model.items():
                action = f"{item.key[0]}:read"
                assert access.can(actor, action, objects[item.key]) == self.model.reads(user, item), (
                    f"access.can({user}, {action!r}, {item}) disagrees with the rules")

    @staticmethod
    def _row(item: Item) -> object:
        model = {DocumentModel: Document, AgreementModel: Agreement, ObligationModel: Obligation}[type(item)]
        return db.session.get(model, item.id)

    def _auth(self, user: UserModel) -> dict[str, str]:
        return {"Authorization": f"Bearer {user.token}"}

    def _get(self, user: UserModel | None, path: str, **options: Any) -> TestResponse:
        headers = {**(self._auth(user) if user else {}), **options.pop("headers", {})}
        return self.client.get(path, headers=headers, **options)

    def _sees_exactly(self, user: UserModel, changed: list[Item]) -> None:
        """Every document, file and agreement by id, the list of obligations, and the searches for
        everything; the searches for each item's own word (and a misspelling of it), and made-up
        links to hidden files, only for the items this step made or changed, for time's sake (the
        checks before show each item to exactly the right users already)."""
        model = self.model
        hidden = [item for item in model.items() if not model.finds(user, item) and item.word]
        hidden_words = [item.word for item in hidden]

        def no_leak(response: TestResponse, what: str, allowed: tuple[str, ...] = ()) -> None:
            body = response.get_data(as_text=True)
            leaked = [w for w in hidden_words if w in body and w not in allowed]
            sources = [item for item in hidden if item.word in leaked]
            assert not leaked, f"{user} {what}: the answer names {leaked}, from {sources}"

        for doc in model.documents:
            readable = model.reads(user, doc)
            response = self._get(user, f"/api/v1/documents/{doc.id}")
            assert response.status_code == (200 if readable else 404), (user, doc, response.status_code)
            if readable:
                assert response.json["visibility"] == doc.visibility.value, (user, doc, response.json)
            no_leak(response, f"GET document {doc.id}", (doc.word,) if readable else ())  # its title names its word
            response = self._get(user, f"/api/v1/documents/{doc.id}/file")
            if readable:
                assert response.status_code == 200 and response.data == doc.content, (user, doc, response.status_code)
            else:
                assert response.status_code == 404, (user, doc, response.status_code)
                assert doc.word.encode() not in response.data
                if doc in changed:
                    self._guessed_links_fail(user, doc)
        for agreement in model.agreements:
            readable = model.reads(user, agreement)
            response = self._get(user, f"/api/v1/agreements/{agreement.id}")
            assert response.status_code == (200 if readable else 404), (user, agreement, response.status_code)
            if readable:
                assert agreement.word in response.json["sections"][0]["text"]
            no_leak(response, f"GET agreement {agreement.id}")

        response = self._get(user, "/api/v1/obligations")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        listed = sorted({row["obligation_id"] for row in response.json["obligations"]})
        in_force = sorted(o.id for o in model.obligations if model.finds(user, o))
        assert listed == in_force, (user, listed, model.obligations)
        no_leak(response, "listing obligations")

        findable = [item for item in model.items() if self.found(user, item)]
        self._search(user, "", findable, no_leak)  # no words: everything the user may find, newest first
        self._search(user, COMMON_WORD, [item for item in findable if item.word], no_leak)
        for item in changed:
            if item.word:
                self._search(user, item.word, [item] if self.found(user, item) else [], no_leak)
                # Misspelt, it finds nothing, and "did you mean" must not offer a word the user may not see.
                self._search(user, item.word[:-1], [], no_leak)

    def _search(self, user: UserModel, q: str, expected: list[Item],
                no_leak: Callable[[TestResponse, str], None]) -> None:
        response = self._get(user, "/api/v1/search", query_string={"q": q, "per_page": "100"})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        result = response.json
        found = sorted(hit_key(hit) for hit in result["hits"])
        wanted = sorted(item.key for item in expected)
        assert found == wanted, f"{user} searching {q!r} found {found}, should find {wanted}: {self.model.items()}"
        assert result["total"] == len(expected), (user, q, result["total"], expected)
        assert result["facets"] == self.model.facets(expected), (user, q, result["facets"], expected)
        by_key = {item.key: item for item in expected}
        for hit in result["hits"]:
            item = by_key[hit_key(hit)]
            for snippet in [hit["snippet"], *(page["snippet"] for page in hit["pages"])]:
                assert item.word is None or item.word in snippet, (user, q, item, snippet)
        no_leak(response, f"searching {q!r}")

    def _pages_show_only_what_the_rules_allow(self, user: UserModel) -> None:
        """The HTML pages `user` reaches after logging in: each party's document list (and its year
        filter), each organisation's dialogue page, the trash where the user administers, and the search
        page. A title on them names a document's word, so a word of a document the page must not show
        is a leak, and a missing word of one it must show is a loss."""
        model = self.model
        client = self.app.test_client()
        log_in(client, user.email, PASSWORD)
        listed = [d for d in model.documents if not d.deleted and model.reads(user, d)]
        unlisted = [d.word for d in model.documents if d not in listed]

        def shows(path: str, wanted: list[DocumentModel], forbidden: list[str]) -> str:
            response = client.get(path)
            assert response.status_code == 200, (user, path, response.status_code)
            body = response.get_data(as_text=True)
            leaked = [w for w in forbidden if w in body]
            assert not leaked, f"{user} sees {leaked} on {path}: {model.documents}"
            missing = [d for d in wanted if d.word not in body]
            assert not missing, f"{user} misses {missing} on {path}"
            return body

        for party_id in model.parties:
            if not model.reads_party(user, party_id):
                continue
            own = [d for d in listed if d.owner == party_id]
            body = shows(f"/parter/{party_id}/dokumenter", own, unlisted)
            years = set(re.findall(r'<option value="(\d{4})"', body))
            assert years == {str(d.year) for d in own}, (user, party_id, years, own)
            if Role.ADMIN in (user.roles.get(party_id), user.roles.get(model.municipality)):
                trash = [d for d in model.documents if d.deleted and model.reads(user, d) and d.owner == party_id]
                shows(f"/parter/{party_id}/papirkurv", trash,
                      [d.word for d in model.documents if not (d.deleted and model.reads(user, d))])
            dialogue_id = self.dialogues.get(party_id)
            if dialogue_id is not None:
                package = [d for d in own if d.year == 2025 and d.kind is DocumentKind.STYRINGSRAPPORT]
                shows(f"/styringsdialog/{dialogue_id}", package, unlisted)
        found = [item for item in model.items() if self.found(user, item)]
        body = shows(f"/soeg?q={COMMON_WORD}&per_page=100", [i for i in found if isinstance(i, DocumentModel)],
                     [item.word for item in model.items() if item.word and not model.finds(user, item)])
        with_word = [item for item in found if item.word]
        heading = f"<h2>{len(with_word)} dokument{'' if len(with_word) == 1 else 'er'}</h2>"
        assert heading in body, (user, heading, with_word)

    def _guessed_links_fail(self, user: UserModel | None, doc: DocumentModel) -> None:
        """Links to a hidden document's bytes made up from its id, a version number or its stored
        object's key. Only the API's own link depends on who asks; the others are tried anonymously,
        once for each state of the document (a bearer token means nothing outside the API)."""
        guesses = [f"/api/v1/documents/{doc.id}/file?version=1"]
        if user is None:
            key = key_for_digest(hashlib.sha256(doc.content).hexdigest())
            guesses += [f"/dokumenter/{doc.id}/fil", f"/dokumenter/{doc.id}/versioner/1/fil",
                        f"/dokumenter/{doc.id}/vis", f"/offentlig/referater/{doc.id}",
                        f"/{key}", f"/objects/{key}", f"/api/v1/{key}", f"/api/v1/documents/{key}/file",
                        f"/vendor/pdfjs-dist/..%2F..%2F..%2F..%2Fobjects%2F{key}", f"/static/..%2F..%2Fobjects%2F{key}"]
        for path in guesses:
            response = self._get(user, path, headers={"Range": "bytes=0-"})
            assert response.status_code not in (200, 206) and doc.word.encode() not in response.data, (
                f"{user or 'anonymous'} got {doc} from {path}: {response.status_code}")

    def _is_shut_out(self, user: UserModel) -> None:
        for path in ["/api/v1/me", f"/api/v1/search?q={COMMON_WORD}", "/api/v1/obligations",
                     *(f"/api/v1/documents/{d.id}/file" for d in self.model.documents[:2])]:
            response = self._get(user, path)
            assert response.status_code == 401, (user, path, response.status_code)

    def _anonymous_sees_only_published_minutes(self) -> None:
        for doc in self.model.documents:
            response = self._get(None, f"/offentlig/referater/{doc.id}")
            if self.model.public_minutes(doc):
                assert response.status_code == 200 and response.data == doc.content, (doc, response.status_code)
                continue
            assert response.status_code == 404, (doc, response.status_code)
            assert self._get(None, f"/api/v1/documents/{doc.id}/file").status_code == 401
            state = (doc.id, doc.visibility, doc.deleted)
            if not self.model.reads(None, doc) and state not in self.guessed:  # the links do not depend on the step
                self._guessed_links_fail(None, doc)
                self.guessed.add(state)


@pytest.fixture
def portal_factory(app_config: dict[str, object], sqlite_template: Path, tmp_path: Path) -> Iterator[PortalFactory]:
    # One extractor pool for the whole run: starting one per drain would cost more than the steps.
    with make_handler(workers=1) as handle:
        yield PortalFactory(app_config, sqlite_template, tmp_path / "examples", handle)


def test_every_user_sees_exactly_what_the_rules_allow(portal_factory: PortalFactory) -> None:
    machine = type("IsolationOnThisDatabase", (IsolationMachine,), {"factory": portal_factory})
    run_state_machine_as_test(machine, settings=SETTINGS)


def test_unique_words_are_indexed_as_written() -> None:
    """The search checks rely on each word being its own stem, kept whole and never stop-worded."""
    words = [COMMON_WORD, *(unique_word(n) for n in range(1, 400))]
    assert len(set(words)) == len(words)
    for word in words:
        assert list(analysis.iter_words_with_stems(word)) == [(word, word)]
        assert not analysis.compound_text(word).strip()
