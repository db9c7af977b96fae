"""Process-wide extensions: the database, the login manager, CSRF and Babel.

The database is a plain SQLAlchemy 2 engine with a session per Flask app context,
closed when the context ends; the CLI and the indexer push an app context too, so
every caller reaches the session the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app
from flask.globals import app_ctx
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

log = logging.getLogger(__name__)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each dialect needs to behave under concurrency."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets the portal read while the indexer writes; foreign keys are off by default in SQLite.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, **kwargs)


def _app_context_id() -> int:
    return id(app_ctx._get_current_object())  # type: ignore[attr-defined]


class Database:
    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self._scoped: scoped_session[Session] | None = None

    def init_app(self, app: Flask, url: str) -> None:
        self.engine = make_engine(url)
        self._factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        # One session per app context (each request, CLI command or worker loop has its own),
        # so nested contexts never share or close each other's session.
        self._scoped = scoped_session(self._factory, scopefunc=_app_context_id)
        app.extensions["database"] = self

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            if self._scoped is None:
                return
            try:
                self._scoped.remove()
            except SQLAlchemyError as exc:
                # The database went away after the answer was decided (a restart, a failover): the
                # pool discards the dead connection and the next request gets a fresh one. Raising
                # here would turn an answered request into a crash.
                log.warning("database session could not be closed cleanly: %s", exc.__class__.__name__)
                self._scoped.registry.clear()

    @property
    def session(self) -> Session:
        if self._scoped is None:
            raise RuntimeError("The database is not initialised; call create_app() first.")
        return self._scoped()

    def dispose(self) -> None:
        """Close the connection pool (sessions end with their app contexts)."""
        if self.engine is not None:
            self.engine.dispose()


class _CurrentDatabase:
    """`db.session` is the session of the current app's database (several apps may coexist in tests)."""

    @property
    def current(self) -> Database:
        return current_app.extensions["database"]

    @property
    def session(self) -> Session:
        return self.current.session

    @property
    def engine(self) -> Engine:
        engine = self.current.engine
        assert engine is not None
        return engine


db = _CurrentDatabase()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
