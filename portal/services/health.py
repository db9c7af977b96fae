"""What /healthz asks of the database."""

from __future__ import annotations

from sqlalchemy import text

from portal.extensions import db


def check_database() -> None:
    """Raise unless the database answers a trivial query."""
    db.session.execute(text("SELECT 1"))
