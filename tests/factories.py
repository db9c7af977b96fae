"""Factories for arranging tests, and the demo data as named objects."""

from __future__ import annotations

from dataclasses import dataclass

import factory
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.demo import DEMO_PASSWORD, demo_cvr, load_demo
from portal.extensions import db
from portal.models import Department, HousingType, Membership, Party, PartyKind, Role, User
from portal.services.auth import hash_password
from portal.uow import unit_of_work

PASSWORD = "korrekt-hest-batteri-klips"


class _Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - the current app's session
        sqlalchemy_session_persistence = "commit"


class PartyFactory(_Base):
    class Meta:
        model = Party

    kind = PartyKind.ORGANISATION
    name = factory.Sequence(lambda n: f"Testboligselskab {n}")
    cvr = factory.Sequence(lambda n: demo_cvr(500 + n))
    municipality_name = "Fjordby"


class DepartmentFactory(_Base):
    class Meta:
        model = Department

    party = factory.SubFactory(PartyFactory)
    lbf_number = factory.Sequence(lambda n: str(900 + n))
    name = factory.Sequence(lambda n: f"Afdeling {n}")
    address = "Testvej 1"
    housing_type = HousingType.FAMILY
    homes = 100


class UserFactory(_Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"bruger{n}@example.dk")
    name = factory.Sequence(lambda n: f"Bruger {n}")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    active = True


class MembershipFactory(_Base):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    party = factory.SubFactory(PartyFactory)
    role = Role.EDITOR


def member(party: Party, role: Role = Role.EDITOR, **user_fields: object) -> User:
    """A new user with one membership of `party`."""
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, party=party, role=role)
    db.session.refresh(user)
    return user


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/log-ind", data={"email": email, "password": password})
    assert response.status_code == 302, response.data[:500]


@dataclass
class DemoData:
    """The `portal demo` data, with the objects tests need by name."""

    municipality: Party
    organisations: list[Party]
    password: str

    @classmethod
    def load(cls) -> "DemoData":
        with unit_of_work():
            load_demo(living=False)
        parties = list(db.session.scalars(select(Party).order_by(Party.id)))
        municipality = next(p for p in parties if p.kind is PartyKind.MUNICIPALITY)
        return cls(municipality=municipality, organisations=[p for p in parties if p is not municipality],
                   password=DEMO_PASSWORD)

    def user(self, email: str) -> User:
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None, email
        return user


class ApiUser:
    """A demo or factory user's view of the JSON API, with a fresh token."""

    def __init__(self, app: Flask, email: str) -> None:
        from portal.access import SYSTEM
        from portal.services.auth import create_api_token

        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None, email
        with unit_of_work():
            token = create_api_token(SYSTEM, user)
        self.client, self.headers = app.test_client(), {"Authorization": f"Bearer {token}"}

    def get(self, path: str):  # type: ignore[no-untyped-def]
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def patch(self, path: str, body: dict):  # type: ignore[no-untyped-def]
        return self.client.patch(f"/api/v1{path}", json=body, headers=self.headers)

    def post(self, path: str, body: dict):  # type: ignore[no-untyped-def]
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers)

    def search(self, **params: str) -> dict:
        response = self.client.get("/api/v1/search", query_string=params, headers=self.headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return response.json
