"""The access policy as users meet it: who sees which party, who manages whom."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import access
from portal.access import SYSTEM, can
from portal.errors import InvalidInput, NotFound
from portal.models import Role
from portal.services import users as user_service
from portal.uow import unit_of_work
from tests.factories import DemoData, PartyFactory, log_in, member

COMPANY = "forretningsfoerer@fjordby-boligadministration.dk"


def test_administration_company_user_sees_both_organisations_it_serves(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, COMPANY, demo.password)
    page = client.get("/").get_data(as_text=True)
    served, other = demo.organisations[4:6], demo.organisations[0]
    for org in served:
        assert org.name in page
        assert client.get(f"/parter/{org.id}").status_code == 200
    assert other.name not in page
    assert client.get(f"/parter/{other.id}").status_code == 404


def test_municipality_front_page_lists_every_organisation(client: FlaskClient, demo: DemoData) -> None:
    log_in(client, "laeser@fjordby.dk", demo.password)
    page = client.get("/").get_data(as_text=True)
    assert all(org.name in page for org in demo.organisations)


def test_organisation_admin_cannot_deactivate_a_user_who_also_serves_another_organisation(demo: DemoData) -> None:
    kaerhaven, fjordbo = demo.organisations[4], demo.organisations[5]
    local_admin = member(kaerhaven, Role.ADMIN)
    shared = demo.user("sagsbehandler@fjordby-boligadministration.dk")
    assert {m.party_id for m in shared.memberships} == {kaerhaven.id, fjordbo.id}
    assert not can(local_admin, "user:manage", shared)
    with pytest.raises(Exception) as raised:
        with unit_of_work():
            user_service.set_user_active(local_admin, shared.id, False)
    assert raised.value.__class__.__name__ in {"Forbidden", "NotFound"}
    assert shared.active
    # ...but may take the user off its own organisation.
    membership = next(m for m in shared.memberships if m.party_id == kaerhaven.id)
    with unit_of_work():
        user_service.remove_membership(local_admin, membership.id)
    assert [m.party_id for m in shared.memberships] == [fjordbo.id]


def test_municipality_admin_manages_any_user(demo: DemoData) -> None:
    muni_admin = demo.user("administrator@fjordby.dk")
    shared = demo.user("sagsbehandler@fjordby-boligadministration.dk")
    with unit_of_work():
        user_service.set_user_active(muni_admin, shared.id, False)
    assert not shared.active


def test_a_party_keeps_at_least_one_admin(app: Flask) -> None:
    party = PartyFactory()
    admin = member(party, Role.ADMIN)
    with pytest.raises(InvalidInput):
        with unit_of_work():
            user_service.change_role(SYSTEM, admin.memberships[0].id, Role.EDITOR)


def test_unknown_actions_and_missing_objects_are_denied(demo: DemoData) -> None:
    muni_admin = demo.user("administrator@fjordby.dk")
    assert not can(muni_admin, "party:obliterate", demo.organisations[0])
    assert not can(muni_admin, "party:read", None)
    assert not can(muni_admin, "party:read", "not a party")
    with pytest.raises(NotFound):
        access.require(demo.user("laeser@fjordby-boligselskab.dk"), "party:read", demo.organisations[1])


def test_search_filter_matches_the_read_rule_for_every_visibility(demo: DemoData) -> None:
    """The tokens a search carries give the same answer as the read rule for each visibility."""
    org, other = demo.organisations[0], demo.organisations[1]
    municipality = demo.municipality
    people = [None, demo.user("laeser@fjordby.dk"), demo.user("laeser@fjordby-boligselskab.dk"),
              demo.user("admin@aabrinken.dk")]

    def may_read(actor, visibility: str) -> bool:  # type: ignore[no-untyped-def]
        parties = access.party_ids_of(actor)
        return {
            "public": True,
            "all_parties": actor is not None,
            "dialogue": org.id in parties or municipality.id in parties,
            "party": org.id in parties,
        }[visibility]

    for actor in people:
        tokens = access.search_filter(actor)
        for visibility in ("public", "all_parties", "dialogue", "party"):
            readers = access.readers_for(visibility, org.id, municipality.id)
            assert bool(tokens & set(readers)) == may_read(actor, visibility), (actor, visibility)
    assert other.id not in access.party_ids_of(people[2])
