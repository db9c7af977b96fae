"""Aftaleportalen: the portal shared by a municipality and its social housing organisations."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import access
from portal.config import PROJECT_ROOT, Settings
from portal.errors import BackendUnavailable, DatabaseUnavailable, Denial, PortalError, TooManyAttempts, Unauthenticated
from portal.extensions import Database, babel, csrf, login_manager
from portal.i18n import N_
from portal.web import LoggedIn, client_address, current_actor

LANGUAGES = ("da", "en")

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the portal. `config` overrides the environment's settings (tests use this)."""
    settings = Settings.from_env().override(config or {})
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(
        "portal",
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "portal" / "static"),
        instance_path=str(settings.instance_dir),
    )
    app.config.update(
        PORTAL=settings,
        SECRET_KEY=settings.secret_key,
        DEBUG=settings.debug,
        TESTING=settings.testing,
        SESSION_COOKIE_NAME="aftaleportalen_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        # A request larger than one file's limit (plus room for the form fields) is refused
        # with 413 before a byte of it is stored.
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_ENABLED=settings.extra.get("csrf", True),
        BABEL_DEFAULT_LOCALE="da",
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "portal" / "translations"),
    )
    if settings.extra.get("proxy_count"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(settings.extra["proxy_count"]), x_proto=1)  # type: ignore[method-assign]

    database = Database()
    database.init_app(app, settings.database_url)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    _init_login(app)
    _register_blueprints(app)
    _register_error_handlers(app)
    _register_template_helpers(app)
    _register_security_headers(app)
    _register_cli(app)
    logging.getLogger("portal").setLevel(logging.INFO)
    return app


def _select_locale() -> str:
    actor = current_actor()
    if actor is not None and actor.locale in LANGUAGES:
        return actor.locale
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "da"


def _init_login(app: Flask) -> None:
    from portal.services.auth import load_session
    from portal.uow import unit_of_work

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log ind for at se siden."
    login_manager.login_message_category = "info"
    # Sessions are server-side rows; flask-login's own "remember me" cookie is never issued.
    login_manager.session_protection = None

    @login_manager.user_loader
    def _load(session_id: str) -> LoggedIn | None:
        with unit_of_work():
            user = load_session(session_id, idle_minutes=app.config["PORTAL"].session_idle_minutes)
        return LoggedIn(user, session_id) if user is not None else None


def _register_blueprints(app: Flask) -> None:
    from portal.api import bp as api_bp
    from portal.api.openapi import register as register_api
    from portal.views.agreements import bp as agreements_bp
    from portal.views.audit import bp as audit_bp
    from portal.views.auth import bp as auth_bp
    from portal.views.calendar import bp as calendar_bp
    from portal.views.dialogue import bp as dialogue_bp
    from portal.views.documents import bp as documents_bp
    from portal.views.health import bp as health_bp
    from portal.views.keyfigures import bp as keyfigures_bp
    from portal.views.main import bp as main_bp
    from portal.views.obligations import bp as obligations_bp
    from portal.views.operations import bp as operations_bp
    from portal.views.parties import bp as parties_bp
    from portal.views.public import bp as public_bp
    from portal.views.search import bp as search_bp
    from portal.views.users import bp as users_bp
    from portal.views.vendor import bp as vendor_bp
    from portal.views.viewer import bp as viewer_bp

    for bp in (agreements_bp, audit_bp, auth_bp, calendar_bp, dialogue_bp, documents_bp, health_bp, keyfigures_bp, main_bp, obligations_bp,
               operations_bp, parties_bp, public_bp, search_bp, users_bp, vendor_bp, viewer_bp):
        app.register_blueprint(bp)
    csrf.exempt(api_bp)
    register_api(app, api_bp)


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    # The upload page's script asks for JSON, so it can show errors beside each file.
    return request.accept_mimetypes.best == "application/json"


