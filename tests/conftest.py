"""Shared fixtures: an app per test on a database built by `alembic upgrade head`.

Tests that take `app` run once on SQLite and once on PostgreSQL; the PostgreSQL run
needs PORTAL_TEST_DATABASE_URL (CI sets it) and is skipped with a reason without it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from portal import create_app
from portal.extensions import make_engine
from portal.migrate import upgrade
from portal.models import Base
from portal.services import auth as auth_service
from tests.servers import missing

# A real OpenSearch node for the tests that need one (see tests/opensearch_node.py).
pytest_plugins = ["tests.opensearch_node"]

POSTGRES_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    # Production-strength argon2 costs ~0.1 s per hash; the tests hash hundreds of times.
    original = auth_service.hasher
    auth_service.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth_service.hasher = original


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for every test (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _postgres_reachable(url: str) -> str | None:
    try:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", reported as the skip reason
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    if not POSTGRES_URL:
        missing("PostgreSQL run skipped: PORTAL_TEST_DATABASE_URL is not set (CI sets it).")
    problem = _postgres_reachable(POSTGRES_URL)
    if problem:
        missing(f"PostgreSQL run skipped: {POSTGRES_URL} is not reachable ({problem}).")
    return migrate_afresh(POSTGRES_URL)


def migrate_afresh(url: str) -> str:
    """Empty the PostgreSQL database at `url` and build its schema with `alembic upgrade head`."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "portal.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_migrated")
    yield url
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, object]:
    return {
        "database_url": database_url,
        "storage_url": str(tmp_path / "objects"),
        "search_url": str(tmp_path / "search"),
        "instance_dir": tmp_path / "instance",
        "testing": True,
        "csrf": False,
        "session_cookie_secure": False,
        "secret_key": "test-secret",
    }


class IsolatedClient(FlaskClient):
    """Runs each request in an app context of its own, as production does, even while the
    test holds one open for arranging data (Flask would otherwise share `g` between them)."""

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        # Buffered, so the response is closed once read, as a WSGI server closes it once sent
        # (work deferred to that moment, such as auditing a refusal, has then happened).
        kwargs.setdefault("buffered", True)
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(app_config: dict[str, object]) -> Iterator[Flask]:
    app = create_app(app_config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
    from portal.backends import close_backends

    close_backends(app)
    app.extensions["database"].dispose()


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def demo(app: Flask) -> Any:
    from tests.factories import DemoData

    return DemoData.load()


@pytest.fixture
def demo_app(app_config: dict[str, object]) -> Iterator[Any]:
    """Make an app with some settings overridden, the demo loaded and a user logged in:
    `app, client, demo = demo_app(storage_url=..., login="redaktoer@...")`."""
    from tests.factories import DemoData, log_in

    made: list[Flask] = []

    def make(*, login: str = "redaktoer@fjordby-boligselskab.dk", **overrides: object) -> tuple[Flask, FlaskClient, DemoData]:
        app = create_app({**app_config, **overrides})
        app.test_client_class = IsolatedClient
        with app.app_context():
            demo = DemoData.load()
        client = app.test_client()
        log_in(client, login, demo.password)
        made.append(app)
        return app, client, demo

    yield make
    for app in made:
        app.extensions["database"].dispose()
