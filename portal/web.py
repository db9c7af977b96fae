"""Glue between HTTP and the domain for the HTML views: who is acting, from where, and
how a form's fields and errors travel. Views stay thin by using these."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_login import current_user

from portal.models import User


class LoggedIn:
    """The flask-login principal: a user plus the server-side session it logged in with."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: User, session_id: str) -> None:
        self.user = user
        self.session_id = session_id

    @property
    def is_active(self) -> bool:
        return self.user.active

    def get_id(self) -> str:
        return self.session_id


def current_actor() -> User | None:
    """The acting user, or None for anonymous visitors (what services take as `actor`).

    The JSON API knows only bearer tokens: a browser's session cookie is ignored there,
    so a page on another site cannot make the API act for a logged-in user.
    """
    if request.path.startswith("/api/"):
        return g.get("api_user")
    principal = current_user._get_current_object()  # type: ignore[attr-defined]
    if isinstance(principal, LoggedIn) and principal.user.active:
        return principal.user
    return None


def current_session_id() -> str | None:
    principal = current_user._get_current_object()  # type: ignore[attr-defined]
    return principal.session_id if isinstance(principal, LoggedIn) else None


def client_address() -> str:
    return (request.remote_addr or "")[:64]


def settings() -> Any:
    return current_app.config["PORTAL"]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths, so a crafted link cannot bounce a user to another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def form_data(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names}