def _error_response(status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> Any:
    if _wants_json():
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if extra:
            body.update(extra)
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message), status


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(PortalError)
    def _portal_error(exc: PortalError) -> Any:
        if isinstance(exc, Unauthenticated) and not _wants_json():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        body, status = _error_response(exc.status, exc.code, exc.message, {"error": exc.to_dict()} if exc.details else None)
        response = app.make_response((body, status))
        if isinstance(exc, (TooManyAttempts, BackendUnavailable)):
            response.headers["Retry-After"] = str(exc.retry_after)
        if exc.denial is not None:
            _record_denial_after_response(app, exc.denial, response)
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeoutError)
    def _database_unavailable(exc: Exception) -> Any:
        # A restart or failover of the database: the next request gets a fresh connection
        # (pool_pre_ping), so the user is told to retry rather than shown a crash.
        app.logger.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__)
        try:
            from portal.extensions import db

            db.session.rollback()
        except SQLAlchemyError:
            pass
        # The error page must not ask the database who is logged in (it would fail the same way).
        login_manager._update_request_context_with_user()
        g.api_user = None
        return _portal_error(DatabaseUnavailable())

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        return _error_response(400, "csrf_failed", gettext("Formularen var udløbet. Gå tilbage, genindlæs siden og prøv igen."))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        messages = {
            404: gettext("Siden findes ikke."),
            405: gettext("Denne handling er ikke tilladt her."),
            413: gettext("Filen er for stor. Den største tilladte størrelse er %(mb)s MB.",
                         mb=app.config["PORTAL"].max_upload_bytes // (1024 * 1024)),
            416: gettext("Den ønskede del af filen findes ikke."),
        }
        body, status = _error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"),
                                       messages.get(exc.code or 500, exc.description or ""))
        response = app.make_response((body, status))
        # Keep the headers the status needs (Allow on 405, Content-Range on 416).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("unexpected error")
        return _error_response(500, "internal_error", gettext("Der opstod en uventet fejl. Prøv igen om lidt."))


def _record_denial_after_response(app: Flask, denial: Denial, response: Any) -> None:
    """Put a refused access in the audit trail once the response has been sent (the WSGI server
    closes it then), in a unit of work of its own. Writing it before answering made a refusal of
    an existing object measurably slower than the 404 of a missing one, and so told which ids exist.
    The user gets the 403/404 whatever the trail's trouble."""
    actor = current_actor()
    if actor is None:
        return  # anonymous visitors are sent to log in; there is no one to record
    actor_id, address = actor.id, client_address()

    def record() -> None:
        from portal.extensions import db
        from portal.models import User
        from portal.services.audit import record_denial
        from portal.uow import unit_of_work

        with app.app_context():
            try:
                with unit_of_work():
                    record_denial(db.session.get(User, actor_id), denial, address=address)
            except Exception:  # noqa: BLE001 - the trail's trouble must not reach the next request
                app.logger.exception("could not record a refused access")

    response.call_on_close(record)


def _register_template_helpers(app: Flask) -> None:
    from portal.models import PartyKind, Role

    role_labels = {Role.READER: N_("Læser"), Role.EDITOR: N_("Redaktør"), Role.SIGNATORY: N_("Underskriver"),
                   Role.ADMIN: N_("Administrator")}

    @app.template_filter("kind_enum")
    def _kind_enum(value: str) -> Any:
        from portal.models import DocumentKind

        return DocumentKind._value2member_map_.get(value, value)

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        actor = current_actor()
        return {
            "actor": actor,
            "can": lambda action, obj: access.can(actor, action, obj),
            "role_label": lambda role: gettext(role_labels[Role(role)]),
            "PartyKind": PartyKind,
            "current_locale": _select_locale(),
        }


# What browsers and shared caches may keep: the assets, and the public archive as an anonymous
# visitor sees it. Everything else may show private data (a name in the page header, an
# invitation's e-mail address, an API answer) and is `no-store`.
_ASSET_ENDPOINTS = frozenset({"static", "vendor.asset"})
_PUBLIC_ENDPOINTS = frozenset({"public.minutes", "public.minutes_file", "public.feed"})


def _may_be_cached() -> bool:
    if request.endpoint in _ASSET_ENDPOINTS:
        return True
    return request.endpoint in _PUBLIC_ENDPOINTS and not current_user.is_authenticated


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not app.debug and app.config["PORTAL"].session_cookie_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not _may_be_cached():
            response.headers["Cache-Control"] = "no-store"
        return response


def _register_cli(app: Flask) -> None:
    from portal.cli import register_commands

    register_commands(app)
