"""The schema comes from Alembic alone, and it matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from portal.access import SYSTEM
from portal.extensions import db
from portal.models import Base
from portal.services.audit import record_event
from portal.uow import unit_of_work


def test_models_and_migrations_agree(app: Flask) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models and migrations disagree; write a migration: {differences}"


def test_audit_trail_refuses_updates_and_deletes(app: Flask) -> None:
    with unit_of_work():
        event = record_event(SYSTEM, "party.create", "party", 1, after={"name": "X"})
    for statement in (f"UPDATE audit_events SET action = 'forged' WHERE id = {event.id}",
                      f"DELETE FROM audit_events WHERE id = {event.id}"):
        with pytest.raises(DatabaseError, match="append-only"):
            with unit_of_work() as session:
                session.execute(text(statement))
    assert db.session.scalar(text(f"SELECT action FROM audit_events WHERE id = {event.id}")) == "party.create"
